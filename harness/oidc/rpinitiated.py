"""OpenID Connect RP-Initiated Logout 1.0: https://openid.net/specs/openid-connect-rpinitiated-1_0.html

Checks on what an RP-initiated logout showed: the discovery document, the Logout Endpoint's answers,
the ``Location`` the OP sent the browser to (None when it did not redirect), and what the step
learnt about the OP session. A ``location`` that is relative stays at the OP: it is never the RP.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, unquote_plus, urlsplit

from harness.checks import check, describe_body
from harness.errors import ConfigError, Violation

__all__ = [
    "asked_before_logout",
    "end_session_published",
    "endpoint_accepts",
    "expired_hint_accepted",
    "https_endpoint",
    "invalid_hint_not_used",
    "no_redirect_on_client_mismatch",
    "no_redirect_to",
    "no_redirect_with_invalid_hint",
    "no_redirect_without_hint",
    "not_logged_in_ok",
    "redirected_to",
    "same_target",
    "session_ended",
    "state_returned",
]

_DEFAULT_PORTS = {"http": 80, "https": 443}
#: answers that say "this method is not served here"
_NOT_SERVED = {
    404: "Not Found",
    405: "Method Not Allowed",
    415: "Unsupported Media Type",
    501: "Not Implemented",
}
_SHOWN = 200


@dataclass(frozen=True)
class _Url:
    scheme: str
    host: str
    port: int | None
    path: str
    query: str
    fragment: str


def _parse(url: str | None) -> _Url | None:
    """An absolute URL's parts (host lower-cased, default port filled in), or None if not absolute."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # a bad port or a broken IPv6 literal
        return None
    if not parts.scheme:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if parts.netloc and not host:
        return None
    return _Url(
        scheme,
        host,
        port or _DEFAULT_PORTS.get(scheme),
        parts.path or "/",
        parts.query,
        parts.fragment,
    )


def _absolute(uri: str) -> _Url:
    parsed = _parse(uri)
    if parsed is None:
        raise ConfigError(f"the scenario's URI {uri!r} is not an absolute URI")
    return parsed


def same_target(a: str | None, b: str | None) -> bool:
    """Whether two URLs name the same resource: scheme, host, port and path (query and fragment aside).

    A scheme-relative ``b`` ("//host/path", as a browser would resolve it) takes the scheme of ``a``.
    """
    if a and b and b.strip().startswith("//"):
        b = a.split(":", 1)[0] + ":" + b.strip()
    pa, pb = _parse(a), _parse(b)
    if pa is None or pb is None:
        return False
    return (pa.scheme, pa.host, pa.port, pa.path) == (pb.scheme, pb.host, pb.port, pb.path)


def _show(url: str) -> str:
    return url if len(url) <= _SHOWN else url[:_SHOWN] + "…"


def _short(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:60] + "…")


def _split(url: str | None) -> tuple[str, str]:
    """The query and fragment of a URL, absolute or relative; empty when it cannot be parsed."""
    try:
        parts = urlsplit((url or "").strip())
    except ValueError:
        return "", ""
    return parts.query, parts.fragment


def _raw_params(query: str, name: str) -> list[str]:
    """The raw (still percent-encoded) values of ``name`` in a query or fragment."""
    values = []
    for pair in query.split("&") if query else []:
        key, _, value = pair.partition("=")
        if unquote_plus(key) == name:
            values.append(value)
    return values


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# Discovery (section 2.1)


@check("OIDCRIL-2.1")
def end_session_published(metadata: object, content_type: str | None = None) -> None:
    """The discovery document is a JSON object whose ``end_session_endpoint`` is an absolute URL.

    ``metadata`` is the parsed discovery document, or None when it was not JSON.
    """
    expected = "an end_session_endpoint URL in the discovery document"
    if not isinstance(metadata, dict):
        raise Violation(
            expected=expected,
            seen=f"the discovery document is {describe_body(metadata, content_type)}",
        )
    if "end_session_endpoint" not in metadata:
        raise Violation(
            expected=expected, seen=f"no end_session_endpoint; {describe_body(metadata)}"
        )
    value = metadata["end_session_endpoint"]
    if not isinstance(value, str):
        raise Violation(expected=expected, seen=f"end_session_endpoint is {describe_body(value)}")
    parsed = _parse(value)
    if parsed is None or not parsed.host or parsed.scheme not in ("http", "https"):
        raise Violation(
            expected=expected, seen=f"end_session_endpoint is {_short(value)}, not an absolute URL"
        )


