"""The cli-logout profile end to end: the sample CLI against the mock passes, sandboxes are cleaned up,
secrets a faulty tool prints stay masked, and a broken cli section is refused with its line.

Every sample-CLI fault being caught is proven by test_selftest.py (they are in the fault catalog).
"""

from __future__ import annotations

import re
from pathlib import Path

from harness import plan

from .conftest import clean_env, load_summary, output, run_cli, run_suite


def test_the_sample_cli_passes_and_leaves_no_sandbox(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = run_suite(tmp_path / "report", "--profile", "cli-logout", env=clean_env({"TMPDIR": str(scratch)}))
    assert proc.returncode == 0, output(proc)
    summary = load_summary(tmp_path / "report")
    expected = {case.id for case in plan.load(profiles=["cli-logout"]).cases}
    assert {s["id"] for s in summary["scenarios"]} == expected
    assert {s["status"] for s in summary["scenarios"]} == {"passed"}, summary["scenarios"]
    statuses = {r["id"]: r["status"] for r in summary["requirements"]}
    assert set(statuses.values()) == {"passed"}
    assert {"SFCLI-revoke", "ATMOS-chain", "ATMOS-dry-run-list", "LOGOUT-CLI-no-secrets"} <= set(statuses)
    assert not list(scratch.glob("logout-cli-*")), "a sandbox was left behind"


def test_a_printed_token_is_caught_and_masked_in_every_report(tmp_path: Path) -> None:
    proc = run_suite(tmp_path, "--profile", "cli-logout", "--mock-fault", "cli-secret-printed", "-k", "logout-identity")
    assert proc.returncode == 1, output(proc)
    assert "LOGOUT-CLI-no-secrets" in proc.stdout
    printed = re.compile(r"Revoking refresh token (\S+)")
    seen = 0
    for path in [*tmp_path.rglob("*.json"), *tmp_path.rglob("*.xml"), *tmp_path.rglob("*.txt")]:
        for match in printed.finditer(path.read_text("utf-8", "replace")):
            seen += 1
            assert match.group(1).startswith("«masked"), f"{path}: {match.group(0)}"
    assert seen, "the transcript of the logout is attached to the report"
    for match in printed.finditer(output(proc)):
        assert match.group(1).startswith("«masked"), match.group(0)


def test_a_broken_cli_section_is_refused_with_its_line(tmp_path: Path) -> None:
    target = tmp_path / "tool.yaml"
    target.write_text("name: tool\nroles: [cli]\ncli:\n  program: [tool]\n  commands:\n"
                      "    login: [login, \"{identity}\", --password, \"{password}\"]\n"
                      "    logout: [logout]\n    list: [list]\n    status: [status]\n"
                      "  identities: [{name: a}]\n", "utf-8")
    proc = run_cli("validate", target)
    assert proc.returncode == 2, output(proc)
    assert f"{target}:6" in output(proc) and "secret" in output(proc)
    run = run_cli("run", "--target", target, "--no-html", "--report-dir", tmp_path / "r")
    assert run.returncode == 2 and f"{target}:6" in output(run)
