"""OpenID Connect Back-Channel Logout 1.0, the OP's side: https://openid.net/specs/openid-connect-backchannel-1_0.html

Checks on what the callback receiver saw the OP send (section 2.5), on the logout token in it
(section 2.4), on the OP's discovery metadata (section 2.1), and on who got a token and how often
(sections 2.3, 2.5 and 2.8). ``verify_token`` runs the token checks in order. Messages never quote a
token: claims and header values only, and at most 80 characters of a text that is not a JWT.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Protocol
from urllib.parse import parse_qsl

from harness.checks import check
from harness.errors import TargetError, Violation
from harness.oidc.jwt import InvalidSignature, MalformedJwt, decode_unverified, verify

__all__ = [
    "BACKCHANNEL_EVENT",
    "MAX_LIFETIME",
    "Verify",
    "attempts_summary",
    "audience",
    "delivered",
    "events",
    "events_empty",
    "expires",
    "id_token_sid",
    "issued_at",
    "issuer",
    "logout_request",
    "metadata",
    "no_nonce",
    "peek_claims",
    "recipients",
    "retries",
    "session_id",
    "short_lived",
    "signed",
    "subject_or_session",
    "token_id",
    "typed",
    "verify_token",
]

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: the lifetime the spec encourages at most ("two minutes or less"), in seconds
MAX_LIFETIME = 120
_FORM = "application/x-www-form-urlencoded"
_TYPES = ("logout+jwt", "application/logout+jwt")
_SUCCESS = (200, 204)
_QUOTED = 80
_NAMES_SHOWN = 10


class Verify(Protocol):
    """The engine's ``Context.verify``: runs a check, records its verdict, stops on a MUST failure."""

    def __call__(self, check: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any: ...


def _quote(text: str, limit: int = _QUOTED) -> str:
    return repr(text[:limit]) + ("…" if len(text) > limit else "")


def _show(value: object) -> str:
    """A claim's value for a message: short strings quoted, numbers as they are, others by kind."""
    if isinstance(value, str):
        return _quote(value, 60)
    if isinstance(value, bool) or value is None:
        return "null" if value is None else str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        return f"an object with members {', '.join(sorted(map(str, value))) or 'none'}"
    if isinstance(value, list):
        return f"an array of {len(value)}"
    return type(value).__name__


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_NAMES_SHOWN])
    more = len(names) - _NAMES_SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def _is_jwe(token: str) -> bool:
    """Whether ``token`` is a compact JWE: five segments, a JSON header with ``enc``."""
    segments = token.split(".")
    if len(segments) != 5:
        return False
    first = segments[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)))
    except (ValueError, binascii.Error):  # not base64url, not UTF-8 or not JSON: not a JWE
        return False
    return isinstance(header, dict) and "enc" in header


