"""Expected failures: known deviations of a target, reported without failing a run until expiry."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from harness import yamlsrc
from harness.results import ExpectedFailure, ScenarioResult


@dataclass(frozen=True)
class Entry:
    """One known deviation: a scenario id (brackets select one variant) or a requirement id."""

    id: str
    reason: str
    expires: date | None = None
    file: str = ""
    line: int | None = None

    def expired(self, today: date) -> bool:
        """The entry excuses failures up to and including its ``expires`` day."""
        return self.expires is not None and today > self.expires

    def covers_scenario(self, scenario_id: str) -> bool:
        """Equal ids, or an entry without brackets naming the scenario of a variant."""
        return self.id == scenario_id or self.id == scenario_id.split("[", 1)[0]


@dataclass
class ExpectedOutcome:
    """What the expected-failures file did to a run."""

    applied: list[str] = field(
        default_factory=list
    )  # ids of unexpired entries that excused a failure
    fixed: list[Entry] = field(
        default_factory=list
    )  # listed, ran, and now passes: remove from the file
    expired: list[Entry] = field(
        default_factory=list
    )  # would have excused a failure, but are past date
    unused: list[Entry] = field(
        default_factory=list
    )  # named no scenario or requirement of this run


def load(path: str | Path) -> list[Entry]:
    """Read and validate an expected-failures file; errors name the file and line."""
    doc = yamlsrc.load(path)
    if doc.data is None:
        raise doc.error((), "the file is empty (expected a mapping with 'expected_failures')")
    # YAML reads an unquoted 2027-06-30 as a date; the schema speaks JSON, so give it the ISO text
    doc = yamlsrc.Document(_dates_as_text(doc.data), doc.file, doc.lines)
    yamlsrc.validate(doc, "expected-failures")
    entries: list[Entry] = []
    seen: set[str] = set()
    for index, item in enumerate(doc.data["expected_failures"]):
        where = ("expected_failures", index)
        if item["id"] in seen:
            raise doc.error((*where, "id"), f"duplicate id {item['id']!r}")
        seen.add(item["id"])
        expires = None
        if "expires" in item:
            try:
                expires = date.fromisoformat(item["expires"])
            except ValueError:
                raise doc.error((*where, "expires"), f"not a date: {item['expires']!r}") from None
        entries.append(Entry(item["id"], item["reason"], expires, doc.file, doc.line_of(where)))
    return entries


def _dates_as_text(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _dates_as_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def apply(results: list[ScenarioResult], entries: list[Entry], today: date) -> ExpectedOutcome:
    """Mark the failed and warning results that entries excuse; sort the entries by what they did.

    A scenario entry covers the whole result. Requirement entries cover a result only when every
    requirement it violated is listed: a new failure next to a known one must still fail the run.
    """
    used: dict[str, Entry] = {}
    for result in results:
        if result.status not in ("failed", "warning"):
            continue
        covering = _covering(result, entries)
        if covering:
            result.expected_failure = _merge(covering, today)
            used.update((entry.id, entry) for entry in covering)

    outcome = ExpectedOutcome()
    for entry in entries:
        if entry.id in used:
            if entry.expired(today):
                outcome.expired.append(entry)
            else:
                outcome.applied.append(entry.id)
            continue
        state = _state(entry, results)
        if state == "fixed":
            outcome.fixed.append(entry)
        elif state == "unused":
            outcome.unused.append(entry)
    return outcome


def _covering(result: ScenarioResult, entries: list[Entry]) -> list[Entry]:
    # an exact variant entry is more specific than one naming every variant
    exact = [e for e in entries if e.id == result.id]
    by_scenario = exact or [e for e in entries if e.covers_scenario(result.id)]
    if by_scenario:
        return by_scenario[:1]
    failed = result.failed_requirements
    by_requirement = {e.id: e for e in entries if e.id in failed}
    if failed and len(by_requirement) == len(failed):
        return [by_requirement[requirement] for requirement in failed]
    return []


def _merge(entries: list[Entry], today: date) -> ExpectedFailure:
    """One record for the result; any expired entry means the failure is no longer excused."""
    dates = [e.expires for e in entries if e.expires is not None]
    return ExpectedFailure(
        id=", ".join(e.id for e in entries),
        reason="; ".join(e.reason for e in entries),
        expires=min(dates).isoformat() if dates else None,
        expired=any(e.expired(today) for e in entries),
    )


def _state(entry: Entry, results: list[ScenarioResult]) -> str:
    """For an entry that excused nothing: "fixed", "unused", or "" (failing, or no verdict)."""
    scenarios = [r for r in results if entry.covers_scenario(r.id)]
    if scenarios:
        # a broken variant may still fail once it runs; skipped ones do not apply here
        passing = all(r.status in ("passed", "skipped") for r in scenarios)
        return "fixed" if passing and any(r.status == "passed" for r in scenarios) else ""
    related = [r for r in results if entry.id in r.requirements or _checked(r, entry.id)]
    if not related:
        return "unused"
    verdicts = [f.passed for r in related for f in r.findings if f.requirement == entry.id]
    if not verdicts or not all(verdicts) or any(r.status == "broken" for r in related):
        return ""
    return "fixed"


def _checked(result: ScenarioResult, requirement: str) -> bool:
    return any(f.requirement == requirement for f in result.findings)
