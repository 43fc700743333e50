"""Redaction: nothing secret (tokens, cookies, passwords, client secrets) reaches a report or a log in clear."""

from __future__ import annotations

import hashlib
import html
import json
import re
import threading
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus, unquote_plus

__all__ = ["REDACTOR", "SENSITIVE_FIELDS", "Redactor", "mask"]

#: field names whose values are secret in query strings, form bodies, JSON and HTML inputs.
#: SAMLRequest / SAMLResponse are deliberately absent: SAML messages are evidence.
SENSITIVE_FIELDS: tuple[str, ...] = (
    "access_token",
    "refresh_token",
    "id_token",
    "id_token_hint",
    "logout_token",
    "token",
    "code",
    "code_verifier",
    "client_secret",
    "client_assertion",
    "password",
    "xsrf",
    "assertion",
)

#: shorter values would mask innocent text everywhere ("yes", "1234") and hide nothing of worth
MIN_SECRET_LENGTH = 6

_B64 = r"[A-Za-z0-9_-]"
# A JWS has 3 segments (2 dots), a JWE 5 (4 dots); the signature of an alg=none JWS is empty.
# Every compact JOSE object starts with a base64url JSON header, i.e. "eyJ" ('{"').
_JOSE = re.compile(rf"(?<!{_B64})eyJ{_B64}+(?:\.{_B64}*){{2}}(?:(?:\.{_B64}*){{2}})?")
_NAMES = "|".join(re.escape(name) for name in SENSITIVE_FIELDS)
# name=value in a query string or form body; the lookbehind keeps "errorcode=" or "x.code=" out
_FORM_FIELD = re.compile(rf"(?<![\w.-])({_NAMES})=([^&\s\"'<>#;]+)", re.IGNORECASE)
_JSON_FIELD = re.compile(rf'("(?:{_NAMES})"\s*:\s*")((?:[^"\\]|\\.)+)(")', re.IGNORECASE)
# form_post pages and logout confirmations carry tokens and xsrf values in hidden inputs
_INPUT_TAG = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
_INPUT_NAME = re.compile(rf"""\bname\s*=\s*(["']?)(?:{_NAMES})\1(?=[\s/>])""", re.IGNORECASE)
_INPUT_VALUE = re.compile(r"""(\bvalue\s*=\s*)(?:"([^"]+)"|'([^']+)'|([^\s"'>]+))""", re.IGNORECASE)

# a run of base64url / URL-encoded characters; secrets made of them are matched as whole runs, others
# (with dots, slashes, spaces...) by substring
_RUN = re.compile(r"[A-Za-z0-9_~%-]+=*")

_AUTH_HEADERS = frozenset({"authorization", "proxy-authorization"})


def mask(value: str) -> str:
    """A stand-in for ``value``: its short SHA-256, so two occurrences can be matched unseen."""
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"«masked sha256:{digest}»"


def _encodings(secret: str) -> set[str]:
    """The forms a secret takes in URLs, form bodies and JSON strings."""
    return {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}


class Redactor:
    """Masks known secrets, JOSE objects and sensitive fields in text and HTTP headers; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._masks: dict[str, str] = {}  # encoded form -> mask of the plain secret
        # forms that are not one token-like run (passwords with spaces...): few, found by substring
        self._odd: dict[str, str] = {}

    def add_secret(self, value: str) -> None:
        """Remember ``value`` (and its URL and JSON encodings) so that it is masked wherever it appears."""
        if len(value) < MIN_SECRET_LENGTH:
            return
        masked = mask(value)
        with self._lock:
            fresh = {form: masked for form in _encodings(value) if form not in self._masks}
            if fresh:
                # new dicts, not updates: text() may be using the old ones without the lock
                self._masks = {**self._masks, **fresh}
                odd = {form: m for form, m in fresh.items() if not _RUN.fullmatch(form)}
                if odd:
                    self._odd = dict(sorted({**self._odd, **odd}.items(), key=lambda kv: -len(kv[0])))

    def text(self, s: str) -> str:
        """``s`` with known secrets, JOSE compact objects and sensitive field values masked."""
        masks, odd = self._masks, self._odd
        if masks:
            # one pass over the text whatever the number of secrets: every token-like run is looked up
            s = _RUN.sub(lambda m: masks.get(m.group(0), m.group(0)), s)
        for form, masked in odd.items():
            if form in s:
                s = s.replace(form, masked)
        s = _JOSE.sub(lambda m: mask(m.group(0)), s)
        s = _FORM_FIELD.sub(_mask_form_field, s)
        s = _JSON_FIELD.sub(_mask_json_field, s)
        return _INPUT_TAG.sub(_mask_input_tag, s)

    def header(self, name: str, value: str) -> str:
        """One header value, masked according to the header's meaning."""
        lower = name.lower()
        if lower in _AUTH_HEADERS:
            scheme, sep, credentials = value.strip().partition(" ")
            return f"{scheme} {mask(credentials.strip())}" if sep else mask(value)
        if lower == "cookie":
            return "; ".join(_mask_cookie_pair(pair.strip()) for pair in value.split(";"))
        if lower == "set-cookie":
            pair, sep, attributes = value.partition(";")
            # attributes (Path, Expires, SameSite...) are evidence of how logout clears a cookie
            return _mask_cookie_pair(pair.strip()) + sep + attributes
        return self.text(value)

    def headers(self, h: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
        """Masked copy of headers; repeated headers (given as pairs or ``httpx.Headers``) are joined."""
        multi = getattr(h, "multi_items", None)
        if callable(multi):
            items: Iterable[tuple[str, str]] = multi()
        elif isinstance(h, Mapping):
            items = h.items()
        else:
            items = h
        out: dict[str, str] = {}
        for name, value in items:
            masked = self.header(name, value)
            out[name] = f"{out[name]}, {masked}" if name in out else masked
        return out


def _mask_cookie_pair(pair: str) -> str:
    name, sep, value = pair.partition("=")
    # an empty value is how logout deletes a cookie: keep it visible
    if not sep or not value.strip('"'):
        return pair
    return f"{name}={mask(value)}"


def _mask_form_field(m: re.Match[str]) -> str:
    if m.group(2).startswith("«masked"):
        return m.group(0)
    return f"{m.group(1)}={mask(unquote_plus(m.group(2)))}"


def _mask_json_field(m: re.Match[str]) -> str:
    raw = m.group(2)
    if raw.startswith("«masked"):
        return m.group(0)
    try:
        plain = json.loads(f'"{raw}"')
    except ValueError:
        plain = raw
    return f"{m.group(1)}{mask(plain)}{m.group(3)}"


def _mask_input_tag(m: re.Match[str]) -> str:
    tag = m.group(0)
    if not _INPUT_NAME.search(tag):
        return tag

    def masked_value(v: re.Match[str]) -> str:
        value = v.group(2) or v.group(3) or v.group(4)
        if value.startswith("«masked"):
            return v.group(0)
        return f'{v.group(1)}"{mask(html.unescape(value))}"'

    return _INPUT_VALUE.sub(masked_value, tag, count=1)


#: the one redactor a run shares; callers add the client secrets, passwords and tokens they see
REDACTOR = Redactor()
