"""Trace redaction on crafted traces: every place a Playwright trace keeps a secret is masked."""

from __future__ import annotations

import io
import json
import zipfile

from harness import browser_trace
from harness.redact import REDACTOR

PASSWORD = "Unit-Trace-Password-42"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJl"


def trace(members: dict[str, str | bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def read(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_headers_cookies_inputs_and_bodies_are_masked() -> None:
    REDACTOR.add_secret(PASSWORD)
    network = {"type": "resource-snapshot", "snapshot": {
        "request": {"url": "http://op.test/cb?code=abcdef123&state=s",
                    "headers": [{"name": "Cookie", "value": "op_session=sess-value-1"},
                                {"name": "Authorization", "value": "Basic cnAxOnNlY3JldA=="},
                                {"name": "Accept", "value": "text/html"}],
                    "cookies": [{"name": "op_session", "value": "sess-value-1"}],
                    "postData": {"text": f"username=alice&password={PASSWORD}"}},
        "response": {"headers": [{"name": "Set-Cookie", "value": "rp_session=rp-value-2; Path=/"}]}}}
    snapshot = {"type": "frame-snapshot", "snapshot": {"html": [
        "HTML", {}, ["BODY", {}, ["INPUT", {"type": "hidden", "name": "xsrf", "value": "xsrf-value-3"}],
                     ["INPUT", {"type": "password", "name": "pw", "__playwright_value_": PASSWORD}],
                     ["INPUT", {"name": "username", "value": "alice"}], ["P", {}, f"hint {JWT}"]]]}}
    original = trace({"trace.network": json.dumps(network) + "\n",
                      "trace.trace": json.dumps(snapshot) + "\nnot json " + JWT + "\n",
                      "resources/page.html": f'<input name="id_token" value="{JWT}"><p>{PASSWORD}</p>',
                      "resources/shot.jpeg": b"\xff\xd8\xff\x00binary"})
    redacted = read(browser_trace.redact(original))
    text = b"".join(redacted.values()).decode("utf-8", "replace")
    for secret in ("sess-value-1", "cnAxOnNlY3JldA", "rp-value-2", "abcdef123", PASSWORD, "xsrf-value-3", JWT):
        assert secret not in text, secret
    assert "text/html" in text and "alice" in text  # what is not secret stays readable
    assert redacted["resources/shot.jpeg"] == b"\xff\xd8\xff\x00binary"
    assert set(redacted) == {"trace.network", "trace.trace", "resources/page.html", "resources/shot.jpeg"}
