"""Where a response sends the browser, URLs resolved as in https://url.spec.whatwg.org/

``destination`` reads a final response the way a browser acts on it: a redirect's ``Location``
(https://fetch.spec.whatwg.org/#http-redirect-fetch), a ``Refresh`` header or a
``<meta http-equiv="refresh">`` (the HTML Standard's shared declarative refresh steps), a script
that assigns ``location``, or a form that a script submits on load. Its ``url`` is what the browser
asks for next, resolved by ``browser_resolve``: the URL Standard's basic URL parser, ported as far
as open-redirect tricks need.

Left out of ``browser_resolve``: ``file:`` URLs (a ``ValueError``); hosts are mapped with IDNA 2003
(Python's codec) instead of UTS #46, which differ on deviation characters (ß, ς, ZWJ, ZWNJ) and
some symbols, and ``xn--`` labels are not checked; queries are always UTF-8. Left out of
``destination``: scripts are matched, not run (a navigation or ``submit()`` counts wherever it is
written, also in a function nobody calls, and only when its URL is one string literal); external
scripts; ``<select>`` and ``<textarea>`` values of a GET form; navigations of frames.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace
from encodings import idna
from html.parser import HTMLParser
from typing import Literal
from urllib.parse import unquote_to_bytes, urlencode

import httpx

__all__ = ["HOW", "Destination", "browser_resolve", "destination", "origin_of"]

How = Literal["location", "refresh-header", "meta-refresh", "script", "form"]
#: how a destination was reached, in words for messages
HOW: dict[How, str] = {
    "location": "a Location header",
    "refresh-header": "a Refresh header",
    "meta-refresh": "a meta refresh",
    "script": "a script",
    "form": "an auto-submitting form",
}

#: bytes of a page that are read: enough for any redirect page, bounded against huge answers
MAX_PAGE = 256 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})  # Fetch's redirect statuses; 300 and 304 are not
_NO_BODY = frozenset({204, 205, 304})


@dataclass(frozen=True)
class Destination:
    """Where the browser goes next: ``url`` resolved (or as written when it cannot be), and how."""

    how: How
    raw: str
    #: the resolved absolute URL; the raw text for javascript:, data: and unparsable values
    url: str
    #: lower-cased scheme, None when the browser cannot parse the value
    scheme: str | None
    #: scheme://host[:port] with the default port dropped; None for opaque origins (javascript:...)
    origin: str | None
    #: the URL ``raw`` was resolved against (the page's, or its <base href>)
    base: str


def destination(response: httpx.Response, base_url: str) -> Destination | None:
    """Where a browser shown ``response`` (fetched from ``base_url``) goes next; None: it stays.

    A redirect status with a ``Location`` wins; otherwise an HTML page is read (its first
    ``MAX_PAGE`` bytes): scripts in document order, then ``<body onload>``, then a ``Refresh``
    header, then the first ``<meta http-equiv="refresh">``. Pages of any status count: an error page
    that refreshes moves the browser as well. ``base_url`` must be absolute (``ValueError``).
    """
    base = _parse(base_url, None).serialize()
    locations = response.headers.get_list("location")
    if response.status_code in _REDIRECTS and locations:
        found = [_destination("location", value, base) for value in dict.fromkeys(locations)]
        # several Location headers are a sign of header injection: browsers differ, so take the
        # worst one (one that leaves the page's origin) to judge
        return next((d for d in found if d.origin != origin_of(base)), found[0])
    if response.status_code in _NO_BODY or not _is_html(response):
        refresh = response.headers.get("refresh")
        return _refresh("refresh-header", refresh, base, base) if refresh else None
    return _Page.read(response, base).destination(response.headers.get("refresh"))


def browser_resolve(base: str | None, value: str) -> str:
    """``value`` resolved against ``base`` as a browser would, serialized; ValueError on failure."""
    return _parse(value, _parse(base, None) if base else None).serialize()


def origin_of(url: str) -> str | None:
    """The origin of an absolute URL as scheme://host[:port], or None (opaque or unparsable)."""
    try:
        return _parse(url, None).origin()
    except ValueError:
        return None


