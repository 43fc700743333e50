"""Request parameters and redirect URIs as OAuth 2.0 wants them (RFC 6749 §3.1, https://www.rfc-editor.org/rfc/rfc6749#section-3.1)."""

from collections.abc import Collection
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.datastructures import FormData, QueryParams
from starlette.responses import JSONResponse

from mock_idp.oauth_responses import oauth_error


class ParameterError(ValueError):
    """A request that repeats a parameter or sends one that is not text."""


def read_params(source: QueryParams | FormData, names: Collection[str]) -> dict[str, str]:
    """The named parameters of a request; empty ones count as absent, repeated ones are an error."""
    params: dict[str, str] = {}
    for name in names:
        values = source.getlist(name)
        if len(values) > 1:
            raise ParameterError(f"parameter {name} is sent more than once")
        if not values:
            continue
        value = values[0]
        if not isinstance(value, str):
            raise ParameterError(f"parameter {name} is not text")
        if value:
            params[name] = value
    return params


def with_query(uri: str, params: dict[str, str]) -> str:
    """The URI with params added to its query, keeping the query it already has (RFC 6749 §3.1.2)."""
    if not params:
        return uri
    parts = urlsplit(uri)
    query = "&".join(part for part in (parts.query, urlencode(params)) if part)
    return urlunsplit(parts._replace(query=query))


def read_token_params(form: FormData) -> dict[str, str] | JSONResponse:
    """``token`` (required) and ``token_type_hint`` of an introspection or revocation request, or the
    invalid_request answer (RFC 7662 §2.1, RFC 7009 §2.1)."""
    try:
        params = read_params(form, ("token", "token_type_hint"))
    except ParameterError as error:
        return oauth_error("invalid_request", str(error))
    if "token" not in params:
        return oauth_error("invalid_request", "token is required")
    return params
