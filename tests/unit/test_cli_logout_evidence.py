"""What the harness reads from snapshots: stored tokens, a login's footprint, what was left, the dry run's list."""

from __future__ import annotations

import json
from pathlib import Path

from harness.cli_logout import evidence
from harness.cli_logout.evidence import Listed, Login
from harness.cli_logout.runner import Ran
from harness.cli_logout.snapshot import Item, take
from harness.cli_logout.stored_tokens import found_in
from harness.target import CliIdentity, CliSettings

SETTINGS = CliSettings(program=("tool",), commands={}, identities=(CliIdentity("dev", ("sso", "org", "dev")),),
                       cwd=".", credential_paths=("~/.tool/providers/*",), keyring_services=("tool",))
RAN = Ran("login dev", ("tool", "login", "dev"), 0, "", "", 0.1)
REFRESH = "refresh-token-value-0123456789"
ACCESS = "access-token-value-0123456789"
SESSION = "session-token-value-0123456789"


def keyring_item(service: str, user: str, value: str) -> Item:
    return take(Path("/nonexistent"), {service: {user: value}})[f"keyring:{service}/{user}"]


def file_item(name: str, text: str) -> Item:
    data = text.encode()
    return Item(name, "file", len(data), str(hash(data)), data)


def test_tokens_in_json_ini_and_env_files() -> None:
    items = [
        keyring_item("tool", "sso", json.dumps({"refresh_token": REFRESH, "access_token": ACCESS,
                                                "token_type": "Bearer", "token_endpoint": "http://i/token",
                                                "expires_at": 1795264388})),
        file_item("~/.tool/providers/sso/credentials", f"[dev]\naws_session_token = {SESSION}\nregion = eu\n"),
        file_item("~/.env", 'export API_KEY="k-0123456789abcdef"\nNAME=x\n'),
        file_item("~/.nested", json.dumps({"blob": json.dumps({"refresh_token": "nested-0123456789"})})),
    ]
    found = {s.value: s for s in found_in(items)}
    assert set(found) == {REFRESH, ACCESS, SESSION, "k-0123456789abcdef", "nested-0123456789"}
    assert found[REFRESH].is_refresh_token and found[REFRESH].where == "keyring:tool/sso"
    assert not found[ACCESS].is_refresh_token and found[ACCESS].kind == "access token"
    assert found[SESSION].where == "~/.tool/providers/sso/credentials"


def test_nothing_found_in_encrypted_or_short_values() -> None:
    items = [file_item("~/.sfdx/u.json", json.dumps({"accessToken": "a1b2"}))]
    assert found_in(items) == []
    assert found_in([file_item("~/bin", "\x00\x01 binary")]) == []


def sandbox_with(tmp_path: Path, files: dict[str, str]) -> Path:
    home = tmp_path / "home"
    for name, text in files.items():
        path = home / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    home.mkdir(exist_ok=True)
    return home


def test_login_footprint_credentials_and_tokens(tmp_path: Path) -> None:
    home = sandbox_with(tmp_path, {".tool/index.json": "{}", ".other/credentials": f"token = {ACCESS}\n"})
    before = take(home, {"decoy": {"x": "y"}})
    (home / ".tool/providers/sso").mkdir(parents=True)
    (home / ".tool/providers/sso/credentials").write_text(f"[dev]\nsession_token = {SESSION}\n")
    (home / ".tool/index.json").write_text('{"dev": {}}')
    # a token that was in the sandbox before (another program's) is not the login's
    (home / ".tool/providers/sso/copy").write_text(f"token = {ACCESS}\n")
    after = take(home, {"decoy": {"x": "y"}, "tool": {"sso": json.dumps({"refresh_token": REFRESH})},
                        "elsewhere": {"u": "v"}})
    login = Login(SETTINGS, SETTINGS.identities[0], before, after, RAN)
    assert login.credentials == ["keyring:tool/sso", "~/.tool/providers/sso", "~/.tool/providers/sso/copy",
                                 "~/.tool/providers/sso/credentials"]
    assert "~/.tool/index.json" in login.footprint and "keyring:elsewhere/u" in login.footprint
    assert {t.value for t in login.tokens} == {REFRESH, SESSION}
    assert [t.value for t in login.refresh_tokens] == [REFRESH]
    assert evidence.copies_left(login.tokens, after) == ["keyring:tool/sso", "~/.tool/providers/sso/credentials"]


