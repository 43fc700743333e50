"""Tests of harness.rfc7009, harness.rfc7662 and harness.token_rejection: pass and fail for each check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from harness import checks, rfc7009, rfc7662, token_rejection
from harness.errors import Violation

from .violations import violated as any_violation

SECRET = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"


def violated(requirement: str, check: Callable[..., Any], *args: Any, **kwargs: Any) -> Violation:
    """Run ``check``, expect a violation of ``requirement``, and return it; no token in its text."""
    violation = any_violation(requirement, check, *args, **kwargs)
    assert SECRET not in str(violation)
    return violation


# describe_body: malformed evidence is described, never a crash


@pytest.mark.parametrize(
    ("body", "content_type", "text"),
    [
        (None, "text/html; charset=utf-8", "an HTML page, content-type text/html"),
        (None, "text/plain", "a body that is not JSON, content-type text/plain"),
        (None, None, "a body that is not JSON, no content-type"),
        ({"b": 1, "a": 2}, None, "a JSON object with members: a, b"),
        ({}, None, "a JSON object with members: none"),
        ([1], None, "JSON an array instead of an object"),
        ("x", None, "JSON a string instead of an object"),
    ],
)
def test_describe_body(body: object, content_type: str | None, text: str) -> None:
    assert checks.describe_body(body, content_type) == text


# RFC 7009


def test_refresh_token_revoked() -> None:
    assert rfc7009.refresh_token_revoked(200, still_usable=False) is None
    note = rfc7009.refresh_token_revoked(204, still_usable=False)
    assert note and "204" in note
    v = violated("RFC7009-2.1-refresh", rfc7009.refresh_token_revoked, 200, True)
    assert v.seen == "revocation answered HTTP 200, but the refresh token still works"
    v = violated(
        "RFC7009-2.1-refresh",
        rfc7009.refresh_token_revoked,
        400,
        False,
        {"error": "unsupported_token_type"},
    )
    assert v.seen == (
        "revoking the refresh token answered HTTP 400 with error unsupported_token_type "
        "(the server does not revoke refresh tokens)"
    )


def test_access_token_revoked() -> None:
    assert rfc7009.access_token_revoked(200, still_usable=False) is None
    v = violated(
        "RFC7009-2.1-access",
        rfc7009.access_token_revoked,
        400,
        True,
        {"error": "unsupported_token_type"},
    )
    assert v.seen.endswith("(the server does not revoke access tokens)")
    v = violated("RFC7009-2.1-access", rfc7009.access_token_revoked, 200, True)
    assert "access token still works" in v.seen


def test_grant_access_tokens_invalidated() -> None:
    assert rfc7009.grant_access_tokens_invalidated(access_still_usable=False) is None
    note = rfc7009.grant_access_tokens_invalidated(
        access_still_usable=True, access_revocation_supported=False
    )
    assert note and "does not ask" in note
    v = violated("RFC7009-2.1-grant", rfc7009.grant_access_tokens_invalidated, True)
    assert "same grant still works" in v.seen


def test_found_despite_wrong_hint() -> None:
    assert rfc7009.found_despite_wrong_hint("access_token", 200, still_usable=False) is None
    v = violated("RFC7009-2.1-hint", rfc7009.found_despite_wrong_hint, "access_token", 200, True)
    assert "still works" in v.seen and "token_type_hint=access_token" in v.expected
    v = violated(
        "RFC7009-2.1-hint",
        rfc7009.found_despite_wrong_hint,
        "access_token",
        400,
        False,
        {"error": "unsupported_token_type"},
    )
    assert v.seen == "HTTP 400 with error unsupported_token_type"


def test_other_client_refused() -> None:
    assert (
        rfc7009.other_client_refused(400, still_usable=True, body={"error": "unauthorized_client"})
        is None
    )
    assert rfc7009.other_client_refused(401, still_usable=True) is None
    note = rfc7009.other_client_refused(200, still_usable=True)
    assert note and "HTTP 200 instead of an error" in note
    v = violated("RFC7009-2.1-client", rfc7009.other_client_refused, 200, False)
    assert v.seen == "HTTP 200, and the other client's token no longer works"


def test_unknown_token_ok() -> None:
    assert rfc7009.unknown_token_ok(200) is None
    v = violated("RFC7009-2.2-unknown", rfc7009.unknown_token_ok, 400, {"error": "invalid_request"})
    assert v.seen == "HTTP 400 with error invalid_request"
    v = violated("RFC7009-2.2-unknown", rfc7009.unknown_token_ok, 500, None)
    assert v.seen == "HTTP 500"


# RFC 7662


def test_introspection_inactive() -> None:
    assert rfc7662.introspection_inactive(200, {"active": False}) is None


@pytest.mark.parametrize(
    ("status", "body", "content_type", "seen"),
    [
        (
            200,
            {"active": True, "sub": "alice"},
            None,
            '"active": true: the refresh token is still accepted',
        ),
        (
            200,
            {"active": "false"},
            None,
            "\"active\": the string 'false', not the JSON boolean false",
        ),
        (200, {"active": None}, None, '"active": null'),
        (200, {"sub": "alice"}, None, "no active member; a JSON object with members: sub"),
        (200, None, "text/html", "HTTP 200 with an HTML page, content-type text/html"),
        (200, [False], "application/json", "HTTP 200 with JSON an array instead of an object"),
        (400, {"error": "invalid_token"}, None, "HTTP 400 with error invalid_token"),
        (500, None, "text/html", "HTTP 500"),
    ],
)
def test_introspection_not_inactive(
    status: int, body: object, content_type: str | None, seen: str
) -> None:
    v = violated(
        "RFC7662-2.2-inactive",
        rfc7662.introspection_inactive,
        status,
        body,
        content_type,
        label="the refresh token",
    )
    assert seen in v.seen
    assert v.expected == 'HTTP 200 with {"active": false} for the refresh token'


def test_inactive_without_details() -> None:
    assert rfc7662.inactive_without_details({"active": False}) is None
    note = rfc7662.inactive_without_details({"active": True, "sub": "alice"})
    assert note and "does not apply" in note
    v = violated(
        "RFC7662-2.2-no-details",
        rfc7662.inactive_without_details,
        {"active": False, "error_description": "token revoked", "exp": 1},
    )
    assert v.seen == "additional members: error_description, exp"
    assert "token revoked" not in v.seen
    v = violated("RFC7662-2.2-no-details", rfc7662.inactive_without_details, None, "text/html")
    assert v.seen == "an HTML page, content-type text/html"


@pytest.mark.parametrize("status", [400, 401, 403])
def test_introspection_requires_auth(status: int) -> None:
    assert rfc7662.introspection_requires_auth(status, {"error": "invalid_client"}) is None


@pytest.mark.parametrize(
    ("status", "body", "content_type", "note"),
    [
        (200, {"active": False}, None, "nothing about the token leaked"),
        (302, None, "text/html", "HTTP 302: refused"),
        (200, None, "text/html", "an HTML page"),
        (500, None, None, "HTTP 500: refused"),
    ],
)
def test_introspection_requires_auth_notes(
    status: int, body: object, content_type: str | None, note: str
) -> None:
    result = rfc7662.introspection_requires_auth(status, body, content_type)
    assert result and note in result


@pytest.mark.parametrize(
    ("body", "seen"),
    [
        (
            {"active": True, "sub": "alice", "scope": "openid"},
            '"active": true for a valid token, and its scope, sub',
        ),
        ({"active": True}, 'HTTP 200 with "active": true for a valid token'),
        ({"sub": "alice", "exp": 1}, "disclosing the token's exp, sub"),
    ],
)
def test_introspection_open(body: dict[str, Any], seen: str) -> None:
    v = violated("RFC7662-2.1-auth", rfc7662.introspection_requires_auth, 200, body)
    assert seen in v.seen
    assert "alice" not in v.seen
    assert "401" in v.expected


# Tokens rejected after logout


def test_refresh_rejected() -> None:
    assert token_rejection.refresh_rejected(400, {"error": "invalid_grant"}) is None
    note = token_rejection.refresh_rejected(401, {"error": "invalid_grant"})
    assert note and "401" in note


@pytest.mark.parametrize(
    ("status", "body", "content_type", "seen"),
    [
        (
            200,
            {"access_token": SECRET, "refresh_token": SECRET, "token_type": "Bearer"},
            None,
            "HTTP 200 with a new access_token, refresh_token: the refresh token still works",
        ),
        (
            200,
            None,
            "text/html",
            "HTTP 200 with an HTML page, content-type text/html: the refresh token still works",
        ),
        (400, {"error": "invalid_request"}, None, "HTTP 400 with error invalid_request"),
        (401, {"error": "invalid_client"}, None, "HTTP 401 with error invalid_client"),
        (
            400,
            {"message": "no"},
            None,
            "HTTP 400 with no error code (a JSON object with members: message)",
        ),
        (400, None, "text/html", "HTTP 400 with an HTML page, content-type text/html"),
        (500, None, None, "HTTP 500 with a body that is not JSON, no content-type"),
    ],
)
def test_refresh_not_rejected(
    status: int, body: object, content_type: str | None, seen: str
) -> None:
    v = violated("LOGOUT-TR-refresh", token_rejection.refresh_rejected, status, body, content_type)
    assert v.seen == seen
    assert "invalid_grant" in v.expected


def test_session_token_inactive() -> None:
    assert token_rejection.session_token_inactive(200, {"active": False}) is None
    v = violated(
        "LOGOUT-TR-introspect",
        token_rejection.session_token_inactive,
        200,
        {"active": True},
        label="the access token",
    )
    assert v.seen == '"active": true: the access token after logout is still accepted'
    v = violated(
        "LOGOUT-TR-introspect", token_rejection.session_token_inactive, 200, None, "text/html"
    )
    assert "HTML page" in v.seen


def test_userinfo_rejected() -> None:
    assert token_rejection.userinfo_rejected(401) is None
    for status in (400, 403, 302):
        note = token_rejection.userinfo_rejected(status)
        assert note and f"HTTP {status}" in note
    v = violated("LOGOUT-TR-userinfo", token_rejection.userinfo_rejected, 200)
    assert v.seen == "HTTP 200: userinfo still served claims for the token"
    v = violated("LOGOUT-TR-userinfo", token_rejection.userinfo_rejected, 502)
    assert "server error" in v.seen


def test_still_works() -> None:
    assert token_rejection.still_works("the access token", 200, {"sub": "alice"}) is None
    assert token_rejection.still_works("the refresh token", 200, {"active": True}) is None
    v = violated(
        "LOGOUT-TR-precision",
        token_rejection.still_works,
        "the refresh token",
        400,
        {"error": "invalid_grant"},
    )
    assert v.seen == "HTTP 400 with error invalid_grant"
    assert v.expected.startswith("the refresh token of another session")
    v = violated(
        "LOGOUT-TR-precision",
        token_rejection.still_works,
        "the access token",
        200,
        {"active": False},
    )
    assert v.seen == 'HTTP 200 with "active": false'


def test_other_session_alive() -> None:
    assert token_rejection.other_session_alive("the second browser", alive=True) is None
    v = violated(
        "LOGOUT-TR-precision", token_rejection.other_session_alive, "the second browser", False
    )
    assert v.seen == "the second browser was logged out too"