@check("OIDCRIL-2.1")
def https_endpoint(url: str) -> str | None:
    """The Logout Endpoint uses https. Plain http on a loopback host is noted (local tests), not failed."""
    parsed = _parse(url)
    if parsed is not None and parsed.scheme == "https":
        return None
    if parsed is not None and parsed.scheme == "http" and _is_loopback(parsed.host):
        return f"end_session_endpoint {_show(url)} uses http: fine on a loopback address, not in production"
    where = f"on the non-loopback host {parsed.host}" if parsed is not None and parsed.host else ""
    raise Violation(expected="an https end_session_endpoint", seen=f"{_show(url)} {where}".strip())


# The Logout Endpoint (section 2)


@check("OIDCRIL-2-methods")
def endpoint_accepts(method: str, status: int, final_url: str) -> None:
    """The Logout Endpoint serves ``method`` (GET or POST): not 404, 405, 415 or a server error."""
    if status in _NOT_SERVED or status >= 500:
        reason = _NOT_SERVED.get(status, "server error")
        raise Violation(
            expected=f"the Logout Endpoint to accept a {method.upper()} logout request",
            seen=f"{method.upper()} {_show(final_url)} answered HTTP {status} {reason}",
        )


@check("OIDCRIL-2-confirm")
def asked_before_logout(confirmation_shown: bool, session_alive_before_confirm: bool) -> str | None:
    """Without an id_token_hint for the current session, the OP asks before it logs the user out.

    ``session_alive_before_confirm``: whether the OP session was still alive once the logout request
    was answered, before the step confirmed anything.
    """
    expected = "the End-User asked whether to log out before the OP session ends"
    if not session_alive_before_confirm:
        seen = (
            "the OP session ended before the End-User answered the confirmation"
            if confirmation_shown
            else "no confirmation was asked, and the OP session ended at once"
        )
        raise Violation(expected=expected, seen=seen)
    if not confirmation_shown:
        return "the OP neither asked for confirmation nor logged the End-User out"
    return None


@check("OIDCRIL-2-logout")
def session_ended(alive: bool, how: str = "") -> None:
    """Once the End-User said yes, the OP session is over. ``how`` says how the step found it alive."""
    if alive:
        raise Violation(
            expected="the OP session ended after the End-User confirmed the logout",
            seen="the OP session is still alive" + (f": {how}" if how else ""),
        )


@check("OIDCRIL-2-not-logged-in")
def not_logged_in_ok(status: int, location: str | None) -> None:
    """A logout request from a browser without a session is handled as a logout, not as an error."""
    expected = "the logout handled normally (a logged-out page or the post-logout redirect), not as an error"
    if status >= 400:
        raise Violation(expected=expected, seen=f"HTTP {status} error")
    errors = _raw_params(_split(location)[0], "error")
    if errors:
        raise Violation(
            expected=expected,
            seen=f"a redirect to {_show(location or '')} with error={unquote(errors[0])[:60]}",
        )


# Post-logout redirection (section 3) and the validation that guards it


def _forbid_redirect(uri: str, location: str | None, reason: str) -> None:
    _absolute(uri)
    if location and same_target(uri, location):
        raise Violation(
            expected=f"no post-logout redirect to {_show(uri)}: {reason}",
            seen=f"a redirect to {_show(location)}",
        )


@check("OIDCRIL-3-exact")
def no_redirect_to(uri: str, location: str | None) -> None:
    """No redirect to a post_logout_redirect_uri that is not exactly a registered one.

    The same resource with the query kept, changed or dropped counts as a redirect to it: the OP must
    not perform the post-logout redirection at all.
    """
    _forbid_redirect(
        uri, location, "it does not exactly match a registered post_logout_redirect_uri"
    )


@check("OIDCRIL-2-uri-needs-hint")
def no_redirect_without_hint(uri: str, location: str | None) -> None:
    """No redirect to a post_logout_redirect_uri sent with neither id_token_hint nor client_id."""
    _forbid_redirect(
        uri, location, "neither id_token_hint nor client_id said which client it belongs to"
    )


@check("OIDCRIL-4-hint")
def no_redirect_with_invalid_hint(uri: str, location: str | None) -> None:
    """No redirect when the id_token_hint fails validation (bad signature, alg none, other issuer)."""
    _forbid_redirect(
        uri, location, "the id_token_hint fails validation, so nothing in the request may be used"
    )