def _number(value: object) -> float | None:
    """A NumericDate (a JSON number, not a boolean, not NaN), or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _numeric_claim(claims: Mapping[str, Any], name: str, expected: str) -> float:
    if name not in claims:
        raise Violation(expected=expected, seen=f"no {name} claim")
    number = _number(claims[name])
    if number is None:
        raise Violation(expected=expected, seen=f"{name} is {_show(claims[name])}, not a number")
    return number


# The logout request (section 2.5)


@dataclass(frozen=True)
class LogoutRequest:
    """The logout token a well-formed back-channel logout request carried."""

    token: str


@check("OIDCBCL-2.5-request")
def logout_request(method: str, content_type: str | None, body: str) -> LogoutRequest:
    """A POST with a form body holding exactly one ``logout_token``; returns that token.

    Other parameters are allowed (the RP ignores them).
    """
    expected = f"a POST, {_FORM}, with exactly one logout_token parameter"
    if method != "POST":
        raise Violation(expected=expected, seen=f"a {method[:20]} request")
    media = (content_type or "").split(";")[0].strip().lower()
    if media != _FORM:
        raise Violation(expected=expected, seen=f"content-type {media or 'none'}")
    params = parse_qsl(body, keep_blank_values=True)
    tokens = [value for name, value in params if name == "logout_token"]
    if not tokens:
        names = sorted({name[:40] for name, _ in params})
        raise Violation(
            expected=expected,
            seen=f"no logout_token parameter; parameters: {_names(names) or 'none'}",
        )
    if len(tokens) > 1:
        raise Violation(expected=expected, seen=f"{len(tokens)} logout_token parameters")
    if not tokens[0]:
        raise Violation(expected=expected, seen="an empty logout_token")
    return LogoutRequest(tokens[0])


def peek_claims(body: str) -> dict[str, Any] | None:
    """The claims of the logout_token in a form body, unverified, or None: to tell deliveries apart
    (which session, which client) before checking them."""
    tokens = [value for name, value in parse_qsl(body, keep_blank_values=True) if name == "logout_token"]
    if len(tokens) != 1:
        return None
    try:
        return decode_unverified(tokens[0])[1]
    except MalformedJwt:
        return None


# The logout token (section 2.4)


@check("OIDCBCL-2.4-signed")
def signed(
    token: str, jwks: Mapping[str, Any], expected_alg: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A JWS signed with the client's ID-token alg by a key of the OP's JWKS; its header and claims.

    ``alg: none`` and a ``crit`` header fail (the harness, like the RPs it stands for, understands
    no JWS extension, so such a JWS is invalid: RFC 7515 section 4.1.11). An encrypted token (JWE)
    is allowed by the spec but cannot be read by the harness: the target's client registration must
    not ask for encryption.
    """
    expected = f"a logout token signed with {expected_alg} by a key of the OP's JWKS"
    if _is_jwe(token):
        raise TargetError(
            "the logout token is encrypted (a JWE): the harness does not decrypt; register its "
            "clients without id_token_encrypted_response_alg"
        )
    try:
        header, claims = decode_unverified(token)
    except MalformedJwt as exc:
        raise Violation(expected=expected, seen=f"{exc}: {_quote(token)}") from None
    alg = header["alg"]
    if alg.lower() == "none":
        raise Violation(expected=expected, seen="alg none: the token is not signed")
    if alg != expected_alg:
        raise Violation(
            expected=expected, seen=f"alg {_quote(alg, 20)}, not the client's ID token alg"
        )
    if "crit" in header:
        raise Violation(
            expected=f"{expected}, without critical extensions",
            seen=f"crit {_show(header['crit'])}: extensions an RP must reject unless it understands them",
        )
    try:
        verify(token, jwks, algorithms=[expected_alg])
    except InvalidSignature as exc:
        raise Violation(expected=expected, seen=str(exc)) from None
    return header, claims


@check("OIDCBCL-2.4-iss")
def issuer(claims: Mapping[str, Any], issuer: str) -> None:
    """``iss`` is exactly the OP's issuer."""
    expected = f"iss {issuer!r}"
    if "iss" not in claims:
        raise Violation(expected=expected, seen="no iss claim")
    if claims["iss"] != issuer:
        raise Violation(expected=expected, seen=f"iss {_show(claims['iss'])}")


@check("OIDCBCL-2.4-aud")
def audience(claims: Mapping[str, Any], client_id: str) -> None:
    """``aud`` is the client's id, or an array that contains it."""
    expected = f"aud {client_id!r}, or an array containing it"
    if "aud" not in claims:
        raise Violation(expected=expected, seen="no aud claim")
    aud = claims["aud"]
    if aud == client_id or (isinstance(aud, list) and client_id in aud):
        return
    if isinstance(aud, list):
        shown = ", ".join(_show(a) for a in aud[:_NAMES_SHOWN]) or "nothing"
        raise Violation(expected=expected, seen=f"aud is an array of {shown}")
    raise Violation(expected=expected, seen=f"aud {_show(aud)}")


@check("OIDCBCL-2.4-iat")
def issued_at(claims: Mapping[str, Any], now: float, skew: float) -> None:
    """``iat`` is a number no later than ``now`` (when the token arrived) plus ``skew`` seconds."""
    expected = f"an iat no later than its arrival (+{skew:g} s of clock skew)"
    iat = _numeric_claim(claims, "iat", expected)
    if iat > now + skew:
        raise Violation(expected=expected, seen=f"iat {iat:.0f}, {iat - now:.0f} s in the future")


