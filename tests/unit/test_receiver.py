"""Tests of harness.receiver: a real receiver on 127.0.0.1, posted to from threads, read over HTTP."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import httpx
import pytest

from harness.errors import HarnessError
from harness.http import HttpPool, recording
from harness.receiver import CallbackReceiver, Received, ReceiverClient, ReceiverError

MAX_BODY = 4096
ANSWERS = {"/answers/failing": 500, "/answers/empty": 204}


def anything(record: Received) -> bool:
    return True


@pytest.fixture(scope="module")
def receiver() -> Iterator[CallbackReceiver]:
    with CallbackReceiver("127.0.0.1", 0, answers=ANSWERS, max_body=MAX_BODY) as running:
        yield running


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


@pytest.fixture
def client(receiver: CallbackReceiver, http: httpx.Client) -> ReceiverClient:
    return ReceiverClient(http, receiver.url)


def test_base_url(receiver: CallbackReceiver) -> None:
    assert receiver.url.startswith("http://127.0.0.1:")
    assert int(receiver.url.rsplit(":", 1)[1]) > 0


def test_records_form_and_json_from_threads(
    receiver: CallbackReceiver, client: ReceiverClient
) -> None:
    started = time.time()

    def post(n: int) -> list[httpx.Response]:
        with httpx.Client(base_url=receiver.url, timeout=10) as sender:
            return [
                sender.post(f"/threads/backchannel/rp{n}", data={"logout_token": f"token-{n}"}),
                sender.post(f"/threads/casdoor/rp{n}?tenant=a&n={n}", json={"action": "logout", "n": n}),
            ]

    with ThreadPoolExecutor(8) as pool:
        answers = [r for batch in pool.map(post, range(8)) for r in batch]
    finished = time.time()
    for answer in answers:
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "no-store"
        assert answer.content == b""

    records = client.wait_for("/threads/", anything, 16, timeout=10)
    assert len(records) == 16
    seqs = [r.seq for r in records]
    assert seqs == sorted(seqs) and len(set(seqs)) == 16
    forms = {r.path: r for r in records if "/backchannel/" in r.path}
    hooks = {r.path: r for r in records if "/casdoor/" in r.path}
    for n in range(8):
        form = forms[f"/threads/backchannel/rp{n}"]
        assert form.method == "POST" and form.query == "" and form.status == 200
        assert form.body == f"logout_token=token-{n}" and form.length == len(form.body)
        assert form.content_type == "application/x-www-form-urlencoded"
        assert form.header("Content-Type") == form.content_type
        assert all(name == name.lower() for name, _ in form.headers)
        assert started <= form.received_at <= finished
        hook = hooks[f"/threads/casdoor/rp{n}"]
        assert hook.query == f"tenant=a&n={n}"
        assert json.loads(hook.body) == {"action": "logout", "n": n}
        assert hook.content_type == "application/json"
        assert hook.header("content-length") == str(hook.length)


def test_body_that_is_not_utf8(receiver: CallbackReceiver, client: ReceiverClient) -> None:
    httpx.post(receiver.url + "/bytes/x", content=b"ok\xff", headers={"content-type": "text/plain"})
    [record] = client.wait_for("/bytes/", anything, 1, timeout=10)
    assert record.body == "ok\ufffd" and record.length == 3


def test_control_paths_are_not_recorded(receiver: CallbackReceiver, client: ReceiverClient) -> None:
    assert httpx.post(receiver.url + "/_harness/other", data={"a": "b"}).status_code == 404
    assert httpx.post(receiver.url + "/_harness/received").status_code == 404
    assert client.quiet("/_harness/", anything, 0.0) == []


def test_too_large(receiver: CallbackReceiver, client: ReceiverClient) -> None:
    declared = httpx.post(receiver.url + "/large/declared", content=b"x" * (MAX_BODY + 1))
    assert declared.status_code == 413
    assert declared.headers["cache-control"] == "no-store"

    def chunks() -> Iterator[bytes]:
        for _ in range(5):
            yield b"y" * 1000

    streamed = httpx.post(receiver.url + "/large/streamed", content=chunks())
    assert streamed.status_code == 413
    exact = httpx.post(receiver.url + "/large/exact", content=b"z" * MAX_BODY)
    assert exact.status_code == 200

    records = {r.path: r for r in client.wait_for("/large/", anything, 3, timeout=10)}
    assert records["/large/declared"].status == 413
    assert records["/large/declared"].length == MAX_BODY + 1
    assert records["/large/declared"].body == ""
    assert records["/large/streamed"].status == 413
    assert MAX_BODY < records["/large/streamed"].length <= 5000
    assert records["/large/streamed"].body == ""
    assert records["/large/exact"].length == MAX_BODY
    assert records["/large/exact"].body == "z" * MAX_BODY


def test_answers_by_exact_path(receiver: CallbackReceiver, client: ReceiverClient) -> None:
    assert httpx.post(receiver.url + "/answers/failing", data={"a": "1"}).status_code == 500
    empty = httpx.post(receiver.url + "/answers/empty", data={"a": "1"})
    assert empty.status_code == 204 and empty.headers["cache-control"] == "no-store"
    assert httpx.post(receiver.url + "/answers/failing/not", data={"a": "1"}).status_code == 200
    assert httpx.get(receiver.url + "/answers/failing?x=1").status_code == 500
    records = client.wait_for("/answers/", anything, 4, timeout=10)
    assert [(r.method, r.path, r.status) for r in records] == [
        ("POST", "/answers/failing", 500),
        ("POST", "/answers/empty", 204),
        ("POST", "/answers/failing/not", 200),
        ("GET", "/answers/failing", 500),
    ]


def test_long_poll_returns_when_a_record_arrives(
    receiver: CallbackReceiver, client: ReceiverClient
) -> None:
    """The poll is waiting when the record it wants comes: it returns then, not at its deadline."""
    first_seen = threading.Event()
    result: list[Received] = []
    elapsed: list[float] = []

    def wanted(record: Received) -> bool:
        first_seen.set()  # the client is in its loop: its next poll waits for /poll/b
        return record.path == "/poll/b"

    def poll() -> None:
        started = time.monotonic()
        result.extend(client.wait_for("/poll/", wanted, 1, timeout=20))
        elapsed.append(time.monotonic() - started)

    poller = threading.Thread(target=poll)
    poller.start()
    httpx.post(receiver.url + "/poll/a")
    assert first_seen.wait(10)
    httpx.post(receiver.url + "/poll/b")
    poller.join(20)
    assert not poller.is_alive()
    assert [r.path for r in result] == ["/poll/b"]
    assert elapsed[0] < 10  # far from its 20 s deadline


def test_long_poll_gives_up_at_its_deadline(client: ReceiverClient) -> None:
    started = time.monotonic()
    assert client.wait_for("/nothing-here/", anything, 1, timeout=0.3) == []
    assert time.monotonic() - started >= 0.3


def test_raw_control_api(receiver: CallbackReceiver, http: httpx.Client) -> None:
    http.post(receiver.url + "/raw/one", content=b"1")
    answer = http.get(receiver.url + "/_harness/received", params={"prefix": "/raw/", "wait": "5"})
    data = answer.json()
    assert answer.headers["cache-control"] == "no-store"
    assert [r["path"] for r in data["records"]] == ["/raw/one"]
    assert data["next"] == data["last"] >= data["records"][0]["seq"]
    assert data["dropped"] == 0
    after = data["records"][0]["seq"]
    later = http.get(receiver.url + "/_harness/received", params={"prefix": "/raw/", "after": after})
    assert later.json()["records"] == []
    for bad in ({"after": "x"}, {"wait": "nan"}):
        assert http.get(receiver.url + "/_harness/received", params=bad).status_code == 400


def test_quiet_collects_what_arrives_in_the_window(
    receiver: CallbackReceiver, client: ReceiverClient
) -> None:
    httpx.post(receiver.url + "/quiet/a")
    saw_a = threading.Event()
    result: list[Received] = []
    elapsed: list[float] = []

    def mine(record: Received) -> bool:
        saw_a.set()
        return record.path != "/quiet/other"

    def watch() -> None:
        started = time.monotonic()
        result.extend(client.quiet("/quiet/", mine, window=1.0))
        elapsed.append(time.monotonic() - started)

    watcher = threading.Thread(target=watch)
    watcher.start()
    assert saw_a.wait(10)
    httpx.post(receiver.url + "/quiet/other")
    httpx.post(receiver.url + "/quiet/b")
    watcher.join(10)
    assert not watcher.is_alive()
    assert [r.path for r in result] == ["/quiet/a", "/quiet/b"]
    assert elapsed[0] >= 1.0  # it watched the whole window


def test_many_records_in_pages(receiver: CallbackReceiver) -> None:
    """2000 deliveries of ~1 KB from threads all come back, through the harness's bounded client."""
    total = 2000

    def post(batch: int) -> list[int]:
        with httpx.Client(base_url=receiver.url, timeout=10) as sender:
            return [
                sender.post(
                    f"/bulk/rp{n}",
                    content=urlencode({"logout_token": f"{n:05d}" + "t" * 1000}),
                    headers={"content-type": "application/x-www-form-urlencoded"},
                ).status_code
                for n in range(batch, total, 8)
            ]

    with ThreadPoolExecutor(8) as pool:
        statuses = [s for batch in pool.map(post, range(8)) for s in batch]
    assert statuses == [200] * total
    # the pool's client refuses answers over 2 MB: the receiver must page
    with HttpPool() as pool_http, recording() as recorder:
        records = ReceiverClient(pool_http.client(), receiver.url).wait_for(
            "/bulk/", anything, total, timeout=30
        )
    assert recorder.exchanges == []  # polling the receiver is not evidence of the target
    assert len(records) == total
    assert {r.path for r in records} == {f"/bulk/rp{n}" for n in range(total)}
    assert all(r.body.endswith("t" * 1000) and r.length == len(r.body) for r in records)
    seqs = [r.seq for r in records]
    assert seqs == sorted(seqs)


