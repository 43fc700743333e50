"""Open redirects after logout (CWE-601): https://cwe.mitre.org/data/definitions/601.html

The corpus (``fixtures/return-to/corpus.yaml``) holds return values built from a registered URL,
each with what three dialects must do with it: ``exact`` (OpenID Connect post_logout_redirect_uri),
``allowlist`` (Auth0 returnTo) and ``app`` (an application's own return parameter). The checks look
at where the browser really went (``harness.redirects.destination``). One check per requirement,
since the same observation proves a different rule depending on the dialect and the case:
``REFUSED``, ``FOLLOWED`` and ``EITHER`` map requirement ids to them, and ``judge`` picks the one a
case calls for.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast
from urllib.parse import unquote, unquote_plus, urlsplit

from harness import yamlsrc
from harness.checks import check
from harness.errors import ConfigError, Violation
from harness.redact import REDACTOR
from harness.redirects import HOW, Destination, browser_resolve, origin_of

__all__ = [
    "DEFAULT",
    "DIALECTS",
    "EITHER",
    "EVIL",
    "FOLLOWED",
    "REFUSED",
    "Case",
    "Corpus",
    "Dialect",
    "Outcome",
    "judge",
    "load_corpus",
]

DEFAULT = Path(__file__).resolve().parents[1] / "fixtures" / "return-to" / "corpus.yaml"
Dialect = Literal["exact", "allowlist", "app"]
Outcome = Literal["follow", "refuse", "either"]
DIALECTS: tuple[Dialect, ...] = ("exact", "allowlist", "app")
#: the host nobody registered (RFC 2606 keeps .example for documentation)
EVIL = "evil.example"

#: (refusal, following) requirement of each dialect; "either" is judged under the refusal's
_USUAL: dict[Dialect, tuple[str, str]] = {
    "exact": ("OIDCRIL-3-exact", "OIDCRIL-3-redirect"),
    "allowlist": ("AUTH0-returnTo-allowlist", "AUTH0-returnTo-followed"),
    "app": ("LOGOUT-RT-offsite", "LOGOUT-RT-followed"),
}
_WILDCARD_REFUSAL = "AUTH0-returnTo-wildcard"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)\}")
# Cyrillic letters that look like Latin ones (IDN homographs)
_CYRILLIC = {"a": "а", "c": "с", "e": "е", "o": "о", "p": "р", "x": "х", "y": "у"}
#: characters of a value shown in a message; longer ones are cut and their length given
_SHOWN = 120
#: the registered URL the corpus is validated with, and its offsite flags are judged for
_SAMPLE_REGISTERED = "https://app.example.com/logged-out"


@dataclass(frozen=True, eq=False)
class Case:
    """One return value of the corpus and what each dialect must do with it."""

    id: str
    #: a template over the registered URL ({registered}, {host}, {evil}...)
    value: str
    #: one sentence: the rule or trick it tests
    tests: str
    #: whether the browser leaves the host of https://app.example.com/logged-out (see ``leaves``)
    offsite: bool
    expect: Mapping[Dialect, Outcome]
    requirements: Mapping[Dialect, str]
    wildcard: bool = False
    pad_to: int | None = None

    def render(self, registered: str, **extra: str) -> str:
        """The value for a registered URL; ``extra`` adds or replaces placeholders (``evil=``)."""
        values = {**_placeholders(registered), **extra}
        if self.pad_to is None:
            return _fill(self.value, values)
        short = _fill(self.value, {**values, "padding": ""})
        return _fill(self.value, {**values, "padding": "a" * max(0, self.pad_to - len(short))})

    def leaves(self, registered: str, value: str) -> bool:
        """Whether a browser following ``value`` from the registered page leaves its host (a
        trailing dot aside) or runs script; for wildcard cases, the hosts under ``{domain}``.

        A value the browser cannot parse goes nowhere.
        """
        try:
            resolved = browser_resolve(registered, value)
        except ValueError:
            return False
        scheme = resolved.split(":", 1)[0]
        if scheme in ("javascript", "data"):
            return True
        host = _host_of(resolved) if scheme in _DEFAULT_PORTS else None
        if host is None:
            return True
        host = host.rstrip(".")  # a trailing dot names the same host in DNS
        if self.wildcard:
            domain = _placeholders(registered)["domain"]
            return not (host == domain or host.endswith("." + domain))
        return host != (_host_of(browser_resolve(None, registered)) or "").rstrip(".")

    def expectation(self, dialect: Dialect, registered: str, value: str) -> Outcome:
        """What ``dialect`` must do with ``value``: the corpus says, but what leaves the registered
        host is refused everywhere (the corpus's offsite was judged for one registered URL)."""
        outcome = self.expect[dialect]
        return "refuse" if outcome != "refuse" and self.leaves(registered, value) else outcome

    def requirement(self, dialect: Dialect, outcome: Outcome) -> str:
        """The requirement a dialect judges this case under, for an expected outcome."""
        if dialect in self.requirements:
            return self.requirements[dialect]
        refusal, following = _USUAL[dialect]
        if self.wildcard:
            refusal = _WILDCARD_REFUSAL
        return following if outcome == "follow" else refusal


@dataclass(frozen=True)
class Corpus:
    """The open-redirect corpus: cases for every dialect, and wildcard cases for the allowlist."""

    file: str
    cases: tuple[Case, ...]
    #: the allowlist entry the wildcard cases are judged against, a template like the values
    wildcard_entry: str
    wildcard: tuple[Case, ...]

    def for_dialect(self, dialect: Dialect) -> tuple[Case, ...]:
        """The cases a dialect runs: the wildcard ones only for the allowlist."""
        return self.cases + self.wildcard if dialect == "allowlist" else self.cases

    def entry(self, registered: str, **extra: str) -> str:
        """The wildcard allowlist entry for a registered URL."""
        return _fill(self.wildcard_entry, {**_placeholders(registered), **extra})

    def get(self, case_id: str) -> Case:
        for case in self.cases + self.wildcard:
            if case.id == case_id:
                return case
        raise KeyError(f"no case {case_id!r} in {self.file}")


def load_corpus(path: str | Path = DEFAULT) -> Corpus:
    """Load and validate the corpus; a mistake is a ``ConfigError`` naming file and line."""
    doc = yamlsrc.load(path)
    yamlsrc.validate(doc, "return-to-corpus")
    seen: set[str] = set()
    cases = tuple(
        _case(doc, ("cases", i), item, False, seen) for i, item in enumerate(doc.data["cases"])
    )
    wildcard = doc.data["wildcard"]
    try:
        _fill(wildcard["entry"], _placeholders(_SAMPLE_REGISTERED))
    except ConfigError as exc:
        raise doc.error(("wildcard", "entry"), exc.message) from None
    wildcard_cases = tuple(
        _case(doc, ("wildcard", "cases", i), item, True, seen)
        for i, item in enumerate(wildcard["cases"])
    )
    return Corpus(doc.file, cases, wildcard["entry"], wildcard_cases)


def _case(
    doc: yamlsrc.Document,
    at: tuple[str | int, ...],
    item: dict[str, object],
    wildcard: bool,
    seen: set[str],
) -> Case:
    case = Case(
        id=str(item["id"]),
        value=str(item["value"]),
        tests=str(item["tests"]),
        offsite=bool(item["offsite"]),
        expect=cast(dict[Dialect, Outcome], item["expect"]),
        requirements=cast(dict[Dialect, str], item.get("requirements", {})),
        wildcard=wildcard,
        pad_to=cast(int | None, item.get("pad_to")),
    )
    if case.id in seen:
        raise doc.error((*at, "id"), f"case id {case.id!r} is used twice")
    seen.add(case.id)
    if (case.pad_to is None) != ("{padding}" not in case.value):
        raise doc.error((*at, "value"), "pad_to and {padding} in the value go together")
    try:
        case.render(_SAMPLE_REGISTERED)
    except ConfigError as exc:
        raise doc.error((*at, "value"), exc.message) from None
    for dialect, requirement in case.requirements.items():
        # any case may turn into a refusal (see Case.expectation), so it needs a refusal check
        tables = [REFUSED] + ([FOLLOWED] if case.expect[dialect] == "follow" else [])
        if not all(requirement in table for table in tables):
            raise doc.error(
                (*at, "requirements", dialect),
                f"no return-to check for {requirement} with expect {case.expect[dialect]}",
            )
    return case


# The template placeholders


def _placeholders(registered: str) -> dict[str, str]:
    try:
        canonical = browser_resolve(None, registered)
    except ValueError as exc:
        raise ConfigError(
            f"the registered return URL {registered[:_SHOWN]!r} is not absolute: {exc}"
        ) from None
    parts = urlsplit(canonical)
    if parts.scheme not in _DEFAULT_PORTS:
        raise ConfigError(f"the registered return URL {registered[:_SHOWN]!r} is not http or https")
    host = _host_of(canonical) or ""
    default = _DEFAULT_PORTS[parts.scheme]
    if parts.port is None:
        other_port = 8443 if parts.scheme == "https" else 8080
    else:
        other_port = parts.port + 1 if parts.port < 65535 else parts.port - 1
    lookalike = _lookalike(host)
    try:
        punycode = lookalike.encode("idna").decode("ascii")
    except UnicodeError as exc:  # an empty or overlong label
        raise ConfigError(f"the registered host {host!r} is not a usable domain: {exc}") from None
    port = "" if parts.port is None else f":{parts.port}"
    return {
        "registered": registered,
        "scheme": parts.scheme,
        "other_scheme": "http" if parts.scheme == "https" else "https",
        "host": host,
        "port": port,
        "other_port": f":{other_port}",
        "default_port": str(default),
        "path": parts.path,
        "path_encoded": parts.path.replace("/", "%2F"),
        "origin": f"{parts.scheme}://{host}{port}",
        "evil": EVIL,
        "domain": _domain(host),
        "lookalike": lookalike,
        "lookalike_punycode": punycode,
    }


def _fill(template: str, values: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        if name.isupper() and name.lower() in values:  # {HOST}: the host in upper case
            return values[name.lower()].upper()
        raise ConfigError(f"unknown placeholder {{{name}}} (known: {', '.join(sorted(values))})")

    return _PLACEHOLDER.sub(value, template)


def _host_of(canonical: str) -> str | None:
    """The host of a serialized URL (IPv6 in its brackets), None when it has none."""
    netloc = urlsplit(canonical).netloc.rpartition("@")[2]
    return (re.sub(r":\d*$", "", netloc) if not netloc.endswith("]") else netloc) or None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _domain(host: str) -> str:
    """The host without its first label, for a wildcard entry: an IP address has no labels, so
    loopback names stand in (browsers resolve *.localhost to loopback); a host of two labels or
    fewer stays whole, so that the * is never a top-level domain's only label."""
    if _is_ip(host):
        return "localhost"
    labels = host.split(".")
    return ".".join(labels[1:]) if len(labels) > 2 else host


def _lookalike(host: str) -> str:
    name = "localhost" if _is_ip(host) else host
    for i, letter in enumerate(name):
        if letter in _CYRILLIC:
            return name[:i] + _CYRILLIC[letter] + name[i + 1 :]
    return "l" + _CYRILLIC["o"] + "calhost"  # a host without any letter that has a look-alike


# The checks


def _shown(text: str) -> str:
    """A value for a message: control and non-ASCII characters escaped (a Cyrillic а must not pass
    for a Latin a), cut after ``_SHOWN`` characters."""
    if len(text) <= _SHOWN:
        return ascii(text)
    return f"{text[:_SHOWN]!a}… ({len(text)} characters)"


def _about(rule: Case) -> str:
    return f"case {rule.id} ({rule.tests.rstrip('.')})"


def _went(destination: Destination) -> str:
    where = _shown(REDACTOR.text(destination.url))
    text = f"{HOW[destination.how]} sent the browser to {where}"
    if destination.scheme is None:
        return text + ", which a browser cannot parse"
    if not destination.raw:
        return text + " (the page refreshing itself)"
    if destination.raw != destination.url:
        text += f" (written {_shown(REDACTOR.text(destination.raw))})"
    return text


def _no_fragment(url: str) -> str:
    return url.partition("#")[0]


def _without(url: str, extra: Mapping[str, str], keep_mark: bool) -> str:
    """``url`` without its fragment and without one ``name=value`` of each extra parameter."""
    head, mark, query = _no_fragment(url).partition("?")
    left = dict(extra)
    kept = []
    for pair in query.split("&") if mark else []:
        key, _, value = pair.partition("=")
        name = unquote_plus(key)
        if name in left and left[name] in (unquote_plus(value), unquote(value)):
            del left[name]
        else:
            kept.append(pair)
    return head + ("?" + "&".join(kept) if kept or keep_mark else "")


def _arrives(destination: Destination, value: str, extra_query: Mapping[str, str] | None) -> bool:
    """Whether the browser goes to ``value`` (fragment aside; plus ``extra_query`` if given)."""
    if destination.raw == value:
        return True
    try:
        target = _no_fragment(browser_resolve(destination.base, value))
    except ValueError:
        return False
    if destination.scheme is None:
        return False
    if _no_fragment(destination.url) == target:
        return True
    return (
        bool(extra_query) and _without(destination.url, extra_query or {}, "?" in target) == target
    )


def _refusal_problem(
    destination: Destination, value: str, allowed: Collection[str], own_origins: Collection[str]
) -> str | None:
    """Why going to ``destination`` is no refusal of ``value``, or None when it is one."""
    if _arrives(destination, value, None):
        return "that is the value itself"
    if destination.scheme in ("javascript", "data"):
        return f"a {destination.scheme}: URL is never a refusal"
    if destination.scheme is None:
        return "no refusal: a browser that parses it otherwise may follow it"
    if destination.origin is not None and destination.origin in _origins(own_origins):
        return None
    if _no_fragment(destination.url) in {_no_fragment(_absolute(url)) for url in allowed}:
        return None
    where = destination.origin or f"a {destination.scheme}: URL"
    return f"{where} is neither the target's own origin nor an allowed URL"


def _origins(urls: Iterable[str]) -> set[str]:
    origins = set()
    for url in urls:
        origin = origin_of(url)
        if origin is None:
            raise ConfigError(f"own origin {url[:_SHOWN]!r} is not an absolute http(s) URL")
        origins.add(origin)
    return origins


def _absolute(url: str) -> str:
    try:
        return browser_resolve(None, url)
    except ValueError as exc:
        raise ConfigError(f"allowed URL {url[:_SHOWN]!r} is not absolute: {exc}") from None


def _refused(
    destination: Destination | None,
    value: str,
    allowed: Collection[str],
    own_origins: Collection[str],
    rule: Case,
) -> None:
    """The browser goes neither to ``value`` nor off-site.

    Acceptable: no move (None), a page of ``own_origins`` (the target's own), exactly one of the
    ``allowed`` URLs (fragment aside); never a javascript: or data: URL, nor one that does not
    parse.
    """
    if destination is None:
        return
    problem = _refusal_problem(destination, value, allowed, own_origins)
    if problem is not None:
        raise Violation(
            expected=f"{_about(rule)}: {_shown(value)} refused, the browser sent neither there nor"
            " off-site",
            seen=f"{_went(destination)}: {problem}",
        )


def _followed(
    destination: Destination | None,
    value: str,
    rule: Case,
    extra_query: Mapping[str, str] | None = None,
) -> None:
    """The browser ends at ``value`` (fragment aside), with ``extra_query`` parameters (an OIDC
    ``state``) accepted in its query when given."""
    added = ", ".join(f"{name}=" for name in extra_query or {})
    expected = f"{_about(rule)}: the browser sent to {_shown(value)}" + (
        f" ({added} may be added)" if added else ""
    )
    if destination is None:
        raise Violation(expected=expected, seen="no redirect: the browser stays on the last page")
    if not _arrives(destination, value, extra_query):
        raise Violation(expected=expected, seen=_went(destination))


def _either(
    destination: Destination | None,
    value: str,
    allowed: Collection[str],
    own_origins: Collection[str],
    rule: Case,
    extra_query: Mapping[str, str] | None = None,
) -> None:
    """The browser goes to ``value``, or it is refused as ``_refused`` says: never a third place."""
    if destination is None or _arrives(destination, value, extra_query):
        return
    problem = _refusal_problem(destination, value, allowed, own_origins)
    if problem is not None:
        raise Violation(
            expected=f"{_about(rule)}: the browser sent to {_shown(value)}, or the value refused"
            " (neither there nor off-site), never a third place",
            seen=f"{_went(destination)}: {problem}",
        )


def _per_requirement(fn: Callable[..., None], ids: Iterable[str]) -> dict[str, Callable[..., None]]:
    return {requirement: check(requirement)(fn) for requirement in sorted(set(ids))}


_REFUSALS = [
    "OIDCRIL-3-exact",
    "AUTH0-returnTo-allowlist",
    "AUTH0-returnTo-wildcard",
    "AUTH0-returnTo-query",
    "AUTH0-returnTo-lists",
    "LOGOUT-RT-offsite",
]
#: (destination, value, allowed, own_origins, rule): neither to the value nor off-site
REFUSED = _per_requirement(_refused, _REFUSALS)
#: (destination, value, rule, extra_query=None): the browser ends at the value
FOLLOWED = _per_requirement(
    _followed,
    ["OIDCRIL-3-redirect", "AUTH0-returnTo-followed", "AUTH0-returnTo-query", "LOGOUT-RT-followed"],
)
#: (destination, value, allowed, own_origins, rule, extra_query=None): followed or refused
EITHER = _per_requirement(_either, _REFUSALS)


def judge(
    case: Case,
    dialect: Dialect,
    registered: str,
    value: str,
    destination: Destination | None,
    *,
    allowed: Collection[str] = (),
    own_origins: Collection[str] = (),
    extra_query: Mapping[str, str] | None = None,
) -> None:
    """Run the check ``case`` calls for in ``dialect`` on where the browser went after ``value``."""
    outcome = case.expectation(dialect, registered, value)
    requirement = case.requirement(dialect, outcome)
    if outcome == "follow":
        FOLLOWED[requirement](destination, value, case, extra_query)
    elif outcome == "refuse":
        REFUSED[requirement](destination, value, allowed, own_origins, case)
    else:
        EITHER[requirement](destination, value, allowed, own_origins, case, extra_query)
