"""RFC 7662, OAuth 2.0 Token Introspection: https://www.rfc-editor.org/rfc/rfc7662"""

from __future__ import annotations

from harness.checks import check, describe_body, error_suffix
from harness.errors import Violation

__all__ = [
    "TOKEN_METADATA",
    "inactive_without_details",
    "introspection_inactive",
    "introspection_requires_auth",
    "require_inactive",
]

#: the members of section 2.2 that describe a token (``active`` aside): their presence is disclosure
TOKEN_METADATA = frozenset(
    {
        "scope",
        "client_id",
        "username",
        "token_type",
        "exp",
        "iat",
        "nbf",
        "sub",
        "aud",
        "iss",
        "jti",
    }
)


def require_inactive(status: int, body: object, content_type: str | None, label: str) -> None:
    """The section 2.2 rule for a token that must be inactive, without a requirement id.

    The checks below (and the composite ones of ``harness.token_rejection``) call it, each under
    its own requirement.
    """
    expected = f'HTTP 200 with {{"active": false}} for {label}'
    if status != 200:
        raise Violation(expected=expected, seen=f"HTTP {status}{error_suffix(body)}")
    if not isinstance(body, dict):
        raise Violation(
            expected=expected, seen=f"HTTP 200 with {describe_body(body, content_type)}"
        )
    if "active" not in body:
        raise Violation(expected=expected, seen=f"no active member; {describe_body(body)}")
    active = body["active"]
    if active is True:
        raise Violation(expected=expected, seen=f'"active": true: {label} is still accepted')
    if active is not False:
        raise Violation(
            expected=expected, seen=f'"active": {_json_repr(active)}, not the JSON boolean false'
        )


@check("RFC7662-2.2-inactive")
def introspection_inactive(
    status: int, body: object, content_type: str | None = None, label: str = "the token"
) -> None:
    """A revoked, expired or unknown token introspects as HTTP 200 ``{"active": false}``.

    ``label`` names the token in the message (never the token itself: a masked hint at most).
    """
    require_inactive(status, body, content_type, label)


@check("RFC7662-2.2-no-details")
def inactive_without_details(body: object, content_type: str | None = None) -> str | None:
    """The response for an inactive token carries ``active`` and nothing else.

    Not applicable (a note) when the token is active: only inactive responses must be bare.
    """
    if not isinstance(body, dict):
        raise Violation(
            expected='a JSON object with "active": false and no other member',
            seen=describe_body(body, content_type),
        )
    if body.get("active") is True:
        return "the token is active, so the no-details rule for inactive tokens does not apply"
    extra = sorted(str(key) for key in body if key != "active")
    if extra:
        raise Violation(
            expected='only "active": false about an inactive token (not why, nor its metadata)',
            seen=f"additional members: {', '.join(extra)}",
        )
    return None


@check("RFC7662-2.1-auth")
def introspection_requires_auth(
    status: int, body: object = None, content_type: str | None = None
) -> str | None:
    """An introspection request without any authorization, for a valid token, learns nothing.

    401, 400 and 403 are refusals. Any other refusal (a redirect, another error) is allowed but noted.
    A 200 fails only when it discloses the token: ``"active": true`` or token metadata.
    """
    if status in (400, 401, 403):
        return None
    if not 200 <= status < 300:
        return (
            f"introspection without authorization answered HTTP {status}: refused, nothing disclosed, "
            "though RFC 7662 section 2.3 expects 401"
        )
    expected = "a refusal (HTTP 401) of an introspection request that carries no authorization"
    if isinstance(body, dict):
        disclosed = sorted(str(key) for key in body if key in TOKEN_METADATA)
        if body.get("active") is True:
            raise Violation(
                expected=expected,
                seen=f'HTTP {status} with "active": true for a valid token'
                + (f", and its {', '.join(disclosed)}" if disclosed else ""),
            )
        if disclosed:
            raise Violation(
                expected=expected,
                seen=f"HTTP {status} disclosing the token's {', '.join(disclosed)}",
            )
        if body.get("active") is False:
            return (
                f'introspection without authorization answered HTTP {status} with "active": false: '
                "not refused, but nothing about the token leaked"
            )
    return (
        f"introspection without authorization answered HTTP {status} with "
        f"{describe_body(body, content_type)}: no token information in it"
    )


def _json_repr(value: object) -> str:
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if value is None:
        return "null"
    return repr(value)[:40]
