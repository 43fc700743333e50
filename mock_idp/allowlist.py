"""Auth0's Allowed Logout URLs: comma-separated entries, `*` for one subdomain label, the query and fragment of returnTo left out of the match (https://auth0.com/docs/authenticate/login/logout#redirect-users-after-logout)."""

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import SplitResult, unquote, urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
# What a Location header can carry unchanged: printable ASCII, no spaces. Checked whatever the
# faults, so that no fault can put a control character or a header break into an answer.
_SENDABLE = re.compile(r"[!-~]+")
# What `*` stands for: one DNS label (hosts are compared in lower case).
_LABEL = re.compile(r"[a-z0-9-]+")
# auth0-wildcard-crosses-dots: any number of labels.
_LABELS = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)*")
# Parsed lists kept for the next request: at most this many distinct list texts.
CACHED_LISTS = 1024


class AllowlistError(ValueError):
    """An Allowed Logout URLs entry that Auth0 would refuse to save."""


@dataclass(frozen=True)
class Address:
    """What the match compares: scheme, host (lower case), port (the default filled in), path
    (raw; "/" when empty), and the query and fragment that only a fault compares."""

    scheme: str
    host: str
    port: int
    path: str
    query: str = ""
    fragment: str = ""


@dataclass(frozen=True)
class Entry:
    # As configured: auth0-prefix-match compares returnTo with this text.
    text: str
    # For a wildcard entry, the host is what follows "*.".
    address: Address
    wildcard: bool


@lru_cache(maxsize=CACHED_LISTS)
def parse_list(text: str) -> tuple[Entry, ...]:
    """The entries of a comma-separated list (whitespace around commas and empty items ignored)."""
    return tuple(parse_entry(item.strip()) for item in text.split(",") if item.strip())


def parse_entry(text: str) -> Entry:
    """One entry, or AllowlistError saying what Auth0 would object to."""
    if not _SENDABLE.fullmatch(text) or "\\" in text:
        raise AllowlistError(
            f"{text!r} has whitespace, a control character, a backslash or non-ASCII text"
        )
    if "://" not in text:
        # Auth0: "*.example.com will result in a validation error ... use http://*.example.com".
        raise AllowlistError(
            f"{text!r} has no scheme: write http://{text} or https://{text}, as Auth0 requires"
        )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:  # a bad port or [IPv6] host
        raise AllowlistError(f"{text!r} is not a URL: {error}") from error
    if parts.scheme not in DEFAULT_PORTS:
        raise AllowlistError(f"{text!r}: the scheme must be http or https")
    if "@" in parts.netloc:
        raise AllowlistError(f"{text!r} has userinfo (an @ before the host)")
    if "?" in text or "#" in text:
        raise AllowlistError(
            f"{text!r} has a query or fragment, which Auth0 leaves out of the match: remove it"
        )
    host = parts.hostname or ""
    wildcard = host.startswith("*.")
    if wildcard:
        host = host[2:]
    if not host:
        raise AllowlistError(f"{text!r} has no host")
    if "*" in host:
        raise AllowlistError(
            f"{text!r}: * may only be the whole first label of the host (http://*.example.com)"
        )
    address = Address(parts.scheme, host, _port(parts.scheme, port), parts.path or "/")
    return Entry(text, address, wildcard)


class ReturnToMatcher:
    """Whether a returnTo value is in a list: the value must be an absolute http(s) URL with a host
    and neither userinfo nor anything a browser would read differently."""

    def __init__(self, faults: frozenset[str]) -> None:
        self.faults = faults

    def allowed(self, value: str, entries: tuple[Entry, ...]) -> bool:
        if not _SENDABLE.fullmatch(value):
            return False
        if "auth0-decodes-returnTo" in self.faults:
            # Matched decoded, followed as sent: %2F, %3F and %40 mean one thing to each.
            value = unquote(value)
        return any(self._matches(value, entry) for entry in entries)

    def _matches(self, value: str, entry: Entry) -> bool:
        if "auth0-prefix-match" in self.faults and value.startswith(entry.text):
            return True
        if "auth0-scheme-relative" in self.faults:
            value = _as_browser_resolves(value, entry.address.scheme)
        address = self._read(value)
        if address is None:
            return False
        expected = entry.address
        if "auth0-query-compared" in self.faults and (address.query, address.fragment) != (
            expected.query,
            expected.fragment,
        ):
            return False
        if entry.wildcard:
            return (
                self._wildcard_host(address.host, expected.host)
                and address.path == expected.path
                and (
                    "auth0-wildcard-any-scheme" in self.faults
                    or (address.scheme, address.port) == (expected.scheme, expected.port)
                )
            )
        same_host = address.host == expected.host
        if "auth0-host-suffix-match" in self.faults:
            same_host = address.host.endswith(expected.host)
        return same_host and (address.scheme, address.port, address.path) == (
            expected.scheme,
            expected.port,
            expected.path,
        )

    def _read(self, value: str) -> Address | None:
        """The value as an absolute http(s) URL, or None for anything else."""
        if not _SENDABLE.fullmatch(value) or "\\" in value:
            # urlsplit would quietly drop tabs and newlines; browsers read \ as /.
            return None
        try:
            parts = urlsplit(value)
        except ValueError:
            return None
        if parts.scheme not in DEFAULT_PORTS:
            return None  # no scheme (//host), javascript:, data:, ...
        if "@" in parts.netloc:
            if "auth0-userinfo-confused" not in self.faults:
                return None
            # What a parser that stops at the @ takes for the host.
            parts = parts._replace(netloc=parts.netloc.partition("@")[0])
        return _address(parts)

    def _wildcard_host(self, host: str, suffix: str) -> bool:
        if not host.endswith("." + suffix):
            return False
        label = host[: -len(suffix) - 1]
        pattern = _LABELS if "auth0-wildcard-crosses-dots" in self.faults else _LABEL
        return pattern.fullmatch(label) is not None


def _address(parts: SplitResult) -> Address | None:
    try:
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if not host:
        return None  # https:host, https:///path
    return Address(
        parts.scheme,
        host,
        _port(parts.scheme, port),
        parts.path or "/",
        parts.query,
        parts.fragment,
    )


def _port(scheme: str, port: int | None) -> int:
    return DEFAULT_PORTS[scheme] if port is None else port


def _as_browser_resolves(value: str, scheme: str) -> str:
    """auth0-scheme-relative: //host/... takes the entry's scheme, and https:host reads as
    https://host, as a browser reads them from a page on another scheme."""
    if value.startswith("//"):
        return f"{scheme}:{value}"
    head, colon, rest = value.partition(":")
    if colon and head.lower() in DEFAULT_PORTS and not rest.startswith("//"):
        return f"{head}://{rest}"
    return value
