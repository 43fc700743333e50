"""JSON answers of the OAuth endpoints, never cached (RFC 6749 §5.1 and §5.2, https://www.rfc-editor.org/rfc/rfc6749#section-5)."""

from typing import Any

from starlette.responses import JSONResponse

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def json_no_store(content: dict[str, Any], status_code: int = 200) -> JSONResponse:
    return JSONResponse(content, status_code=status_code, headers=NO_STORE)


def oauth_error(
    error: str, description: str, status_code: int = 400, headers: dict[str, str] | None = None
) -> JSONResponse:
    response = json_no_store({"error": error, "error_description": description}, status_code)
    response.headers.update(headers or {})
    return response
