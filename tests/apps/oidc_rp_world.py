"""The sample OIDC RP as its tests run it: the real mock OP, and the app once per set of faults;
browsers that log in; logout tokens and Casdoor notifications made as the OP would make them."""

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from typing import IO, Any
from urllib.parse import parse_qs, urlsplit

import httpx
from joserfc.jwk import ECKey, Key, RSAKey
from joserfc.jws import JWSRegistry

from mock_idp.config import Client, MockConfig, User

from .sample_sp_process import ROOT, START_TIMEOUT, STOP_TIMEOUT, read_ready_line

KEYS = ROOT / "fixtures" / "keys"
RS256_PEM = (KEYS / "mock-op-rs256.key").read_text()
ES256_PEM = (KEYS / "mock-op-es256.key").read_text()
CLIENT_ID = "sample-rp"
CLIENT_SECRET = "sample-rp-secret"
ALICE = User("alice", "alice-pw", "sub-alice", {"name": "Alice", "email": "alice@example.test"})
BOB = User("bob", "bob-pw", "sub-bob", {"name": "Bob"})
EVENT = "http://schemas.openid.net/event/backchannel-logout"
MOCK_READY = "mock-idp listening on "
APP_READY = "sample-oidc-rp listening on "
TIMEOUT = 5.0
# The hidden field of the mock's login form (mock_idp/pages.py fixes its shape).
_INTERACTION = re.compile(r'<input type="hidden" name="interaction" value="([^"]*)">')
# Plain http on loopback: verify=False only spares building a TLS context per client.
BACK_CHANNEL = httpx.Client(timeout=TIMEOUT, verify=False)


def _key(kind: type[RSAKey] | type[ECKey], pem: str) -> Key:
    key = kind.import_key(pem)
    key.ensure_kid()  # the RFC 7638 thumbprint, as the mock computes it
    return key


# The mock OP's own signing keys, shared through oidc_keys_pem.
OP_RS256 = _key(RSAKey, RS256_PEM)
OP_ES256 = _key(ECKey, ES256_PEM)
STRANGER = RSAKey.generate_key(2048, auto_kid=True)


@dataclass(frozen=True)
class Rp:
    """One running app and the mock OP it trusts."""

    url: str
    issuer: str


def reserve_port() -> socket.socket:
    """A port kept from every other use while the socket is open, yet one an app can listen on.

    Linux lets sockets that all set SO_REUSEADDR share a port as long as at most one of them
    listens, and hands a port that has an owner to no bind(0) and no connect(). The app binds with
    SO_REUSEADDR (mock_idp.server.bind), so the mock can know the app's redirect_uri before the app
    runs, and no other process can take the port in between.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class Rps:
    """One mock OP (`python -m mock_idp`) and the apps that trust it (`python -m
    fixtures.apps.oidc_rp`), one per set of faults, each app started on first use."""

    def __init__(self, fault_sets: Iterable[frozenset[str]], stderr: IO[str]) -> None:
        self._stderr = stderr
        self._processes: list[subprocess.Popen[str]] = []
        self._rps: dict[frozenset[str], Rp] = {}
        # Every app's port is known now, so that one mock can have all their redirect_uris.
        self._ports = {faults: reserve_port() for faults in fault_sets}
        redirect_uris = [
            f"http://127.0.0.1:{sock.getsockname()[1]}/callback" for sock in self._ports.values()
        ]
        config = MockConfig(
            clients=[
                Client(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=redirect_uris)
            ],
            users=[ALICE, BOB],
            oidc_keys_pem={"RS256": RS256_PEM, "ES256": ES256_PEM},
        )
        command = [sys.executable, "-m", "mock_idp", "--port", "0"]
        self._mock = self._spawn(command, config.to_json(), {})
        self._issuer: str | None = None

    def __call__(self, *faults: str) -> Rp:
        key = frozenset(faults)
        if key not in self._rps:
            self._rps[key] = self._start(key)
        return self._rps[key]

    def issuer(self) -> str:
        """The mock's URL, once it accepts connections."""
        if self._issuer is None:
            line = read_ready_line(self._mock, START_TIMEOUT)
            assert line.startswith(MOCK_READY), line
            self._issuer = line[len(MOCK_READY) :].strip()
        return self._issuer

    def _start(self, faults: frozenset[str]) -> Rp:
        assert faults in self._ports, f"no port reserved for the faults {sorted(faults)}"
        url = f"http://127.0.0.1:{self._ports[faults].getsockname()[1]}"
        issuer = self.issuer()
        command = [sys.executable, "-m", "fixtures.apps.oidc_rp", "--port", url.rsplit(":", 1)[1]]
        command += ["--issuer", issuer, "--client-id", CLIENT_ID]
        command += ["--faults", ",".join(sorted(faults))]
        app = self._spawn(command, "", {"SAMPLE_OIDC_RP_CLIENT_SECRET": CLIENT_SECRET})
        assert read_ready_line(app, START_TIMEOUT) == f"{APP_READY}{url}\n"
        return Rp(url, issuer)

    def _spawn(self, command: list[str], stdin: str, env: dict[str, str]) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            cwd=ROOT,
            env={**os.environ, **env},
        )
        self._processes.append(process)
        assert process.stdin is not None
        process.stdin.write(stdin)
        process.stdin.close()
        return process

    def stop(self) -> list[int]:
        """Stop them all (SIGTERM, side by side) and return their exit codes."""
        # A mock still starting would die of the signal before it handles it: wait for it first.
        self.issuer()
        for process in self._processes:
            process.terminate()
        codes = [process.wait(timeout=STOP_TIMEOUT) for process in self._processes]
        for sock in self._ports.values():
            sock.close()
        return codes