# The URL Standard's basic URL parser (https://url.spec.whatwg.org/#concept-basic-url-parser)

_SPECIAL = {"ftp": 21, "file": None, "http": 80, "https": 443, "ws": 80, "wss": 443}
# percent-encode sets (https://url.spec.whatwg.org/#percent-encoded-bytes); C0 controls and
# non-ASCII are always encoded
_C0: frozenset[str] = frozenset()
_FRAGMENT = frozenset(' "<>`')
_QUERY = frozenset(' "#<>')
_SPECIAL_QUERY = _QUERY | {"'"}
_PATH = _QUERY | frozenset("?^`{}")
_USERINFO = _PATH | frozenset("/:;=@[\\]|")
_FORBIDDEN_HOST = frozenset("\x00\t\n\r #/:<>?@[\\]^|")
_FORBIDDEN_DOMAIN = _FORBIDDEN_HOST | frozenset("%\x7f") | frozenset(map(chr, range(0x20)))
_DOTS = re.compile("[.\u3002\uff0e\uff61]")  # the label separators of IDNA
_TAB_NEWLINE = re.compile("[\t\n\r]")
_C0_OR_SPACE = "".join(map(chr, range(0x21)))
_EOF = ""


@dataclass
class _Url:
    scheme: str = ""
    username: str = ""
    password: str = ""
    host: str | None = None
    port: int | None = None
    #: a list of segments, or a string for an opaque path (javascript:alert(1))
    path: list[str] | str = field(default_factory=list)
    query: str | None = None
    fragment: str | None = None

    @property
    def special(self) -> bool:
        return self.scheme in _SPECIAL

    def serialize(self) -> str:
        out = self.scheme + ":"
        if self.host is not None:
            out += "//"
            if self.username or self.password:
                out += self.username + (":" + self.password if self.password else "") + "@"
            out += self.host + ("" if self.port is None else f":{self.port}")
        if isinstance(self.path, str):
            out += self.path
        else:
            if self.host is None and len(self.path) > 1 and self.path[0] == "":
                out += "/."  # keeps "web+x:/.//p" from reading as a host when parsed again
            out += "".join("/" + segment for segment in self.path)
        out += "" if self.query is None else "?" + self.query
        return out + ("" if self.fragment is None else "#" + self.fragment)

    def origin(self) -> str | None:
        if self.scheme not in _SPECIAL or self.scheme == "file" or self.host is None:
            return None
        return f"{self.scheme}://{self.host}" + ("" if self.port is None else f":{self.port}")


def _encode(c: str, encode_set: frozenset[str]) -> str:
    if c in encode_set or not " " <= c <= "~":
        return "".join(f"%{b:02X}" for b in c.encode("utf-8"))
    return c