@check("OIDCRIL-2-client-id")
def no_redirect_on_client_mismatch(uri: str, location: str | None) -> None:
    """No redirect when client_id is not the client the id_token_hint was issued to."""
    _forbid_redirect(
        uri, location, "client_id does not match the client the id_token_hint was issued to"
    )


@check("OIDCRIL-4-hint")
def invalid_hint_not_used(confirmation_shown: bool, session_alive: bool) -> None:
    """An id_token_hint that fails validation is not acted on: no logout without asking the End-User."""
    if not session_alive and not confirmation_shown:
        raise Violation(
            expected="an invalid id_token_hint ignored: the End-User asked before any logout",
            seen="the OP logged out without asking, trusting an id_token_hint that fails validation",
        )


@check("OIDCRIL-3-redirect")
def redirected_to(expected_uri: str, location: str | None) -> None:
    """A valid, registered post_logout_redirect_uri is followed: same resource, its own query kept."""
    target = _absolute(expected_uri)
    expected = f"a redirect to {_show(expected_uri)}"
    if not location:
        raise Violation(expected=expected, seen="no redirect")
    if not same_target(expected_uri, location):
        raise Violation(expected=expected, seen=f"a redirect to {_show(location)}")
    registered = parse_qsl(target.query, keep_blank_values=True)
    seen_query = parse_qsl(_split(location)[0], keep_blank_values=True)
    for pair in registered:
        if seen_query.count(pair) < registered.count(pair):
            raise Violation(
                expected=f"{expected}, with its registered query",
                seen=f"a redirect to {_show(location)}, without {pair[0]}={pair[1][:40]}",
            )


@check("OIDCRIL-3-state")
def state_returned(
    sent: str | None, location: str | None, post_logout_redirect_uri: str | None = None
) -> str | None:
    """``state`` comes back on the redirect exactly as sent; when none was sent, none comes back.

    Compared after URL-decoding (``+`` as a space or as itself). An empty ``state=`` is a state.
    Without a redirect, or (given ``post_logout_redirect_uri``) with a redirect elsewhere, there is
    nothing to check: a note.
    """
    if not location:
        return "no post-logout redirect, so no state to check"
    if post_logout_redirect_uri is not None and not same_target(post_logout_redirect_uri, location):
        return (
            f"the redirect to {_show(location)} is not the post-logout redirect: state not checked"
        )
    query, fragment = _split(location)
    in_query = _raw_params(query, "state")
    in_fragment = _raw_params(fragment, "state")
    if sent is None:
        if in_query or in_fragment:
            value = unquote_plus((in_query or in_fragment)[0])
            raise Violation(
                expected="no state on the redirect: the logout request sent none",
                seen=f"state={_short(value)} on {_show(location)}",
            )
        return None
    expected = f"state={_short(sent)} on the redirect, unchanged"
    if not in_query:
        where = "only in the fragment" if in_fragment else "no state parameter"
        raise Violation(expected=expected, seen=f"{where} on {_show(location)}")
    if len(in_query) > 1:
        raise Violation(expected=expected, seen=f"state {len(in_query)} times on {_show(location)}")
    raw = in_query[0]
    if sent not in (unquote_plus(raw), unquote(raw)):
        raise Violation(expected=expected, seen=f"state={_short(unquote_plus(raw))}")
    return None


@check("OIDCRIL-4-expired")
def expired_hint_accepted(
    status: int,
    location: str | None,
    expected_uri: str | None = None,
    session_alive: bool | None = None,
) -> None:
    """An expired id_token_hint of a current session is accepted like a fresh one.

    ``status``/``location`` are the final answer (after any confirmation the step went through).
    With ``expected_uri`` (a registered post_logout_redirect_uri sent with the hint), the OP must
    redirect there; with ``session_alive`` known, the session must be over.
    """
    expected = "the expired id_token_hint accepted: the logout done" + (
        f" and the redirect to {_show(expected_uri)}" if expected_uri else ""
    )
    if status >= 400:
        raise Violation(expected=expected, seen=f"HTTP {status}: the request was refused")
    if session_alive:
        raise Violation(expected=expected, seen="the OP session is still alive")
    if expected_uri is not None:
        _absolute(expected_uri)
        if not location:
            raise Violation(
                expected=expected,
                seen=f"HTTP {status} without a redirect: the hint was not trusted",
            )
        if not same_target(expected_uri, location):
            raise Violation(expected=expected, seen=f"a redirect to {_show(location)}")
