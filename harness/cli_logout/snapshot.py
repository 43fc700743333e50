"""Snapshots of a sandbox: every file, folder and link under its HOME and every keyring entry, with sizes and hashes.

Two snapshots give what a command created, removed and changed. Items are named as a user knows
them: ``~/.config/tool/credentials`` for files and folders, ``keyring:service/username`` for keyring
entries. Contents are kept (up to a bound) so that the harness can find the tokens a tool stored;
they are never shown in a report, only names, sizes and hashes.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Literal

from harness.errors import TargetError

__all__ = ["KEYRING", "Changes", "Item", "Snapshot", "diff", "is_credential", "take"]

KEYRING = "keyring:"
#: a sandbox with more items than this is not a tool's credentials any more: the harness stops
MAX_ITEMS = 20_000
#: file contents kept for the token search (hashes cover whole files)
MAX_CONTENT = 1 << 20

Kind = Literal["file", "dir", "link", "keyring"]


@dataclass(frozen=True)
class Item:
    """One thing in the sandbox; equal when its kind and content are (the content itself is not compared)."""

    name: str
    kind: Kind
    size: int
    digest: str
    content: bytes = field(default=b"", compare=False, repr=False)

    def describe(self) -> str:
        if self.kind == "dir":
            return f"{self.name}/ (folder)"
        if self.kind == "keyring":
            return f"{self.name} (keyring entry, {self.size} bytes, sha256:{self.digest[:8]})"
        return f"{self.name} ({self.kind}, {self.size} bytes, sha256:{self.digest[:8]})"

    @property
    def keyring_entry(self) -> tuple[str, str] | None:
        """(service, username) of a keyring entry."""
        if self.kind != "keyring":
            return None
        service, _, username = self.name[len(KEYRING):].partition("/")
        return service, username


Snapshot = Mapping[str, Item]


def keyring_name(service: str, username: str) -> str:
    return f"{KEYRING}{service}/{username}"


def take(home: Path, keyring: Mapping[str, Mapping[str, str]]) -> dict[str, Item]:
    """Everything under ``home`` (links not followed) and every keyring entry."""
    items: dict[str, Item] = {}
    for folder, dirs, files in os.walk(home):
        base = Path(folder)
        for name in sorted(dirs + files):
            path = base / name
            shown = "~/" + str(path.relative_to(home))
            items[shown] = _item(path, shown)
            if len(items) > MAX_ITEMS:
                raise TargetError(f"the sandbox holds more than {MAX_ITEMS} files and folders; the harness stops")
    for service, users in keyring.items():
        for username, secret in users.items():
            raw = secret.encode("utf-8", "surrogatepass")
            name = keyring_name(service, username)
            items[name] = Item(name, "keyring", len(raw), hashlib.sha256(raw).hexdigest(), raw)
    return items


def _item(path: Path, shown: str) -> Item:
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        target = os.readlink(path).encode()
        return Item(shown, "link", len(target), hashlib.sha256(target).hexdigest())
    if stat.S_ISDIR(info.st_mode):
        return Item(shown, "dir", 0, "")
    digest, content = hashlib.sha256(), b""
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 16):
                digest.update(chunk)
                if len(content) < MAX_CONTENT:
                    content += chunk[: MAX_CONTENT - len(content)]
    except OSError as exc:  # a socket, a FIFO, a file the tool made unreadable: its metadata only
        return Item(shown, "file", info.st_size, f"unreadable:{exc.errno}")
    return Item(shown, "file", info.st_size, digest.hexdigest(), content)


@dataclass(frozen=True)
class Changes:
    created: list[str]
    removed: list[str]
    modified: list[str]

    @property
    def touched(self) -> list[str]:
        return sorted({*self.created, *self.removed, *self.modified})


def diff(before: Snapshot, after: Snapshot) -> Changes:
    return Changes(
        created=sorted(set(after) - set(before)),
        removed=sorted(set(before) - set(after)),
        modified=sorted(k for k in set(before) & set(after) if before[k] != after[k]),
    )


def is_credential(item: Item, paths: Iterable[str], services: Iterable[str]) -> bool:
    """Whether an item is in one of the tool's credential stores (its paths, or its keyring services).

    A path pattern matches the item or one of its folders; without services, every keyring entry counts.
    """
    if item.kind == "keyring":
        entry = item.keyring_entry
        wanted = list(services)
        return not wanted or (entry is not None and entry[0] in wanted)
    parts = item.name.split("/")
    candidates = ["/".join(parts[:end]) for end in range(2, len(parts) + 1)]
    return any(fnmatchcase(candidate, pattern.rstrip("/")) for pattern in paths for candidate in candidates)
