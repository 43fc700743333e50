"""The sandbox's keyring: a backend for Python's keyring that keeps entries in one JSON file (https://keyring.readthedocs.io/en/latest/#third-party-backends).

A tool under test that uses ``keyring`` gets ``PYTHON_KEYRING_BACKEND`` set to
``harness.cli_logout.filekeyring.SandboxKeyring`` and ``LOGOUT_SANDBOX_KEYRING`` to the file; the
harness reads the same file to see the entries the tool created and removed. Entries listed in the
refusal file next to it (``<file>.refuse.json``, a JSON list of ``[service, username]`` pairs) cannot
be deleted: the backend raises ``PasswordDeleteError``, as a locked system keyring would. That is how
the harness makes one removal fail, to see whether the tool carries on with the others.

This module imports nothing of the harness, so that it loads fast in the tool's process.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.compat import properties
from keyring.errors import PasswordDeleteError

__all__ = ["FILE_ENV", "SandboxKeyring", "read_entries", "refusal_file", "write_entry", "write_refusals"]

#: the environment variable naming the keyring file
FILE_ENV = "LOGOUT_SANDBOX_KEYRING"
#: a keyring file larger than this is refused (the tool under test writes it)
MAX_BYTES = 8 << 20

Entries = dict[str, dict[str, str]]


def refusal_file(path: Path) -> Path:
    return path.with_name(path.name + ".refuse.json")


def read_entries(path: Path) -> Entries:
    """The file's entries, service -> username -> secret; none when the file does not exist."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return {}
    if len(raw) > MAX_BYTES:
        raise ValueError(f"the keyring file {path} is larger than {MAX_BYTES} bytes")
    data = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    if not isinstance(data, dict) or not all(
        isinstance(users, dict) and all(isinstance(v, str) for v in users.values()) for users in data.values()
    ):
        raise ValueError(f"the keyring file {path} is not a JSON object of services")
    return data


def read_refusals(path: Path) -> set[tuple[str, str]]:
    try:
        pairs = json.loads(refusal_file(path).read_text("utf-8"))
    except FileNotFoundError:
        return set()
    return {(str(service), str(username)) for service, username in pairs}


def write_refusals(path: Path, pairs: set[tuple[str, str]]) -> None:
    """Make these entries impossible to delete (the harness's side)."""
    refusal_file(path).write_text(json.dumps(sorted(map(list, pairs))), "utf-8")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_name(path.name + ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write(path: Path, entries: Entries) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".keyring-")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump({s: users for s, users in entries.items() if users}, out, indent=1, sort_keys=True)
    os.replace(temporary, path)


def write_entry(path: Path, service: str, username: str, secret: str) -> None:
    """Set one entry (the backend's set_password, and the harness's decoys)."""
    with _locked(path):
        entries = read_entries(path)
        entries.setdefault(service, {})[username] = secret
        _write(path, entries)


class SandboxKeyring(KeyringBackend):
    """Entries in the JSON file named by ``LOGOUT_SANDBOX_KEYRING``; usable only when it is set."""

    @properties.classproperty
    def priority(cls) -> float:  # a class property, as keyring declares it
        if not os.environ.get(FILE_ENV):
            raise RuntimeError(f"{FILE_ENV} is not set (the harness's sandbox sets it)")
        return 1.0

    @property
    def path(self) -> Path:
        return Path(os.environ[FILE_ENV])

    def get_password(self, service: str, username: str) -> str | None:
        return read_entries(self.path).get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        write_entry(self.path, service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        with _locked(self.path):
            entries = read_entries(self.path)
            if username not in entries.get(service, {}):
                raise PasswordDeleteError(f"no keyring entry {service}/{username}")
            if (service, username) in read_refusals(self.path):
                raise PasswordDeleteError(f"the keyring refuses to delete {service}/{username} (locked)")
            del entries[service][username]
            _write(self.path, entries)
