"""Expected failures: loading with file and line; what ``apply`` excuses, finds fixed or expired."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from harness import expected
from harness.errors import ConfigError
from harness.expected import Entry
from harness.results import Finding, ScenarioResult

TODAY = date(2026, 5, 1)


def result(id: str, status: str, *findings: Finding) -> ScenarioResult:
    requirements = list(dict.fromkeys(f.requirement for f in findings))
    return ScenarioResult(id, id, "p", status, requirements, list(findings))  # type: ignore[arg-type]


def bad(requirement: str, level: str = "MUST") -> Finding:
    return Finding(requirement, level, False, "x", "y")


def ok(requirement: str) -> Finding:
    return Finding(requirement, "MUST", True)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "expected-failures.yaml"
    path.write_text(text, "utf-8")
    return path


def test_load_reads_entries_with_their_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
# known deviations
expected_failures:
  - id: OIDCRIL-4-expired
    reason: "rejects an expired id_token_hint"
    expires: 2027-06-30
  - id: rp-initiated/end-session-methods[POST]
    reason: no POST
    expires: "2027-01-31"
  - id: saml/slo
    reason: r
""",
    )
    entries = expected.load(path)
    assert [(e.id, e.expires, e.line) for e in entries] == [
        ("OIDCRIL-4-expired", date(2027, 6, 30), 3),
        ("rp-initiated/end-session-methods[POST]", date(2027, 1, 31), 6),
        ("saml/slo", None, 9),
    ]
    assert entries[0].file == str(path)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "expected_failures:\n  - id: a\n    reason: r\n    expiry: 2027-01-01\n",
            4,
            "unknown key 'expiry'",
        ),
        (
            "expected_failures:\n  - id: a\n    reason: r\n  - id: b\n",
            4,
            "'reason' is a required property",
        ),
        (
            'expected_failures:\n  - id: a\n    reason: r\n    expires: "2027-02-30"\n',
            4,
            "not a date",
        ),
        ("expected_failures:\n  - id: a\n    reason: r\n    expires: soon\n", 4, "does not match"),
        (
            "expected_failures:\n  - id: a\n    reason: r\n  - id: a\n    reason: s\n",
            4,
            "duplicate id 'a'",
        ),
        ("expected_failures:\n  - id: two words\n    reason: r\n", 2, "does not match"),
        ("# nothing\n", None, "empty"),
    ],
)
def test_a_bad_file_names_file_and_line(
    tmp_path: Path, text: str, line: int | None, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as caught:
        expected.load(path)
    assert (caught.value.file, caught.value.line) == (str(path), line)
    if line:
        assert str(caught.value).startswith(f"{path}:{line}: ")


def test_a_scenario_entry_excuses_the_failure() -> None:
    failed = result("rp/state", "failed", bad("R-1"), bad("R-2"))
    warned = result("rp/hint", "warning", bad("S-1", "SHOULD"))
    entries = [Entry("rp/state", "known", date(2027, 6, 30)), Entry("rp/hint", "later")]
    outcome = expected.apply([failed, warned], entries, TODAY)
    assert outcome.applied == ["rp/state", "rp/hint"]
    assert failed.expected_failure is not None and failed.expected_failure.expires == "2027-06-30"
    assert not failed.expected_failure.expired and not failed.gating
    assert warned.expected_failure is not None
    assert (outcome.fixed, outcome.expired, outcome.unused) == ([], [], [])


def test_an_entry_without_brackets_covers_every_variant() -> None:
    post = result("rp/methods[POST]", "failed", bad("R-1"))
    get = result("rp/methods[GET]", "failed", bad("R-1"))
    expected.apply([post, get], [Entry("rp/methods", "r")], TODAY)
    assert post.expected_failure and get.expected_failure

    post, get = (
        result("rp/methods[POST]", "failed", bad("R-1")),
        result("rp/methods[GET]", "failed", bad("R-1")),
    )
    expected.apply([post, get], [Entry("rp/methods[POST]", "r")], TODAY)
    assert post.expected_failure and get.expected_failure is None


def test_requirement_entries_must_cover_every_failed_requirement() -> None:
    both = result("rp/a", "failed", bad("R-1"), bad("R-2"), ok("R-3"))
    entries = [Entry("R-1", "one"), Entry("R-2", "two", date(2027, 1, 1))]
    outcome = expected.apply([both], entries, TODAY)
    assert both.expected_failure is not None and not both.gating
    assert (both.expected_failure.id, both.expected_failure.reason) == ("R-1, R-2", "one; two")
    assert both.expected_failure.expires == "2027-01-01"
    assert outcome.applied == ["R-1", "R-2"]


def test_a_requirement_entry_covering_part_of_the_failures_does_not_excuse_them() -> None:
    partly = result("rp/a", "failed", bad("R-1"), bad("R-new"))
    outcome = expected.apply([partly], [Entry("R-1", "known")], TODAY)
    assert partly.expected_failure is None and partly.gating
    # still violated: neither applied nor fixed nor unused
    assert (outcome.applied, outcome.fixed, outcome.unused) == ([], [], [])


def test_fixed_entries_ran_and_now_pass() -> None:
    results = [
        result("rp/a", "passed", ok("R-1")),
        result("rp/b", "passed", ok("R-2")),
        result("rp/m[GET]", "passed", ok("R-3")),
        result("rp/m[POST]", "skipped"),
    ]
    entries = [Entry("rp/a", "was failing"), Entry("R-2", "was failing"), Entry("rp/m", "both")]
    outcome = expected.apply(results, entries, TODAY)
    assert [e.id for e in outcome.fixed] == ["rp/a", "R-2", "rp/m"]
    assert outcome.applied == [] and all(r.expected_failure is None for r in results)


def test_broken_or_skipped_is_not_fixed() -> None:
    broken = result("rp/a", "broken")
    broken.requirements = ["R-1"]
    results = [broken, result("rp/b", "skipped"), result("rp/c", "passed", ok("R-1"))]
    outcome = expected.apply(
        results, [Entry("rp/a", "r"), Entry("rp/b", "r"), Entry("R-1", "r")], TODAY
    )
    assert (outcome.applied, outcome.fixed, outcome.expired, outcome.unused) == ([], [], [], [])
    assert broken.expected_failure is None


def test_expired_entries_no_longer_excuse() -> None:
    failed = result("rp/a", "failed", bad("R-1"))
    on_the_day = result("rp/b", "failed", bad("R-2"))
    entries = [Entry("rp/a", "old", date(2026, 4, 30)), Entry("rp/b", "today", TODAY)]
    outcome = expected.apply([failed, on_the_day], entries, TODAY)
    assert failed.expected_failure is not None and failed.expected_failure.expired and failed.gating
    assert on_the_day.expected_failure is not None and not on_the_day.gating
    assert [e.id for e in outcome.expired] == ["rp/a"] and outcome.applied == ["rp/b"]


def test_one_expired_requirement_entry_makes_the_failure_count() -> None:
    both = result("rp/a", "failed", bad("R-1"), bad("R-2"))
    entries = [Entry("R-1", "ok", date(2027, 1, 1)), Entry("R-2", "old", date(2020, 1, 1))]
    outcome = expected.apply([both], entries, TODAY)
    assert both.expected_failure is not None and both.expected_failure.expired and both.gating
    assert outcome.applied == ["R-1"] and [e.id for e in outcome.expired] == ["R-2"]


def test_unused_entries_name_nothing_that_ran() -> None:
    outcome = expected.apply(
        [result("rp/a", "passed", ok("R-1"))], [Entry("rp/typo", "r"), Entry("R-9", "r")], TODAY
    )
    assert [e.id for e in outcome.unused] == ["rp/typo", "R-9"]
