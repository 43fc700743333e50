"""The short table at the end of a run: counts per profile, then what needs a reader's eye."""

from __future__ import annotations

from typing import Any

from harness.report.summary import STATUSES
from harness.requirements import is_gating

#: column headers for the counts, in the order of ``STATUSES``
HEADERS = ("passed", "failed", "warnings", "skipped", "broken")
LABELS = {"failed": "FAILED", "warning": "WARNING", "broken": "BROKEN"}


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
            notes.append(_line("EXPECTED", scenario["profile"], scenario["id"], detail))
        elif scenario["status"] in LABELS:
            label = LABELS[scenario["status"]]
            notes.append(_line(label, scenario["profile"], scenario["id"], _detail(scenario)))
    entries = summary["expected_failures"]
    for entry in entries["fixed"]:
        notes.append(
            _line("FIXED", entry["id"], "passes now: remove it from the expected failures")
        )
    for entry in entries["expired"]:
        detail = f"expired {entry['expires']}, its failures count again: {entry['reason']}"
        notes.append(_line("EXPIRED", entry["id"], detail))
    if notes:
        lines += ["", *notes]
    return "\n".join(_fit(line, width) for line in lines)


def _detail(scenario: dict[str, Any]) -> str:
    """The first violation, the gating ones first; else the scenario's messages (a broken run)."""
    violations = [f for f in scenario["findings"] if not f["passed"]]
    if not violations:
        return "; ".join(scenario["messages"]) or scenario["broken_kind"] or "no detail"
    violations.sort(key=lambda f: not is_gating(f["level"], "must"))
    first = violations[0]
    text = f"{first['requirement']}: expected {first['expected']}; seen {first['seen']}"
    more = len(scenario["failed_requirements"]) - 1
    return f"{text} (+{more} more)" if more > 0 else text


def _line(label: str, *fields: str) -> str:
    # findings may hold multi-line text (a decoded message); one report line per scenario
    return "  ".join([label, *(" ".join(str(f).split()) for f in fields)])


def _fit(line: str, width: int) -> str:
    width = max(width, 40)
    return line if len(line) <= width else line[: width - 3] + "..."
