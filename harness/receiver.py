"""The harness's callback receiver for logout tokens and notifications: https://openid.net/specs/openid-connect-backchannel-1_0.html#BCRequest

One real HTTP server per run, started in the controller process, hosts every callback endpoint the
target calls (``/backchannel/rp1``, ``/casdoor/rp1``, thousands of them: it routes by path, not by
route). It records every request outside ``/_harness/`` and answers 200 (or the status ``answers``
names for that exact path), always with ``Cache-Control: no-store``. Workers in other processes
read the records through the control API, a long poll::

    GET /_harness/received?after=SEQ&prefix=/backchannel/&wait=SECONDS
    -> {"last": N, "next": M, "dropped": D, "records": [...]}

``records`` are those with a seq above ``after`` under ``prefix``, in arrival order; when there are
none yet, the answer waits (at most ``wait``, capped at 30 s) until one arrives. An answer holds
about a megabyte at most: ``next`` is the seq it got to, where the next page starts (``next`` <
``last`` while more are waiting). ``dropped`` counts requests refused because the store was full.

Errors::

    HarnessError
    └── ReceiverError   the receiver cannot listen on its address, stopped answering, or answered
                        something that is not its control API (the run is broken, the target not
                        at fault)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Self

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from harness.errors import HarnessError, TargetError, TargetUnreachable
from harness.http import current_recorder
from mock_idp.listening import ReadyServer, bind

__all__ = [
    "CONTROL_PREFIX",
    "CallbackReceiver",
    "Received",
    "ReceiverClient",
    "ReceiverError",
]

#: paths under this prefix are the control API: never recorded
CONTROL_PREFIX = "/_harness/"
RECEIVED_PATH = CONTROL_PREFIX + "received"
#: the longest a control request waits for a record
MAX_WAIT = 30.0
#: a control answer stops adding records past this size: well below the harness client's 2 MB bound
PAGE_BYTES = 1_000_000
#: what the store keeps at most (encoded records); past it requests are refused with 503
MAX_STORED_BYTES = 256 * 1024 * 1024
#: a sender that has not finished its body within this is answered 408
BODY_TIMEOUT = 10.0
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
# the client's bounds: to connect, and beyond the server-side wait for the answer to come
_CONNECT_TIMEOUT = 3.0
_ANSWER_MARGIN = 5.0
_NO_STORE = {"Cache-Control": "no-store"}


class ReceiverError(HarnessError):
    """The callback receiver cannot listen, stopped answering, or answered nonsense; says where."""


@dataclass(frozen=True)
class Received:
    """One request the receiver recorded (in clear: redact before showing)."""

    #: 1, 2, 3... in the order requests were complete, over the whole receiver
    seq: int
    method: str
    path: str
    #: the raw query string, without the "?"
    query: str
    #: (lower-case name, value) pairs in the order received, repeats kept
    headers: tuple[tuple[str, str], ...]
    #: the body as utf-8 text (undecodable bytes replaced); empty when it was refused (413, 408)
    body: str
    #: the body's length in bytes; for a 413 as declared or as far as read, for a 408 0
    length: int
    content_type: str | None
    #: time.time() when the request arrived
    received_at: float
    #: the HTTP status the receiver answered
    status: int

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key == wanted), None)

    @classmethod
    def from_json(cls, data: Any) -> Received:
        """A record from its JSON form in a control answer."""
        try:
            return cls(
                seq=int(data["seq"]),
                method=str(data["method"]),
                path=str(data["path"]),
                query=str(data["query"]),
                headers=tuple((str(name), str(value)) for name, value in data["headers"]),
                body=str(data["body"]),
                length=int(data["length"]),
                content_type=None if data["content_type"] is None else str(data["content_type"]),
                received_at=float(data["received_at"]),
                status=int(data["status"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ReceiverError(f"not a record of the callback receiver: {exc!r}") from exc


class _Store:
    """The records, kept encoded (a poll joins them, it never re-encodes); used on the server's loop only."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.dropped = 0
        self.closed = False
        #: (path, JSON text) of the record with seq i + 1
        self.entries: list[tuple[str, str]] = []
        # set and replaced on every record: a waiter takes the current one, then awaits it
        self.changed = asyncio.Event()

    def has_room(self) -> bool:
        return self.size < self.max_bytes

    def add(self, record: Received) -> None:
        encoded = json.dumps(asdict(record), separators=(",", ":"))
        self.entries.append((record.path, encoded))
        self.size += len(encoded)
        self._wake()

    def close(self) -> None:
        """End every pending poll: the server is stopping."""
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    def select(self, after: int, prefix: str) -> tuple[list[str], int]:
        """The encoded records above seq ``after`` under ``prefix`` (one page), and the seq scanned to."""
        chosen: list[str] = []
        size = 0
        for index in range(max(after, 0), len(self.entries)):
            path, encoded = self.entries[index]
            if not path.startswith(prefix):
                continue
            if chosen and size + len(encoded) > PAGE_BYTES:
                return chosen, index  # seq index + 1 starts the next page
            chosen.append(encoded)
            size += len(encoded)
        return chosen, len(self.entries)


