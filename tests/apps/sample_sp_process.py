"""The sample SAML SP as its tests run it: `python -m fixtures.apps.saml_sp`, once per set of faults."""

import subprocess
import sys
from pathlib import Path
from typing import IO

from harness.process import read_line

ROOT = Path(__file__).resolve().parents[2]
READY = "sample-saml-sp listening on "
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


def read_ready_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The first stdout line, waited for on the pipe itself (bounded), never by sleeping."""
    assert process.stdout is not None
    line = read_line(process.stdout, timeout)
    if line is None:
        raise TimeoutError(f"no ready line within {timeout} s")
    return line


class Apps:
    """The app started as `python -m fixtures.apps.saml_sp`, once per set of faults."""

    def __init__(self, metadata: Path, stderr: IO[str]) -> None:
        self._metadata = metadata
        self._stderr = stderr
        self._processes: dict[frozenset[str], subprocess.Popen[str]] = {}
        self._urls: dict[frozenset[str], str] = {}

    def launch(self, *faults: str) -> None:
        """Start it with these faults, without waiting for it to be ready."""
        key = frozenset(faults)
        if key not in self._processes:
            fault_args = [arg for fault in sorted(key) for arg in ("--fault", fault)]
            command = [sys.executable, "-m", "fixtures.apps.saml_sp", "--port", "0"]
            command += ["--idp-metadata-file", str(self._metadata), *fault_args]
            self._processes[key] = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=self._stderr, text=True, cwd=ROOT
            )

    def url(self, *faults: str) -> str:
        """The base URL of the app with these faults, started if need be, once it is ready."""
        key = frozenset(faults)
        if key not in self._urls:
            self.launch(*faults)
            line = read_ready_line(self._processes[key], START_TIMEOUT)
            assert line.startswith(READY), line
            self._urls[key] = line[len(READY) :].strip()
        return self._urls[key]

    def stop(self) -> list[int | None]:
        """Stop them all (SIGTERM, side by side) and return their exit codes."""
        # One still starting would die of the signal before it handles it: wait for it first.
        for key in list(self._processes):
            self.url(*key)
        for process in self._processes.values():
            process.terminate()
        return [process.wait(timeout=STOP_TIMEOUT) for process in self._processes.values()]