@check("OIDCBCL-2.4-exp")
def expires(claims: Mapping[str, Any], now: float | None = None, skew: float = 0.0) -> None:
    """``exp`` is a number later than ``iat``; given ``now`` (arrival), not already past then."""
    expected = "an exp later than iat" + ("" if now is None else " and than its arrival")
    exp = _numeric_claim(claims, "exp", expected)
    iat = _number(claims.get("iat"))
    if iat is not None and exp <= iat:
        raise Violation(expected=expected, seen=f"exp {exp:.0f}, not after iat {iat:.0f}")
    if now is not None and exp < now - skew:
        raise Violation(
            expected=expected, seen=f"exp {exp:.0f}: expired {now - exp:.0f} s before it arrived"
        )


@check("OIDCBCL-2.4-exp-short")
def short_lived(claims: Mapping[str, Any]) -> None:
    """``exp - iat`` is at most two minutes (encouraged, a MAY: the engine reports it as information)."""
    expected = f"a lifetime (exp - iat) of {MAX_LIFETIME} s or less"
    exp = _numeric_claim(claims, "exp", expected)
    iat = _numeric_claim(claims, "iat", expected)
    if exp - iat > MAX_LIFETIME:
        raise Violation(expected=expected, seen=f"a lifetime of {exp - iat:.0f} s")


@check("OIDCBCL-2.4-jti")
def token_id(claims: Mapping[str, Any], seen_jtis: Mapping[str, Mapping[str, Any]]) -> None:
    """``jti`` is a non-empty string no other token of the run carried.

    ``seen_jtis`` maps each jti seen before (in other deliveries) to the claims of the token that
    carried it: the identical token again (a resend after an error) is the same token, not a reuse.
    """
    expected = "a jti unique to this token"
    if "jti" not in claims:
        raise Violation(expected=expected, seen="no jti claim")
    jti = claims["jti"]
    if not isinstance(jti, str) or not jti:
        raise Violation(expected=expected, seen=f"jti {_show(jti)}")
    earlier = seen_jtis.get(jti)
    if earlier is not None and dict(earlier) != dict(claims):
        differ = sorted(
            name for name in {*earlier, *claims} if earlier.get(name) != claims.get(name)
        )
        raise Violation(
            expected=expected,
            seen=f"jti {_show(jti)} already carried by another token (differing in {', '.join(differ)})",
        )


def _event(claims: Mapping[str, Any], expected: str) -> object:
    if "events" not in claims:
        raise Violation(expected=expected, seen="no events claim")
    events_claim = claims["events"]
    if not isinstance(events_claim, dict):
        raise Violation(expected=expected, seen=f"events is {_show(events_claim)}")
    if BACKCHANNEL_EVENT not in events_claim:
        raise Violation(expected=expected, seen=f"events is {_show(events_claim)}")
    return events_claim[BACKCHANNEL_EVENT]


@check("OIDCBCL-2.4-events")
def events(claims: Mapping[str, Any]) -> None:
    """``events`` is an object whose back-channel logout member's value is an object."""
    expected = f"an events object with the member {BACKCHANNEL_EVENT}, whose value is an object"
    value = _event(claims, expected)
    if not isinstance(value, dict):
        raise Violation(expected=expected, seen=f"the member's value is {_show(value)}")


@check("OIDCBCL-2.4-events-empty")
def events_empty(claims: Mapping[str, Any]) -> None:
    """The back-channel logout member's value is ``{}``."""
    expected = f"the events member {BACKCHANNEL_EVENT} with the value {{}}"
    value = _event(claims, expected)
    if value != {}:
        raise Violation(expected=expected, seen=f"its value is {_show(value)}")


def _identifier(claims: Mapping[str, Any], name: str, expected: str) -> str | None:
    """The value of ``sub`` or ``sid`` when present; a violation when it is not a non-empty string."""
    if name not in claims:
        return None
    value = claims[name]
    if not isinstance(value, str) or not value:
        raise Violation(expected=expected, seen=f"{name} {_show(value)}")
    return value


