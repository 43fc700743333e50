"""Tests of harness.http against real servers on 127.0.0.1: recording, cookie jars, bounds, errors."""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from harness.errors import TargetError, TargetUnreachable
from harness.http import USER_AGENT, HttpPool, Timeouts, current_recorder, recording
from harness.redact import mask

LIMIT = 1000


async def echo(request: Request) -> Response:
    body = (await request.body()).decode()
    return JSONResponse(
        {"cookies": request.cookies, "body": body, "ua": request.headers["user-agent"]}
    )


async def login(request: Request) -> Response:
    response = PlainTextResponse("ok")
    response.set_cookie("sid", request.query_params["who"], path="/", httponly=True)
    return response


async def big(request: Request) -> Response:
    return PlainTextResponse("x" * (LIMIT + 1))


async def big_streamed(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(50):
            yield b"y" * 100

    return StreamingResponse(chunks(), media_type="text/plain")


async def bomb(request: Request) -> Response:
    packed = gzip.compress(b"z" * (LIMIT * 50))
    return Response(packed, headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"})


async def redirect(request: Request) -> Response:
    return Response(status_code=302, headers={"Location": "/echo"})


APP = Starlette(
    routes=[
        Route("/echo", echo, methods=["GET", "POST"]),
        Route("/login", login),
        Route("/big", big),
        Route("/big-streamed", big_streamed),
        Route("/bomb", bomb),
        Route("/redirect", redirect),
    ]
)


class _Server(uvicorn.Server):
    """A uvicorn server that tells when it is listening."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = _Server(
        uvicorn.Config(APP, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert server.ready.wait(timeout=10), "test server did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def pool() -> Iterator[HttpPool]:
    with HttpPool(Timeouts(connect=2.0, read=1.0, max_body=LIMIT)) as p:
        yield p


def test_exchanges_are_recorded(base_url: str, pool: HttpPool) -> None:
    client = pool.client()
    with recording() as rec:
        response = client.post(f"{base_url}/echo", data={"password": "hunter2-secret", "user": "a"})
    assert response.json()["body"] == "password=hunter2-secret&user=a"
    assert response.json()["ua"] == USER_AGENT
    (exchange,) = rec.exchanges
    assert exchange.method == "POST"
    assert exchange.url == f"{base_url}/echo"
    assert exchange.status == 200
    assert exchange.request_body == "password=hunter2-secret&user=a"
    assert '"body":"password=hunter2-secret&user=a"' in exchange.response_body
    assert exchange.elapsed_s >= 0
    assert current_recorder.get() is None


def test_nothing_recorded_outside_recording(base_url: str, pool: HttpPool) -> None:
    with recording() as rec:
        pass
    pool.client().get(f"{base_url}/echo")
    assert rec.exchanges == []


def test_redirects_are_not_followed(base_url: str, pool: HttpPool) -> None:
    with recording() as rec:
        response = pool.browser().get(f"{base_url}/redirect")
    assert response.status_code == 302
    assert [e.status for e in rec.exchanges] == [302]


def test_browsers_have_separate_jars_on_one_transport(base_url: str, pool: HttpPool) -> None:
    alice, bob = pool.browser(), pool.browser()
    alice.get(f"{base_url}/login", params={"who": "alice"})
    bob.get(f"{base_url}/login", params={"who": "bob"})
    assert alice.get(f"{base_url}/echo").json()["cookies"] == {"sid": "alice"}
    assert bob.get(f"{base_url}/echo").json()["cookies"] == {"sid": "bob"}
    # closing a client leaves the shared pool usable for the others
    alice.close()
    assert bob.get(f"{base_url}/echo").status_code == 200


def test_curl_and_transcript_are_redacted(base_url: str, pool: HttpPool) -> None:
    browser = pool.browser()
    browser.get(f"{base_url}/login", params={"who": "s3ss10n-value"})
    with recording() as rec:
        browser.post(
            f"{base_url}/echo?id_token_hint=eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.",
            data={"client_secret": "very-secret-1"},
            headers={"Authorization": "Basic Y2xpZW50OnNlY3JldA=="},
        )
    (exchange,) = rec.exchanges
    curl = exchange.curl()
    assert curl.startswith("curl -X POST ")
    assert f"-H 'Cookie: sid={mask('s3ss10n-value')}'" in curl
    assert f"--data-raw 'client_secret={mask('very-secret-1')}'" in curl
    assert f"'Authorization: Basic {mask('Y2xpZW50OnNlY3JldA==')}'" in curl
    assert "Content-Length" not in curl
    transcript = exchange.transcript()
    assert transcript.startswith("POST /echo?id_token_hint=«masked sha256:")
    assert "HTTP/1.1 200 OK" in transcript
    for text in (curl, transcript):
        assert "s3ss10n-value" not in text
        assert "very-secret-1" not in text
        assert "eyJ" not in text


def test_transcript_cuts_long_bodies(base_url: str) -> None:
    with HttpPool(Timeouts(max_body=100_000)) as big_pool, recording() as rec:
        big_pool.client().post(f"{base_url}/echo", content="q" * 30_000)
    transcript = rec.exchanges[0].transcript()
    assert "more characters not shown" in transcript
    assert len(transcript) < 45_000


@pytest.mark.parametrize("path", ["/big", "/big-streamed", "/bomb"])
def test_oversize_body_is_refused(base_url: str, pool: HttpPool, path: str) -> None:
    with pytest.raises(TargetError, match=f"larger than {LIMIT} bytes"):
        pool.client().get(f"{base_url}{path}")


def test_compressed_body_is_decoded(base_url: str) -> None:
    with HttpPool(Timeouts(max_body=LIMIT * 100)) as big_pool, recording() as rec:
        response = big_pool.client().get(f"{base_url}/bomb")
    assert response.text == "z" * (LIMIT * 50)
    assert rec.exchanges[0].response_body == response.text


def test_silent_server_is_unreachable_within_bound(pool: HttpPool) -> None:
    # listens (so the connection is accepted by the kernel) and never answers
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(
            TargetUnreachable, match=r"no answer from http://127\.0\.0\.1:\d+/ within 1\.0 s"
        ):
            pool.client().get(f"http://127.0.0.1:{port}/")
        assert time.monotonic() - started < 3


def test_closed_port_is_unreachable(pool: HttpPool) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TargetUnreachable, match=f"cannot connect to http://127.0.0.1:{port}/x"):
        pool.client().get(f"http://127.0.0.1:{port}/x")
