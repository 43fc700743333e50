"""summary.json: schema-valid output, requirement verdicts, fail_on, and the atomic write."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import jsonschema
import pytest

from harness import yamlsrc
from harness.errors import HarnessError
from harness.expected import Entry, ExpectedOutcome
from harness.report import summary
from harness.results import ExpectedFailure, Finding, ScenarioResult

STARTED = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


def info(requirement: str) -> tuple[str, str, str]:
    level = "SHOULD" if requirement.startswith("S-") else "MUST"
    return level, f"title of {requirement}", f"https://spec.example/{requirement}"


def result(
    id: str,
    status: str,
    *findings: Finding,
    profile: str = "p1",
    requirements: list[str] | None = None,
) -> ScenarioResult:
    named = (
        requirements
        if requirements is not None
        else list(dict.fromkeys(f.requirement for f in findings))
    )
    return ScenarioResult(
        id,
        f"title {id}",
        profile,
        status,
        named,
        list(findings),  # type: ignore[arg-type]
        duration_s=0.12345,
    )


def ok(requirement: str, level: str = "MUST") -> Finding:
    return Finding(requirement, level, True)


def bad(requirement: str, level: str = "MUST") -> Finding:
    return Finding(
        requirement,
        level,
        False,
        "a 302 to the registered URI",
        "a 200",
        ["curl -i https://op/end"],
    )


def build(
    results: list[ScenarioResult], fail_on: str = "must", expected: ExpectedOutcome | None = None
) -> dict:
    return summary.build(
        results,
        target_name="mock",
        target_file="fixtures/target.yaml",
        started_at=STARTED,
        duration_s=1.5,
        fail_on=fail_on,
        requirement_info=info,  # type: ignore[arg-type]
        expected=expected,
    )


def statuses(data: dict) -> dict[str, str]:
    return {r["id"]: r["status"] for r in data["requirements"]}


def test_output_follows_the_schema_and_keeps_the_contract_keys(tmp_path: Path) -> None:
    broken = result("b/unreachable", "broken", requirements=["M-3"], profile="p2")
    broken.broken_kind = "unreachable"
    broken.messages = ["target unreachable: connection refused"]
    excused = result("a/known", "failed", bad("M-2"))
    excused.expected_failure = ExpectedFailure("a/known", "known", "2027-06-30")
    outcome = ExpectedOutcome(
        applied=["a/known"],
        fixed=[Entry("x", "was broken")],
        expired=[Entry("y", "old", date(2020, 1, 1))],
    )
    results = [
        result("a/ok", "passed", ok("M-1")),
        excused,
        broken,
        result("a/na", "skipped", requirements=["M-4"]),
    ]
    data = build(results, expected=outcome)
    path = tmp_path / "out" / "summary.json"
    summary.write(data, path)

    written = json.loads(path.read_text("utf-8"))
    jsonschema.Draft202012Validator(yamlsrc.schema("summary")).validate(written)
    assert written == data
    assert written["tool"] == "logout-conformance" and written["exit_code"] == 3
    assert written["started_at"] == "2026-05-01T12:00:00+00:00"
    scenario = written["scenarios"][1]
    assert {
        "id",
        "profile",
        "status",
        "requirements",
        "failed_requirements",
        "messages",
        "duration_s",
    } <= set(scenario)
    assert scenario["failed_requirements"] == ["M-2"]
    assert scenario["expected_failure"] == {
        "id": "a/known",
        "reason": "known",
        "expires": "2027-06-30",
        "expired": False,
    }
    assert written["scenarios"][0]["duration_s"] == 0.123
    assert written["requirements"][0] == {
        "id": "M-1",
        "level": "MUST",
        "status": "passed",
        "title": "title of M-1",
        "link": "https://spec.example/M-1",
        "scenarios": ["a/ok"],
    }
    assert written["expected_failures"] == {
        "applied": ["a/known"],
        "fixed": [{"id": "x", "reason": "was broken"}],
        "expired": [{"id": "y", "reason": "old", "expires": "2020-01-01"}],
    }
    assert written["totals"] == {"passed": 1, "failed": 1, "warning": 0, "skipped": 1, "broken": 1}
    assert written["profiles"] == [
        {"profile": "p1", "passed": 1, "failed": 1, "warning": 0, "skipped": 1, "broken": 0},
        {"profile": "p2", "passed": 0, "failed": 0, "warning": 0, "skipped": 0, "broken": 1},
    ]


def test_requirement_status_rules() -> None:
    results = [
        result(
            "s1",
            "failed",
            ok("M-pass"),
            bad("M-fail"),
            bad("S-warn", "SHOULD"),
            bad("V-fail", "VENDOR"),
        ),
        result(
            "s2",
            "passed",
            ok("M-fail"),
            ok("S-warn", "SHOULD"),
            requirements=["M-fail", "S-warn", "M-none"],
        ),
    ]
    assert statuses(build(results)) == {
        "M-pass": "passed",  # checked, never violated
        "M-fail": "failed",  # violated in one scenario, even if it passed in another
        "S-warn": "warning",  # only SHOULD violations
        "V-fail": "failed",  # vendor contracts gate like MUST
        "M-none": "skipped",  # listed, but no scenario reached a verdict on it
    }
    assert build(results)["requirements"][1]["scenarios"] == ["s1", "s2"]


def test_fail_on_should_makes_should_violations_fail() -> None:
    warned = [result("s1", "warning", bad("S-1", "SHOULD"))]
    assert statuses(build(warned, "must")) == {"S-1": "warning"}
    assert build(warned, "must")["exit_code"] == 0
    # under --fail-on should the engine reports the scenario as failed, and so does the summary
    failed = [result("s1", "failed", bad("S-1", "SHOULD"))]
    data = build(failed, "should")
    assert statuses(data) == {"S-1": "failed"}
    assert (data["fail_on"], data["exit_code"]) == ("should", 1)


def test_exit_code_ignores_unexpired_expected_failures() -> None:
    excused = result("s1", "failed", bad("M-1"))
    excused.expected_failure = ExpectedFailure("s1", "known")
    assert build([excused])["exit_code"] == 0
    excused.expected_failure.expired = True
    assert build([excused])["exit_code"] == 1


def test_write_refuses_a_summary_that_breaks_the_schema(tmp_path: Path) -> None:
    data = build([result("s1", "passed", ok("M-1"))])
    data["scenarios"][0]["status"] = "great"
    path = tmp_path / "summary.json"
    with pytest.raises(HarnessError, match="scenarios/0/status"):
        summary.write(data, path)
    assert list(tmp_path.iterdir()) == []


def test_write_replaces_an_old_summary_whole(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_text("{old", "utf-8")
    summary.write(build([]), path)
    assert json.loads(path.read_text("utf-8"))["scenarios"] == []
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]
