"""The UserInfo endpoint, Bearer tokens in the Authorization header (OpenID Connect Core 1.0 §5.3, https://openid.net/specs/openid-connect-core-1_0.html#UserInfo)."""

import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mock_idp.id_token import scoped_claims
from mock_idp.oauth_responses import NO_STORE, json_no_store
from mock_idp.provider import Provider
from mock_idp.tokens import Token


class UserInfoEndpoint:
    def __init__(self, op: Provider) -> None:
        self.op = op
        self.faults = op.faults

    async def userinfo(self, request: Request) -> Response:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            # No credentials at all: a bare challenge without an error code (RFC 6750 §3.1).
            return Response(
                status_code=401, headers={**NO_STORE, "WWW-Authenticate": 'Bearer realm="mock-idp"'}
            )
        token = self.op.tokens.find(value.strip(), ("access_token",))
        if token is None or not self._accepts(token, int(time.time())):
            return JSONResponse(
                {"error": "invalid_token"},
                status_code=401,
                headers={**NO_STORE, "WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        grant = token.grant
        return json_no_store({"sub": grant.user.sub, **scoped_claims(grant.user, grant.scopes)})

    def _accepts(self, token: Token, now: int) -> bool:
        if token.inactive_reason(now) is None:
            return True
        # The fault forgets logouts only: expiry and revocation still count.
        return (
            "userinfo-ignores-logout" in self.faults
            and token.revoked_by == "logout"
            and now < token.expires_at
        )
