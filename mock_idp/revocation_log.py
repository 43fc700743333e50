"""What the revocation endpoint was asked, for tests of clients that must revoke (RFC 7009 §2.1, https://www.rfc-editor.org/rfc/rfc7009#section-2.1).

A mock-only control endpoint, ``GET /_mock/oidc/revocations[?token_sha256=HEX]``: every call of the
revocation endpoint, newest last, with the SHA-256 of the token sent (never the token), what the
token was, and whether it is revoked after the call. A harness that tests a command-line tool's
logout asks it whether the tool revoked its refresh token.
"""

import hashlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mock_idp.client_auth import basic_credentials
from mock_idp.provider import Provider

Endpoint = Callable[[Request], Awaitable[Response]]
MAX_CALLS = 10_000


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class RevocationLog:
    def __init__(self, op: Provider) -> None:
        self.op = op
        self._calls: deque[dict[str, Any]] = deque(maxlen=MAX_CALLS)

    def observe(self, endpoint: Endpoint) -> Endpoint:
        """The revocation endpoint, each call written down once it answered."""

        async def observed(request: Request) -> Response:
            form = await request.form()  # cached on the request: the endpoint reads the same form
            value, hint = form.get("token"), form.get("token_type_hint")
            found = None
            if isinstance(value, str) and value:
                found = self.op.tokens.find(value, ("refresh_token", "access_token"))
            response = await endpoint(request)
            self._calls.append(
                {
                    "at": time.time(),
                    "client_id": _claimed_client(request, form.get("client_id")),
                    "token_sha256": token_hash(value) if isinstance(value, str) else None,
                    "token_type_hint": hint if isinstance(hint, str) else None,
                    "token_type": found.type if found else None,
                    "token_client_id": found.grant.client_id if found else None,
                    "revoked": found is not None and found.revoked_by is not None,
                    "status": response.status_code,
                }
            )
            return response

        return observed

    async def calls(self, request: Request) -> JSONResponse:
        """GET /_mock/oidc/revocations: the calls seen, all or those about one token's SHA-256."""
        wanted = request.query_params.get("token_sha256")
        calls = [c for c in self._calls if wanted is None or c["token_sha256"] == wanted]
        return JSONResponse({"revocations": calls}, headers={"Cache-Control": "no-store"})


def _claimed_client(request: Request, posted: object) -> str | None:
    """The client_id the caller gave (Basic or posted), whether or not it proved it."""
    header = request.headers.get("authorization", "")
    if header[:6].lower() == "basic ":
        credentials = basic_credentials(header[6:])
        return credentials[0] if credentials else None
    return posted if isinstance(posted, str) else None