@check("OIDCBCL-2.4-sub-sid")
def subject_or_session(claims: Mapping[str, Any], expected_sub: str | None) -> None:
    """A ``sub``, a ``sid`` or both; a ``sub`` is the End-User's (``expected_sub``, from the ID token
    the client got: subjects may be pairwise, so per client). None: the user's sub is unknown."""
    expected = "a sub or a sid naming the logged-out End-User or session"
    if expected_sub is not None:
        expected = f"a sid, or the End-User's sub {expected_sub!r}"
    sub = _identifier(claims, "sub", expected)
    sid = _identifier(claims, "sid", expected)
    if sub is None and sid is None:
        raise Violation(expected=expected, seen="neither sub nor sid")
    if sub is not None and expected_sub is not None and sub != expected_sub:
        raise Violation(expected=expected, seen=f"sub {_show(sub)}")


@check("OIDCBCL-2.4-sid")
def session_id(
    claims: Mapping[str, Any], id_token_sid: str | None, required: bool
) -> str | None:
    """``sid`` is there when the client registered backchannel_logout_session_required (``required``);
    when there, it is the sid of the client's ID token.

    A sid the ID token did not have (``id_token_sid`` None) cannot be compared: a note, not a failure.
    """
    expected = "the sid of the client's ID token" + (
        " (the client requires one)" if required else ""
    )
    sid = _identifier(claims, "sid", expected)
    if sid is None:
        if required:
            raise Violation(
                expected=expected,
                seen="no sid, though the client registered backchannel_logout_session_required",
            )
        return None
    if id_token_sid is None:
        return f"the logout token has sid {_show(sid)} but the client's ID token had none: not compared"
    if sid != id_token_sid:
        raise Violation(
            expected=f"sid {id_token_sid!r}, as in the client's ID token", seen=f"sid {_show(sid)}"
        )
    return None


@check("OIDCBCL-2.4-nonce")
def no_nonce(claims: Mapping[str, Any]) -> None:
    """No ``nonce`` claim: a logout token must not pass for an ID token."""
    if "nonce" in claims:
        raise Violation(
            expected="no nonce claim in a logout token", seen=f"nonce {_show(claims['nonce'])}"
        )


@check("OIDCBCL-2.4-typ")
def typed(header: Mapping[str, Any]) -> None:
    """The header's ``typ`` is ``logout+jwt`` (``application/logout+jwt`` too, any case)."""
    expected = "typ logout+jwt in the header"
    if "typ" not in header:
        raise Violation(expected=expected, seen="no typ header")
    typ = header["typ"]
    if not isinstance(typ, str) or typ.lower() not in _TYPES:
        raise Violation(expected=expected, seen=f"typ {_show(typ)}")


def verify_token(
    verify: Verify,
    token: str,
    *,
    jwks: Mapping[str, Any],
    alg: str,
    op_issuer: str,
    client_id: str,
    now: float,
    skew: float,
    seen_jtis: Mapping[str, Mapping[str, Any]],
    sub: str | None,
    id_token_sid: str | None,
    sid_required: bool,
) -> dict[str, Any] | None:
    """Every check of section 2.4 on one logout token through ``verify``; its claims.

    From the most fundamental on: a MUST failure stops the scenario in ``verify``, so what a check
    relies on (a verified token, a logout event) has passed before it runs. ``now`` is when the
    token arrived (``Received.received_at``). None: ``verify`` returned no header and claims.
    """
    verified = verify(signed, token, jwks, alg)
    if verified is None:
        return None
    header, claims = verified
    verify(events, claims)
    verify(issuer, claims, op_issuer)
    verify(audience, claims, client_id)
    verify(issued_at, claims, now, skew)
    verify(expires, claims, now, skew)
    verify(token_id, claims, seen_jtis)
    verify(subject_or_session, claims, sub)
    verify(session_id, claims, id_token_sid, sid_required)
    verify(no_nonce, claims)
    verify(events_empty, claims)
    verify(typed, header)
    verify(short_lived, claims)
    return claims


# Discovery (section 2.1)


