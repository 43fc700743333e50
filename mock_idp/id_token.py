"""ID Tokens: signing them and reading them back (OpenID Connect Core 1.0 §2, https://openid.net/specs/openid-connect-core-1_0.html#IDToken)."""

import json
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError

from mock_idp.config import Client, User
from mock_idp.keys import SigningKeys
from mock_idp.tokens import Grant

# Which user claims each scope asks for (OpenID Connect Core 1.0 §5.4).
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": (
        "name",
        "family_name",
        "given_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "profile",
        "picture",
        "website",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
        "updated_at",
    ),
    "email": ("email", "email_verified"),
    "address": ("address",),
    "phone": ("phone_number", "phone_number_verified"),
}


class InvalidJWT(ValueError):
    """Not a compact JWS whose header and payload are JSON objects."""


def scoped_claims(user: User, scopes: tuple[str, ...]) -> dict[str, str]:
    wanted = {claim for scope in scopes for claim in SCOPE_CLAIMS.get(scope, ())}
    return {name: value for name, value in user.claims.items() if name in wanted}


def sign(
    keys: SigningKeys,
    issuer: str,
    client: Client,
    grant: Grant,
    now: int,
    *,
    nonce: bool,
    sid: bool,
) -> str:
    """An ID token for this grant; nonce only on the code grant (OIDC Core §12.2 leaves it out).

    sid names the OP session, as backchannel_logout_session_supported promises (Back-Channel
    Logout 1.0 §2.1); only a fault leaves it out.
    """
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": grant.user.sub,
        "aud": client.client_id,
        "exp": now + client.id_token_lifetime,
        "iat": now,
        "auth_time": grant.auth_time,
        **scoped_claims(grant.user, grant.scopes),
    }
    if sid:
        claims["sid"] = grant.sid
    if nonce and grant.nonce is not None:
        claims["nonce"] = grant.nonce
    key = keys.for_alg(client.id_token_signed_response_alg)
    header = {"alg": client.id_token_signed_response_alg, "kid": key.kid, "typ": "JWT"}
    return jwt.encode(header, claims, key)


def read_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a compact JWS, signature not checked yet."""
    try:
        parts = jws.extract_compact(token.encode())
        claims = json.loads(parts.payload)
    except (JoseError, ValueError) as error:
        raise InvalidJWT(str(error)) from error
    header = parts.headers()
    if not isinstance(claims, dict) or not isinstance(header.get("alg"), str):
        raise InvalidJWT("not a JWT")
    return header, claims


def signed_by(keys: SigningKeys, token: str, header: dict[str, Any]) -> bool:
    """Whether one of our own keys made this token's signature."""
    alg = header["alg"]
    kid = header.get("kid")
    key = keys.find(alg, kid if isinstance(kid, str) else None)
    if key is None:
        return False
    try:
        jws.deserialize_compact(token, key, algorithms=[alg])
    except JoseError:
        return False
    return True
