"""The sample CLI against the mock IdP: password-grant login, Atmos-style chains, logout with RFC 7009 revocation.

The mock runs in this process (BackgroundServer) with the tool's client; the tool runs as a user runs it
(``python -m fixtures.apps.sample_cli``) in the harness's sandbox (HOME, XDG folders, file keyring).
Also the mock's two additions for command-line tools: the password grant and the record of revocations.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.cli_logout.sandbox import Sandbox
from mock_idp.config import MockConfig
from mock_idp.server import BackgroundServer

ROOT = Path(__file__).resolve().parents[2]
SECRET = "sample-cli-secret-value"
PASSWORD = "alice-password-value"
CONFIG = {"clients": [{"client_id": "sample-cli", "client_secret": SECRET, "redirect_uris": ["http://127.0.0.1/x"]},
                      {"client_id": "other", "client_secret": "other-secret", "redirect_uris": ["http://127.0.0.1/y"]}],
          "users": [{"username": "alice", "password": PASSWORD, "sub": "alice"}]}
CORP = "~/.config/sample-cli/providers/corp-sso"


@pytest.fixture(scope="module")
def mock() -> Iterator[str]:
    with BackgroundServer(MockConfig.from_json(json.dumps(CONFIG))) as url:
        yield url


class Cli:
    """The sample CLI in one sandbox."""

    def __init__(self, issuer: str, faults: str = "") -> None:
        self.sandbox = Sandbox()
        self.env = self.sandbox.env({"SAMPLE_CLI_ISSUER": issuer, "SAMPLE_CLI_CLIENT_ID": "sample-cli",
                                     "SAMPLE_CLI_CLIENT_SECRET": SECRET, "SAMPLE_CLI_USERNAME": "alice",
                                     "SAMPLE_CLI_PASSWORD": PASSWORD, "SAMPLE_CLI_FAULTS": faults})

    def __call__(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "fixtures.apps.sample_cli", *args], cwd=ROOT,
                              env={**self.env, **env}, capture_output=True, text=True, timeout=30, check=False)

    def entries(self) -> set[str]:
        return set(self.sandbox.keyring_entries().get("sample-cli", {}))

    def refresh_token(self, step: str = "corp-sso") -> str:
        return str(json.loads(self.sandbox.keyring_entries()["sample-cli"][step])["refresh_token"])

    def exists(self, shown: str) -> bool:
        return self.sandbox.path(shown).exists()


def revocations(mock: str, token: str) -> list[dict[str, object]]:
    digest = hashlib.sha256(token.encode()).hexdigest()
    answer = httpx.get(f"{mock}/_mock/oidc/revocations", params={"token_sha256": digest})
    assert answer.status_code == 200
    calls: list[dict[str, object]] = answer.json()["revocations"]
    return calls


def refresh(mock: str, token: str) -> httpx.Response:
    return httpx.post(f"{mock}/token", data={"grant_type": "refresh_token", "refresh_token": token},
                      auth=("sample-cli", SECRET))


# ---- the mock's additions -----------------------------------------------------------------------


def test_password_grant(mock: str) -> None:
    def grant(**data: str) -> httpx.Response:
        return httpx.post(f"{mock}/token", data={"grant_type": "password", **data}, auth=("sample-cli", SECRET))

    wrong = grant(username="alice", password="nope")
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert grant(username="mallory", password=PASSWORD).json()["error"] == "invalid_grant"
    assert grant(username="alice").json()["error"] == "invalid_request"
    no_client = httpx.post(f"{mock}/token", data={"grant_type": "password", "username": "alice",
                                                    "password": PASSWORD})
    assert no_client.status_code == 401
    good = grant(username="alice", password=PASSWORD, scope="openid offline_access")
    body = good.json()
    assert good.status_code == 200 and good.headers["cache-control"] == "no-store"
    assert body["scope"] == "openid offline_access" and body["token_type"] == "Bearer"
    assert refresh(mock, body["refresh_token"]).status_code == 200


def test_revocations_are_recorded_by_hash(mock: str) -> None:
    body = httpx.post(f"{mock}/token", data={"grant_type": "password", "username": "alice", "password": PASSWORD},
                      auth=("sample-cli", SECRET)).json()
    token = body["refresh_token"]
    assert revocations(mock, token) == []
    # another client's request is recorded, and changes nothing (RFC 7009 §2.1)
    other = httpx.post(f"{mock}/revoke", data={"token": token}, auth=("other", "other-secret"))
    assert other.status_code == 200
    done = httpx.post(f"{mock}/revoke", data={"token": token, "token_type_hint": "refresh_token"},
                      auth=("sample-cli", SECRET))
    assert done.status_code == 200
    first, second = revocations(mock, token)
    assert first["client_id"] == "other" and first["revoked"] is False and first["token_type"] == "refresh_token"
    assert second["client_id"] == "sample-cli" and second["revoked"] is True
    assert second["token_type_hint"] == "refresh_token" and second["token_client_id"] == "sample-cli"
    assert token not in json.dumps(httpx.get(f"{mock}/_mock/oidc/revocations").json())
    assert refresh(mock, token).json()["error"] == "invalid_grant"


# ---- the tool ------------------------------------------------------------------------------------


def test_login_list_status_dry_run_logout(mock: str) -> None:
    cli = Cli(mock)
    assert cli("login", "dev-admin").returncode == 0
    assert cli("login", "ops-viewer").returncode == 0
    assert cli.entries() == {"corp-sso", "dev-org-admin", "dev-admin", "ops-sso", "ops-viewer"}
    assert cli.exists(f"{CORP}/credentials") and cli.exists(f"{CORP}/config")
    token = cli.refresh_token()
    listing = cli("list").stdout
    assert listing.startswith("dev-admin ") and "\nops-viewer " in listing
    assert cli("status", "dev-admin").returncode == 0
    dry = cli("logout", "dev-admin", "--dry-run")
    assert dry.returncode == 0 and "• Keyring: dev-org-admin" in dry.stdout and f"• Files: {CORP}/config" in dry.stdout
    assert cli.entries() == {"corp-sso", "dev-org-admin", "dev-admin", "ops-sso", "ops-viewer"}
    assert revocations(mock, token) == []
    out = cli("logout", "dev-admin")
    assert out.returncode == 0, out.stderr
    assert "browser session" in out.stdout and token not in out.stdout + out.stderr
    assert cli.entries() == {"ops-sso", "ops-viewer"} and not cli.exists(CORP)
    assert [c["revoked"] for c in revocations(mock, token)] == [True]
    assert cli("list").stdout.startswith("ops-viewer ") and cli("status", "dev-admin").returncode == 1
    again = cli("logout", "dev-admin")
    assert again.returncode == 0 and "nothing to remove" in again.stdout
    audit = cli.sandbox.path("~/.local/state/sample-cli/audit.log").read_text()
    assert "logout identity=dev-admin removed=3 failed=0" in audit and token not in audit


def test_provider_and_all(mock: str) -> None:
    cli = Cli(mock)
    for identity in ("dev-admin", "prod-admin", "ops-viewer"):
        assert cli("login", identity).returncode == 0
    assert cli("logout", "--provider", "corp-sso").returncode == 0
    assert cli.entries() == {"ops-sso", "ops-viewer"}
    assert cli("logout", "--all").returncode == 0
    assert cli.entries() == set() and cli("list").stdout.strip() == "No identities logged in."


def test_best_effort_when_the_keyring_refuses(mock: str) -> None:
    cli = Cli(mock)
    assert cli("login", "dev-admin").returncode == 0
    cli.sandbox.refuse_delete(cli.sandbox.snapshot()["keyring:sample-cli/corp-sso"])
    out = cli("logout", "dev-admin")
    assert out.returncode == 1
    assert "✗ Keyring: corp-sso" in out.stdout and "(2/3 successful)" in out.stdout
    assert cli.entries() == {"corp-sso"} and not cli.exists(CORP)


def test_local_credentials_go_when_the_idp_cannot_be_reached(mock: str) -> None:
    cli = Cli(mock)
    assert cli("login", "dev-admin").returncode == 0
    out = cli("logout", "dev-admin", SAMPLE_CLI_ISSUER="http://127.0.0.1:9")
    assert out.returncode == 1 and "Could not revoke" in out.stderr
    assert cli.entries() == set()


@pytest.mark.parametrize(("fault", "args", "deviation"), [
    ("cli-no-revocation", (), lambda cli, out, token, mock: revocations(mock, token) == []),
    ("cli-secret-printed", (), lambda cli, out, token, mock: token in out.stdout),
    ("cli-chain-step-left", (), lambda cli, out, token, mock: cli.entries() == {"dev-org-admin"}),
    ("cli-file-left-behind", (), lambda cli, out, token, mock: cli.exists(f"{CORP}/config")),
    ("cli-dry-run-deletes", ("--dry-run",), lambda cli, out, token, mock: cli.entries() == set()),
    ("cli-dry-run-lists-less", ("--dry-run",), lambda cli, out, token, mock: "Files:" not in out.stdout),
    ("cli-still-listed", (), lambda cli, out, token, mock: cli("list").stdout.startswith("dev-admin")),
])
def test_faults(mock: str, fault: str, args: tuple[str, ...], deviation: object) -> None:
    cli = Cli(mock, fault)
    assert cli("login", "dev-admin").returncode == 0
    token = cli.refresh_token()
    out = cli("logout", "dev-admin", *args)
    assert callable(deviation) and deviation(cli, out, token, mock), (out.stdout, out.stderr)


def test_usage_errors_exit_2(mock: str) -> None:
    cli = Cli(mock)
    assert cli("logout").returncode == 2
    assert cli("logout", "dev-admin", "--all").returncode == 2
    unknown = cli("login", "nobody")
    assert unknown.returncode == 2 and "unknown identity" in unknown.stderr
    assert cli("list", SAMPLE_CLI_FAULTS="no-such-fault").returncode == 2
