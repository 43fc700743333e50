"""summary.json: the machine-readable verdict of a run, validated against its shipped schema."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import jsonschema

from harness import requirements, yamlsrc
from harness.errors import HarnessError
from harness.expected import ExpectedOutcome
from harness.results import ScenarioResult, exit_code

FailOn = Literal["must", "should"]
#: (level, title, link) of a requirement id, from the catalog
RequirementInfo = Callable[[str], tuple[str, str, str]]

STATUSES = ("passed", "failed", "warning", "skipped", "broken")


def build(
    results: list[ScenarioResult],
    *,
    target_name: str,
    target_file: str | None,
    started_at: datetime | str,
    duration_s: float,
    fail_on: FailOn,
    requirement_info: RequirementInfo,
    expected: ExpectedOutcome | None,
) -> dict[str, Any]:
    """The summary of a run, as the dict that ``write`` stores.

    Scenario statuses already reflect ``fail_on`` (the engine makes a SHOULD violation "failed"
    under ``--fail-on should``), so the exit code follows them; ``fail_on`` decides requirement
    verdicts.
    """
    expected = expected or ExpectedOutcome()
    if isinstance(started_at, datetime):
        started_at = started_at.isoformat(timespec="seconds")
    return {
        "tool": "logout-conformance",
        "version": metadata.version("logout-conformance"),
        "target": {"name": target_name, "file": target_file},
        "started_at": started_at,
        "duration_s": round(duration_s, 3),
        "fail_on": fail_on,
        "exit_code": exit_code(results),
        "totals": _counts(results),
        "scenarios": [_scenario(r) for r in results],
        "requirements": _requirements(results, fail_on, requirement_info),
        "expected_failures": {
            "applied": list(expected.applied),
            "fixed": [{"id": e.id, "reason": e.reason} for e in expected.fixed],
            "expired": [
                {"id": e.id, "reason": e.reason, "expires": e.expires.isoformat()}
                for e in expected.expired
                if e.expires is not None
            ],
        },
        "profiles": [
            {"profile": profile, **_counts([r for r in results if r.profile == profile])}
            for profile in dict.fromkeys(r.profile for r in results)
        ],
    }


def _counts(results: list[ScenarioResult]) -> dict[str, int]:
    return {status: sum(r.status == status for r in results) for status in STATUSES}


def _scenario(result: ScenarioResult) -> dict[str, Any]:
    data = result.to_dict()
    data["duration_s"] = round(result.duration_s, 3)
    return data


def _requirements(
    results: list[ScenarioResult], fail_on: FailOn, info: RequirementInfo
) -> list[dict[str, Any]]:
    """One verdict per requirement, in the order the run first met them."""
    scenarios: dict[str, list[str]] = {}
    findings: dict[str, list[tuple[bool, str]]] = {}
    for result in results:
        named = [*result.requirements, *(f.requirement for f in result.findings)]
        for requirement in dict.fromkeys(named):
            scenarios.setdefault(requirement, []).append(result.id)
        for finding in result.findings:
            findings.setdefault(finding.requirement, []).append((finding.passed, finding.level))
    out = []
    for requirement, ids in scenarios.items():
        level, title, link = info(requirement)
        status = requirement_status(findings.get(requirement, []), fail_on)
        out.append(
            {
                "id": requirement,
                "level": level,
                "status": status,
                "title": title,
                "link": link,
                "scenarios": ids,
            }
        )
    return out


def requirement_status(verdicts: list[tuple[bool, str]], fail_on: FailOn) -> str:
    """Verdict on one requirement from its (passed, level) findings across the run.

    The level is the one the check was called with, and gates as it does for scenario statuses.
    """
    if not verdicts:
        return "skipped"
    violated = [level for passed, level in verdicts if not passed]
    if not violated:
        return "passed"
    gating = any(requirements.is_gating(level, fail_on) for level in violated)
    return "failed" if gating else "warning"


def write(summary: dict[str, Any], path: str | Path) -> None:
    """Validate ``summary`` against the shipped schema, then write it atomically (no half files)."""
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(yamlsrc.schema("summary")).iter_errors(summary)
    )
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "top level"
        raise HarnessError(f"summary does not follow its schema at {where}: {error.message}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes it private; a report is for other tools to read
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(summary, out, indent=2, ensure_ascii=False)
            out.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
