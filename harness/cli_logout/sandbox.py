"""The sandbox a command-line tool runs in: a temporary HOME with its XDG folders, a file keyring, and decoys that must survive.

Layout of one sandbox (removed when the scenario's context goes away, or at exit at the latest)::

    ROOT/home/                 HOME; XDG_CONFIG_HOME, XDG_DATA_HOME, XDG_CACHE_HOME, XDG_STATE_HOME below it
    ROOT/keyring/keyring.json  the keyring (harness.cli_logout.filekeyring), outside HOME
    ROOT/tmp/                  TMPDIR

The tool gets a minimal environment (PATH, locale), the sandbox's variables and the target's ``cli.env``;
nothing else of the harness's environment (no secrets, no LOGOUT_CONFORMANCE_* variables).
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import weakref
from collections.abc import Mapping
from pathlib import Path

import harness
from harness.cli_logout import filekeyring
from harness.cli_logout.snapshot import Item, keyring_name, take
from harness.errors import TargetError

__all__ = ["PASSED_THROUGH", "Sandbox"]

#: the only variables of the harness's environment a tool sees
PASSED_THROUGH = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "SYSTEMROOT")
XDG = {"XDG_CONFIG_HOME": ".config", "XDG_DATA_HOME": ".local/share", "XDG_CACHE_HOME": ".cache",
       "XDG_STATE_HOME": ".local/state"}
#: files of other programs: a logout must leave them as they are
DECOY_FILES = ("~/.decoy-notes.txt", "~/.config/decoy-tool/credentials", "~/.local/share/decoy-tool/state.json",
               "~/.cache/decoy-tool/blob.bin")
DECOY_KEYRING = ("decoy-service", "someone-else")
#: where the harness package lives: on PYTHONPATH, so a Python tool can load the sandbox keyring
_HARNESS_ROOT = str(Path(harness.__file__).resolve().parents[1])


class Sandbox:
    """One tool's world for one scenario."""

    def __init__(self, keyring: bool = True) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="logout-cli-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.root), True)
        self.home = self.root / "home"
        self.tmp = self.root / "tmp"
        self.keyring_file = self.root / "keyring" / "keyring.json" if keyring else None
        for folder in (self.home, self.tmp, self.root / "keyring", *(self.home / p for p in XDG.values())):
            folder.mkdir(parents=True, exist_ok=True)
        self.decoys: list[str] = []

    def close(self) -> None:
        self._cleanup()

    def path(self, shown: str) -> Path:
        """The real path of a ~/... name."""
        if not shown.startswith("~/"):
            raise ValueError(f"not a sandbox path: {shown!r}")
        return self.home / shown[2:]

    def env(self, extra: Mapping[str, str]) -> dict[str, str]:
        env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
        env.setdefault("PATH", os.defpath)
        env.setdefault("LANG", "C.UTF-8")
        env["HOME"] = str(self.home)
        env["TMPDIR"] = str(self.tmp)
        env.update({name: str(self.home / relative) for name, relative in XDG.items()})
        if self.keyring_file is not None:
            env["PYTHON_KEYRING_BACKEND"] = "harness.cli_logout.filekeyring.SandboxKeyring"
            env[filekeyring.FILE_ENV] = str(self.keyring_file)
            env["PYTHONPATH"] = _HARNESS_ROOT
        env.update(extra)
        return env

    def keyring_entries(self) -> filekeyring.Entries:
        if self.keyring_file is None:
            return {}
        try:
            return filekeyring.read_entries(self.keyring_file)
        except (ValueError, UnicodeDecodeError) as exc:
            raise TargetError(f"the sandbox keyring file is damaged: {exc}") from None

    def snapshot(self) -> dict[str, Item]:
        return take(self.home, self.keyring_entries())

    def seed_decoys(self) -> list[str]:
        """Files (and a keyring entry) of other programs, made before the tool runs; their names."""
        for shown in DECOY_FILES:
            path = self.path(shown)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f"not the tool's: {secrets.token_hex(16)}\n".encode())
            self.decoys.append(shown)
        if self.keyring_file is not None:
            service, username = DECOY_KEYRING
            filekeyring.write_entry(self.keyring_file, service, username, secrets.token_hex(16))
            self.decoys.append(keyring_name(service, username))
        return list(self.decoys)

    def refuse_delete(self, item: Item) -> None:
        """Make the keyring refuse to delete this entry (a removal that fails, as a locked keyring would)."""
        entry = item.keyring_entry
        if self.keyring_file is None or entry is None:
            raise ValueError(f"{item.name} is no entry of the sandbox keyring")
        filekeyring.write_refusals(self.keyring_file, {entry})
