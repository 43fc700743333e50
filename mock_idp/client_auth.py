"""Client authentication: a client secret, basic or post (RFC 6749 §2.3.1, https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1), or a public client's client_id alone (OpenID Connect Core 1.0 §9, none)."""

import base64
import binascii
import hmac
from urllib.parse import unquote_plus

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse

from mock_idp.clients import ClientRegistry
from mock_idp.config import Client
from mock_idp.oauth_responses import oauth_error


def authenticate_client(
    request: Request, form: FormData, clients: ClientRegistry, *, public: bool = False
) -> Client | None:
    """The client these credentials prove, by the method it registered; None when they prove none.

    With ``public``, a public client (method none) is identified by the client_id it posts
    (the token and revocation endpoints, RFC 6749 §3.2.1 and RFC 7009 §2.1).
    """
    header = request.headers.get("authorization", "")
    posted_id = form.get("client_id")
    posted_secret = form.get("client_secret")
    if header[:6].lower() == "basic ":
        # One method per request (RFC 6749 §2.3): a posted secret next to basic auth is an error.
        if posted_secret is not None:
            return None
        credentials = basic_credentials(header[6:])
        method = "client_secret_basic"
    elif isinstance(posted_id, str) and isinstance(posted_secret, str):
        credentials = posted_id, posted_secret
        method = "client_secret_post"
    elif public and isinstance(posted_id, str) and not header:
        client = clients.get(posted_id)
        return client if client is not None and client.public else None
    else:
        return None
    if credentials is None:
        return None
    client = client_with_secret(clients, *credentials)
    if client is None or client.token_endpoint_auth_method != method:
        return None
    return client


def client_with_secret(clients: ClientRegistry, client_id: str, secret: str) -> Client | None:
    """The client if this is its secret, whatever way it was sent; never a public client."""
    client = clients.get(client_id)
    if (
        client is None
        or client.public
        or not hmac.compare_digest(client.client_secret.encode(), secret.encode())
    ):
        return None
    return client


def invalid_client() -> JSONResponse:
    return oauth_error(
        "invalid_client",
        "client authentication failed",
        401,
        {"WWW-Authenticate": 'Basic realm="mock-idp"'},
    )


def basic_credentials(encoded: str) -> tuple[str, str] | None:
    """client_id and secret from the base64 part of an HTTP Basic header, None if malformed."""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        return None
    # Both halves are form-urlencoded before base64 (RFC 6749 §2.3.1).
    return unquote_plus(client_id), unquote_plus(secret)
