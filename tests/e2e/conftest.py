"""What the end-to-end tests share: the CLI and pytest run as real subprocesses, and local servers.

The harness is run as its users run it (``logout-conformance ...`` or ``pytest --logout-target``),
in a subprocess with a hard timeout, so that a hang fails the test instead of freezing the suite,
and so that every run starts with a fresh process (the redactor and the mock are per process).

Servers that play a broken OpenID Provider are starlette apps served by uvicorn in a thread, on a
socket bound to port 0 beforehand; tests wait for uvicorn's ``started`` through a threading.Event,
never by sleeping. Test modules import the helpers from here (``from .conftest import run_cli``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlencode

import jsonschema
import pytest
import uvicorn
import yaml
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CLI = BIN / "logout-conformance"
MOCK_TARGET = ROOT / "fixtures" / "targets" / "mock.yaml"
ALLURE = ROOT / "node_modules" / ".bin" / "allure"
#: a full run against the mock takes a few seconds; this bound only catches hangs
RUN_TIMEOUT_S = 90.0
SERVER_START_TIMEOUT_S = 10.0
SERVER_STOP_TIMEOUT_S = 10.0
#: the callback base of the targets written here: nothing listens there, the harness never calls it
CALLBACK_BASE = "http://127.0.0.1:9481"

needs_allure = pytest.mark.skipif(not ALLURE.exists(), reason="node_modules/.bin/allure is missing (make setup)")


# --- running the harness --------------------------------------------------------------------------


def clean_env(extra: dict[str, str] | None = None, *, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """This process's environment without what pytest, xdist or a harness run put there.

    A child pytest must not think it is an xdist worker, and a child harness must not pick up the
    issuer of a mock or the verdict of a preflight from a parent run.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "LOGOUT_CONFORMANCE_")) and k not in drop
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["COLUMNS"] = "200"  # pytest's line width; the final table has its own
    env.update(extra or {})
    return env


