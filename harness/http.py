"""HTTP for the harness: one connection pool per run, bounded reads and waits, every exchange recorded."""

from __future__ import annotations

import contextlib
import contextvars
import shlex
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Self
from urllib.parse import urlsplit

import httpx

from harness.errors import TargetError, TargetUnreachable
from harness.redact import REDACTOR

__all__ = [
    "USER_AGENT",
    "Exchange",
    "HttpPool",
    "Recorder",
    "RecordingTransport",
    "Timeouts",
    "current_recorder",
    "recording",
]

USER_AGENT = "logout-conformance/0.1"
#: bodies longer than this are cut in transcripts (after redaction, so no secret is cut in half)
TRANSCRIPT_BODY_LIMIT = 20_000
# curl computes these itself; copying them would break the line once bodies are masked
_CURL_SKIPPED = frozenset({"content-length", "host", "accept-encoding", "connection"})

Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class Timeouts:
    """How long to wait for a connection and for an answer, and how much of an answer to read."""

    connect: float = 3.0
    read: float = 10.0
    max_body: int = 2_000_000

    def httpx(self) -> httpx.Timeout:
        """The same bounds as httpx wants them (writes bounded like reads, pool waits like connects)."""
        return httpx.Timeout(
            connect=self.connect, read=self.read, write=self.read, pool=self.connect
        )


@dataclass
class Exchange:
    """One request and its response as the harness saw them (in clear: redact before showing)."""

    method: str
    url: str
    request_headers: Headers
    request_body: str
    status: int
    response_headers: Headers
    response_body: str
    elapsed_s: float

    def curl(self) -> str:
        """A runnable curl command line that repeats the request, with secrets masked."""
        parts = ["curl", "-X", self.method, REDACTOR.text(self.url)]
        for name, value in self.request_headers:
            if name.lower() not in _CURL_SKIPPED:
                parts += ["-H", f"{name}: {REDACTOR.header(name, value)}"]
        if self.request_body:
            parts += ["--data-raw", REDACTOR.text(self.request_body)]
        return " ".join(shlex.quote(part) for part in parts)

    def transcript(self) -> str:
        """The exchange in HTTP/1.1 form, secrets masked and long bodies cut."""
        url = httpx.URL(self.url)
        target = url.raw_path.decode("ascii", "replace")
        lines = [f"{self.method} {REDACTOR.text(target)} HTTP/1.1"]
        if not any(name.lower() == "host" for name, _ in self.request_headers):
            lines.append(f"Host: {url.netloc.decode('ascii', 'replace')}")
        lines += [f"{n}: {REDACTOR.header(n, v)}" for n, v in self.request_headers]
        lines += ["", _body(self.request_body), ""]
        reason = httpx.codes.get_reason_phrase(self.status)
        lines.append(f"HTTP/1.1 {self.status} {reason}".rstrip())
        lines += [f"{n}: {REDACTOR.header(n, v)}" for n, v in self.response_headers]
        lines += ["", _body(self.response_body)]
        return "\n".join(lines).rstrip("\n") + "\n"


def origin(url: str) -> str:
    """scheme://host[:port] of a URL: where cookies, redirects and pages are said to belong."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _body(body: str) -> str:
    shown = REDACTOR.text(body)
    if len(shown) <= TRANSCRIPT_BODY_LIMIT:
        return shown
    cut = len(shown) - TRANSCRIPT_BODY_LIMIT
    return f"{shown[:TRANSCRIPT_BODY_LIMIT]}\n[… {cut} more characters not shown …]"


class Recorder:
    """The exchanges of one scenario, in the order they happened; appends are thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._exchanges: list[Exchange] = []

    def append(self, exchange: Exchange) -> None:
        with self._lock:
            self._exchanges.append(exchange)

    @property
    def exchanges(self) -> list[Exchange]:
        """A snapshot of what was recorded so far."""
        with self._lock:
            return list(self._exchanges)


#: the recorder of the scenario running in this context, if any
current_recorder: contextvars.ContextVar[Recorder | None] = contextvars.ContextVar(
    "current_recorder", default=None
)


@contextlib.contextmanager
def recording() -> Iterator[Recorder]:
    """Collect the exchanges made within the block: ``with recording() as rec: ...``."""
    recorder = Recorder()
    token = current_recorder.set(recorder)
    try:
        yield recorder
    finally:
        current_recorder.reset(token)


