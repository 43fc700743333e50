"""The final console table: counts per profile, one line per scenario that needs a look, entries."""

from __future__ import annotations

from datetime import UTC, date, datetime

from harness.expected import Entry, ExpectedOutcome
from harness.report import console, summary
from harness.results import ExpectedFailure, Finding, ScenarioResult


def info(requirement: str) -> tuple[str, str, str]:
    return "MUST", requirement, ""


def make(results: list[ScenarioResult], expected: ExpectedOutcome | None = None) -> dict:
    return summary.build(
        results,
        target_name="t",
        target_file=None,
        started_at=datetime(2026, 5, 1, tzinfo=UTC),
        duration_s=1.0,
        fail_on="must",
        requirement_info=info,
        expected=expected,
    )


def scenario(id: str, status: str, profile: str, *findings: Finding) -> ScenarioResult:
    requirements = [f.requirement for f in findings]
    return ScenarioResult(id, id, profile, status, requirements, list(findings))  # type: ignore[arg-type]


STATE = Finding("OIDCRIL-3-state", "MUST", False, "state echoed", "none")


def test_counts_per_profile_and_total() -> None:
    results = [
        scenario("rp/ok", "passed", "oidc-rp-initiated-op"),
        scenario("rp/na", "skipped", "oidc-rp-initiated-op"),
        scenario("saml/ok", "passed", "saml-slo-idp"),
        scenario("saml/warn", "warning", "saml-slo-idp", Finding("S-1", "SHOULD", False, "a", "b")),
    ]
    lines = console.final_table(make(results)).splitlines()
    assert lines[0].split() == ["profile", "passed", "failed", "warnings", "skipped", "broken"]
    assert lines[1].split() == ["oidc-rp-initiated-op", "1", "0", "0", "1", "0"]
    assert lines[2].split() == ["saml-slo-idp", "1", "0", "1", "0", "0"]
    assert lines[3].split() == ["total", "2", "0", "1", "1", "0"]
    # columns line up: every row of the table has the same length
    assert len({len(line) for line in lines[:4]}) == 1
    assert lines[5:7] == ["WARNING   saml-slo-idp  saml/warn", "          S-1: expected a; seen b"]


def test_a_failed_line_names_profile_scenario_requirement_expected_and_seen() -> None:
    failed = scenario("rp-initiated/state-echo", "failed", "oidc-rp-initiated-op", STATE)
    table = console.final_table(make([failed]))
    assert table.splitlines()[-2:] == [
        "FAILED    oidc-rp-initiated-op  rp-initiated/state-echo",
        "          OIDCRIL-3-state: expected state echoed; seen none",
    ]
    assert "\x1b[" not in table


def test_gating_violations_come_first_and_the_others_are_named() -> None:
    should = Finding("S-1", "SHOULD", False, "a", "b")
    failed = scenario("rp/x", "failed", "p", should, STATE)
    assert (
        console.final_table(make([failed]))
        .splitlines()[-1]
        .endswith("(also failed: S-1) OIDCRIL-3-state: expected state echoed; seen none")
    )


def test_details_wrap_within_the_width_and_are_bounded() -> None:
    long = Finding("R-1", "MUST", False, "a redirect", "an HTML page:\n<html>" + "x" * 300)
    failed = scenario("rp/long", "failed", "p", long)
    lines = console.final_table(make([failed]), width=80).splitlines()
    start = lines.index("FAILED    p  rp/long")
    detail = lines[start + 1:]
    assert detail[0].startswith("          R-1: expected a redirect; seen an HTML page: <html>x")
    assert all(len(line) <= 80 for line in lines)
    # the whole 300-character value is there, wrapped, not cut
    assert "<html>" + "x" * 300 in "".join(line.strip() for line in detail)
    huge = Finding("R-1", "MUST", False, "a", "y " * 2000)
    lines = console.final_table(make([scenario("rp/huge", "failed", "p", huge)])).splitlines()
    assert lines[-1].strip() == "..." and len(lines) <= 6 + 1 + console.MAX_DETAIL_LINES + 1


def test_broken_scenarios_show_their_message() -> None:
    broken = scenario("rp/down", "broken", "p")
    broken.broken_kind = "unreachable"
    broken.messages = ["target unreachable: connection refused at http://127.0.0.1:9"]
    assert console.final_table(make([broken])).splitlines()[-2:] == [
        "BROKEN    p  rp/down",
        "          target unreachable: connection refused at http://127.0.0.1:9",
    ]


def test_expected_fixed_and_expired_entries() -> None:
    excused = scenario("rp/known", "failed", "p", STATE)
    excused.expected_failure = ExpectedFailure("rp/known", "oidc-provider differs", "2027-06-30")
    lapsed = scenario("rp/old", "failed", "p", STATE)
    lapsed.expected_failure = ExpectedFailure("rp/old", "was fine", "2020-01-01", expired=True)
    outcome = ExpectedOutcome(
        applied=["rp/known"],
        fixed=[Entry("rp/fixed", "r")],
        expired=[Entry("rp/old", "was fine", date(2020, 1, 1))],
    )
    lines = console.final_table(make([excused, lapsed], outcome)).splitlines()
    assert lines[-8:] == [
        "EXPECTED  p  rp/known",
        "          rp/known: oidc-provider differs",
        "FAILED    p  rp/old",
        "          OIDCRIL-3-state: expected state echoed; seen none",
        "FIXED     rp/fixed",
        "          passes now: remove it from the expected failures",
        "EXPIRED   rp/old",
        "          expired 2020-01-01, its failures count again: was fine",
    ]


def test_a_clean_run_is_just_the_table() -> None:
    lines = console.final_table(make([scenario("rp/ok", "passed", "p")])).splitlines()
    assert len(lines) == 3 and lines[-1].split() == ["total", "1", "0", "0", "0", "0"]
