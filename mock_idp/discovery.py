"""Provider metadata and the JWK Set it points to (OpenID Connect Discovery 1.0 §3, https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata)."""

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from mock_idp.config import CLIENT_AUTH_METHODS, SECRET_AUTH_METHODS, SIGNING_ALGS
from mock_idp.id_token import SCOPE_CLAIMS
from mock_idp.provider import Provider

SCOPES = ("openid", *SCOPE_CLAIMS, "offline_access")
ID_TOKEN_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid")


class DiscoveryEndpoints:
    def __init__(self, op: Provider) -> None:
        self.op = op
        self.faults = op.faults

    def metadata(self) -> dict[str, Any]:
        issuer = self.op.issuer
        metadata: dict[str, Any] = {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "userinfo_endpoint": f"{issuer}/userinfo",
            "jwks_uri": f"{issuer}/jwks",
            "end_session_endpoint": f"{issuer}/end-session",
            "revocation_endpoint": f"{issuer}/revoke",
            "introspection_endpoint": f"{issuer}/introspect",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": list(SIGNING_ALGS),
            "token_endpoint_auth_methods_supported": list(CLIENT_AUTH_METHODS),
            "revocation_endpoint_auth_methods_supported": list(CLIENT_AUTH_METHODS),
            # Introspection tells about any token: public clients can't prove who asks (RFC 7662 §2.1).
            "introspection_endpoint_auth_methods_supported": list(SECRET_AUTH_METHODS),
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": list(SCOPES),
            "claims_supported": [
                *ID_TOKEN_CLAIMS,
                *(claim for claims in SCOPE_CLAIMS.values() for claim in claims),
            ],
            # Front-Channel Logout 1.0 §3; ID tokens carry sid (unless bcl-id-token-no-sid).
            "frontchannel_logout_supported": True,
            "frontchannel_logout_session_supported": True,
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
        }
        if "no-end-session-metadata" in self.faults:
            del metadata["end_session_endpoint"]
        if "bcl-no-metadata" in self.faults:
            metadata["backchannel_logout_supported"] = False
        if "fcl-no-discovery" in self.faults:
            del metadata["frontchannel_logout_supported"]
            del metadata["frontchannel_logout_session_supported"]
        return metadata

    async def openid_configuration(self, request: Request) -> JSONResponse:
        return JSONResponse(self.metadata())

    async def jwks(self, request: Request) -> JSONResponse:
        return JSONResponse(self.op.keys.jwks())
