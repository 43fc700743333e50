"""Cross-origin access for browser apps to the OP's JSON endpoints (Fetch Standard, CORS protocol, https://fetch.spec.whatwg.org/#http-cors-protocol)."""

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

Endpoint = Callable[[Request], Awaitable[Response]]

# What a single-page app sends: form POSTs to the token and revocation endpoints, Bearer tokens to
# userinfo. No credentials: these endpoints never read the OP's session cookie.
PREFLIGHT = {
    "Access-Control-Allow-Methods": "GET, POST",
    "Access-Control-Allow-Headers": "authorization, content-type",
    "Access-Control-Max-Age": "600",
}


def cors(endpoint: Endpoint) -> Endpoint:
    """The endpoint, open to any origin: preflights (OPTIONS) answered, the Origin echoed back."""

    async def with_cors(request: Request) -> Response:
        if request.method == "OPTIONS":
            response = Response(status_code=204, headers=PREFLIGHT)
        else:
            response = await endpoint(request)
        # The answer depends on Origin, so caches must key on it.
        response.headers.add_vary_header("Origin")
        origin = request.headers.get("origin")
        if origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
        return response

    return with_cors
