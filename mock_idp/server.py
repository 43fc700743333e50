"""Serving the mock IdP with uvicorn on a socket bound beforehand, so port 0 works and the issuer is known."""

import threading
from collections.abc import Callable

import uvicorn

from mock_idp.app import create_app
from mock_idp.config import MockConfig
from mock_idp.listening import ReadyServer, bind

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def _uvicorn_config(config: MockConfig, issuer: str, *, configure_logging: bool) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(config, issuer),
        log_level="warning",
        access_log=False,
        # "on": the app closes its outgoing HTTP client at shutdown.
        lifespan="on",
        limit_concurrency=200,
        timeout_graceful_shutdown=5,
        log_config=uvicorn.config.LOGGING_CONFIG if configure_logging else None,
    )


def serve(
    config: MockConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve in the foreground until SIGTERM or SIGINT; ready(url) once connections are accepted."""
    sock, url = bind(host, port)
    with sock:
        server = ReadyServer(
            _uvicorn_config(config, url, configure_logging=True),
            on_started=lambda: ready(url) if ready is not None else None,
        )
        server.run(sockets=[sock])


class BackgroundServer:
    """The mock served from a thread of this process; stop() ends it. For tests and in-process use."""

    def __init__(self, config: MockConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self._sock, self.url = bind(host, port)
        # Set once the server accepts connections, or when it gave up before that.
        self._settled = threading.Event()
        # Leaves the host process's logging alone, unlike the foreground serve().
        self._server = ReadyServer(
            _uvicorn_config(config, self.url, configure_logging=False), self._settled.set
        )
        self._thread = threading.Thread(target=self._run, name=f"mock-idp {self.url}", daemon=True)

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        finally:
            self._settled.set()

    def start(self, timeout: float = START_TIMEOUT) -> str:
        """Start serving and return the URL once connections are accepted."""
        self._thread.start()
        if not self._settled.wait(timeout) or not self._server.started:
            self.stop()
            raise RuntimeError(f"mock IdP at {self.url} did not start")
        return self.url

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._sock.close()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
