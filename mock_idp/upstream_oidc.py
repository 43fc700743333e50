"""Signing in at an upstream OpenID Provider as its RP: discovery, the code flow with PKCE, ID Token validation and the end-session URL (OpenID Connect Core 1.0 §3.1, https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth)."""

import base64
import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from mock_idp.config import OidcUpstream
from mock_idp.id_token import InvalidJWT, read_unverified
from mock_idp.params import with_query
from mock_idp.upstream_http import UpstreamError, UpstreamHttp

# What the mock asks the upstream for: the claims it passes on to its own RPs.
SCOPE = "openid profile email"
ID_TOKEN_ALGS = ("RS256", "ES256")
# Clock skew allowed when checking exp.
LEEWAY = 60


@dataclass(frozen=True)
class OidcMetadata:
    """What the mock uses of the upstream's discovery document (OIDC Discovery 1.0 §3)."""

    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None


@dataclass(frozen=True)
class OidcLogin:
    """What the upstream's validated ID Token says, kept for the federated logout."""

    sub: str
    sid: str | None
    id_token: str
    claims: dict[str, str]


def code_challenge(verifier: str) -> str:
    """PKCE S256 (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class OidcConnection:
    def __init__(self, upstream: OidcUpstream, redirect_uri: str, http: UpstreamHttp) -> None:
        self.upstream = upstream
        self.redirect_uri = redirect_uri
        self.http = http
        # Fetched on first use, so that the upstream may start after the mock; kept once read.
        self._metadata: OidcMetadata | None = None
        self._keys: KeySet | None = None

    async def metadata(self) -> OidcMetadata:
        if self._metadata is None:
            self._metadata = await self._discover()
        return self._metadata

    async def authorization_url(self, state: str, nonce: str, verifier: str) -> str:
        metadata = await self.metadata()
        return with_query(
            metadata.authorization_endpoint,
            {
                "response_type": "code",
                "client_id": self.upstream.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": SCOPE,
                "state": state,
                "nonce": nonce,
                "code_challenge": code_challenge(verifier),
                "code_challenge_method": "S256",
            },
        )

    async def redeem(self, code: str, nonce: str, verifier: str) -> OidcLogin:
        """Exchange the code (client_secret_basic) and validate the ID Token it brings (§3.1.3)."""
        metadata = await self.metadata()
        status, body = await self.http.post_form(
            metadata.token_endpoint,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "code_verifier": verifier,
            },
            (self.upstream.client_id, self.upstream.client_secret),
        )
        if status != 200:
            raise UpstreamError(f"the token endpoint answered {status}: {body[:200]!r}")
        answer = _json_object(body, "the token answer")
        token = answer.get("id_token")
        if not isinstance(token, str):
            raise UpstreamError("the token answer carries no id_token")
        return await self._validate(token, nonce)

    async def end_session_url(
        self, login: OidcLogin, post_logout_uri: str, state: str
    ) -> str | None:
        """The upstream's RP-Initiated Logout request for this login; None if it has none (§2)."""
        endpoint = (await self.metadata()).end_session_endpoint
        if endpoint is None:
            return None
        return with_query(
            endpoint,
            {
                "id_token_hint": login.id_token,
                "client_id": self.upstream.client_id,
                "post_logout_redirect_uri": post_logout_uri,
                "state": state,
            },
        )

    async def _discover(self) -> OidcMetadata:
        issuer = self.upstream.issuer
        # Discovery §4.1: the issuer without a trailing slash, then the well-known path.
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = _json_object(await self.http.get(url), "the discovery document")
        # Discovery §4.3: the issuer in the document is exactly the one the mock was given.
        if document.get("issuer") != issuer:
            raise UpstreamError(f"the discovery document names issuer {document.get('issuer')!r}")
        endpoints = {}
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = document.get(name)
            if not isinstance(value, str) or not value:
                raise UpstreamError(f"the discovery document has no {name}")
            endpoints[name] = value
        end_session = document.get("end_session_endpoint")
        return OidcMetadata(
            **endpoints, end_session_endpoint=end_session if isinstance(end_session, str) else None
        )

    async def _key_set(self, refresh: bool) -> KeySet:
        if self._keys is None or refresh:
            document = _json_object(await self.http.get((await self.metadata()).jwks_uri), "JWKS")
            try:
                self._keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
            except (JoseError, ValueError, TypeError, KeyError) as error:
                raise UpstreamError(f"the upstream's JWKS is not usable: {error}") from error
        return self._keys

    async def _validate(self, token: str, nonce: str) -> OidcLogin:
        """ID Token validation (OIDC Core §3.1.3.7): signature, iss, aud, azp, exp, nonce."""
        try:
            header, _ = read_unverified(token)
        except InvalidJWT as error:
            raise UpstreamError(f"the id_token is not a JWT: {error}") from error
        if header["alg"] not in ID_TOKEN_ALGS:
            raise UpstreamError(f"the id_token is signed with {header['alg']!r}")
        try:
            claims = jwt.decode(token, await self._key_set(refresh=False), ID_TOKEN_ALGS).claims
        except (JoseError, ValueError):
            # The upstream may have rolled its keys since they were read: read them once more.
            try:
                claims = jwt.decode(token, await self._key_set(refresh=True), ID_TOKEN_ALGS).claims
            except (JoseError, ValueError) as error:
                raise UpstreamError(
                    f"the id_token is not signed by the upstream: {error}"
                ) from error
        client_id = self.upstream.client_id
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        checks = [
            (claims.get("iss") == self.upstream.issuer, "iss is not the upstream's issuer"),
            (client_id in audiences, "aud does not name the mock"),
            (len(audiences) == 1 or claims.get("azp") == client_id, "azp is not the mock"),
            (_time(claims.get("exp")) > time.time() - LEEWAY, "it has expired"),
            (_time(claims.get("iat")) > 0, "it has no iat"),
            (claims.get("nonce") == nonce, "nonce is not the one sent"),
            (isinstance(claims.get("sub"), str) and claims["sub"] != "", "it has no sub"),
        ]
        for passed, failure in checks:
            if not passed:
                raise UpstreamError(f"the id_token is not valid: {failure}")
        sid = claims.get("sid")
        return OidcLogin(
            claims["sub"],
            sid if isinstance(sid, str) else None,
            token,
            {name: value for name, value in claims.items() if isinstance(value, str)},
        )


def _json_object(body: bytes, what: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError as error:
        raise UpstreamError(f"{what} is not JSON") from error
    if not isinstance(document, dict):
        raise UpstreamError(f"{what} is not a JSON object")
    return document


def _time(value: object) -> float:
    """A NumericDate claim, or 0 when it is missing or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return float(value)
