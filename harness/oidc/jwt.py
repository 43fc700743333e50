"""JSON Web Tokens for the harness, on joserfc (https://www.rfc-editor.org/rfc/rfc7519, RFC 7515).

Errors::

    HarnessError
    └── MalformedJwt          not a compact JWS with a JSON header and a JSON object as claims
        └── InvalidSignature  well formed, but not verifiable: alg none or not accepted, no key
                              for its kid, or a signature that no key of the JWKS verifies

``InvalidSignature`` subclasses ``MalformedJwt`` so that "this token is not acceptable" is one
``except``; checks that care which one catch ``InvalidSignature`` first.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, Key, RSAKey

from harness.errors import ConfigError, HarnessError

__all__ = [
    "MAX_TOKEN_BYTES",
    "HarnessKeys",
    "InvalidSignature",
    "MalformedJwt",
    "claims_summary",
    "decode_unverified",
    "resign_alg_none",
    "resign_with",
    "verify",
]

MAX_TOKEN_BYTES = 64 * 1024
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


class MalformedJwt(HarnessError):
    """The text is not a compact JWS with a JSON header and JSON object claims; says why."""


class InvalidSignature(MalformedJwt):
    """The token is well formed but its signature cannot be accepted; says why."""


class _Registry(jws.JWSRegistry):
    # joserfc's defaults (512-byte headers) refuse real tokens whose header carries an x5c chain;
    # the whole token is bounded by MAX_TOKEN_BYTES before it gets here
    max_header_length = MAX_TOKEN_BYTES
    max_payload_length = MAX_TOKEN_BYTES
    max_signature_length = 2048


def _registry(algorithms: Sequence[str]) -> _Registry:
    # providers add their own header parameters: verify them, do not reject them
    return _Registry(algorithms=list(algorithms), strict_check_header=False)


def _b64decode(segment: str, what: str) -> bytes:
    """``what`` names the segment with its verb ("header is") for the message."""
    if not _BASE64URL.fullmatch(segment):
        raise MalformedJwt(f"{what} not base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedJwt(f"{what} not base64url") from exc


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedJwt(f"{what} not JSON") from exc
    if not isinstance(value, dict):
        raise MalformedJwt(f"{what} not a JSON object")
    return value


def _split(token: str) -> tuple[dict[str, Any], bytes, list[str]]:
    """Header, raw claims bytes and the three segments of a compact JWS."""
    if len(token) > MAX_TOKEN_BYTES:
        raise MalformedJwt(f"not a JWT: longer than {MAX_TOKEN_BYTES} bytes")
    segments = token.split(".")
    if len(segments) == 5:
        raise MalformedJwt("not a JWS: 5 segments, an encrypted JWT (JWE)")
    if len(segments) != 3:
        count = len(segments)
        raise MalformedJwt(f"not a JWT: {count} segment{'s' if count != 1 else ''}")
    header = _json_object(_b64decode(segments[0], "header is"), "header is")
    if not isinstance(header.get("alg"), str):
        raise MalformedJwt("header has no 'alg' string")
    payload = _b64decode(segments[1], "claims are")
    _b64decode(segments[2], "signature is")
    return header, payload, segments


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a compact JWS, without checking its signature."""
    header, payload, _ = _split(token)
    return header, _json_object(payload, "claims are")


def verify(token: str, jwks: Mapping[str, Any], *, algorithms: Sequence[str]) -> dict[str, Any]:
    """The claims of ``token`` once its signature verifies with a key of ``jwks``.

    ``alg: none`` is always refused, whatever ``algorithms`` says. Claims (iss, aud, exp...) are
    not checked here: each is a requirement of its own, checked where it is cited.
    """
    header, claims = decode_unverified(token)
    alg = header["alg"]
    if alg.lower() == "none":
        raise InvalidSignature("alg 'none' is refused: the token is not signed")
    accepted = [a for a in algorithms if a.lower() != "none"]
    if alg not in accepted:
        raise InvalidSignature(f"alg {alg!r} is not among the accepted {', '.join(accepted)}")
    keys = _import_keys(jwks)
    kid = header.get("kid")
    if kid is not None:
        candidates = [key for key in keys if key.kid == kid]
        if not candidates:
            known = ", ".join(repr(key.kid) for key in keys) or "none"
            raise InvalidSignature(f"no key with kid {kid!r} in the JWKS (kids: {known})")
    else:
        candidates = keys
    registry = _registry([alg])
    for key in candidates:
        try:
            jws.deserialize_compact(token, key, registry=registry)
        except (JoseError, ValueError):
            # a key of another type, use or alg, or the wrong key: the next one may be right
            continue
        return claims
    which = f"the key with kid {kid!r}" if kid is not None else f"any of the {len(keys)} keys"
    raise InvalidSignature(f"the {alg} signature does not verify with {which} of the JWKS")


