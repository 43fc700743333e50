"""The sandbox a tool runs in: its folders and environment, its file keyring (with refusals), snapshots, bounded runs."""

from __future__ import annotations

import gc
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cli_logout import filekeyring, runner
from harness.cli_logout.sandbox import DECOY_FILES, Sandbox
from harness.cli_logout.snapshot import MAX_CONTENT, diff, is_credential, take
from harness.errors import ConfigError, TargetError

KEYRING_ENV = {"PYTHON_KEYRING_BACKEND": "harness.cli_logout.filekeyring.SandboxKeyring"}


def python(sandbox: Sandbox, code: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Python code run as a tool would be: in the sandbox's environment only."""
    return subprocess.run([sys.executable, "-c", code], env=sandbox.env(extra or {}), capture_output=True, text=True,
                          timeout=30, check=False, cwd=sandbox.tmp)


def test_layout_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGOUT_CONFORMANCE_SECRET_THING", "x")
    monkeypatch.setenv("LOGOUT_MOCK_ALICE_PASSWORD", "not for the tool")
    sandbox = Sandbox()
    env = sandbox.env({"TOOL_ISSUER": "http://127.0.0.1:1"})
    assert env["HOME"] == str(sandbox.home) and env["TMPDIR"] == str(sandbox.tmp)
    assert env["XDG_CONFIG_HOME"] == str(sandbox.home / ".config")
    assert env["XDG_STATE_HOME"] == str(sandbox.home / ".local/state")
    assert env["PYTHON_KEYRING_BACKEND"] == KEYRING_ENV["PYTHON_KEYRING_BACKEND"]
    assert env[filekeyring.FILE_ENV] == str(sandbox.keyring_file)
    assert env["TOOL_ISSUER"] == "http://127.0.0.1:1"
    # nothing of the harness's environment but the basics
    assert "LOGOUT_CONFORMANCE_SECRET_THING" not in env and "LOGOUT_MOCK_ALICE_PASSWORD" not in env
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        assert Path(env[name]).is_dir()
    assert sandbox.keyring_file is not None and not sandbox.keyring_file.is_relative_to(sandbox.home)
    root = sandbox.root
    sandbox.close()
    assert not root.exists()


def test_the_sandbox_goes_with_its_last_reference() -> None:
    sandbox = Sandbox()
    root = sandbox.root
    del sandbox
    gc.collect()
    assert not root.exists()


def test_without_keyring_no_backend_is_forced() -> None:
    sandbox = Sandbox(keyring=False)
    env = sandbox.env({})
    assert "PYTHON_KEYRING_BACKEND" not in env and sandbox.keyring_file is None
    assert sandbox.keyring_entries() == {}


def test_decoys_are_in_the_first_snapshot() -> None:
    sandbox = Sandbox()
    decoys = sandbox.seed_decoys()
    snap = sandbox.snapshot()
    assert set(DECOY_FILES) < set(decoys)
    assert all(name in snap for name in decoys)
    assert "keyring:decoy-service/someone-else" in snap


def test_a_tool_on_keyring_uses_the_sandbox_file_and_refusals_hold() -> None:
    sandbox = Sandbox()
    stored = python(sandbox, "import keyring; keyring.set_password('tool', 'alice', 'refresh-0123456789');"
                             "keyring.set_password('tool', 'bob', 'refresh-9876543210')")
    assert stored.returncode == 0, stored.stderr
    assert sandbox.keyring_entries() == {"tool": {"alice": "refresh-0123456789", "bob": "refresh-9876543210"}}
    snap = sandbox.snapshot()
    sandbox.refuse_delete(snap["keyring:tool/alice"])
    deleted = python(sandbox, "import keyring, keyring.errors\n"
                              "try:\n    keyring.delete_password('tool', 'alice')\n"
                              "except keyring.errors.PasswordDeleteError as e:\n    print('refused:', e)\n"
                              "keyring.delete_password('tool', 'bob')")
    assert deleted.returncode == 0, deleted.stderr
    assert "refused:" in deleted.stdout and "locked" in deleted.stdout
    assert sandbox.keyring_entries() == {"tool": {"alice": "refresh-0123456789"}}
    after = sandbox.snapshot()
    assert diff(snap, after).removed == ["keyring:tool/bob"]


def test_the_backend_is_not_viable_outside_a_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(filekeyring.FILE_ENV, raising=False)
    with pytest.raises(RuntimeError, match="not set"):
        filekeyring.SandboxKeyring.priority  # noqa: B018


def test_damaged_keyring_file_is_a_clear_error(tmp_path: Path) -> None:
    sandbox = Sandbox()
    assert sandbox.keyring_file is not None
    sandbox.keyring_file.write_text('["not", "services"]')
    with pytest.raises(TargetError, match="damaged"):
        sandbox.keyring_entries()


def test_snapshot_diff_and_credential_paths(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".aws" / "atmos" / "sso").mkdir(parents=True)
    (home / ".aws" / "atmos" / "sso" / "credentials").write_text("[dev]\naws_session_token = abc\n")
    (home / "notes").write_text("x")
    (home / "link").symlink_to(home / "notes")
    before = take(home, {"atmos": {"sso": "t"}})
    assert before["~/.aws/atmos/sso"].kind == "dir" and before["~/link"].kind == "link"
    assert before["~/.aws/atmos/sso/credentials"].content.startswith(b"[dev]")
    (home / ".aws" / "atmos" / "sso" / "credentials").unlink()
    (home / "notes").write_text("changed")
    (home / "new").write_text("n")
    after = take(home, {})
    changes = diff(before, after)
    assert changes.created == ["~/new"]
    assert changes.removed == ["keyring:atmos/sso", "~/.aws/atmos/sso/credentials"]
    assert changes.modified == ["~/notes"]
    paths = ["~/.aws/atmos/*"]
    assert is_credential(before["~/.aws/atmos/sso"], paths, [])
    assert is_credential(before["~/.aws/atmos/sso/credentials"], paths, [])
    assert not is_credential(before["~/.aws/atmos"], paths, [])
    assert not is_credential(before["~/notes"], paths, [])
    assert is_credential(before["keyring:atmos/sso"], paths, [])  # no services named: every entry counts
    assert not is_credential(before["keyring:atmos/sso"], paths, ["other"])


def test_snapshot_keeps_bounded_content(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"a" * (MAX_CONTENT + 10))
    item = take(tmp_path, {})["~/big"]
    assert item.size == MAX_CONTENT + 10 and len(item.content) == MAX_CONTENT


def test_run_captures_output_and_exit(tmp_path: Path) -> None:
    ran = runner.run("say", (sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"),
                     env=dict(os.environ), cwd=str(tmp_path), timeout=30)
    assert (ran.exit_code, ran.stdout.strip(), ran.stderr.strip()) == (3, "out", "err")
    assert ran.crashed is None
    assert "# exit 3" in ran.transcript()


def test_run_spots_a_crash(tmp_path: Path) -> None:
    ran = runner.run("boom", (sys.executable, "-c", "raise KeyError('x')"), env=dict(os.environ), cwd=str(tmp_path),
                     timeout=30)
    assert ran.crashed == "it printed a Python traceback"


def test_a_hanging_tool_is_killed_with_its_children(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    code = ("import subprocess, sys, time\n"
            f"child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
            f"open({str(marker)!r}, 'w').write(str(child.pid))\n"
            "time.sleep(600)\n")
    started = time.monotonic()
    # long enough for the tool to start its child even on a busy machine
    with pytest.raises(TargetError, match="did not end within 4 s"):
        runner.run("hang", (sys.executable, "-c", code), env=dict(os.environ), cwd=str(tmp_path), timeout=4)
    assert time.monotonic() - started < 15
    assert marker.exists(), "the tool did not start its child within the bound"
    child = int(marker.read_text())
    # the child was in the tool's session: killed too. SIGKILL lands asynchronously: wait (bounded) on the
    # process's pidfd, which becomes readable once it has ended
    try:
        handle = os.pidfd_open(child)
    except ProcessLookupError:
        return
    try:
        readable, _, _ = select.select([handle], [], [], 10)
    finally:
        os.close(handle)
    assert readable, f"the tool's child {child} still runs"


def test_output_is_bounded(tmp_path: Path) -> None:
    ran = runner.run("loud", (sys.executable, "-c", f"print('x' * {runner.MAX_OUTPUT + 100})"), env=dict(os.environ),
                     cwd=str(tmp_path), timeout=30)
    assert ran.stdout.endswith("[output cut at 1 MiB]")


def test_a_missing_program_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot run"):
        runner.run("x", ("/nonexistent/tool",), env={}, cwd=str(tmp_path), timeout=5)


def test_fill_leaves_unknown_placeholders() -> None:
    assert runner.fill("{issuer}/x/{other}", {"issuer": "http://i"}) == "http://i/x/{other}"


def test_refusal_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    filekeyring.write_entry(path, "s", "u", "v")
    filekeyring.write_refusals(path, {("s", "u")})
    assert json.loads(filekeyring.refusal_file(path).read_text()) == [["s", "u"]]
    assert filekeyring.read_refusals(path) == {("s", "u")}
    assert filekeyring.read_entries(path) == {"s": {"u": "v"}}
    assert filekeyring.read_entries(tmp_path / "none.json") == {}
