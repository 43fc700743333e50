"""Tokens rejected after logout (harness composite): https://openid.net/specs/openid-connect-backchannel-1_0.html#BCActions

The requirements are grounded in OpenID Connect Back-Channel Logout 1.0 section 2.7 (linked above),
RFC 7009 section 2.1, RFC 7662 section 2.2 and RFC 6750 section 3.1 (see the catalog's quotations).
Scenarios call these on the tokens of the session that was logged out, issued without
``offline_access`` (tokens issued with it are meant to outlive a logout), and on the tokens of the
user's other sessions for precision. ``label`` names a token in messages: never the token itself.
"""

from __future__ import annotations

import json

from harness.checks import check, describe_body, error_suffix
from harness.errors import Violation
from harness.rfc7662 import require_inactive

__all__ = [
    "other_session_alive",
    "refresh_rejected",
    "session_token_inactive",
    "still_works",
    "userinfo_rejected",
]


@check("LOGOUT-TR-refresh")
def refresh_rejected(status: int, body: object, content_type: str | None = None) -> str | None:
    """The refresh grant with the logged-out session's refresh token answers 400 ``invalid_grant``."""
    expected = "HTTP 400 with error invalid_grant for the refresh token of the logged-out session"
    if 200 <= status < 300:
        issued = [
            k
            for k in ("access_token", "refresh_token", "id_token")
            if isinstance(body, dict) and k in body
        ]
        what = f"a new {', '.join(issued)}" if issued else describe_body(body, content_type)
        raise Violation(
            expected=expected, seen=f"HTTP {status} with {what}: the refresh token still works"
        )
    if not isinstance(body, dict):
        raise Violation(
            expected=expected, seen=f"HTTP {status} with {describe_body(body, content_type)}"
        )
    error = body.get("error")
    if error != "invalid_grant":
        shown = (
            f"error {error[:60]}"
            if isinstance(error, str)
            else f"no error code ({describe_body(body)})"
        )
        raise Violation(expected=expected, seen=f"HTTP {status} with {shown}")
    if status != 400:
        return f"the refresh token was refused with invalid_grant, but with HTTP {status} (RFC 6749 section 5.2: 400)"
    return None


@check("LOGOUT-TR-introspect")
def session_token_inactive(
    status: int, body: object, content_type: str | None = None, label: str = "the session's token"
) -> None:
    """Introspection of the logged-out session's access or refresh token answers ``"active": false``."""
    require_inactive(status, body, content_type, f"{label} after logout")


@check("LOGOUT-TR-userinfo")
def userinfo_rejected(status: int) -> str | None:
    """The userinfo endpoint answers 401 to the logged-out session's access token.

    Another 4xx, or a redirect, also refuses the token: it passes, with a note.
    """
    expected = "HTTP 401 from userinfo for the access token of the logged-out session"
    if status == 401:
        return None
    if 200 <= status < 300:
        raise Violation(
            expected=expected, seen=f"HTTP {status}: userinfo still served claims for the token"
        )
    if 300 <= status < 500:
        return f"userinfo refused the token with HTTP {status}; RFC 6750 section 3.1 says 401 for a revoked token"
    raise Violation(
        expected=expected, seen=f"HTTP {status}: a server error, not a refusal of the token"
    )


@check("LOGOUT-TR-precision")
def still_works(
    label: str, status: int, body: object = None, content_type: str | None = None
) -> None:
    """A token of another session of the user still works after a session-only logout.

    ``status``/``body`` are the answer to using it: a refresh grant, a userinfo call, or an
    introspection (whose ``"active"`` must then be true).
    """
    expected = f"{label} of another session still accepted after a logout of one session"
    if not 200 <= status < 300:
        raise Violation(expected=expected, seen=f"HTTP {status}{error_suffix(body)}")
    if isinstance(body, dict) and "active" in body and body["active"] is not True:
        raise Violation(
            expected=expected,
            seen=f'HTTP {status} with "active": {json.dumps(body["active"])[:20]}',
        )


@check("LOGOUT-TR-precision")
def other_session_alive(label: str, alive: bool) -> None:
    """Another session of the user (another browser) is still logged in after a session-only logout."""
    if not alive:
        raise Violation(
            expected=f"{label} still logged in after a logout of another session",
            seen=f"{label} was logged out too",
        )
