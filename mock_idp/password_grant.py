"""The resource owner password credentials grant, how command-line tools log in here (RFC 6749 §4.3, https://www.rfc-editor.org/rfc/rfc6749#section-4.3)."""

import hmac
import secrets
import time

from starlette.datastructures import FormData
from starlette.responses import JSONResponse

from mock_idp.config import Client
from mock_idp.oauth_responses import json_no_store, oauth_error
from mock_idp.params import ParameterError, read_params
from mock_idp.provider import Provider
from mock_idp.tokens import ACCESS_TOKEN_LIFETIME, Grant

PARAMS = ("username", "password", "scope")
DEFAULT_SCOPE = "openid"


def token(op: Provider, client: Client, form: FormData) -> JSONResponse:
    """The token response for grant_type=password: an access and a refresh token (RFC 6749 §4.3.3)."""
    try:
        params = read_params(form, PARAMS)
    except ParameterError as error:
        return oauth_error("invalid_request", str(error))
    if "username" not in params or "password" not in params:
        return oauth_error("invalid_request", "username and password are required")
    user = op.config.user(params["username"])
    if user is None or not hmac.compare_digest(user.password.encode(), params["password"].encode()):
        return oauth_error("invalid_grant", "the username or the password is wrong")
    now = int(time.time())
    scopes = tuple(params.get("scope", DEFAULT_SCOPE).split())
    # No browser, so no OP session: the grant has a sid of its own that no browser logout ends;
    # only revoking its refresh token (RFC 7009) does.
    grant = Grant(client.client_id, user, f"pw-{secrets.token_urlsafe(12)}", scopes, None, now)
    access = op.tokens.issue("access_token", grant, now)
    refresh = op.tokens.issue("refresh_token", grant, now)
    return json_no_store(
        {
            "access_token": access.value,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME,
            "refresh_token": refresh.value,
            "scope": " ".join(scopes),
        }
    )
