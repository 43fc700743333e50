"""Child processes that announce readiness with one line on stdout (the mock IdP, real targets)."""

from __future__ import annotations

import selectors
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO

from harness.errors import HarnessError


@dataclass
class Announced:
    """A running child and the URL it announced."""

    process: subprocess.Popen[str]
    url: str
    stderr: IO[str]

    def stop(self) -> None:
        try:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=5)
        finally:
            self.stderr.close()


def start(command: Sequence[str], ready_prefix: str, *, timeout: float, stdin: str | None = None,
          env: Mapping[str, str] | None = None, cwd: str | None = None) -> Announced:
    """Start ``command`` and wait, at most ``timeout`` seconds, for a stdout line ``<ready_prefix><url>``."""
    # stderr goes to a file so that a chatty child can never block on a full pipe
    stderr_file = tempfile.TemporaryFile("w+")  # noqa: SIM115 -- lives as long as the child; stop() closes it
    process = subprocess.Popen(list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr_file,
                               text=True, env=dict(env) if env is not None else None, cwd=cwd)
    assert process.stdin and process.stdout
    if stdin:
        process.stdin.write(stdin)
    process.stdin.close()
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        line = read_line(process.stdout, left)
        if line is None:
            break
        if line.startswith(ready_prefix):
            return Announced(process, line[len(ready_prefix):].strip(), stderr_file)
        if not line:  # the child exited before it was ready
            process.wait(timeout=5)
            stderr_file.seek(0)
            message = stderr_file.read().strip().splitlines()
            stderr_file.close()
            raise HarnessError(f"{command[0]} did not start: {message[-1] if message else 'no message'}")
    Announced(process, "", stderr_file).stop()
    raise HarnessError(f"{command[0]} was not ready within {timeout:.0f} s")


def read_line(stream: IO[str], timeout: float) -> str | None:
    """The next line of a child's output ("" at its end), waited for on the pipe itself; None when
    nothing came within ``timeout``."""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        if not selector.select(timeout=timeout):
            return None
    return stream.readline()
