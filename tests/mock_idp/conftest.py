"""Servers for the mock IdP's tests: the real CLI in a subprocess, and in-process servers with faults."""

import dataclasses
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager

import pytest
from idp_client import CASDOOR_PATHS, CONFIG, ROOT, Browser
from receiver import Receiver

from harness.process import read_line
from mock_idp.config import CasdoorReceiver, CasdoorSettings, MockConfig
from mock_idp.server import BackgroundServer

READY = "mock-idp listening on "
START_TIMEOUT = 20.0


def read_ready_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The first stdout line, waited for on the pipe itself (bounded), never by sleeping."""
    assert process.stdout is not None
    line = read_line(process.stdout, timeout)
    if line is None:
        raise TimeoutError(f"no ready line within {timeout} s")
    return line


@contextmanager
def cli_mock(config: MockConfig) -> Iterator[str]:
    """A mock started as `python -m mock_idp` with this config on stdin; yields its URL."""
    with tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "mock_idp", "--host", "127.0.0.1", "--port", "0"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=ROOT,
        )
        assert process.stdin is not None
        process.stdin.write(config.to_json())
        process.stdin.close()
        try:
            line = read_ready_line(process, START_TIMEOUT)
            assert line.startswith(READY), line
            yield line[len(READY) :].strip()
        finally:
            process.terminate()
            returncode = process.wait(timeout=10)
            stderr.seek(0)
            # SIGTERM is the normal way to stop it: a clean exit, nothing on stderr.
            assert returncode == 0, stderr.read()
            assert stderr.read() == ""


@pytest.fixture(scope="session")
def mock_url() -> Iterator[str]:
    """The conformant mock, started as `python -m mock_idp` with its config on stdin."""
    with cli_mock(CONFIG) as url:
        yield url


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    """Where the in-process mocks send logout tokens and Casdoor notifications."""
    started = Receiver()
    started.start()
    yield started
    started.stop()


@pytest.fixture(scope="session")
def mock_with(receiver: Receiver) -> Iterator[Callable[..., str]]:
    """Start (once per set of faults) an in-process mock with these faults; returns its URL.

    Its Casdoor notifications go to the receiver, at CASDOOR_PATHS.
    """
    servers: dict[frozenset[str], BackgroundServer] = {}
    casdoor = CasdoorSettings(
        "built-in",
        [
            CasdoorReceiver(receiver.url + path, client_id)
            for client_id, path in CASDOOR_PATHS.items()
        ],
    )

    def start(*faults: str) -> str:
        key = frozenset(faults)
        if key not in servers:
            server = BackgroundServer(dataclasses.replace(CONFIG, faults=key, casdoor=casdoor))
            server.start()
            servers[key] = server
        return servers[key].url

    yield start
    # Stopped side by side: each stop waits for uvicorn's shutdown tick.
    with ThreadPoolExecutor() as pool:
        list(pool.map(BackgroundServer.stop, servers.values()))


@pytest.fixture
def browser(mock_url: str) -> Iterator[Browser]:
    page = Browser(mock_url)
    yield page
    page.close()


@pytest.fixture
def new_browser() -> Iterator[Callable[[str], Browser]]:
    """More browsers (cookie jars), on any mock."""
    opened: list[Browser] = []

    def open_browser(base_url: str) -> Browser:
        opened.append(Browser(base_url))
        return opened[-1]

    yield open_browser
    for page in opened:
        page.close()


@pytest.fixture
def mock_cli() -> Callable[[MockConfig], AbstractContextManager[str]]:
    """Serve a config of the test's own by the real CLI: `with mock_cli(config) as url: ...`."""
    return cli_mock
