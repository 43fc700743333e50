"""No secret reaches a report or a log in clear: client secrets, passwords, tokens, codes, cookies.

The suite runs against the mock with secrets and passwords of known values (with characters that
URL, form and JSON encodings change), conformant and with faults (failures carry curl lines); then
every file of the report folder, the JSON inside them, the data embedded in the HTML report, and the
console output are searched for those values in every form they can take, for JWTs, and for token,
code, cookie and authorization values that are not masked.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from .conftest import ALLURE, clean_env, output, run_suite

MASK = "«masked sha256:"
#: the mock target's secret variables (fixtures/targets/mock.yaml) and the values the run gets
CLIENT_SECRETS = {
    "rp1": ("LOGOUT_MOCK_RP1_SECRET", "E2e+Rp1/Secret=Value%41&x"),  # client_secret_basic
    "rp2": ("LOGOUT_MOCK_RP2_SECRET", "E2e Rp2:Post&Secret+Value"),  # client_secret_post
    "rp-short": ("LOGOUT_MOCK_RP_SHORT_SECRET", "E2eRpShortSecretValue123"),
}
PASSWORDS = {
    "LOGOUT_MOCK_ALICE_PASSWORD": "Alice-E2e-Password!#",
    "LOGOUT_MOCK_BOB_PASSWORD": "Bob+E2e/Password==",
}
#: faults whose failures show token calls: refresh grant, userinfo with a bearer token, revocation; and
#: browser scenarios that fail, so that their Playwright traces (every header, form and page) are attached
FAULTS = ("refresh-survives-logout", "userinfo-ignores-logout", "revoke-any-client", "introspection-open",
          "rp-fcl-session-kept", "fcl-wrong-sid")
#: where those faults show (the conformant run covers every profile)
PROFILES = ("token-rejection", "oidc-frontchannel-op", "oidc-frontchannel-rp")

JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]*")
#: name=value in a query or form body (curl lines, transcripts, URLs in messages)
FORM_VALUE = re.compile(r"(?<![\w.-])(access_token|refresh_token|id_token|id_token_hint|code)=([^&\s\"'<>#;\\]*)")
#: "name": "value" in JSON bodies
JSON_VALUE = re.compile(r'"(access_token|refresh_token|id_token)"\s*:\s*"([^"]*)"')
#: header lines of transcripts, and -H options of curl lines
COOKIE_HEADER = re.compile(r"(?im)(?:^|-H ')(set-cookie|cookie):[ \t]*([^\r\n']*)")
AUTH_HEADER = re.compile(r"(?im)(?:^|-H ')authorization:[ \t]*(\S+)[ \t]+([^\r\n']*)")
HIDDEN_INPUT = re.compile(
    r"""<input\b[^>]*\bname=["']?(code|id_token|access_token|refresh_token|password)["']?[^>]*>""", re.IGNORECASE)
UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
EMBEDDED = re.compile(r'\bd\("([^"]+)",\s*"([A-Za-z0-9+/=_-]*)"\)')


def secret_env() -> dict[str, str]:
    return clean_env({**{env: value for env, value in CLIENT_SECRETS.values()}, **PASSWORDS})


def forbidden_forms() -> dict[str, str]:
    """Every form a known secret can take in a report -> what it is (for the message)."""
    forms: dict[str, str] = {}
    plain = {**{f"secret of {c}": v for c, (_, v) in CLIENT_SECRETS.items()},
             **{env: v for env, v in PASSWORDS.items()}}
    for what, value in plain.items():
        for form in (value, quote(value, safe=""), quote(value), quote_plus(value), json.dumps(value)[1:-1],
                     html.escape(value)):
            forms[form] = what
    for client, (_, secret) in CLIENT_SECRETS.items():
        for pair in (f"{client}:{secret}", f"{quote_plus(client)}:{quote_plus(secret)}"):
            raw = pair.encode()
            for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
                text = encoded.decode()
                forms[text] = forms[text.rstrip("=")] = f"basic credentials of {client}"
    return forms


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def views(name: str, text: str) -> Iterator[tuple[str, str]]:
    """The text as stored, and as a reader (or a program) would see it once decoded.

    Masks escaped as JSON (\\u00ab) are only checked in the decoded views.
    """
    if not (name.endswith(".xml") and UNICODE_ESCAPE.search(text)):
        yield name, text
    if name.endswith(".json"):
        try:
            yield f"{name} (JSON strings)", "\n".join(_strings(json.loads(text)))
        except ValueError:
            pass
    if name.endswith((".xml", ".html")):
        # junit.xml carries each result as JSON in an attribute: entities, then JSON escapes
        unescaped = html.unescape(text)
        yield f"{name} (unescaped)", UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), unescaped)
    # the single-file HTML report carries its data base64-encoded: d("data/...", "eyJ...")
    for inner, blob in EMBEDDED.findall(text):
        try:
            decoded = base64.b64decode(blob + "=" * (-len(blob) % 4), altchars=b"-_" if "-" in blob or "_" in blob
                                       else None).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            continue
        yield from views(f"{name}#{inner}", decoded)


