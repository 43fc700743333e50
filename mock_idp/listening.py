"""uvicorn on a socket bound beforehand: port 0 works and the URL is known before it serves.

Shared by the mock, the harness's callback receiver and the sample apps, which need none of the
mock's own app (importing it costs every run a fifth of a second).
"""

import signal
import socket
from collections.abc import Callable
from types import FrameType

import uvicorn


class ReadyServer(uvicorn.Server):
    """uvicorn that reports when it accepts connections and returns from run() on a signal."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        # started is set once the listening servers exist, i.e. connections are being accepted.
        if self.started:
            self._on_started()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # uvicorn's own handler re-raises the signal after shutdown; serve() returns instead.
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        self.should_exit = True


def bind(host: str, port: int) -> tuple[socket.socket, str]:
    """A TCP socket bound to host:port (0 picks a free port), and its base URL."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on accepted sockets that say TCP,
    # and without it Nagle's algorithm adds 40 ms to responses written in two parts.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    bound_port = sock.getsockname()[1]
    netloc = f"[{host}]:{bound_port}" if family == socket.AF_INET6 else f"{host}:{bound_port}"
    return sock, f"http://{netloc}"
