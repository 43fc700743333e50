"""Tests of harness.oidc.discovery on httpx.MockTransport."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from harness.errors import TargetError
from harness.oidc.discovery import fetch, fetch_jwks

ISSUER = "https://op.example/realms/test"
DOC: dict[str, Any] = {
    "issuer": ISSUER,
    "authorization_endpoint": f"{ISSUER}/auth",
    "token_endpoint": f"{ISSUER}/token",
    "jwks_uri": f"{ISSUER}/certs",
    "end_session_endpoint": f"{ISSUER}/logout",
    "response_types_supported": ["code"],
}


def client_for(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def serving(doc: object, status: int = 200) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=doc)

    return client_for(handler)


def test_fetch_reads_the_document() -> None:
    urls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        urls.append(str(request.url))
        return httpx.Response(200, json=DOC)

    meta = fetch(client_for(handler), ISSUER)
    assert urls == [f"{ISSUER}/.well-known/openid-configuration"]
    assert meta.issuer == ISSUER
    assert meta.token_endpoint == f"{ISSUER}/token"
    assert meta.end_session_endpoint == f"{ISSUER}/logout"
    assert meta.revocation_endpoint is None
    assert meta.raw["response_types_supported"] == ["code"]


def test_trailing_slash_is_removed_before_the_well_known_path() -> None:
    urls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        urls.append(str(request.url))
        return httpx.Response(200, json={**DOC, "issuer": "https://op.example/"})

    assert fetch(client_for(handler), "https://op.example/").issuer == "https://op.example/"
    assert urls == ["https://op.example/.well-known/openid-configuration"]


def test_html_answer() -> None:
    page = "<!DOCTYPE html><html><body>Sign in</body></html>"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, html=page)

    with pytest.raises(TargetError) as caught:
        fetch(client_for(handler), ISSUER)
    assert str(caught.value) == (
        f"discovery document at {ISSUER}/.well-known/openid-configuration is not JSON"
        " (content-type text/html; charset=utf-8; starts with '<!DOCTYPE html><html><body>Sign in</body')"
    )


def test_not_an_object() -> None:
    with pytest.raises(TargetError, match="is not a JSON object"):
        fetch(serving(["a"]), ISSUER)


def test_non_200() -> None:
    with pytest.raises(TargetError, match="answered HTTP 404"):
        fetch(serving({}, status=404), ISSUER)


def test_redirect_is_named() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(301, headers={"Location": "https://elsewhere.example/"})

    with pytest.raises(TargetError, match=r"HTTP 301 \(Location https://elsewhere.example/\)"):
        fetch(client_for(handler), ISSUER)


def test_missing_required_fields_are_named() -> None:
    doc = {k: v for k, v in DOC.items() if k not in ("token_endpoint", "jwks_uri")}
    with pytest.raises(TargetError, match="lacks token_endpoint, jwks_uri$"):
        fetch(serving(doc), ISSUER)


def test_relative_endpoint() -> None:
    with pytest.raises(TargetError, match="end_session_endpoint is not an absolute URL: '/logout'"):
        fetch(serving({**DOC, "end_session_endpoint": "/logout"}), ISSUER)


def test_issuer_mismatch() -> None:
    with pytest.raises(TargetError, match="says issuer 'https://evil.example', expected"):
        fetch(serving({**DOC, "issuer": "https://evil.example"}), ISSUER)


def test_fetch_jwks() -> None:
    jwks = {"keys": [{"kty": "EC", "kid": "1"}]}
    assert fetch_jwks(serving(jwks), f"{ISSUER}/certs") == jwks


@pytest.mark.parametrize("doc", [{"keys": "x"}, {"nokeys": []}, {"keys": [1]}])
def test_fetch_jwks_rejects_bad_sets(doc: object) -> None:
    with pytest.raises(TargetError, match="has no 'keys' list of objects"):
        fetch_jwks(serving(doc), f"{ISSUER}/certs")


def test_fetch_jwks_not_json() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="oops")

    with pytest.raises(TargetError, match="JWKS at .* is not JSON"):
        fetch_jwks(client_for(handler), f"{ISSUER}/certs")
