"""The token endpoint: authorization_code and refresh_token grants (RFC 6749 §3.2, https://www.rfc-editor.org/rfc/rfc6749#section-3.2; OpenID Connect Core 1.0 §3.1.3)."""

import time

from starlette.requests import Request
from starlette.responses import JSONResponse

from mock_idp import id_token, password_grant
from mock_idp.client_auth import authenticate_client, invalid_client
from mock_idp.config import Client
from mock_idp.oauth_responses import json_no_store, oauth_error
from mock_idp.params import ParameterError, read_params
from mock_idp.pkce import s256_matches
from mock_idp.provider import Provider
from mock_idp.tokens import ACCESS_TOKEN_LIFETIME, Grant, Token

TOKEN_PARAMS = ("grant_type", "code", "redirect_uri", "code_verifier", "refresh_token")


class TokenEndpoint:
    def __init__(self, op: Provider) -> None:
        self.op = op
        self.faults = op.faults

    async def token(self, request: Request) -> JSONResponse:
        form = await request.form()
        client = authenticate_client(request, form, self.op.clients, public=True)
        if client is None:
            return invalid_client()
        try:
            params = read_params(form, TOKEN_PARAMS)
        except ParameterError as error:
            return oauth_error("invalid_request", str(error))
        grant_type = params.get("grant_type")
        if grant_type is None:
            return oauth_error("invalid_request", "grant_type is required")
        if grant_type == "authorization_code":
            return self._authorization_code(client, params)
        if grant_type == "refresh_token":
            return self._refresh_token(client, params)
        if grant_type == "password":  # command-line tools log in so (mock_idp/password_grant.py)
            return password_grant.token(self.op, client, form)
        return oauth_error(
            "unsupported_grant_type", "grant_type must be authorization_code or refresh_token"
        )

    def _authorization_code(self, client: Client, params: dict[str, str]) -> JSONResponse:
        now = int(time.time())
        code = self.op.tokens.redeem_code(params.get("code", ""), now)
        if code is None or code.grant.client_id != client.client_id:
            return oauth_error("invalid_grant", "the code is unknown, used, expired or not yours")
        if params.get("redirect_uri") != code.redirect_uri:
            return oauth_error(
                "invalid_grant", "redirect_uri differs from the authorization request"
            )
        if code.code_challenge is not None and not s256_matches(
            params.get("code_verifier", ""), code.code_challenge
        ):
            return oauth_error("invalid_grant", "code_verifier does not match the code_challenge")
        refresh = self.op.tokens.issue("refresh_token", code.grant, now)
        return self._tokens(client, code.grant, refresh, now, nonce=True)

    def _refresh_token(self, client: Client, params: dict[str, str]) -> JSONResponse:
        now = int(time.time())
        refresh = self.op.tokens.find(params.get("refresh_token", ""), ("refresh_token",))
        if (
            refresh is None
            or refresh.inactive_reason(now) is not None
            or refresh.grant.client_id != client.client_id
        ):
            return oauth_error(
                "invalid_grant", "the refresh token is unknown, revoked, expired or not yours"
            )
        return self._tokens(client, refresh.grant, refresh, now, nonce=False)

    def _tokens(
        self, client: Client, grant: Grant, refresh: Token, now: int, *, nonce: bool
    ) -> JSONResponse:
        access = self.op.tokens.issue("access_token", grant, now)
        return json_no_store(
            {
                "access_token": access.value,
                "token_type": "Bearer",
                "expires_in": ACCESS_TOKEN_LIFETIME,
                "refresh_token": refresh.value,
                "scope": " ".join(grant.scopes),
                "id_token": id_token.sign(
                    self.op.keys,
                    self.op.issuer,
                    client,
                    grant,
                    now,
                    nonce=nonce,
                    sid="bcl-id-token-no-sid" not in self.faults,
                ),
            }
        )