@contextmanager
def running_rps(fault_sets: Iterable[frozenset[str]], stderr: IO[str]) -> Iterator[Rps]:
    rps = Rps(fault_sets, stderr)
    try:
        yield rps
    finally:
        codes = rps.stop()
        stderr.seek(0)
        output = stderr.read()
        # SIGTERM is the normal way to stop them: a clean exit, and never the secret on show.
        assert codes == [0] * len(codes), output
        assert CLIENT_SECRET not in output


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(data: dict[str, Any]) -> str:
    return b64url(json.dumps(data).encode("utf-8"))


def claims_of(jwt: str) -> dict[str, Any]:
    part = jwt.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return claims


class Browser:
    """One cookie jar, so at most one OP session and one app session."""

    def __init__(self, rp: Rp) -> None:
        self.rp = rp
        self.http = httpx.Client(timeout=TIMEOUT, follow_redirects=True, verify=False)

    def close(self) -> None:
        self.http.close()

    def log_in(self, user: User = ALICE) -> httpx.Response:
        """/login, the OP's login form (unless the OP knows this browser), and /protected."""
        answer = self.http.get(f"{self.rp.url}/login")
        interaction = _INTERACTION.search(answer.text)
        if interaction is not None:
            form = {
                "interaction": unescape(interaction.group(1)),
                "username": user.username,
                "password": user.password,
            }
            answer = self.http.post(f"{self.rp.issuer}/login", data=form)
        assert answer.status_code == 200 and f"Signed in as {user.sub}" in answer.text, answer.text
        return answer

    def signed_in(self) -> bool:
        answer = self.http.get(f"{self.rp.url}/protected", follow_redirects=False)
        assert answer.status_code == 200 or answer.headers["location"] == "/login", answer
        return answer.status_code == 200

    def sid(self) -> str:
        """The sid of this browser's OP session, as the app's ID token has it: the test redeems a
        code of its own, with the client's credentials."""
        authorize = self.http.get(
            f"{self.rp.issuer}/authorize",
            params={
                "response_type": "code",
                "client_id": CLIENT_ID,
                "redirect_uri": f"{self.rp.url}/callback",
                "scope": "openid",
                "prompt": "none",
            },
            follow_redirects=False,
        )
        code = query(authorize.headers["location"])["code"][0]
        answer = BACK_CHANNEL.post(
            f"{self.rp.issuer}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": f"{self.rp.url}/callback",
            },
            auth=(CLIENT_ID, CLIENT_SECRET),
        )
        sid: str = claims_of(answer.json()["id_token"])["sid"]
        return sid


def compact(header: dict[str, Any], claims: dict[str, Any], key: Key | None) -> str:
    """A compact JWS made by hand, so that any header (crit, alg none) can be sent."""
    signing_input = f"{b64url_json(header)}.{b64url_json(claims)}"
    if key is None:
        return f"{signing_input}."
    signature = JWSRegistry.algorithms[header["alg"]].sign(signing_input.encode("ascii"), key)
    return f"{signing_input}.{b64url(signature)}"


def logout_claims(rp: Rp, **claims: Any) -> dict[str, Any]:
    """A valid logout token's claims for alice; a claim given as None is left out."""
    now = int(time.time())
    base = {
        "iss": rp.issuer,
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 120,
        "jti": secrets.token_urlsafe(16),
        "events": {EVENT: {}},
        "sub": ALICE.sub,
    }
    return {name: value for name, value in {**base, **claims}.items() if value is not None}


def logout_token(
    rp: Rp, header: dict[str, Any] | None = None, key: Key | None = OP_RS256, **claims: Any
) -> str:
    """Signed by the mock OP's RS256 key unless told otherwise."""
    if header is None:
        header = {"alg": "RS256", "kid": OP_RS256.kid, "typ": "logout+jwt"}
    return compact(header, logout_claims(rp, **claims), key)


def back_channel_logout(rp: Rp, token: str) -> httpx.Response:
    return BACK_CHANNEL.post(f"{rp.url}/backchannel-logout", data={"logout_token": token})


def notification(
    session_ids: list[str],
    access_token_hashes: list[str] | None = None,
    *,
    secret: str = CLIENT_SECRET,
    **fields: Any,
) -> dict[str, Any]:
    """A Casdoor SSO-logout notification for alice, signed with the client secret."""
    note: dict[str, Any] = {
        "owner": "org",
        "name": ALICE.username,
        "displayName": "Alice",
        "email": "alice@example.test",
        "phone": "",
        "id": ALICE.sub,
        "event": "sso-logout",
        "sessionIds": session_ids,
        "accessTokenHashes": access_token_hashes or [],
        "nonce": secrets.token_urlsafe(16),
        "timestamp": int(time.time()),
        **fields,
    }
    signed = "|".join(
        (
            str(note.get("owner", "")),
            str(note.get("name", "")),
            str(note.get("nonce", "")),
            str(note.get("timestamp", "")),
            ",".join(note.get("sessionIds", [])),
            ",".join(note.get("accessTokenHashes", [])),
        )
    )
    signature = hmac.new(secret.encode(), signed.encode(), hashlib.sha256).hexdigest()
    return {"signature": signature, **note}


def send_notification(rp: Rp, note: dict[str, Any]) -> httpx.Response:
    return BACK_CHANNEL.post(f"{rp.url}/api/logout-webhook", json=note)
