"""The pytest front end as a developer calls it from the repository root: ``pytest --logout-target FILE``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from harness import plan, requirements

from .conftest import MOCK_TARGET, load_summary, output, run_pytest

SEVERITY = {"MUST": "critical", "VENDOR": "critical", "SHOULD": "normal", "MAY": "minor"}
LEVEL_ORDER = ["MUST", "VENDOR", "SHOULD", "MAY"]


def table_row(text: str, name: str) -> list[int]:
    """The counts of one row of the final table (passed, failed, warnings, skipped, broken)."""
    match = re.search(rf"^{re.escape(name)}\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$", text, re.MULTILINE)
    assert match, f"no {name!r} row in the final table:\n{text}"
    return [int(n) for n in match.groups()]


XDIST_PROFILES = ("oidc-rp-initiated-op", "saml-slo-sp", "oidc-frontchannel-rp")


def labels(result: dict[str, Any], name: str) -> list[str]:
    return [label["value"] for label in result["labels"] if label["name"] == name]


def test_xdist_run_passes_prints_the_table_and_writes_allure_results(tmp_path: Path) -> None:
    # one run for both: under xdist the controller gathers every worker's results. Three profiles (one
    # over HTTP, one on the SAML SP app, one in a browser per worker); the self-test runs them all
    alluredir = tmp_path / "allure-results"
    proc = run_pytest("--logout-target", MOCK_TARGET, "-n", "2", "-q", "--alluredir", alluredir,
                      *(a for p in XDIST_PROFILES for a in ("--logout-profile", p)))
    text = output(proc)
    assert proc.returncode == 0, text
    cases = plan.load(profiles=list(XDIST_PROFILES)).cases
    assert table_row(text, "total") == [len(cases), 0, 0, 0, 0]
    for profile in XDIST_PROFILES:
        assert table_row(text, profile)[0] == sum(1 for c in cases if c.scenario.profile == profile)

    results = [json.loads(p.read_text()) for p in alluredir.glob("*-result.json")]
    by_case = {r["parameters"][0]["value"]: r for r in results if r["parameters"][0]["name"] == "logout_case"}
    assert len(results) == len(by_case) == len(cases), "one Allure result per scenario case"
    for case in cases:
        result = by_case[case.id]
        reqs = [requirements.get(r) for r in case.scenario.requirements]
        assert result["status"] == "passed"
        assert set(labels(result, "epic")) == {r.epic for r in reqs}
        assert set(labels(result, "feature")) == {r.spec for r in reqs}
        assert sorted(s.split(":")[0] for s in labels(result, "story")) == sorted(r.id for r in reqs)
        strongest = min((r.level for r in reqs), key=LEVEL_ORDER.index)
        assert labels(result, "severity") == [SEVERITY[strongest]]
        # links go to the spec sections (requirements of one section share its link)
        assert {link["url"] for link in result["links"]} == {r.link for r in reqs}
        assert all(link["url"].startswith("https://") for link in result["links"])


def test_k_selects_scenarios(tmp_path: Path) -> None:
    proc = run_pytest("--logout-target", MOCK_TARGET, "-q", "-k", "full-logout", "--logout-report-dir", tmp_path)
    assert proc.returncode == 0, output(proc)
    ran = {s["id"] for s in load_summary(tmp_path)["scenarios"]}
    assert ran == {"oidc-rp-initiated/full-logout[GET]", "oidc-rp-initiated/full-logout[POST]"}
    assert re.search(r"\b2 passed, \d+ deselected\b", proc.stdout), proc.stdout


def test_logout_profile_runs_only_that_profile(tmp_path: Path) -> None:
    proc = run_pytest("--logout-target", MOCK_TARGET, "-q", "--logout-profile", "token-rejection",
                      "--logout-report-dir", tmp_path)
    text = output(proc)
    assert proc.returncode == 0, text
    summary = load_summary(tmp_path)
    expected = {c.id for c in plan.load(profiles=["token-rejection"]).cases}
    assert {s["id"] for s in summary["scenarios"]} == expected
    assert {s["profile"] for s in summary["scenarios"]} == {"token-rejection"}
    assert table_row(text, "token-rejection")[0] == len(expected)
    assert not re.search(r"^oidc-rp-initiated-op\s", text, re.MULTILINE)
