"""Logout tokens crafted as an OP would: https://openid.net/specs/openid-connect-backchannel-1_0.html#LogoutToken

The harness plays the OP towards an RP under test and POSTs it these tokens (section 2.5). Each
variant but the good ones has one defect, and ``VARIANTS`` names the requirement an RP breaks by
accepting it. "accept" means HTTP 200 (or 204) and the session ended; "reject" means HTTP 400 and
the session alive (section 2.8). ``ACCEPTABLE`` says which of the two a conformant RP may do.

Forged signatures come from ``harness.oidc.jwt`` (alg none, another key) or from keys made here
for the occasion; everything is signed by joserfc.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any, Literal

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, RSAKey
from joserfc.registry import HeaderParameter

from harness.errors import ConfigError
from harness.oidc.backchannel import BACKCHANNEL_EVENT as EVENT
from harness.oidc.jwt import resign_alg_none, resign_with

__all__ = [
    "ACCEPTABLE",
    "CRIT_HEADER",
    "DESCRIPTIONS",
    "LIFETIME_S",
    "TYP",
    "VARIANTS",
    "Outcome",
    "craft",
    "meant_to_be_accepted",
]

TYP = "logout+jwt"
#: the spec encourages two minutes at most
LIFETIME_S = 120
#: an extension header no RP understands, listed in crit (RFC 7515 section 4.1.11)
CRIT_HEADER = "urn:example:unknown"
#: another event that ends sessions (RISC sessions-revoked), for an RP that checks for "an event"
_OTHER_EVENT = "https://schemas.openid.net/secevent/risc/event-type/sessions-revoked"
#: how far in the past the expired variant lies: beyond any clock-skew leeway an RP allows
_EXPIRED_BY_S = 3600
#: the huge variant's padding: a real logout token is well under 2 KiB
_HUGE_PADDING = 100 * 1024

Outcome = Literal["accept", "reject"]
_ACCEPT: tuple[Outcome, ...] = ("accept",)
_REJECT: tuple[Outcome, ...] = ("reject",)

# name, the requirement an RP breaks by answering wrongly, what it may answer, what the token is
_TABLE: tuple[tuple[str, str, tuple[Outcome, ...], str], ...] = (
    ("valid", "OIDCBCL-2.8-status", _ACCEPT, "a valid logout token with sub and sid"),
    ("sub-only", "OIDCBCL-2.8-status", _ACCEPT, "a valid logout token with sub and no sid"),
    ("sid-only", "OIDCBCL-2.8-status", _ACCEPT, "a valid logout token with sid and no sub"),
    ("alg-none", "OIDCBCL-2.6-signature", _REJECT, "a logout token with alg none and no signature"),
    ("wrong-key", "OIDCBCL-2.6-signature", _REJECT,
     "a logout token with the OP's alg and kid, signed by another key"),
    ("alg-swap", "OIDCBCL-2.6-signature", _REJECT,
     "a logout token signed by the OP's key of another alg than its ID tokens'"),
    ("unknown-kid", "OIDCBCL-2.6-signature", _REJECT,
     "a logout token signed by a key whose kid the OP does not publish"),
    ("not-a-jwt", "OIDCBCL-2.6-signature", _REJECT,
     "the header and claims of a valid logout token without the signature segment"),
    ("wrong-iss", "OIDCBCL-2.6-claims", _REJECT, "a logout token from another issuer"),
    ("wrong-aud", "OIDCBCL-2.6-claims", _REJECT, "a logout token for another client"),
    ("expired", "OIDCBCL-2.6-claims", _REJECT, "a logout token that expired an hour ago"),
    ("no-exp", "OIDCBCL-2.6-claims", _REJECT, "a logout token without exp"),
    ("no-iat", "OIDCBCL-2.6-claims", _REJECT, "a logout token without iat"),
    ("no-events", "OIDCBCL-2.6-events", _REJECT, "a logout token without events"),
    ("wrong-event", "OIDCBCL-2.6-events", _REJECT,
     "a logout token whose only event is RISC sessions-revoked"),
    # section 2.6 has the RP look for the member only; that its value is an object binds the OP (2.4)
    ("event-not-object", "OIDCBCL-2.6-events", ("accept", "reject"),
     "a logout token whose back-channel logout event is true, not a JSON object"),
    ("nonce", "OIDCBCL-2.6-nonce", _REJECT, "a logout token with a nonce"),
    ("no-sub-no-sid", "OIDCBCL-2.6-sub-sid", _REJECT, "a logout token with neither sub nor sid"),
    ("no-jti", "OIDCBCL-2.6-jti", _REJECT, "a logout token without jti"),
    ("id-token", "OIDCBCL-2.6-events", _REJECT,
     "an ID token of this OP for the same session (typ JWT, a nonce, no events)"),
    ("crit", "RFC7515-4.1.11", _REJECT,
     f"a logout token whose header marks the unknown {CRIT_HEADER} critical"),
    # section 2.8 lets an RP refuse a request it cannot process; it must not break on it
    ("huge", "OIDCBCL-2.8-status", ("accept", "reject"),
     "a valid logout token padded with a 100 KiB claim"),
)

#: variant name -> the requirement an RP breaks by accepting it (the good ones: by rejecting it)
VARIANTS: dict[str, str] = {name: requirement for name, requirement, _, _ in _TABLE}
#: variant name -> what a conformant RP may do with it
ACCEPTABLE: dict[str, tuple[Outcome, ...]] = {name: outcomes for name, _, outcomes, _ in _TABLE}
#: variant name -> what the token is, for messages
DESCRIPTIONS: dict[str, str] = {name: text for name, _, _, text in _TABLE}


def meant_to_be_accepted(variant: str) -> bool:
    """Whether an RP must accept this variant: the good tokens (valid, sub-only, sid-only)."""
    return ACCEPTABLE[variant] == _ACCEPT


def _fresh_key_like(key: Key) -> Key:
    """A new key of the same type and size or curve, its thumbprint a kid the OP never published."""
    if isinstance(key, RSAKey):
        return RSAKey.generate_key(key.public_key.key_size, auto_kid=True)
    if isinstance(key, ECKey):
        return ECKey.generate_key(key.curve_name, auto_kid=True)
    raise ConfigError(f"cannot make an attacker key like a {key.key_type} key")


def _sign(header: dict[str, Any], claims: dict[str, Any], key: Key, alg: str) -> str:
    registry = jws.JWSRegistry(
        # the crit variant's extension header must be known to be signed; receivers do not know it
        header_registry={CRIT_HEADER: HeaderParameter("unknown extension", "str")},
        algorithms=[alg],
        strict_check_header=False,
    )
    payload = json.dumps(claims, separators=(",", ":")).encode("utf-8")
    try:
        return jws.serialize_compact(header, payload, key, registry=registry)
    except (JoseError, ValueError) as exc:
        raise ConfigError(f"cannot sign with {alg} and a {key.key_type} key: {exc}") from exc


def craft(
    variant: str,
    *,
    issuer: str,
    client_id: str,
    sub: str,
    sid: str,
    key: Key,
    alg: str,
    other_alg_key: Key,
    other_alg: str | None = None,
    now: int | None = None,
) -> str:
    """A logout token of ``variant`` from ``issuer`` for ``client_id``, about ``sub`` and ``sid``.

    ``key`` is the OP's private key for ``alg`` (its kid goes in the header); ``other_alg_key`` is
    the OP's key for another alg (``other_alg``, by default the key's own ``alg`` parameter), which
    signs the alg-swap variant. Every token has a fresh jti.
    """
    if variant not in VARIANTS:
        known = ", ".join(VARIANTS)
        raise ConfigError(f"unknown logout token variant {variant!r} (known: {known})")
    iat = int(time.time()) if now is None else now
    header: dict[str, Any] = {"typ": TYP, "alg": alg}
    if key.kid:
        header["kid"] = key.kid
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": client_id,
        "iat": iat,
        "exp": iat + LIFETIME_S,
        "jti": secrets.token_urlsafe(16),
        "events": {EVENT: {}},
        "sub": sub,
        "sid": sid,
    }
    match variant:
        case "alg-none":
            return resign_alg_none(_sign(header, claims, key, alg))
        case "wrong-key":
            return resign_with(_sign(header, claims, key, alg), _fresh_key_like(key), alg)
        case "alg-swap":
            swap_alg = other_alg or other_alg_key.alg
            if not swap_alg or swap_alg == alg:
                raise ConfigError(f"alg-swap needs a key of the OP for another alg than {alg}")
            return resign_with(_sign(header, claims, key, alg), other_alg_key, swap_alg,
                               header={"kid": other_alg_key.kid})
        case "unknown-kid":
            attacker = _fresh_key_like(key)
            return resign_with(_sign(header, claims, key, alg), attacker, alg,
                               header={"kid": attacker.kid})
        case "not-a-jwt":
            return _sign(header, claims, key, alg).rsplit(".", 1)[0]
        case "sub-only":
            del claims["sid"]
        case "sid-only":
            del claims["sub"]
        case "wrong-iss":
            # a longer issuer, so an RP that compares by prefix is caught too
            claims["iss"] = issuer.rstrip("/") + "/attacker"
        case "wrong-aud":
            # holds the client_id, so an RP testing "client_id in aud" on a string is caught too
            claims["aud"] = f"{client_id}-attacker"
        case "expired":
            claims["iat"] = iat - _EXPIRED_BY_S - LIFETIME_S
            claims["exp"] = iat - _EXPIRED_BY_S
        case "no-exp" | "no-iat" | "no-events" | "no-jti":
            del claims[variant.removeprefix("no-")]
        case "wrong-event":
            claims["events"] = {_OTHER_EVENT: {}}
        case "event-not-object":
            claims["events"] = {EVENT: True}
        case "nonce":
            claims["nonce"] = secrets.token_urlsafe(16)
        case "no-sub-no-sid":
            del claims["sub"], claims["sid"]
        case "id-token":
            header["typ"] = "JWT"
            claims = {"iss": issuer, "sub": sub, "aud": client_id, "exp": iat + LIFETIME_S,
                      "iat": iat, "auth_time": iat, "nonce": secrets.token_urlsafe(16), "sid": sid}
        case "crit":
            header["crit"] = [CRIT_HEADER]
            header[CRIT_HEADER] = "must be understood"
        case "huge":
            claims["padding"] = "x" * _HUGE_PADDING
    return _sign(header, claims, key, alg)