def _parse(value: str, base: _Url | None) -> _Url:
    """The basic URL parser without state override; ValueError where it returns failure."""
    # lone surrogates (from a script's "\ud800") become U+FFFD, as a USVString conversion does
    text = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    text = _TAB_NEWLINE.sub("", text.strip(_C0_OR_SPACE))
    url = _Url()
    state, buffer, i = "scheme start", "", 0
    at_seen = password_seen = in_brackets = False
    while True:
        c = text[i] if i < len(text) else _EOF
        slash = c == "/" or (url.special and c == "\\")  # special URLs take \ for /
        if state == "scheme start":
            if c.isascii() and c.isalpha():
                buffer, state = c.lower(), "scheme"
            else:
                state, i = "no scheme", i - 1
        elif state == "scheme":
            if c and c.isascii() and (c.isalnum() or c in "+-."):
                buffer += c.lower()
            elif c == ":":
                url.scheme, buffer = buffer, ""
                if url.scheme == "file":
                    raise ValueError("file: URLs are not resolved here")
                if url.special:
                    same = base is not None and base.scheme == url.scheme
                    state = "special relative or authority" if same else "special authority slashes"
                elif text.startswith("/", i + 1):
                    state, i = "path or authority", i + 1
                else:
                    url.path, state = "", "opaque path"
            else:
                buffer, state, i = "", "no scheme", -1
        elif state == "no scheme":
            if base is None or (isinstance(base.path, str) and c != "#"):
                raise ValueError(f"{value[:60]!r} is relative and there is no base to resolve it")
            if isinstance(base.path, str):
                url = replace(base, fragment="")
                state = "fragment"
            else:
                state, i = "relative", i - 1
        elif state == "special relative or authority":
            if c == "/" and text.startswith("/", i + 1):
                state, i = "special authority ignore slashes", i + 1
            else:
                state, i = "relative", i - 1
        elif state == "path or authority":
            if c == "/":
                state = "authority"
            else:
                state, i = "path", i - 1
        elif state == "relative":
            assert base is not None and isinstance(base.path, list)
            url.scheme = base.scheme
            if c == "/" or (url.special and c == "\\"):
                state = "relative slash"
            else:
                segments = list(base.path)
                url = replace(base, path=segments, fragment=None)
                if c == "?":
                    url.query, state = "", "query"
                elif c == "#":
                    url.fragment, state = "", "fragment"
                elif c != _EOF:
                    url.query = None
                    if segments:
                        segments.pop()
                    state, i = "path", i - 1
        elif state == "relative slash":
            assert base is not None
            if url.special and c in ("/", "\\"):
                state = "special authority ignore slashes"
            elif c == "/":
                state = "authority"
            else:
                url.username, url.password = base.username, base.password
                url.host, url.port = base.host, base.port
                state, i = "path", i - 1
        elif state == "special authority slashes":
            if c == "/" and text.startswith("/", i + 1):
                state, i = "special authority ignore slashes", i + 1
            else:
                state, i = "special authority ignore slashes", i - 1
        elif state == "special authority ignore slashes":
            if c not in ("/", "\\"):
                state, i = "authority", i - 1
        elif state == "authority":
            if c == "@":
                # the last @ ends the userinfo; earlier ones belong to it
                if at_seen:
                    buffer = "%40" + buffer
                at_seen = True
                for ch in buffer:
                    if ch == ":" and not password_seen:
                        password_seen = True
                    elif password_seen:
                        url.password += _encode(ch, _USERINFO)
                    else:
                        url.username += _encode(ch, _USERINFO)
                buffer = ""
            elif c in (_EOF, "?", "#") or slash:
                if at_seen and not buffer:
                    raise ValueError("userinfo without a host")
                i, buffer, state = i - len(buffer) - 1, "", "host"
            else:
                buffer += c
        elif state == "host":
            if c == ":" and not in_brackets:
                if not buffer:
                    raise ValueError("a port without a host")
                url.host, buffer, state = _host(buffer, not url.special), "", "port"
            elif c in (_EOF, "?", "#") or slash:
                i -= 1
                if url.special and not buffer:
                    raise ValueError("empty host")
                url.host, buffer, state = _host(buffer, not url.special), "", "path start"
            else:
                in_brackets = {"[": True, "]": False}.get(c, in_brackets)
                buffer += c
        elif state == "port":
            if c and c in "0123456789":
                buffer += c
            elif c in (_EOF, "?", "#") or slash:
                if buffer:
                    port = int(buffer)
                    if port > 65535:
                        raise ValueError(f"port {port} is out of range")
                    url.port = None if _SPECIAL.get(url.scheme) == port else port
                    buffer = ""
                state, i = "path start", i - 1
            else:
                raise ValueError(f"{c!r} in the port")
        elif state == "path start":
            if url.special:
                state = "path"
                if not slash:
                    i -= 1
            elif c == "?":
                url.query, state = "", "query"
            elif c == "#":
                url.fragment, state = "", "fragment"
            elif c != _EOF:
                state = "path"
                if c != "/":
                    i -= 1
        elif state == "path":
            if c in (_EOF, "?", "#") or slash:
                assert isinstance(url.path, list)
                segment = buffer.lower()
                if segment in ("..", ".%2e", "%2e.", "%2e%2e"):
                    if url.path:
                        url.path.pop()
                    if not slash:
                        url.path.append("")
                elif segment in (".", "%2e"):
                    if not slash:
                        url.path.append("")
                else:
                    url.path.append(buffer)
                buffer = ""
                if c == "?":
                    url.query, state = "", "query"
                elif c == "#":
                    url.fragment, state = "", "fragment"
            else:
                buffer += _encode(c, _PATH)
        elif state == "opaque path":
            if c == "?":
                url.query, state = "", "query"
            elif c == "#":
                url.fragment, state = "", "fragment"
            elif c != _EOF:
                url.path = str(url.path) + _encode(c, _C0)
        elif state == "query":
            if c in (_EOF, "#"):
                encode_set = _SPECIAL_QUERY if url.special else _QUERY
                url.query = (url.query or "") + "".join(_encode(ch, encode_set) for ch in buffer)
                buffer = ""
                if c == "#":
                    url.fragment, state = "", "fragment"
            else:
                buffer += c
        elif state == "fragment" and c != _EOF:
            url.fragment = (url.fragment or "") + _encode(c, _FRAGMENT)
        if i >= len(text):
            return url
        i += 1