class _Recorder:
    """The ASGI endpoint behind every path outside the control API: record, then answer."""

    def __init__(self, store: _Store, answers: Mapping[str, int], max_body: int) -> None:
        self.store = store
        self.answers = dict(answers)
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if path.startswith(CONTROL_PREFIX):
            await Response(status_code=404, headers=_NO_STORE)(scope, receive, send)
            return
        if not self.store.has_room():
            # answering 503 (a retryable error) rather than keeping what cannot be kept; pollers
            # see "dropped" and stop the run as broken instead of reporting a missing delivery
            self.store.dropped += 1
            await Response(status_code=503, headers=_NO_STORE)(scope, receive, send)
            return
        received_at = time.time()
        headers = tuple(
            (name.decode("latin-1").lower(), value.decode("latin-1"))
            for name, value in scope["headers"]
        )
        try:
            async with asyncio.timeout(BODY_TIMEOUT):
                read = await self._read(headers, receive)
        except TimeoutError:
            read = (b"", 0, 408)
        if read is None:
            return  # the sender went away before its body was complete: there is no request
        body, length, refused = read
        status = refused or self.answers.get(path, 200)
        self.store.add(
            Received(
                seq=len(self.store.entries) + 1,
                method=scope["method"],
                path=path,
                query=scope["query_string"].decode("utf-8", errors="replace"),
                headers=headers,
                body=body.decode("utf-8", errors="replace"),
                length=length,
                content_type=next((v for k, v in headers if k == "content-type"), None),
                received_at=received_at,
                status=status,
            )
        )
        # recorded before answering: a sender that has its answer finds its record in place
        await Response(status_code=status, headers=_NO_STORE)(scope, receive, send)

    async def _read(
        self, headers: tuple[tuple[str, str], ...], receive: Receive
    ) -> tuple[bytes, int, int] | None:
        """Body, length and 413 when refused (else 0); None if the sender left half-way."""
        declared = next((v for k, v in headers if k == "content-length"), "")
        if declared.isdigit() and int(declared) > self.max_body:
            return b"", int(declared), 413
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return b"", size, 413
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), size, 0


def _seconds(text: str | None) -> float:
    """A wait parameter: absent is 0; ValueError when it is not a finite number."""
    if text is None:
        return 0.0
    value = float(text)  # ValueError for the caller
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _app(store: _Store, answers: Mapping[str, int], max_body: int) -> Starlette:
    async def received(request: Request) -> Response:
        try:
            after = int(request.query_params.get("after", "0"))
            wait = min(max(_seconds(request.query_params.get("wait")), 0.0), MAX_WAIT)
        except ValueError:
            return Response(
                '{"error":"after must be an integer, wait a number of seconds"}',
                status_code=400,
                media_type="application/json",
                headers=_NO_STORE,
            )
        prefix = request.query_params.get("prefix", "/")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            changed = store.changed  # taken before the scan: a record added after it sets this one
            chosen, scanned = store.select(after, prefix)
            remaining = deadline - loop.time()
            if chosen or store.closed or remaining <= 0:
                break
            after = scanned  # nothing up to here matched: the next scan starts past it
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)
        if store.closed:
            # an error, not an empty page: a poller must not take "stopping" for "nothing came"
            return Response(status_code=503, headers=_NO_STORE)
        body = (
            f'{{"last":{len(store.entries)},"next":{scanned},"dropped":{store.dropped},'
            f'"records":[{",".join(chosen)}]}}'
        )
        return Response(body, media_type="application/json", headers=_NO_STORE)

    return Starlette(
        routes=[
            Route(RECEIVED_PATH, received, methods=["GET"]),
            # an ASGI object as endpoint: Starlette passes it every method, not only GET
            Route("/{path:path}", _Recorder(store, answers, max_body)),
        ]
    )