def _run(command: list[str], env: dict[str, str] | None, timeout: float, cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, cwd=cwd, env=env if env is not None else clean_env(), timeout=timeout,
                              capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
        pytest.fail(f"{' '.join(command)} did not end within {timeout} s; last output:\n{out[-3000:]}",
                    pytrace=False)


def run_cli(*args: str | Path, env: dict[str, str] | None = None, timeout: float = RUN_TIMEOUT_S,
            cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``logout-conformance ARGS`` in a subprocess, with a hard timeout."""
    return _run([str(CLI), *map(str, args)], env, timeout, cwd)


def run_pytest(*args: str | Path, env: dict[str, str] | None = None, timeout: float = RUN_TIMEOUT_S,
               cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``python -m pytest ARGS`` in a subprocess (the harness's plugin loads from its entry point)."""
    return _run([sys.executable, "-m", "pytest", *map(str, args)], env, timeout, cwd)


def run_suite(report_dir: Path, *args: str | Path, env: dict[str, str] | None = None, html: bool = False,
              timeout: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """``logout-conformance run`` without workers (fast and predictable), reports in ``report_dir``."""
    extra = [] if html else ["--no-html"]
    return run_cli("run", "--workers", "0", *extra, "--report-dir", report_dir, *args, env=env, timeout=timeout)


def output(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout + proc.stderr


SUMMARY_SCHEMA = ROOT / "harness" / "schemas" / "summary.schema.json"


def load_summary(report_dir: Path) -> dict[str, Any]:
    """summary.json of a run, validated against its shipped schema (every run of these tests checks it)."""
    data: dict[str, Any] = json.loads((report_dir / "summary.json").read_text("utf-8"))
    schema = json.loads(SUMMARY_SCHEMA.read_text("utf-8"))
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]
    assert not errors, f"{report_dir / 'summary.json'} does not follow its schema: {errors[:5]}"
    return data


@dataclass
class Timed:
    """``with Timed() as t: ...`` then ``t.seconds``."""

    seconds: float = 0.0
    _start: float = field(default=0.0, repr=False)

    def __enter__(self) -> Self:
        self._start = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.monotonic() - self._start


# --- target files ---------------------------------------------------------------------------------


def op_target(path: Path, issuer: str, *, connect: float = 1, read: float = 1, secret_env: str = "E2E_RP1_SECRET",
              two_clients: bool = True, callback_base: str = CALLBACK_BASE, backchannel: bool = False) -> Path:
    """A target file for an OpenID Provider at ``issuer`` (not the mock), with small timeouts; with
    ``backchannel``, its clients have back-channel logout URIs under ``callback_base``."""
    clients = [
        {"id": "rp1", "secret_env": secret_env, "redirect_uri": f"{CALLBACK_BASE}/cb/rp1",
         "post_logout_redirect_uri": f"{CALLBACK_BASE}/logged-out/rp1"},
    ]
    if two_clients:
        clients.append({"id": "rp2", "secret_env": "E2E_RP2_SECRET", "auth_method": "client_secret_post",
                        "redirect_uri": f"{CALLBACK_BASE}/cb/rp2",
                        "post_logout_redirect_uri": f"{CALLBACK_BASE}/logged-out/rp2"})
    if backchannel:
        for client in clients:
            client["backchannel_logout_uri"] = f"{callback_base}/backchannel/{client['id']}"
    data = {
        "name": "end-to-end test OP",
        "roles": ["oidc-op"],
        "oidc": {"issuer": issuer, "clients": clients, "users": [{"username": "alice"}, {"username": "bob"}]},
        "harness": {"callback_base": callback_base},
        "timeouts": {"connect": connect, "read": read},
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    return path


def op_env(**extra: str) -> dict[str, str]:
    """The environment for ``op_target`` files: their secrets set."""
    return clean_env({"E2E_RP1_SECRET": "e2e-rp1-secret-value", "E2E_RP2_SECRET": "e2e-rp2-secret-value", **extra})


# --- local servers --------------------------------------------------------------------------------


class Hold:
    """Lets a handler hang until the test is over: a server that never answers, yet stops cleanly."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._released = False

    async def forever(self) -> None:
        event = asyncio.Event()
        with self._lock:
            if self._released:
                return
            self._waiting.append((asyncio.get_running_loop(), event))
        await event.wait()

    def release(self) -> None:
        with self._lock:
            self._released = True
            waiting, self._waiting = self._waiting, []
        for loop, event in waiting:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)


class _Server(uvicorn.Server):
    """uvicorn that sets a threading.Event once ``started`` (listening), or once it gave up."""

    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self.ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()  # started or not: the waiting test looks at self.started


def _bind() -> tuple[socket.socket, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


Serve = Callable[[Callable[[str], ASGIApp]], str]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """``serve(lambda url: app) -> url``: serves the app (built knowing its own URL) until the test ends."""
    started: list[tuple[_Server, threading.Thread, socket.socket]] = []

    def start(make_app: Callable[[str], ASGIApp]) -> str:
        sock, url = _bind()
        ready = threading.Event()
        config = uvicorn.Config(make_app(url), log_level="critical", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=1)
        server = _Server(config, ready)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                                  name=f"e2e server {url}")
        thread.start()
        started.append((server, thread, sock))
        if not ready.wait(SERVER_START_TIMEOUT_S) or not server.started:
            raise RuntimeError(f"the test server at {url} did not start")
        return url

    yield start
    for server, thread, sock in started:
        server.should_exit = True
        thread.join(SERVER_STOP_TIMEOUT_S)
        sock.close()


@pytest.fixture
def hold() -> Iterator[Hold]:
    """Handlers that must hang await ``hold.forever()``; released when the test ends."""
    holder = Hold()
    yield holder
    holder.release()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A URL whose server accepts connections and never says a word (nor closes them)."""
    listener = socket.create_server(("127.0.0.1", 0))
    wake_read, wake_write = socket.socketpair()
    accepted: list[socket.socket] = []

    def accept_forever() -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(listener, selectors.EVENT_READ)
            selector.register(wake_read, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj is wake_read:
                        return
                    connection, _ = listener.accept()
                    accepted.append(connection)  # held open, never read from nor written to

    thread = threading.Thread(target=accept_forever, daemon=True, name="e2e silent server")
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    wake_write.send(b"x")
    thread.join(SERVER_STOP_TIMEOUT_S)
    for sock in (*accepted, listener, wake_read, wake_write):
        sock.close()


# --- a small OpenID Provider that can misbehave ---------------------------------------------------


@dataclass
class FakeOpBehaviour:
    """How the fake OP misbehaves; the defaults make an OP good enough for the harness to log in."""

    discovery_html: bool = False
    id_token: str = "jwt"  # or a literal value returned as the id_token
    jwks: str = "keys"  # "malformed": not JSON; "closed": jwks_uri on a port nobody listens on
    end_session: Callable[[], Awaitable[None]] | None = None  # awaited before answering


class FakeOp:
    """Discovery, JWKS, an /authorize that redirects straight back with a code, /token, /end-session."""

    def __init__(self, issuer: str, behaviour: FakeOpBehaviour) -> None:
        self.issuer = issuer
        self.behaviour = behaviour
        self.key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, auto_kid=True)
        self.codes: dict[str, dict[str, str]] = {}

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/.well-known/openid-configuration", self.discovery),
            Route("/jwks", self.jwks),
            Route("/authorize", self.authorize),
            Route("/token", self.token, methods=["POST"]),
            Route("/end-session", self.end_session, methods=["GET", "POST"]),
        ])

    async def discovery(self, request: Request) -> Response:
        if self.behaviour.discovery_html:
            return HTMLResponse("<!doctype html><html><body><h1>Welcome to our portal</h1></body></html>")
        return JSONResponse({
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"http://127.0.0.1:{_closed_port()}/jwks" if self.behaviour.jwks == "closed"
            else f"{self.issuer}/jwks",
            "end_session_endpoint": f"{self.issuer}/end-session",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })

    async def jwks(self, request: Request) -> Response:
        if self.behaviour.jwks == "malformed":
            return Response('{"keys": [{"kty": "RSA", "n": ', media_type="application/json")
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def authorize(self, request: Request) -> Response:
        # no login page: the browser is sent straight back with a code (and the state it sent)
        params = request.query_params
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"client_id": params.get("client_id", ""), "nonce": params.get("nonce", "")}
        query = urlencode({"code": code, "state": params.get("state", "")})
        return RedirectResponse(f"{params.get('redirect_uri', '')}?{query}", 302)

    async def token(self, request: Request) -> Response:
        form = await request.form()
        grant = self.codes.pop(str(form.get("code", "")), None)
        if grant is None:
            return JSONResponse({"error": "invalid_grant"}, 400)
        client_id = grant["client_id"] or _basic_user(request)
        id_token = self.behaviour.id_token
        if id_token == "jwt":
            now = int(time.time())
            claims = {"iss": self.issuer, "sub": "alice", "aud": client_id, "iat": now, "exp": now + 300,
                      "nonce": grant["nonce"], "sid": secrets.token_hex(8)}
            id_token = jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key)
        return JSONResponse({"access_token": secrets.token_urlsafe(24), "token_type": "Bearer", "expires_in": 300,
                             "id_token": id_token})

    async def end_session(self, request: Request) -> Response:
        if self.behaviour.end_session is not None:
            await self.behaviour.end_session()
        return HTMLResponse("<p>You are signed out.</p>")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _basic_user(request: Request) -> str:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return ""
    return base64.b64decode(credentials).decode().partition(":")[0]


StartFakeOp = Callable[[FakeOpBehaviour], str]


@pytest.fixture
def fake_op(serve: Serve) -> StartFakeOp:
    """``fake_op(FakeOpBehaviour(...)) -> issuer URL`` of a running fake OP."""

    def start(behaviour: FakeOpBehaviour) -> str:
        return serve(lambda url: FakeOp(url, behaviour).app())

    return start
