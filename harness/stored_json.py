"""Strings inside JSON that an app or a tool stored (token caches, credential files), with the member
that holds each: how tokens are found where they were kept."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

#: deeper than any cache or credential file; a bound against hostile nesting
MAX_DEPTH = 12


def string_members(value: Any, name: str = "", depth: int = 0) -> Iterator[tuple[str, str]]:
    """(member name, string) for every string in a JSON value; a list's items carry the list's name."""
    if depth > MAX_DEPTH:
        return
    if isinstance(value, str):
        yield name, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from string_members(item, str(key), depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from string_members(item, name, depth + 1)