def _import_keys(jwks: Mapping[str, Any]) -> list[Key]:
    entries = jwks.get("keys")
    if not isinstance(entries, list):
        raise InvalidSignature("the JWKS has no 'keys' list")
    keys: list[Key] = []
    for entry in entries:
        # one key this library cannot read must not hide the others (RFC 7517 section 5)
        try:
            keys.append(JWKRegistry.import_key(entry))
        except (JoseError, ValueError, TypeError, KeyError):
            continue
    if not keys:
        raise InvalidSignature(f"the JWKS has no usable key ({len(entries)} listed)")
    return keys


def resign_alg_none(token: str) -> str:
    """The same header (but ``alg: none``) and claims, with an empty signature."""
    header, _, segments = _split(token)
    forged = {**header, "alg": "none"}
    encoded = _b64encode(json.dumps(forged, separators=(",", ":")).encode("utf-8"))
    return f"{encoded}.{segments[1]}."


def resign_with(token: str, key: Key, alg: str, *, header: Mapping[str, Any] | None = None) -> str:
    """The same claims signed with ``key`` and ``alg``.

    The header is kept (its ``kid`` too, so that a verifier must reject the signature itself);
    ``header`` replaces parameters, and a ``None`` value removes one.
    """
    original, payload, _ = _split(token)
    forged = {**original, "alg": alg}
    for name, value in (header or {}).items():
        if value is None:
            forged.pop(name, None)
        else:
            forged[name] = value
    try:
        return jws.serialize_compact(forged, payload, key, registry=_registry([alg]))
    except (JoseError, ValueError) as exc:
        raise ConfigError(f"cannot sign with {alg} and a {key.key_type} key: {exc}") from exc


class HarnessKeys:
    """The harness's own signing keys, made at start: to forge "signed by someone else" tokens
    and to sign the tokens it issues as an actor."""

    def __init__(self) -> None:
        self.rsa: RSAKey = RSAKey.generate_key(2048, parameters={"use": "sig"}, auto_kid=True)
        self.ec: ECKey = ECKey.generate_key("P-256", parameters={"use": "sig"}, auto_kid=True)

    def key_for(self, alg: str) -> Key:
        """The harness key that signs with ``alg``."""
        if alg[:2] in ("RS", "PS"):
            return self.rsa
        if alg == "ES256":
            return self.ec
        raise ConfigError(f"the harness has no key for alg {alg!r} (it signs RS*, PS* and ES256)")

    def sign(
        self,
        claims: Mapping[str, Any],
        *,
        alg: str = "RS256",
        header: Mapping[str, Any] | None = None,
    ) -> str:
        """A compact JWS of ``claims`` signed with the harness key for ``alg``, its kid in the header."""
        key = self.key_for(alg)
        protected = {"typ": "JWT", **(header or {}), "alg": alg, "kid": key.kid}
        payload = json.dumps(dict(claims), separators=(",", ":")).encode("utf-8")
        return jws.serialize_compact(protected, payload, key, registry=_registry([alg]))

    def jwks(self) -> dict[str, Any]:
        """The public JWKS of the harness keys."""
        return {
            "keys": [dict(self.rsa.as_dict(private=False)), dict(self.ec.as_dict(private=False))]
        }


def claims_summary(token: str) -> str:
    """Header and claims as indented JSON for a report (never the signature), or why it is not a JWT."""
    try:
        header, claims = decode_unverified(token)
    except MalformedJwt as exc:
        return f"(not a decodable JWT: {exc})"
    return json.dumps({"header": header, "claims": claims}, indent=2, ensure_ascii=False)
