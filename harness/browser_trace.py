"""Redaction of Playwright traces: a trace holds every header, form post, DOM snapshot and response body.

A trace zip has JSON-lines files (``*.trace``, ``*.network``, ``*.stacks``) and ``resources/`` (bodies,
screenshots). Header and cookie values that carry credentials, the values of sensitive or password
inputs in DOM snapshots, and every string (through ``REDACTOR``: known secrets, JOSE objects, token
parameters) are masked; text bodies are masked as text; images stay as they are.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from harness.redact import REDACTOR, SENSITIVE_FIELDS, mask

_SECRET_HEADERS = frozenset({"cookie", "set-cookie", "authorization", "proxy-authorization"})
_SENSITIVE = frozenset(name.lower() for name in SENSITIVE_FIELDS)
_TEXT_SUFFIXES = (".html", ".htm", ".json", ".js", ".css", ".txt", ".xml", ".svg")
_JSON_LINES = (".trace", ".network", ".stacks")


def redact(trace: bytes) -> bytes:
    """The same trace with every secret masked (``trace`` is the zip Playwright wrote)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(trace)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith(_JSON_LINES):
                data = _json_lines(data)
            elif info.filename.endswith(_TEXT_SUFFIXES) or _looks_textual(data):
                data = REDACTOR.text(data.decode("utf-8", "replace")).encode("utf-8")
            target.writestr(info.filename, data)
    return out.getvalue()


def _looks_textual(data: bytes) -> bool:
    """Resources are named by hash, some without a suffix: UTF-8 without NUL bytes is text."""
    head = data[:2048]
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _json_lines(data: bytes) -> bytes:
    lines = []
    for line in data.decode("utf-8", "replace").splitlines():
        try:
            lines.append(json.dumps(_walk(json.loads(line)), ensure_ascii=False))
        except json.JSONDecodeError:
            lines.append(REDACTOR.text(line))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _walk(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        if "name" in value and "value" in value:
            return _mask_pair(value, every=key == "cookies")
        return {k: _attributes(_walk(item, k)) if k == "attributes" else _walk(item, k) for k, item in value.items()}
    if isinstance(value, list):
        walked = [_walk(item, key) for item in value]
        # a DOM snapshot node: ["INPUT", {attributes}, children...]
        if len(walked) >= 2 and isinstance(walked[0], str) and isinstance(walked[1], dict):
            walked[1] = _attributes(walked[1])
        return walked
    if isinstance(value, str):
        return REDACTOR.text(value)
    return value


def _mask_pair(pair: dict[str, Any], every: bool) -> dict[str, Any]:
    """A header, a cookie (``every``: all of a cookie list's values), a query or form parameter, or an
    element's attributes."""
    name = str(pair.get("name", "")).lower()
    masked = {key: _walk(item, key) for key, item in pair.items()}
    if isinstance(pair.get("value"), str) and (every or name in _SECRET_HEADERS or name in _SENSITIVE):
        masked["value"] = mask(pair["value"])
    return _attributes(masked)


def _attributes(attrs: dict[str, Any]) -> dict[str, Any]:
    """An element's attributes: a password input or a sensitive field keeps no value in clear."""
    name = str(attrs.get("name", "")).lower()
    if name in _SENSITIVE or str(attrs.get("type", "")).lower() == "password":
        for key in ("value", "__playwright_value_"):
            if isinstance(attrs.get(key), str) and attrs[key] and not attrs[key].startswith("«masked"):
                attrs = {**attrs, key: mask(attrs[key])}
    return attrs