def test_chain_left_names_items_by_step() -> None:
    snap = {**take(Path("/nonexistent"), {"tool": {"org": "x", "other": "y"}}),
            "~/.tool/providers/sso": Item("~/.tool/providers/sso", "dir", 0, ""),
            "~/.tool/providers/sso/config": file_item("~/.tool/providers/sso/config", "c")}
    left = evidence.chain_left(SETTINGS, ("sso", "org", "dev"), snap)
    assert left == {"sso": ["~/.tool/providers/sso", "~/.tool/providers/sso/config"], "org": ["keyring:tool/org"],
                    "dev": []}


def test_changed_says_removed_or_changed() -> None:
    before = {"a": file_item("a", "1"), "b": file_item("b", "2"), "c": file_item("c", "3")}
    after = {"a": file_item("a", "1"), "c": file_item("c", "changed")}
    assert evidence.changed(["a", "b", "c", "never"], before, after) == ["removed b", "changed c"]


def test_printed_secrets() -> None:
    runs = [Ran("logout dev", (), 0, f"Revoking {REFRESH}", "", 0.1), Ran("list", (), 0, "dev", "", 0.1)]
    secrets = [(REFRESH, "refresh token"), ("short", "password"), ("", "client secret")]
    assert evidence.printed_secrets(runs, secrets) == [("logout dev", "refresh token")]


def test_failure_reported() -> None:
    entry = keyring_item("tool", "org", "x")
    assert evidence.failure_reported("  ✗ Keyring: org (locked)\n", entry)
    assert evidence.failure_reported("Errors encountered:\n  • tool/org: could not delete\n", entry)
    assert not evidence.failure_reported("Logging out from identity: org\n  ✓ Keyring: sso\n", entry)


PATTERN = r"^\s*•\s*(?:Keyring: (?P<keyring>\S+)|Files: (?P<path>\S+))\s*$"


def test_dry_run_list_against_the_real_run(tmp_path: Path) -> None:
    output = ("Would remove from identity: dev\n  • Keyring: sso\n  • Keyring: dev\n"
              f"  • Files: {tmp_path}/home/.tool/providers/sso/credentials\n  • Files: ~/.tool/providers/sso/config\n")
    listed = evidence.listed_in(output, PATTERN, str(tmp_path / "home"))
    assert listed == Listed(frozenset({"sso", "dev"}), frozenset({"~/.tool/providers/sso/credentials",
                                                                  "~/.tool/providers/sso/config"}))
    home = sandbox_with(tmp_path, {".tool/providers/sso/credentials": "c", ".tool/providers/sso/config": "c"})
    keyring = {"tool": {"sso": "a", "org": "b", "dev": "c"}}
    before = take(home, keyring)
    (home / ".tool/providers/sso/credentials").unlink()
    after = take(home, {"tool": {"sso": "a"}})
    unlisted, kept = evidence.dry_run_mismatch(SETTINGS, listed, before, after)
    assert unlisted == ["keyring:tool/org"]
    assert kept == ["keyring entry sso", "~/.tool/providers/sso/config"]


def test_a_listed_folder_covers_what_is_under_it() -> None:
    listed = Listed(frozenset(), frozenset({"~/.tool/providers/sso/"}))
    assert listed.covers(file_item("~/.tool/providers/sso/credentials", "x"))
    assert not listed.covers(file_item("~/.tool/providers/ops/credentials", "x"))
    assert Listed(frozenset({"tool/org"}), frozenset()).covers(keyring_item("tool", "org", "x"))
