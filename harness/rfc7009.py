"""RFC 7009, OAuth 2.0 Token Revocation: https://www.rfc-editor.org/rfc/rfc7009

The checks take what a step observed: the revocation endpoint's HTTP status, its parsed JSON body
(None when not JSON), and whether the token still worked when the step tried it right after
(a refresh grant, introspection, or userinfo call). Tokens themselves never reach a check.
"""

from __future__ import annotations

from harness.checks import check, error_suffix
from harness.errors import Violation

__all__ = [
    "access_token_revoked",
    "found_despite_wrong_hint",
    "grant_access_tokens_invalidated",
    "other_client_refused",
    "refresh_token_revoked",
    "unknown_token_ok",
]


def _revoked(kind: str, status: int, still_usable: bool, body: object) -> str | None:
    expected = f"HTTP 200 from the revocation endpoint, then the {kind} refused at once"
    if not 200 <= status < 300:
        reason = ""
        if isinstance(body, dict) and body.get("error") == "unsupported_token_type":
            reason = f" (the server does not revoke {kind}s)"
        raise Violation(
            expected=expected,
            seen=f"revoking the {kind} answered HTTP {status}{error_suffix(body)}{reason}",
        )
    if still_usable:
        raise Violation(
            expected=expected, seen=f"revocation answered HTTP {status}, but the {kind} still works"
        )
    if status != 200:
        return f"revoking the {kind} answered HTTP {status} rather than 200 (RFC 7009 section 2.2); it was revoked"
    return None


@check("RFC7009-2.1-refresh")
def refresh_token_revoked(status: int, still_usable: bool, body: object = None) -> str | None:
    """Revoking a refresh token is supported: the endpoint answers 200 and the token stops working."""
    return _revoked("refresh token", status, still_usable, body)


@check("RFC7009-2.1-access")
def access_token_revoked(status: int, still_usable: bool, body: object = None) -> str | None:
    """Revoking an access token is supported: the endpoint answers 200 and the token stops working."""
    return _revoked("access token", status, still_usable, body)


@check("RFC7009-2.1-grant")
def grant_access_tokens_invalidated(
    access_still_usable: bool, access_revocation_supported: bool = True
) -> str | None:
    """After its refresh token was revoked, an access token of the same grant no longer works.

    The rule applies only to a server that supports revoking access tokens; when the step knows it
    does not (``access_revocation_supported=False``), a working access token is noted, not failed.
    """
    if not access_still_usable:
        return None
    if not access_revocation_supported:
        return (
            "the access token of the revoked refresh token's grant still works; the server does not "
            "revoke access tokens, so RFC 7009 section 2.1 does not ask it to"
        )
    raise Violation(
        expected="the access tokens of the grant invalidated with its refresh token",
        seen="an access token of the same grant still works after its refresh token was revoked",
    )


@check("RFC7009-2.1-hint")
def found_despite_wrong_hint(
    hint: str, status: int, still_usable: bool, body: object = None
) -> None:
    """A token sent with the wrong ``token_type_hint`` is still found and revoked.

    Use a refresh token (always revocable) with ``token_type_hint=access_token``.
    """
    expected = f"the token found and revoked although token_type_hint={hint} names the other type"
    if not 200 <= status < 300:
        raise Violation(expected=expected, seen=f"HTTP {status}{error_suffix(body)}")
    if still_usable:
        raise Violation(
            expected=expected, seen=f"HTTP {status}, but the token still works: it was not found"
        )


@check("RFC7009-2.1-client")
def other_client_refused(status: int, still_usable: bool, body: object = None) -> str | None:
    """A client that asks to revoke a token issued to another client does not get it revoked.

    Fails when the token stopped working. An answer other than an error, for a token left working,
    is noted: the spec wants the request refused, and the client told.
    """
    if not still_usable:
        raise Violation(
            expected="the request of a client that was not issued the token refused, the token kept",
            seen=f"HTTP {status}{error_suffix(body)}, and the other client's token no longer works",
        )
    if 400 <= status < 500:
        return None
    return (
        f"revoking another client's token answered HTTP {status} instead of an error; "
        "the token was left working"
    )


@check("RFC7009-2.2-unknown")
def unknown_token_ok(status: int, body: object = None) -> None:
    """Revoking an invalid or unknown token answers HTTP 200, not an error."""
    if status != 200:
        raise Violation(
            expected="HTTP 200 for the revocation of an invalid or unknown token",
            seen=f"HTTP {status}{error_suffix(body)}",
        )
