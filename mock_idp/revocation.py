"""The token revocation endpoint (RFC 7009 §2, https://www.rfc-editor.org/rfc/rfc7009#section-2)."""

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mock_idp.client_auth import authenticate_client, invalid_client
from mock_idp.oauth_responses import NO_STORE, oauth_error
from mock_idp.params import read_token_params
from mock_idp.provider import Provider
from mock_idp.tokens import Token, TokenType, search_order


class RevocationEndpoint:
    def __init__(self, op: Provider) -> None:
        self.op = op
        self.faults = op.faults

    async def revoke(self, request: Request) -> Response:
        form = await request.form()
        client = authenticate_client(request, form, self.op.clients, public=True)
        if client is None:
            return invalid_client()
        params = read_token_params(form)
        if isinstance(params, JSONResponse):
            return params
        token = self.op.tokens.find(
            params["token"], self._search_order(params.get("token_type_hint"))
        )
        if token is None:
            if "revoke-unknown-400" in self.faults:
                return oauth_error("invalid_request", "unknown token")
            # An invalid token is not an error: the client's aim is already met (RFC 7009 §2.2).
            return _revoked()
        if token.grant.client_id != client.client_id and "revoke-any-client" not in self.faults:
            # Someone else's token counts as invalid for this client: nothing happens (RFC 7009 §2.1).
            return _revoked()
        if token.type == "access_token":
            if "revoke-access-unsupported" in self.faults:
                return oauth_error("unsupported_token_type", "access tokens cannot be revoked")
            token.revoke("revocation")
        else:
            self._revoke_refresh_token(token)
        return _revoked()

    def _search_order(self, hint: str | None) -> tuple[TokenType, ...]:
        order = search_order(hint)
        # The hint only says where to look first; unknown hints are ignored (RFC 7009 §2.1).
        if hint in ("access_token", "refresh_token") and "revoke-hint-strict" in self.faults:
            return order[:1]
        return order

    def _revoke_refresh_token(self, token: Token) -> None:
        if "revocation-ignored" in self.faults:
            return
        token.revoke("revocation")
        if "revoke-refresh-keeps-access" in self.faults:
            return
        # Revoking a refresh token ends its grant's access tokens too (RFC 7009 §2.1).
        for access in self.op.tokens.of_grant(token.grant, "access_token"):
            access.revoke("revocation")


def _revoked() -> Response:
    return Response(status_code=200, headers=NO_STORE)