def _host(text: str, opaque: bool) -> str:
    """The host parser: IPv6 in brackets, an opaque host, or a domain (maybe an IPv4 address)."""
    if text.startswith("["):
        if not text.endswith("]"):
            raise ValueError(f"unclosed IPv6 address {text[:60]!r}")
        return f"[{_ipv6(text[1:-1])}]"
    if opaque:
        if any(ch in _FORBIDDEN_HOST for ch in text):
            raise ValueError(f"forbidden code point in host {text[:60]!r}")
        return "".join(_encode(ch, _C0) for ch in text)
    try:
        domain = unquote_to_bytes(text).decode("utf-8")
        labels = [
            label.lower() if label.isascii() else idna.ToASCII(label).decode("ascii").lower()
            for label in _DOTS.split(domain)
        ]
    except UnicodeError as exc:
        raise ValueError(f"host {text[:60]!r} is not a valid domain: {exc}") from None
    ascii_domain = ".".join(labels)
    if any(ch in _FORBIDDEN_DOMAIN for ch in ascii_domain):
        raise ValueError(f"forbidden code point in host {ascii_domain[:60]!r}")
    return _ipv4(ascii_domain) if _ends_in_number(ascii_domain) else ascii_domain


def _ipv4_number(part: str) -> int | None:
    if not part:
        return None
    radix, digits = 10, "0123456789"
    if part[:2] in ("0x", "0X"):
        radix, digits, part = 16, "0123456789abcdefABCDEF", part[2:]
    elif len(part) > 1 and part[0] == "0":
        radix, digits, part = 8, "01234567", part[1:]
    if not part:
        return 0
    return int(part, radix) if all(ch in digits for ch in part) else None


def _ends_in_number(domain: str) -> bool:
    parts = domain.split(".")
    if parts[-1] == "":
        if len(parts) == 1:
            return False
        parts.pop()
    last = parts[-1]
    return bool(last) and all(ch in "0123456789" for ch in last) or _ipv4_number(last) is not None


