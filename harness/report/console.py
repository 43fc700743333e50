"""The short table at the end of a run: counts per profile, then what needs a reader's eye."""

from __future__ import annotations

import textwrap
from typing import Any

from harness.report.summary import STATUSES
from harness.requirements import is_gating

#: column headers for the counts, in the order of ``STATUSES``
HEADERS = ("passed", "failed", "warnings", "skipped", "broken")
LABELS = {"failed": "FAILED", "warning": "WARNING", "broken": "BROKEN"}
#: a finding wraps over at most this many lines; summary.json and the HTML report hold all of it
MAX_DETAIL_LINES = 6


def final_table(summary: dict[str, Any], *, width: int = 120) -> str:
    """Counts per profile and in total, then one line per failed, warning or broken scenario and per
    notable expected-failure entry; every line fits in ``width`` columns."""
    rows = [(p["profile"], [p[s] for s in STATUSES]) for p in summary["profiles"]]
    rows.append(("total", [summary["totals"][s] for s in STATUSES]))
    name_width = max(len("profile"), *(len(name) for name, _ in rows))
    lines = [f"{'profile':<{name_width}}" + "".join(f"  {h:>8}" for h in HEADERS)]
    lines += [
        f"{name:<{name_width}}" + "".join(f"  {n:>8}" for n in counts) for name, counts in rows
    ]

    notes = []
    for scenario in summary["scenarios"]:
        excuse = scenario["expected_failure"]
        if excuse and not excuse["expired"]:
            detail = f"{excuse['id']}: {excuse['reason']}"
            notes += _note("EXPECTED", [scenario["profile"], scenario["id"]], detail, width)
        elif scenario["status"] in LABELS:
            label = LABELS[scenario["status"]]
            notes += _note(label, [scenario["profile"], scenario["id"]], _detail(scenario), width)
    entries = summary["expected_failures"]
    for entry in entries["fixed"]:
        notes += _note("FIXED", [entry["id"]], "passes now: remove it from the expected failures", width)
    for entry in entries["expired"]:
        detail = f"expired {entry['expires']}, its failures count again: {entry['reason']}"
        notes += _note("EXPIRED", [entry["id"]], detail, width)
    lines = [_fit(line, width) for line in lines]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def _detail(scenario: dict[str, Any]) -> str:
    """The first violation, the gating ones first, and the other failed requirements by id; else the
    scenario's messages (a broken run)."""
    violations = [f for f in scenario["findings"] if not f["passed"]]
    if not violations:
        return "; ".join(scenario["messages"]) or scenario["broken_kind"] or "no detail"
    violations.sort(key=lambda f: not is_gating(f["level"], "must"))
    first = violations[0]
    text = f"{first['requirement']}: expected {first['expected']}; seen {first['seen']}"
    # the others by name, before the detail that may be cut, so a CI log shows every requirement that broke
    others = [r for r in scenario["failed_requirements"] if r != first["requirement"]]
    return f"(also failed: {', '.join(others)}) {text}" if others else text


def _note(label: str, fields: list[str], detail: str, width: int) -> list[str]:
    """A heading line (label, profile, scenario) and the detail wrapped under it, never cut short."""
    head = _fit("  ".join([f"{label:<8}", *fields]), width)
    # findings may hold multi-line text (a decoded message): flattened, then wrapped
    body = textwrap.wrap(" ".join(detail.split()), width=max(width, 40) - 10, break_long_words=True)
    return [head, *(f"          {line}" for line in body[:MAX_DETAIL_LINES])] + (
        ["          ..."] if len(body) > MAX_DETAIL_LINES else [])


def _fit(line: str, width: int) -> str:
    width = max(width, 40)
    return line if len(line) <= width else line[: width - 3] + "..."