class CallbackReceiver:
    """The receiver, served by uvicorn from a thread of this process; ``start()`` gives its base URL."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        answers: Mapping[str, int] | None = None,
        max_body: int = 65536,
        max_stored_bytes: int = MAX_STORED_BYTES,
    ) -> None:
        self.host = host
        self.port = port
        self.url = ""
        self._store = _Store(max_stored_bytes)
        self._app = _app(self._store, answers or {}, max_body)
        self._settled = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: ReadyServer | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    def start(self, timeout: float = START_TIMEOUT) -> str:
        """Listen and serve; the base URL (``http://127.0.0.1:PORT``) once connections are accepted."""
        address = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        try:
            sock, self.url = bind(self.host, self.port)
        except OSError as exc:
            raise ReceiverError(
                f"the callback receiver cannot listen on {address}: {exc.strerror or exc}"
            ) from exc
        config = uvicorn.Config(
            self._app,
            log_level="warning",
            log_config=None,  # the host process's logging is not ours to change
            access_log=False,
            lifespan="off",
            ws="none",
            # fan-out logouts deliver thousands of tokens at once; the bound only stops a flood
            limit_concurrency=4096,
            backlog=4096,
            timeout_graceful_shutdown=2,
        )
        self._server = ReadyServer(config, on_started=self._started)
        self._thread = threading.Thread(
            target=self._run, args=(self._server, sock), name=f"receiver {self.url}", daemon=True
        )
        self._thread.start()
        if not self._settled.wait(timeout) or not self._server.started:
            self.stop()
            why = f": {self._failure!r}" if self._failure else f" within {timeout:g} s"
            raise ReceiverError(f"the callback receiver at {self.url} did not start{why}")
        return self.url

    def _started(self) -> None:
        # called on the server's loop once it accepts connections: stop() wakes polls through it
        self._loop = asyncio.get_running_loop()
        self._settled.set()

    def _run(self, server: ReadyServer, sock: Any) -> None:
        try:
            with sock:
                server.run(sockets=[sock])
        except BaseException as exc:  # noqa: BLE001 -- uvicorn exits (SystemExit) when it cannot serve
            self._failure = exc
        finally:
            self._settled.set()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """End pending polls, stop serving and wait (bounded) for the thread; safe to call twice."""
        if self._server is None or self._thread is None:
            return
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                self._loop.call_soon_threadsafe(self._store.close)
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@dataclass(frozen=True)
class _Page:
    last: int
    next: int
    records: list[Received]


class ReceiverClient:
    """Reads the receiver's records over HTTP, from any process (pytest-xdist workers)."""

    def __init__(self, http: httpx.Client, base_url: str) -> None:
        self._http = http
        self._url = base_url.rstrip("/") + RECEIVED_PATH
        self._base = base_url.rstrip("/")

    def wait_for(
        self, prefix: str, predicate: Callable[[Received], bool], count: int, timeout: float
    ) -> list[Received]:
        """Records under ``prefix`` that satisfy ``predicate``, in arrival order, once there are
        ``count`` of them or ``timeout`` seconds have passed (then maybe fewer)."""
        return self._collect(prefix, predicate, count, timeout)

    def quiet(
        self, prefix: str, predicate: Callable[[Received], bool], window: float
    ) -> list[Received]:
        """Every record under ``prefix`` satisfying ``predicate`` by the end of a ``window`` of
        seconds (those already there included): for "nothing more may arrive" checks."""
        return self._collect(prefix, predicate, None, window)

    def _collect(
        self,
        prefix: str,
        predicate: Callable[[Received], bool],
        count: int | None,
        timeout: float,
    ) -> list[Received]:
        deadline = time.monotonic() + timeout
        matched: list[Received] = []
        after = 0
        while True:
            enough = count is not None and len(matched) >= count
            remaining = max(deadline - time.monotonic(), 0.0)
            # once enough are in, only pages already waiting are read (wait 0)
            page = self._poll(after, prefix, 0.0 if enough else remaining)
            after = page.next
            matched.extend(record for record in page.records if predicate(record))
            drained = page.next >= page.last
            done = count is not None and len(matched) >= count
            if drained and (done or time.monotonic() >= deadline):
                return matched

    def _poll(self, after: int, prefix: str, wait: float) -> _Page:
        where = f"the callback receiver at {self._base}"
        # the harness talking to itself is not evidence of the target: keep it out of transcripts
        token = current_recorder.set(None)
        try:
            response = self._http.get(
                self._url,
                params={"after": str(after), "prefix": prefix, "wait": f"{wait:.3f}"},
                timeout=httpx.Timeout(wait + _ANSWER_MARGIN, connect=_CONNECT_TIMEOUT),
            )
        except (httpx.TransportError, TargetUnreachable, TargetError) as exc:
            raise ReceiverError(f"{where} does not answer (is the run's receiver up?): {exc}") from exc
        finally:
            current_recorder.reset(token)
        if response.status_code == 503:
            raise ReceiverError(f"{where} is stopping")
        if response.status_code != 200:
            raise ReceiverError(f"{where} answered HTTP {response.status_code} to {self._url}")
        try:
            data = response.json()
            page = _Page(
                int(data["last"]),
                int(data["next"]),
                [Received.from_json(item) for item in data["records"]],
            )
            dropped = int(data["dropped"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ReceiverError(f"{where} answered something else than its records: {exc!r}") from exc
        if dropped:
            raise ReceiverError(
                f"{where} refused {dropped} request(s): its store is full, so deliveries may be missing"
            )
        return page