def leaks(text: str, forbidden: dict[str, str]) -> list[str]:
    """What in ``text`` is a secret in clear (each with a little context)."""
    found = [f"{what} in clear ({form!r})" for form, what in forbidden.items() if form in text]
    found += [f"a JWT: {m.group(0)[:40]}" for m in JWT.finditer(text)]
    for pattern in (FORM_VALUE, JSON_VALUE):
        for m in pattern.finditer(text):
            name, value = m.group(1), m.group(2)
            # the mask holds a space, where the value pattern stops: look at the text itself
            if value and not text.startswith(MASK, m.start(2)):
                found.append(f"{name} not masked: {m.group(0)[:60]}")
    for m in COOKIE_HEADER.finditer(text):
        header, value = m.group(1).lower(), m.group(2)
        # a Set-Cookie has one pair, then attributes (Path, Expires): evidence, not secrets
        pairs = value.split(";")[:1] if header == "set-cookie" else value.split(";")
        for pair in pairs:
            cookie, _, content = pair.strip().partition("=")
            content = content.strip().strip('"')
            if content and not content.startswith(MASK):  # an empty value is how logout deletes a cookie
                found.append(f"{header} {cookie} not masked: {m.group(0)[:60]}")
    for m in AUTH_HEADER.finditer(text):
        if not m.group(2).startswith(MASK):
            found.append(f"authorization not masked: {m.group(0)[:60]}")
    for m in HIDDEN_INPUT.finditer(text):
        value = re.search(r"""\bvalue=["']?([^"'>]*)""", m.group(0))
        if value and value.group(1) and not value.group(1).startswith(MASK):
            found.append(f"input {m.group(1)} not masked: {m.group(0)[:60]}")
    return found


def scan(report_dir: Path, console: str) -> tuple[list[str], str]:
    """Leaks in the report folder and the console output, and all the text that was searched."""
    forbidden = forbidden_forms()
    found: list[str] = []
    searched: list[str] = []
    files = [item for p in sorted(report_dir.rglob("*")) if p.is_file() for item in _contents(report_dir, p)]
    for name, text in [*files, ("console output", console)]:
        for view, content in views(name, text):
            searched.append(content)
            found += [f"{view}: {leak}" for leak in leaks(content, forbidden)]
    return found, "\n".join(searched)


def _contents(report_dir: Path, path: Path) -> Iterator[tuple[str, str]]:
    """A file as text; a zip (a Playwright trace) member by member."""
    name = str(path.relative_to(report_dir))
    if path.suffix != ".zip":
        yield name, path.read_bytes().decode("utf-8", "replace")
        return
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            yield f"{name}!{member}", archive.read(member).decode("utf-8", "replace")


def assert_evidence_was_searched(searched: str) -> None:
    """The scan saw the things that could leak, masked: an empty or unreadable report proves nothing."""
    assert "curl -X POST" in searched, "no curl reproduction in the reports"
    for evidence in (f"Authorization: Basic {MASK}", f"Cookie: op_session={MASK}", f"code={MASK}",
                     f"password={MASK}", f"refresh_token={MASK}", f'"id_token":"{MASK}'):
        assert evidence in searched, f"no {evidence!r} in the reports: the scan did not see what it must"


def test_the_scanner_finds_what_it_looks_for() -> None:
    # a scanner that finds nothing proves nothing: each kind of leak, in clear, is reported
    secret = CLIENT_SECRETS["rp1"][1]
    basic = base64.b64encode(f"rp1:{secret}".encode()).decode()
    samples = {
        "client secret": f"client_secret={quote_plus(secret)}",
        "password": f"password={quote_plus(PASSWORDS['LOGOUT_MOCK_BOB_PASSWORD'])}",
        "basic": f"Authorization: Basic {basic}",
        "jwt": "hint eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.",
        "form token": "grant_type=refresh_token&refresh_token=abcdef123456",
        "json token": '{"access_token": "abcdef123456"}',
        "code": "http://rp/cb?code=abcdef&state=x",
        "cookie": "Cookie: op_session=abcdef; op_browser=«masked sha256:00000000»",
        "set-cookie": "set-cookie: op_session=abcdef; Path=/",
        "curl cookie": "curl -H 'Cookie: op_session=abcdef'",
        "bearer": "Authorization: Bearer abcdef123456",
        "embedded": f'd("data/x.json","{base64.b64encode(json.dumps({"id_token": "abc"}).encode()).decode()}")',
    }
    forbidden = forbidden_forms()
    for kind, text in samples.items():
        assert [leak for _, view in views("x.txt", text) for leak in leaks(view, forbidden)], kind
    masked = (f"Cookie: op_session={MASK}00000000»\nset-cookie: op_session=\"\"; Max-Age=0\n"
              f"token_type_hint=refresh_token&token={MASK}1»\n\"id_token\": \"{MASK}2»\"")
    assert leaks(masked, forbidden) == []


def test_no_secret_in_reports_of_failures(tmp_path: Path) -> None:
    # with the HTML report when it can be built: it embeds everything again, base64-encoded
    with_html = ALLURE.exists()
    args = [*(a for fault in FAULTS for a in ("--mock-fault", fault)),
            *(a for profile in PROFILES for a in ("--profile", profile))]
    proc = run_suite(tmp_path, *args, env=secret_env(), html=with_html)
    assert proc.returncode == 1, output(proc)
    found, searched = scan(tmp_path, output(proc))
    assert not found, "\n".join(found[:40])
    assert_evidence_was_searched(searched)
    # the browser scenarios that failed kept their traces, and those were searched too
    assert any(p.suffix == ".zip" for p in tmp_path.rglob("*")), "no Playwright trace in the report"
    assert "trace.network" in searched or '"resource-snapshot"' in searched
    if with_html:
        # the embedded report data was decoded and searched, not only the page's scripts
        page = (tmp_path / "index.html").read_text("utf-8")
        embedded = "\n".join(content for name, content in views("index.html", page) if "#" in name)
        assert_evidence_was_searched(embedded)
