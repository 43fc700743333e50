"""The cli section of target files: what it gives the harness, and mistakes reported with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import target
from harness.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
GOOD = """\
name: a tool
roles: [cli]
cli:
  program: ["{python}", -m, tool]
  commands:
    login: [login, "{identity}"]
    logout: [logout, "{identity}"]
    list: [list]
    status: [status, "{identity}"]
  env:
    TOOL_ISSUER: "{issuer}"
    TOOL_PASSWORD: "{password}"
  identities:
    - {name: dev, chain: [sso, org, dev]}
    - {name: ops}
  credentials: {paths: ["~/.tool/*"], keyring_services: [tool]}
  idp:
    issuer: https://idp.example.com/
    client_id: tool
    secret_env: TOOL_CLIENT_SECRET
  user: {username: alice, password_env: TOOL_ALICE_PASSWORD}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "target.yaml"
    path.write_text(text, "utf-8")
    return path


def test_a_good_cli_section(tmp_path: Path) -> None:
    loaded = target.load(write(tmp_path, GOOD))
    cli = loaded.cli
    assert cli is not None
    assert cli.program == ("{python}", "-m", "tool") and cli.commands["logout"] == ("logout", "{identity}")
    assert [(i.name, i.chain, i.provider) for i in cli.identities] == [("dev", ("sso", "org", "dev"), "sso"),
                                                                         ("ops", ("ops",), "ops")]
    assert cli.issuer == "https://idp.example.com" and cli.cwd == str(tmp_path)
    assert cli.credential_paths == ("~/.tool/*",) and cli.keyring_services == ("tool",) and cli.keyring == "sandbox"
    assert {s.env for s in loaded.secrets()} == {"TOOL_CLIENT_SECRET", "TOOL_ALICE_PASSWORD"}
    with pytest.raises(ConfigError, match="TOOL_CLIENT_SECRET"):
        loaded.require_secrets()


@pytest.mark.parametrize(("old", "new", "line", "message"), [
    ("roles: [cli]\ncli:", "roles: [cli]\nnot_cli:", 3, "unknown key 'not_cli'"),
    ("    login: [login, \"{identity}\"]", "    login: [login, \"{password}\"]", 6,
     "{password} is a secret: it may go to cli.env only"),
    ("    TOOL_ISSUER: \"{issuer}\"", "    TOOL_ISSUER: \"{isuer}\"", 11, "unknown placeholder {isuer}"),
    ("    - {name: dev, chain: [sso, org, dev]}", "    - {name: dev, chain: [sso, dev, org]}", 14,
     "must end with the identity itself"),
    ("    - {name: ops}", "    - {name: dev}", 15, "identity 'dev' is listed twice"),
    ("    issuer: https://idp.example.com/\n", "", 10, "cli.env uses {issuer}"),
    ("  user: {username", "  list_shows: \"^x\"\n  user: {username", 21, "must contain {identity}"),
    ("  user: {username", "  dry_run_item: \"^(?P<x>.*)$\"\n  user: {username", 21, "named group keyring or path"),
    ("  user: {username", "  reminder: \"(\"\n  user: {username", 21, "not a regular expression"),
    ("paths: [\"~/.tool/*\"]", "paths: [\"/etc/passwd\"]", 16, "does not match"),
])
def test_mistakes_say_file_and_line(tmp_path: Path, old: str, new: str, line: int, message: str) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(ConfigError) as info:
        target.load(path)
    assert message in str(info.value)
    assert info.value.file == str(path) and info.value.line == line, str(info.value)


def test_role_cli_needs_its_section(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nroles: [cli]\n")
    with pytest.raises(ConfigError, match="role cli needs a 'cli' section") as info:
        target.load(path)
    assert info.value.line == 2


def test_the_bundled_target_and_the_examples_load() -> None:
    mock = target.load(ROOT / "fixtures" / "targets" / "mock.yaml")
    assert "cli" in mock.roles and mock.cli is not None
    assert mock.cli.identities[0].chain == ("corp-sso", "dev-org-admin", "dev-admin")
    assert mock.cli.issuer is None  # the mock's own issuer, where it really listens, at run time
    for name in ("sf.yaml", "atmos.yaml"):
        example = target.load(ROOT / "fixtures" / "targets" / "examples" / name)
        assert example.roles == ("cli",) and example.cli is not None


def test_sample_cli_faults_need_a_tool_that_takes_them() -> None:
    from dataclasses import replace

    from harness import faults, pytest_plugin
    from harness.errors import HarnessError

    mock = target.load(ROOT / "fixtures" / "targets" / "mock.yaml")
    assert mock.cli is not None
    wanted = {faults.SAMPLE_CLI: ["cli-no-revocation"]}
    pytest_plugin._check_fault_owners(mock, wanted)
    deaf = replace(mock, cli=replace(mock.cli, env={k: v for k, v in mock.cli.env.items() if "{faults}" not in v}))
    with pytest.raises(HarnessError, match="sample CLI faults need"):
        pytest_plugin._check_fault_owners(deaf, wanted)
    with pytest.raises(HarnessError, match="sample CLI faults need"):
        pytest_plugin._check_fault_owners(replace(mock, cli=None), wanted)
    assert faults.OWNER["cli-secret-printed"] == faults.SAMPLE_CLI
