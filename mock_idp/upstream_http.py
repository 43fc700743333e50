"""The mock's own requests to upstream identity providers (discovery, JWKS, SAML metadata, the token endpoint): one HTTP client, bounded in time and in what it reads (RFC 9110, https://www.rfc-editor.org/rfc/rfc9110)."""

import asyncio
from base64 import b64encode
from urllib.parse import quote_plus

import httpx

# What one phase of a request may take; OVERALL bounds the whole of it, so that an upstream that
# drips its answer cannot hold a login forever.
TIMEOUT = httpx.Timeout(connect=2.0, read=5.0, write=5.0, pool=5.0)
OVERALL = 10.0
# Discovery documents, key sets, metadata and token answers are a few KiB.
MAX_BODY = 256 * 1024


class UpstreamError(Exception):
    """An upstream that could not be reached, or whose answer the mock cannot use."""


class UpstreamHttp:
    def __init__(self) -> None:
        # The upstreams come from the config: no proxy or .netrc from the environment applies.
        # identity encoding: the size bound holds for what is read, not for what it inflates to.
        self._http = httpx.AsyncClient(
            timeout=TIMEOUT,
            trust_env=False,
            follow_redirects=False,
            headers={"Accept-Encoding": "identity"},
        )

    async def get(self, url: str) -> bytes:
        """The body of a 200 answer to GET url."""
        status, body = await self._bounded(self._http.build_request("GET", url))
        if status != 200:
            raise UpstreamError(f"GET {url} answered {status}")
        return body

    async def post_form(
        self, url: str, form: dict[str, str], auth: tuple[str, str]
    ) -> tuple[int, bytes]:
        """POST a form with HTTP Basic credentials; the status and body, whatever the status."""
        request = self._http.build_request(
            "POST", url, data=form, headers={"Authorization": basic_authorization(*auth)}
        )
        return await self._bounded(request)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _bounded(self, request: httpx.Request) -> tuple[int, bytes]:
        try:
            return await asyncio.wait_for(self._send(request), OVERALL)
        except TimeoutError as error:
            raise UpstreamError(f"{request.method} {request.url} took over {OVERALL} s") from error
        except httpx.HTTPError as error:
            raise UpstreamError(f"{request.method} {request.url} failed: {error}") from error

    async def _send(self, request: httpx.Request) -> tuple[int, bytes]:
        answer = await self._http.send(request, stream=True)
        try:
            body = bytearray()
            async for chunk in answer.aiter_raw():
                body += chunk
                if len(body) > MAX_BODY:
                    raise UpstreamError(f"{request.url} answered more than {MAX_BODY} bytes")
            return answer.status_code, bytes(body)
        finally:
            await answer.aclose()


def basic_authorization(client_id: str, secret: str) -> str:
    """client_secret_basic: both halves form-urlencoded before base64 (RFC 6749 §2.3.1)."""
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}"
    return "Basic " + b64encode(pair.encode()).decode()
