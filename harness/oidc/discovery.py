"""OpenID Connect Discovery 1.0 (https://openid.net/specs/openid-connect-discovery-1_0.html)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from harness.errors import TargetError
from harness.redact import REDACTOR

__all__ = ["WELL_KNOWN", "ProviderMetadata", "fetch", "fetch_jwks"]

WELL_KNOWN = "/.well-known/openid-configuration"
# Section 3 requires more (response_types_supported, ...), but their absence is a conformance
# matter for checks to report, not a reason the harness cannot go on; these it cannot do without
REQUIRED = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
OPTIONAL = (
    "userinfo_endpoint",
    "end_session_endpoint",
    "revocation_endpoint",
    "introspection_endpoint",
)


@dataclass(frozen=True)
class ProviderMetadata:
    """The endpoints the harness uses, and the whole document for checks that need more."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    end_session_endpoint: str | None
    revocation_endpoint: str | None
    introspection_endpoint: str | None
    raw: dict[str, Any]


def fetch(client: httpx.Client, issuer: str) -> ProviderMetadata:
    """Fetch and validate the provider's configuration (sections 4.1 and 4.3)."""
    # section 4.1: a terminating "/" of the issuer is removed before appending the well-known path
    url = issuer.rstrip("/") + WELL_KNOWN
    doc = _get_json_object(client, url, "discovery document")
    missing = [name for name in REQUIRED if name not in doc]
    if missing:
        raise TargetError(f"discovery document at {url} lacks {', '.join(missing)}")
    for name in (*REQUIRED, *OPTIONAL):
        value = doc.get(name)
        if value is not None and not _is_absolute_url(value):
            raise TargetError(
                f"discovery document at {url}: {name} is not an absolute URL: {value!r}"
            )
    if doc["issuer"] != issuer:
        raise TargetError(
            f"discovery document at {url} says issuer {doc['issuer']!r}, expected {issuer!r}"
            " (they must be identical, Discovery 1.0 section 4.3)"
        )
    return ProviderMetadata(
        issuer=doc["issuer"],
        authorization_endpoint=doc["authorization_endpoint"],
        token_endpoint=doc["token_endpoint"],
        jwks_uri=doc["jwks_uri"],
        userinfo_endpoint=doc.get("userinfo_endpoint"),
        end_session_endpoint=doc.get("end_session_endpoint"),
        revocation_endpoint=doc.get("revocation_endpoint"),
        introspection_endpoint=doc.get("introspection_endpoint"),
        raw=doc,
    )


def fetch_jwks(client: httpx.Client, uri: str) -> dict[str, Any]:
    """Fetch the provider's JSON Web Key Set (RFC 7517 section 5): an object with a ``keys`` list."""
    doc = _get_json_object(client, uri, "JWKS")
    keys = doc.get("keys")
    if not isinstance(keys, list) or not all(isinstance(key, dict) for key in keys):
        raise TargetError(f"JWKS at {uri} has no 'keys' list of objects")
    return doc


def _is_absolute_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL:
        return False
    return url.scheme in ("http", "https") and bool(url.host)


def _get_json_object(client: httpx.Client, url: str, what: str) -> dict[str, Any]:
    response = client.get(url, headers={"Accept": "application/json"})
    shown = REDACTOR.text(url)
    if response.status_code != 200:
        location = response.headers.get("location")
        extra = f" (Location {REDACTOR.text(location)})" if location else ""
        raise TargetError(f"{what} at {shown} answered HTTP {response.status_code}{extra}")
    try:
        doc = response.json()
    except ValueError as exc:
        content_type = response.headers.get("content-type", "none")
        start = REDACTOR.text(response.text[:40].strip())
        raise TargetError(
            f"{what} at {shown} is not JSON (content-type {content_type}; starts with {start!r})"
        ) from exc
    if not isinstance(doc, dict):
        raise TargetError(f"{what} at {shown} is not a JSON object")
    return doc