def _ipv4(domain: str) -> str:
    """The IPv4 parser: 1 to 4 decimal, octal (0..) or hex (0x..) parts, the last fills the rest."""
    parts = domain.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    numbers = [_ipv4_number(part) for part in parts]
    if len(parts) > 4 or None in numbers:
        raise ValueError(f"{domain[:60]!r} ends in a number but is not an IPv4 address")
    values = [n for n in numbers if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise ValueError(f"IPv4 address {domain[:60]!r} is out of range")
    address = values[-1] + sum(n * 256 ** (3 - k) for k, n in enumerate(values[:-1]))
    return str(ipaddress.IPv4Address(address))


def _ipv6(text: str) -> str:
    """An IPv6 address serialized as the URL Standard does: lower-case hex, the first longest run of
    two or more zero pieces compressed, no embedded IPv4 form."""
    if "%" in text:  # zone identifiers are not allowed in URLs
        raise ValueError(f"zone identifier in IPv6 address {text[:60]!r}")
    try:
        packed = ipaddress.IPv6Address(text).packed
    except ValueError:
        raise ValueError(f"{text[:60]!r} is not an IPv6 address") from None
    pieces = [int.from_bytes(packed[k : k + 2], "big") for k in range(0, 16, 2)]
    start, length, k = -1, 1, 0
    while k < 8:
        end = k
        while end < 8 and pieces[end] == 0:
            end += 1
        if end - k > length:
            start, length = k, end - k
        k = max(end, k + 1)
    hexes = [f"{p:x}" for p in pieces]
    if start < 0:
        return ":".join(hexes)
    return ":".join(hexes[:start]) + "::" + ":".join(hexes[start + length :])


def _destination(how: How, raw: str, base: str) -> Destination:
    try:
        url = _parse(raw, _parse(base, None))
    except ValueError:
        return Destination(how, raw, raw, None, None, base)
    # a javascript: or data: URL is shown as written: its "resolution" only re-encodes the script
    shown = raw if url.scheme in ("javascript", "data") else url.serialize()
    return Destination(how, raw, shown, url.scheme, url.origin(), base)


# HTML pages

_SNIFFED = re.compile(
    rb"\s*<(?:!doctype html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p"
    rb"|!--)[\s>]",
    re.IGNORECASE,
)
_SCRIPT_TYPES = frozenset({"", "text/javascript", "application/javascript", "module"})
_JS_STRING = r"""(?P<q>["'`])(?P<s>(?:\\[\s\S]|(?!(?P=q))[^\\])*)(?P=q)"""
# location = "...", window.location.href = '...', top.location.replace(`...`), document.location...:
# only one string literal as the whole value (a concatenation is not a constant destination)
_NAVIGATION = re.compile(
    r"(?<![\w$.])(?:(?:window|self|top|parent|document)\s*\.\s*)*location"
    r"(?:(?:\s*\.\s*href)?\s*=(?!=)|\s*\.\s*(?:replace|assign)\s*\()\s*"
    + _JS_STRING
    + r"(?=\s*\)|[ \t]*(?:[;,}\r\n]|//|$))"
)
_SUBMIT = re.compile(r"\.\s*(submit|requestSubmit|click)\s*\(\s*\)")
# the expression before .submit(): which form it names
_FORM_INDEX = re.compile(
    r"(?:forms|getElementsByTagName\s*\(\s*[\"']form[\"']\s*\))\s*\[\s*(\d+)\s*\]"
)
_CONTROL_INDEX = re.compile(
    r"getElementsByTagName\s*\(\s*[\"'](input|button)[\"']\s*\)\s*\[\s*(\d+)\s*\]"
)
_BY_NAME = re.compile(
    r"forms\s*(?:\[\s*[\"']([^\"']+)[\"']\s*\]|\.\s*([A-Za-z_$][\w$]*))"
    r"|getElementById\s*\(\s*[\"']([^\"']+)[\"']\s*\)"
    r"|querySelector\s*\(\s*[\"']#([\w-]+)[\"']\s*\)"
)
# a script that waits for the page before it submits a form further down
_WAITS = re.compile(r"onload|[\"'](?:load|DOMContentLoaded|readystatechange)[\"']")
_JS_ESCAPE = re.compile(r"\\(u\{[0-9a-fA-F]{1,6}\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|\r\n|[\s\S])")
_JS_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def _is_html(response: httpx.Response) -> bool:
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind:
        return kind in ("text/html", "application/xhtml+xml")
    # no content-type: browsers sniff the first bytes (https://mimesniff.spec.whatwg.org/, 7.1)
    return bool(_SNIFFED.match(response.content[:512]))


def _js_string(literal: str) -> str:
    """The value of a JavaScript string literal's body (escapes decoded)."""

    def unescape(match: re.Match[str]) -> str:
        escape = match.group(1)
        if escape.startswith("u{"):
            point = int(escape[2:-1], 16)
            return chr(point) if point <= 0x10FFFF else ""
        if escape[0] in "ux" and len(escape) > 2:
            return chr(int(escape[1:], 16))
        if escape in ("\n", "\r", "\r\n", "\u2028", "\u2029"):
            return ""  # a line continuation
        return _JS_SIMPLE.get(escape, escape)

    return _JS_ESCAPE.sub(unescape, literal)


def _refresh(how: How, content: str, base: str, document: str) -> Destination | None:
    """The URL Standard's shared declarative refresh steps: "5; url='/next'" and variants."""
    text, i = content, 0
    ws = " \t\n\f\r"
    while i < len(text) and text[i] in ws:
        i += 1
    start = i
    while i < len(text) and text[i] in "0123456789":
        i += 1
    if i == start and not text.startswith(".", i):
        return None
    while i < len(text) and text[i] in "0123456789.":
        i += 1
    if i < len(text):
        if text[i] not in ";," + ws:
            return None
        while i < len(text) and text[i] in ws:
            i += 1
        if i < len(text) and text[i] in ";,":
            i += 1
        while i < len(text) and text[i] in ws:
            i += 1
    if i >= len(text):
        return _destination(how, "", document)  # no URL: the page refreshes itself
    url_string = text[i:]
    unquote = url_string[:3].lower() != "url"
    if not unquote:
        i += 3
        while i < len(text) and text[i] in ws:
            i += 1
        if text.startswith("=", i):
            # "url=" may be followed by a quoted URL; "urlx" is a relative URL that starts "url"
            unquote, i = True, i + 1
            while i < len(text) and text[i] in ws:
                i += 1
            url_string = text[i:]
    if unquote and url_string[:1] in ("'", '"'):
        url_string = url_string[1:].split(url_string[0], 1)[0]
    return _destination(how, url_string, base)


@dataclass
class _Form:
    attrs: dict[str, str]


@dataclass
class _Control:
    """An input or button: the form it belongs to, and the entry it adds to a submission."""

    tag: str
    id: str
    #: (name, value) submitted, or None (a button, an unchecked box, a field without a name...)
    entry: tuple[str, str] | None
    submits: bool
    form: _Form | None
    form_attr: str | None


class _Page(HTMLParser):
    """The parts of a page that move the browser: scripts, onload, meta refresh, forms, base."""

    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.document = base
        self.base_href: str | None = None
        self.meta_refresh: str | None = None
        self.onload: str | None = None
        self.forms: list[_Form] = []
        self.controls: list[_Control] = []
        #: script-time navigations in document order: ("script", the URL), or the method that
        #: submits ("submit", "requestSubmit", "click") with the expression before it
        self.events: list[tuple[str, str]] = []
        self._form: _Form | None = None
        self._script: list[str] | None = None
        self._noscript = 0

    @classmethod
    def read(cls, response: httpx.Response, base: str) -> _Page:
        page = cls(base)
        try:
            page.feed(response.content[:MAX_PAGE].decode(response.encoding or "utf-8", "replace"))
            page.close()
        except AssertionError:  # html.parser gives up on some broken declarations
            pass
        return page

    def handle_starttag(self, tag: str, attr_list: list[tuple[str, str | None]]) -> None:
        attrs: dict[str, str] = {}
        for key, value in attr_list:
            attrs.setdefault(key, value or "")  # the first of repeated attributes wins
        if tag == "noscript":
            # scripts run in the browsers that matter, so what noscript holds is plain text to them
            self._noscript += 1
        if self._noscript:
            return
        if tag == "script" and "src" not in attrs:
            if attrs.get("type", "").strip().lower() in _SCRIPT_TYPES:
                self._script = []
        elif tag == "base" and self.base_href is None and "href" in attrs:
            self.base_href = attrs["href"]
        elif tag == "meta" and attrs.get("http-equiv", "").strip().lower() == "refresh":
            if self.meta_refresh is None:  # only the first one is acted on
                self.meta_refresh = attrs.get("content", "")
        elif tag in ("body", "frameset") and "onload" in attrs and self.onload is None:
            self.onload = attrs["onload"]
        elif tag == "form" and self._form is None:  # nested forms are ignored by browsers
            self._form = _Form(attrs)
            self.forms.append(self._form)
        elif tag in ("input", "button"):
            self.controls.append(_control(tag, attrs, self._form))

    def handle_endtag(self, tag: str) -> None:
        if tag == "noscript" and self._noscript:
            self._noscript -= 1
        elif tag == "form":
            self._form = None
        elif tag == "script" and self._script is not None:
            self._scan("".join(self._script), at_load=False)
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script.append(data)

    def _scan(self, script: str, at_load: bool) -> None:
        """Record the first navigation or submission of a script (or of an onload attribute)."""
        navigation = _NAVIGATION.search(script)
        if navigation and navigation.group("q") == "`" and "${" in navigation.group("s"):
            navigation = None  # a template with substitutions is no constant URL
        submit = _SUBMIT.search(script)
        if navigation and (submit is None or navigation.start() < submit.start()):
            self.events.append(("script", _js_string(navigation.group("s"))))
        # a submission before any form can only work once the page has loaded
        elif submit and (at_load or self.forms or _WAITS.search(script)):
            expression = re.split(r"[;{}\n]", script[: submit.start()])[-1]
            self.events.append((submit.group(1), expression))

    def destination(self, refresh_header: str | None) -> Destination | None:
        if self.onload is not None:
            self._scan(self.onload, at_load=True)
        base = self.document
        if self.base_href is not None:
            try:
                base = browser_resolve(self.document, self.base_href)
            except ValueError:
                pass  # a <base href> that does not parse is ignored
        for kind, text in self.events:
            if kind == "script":
                return _destination("script", text, base)
            form = self._clicked(text) if kind == "click" else self._named(text)
            if form is not None:
                return self._submitted(form, base)
        if refresh_header:
            return _refresh("refresh-header", refresh_header, base, self.document)
        if self.meta_refresh is not None:
            return _refresh("meta-refresh", self.meta_refresh, base, self.document)
        return None

    def _owner(self, control: _Control) -> _Form | None:
        if control.form_attr is None:
            return control.form
        return next((f for f in self.forms if f.attrs.get("id") == control.form_attr), None)

    def _named(self, expression: str) -> _Form | None:
        """The form an expression before .submit() names; the first form when it cannot tell."""
        index = _FORM_INDEX.search(expression)
        if index:
            position = int(index.group(1))
            return self.forms[position] if position < len(self.forms) else None
        named = _BY_NAME.search(expression)
        if named:
            key = next(group for group in named.groups() if group)
            for form in self.forms:
                if key in (form.attrs.get("id"), form.attrs.get("name")):
                    return form
            return next((self._owner(c) for c in self.controls if c.id == key), None)
        return self.forms[0] if self.forms else None

    def _clicked(self, expression: str) -> _Form | None:
        """The form whose submit button an expression before .click() names, if it names one."""
        control: _Control | None = None
        index = _CONTROL_INDEX.search(expression)
        named = _BY_NAME.search(expression)
        if index:
            of_tag = [c for c in self.controls if c.tag == index.group(1)]
            position = int(index.group(2))
            control = of_tag[position] if position < len(of_tag) else None
        elif named:
            key = next(group for group in named.groups() if group)
            control = next((c for c in self.controls if c.id == key), None)
        return self._owner(control) if control is not None and control.submits else None

    def _submitted(self, form: _Form, base: str) -> Destination:
        action = form.attrs.get("action", "")
        # an empty action submits to the document's own URL, not to the base
        found = _destination("form", action, base if action.strip() else self.document)
        method = form.attrs.get("method", "get").strip().lower()
        if method == "post" or found.scheme in (None, "javascript", "data"):
            return found
        # a GET form replaces the action's query with its fields
        url = _parse(found.url, None)
        entries = [c.entry for c in self.controls if c.entry and self._owner(c) is form]
        url.query = urlencode(entries)
        return replace(found, url=url.serialize())


def _control(tag: str, attrs: dict[str, str], form: _Form | None) -> _Control:
    kind = attrs.get("type", "submit" if tag == "button" else "text").strip().lower()
    submits = kind in ("submit", "image")
    entry: tuple[str, str] | None = None
    # a submission's own button adds nothing here: the page is judged by where it goes, not by what
    # it sends
    checkable = kind in ("checkbox", "radio")
    if (
        tag == "input"
        and not submits
        and kind not in ("reset", "button", "file")
        and attrs.get("name")
        and "disabled" not in attrs
        and (not checkable or "checked" in attrs)
    ):
        entry = (attrs["name"], attrs.get("value", "on" if checkable else ""))
    return _Control(tag, attrs.get("id", ""), entry, submits, form, attrs.get("form"))
