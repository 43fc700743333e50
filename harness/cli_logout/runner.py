"""Running the tool under test: its command lines and environment from the target file, each run bounded, killed on timeout.

A run's output is kept whole (up to a bound) for the checks, which look for tokens in it; what reaches
a report goes through the redactor first.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO

from harness.cli_logout.sandbox import Sandbox
from harness.errors import ConfigError, NotApplicable, TargetError
from harness.target import CliSettings

__all__ = ["MAX_OUTPUT", "Ran", "Tool", "fill"]

#: bytes of stdout and of stderr kept per run
MAX_OUTPUT = 1 << 20
KILL_WAIT_S = 5.0
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def fill(template: str, values: Mapping[str, str]) -> str:
    """The template with its known {placeholders} replaced (others are left as they are)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


@dataclass(frozen=True)
class Ran:
    """One finished run of the tool."""

    action: str
    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    duration_s: float

    @property
    def output(self) -> str:
        return f"{self.stdout}\n{self.stderr}"

    @property
    def command_line(self) -> str:
        return shlex.join(self.argv)

    @property
    def crashed(self) -> str | None:
        """Why the run looks like a crash (a signal, a traceback), or None."""
        if self.exit_code < 0:
            return f"it was killed by signal {-self.exit_code}"
        if "Traceback (most recent call last)" in self.output:
            return "it printed a Python traceback"
        if "panic: " in self.stderr and "goroutine " in self.stderr:
            return "it printed a Go panic"
        return None

    def transcript(self) -> str:
        return (f"$ {self.command_line}\n# exit {self.exit_code}, {self.duration_s:.2f} s\n"
                f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}")


class Tool:
    """The command-line tool of a target file, bound to one sandbox."""

    def __init__(self, settings: CliSettings, sandbox: Sandbox, values: Mapping[str, str]) -> None:
        self.settings = settings
        self.sandbox = sandbox
        #: placeholder values for the environment: issuer, client_id, client_secret, username, password, faults
        self.values = {"python": sys.executable, "home": str(sandbox.home), **values}

    def has(self, action: str) -> bool:
        return action in self.settings.commands

    def argv(self, action: str, identity: str = "", provider: str = "") -> tuple[str, ...]:
        if action not in self.settings.commands:
            raise NotApplicable(f"the target file gives no cli.commands.{action}")
        values = {"python": sys.executable, "home": str(self.sandbox.home), "identity": identity,
                  "provider": provider}
        return tuple(fill(part, values) for part in (*self.settings.program, *self.settings.commands[action]))

    def run(self, action: str, identity: str = "", provider: str = "", **overrides: str) -> Ran:
        """Run one action to its end (bounded by cli.timeout); ``overrides`` change placeholder values."""
        values = {**self.values, **overrides}
        env = self.sandbox.env({name: fill(value, values) for name, value in self.settings.env.items()})
        argv = self.argv(action, identity, provider)
        label = " ".join(part for part in (action, identity or provider) if part)
        return run(label, argv, env=env, cwd=self.settings.cwd, timeout=self.settings.timeout)


def run(action: str, argv: tuple[str, ...], *, env: Mapping[str, str], cwd: str, timeout: float) -> Ran:
    """Run a command in a session of its own, stdin closed; on timeout its whole process group is killed."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        try:
            process = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=dict(env),
                                       cwd=cwd, start_new_session=True)
        except OSError as exc:
            raise ConfigError(f"cli: cannot run {argv[0]!r} (in {cwd}): {exc.strerror}") from None
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise TargetError(f"`{shlex.join(argv)}` did not end within {timeout:g} s: it was killed "
                              f"(with its children); its output: {_read(err)[-500:]!r}") from None
        finally:
            _kill_group(process)  # whatever it left running in its session goes with it
        return Ran(action, argv, code, _read(out), _read(err), round(time.perf_counter() - started, 3))


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=KILL_WAIT_S)


def _read(handle: IO[bytes]) -> str:
    handle.seek(0)
    data = handle.read(MAX_OUTPUT + 1)
    text = data[:MAX_OUTPUT].decode("utf-8", "replace")
    return text + ("\n[output cut at 1 MiB]" if len(data) > MAX_OUTPUT else "")
