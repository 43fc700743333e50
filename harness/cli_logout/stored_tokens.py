"""The tokens a tool stored: secrets found in its keyring entries and credential files (JSON, INI or KEY=value).

A value counts when its key names a token, secret, password or key (``refresh_token``,
``aws_session_token``, ``client_secret``...) and it is long enough to be one; refresh tokens are
those under a key that says refresh. Encrypted stores (the Salesforce CLI's) give nothing, and the
checks that need a token then say they could not look.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from harness.cli_logout.snapshot import Item
from harness.stored_json import string_members

__all__ = ["Stored", "found_in"]

SECRET_KEY = re.compile(r"token|secret|passw|credential|private|api_?key|access_?key", re.IGNORECASE)
#: keys that name a token without holding one
NOT_SECRET_KEY = re.compile(r"type|endpoint|url|uri|expir|_at$|hint|issuer|client_id|kind|scope|lifetime",
                            re.IGNORECASE)
REFRESH_KEY = re.compile(r"refresh", re.IGNORECASE)
MIN_LENGTH = 12
_LINE = re.compile(r"""^\s*(?:export\s+)?([A-Za-z0-9_.-]+)\s*[=:]\s*["']?([^\s"']+)["']?\s*$""", re.MULTILINE)
MAX_DEPTH = 8


@dataclass(frozen=True)
class Stored:
    """One secret a tool stored: its value, what its key calls it, and where it was."""

    value: str
    key: str
    where: str

    @property
    def is_refresh_token(self) -> bool:
        return bool(REFRESH_KEY.search(self.key))

    @property
    def kind(self) -> str:
        return self.key.replace("_", " ")


def found_in(items: Iterable[Item]) -> list[Stored]:
    """Every secret in these items, each value once (first place it was seen)."""
    seen: dict[str, Stored] = {}
    for item in items:
        if item.kind not in ("file", "keyring") or not item.content:
            continue
        text = item.content.decode("utf-8", "replace")
        for key, value in _pairs(text, 0):
            if (SECRET_KEY.search(key) and not NOT_SECRET_KEY.search(key) and len(value) >= MIN_LENGTH
                    and "://" not in value and value not in seen):
                seen[value] = Stored(value, key, item.name)
    return list(seen.values())


def _pairs(text: str, depth: int) -> Iterator[tuple[str, str]]:
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict | list):
        yield from _walk(data, depth)
        return
    for match in _LINE.finditer(text):
        yield match.group(1), match.group(2)


def _walk(data: Any, depth: int) -> Iterator[tuple[str, str]]:
    for key, value in string_members(data):
        stripped = value.strip()
        if stripped[:1] in "{[":  # JSON inside a string (a keyring value, an encoded blob)
            if depth < MAX_DEPTH:
                yield from _pairs(stripped, depth + 1)
        elif key:
            yield key, value
