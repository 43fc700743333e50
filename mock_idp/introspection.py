"""The token introspection endpoint (RFC 7662 §2, https://www.rfc-editor.org/rfc/rfc7662#section-2)."""

import time

from starlette.requests import Request
from starlette.responses import JSONResponse

from mock_idp.client_auth import authenticate_client, invalid_client
from mock_idp.oauth_responses import json_no_store
from mock_idp.params import read_token_params
from mock_idp.provider import Provider
from mock_idp.tokens import search_order


class IntrospectionEndpoint:
    def __init__(self, op: Provider) -> None:
        self.op = op
        self.faults = op.faults

    async def introspect(self, request: Request) -> JSONResponse:
        form = await request.form()
        client = authenticate_client(request, form, self.op.clients)
        if client is None and "introspection-open" not in self.faults:
            return invalid_client()
        params = read_token_params(form)
        if isinstance(params, JSONResponse):
            return params
        token = self.op.tokens.find(params["token"], search_order(params.get("token_type_hint")))
        now = int(time.time())
        reason = "unknown" if token is None else token.inactive_reason(now)
        if reason == "revoked" and "introspection-revoked-active" in self.faults:
            reason = None
        if token is None or reason is not None:
            # Inactive says nothing more, so callers learn nothing about foreign tokens (RFC 7662 §2.2).
            if "introspection-inactive-details" in self.faults:
                return json_no_store({"active": False, "reason": reason})
            return json_no_store({"active": False})
        grant = token.grant
        return json_no_store(
            {
                "active": True,
                "client_id": grant.client_id,
                "sub": grant.user.sub,
                "username": grant.user.username,
                "scope": " ".join(grant.scopes),
                "exp": token.expires_at,
                "iat": token.issued_at,
                "iss": self.op.issuer,
                "token_type": "Bearer" if token.type == "access_token" else "refresh_token",
                "sid": grant.sid,
            }
        )