@check("OIDCBCL-2.1-metadata")
def metadata(discovery_doc: Mapping[str, Any], sends_tokens: bool) -> None:
    """The back-channel metadata are booleans, and an OP that sends logout tokens says it supports them."""
    names = ("backchannel_logout_supported", "backchannel_logout_session_supported")
    for name in names:
        if name in discovery_doc and not isinstance(discovery_doc[name], bool):
            raise Violation(
                expected=f"{name} a boolean", seen=f"{name} is {_show(discovery_doc[name])}"
            )
    if sends_tokens and discovery_doc.get(names[0]) is not True:
        state = "false" if names[0] in discovery_doc else "absent (false by default)"
        raise Violation(
            expected="backchannel_logout_supported true: the OP sends logout tokens",
            seen=f"backchannel_logout_supported {state}, yet logout tokens arrived",
        )


@check("OIDCBCL-2.1-session-sid")
def id_token_sid(discovery_doc: Mapping[str, Any], id_token_claims: Mapping[str, Any]) -> None:
    """With backchannel_logout_session_supported true, the ID token has a ``sid``."""
    if discovery_doc.get("backchannel_logout_session_supported") is not True:
        return
    expected = "a sid in the ID token: the OP says backchannel_logout_session_supported"
    if "sid" not in id_token_claims:
        raise Violation(expected=expected, seen="an ID token without sid")
    sid = id_token_claims["sid"]
    if not isinstance(sid, str) or not sid:
        raise Violation(expected=expected, seen=f"sid {_show(sid)}")


# Who gets a token, and how often (sections 2.3, 2.5, 2.8)


@check("OIDCBCL-2.5-sent")
def delivered(
    expected_clients: Iterable[str], got_clients: Collection[str], within: float | None = None
) -> None:
    """Every client with a session (``expected_clients``) got a logout token (``got_clients``)."""
    expected_list = list(expected_clients)
    got = set(got_clients)
    missing = [client for client in expected_list if client not in got]
    if missing:
        bound = f" within {within:g} s" if within is not None else ""
        raise Violation(
            expected=f"a logout token for each of the {len(expected_list)} clients with a session",
            seen=f"nothing reached {len(missing)} of them{bound}: {_names(missing)}",
        )


@check("OIDCBCL-2.3-recipients")
def recipients(got_clients: Iterable[str], logged_in_clients: Collection[str]) -> None:
    """Only clients the End-User used in this session got a logout token."""
    logged_in = set(logged_in_clients)
    extra = sorted({client for client in got_clients if client not in logged_in})
    if extra:
        raise Violation(
            expected="logout tokens only for the clients the End-User signed in to",
            seen=f"logout tokens for {len(extra)} other client(s): {_names(extra)}",
        )


def attempts_summary(attempts: Sequence[tuple[float, int]]) -> str:
    """The deliveries of one token for a report: "3 attempts, gaps 512, 1030 ms, statuses 500, 500, 200"."""
    ordered = sorted(attempts)
    if len(ordered) == 1:
        return f"1 attempt, status {ordered[0][1]}"
    gaps = ", ".join(f"{(b[0] - a[0]) * 1000:.0f}" for a, b in pairwise(ordered))
    statuses = ", ".join(str(status) for _, status in ordered)
    return f"{len(ordered)} attempts, gaps {gaps} ms, statuses {statuses}"


@check("OIDCBCL-2.8-retry")
def retries(attempts: Sequence[tuple[float, int]], min_delay: float) -> str | None:
    """The deliveries of one token, as (received_at, status answered): none after a success (200 or
    204), and each resend at least ``min_delay`` seconds after the attempt before it.

    Several attempts that keep to that are a note for the report.
    """
    ordered = sorted(attempts)
    for number, ((before, status), (at, _)) in enumerate(pairwise(ordered), start=2):
        if status in _SUCCESS:
            raise Violation(
                expected="no resend of a logout token the RP accepted",
                seen=f"attempt {number} after attempt {number - 1} was answered {status} "
                f"({attempts_summary(ordered)})",
            )
        if at - before < min_delay:
            raise Violation(
                expected=f"resends at least {min_delay * 1000:.0f} ms after the previous attempt",
                seen=f"attempt {number} came {(at - before) * 1000:.0f} ms after attempt "
                f"{number - 1} ({attempts_summary(ordered)})",
            )
    return attempts_summary(ordered) if len(ordered) > 1 else None