def test_a_client_that_never_reads_does_not_block_recording(
    receiver: CallbackReceiver, client: ReceiverClient
) -> None:
    port = int(receiver.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as stalled:
        stalled.sendall(
            b"GET /_harness/received?prefix=/&wait=30 HTTP/1.1\r\nHost: x\r\n\r\n"
        )  # and never reads its answer
        assert httpx.post(receiver.url + "/unblocked/x", data={"a": "b"}).status_code == 200
        assert [r.path for r in client.wait_for("/unblocked/", anything, 1, timeout=10)] == [
            "/unblocked/x"
        ]


def test_full_store_refuses_and_pollers_are_told(http: httpx.Client) -> None:
    with CallbackReceiver(max_stored_bytes=1) as small:
        assert http.post(small.url + "/full/a", content=b"a").status_code == 200
        assert http.post(small.url + "/full/b", content=b"b").status_code == 503
        with pytest.raises(ReceiverError, match="refused 1 request"):
            ReceiverClient(http, small.url).wait_for("/full/", anything, 1, timeout=5)


def test_port_busy() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        receiver = CallbackReceiver("127.0.0.1", port)
        with pytest.raises(ReceiverError, match=f"cannot listen on 127.0.0.1:{port}"):
            receiver.start()
        receiver.stop()  # nothing to stop: no error either


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("kind", ["plain", "harness pool"])
def test_dead_receiver(kind: str) -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    with HttpPool() as pool, httpx.Client() as plain:
        http = plain if kind == "plain" else pool.client()
        with pytest.raises(ReceiverError) as info:
            ReceiverClient(http, base).wait_for("/x/", anything, 1, timeout=1)
    assert isinstance(info.value, HarnessError)
    assert f"the callback receiver at {base} does not answer" in str(info.value)


def test_not_a_receiver(receiver: CallbackReceiver, http: httpx.Client) -> None:
    """A base URL that is something else (here: a recorded path) is told apart from a receiver."""
    with pytest.raises(ReceiverError, match="answered something else"):
        ReceiverClient(http, receiver.url + "/elsewhere").wait_for("/", anything, 1, timeout=1)


def test_stop_ends_pending_polls(http: httpx.Client) -> None:
    own = CallbackReceiver()
    own.start()
    in_loop = threading.Event()
    outcome: list[BaseException | list[Received]] = []

    def mine(record: Received) -> bool:
        in_loop.set()
        return False

    def watch() -> None:
        try:
            outcome.append(ReceiverClient(http, own.url).quiet("/s/", mine, window=25))
        except ReceiverError as exc:
            outcome.append(exc)

    watcher = threading.Thread(target=watch)
    watcher.start()
    http.post(own.url + "/s/a")
    assert in_loop.wait(10)
    started = time.monotonic()
    own.stop()
    watcher.join(10)
    assert not watcher.is_alive()
    assert time.monotonic() - started < 10  # not the 25 s window nor the 30 s poll
    assert isinstance(outcome[0], ReceiverError)
    assert "is stopping" in str(outcome[0]) or "does not answer" in str(outcome[0])
    own.stop()