class RecordingTransport(httpx.BaseTransport):
    """Wraps the shared transport: bounds the body, records the exchange, maps errors to harness ones."""

    def __init__(self, inner: httpx.BaseTransport, timeouts: Timeouts) -> None:
        self._inner = inner
        self._timeouts = timeouts

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # messages name the endpoint: a query (a 300-character state, masked hints) would bury it
        url = REDACTOR.text(str(request.url.copy_with(query=None, fragment=None)))
        started = time.monotonic()
        try:
            response = self._inner.handle_request(request)
            try:
                raw, text = self._read(response, request, url)
            finally:
                response.close()
        except httpx.ConnectTimeout as exc:
            raise TargetUnreachable(
                f"cannot connect to {url}: no connection within {self._timeouts.connect} s"
            ) from exc
        except httpx.ConnectError as exc:
            raise TargetUnreachable(f"cannot connect to {url}: {exc}") from exc
        except httpx.TimeoutException as exc:
            raise TargetUnreachable(f"no answer from {url} within {self._timeouts.read} s") from exc
        except httpx.TransportError as exc:
            raise TargetUnreachable(
                f"no usable answer from {url}: {exc or type(exc).__name__}"
            ) from exc
        elapsed = time.monotonic() - started
        # session cookies are secrets wherever they show up later (echoed in pages, logs, URLs)
        for cookie in response.headers.get_list("set-cookie"):
            REDACTOR.add_secret(cookie.partition(";")[0].partition("=")[2].strip('"'))
        recorder = current_recorder.get()
        if recorder is not None:
            recorder.append(
                Exchange(
                    method=request.method,
                    url=str(request.url),
                    request_headers=_header_list(request.headers),
                    request_body=_request_body(request),
                    status=response.status_code,
                    response_headers=_header_list(response.headers),
                    response_body=text,
                    elapsed_s=elapsed,
                )
            )
        # the client decodes the body again from the raw bytes, as for any response
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(raw),
            request=request,
            extensions=response.extensions,
        )

    def _read(
        self, response: httpx.Response, request: httpx.Request, url: str
    ) -> tuple[bytes, str]:
        """The raw body and its decoded text, refusing more than ``max_body`` bytes of either."""
        limit = self._timeouts.max_body
        too_large = TargetError(f"response from {url} larger than {limit} bytes")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large
        raw = bytearray()

        def raw_chunks() -> Iterator[bytes]:
            for chunk in response.iter_raw():
                raw.extend(chunk)
                if len(raw) > limit:
                    raise too_large
                yield chunk

        # decode through a twin response so that a compressed body is bounded once inflated too
        twin = httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_Chunks(raw_chunks()),
            request=request,
        )
        decoded = bytearray()
        try:
            for chunk in twin.iter_bytes():
                decoded.extend(chunk)
                if len(decoded) > limit:
                    raise too_large
        except httpx.DecodingError as exc:
            raise TargetError(f"response from {url} cannot be decoded: {exc}") from exc
        encoding = twin.encoding or "utf-8"
        try:
            text = decoded.decode(encoding, errors="replace")
        except LookupError:  # a charset Python does not know
            text = decoded.decode("utf-8", errors="replace")
        return bytes(raw), text

    def close(self) -> None:
        """Nothing: the shared transport belongs to the pool, which closes it."""


class _Chunks(httpx.SyncByteStream):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks


def _header_list(headers: httpx.Headers) -> Headers:
    # raw items keep the spelling that went over the wire ("Cookie", not "cookie")
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers.raw]


def _request_body(request: httpx.Request) -> str:
    try:
        return request.content.decode("utf-8", errors="replace")
    except httpx.RequestNotRead:
        return "[streamed body, not recorded]"


class HttpPool:
    """One connection pool per run (or xdist worker); hands out light clients sharing it."""

    def __init__(self, timeouts: Timeouts | None = None) -> None:
        self.timeouts = timeouts or Timeouts()
        self._transport = httpx.HTTPTransport()

    def browser(self, mounts: Mapping[str, httpx.BaseTransport] | None = None) -> httpx.Client:
        """A client with its own cookie jar: one browser, one jar, one IdP session.

        ``mounts`` route some origins to in-process apps (the harness's own SAML SPs); their owner
        wraps them in a ``RecordingTransport`` when their exchanges are evidence.
        """
        return self._client(mounts)

    def client(self) -> httpx.Client:
        """A client for back-channel calls (token, revocation, introspection)."""
        return self._client()

    def _client(self, mounts: Mapping[str, httpx.BaseTransport] | None = None) -> httpx.Client:
        return httpx.Client(
            transport=RecordingTransport(self._transport, self.timeouts),
            mounts=dict(mounts) if mounts else None,
            follow_redirects=False,
            timeout=self.timeouts.httpx(),
            headers={"User-Agent": USER_AGENT},
            event_hooks={"response": [_odd_location]},
        )


    def close(self) -> None:
        """Close the shared connections; clients handed out become unusable."""
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class OddLocation(Exception):
    """A redirect whose Location httpx cannot turn into a request (``https:host``): the answer itself.

    httpx builds the next request even when it does not follow redirects, and fails on such values;
    a browser may still follow them, so the caller gets the response to judge.
    """

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"unusable Location {response.headers.get('location', '')[:80]!r}")
        self.response = response


def _odd_location(response: httpx.Response) -> None:
    if not response.has_redirect_location:
        return
    try:
        location = httpx.URL(response.headers["location"])
        if location.scheme and not location.host:
            location.copy_with(host=response.request.url.host)
    except httpx.InvalidURL:
        raise OddLocation(response) from None
