"""The ``logout-conformance`` commands as a user or a CI job calls them: output, exit codes, messages."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from harness import plan
from harness.faults import CATALOG as FAULTS

from .conftest import (
    CLI,
    MOCK_TARGET,
    ROOT,
    FakeOpBehaviour,
    StartFakeOp,
    clean_env,
    load_summary,
    op_env,
    op_target,
    output,
    run_cli,
    run_suite,
)

EXIT_FAILED, EXIT_USAGE = 1, 2
SCENARIO_FILES = sorted((ROOT / "scenarios").rglob("*.yaml"))


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The single line a usage error prints on stderr (and nothing that looks like a crash)."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in output(proc)
    return lines[0]


def line_of(path: Path, text: str) -> int:
    """The 1-based line of the first line of ``path`` containing ``text``."""
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


# --- faults ---------------------------------------------------------------------------------------


def test_faults_lists_one_line_per_fault_name_first() -> None:
    proc = run_cli("faults")
    assert proc.returncode == 0, output(proc)
    lines = proc.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(FAULTS)
    for line, fault in zip(lines, FAULTS.values(), strict=True):
        assert line.split()[1] == fault.requirement
        assert fault.description in line


def test_faults_json_is_the_catalog() -> None:
    proc = run_cli("faults", "--json")
    assert proc.returncode == 0, output(proc)
    assert json.loads(proc.stdout) == [
        {"name": f.name, "requirement": f.requirement, "description": f.description} for f in FAULTS.values()
    ]


def test_a_closed_pipe_is_no_crash() -> None:
    # `logout-conformance list --json | head -1`: the reader leaves before the writer is done
    process = subprocess.Popen([str(CLI), "list", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=clean_env(), cwd=ROOT)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    stderr = process.stderr.read().decode()
    process.wait(timeout=30)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr


# --- list -----------------------------------------------------------------------------------------


def test_list_shows_every_scenario_with_profile_and_requirements() -> None:
    scenarios = plan.load().scenarios
    proc = run_cli("list")
    assert proc.returncode == 0, output(proc)
    lines = proc.stdout.splitlines()
    assert len(lines) == len(scenarios)
    for line, scenario in zip(lines, scenarios, strict=True):
        profile, scenario_id, *requirements = line.replace(",", " ").split()
        assert (profile, scenario_id) == (scenario.profile, scenario.id)
        assert requirements == list(scenario.requirements)


def test_list_json_names_variants_and_leaves_applicability_open() -> None:
    proc = run_cli("list", "--json")
    assert proc.returncode == 0, output(proc)
    rows = {row["id"]: row for row in json.loads(proc.stdout)}
    assert set(rows) == {s.id for s in plan.load().scenarios}
    assert rows["oidc-rp-initiated/full-logout"]["variants"] == [
        "oidc-rp-initiated/full-logout[GET]", "oidc-rp-initiated/full-logout[POST]"]
    assert all(row["applies"] is None for row in rows.values())  # no target: nothing to decide against
    assert all({"profile", "requirements", "title", "applies_to"} <= row.keys() for row in rows.values())


def test_list_target_says_what_applies(tmp_path: Path) -> None:
    proc = run_cli("list", "--target", MOCK_TARGET)
    assert proc.returncode == 0, output(proc)
    assert proc.stdout.splitlines() and all(line.startswith("applies") for line in proc.stdout.splitlines())
    # a command-line tool: only the cli-logout scenarios apply, every other one is marked not applicable
    other = tmp_path / "cli.yaml"
    other.write_text("name: a command-line tool\nroles: [cli]\ncli:\n  program: [tool]\n  commands:\n"
                     "    {login: [login], logout: [logout], list: [list], status: [status]}\n"
                     "  identities: [{name: me}]\n")
    proc = run_cli("list", "--target", other, "--json")
    assert proc.returncode == 0, output(proc)
    rows = json.loads(proc.stdout)
    assert {row["applies"] for row in rows if row["profile"] != "cli-logout"} == {False}
    assert {row["applies"] for row in rows if row["profile"] == "cli-logout"} == {True}
    text = run_cli("list", "--target", other).stdout
    assert text.splitlines() and all(line.startswith("n/a") for line in text.splitlines() if "cli-logout" not in line)


# --- validate -------------------------------------------------------------------------------------


def test_validate_accepts_the_shipped_files() -> None:
    files = [MOCK_TARGET, ROOT / "fixtures/real/oidc-provider/target.yaml",
             ROOT / "fixtures/real/oidc-provider/expected-failures.yaml", *SCENARIO_FILES]
    proc = run_cli("validate", *files)
    assert proc.returncode == 0, output(proc)
    assert len([line for line in proc.stdout.splitlines() if line.startswith("ok ")]) == len(files)


def test_validate_a_typo_in_a_target_gives_file_line_and_a_hint(tmp_path: Path) -> None:
    target = tmp_path / "target.yaml"
    target.write_text(MOCK_TARGET.read_text().replace("post_logout_redirect_uri:", "post_logout_redirect_url:", 1))
    proc = run_cli("validate", MOCK_TARGET, target)
    assert proc.returncode == EXIT_USAGE, output(proc)
    assert f"ok    {MOCK_TARGET}" in proc.stdout  # the good file is still reported as good
    line = line_of(target, "post_logout_redirect_url:")
    assert f"{target}:{line}:" in proc.stdout, proc.stdout
    assert "did you mean 'post_logout_redirect_uri'" in proc.stdout


def test_validate_an_unknown_step_gives_file_and_line(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.yaml"
    original = ROOT / "scenarios/oidc-rp-initiated/full-logout.yaml"
    scenario.write_text(original.read_text().replace("  - expect_redirect:", "  - expect_redirection:"))
    proc = run_cli("validate", scenario)
    assert proc.returncode == EXIT_USAGE, output(proc)
    assert f"{scenario}:{line_of(scenario, 'expect_redirection')}:" in proc.stdout, proc.stdout
    assert "unknown step 'expect_redirection'" in proc.stdout
    assert "Traceback" not in output(proc)


# --- run: usage and configuration errors ----------------------------------------------------------


def test_run_unknown_fault_is_one_clear_line(tmp_path: Path) -> None:
    proc = run_cli("run", "--workers", "0", "--no-html", "--report-dir", tmp_path, "--mock-fault", "nonsense")
    assert proc.returncode == EXIT_USAGE
    line = one_line_error(proc)
    assert "unknown fault" in line and "nonsense" in line and "logout-conformance faults" in line
    assert not (tmp_path / "summary.json").exists()


def test_run_unknown_profile(tmp_path: Path) -> None:
    proc = run_cli("run", "--workers", "0", "--no-html", "--report-dir", tmp_path, "--profile", "nonsense")
    assert proc.returncode == EXIT_USAGE
    line = one_line_error(proc)
    assert "nonsense" in line and "oidc-rp-initiated-op" in line  # says which profiles there are


@pytest.mark.parametrize("reachable", [True, False], ids=["reachable", "unreachable"])
def test_run_unset_secret_names_the_variable(tmp_path: Path, fake_op: StartFakeOp, reachable: bool) -> None:
    # a configuration mistake is exit 2 before anything is contacted, even when the OP is down
    issuer = fake_op(FakeOpBehaviour()) if reachable else "http://127.0.0.1:1"
    target = op_target(tmp_path / "target.yaml", issuer, secret_env="E2E_UNSET_SECRET")
    proc = run_suite(tmp_path / "report", "--target", target, env=op_env())
    assert proc.returncode == EXIT_USAGE, output(proc)
    line = one_line_error(proc)
    assert "E2E_UNSET_SECRET" in line and f"{target}:{line_of(target, 'E2E_UNSET_SECRET')}" in line


# --- run: expected failures -----------------------------------------------------------------------


def expected_file(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "expected-failures.yaml"
    path.write_text("expected_failures:\n" + "".join(entries))
    return path


def entry(id_: str, reason: str, expires: str | None = None) -> str:
    return f"  - id: {id_}\n    reason: {reason}\n" + (f"    expires: {expires}\n" if expires else "")


def test_expected_failure_is_reported_not_gating(tmp_path: Path) -> None:
    known = expected_file(tmp_path, entry("OIDCRIL-3-state", "state invented, fix tracked in E2E-1"))
    proc = run_suite(tmp_path / "report", "--mock-fault", "state-invented", "-k", "no-state",
                     "--expected-failures", known)
    assert proc.returncode == 0, output(proc)
    assert re.search(r"^EXPECTED .*oidc-rp-initiated/no-state", proc.stdout, re.MULTILINE), proc.stdout
    summary = load_summary(tmp_path / "report")
    (scenario,) = summary["scenarios"]
    assert scenario["status"] == "failed" and scenario["expected_failure"]["id"] == "OIDCRIL-3-state"
    assert summary["expected_failures"]["applied"] == ["OIDCRIL-3-state"]


def test_expected_failure_that_passes_is_fixed(tmp_path: Path) -> None:
    known = expected_file(tmp_path, entry("oidc-rp-initiated/no-state", "was broken once"))
    proc = run_suite(tmp_path / "report", "-k", "no-state", "--expected-failures", known)
    assert proc.returncode == 0, output(proc)
    assert re.search(r"^FIXED +oidc-rp-initiated/no-state", proc.stdout, re.MULTILINE), proc.stdout
    fixed = load_summary(tmp_path / "report")["expected_failures"]["fixed"]
    assert [f["id"] for f in fixed] == ["oidc-rp-initiated/no-state"]


def test_expired_expected_failure_gates_again(tmp_path: Path) -> None:
    known = expected_file(tmp_path, entry("OIDCRIL-3-state", "was to be fixed long ago", "2020-01-31"))
    proc = run_suite(tmp_path / "report", "--mock-fault", "state-invented", "-k", "no-state",
                     "--expected-failures", known)
    assert proc.returncode == EXIT_FAILED, output(proc)
    assert re.search(r"^EXPIRED +OIDCRIL-3-state", proc.stdout, re.MULTILINE), proc.stdout
    assert load_summary(tmp_path / "report")["expected_failures"]["expired"][0]["expires"] == "2020-01-31"


@pytest.mark.parametrize("text, bad_line", [
    ("expected_failures:\n  - id: OIDCRIL-3-state\n    reason: r\n    expires: 2027-02-30\n", 4),
    ("expected_failures:\n  - id: OIDCRIL-3-state\n    reason: r\n  - id: OIDCRIL-3-state\n    reason: again\n", 4),
    ("expected_failures:\n  - id: OIDCRIL-3-state\n    reason: a: b\n", 3),
], ids=["bad-date", "duplicate", "bad-yaml"])
def test_malformed_expected_failures_is_a_usage_error(tmp_path: Path, text: str, bad_line: int) -> None:
    known = tmp_path / "expected-failures.yaml"
    known.write_text(text)
    proc = run_suite(tmp_path / "report", "--expected-failures", known)
    assert proc.returncode == EXIT_USAGE, output(proc)
    assert re.search(rf"{re.escape(str(known))}:{bad_line}\b", one_line_error(proc)), proc.stderr
