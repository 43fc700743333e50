"""The IdP's side of a tool's logout: was its refresh token revoked (RFC 7009, https://www.rfc-editor.org/rfc/rfc7009)?

Two kinds of evidence: the bundled mock's record of revocation requests (``GET
/_mock/oidc/revocations?token_sha256=...``), and a refresh grant with the token (RFC 6749 §6), which
must fail once it is revoked. Also: registering the tool's client at the bundled mock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import httpx

from harness.errors import TargetError, TargetUnreachable
from harness.oidc.rp import basic_auth

__all__ = ["RefreshProbe", "calls_for", "register_at_mock", "token_endpoint", "try_refresh"]


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def calls_for(http: httpx.Client, url: str, token: str) -> list[dict[str, Any]]:
    """The revocation requests the mock saw for this token."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    try:
        answer = http.get(url, params={"token_sha256": digest})
    except httpx.HTTPError as exc:
        raise TargetUnreachable(f"the mock's revocation record at {url}: {type(exc).__name__}") from None
    body = _json(answer)
    if answer.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("revocations"), list):
        raise TargetError(f"{url} answered HTTP {answer.status_code} without a list of revocations")
    return [call for call in body["revocations"] if isinstance(call, dict)]


def token_endpoint(http: httpx.Client, issuer: str) -> str:
    url = f"{issuer.rstrip('/')}/.well-known/openid-configuration"
    try:
        answer = http.get(url)
    except httpx.HTTPError as exc:
        raise TargetUnreachable(f"{url}: {type(exc).__name__}") from None
    body = _json(answer)
    if answer.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("token_endpoint"), str):
        raise TargetError(f"{url} answered HTTP {answer.status_code} without a token_endpoint")
    return str(body["token_endpoint"])


@dataclass(frozen=True)
class RefreshProbe:
    """What a refresh grant with the token got."""

    status: int
    error: str | None

    @property
    def works(self) -> bool:
        return self.status == 200 and self.error is None


def try_refresh(http: httpx.Client, token_url: str, client_id: str, secret: str | None, token: str) -> RefreshProbe:
    """A refresh grant with the tool's client (Basic with a secret, client_id posted without one)."""
    data = {"grant_type": "refresh_token", "refresh_token": token}
    try:
        if secret:
            answer = http.post(token_url, data=data, auth=basic_auth(client_id, secret))
        else:
            answer = http.post(token_url, data={**data, "client_id": client_id})
    except httpx.HTTPError as exc:
        raise TargetUnreachable(f"{token_url}: {type(exc).__name__}") from None
    body = _json(answer)
    error = body.get("error") if isinstance(body, dict) else None
    if answer.status_code == 200 and not (isinstance(body, dict) and isinstance(body.get("access_token"), str)):
        error = "no access_token in the answer"
    if answer.status_code >= 500 or answer.status_code == 401:
        raise TargetError(f"the refresh grant at {token_url} answered HTTP {answer.status_code}"
                          f"{f' ({error})' if error else ''}: the harness cannot tell whether the token works")
    return RefreshProbe(answer.status_code, str(error) if error is not None else None)


def register_at_mock(http: httpx.Client, issuer: str, client_id: str, secret: str | None) -> None:
    """Register the tool's client at the bundled mock (201), or find it there already (409)."""
    body: dict[str, Any] = {"client_id": client_id, "redirect_uris": ["http://127.0.0.1/unused"]}
    body.update({"client_secret": secret} if secret else {"token_endpoint_auth_method": "none"})
    answer = http.post(f"{issuer.rstrip('/')}/_mock/oidc/clients", json=body)
    if answer.status_code not in (201, 409):
        raise TargetError(f"the mock refused the tool's client {client_id}: HTTP {answer.status_code} "
                          f"{answer.text[:200]}")
