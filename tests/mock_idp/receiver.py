"""The RPs' and webhooks' side for the mock's tests: a real HTTP server on 127.0.0.1 that records every POST it gets and answers what each path is told to."""

import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from idp_client import register_client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mock_idp.config import Client
from mock_idp.listening import ReadyServer, bind

TIMEOUT = 5.0
# Requests the mock may still send after the ones a test waited for arrive within this.
QUIET = 0.5


@dataclass(frozen=True)
class Received:
    path: str
    content_type: str
    body: bytes
    # time.monotonic() when it arrived, before it was answered
    at: float

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode(), keep_blank_values=True)

    def json(self) -> Any:
        return json.loads(self.body)

    def logout_token(self) -> str:
        assert self.content_type == "application/x-www-form-urlencoded", self.content_type
        form = self.form()
        assert list(form) == ["logout_token"] and len(form["logout_token"]) == 1, form
        return form["logout_token"][0]


class Receiver:
    def __init__(self) -> None:
        self._sock, self.url = bind("127.0.0.1", 0)
        self._changed = threading.Condition()
        self._received: dict[str, list[Received]] = {}
        self._answers: dict[str, int] = {}
        # Set once the server accepts connections, or when it gave up before that.
        self._settled = threading.Event()
        app = Starlette(routes=[Route("/{path:path}", self._receive, methods=["POST"])])
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off", log_config=None
        )
        self._server = ReadyServer(config, self._settled.set)
        self._thread = threading.Thread(target=self._run, name="receiver", daemon=True)

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        finally:
            self._settled.set()

    def start(self) -> None:
        self._thread.start()
        assert self._settled.wait(TIMEOUT) and self._server.started, "the receiver did not start"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(TIMEOUT)
        self._sock.close()

    def new_path(self, status: int = 200) -> str:
        """A path of its own for one test's RP or webhook, answering with this status."""
        path = f"/r/{secrets.token_hex(8)}"
        self._answers[path] = status
        return path

    async def _receive(self, request: Request) -> Response:
        received = Received(
            request.url.path,
            request.headers.get("content-type", ""),
            await request.body(),
            time.monotonic(),
        )
        with self._changed:
            self._received.setdefault(received.path, []).append(received)
            self._changed.notify_all()
        return Response(status_code=self._answers.get(received.path, 200))

    def at(self, path: str) -> list[Received]:
        """What the path got so far, in order."""
        with self._changed:
            return list(self._received.get(path, []))

    def arrived(self, path: str, count: int, timeout: float) -> bool:
        """Whether the path got at least count requests within timeout (waited on, not polled)."""
        with self._changed:
            return self._changed.wait_for(
                lambda: len(self._received.get(path, [])) >= count, timeout
            )

    def wait(self, path: str, count: int, timeout: float = TIMEOUT) -> list[Received]:
        """The path's requests once there are count of them; fails if they do not come."""
        assert self.arrived(path, count, timeout), f"{path}: {len(self.at(path))} of {count}"
        return self.at(path)


@dataclass(frozen=True)
class Rp:
    """A client registered at a running mock whose back-channel logout URI is a receiver path."""

    client: Client
    path: str


def register_rp(base_url: str, receiver: Receiver, status: int = 200, **fields: Any) -> Rp:
    """Register a new RP at the mock (the run-time hook); its receiver path answers status."""
    path = receiver.new_path(status)
    client = Client(
        client_id="rp-" + secrets.token_hex(6),
        client_secret=secrets.token_urlsafe(16),
        redirect_uris=["http://rp.test/cb"],
        backchannel_logout_uri=receiver.url + path,
        **fields,
    )
    answer = register_client(base_url, client)
    assert answer.status_code == 201, answer.text
    return Rp(client, path)
