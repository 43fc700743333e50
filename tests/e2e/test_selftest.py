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

from .conftest import ALLURE, clean_env, load_summary, output, run_suite
from .reports import check_every_report
from .test_secrets import scan, secret_env

EXIT_FAILED = 1


#: every profile, one worker: the fan-out, the retry windows and the browser scenarios take their time
FULL_RUN_TIMEOUT_S = 300.0


def test_conformant_mock_passes_every_scenario(tmp_path: Path) -> None:
    """One run of every profile, with the HTML report and secrets of known values, proves three things:
    every scenario passes, every report is written, and none of them holds a secret in clear."""
    proc = run_suite(tmp_path, env=secret_env(), html=ALLURE.exists(), timeout=FULL_RUN_TIMEOUT_S)
    # the mock and the harness both took the secrets from the environment: logins worked
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
    if ALLURE.exists():
        check_every_report(tmp_path, proc)
    found, _ = scan(tmp_path, output(proc))
    assert not found, "\n".join(found[:40])


def fail_on(fault: Fault) -> list[str]:
    """A SHOULD requirement gates only with --fail-on should (DESIGN, results)."""
    return ["--fail-on", "should"] if requirements.get(fault.requirement).level == "SHOULD" else []


def selection(fault: Fault) -> list[str]:
    """``--profile`` and ``-k`` options for the scenarios that cite the fault's requirement.

    The scenarios that can prove the requirement and no others: a run per fault costs its start (the
    mock, the apps it needs) plus those scenarios, which keeps some two hundred runs affordable.
    """
    citing = [s for s in plan.load().scenarios if fault.requirement in s.requirements]
    assert citing, f"no scenario cites {fault.requirement}, the requirement of fault {fault.name}"
    profiles = sorted({s.profile for s in citing})
    return [*(option for profile in profiles for option in ("--profile", profile)),
            "-k", " or ".join(sorted(s.id for s in citing))]


@pytest.mark.parametrize("fault", list(FAULTS.values()), ids=list(FAULTS))
def test_every_fault_is_caught(tmp_path: Path, fault: Fault) -> None:
    # the conformant run fans out to 200 RPs; a fault is caught as well with 20, in a tenth of the time
    proc = run_suite(tmp_path, "--mock-fault", fault.name, *fail_on(fault), *selection(fault),
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
