"""The self-test: the conformant mock comes out clean, and every fault of the mock is caught.

DESIGN: "every fault of the mock is caught by a scenario, and the project's tests prove it (run each
fault, expect the right requirement to fail)". A fault that is not caught means a check that cannot
fail; a conformant mock that does not pass means a false failure. Both are defects.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import plan, requirements
from harness.faults import CATALOG as FAULTS
from mock_idp.faults import Fault

from .conftest import clean_env, load_summary, output, run_suite

EXIT_FAILED = 1


def test_conformant_mock_passes_every_scenario(tmp_path: Path) -> None:
    proc = run_suite(tmp_path)
    assert proc.returncode == 0, output(proc)
    summary = load_summary(tmp_path)
    cases = {case.id for case in plan.load().cases}
    assert {s["id"] for s in summary["scenarios"]} == cases  # every case ran, none more
    not_passed = {s["id"]: (s["status"], s["messages"], s["failed_requirements"])
                  for s in summary["scenarios"] if s["status"] != "passed"}
    assert not not_passed, not_passed
    # every requirement a scenario cites was checked, and held
    assert {r["status"] for r in summary["requirements"]} == {"passed"}
    assert summary["exit_code"] == 0


def fail_on(fault: Fault) -> list[str]:
    """A SHOULD requirement gates only with --fail-on should (DESIGN, results)."""
    return ["--fail-on", "should"] if requirements.get(fault.requirement).level == "SHOULD" else []


def profiles_for(fault: Fault) -> list[str]:
    """``--profile`` options for the profiles whose scenarios prove the fault's requirement.

    Whole profiles, as a user runs them, so a fault that breaks other scenarios of the profile shows;
    the other profiles cannot prove the requirement, and skipping them keeps the runs fast.
    """
    profiles = sorted({s.profile for s in plan.load().scenarios if fault.requirement in s.requirements})
    assert profiles, f"no scenario cites {fault.requirement}, the requirement of fault {fault.name}"
    return [option for profile in profiles for option in ("--profile", profile)]


@pytest.mark.parametrize("fault", list(FAULTS.values()), ids=list(FAULTS))
def test_every_fault_is_caught(tmp_path: Path, fault: Fault) -> None:
    # the conformant run fans out to 200 RPs; a fault is caught as well with 20, in a tenth of the time
    proc = run_suite(tmp_path, "--mock-fault", fault.name, *fail_on(fault), *profiles_for(fault),
                     env=clean_env({"LOGOUT_MOCK_FAN_OUT": "20"}))
    summary = load_summary(tmp_path)
    catching = [s["id"] for s in summary["scenarios"]
                if s["status"] == "failed" and fault.requirement in s["failed_requirements"]]
    assert catching, (
        f"fault {fault.name} ({fault.requirement}) is not caught; results: "
        f"{[(s['id'], s['status'], s['failed_requirements']) for s in summary['scenarios'] if s['status'] != 'passed']}"
    )
    # a fault is a failed requirement, not a harness that could not run (2) or reach the mock (3)
    assert proc.returncode == EXIT_FAILED, output(proc)
    broken = [(s["id"], s["messages"]) for s in summary["scenarios"] if s["status"] == "broken"]
    assert not broken, broken
    # the console names the requirement on a FAILED line, so CI logs show what broke
    assert "FAILED" in proc.stdout and fault.requirement in proc.stdout
