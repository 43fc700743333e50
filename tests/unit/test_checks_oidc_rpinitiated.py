"""Tests of harness.oidc.rpinitiated: each check passes a conformant answer and fails a deviant one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from harness.errors import ConfigError
from harness.oidc import rpinitiated as ril

from .violations import violated

RP = "https://rp.example.com/logged-out"
RP_QUERY = "https://rp.example.com/logged-out?tenant=a%20b"


# discovery: OIDCRIL-2.1


def test_end_session_published() -> None:
    assert (
        ril.end_session_published(
            {"issuer": "https://op", "end_session_endpoint": "https://op/logout"}
        )
        is None
    )


@pytest.mark.parametrize(
    ("metadata", "content_type", "seen"),
    [
        (
            {"issuer": "https://op"},
            None,
            "no end_session_endpoint; a JSON object with members: issuer",
        ),
        (
            {"end_session_endpoint": 42},
            None,
            "end_session_endpoint is JSON a number instead of an object",
        ),
        ({"end_session_endpoint": "/logout"}, None, "'/logout', not an absolute URL"),
        (None, "text/html; charset=utf-8", "an HTML page, content-type text/html"),
        (["x"], "application/json", "JSON an array instead of an object"),
    ],
)
def test_end_session_not_published(metadata: object, content_type: str | None, seen: str) -> None:
    v = violated("OIDCRIL-2.1", ril.end_session_published, metadata, content_type)
    assert seen in v.seen
    assert "end_session_endpoint" in v.expected


def test_https_endpoint() -> None:
    assert ril.https_endpoint("https://op.example.com/logout") is None
    for loopback in (
        "http://127.0.0.1:9000/logout",
        "http://localhost/logout",
        "http://[::1]:8080/end",
    ):
        note = ril.https_endpoint(loopback)
        assert note and "loopback" in note and loopback in note
    v = violated("OIDCRIL-2.1", ril.https_endpoint, "http://op.example.com/logout")
    assert "http://op.example.com/logout" in v.seen and "op.example.com" in v.seen
    assert "https" in v.expected
    violated("OIDCRIL-2.1", ril.https_endpoint, "ftp://127.0.0.1/logout")


# the Logout Endpoint: OIDCRIL-2-methods


@pytest.mark.parametrize("status", [200, 302, 303, 400])
def test_endpoint_accepts(status: int) -> None:
    assert ril.endpoint_accepts("POST", status, "https://op/logout") is None


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (405, "Method Not Allowed"),
        (404, "Not Found"),
        (500, "server error"),
        (415, "Unsupported Media Type"),
    ],
)
def test_endpoint_refuses_method(status: int, reason: str) -> None:
    v = violated("OIDCRIL-2-methods", ril.endpoint_accepts, "post", status, "https://op/logout")
    assert v.seen == f"POST https://op/logout answered HTTP {status} {reason}"
    assert "POST" in v.expected


# confirmation and logout: OIDCRIL-2-confirm, OIDCRIL-2-logout


def test_asked_before_logout() -> None:
    assert (
        ril.asked_before_logout(confirmation_shown=True, session_alive_before_confirm=True) is None
    )
    note = ril.asked_before_logout(confirmation_shown=False, session_alive_before_confirm=True)
    assert note and "neither asked" in note
    v = violated("OIDCRIL-2-confirm", ril.asked_before_logout, False, False)
    assert "no confirmation was asked" in v.seen
    v = violated("OIDCRIL-2-confirm", ril.asked_before_logout, True, False)
    assert "before the End-User answered" in v.seen


def test_session_ended() -> None:
    assert ril.session_ended(alive=False) is None
    v = violated("OIDCRIL-2-logout", ril.session_ended, True, "prompt=none still returned a code")
    assert v.seen == "the OP session is still alive: prompt=none still returned a code"


# OIDCRIL-2-not-logged-in


@pytest.mark.parametrize(("status", "location"), [(200, None), (302, RP), (303, "/logged-out")])
def test_not_logged_in_ok(status: int, location: str | None) -> None:
    assert ril.not_logged_in_ok(status, location) is None


def test_not_logged_in_error() -> None:
    v = violated("OIDCRIL-2-not-logged-in", ril.not_logged_in_ok, 400, None)
    assert v.seen == "HTTP 400 error"
    v = violated(
        "OIDCRIL-2-not-logged-in", ril.not_logged_in_ok, 302, "/error?error=no_session&x=1"
    )
    assert "error=no_session" in v.seen and "/error" in v.seen


# redirects that must not happen


FORBIDDERS = [
    ("OIDCRIL-3-exact", ril.no_redirect_to, "exactly match"),
    (
        "OIDCRIL-2-uri-needs-hint",
        ril.no_redirect_without_hint,
        "neither id_token_hint nor client_id",
    ),
    ("OIDCRIL-4-hint", ril.no_redirect_with_invalid_hint, "fails validation"),
    ("OIDCRIL-2-client-id", ril.no_redirect_on_client_mismatch, "client_id does not match"),
]


@pytest.mark.parametrize(("requirement", "check", "reason"), FORBIDDERS)
@pytest.mark.parametrize(
    "location",
    [
        None,
        "",
        "/end-session/done",
        "https://op.example.com/logged-out",
        "https://rp.example.com/other",
        "https://rp.example.com:8443/logged-out",
        "http://rp.example.com/logged-out",
        "http://[::1/broken",
    ],
)
def test_no_redirect_passes(
    requirement: str, check: Callable[..., Any], reason: str, location: str | None
) -> None:
    assert check(RP + "?foo=bar", location) is None


@pytest.mark.parametrize(("requirement", "check", "reason"), FORBIDDERS)
@pytest.mark.parametrize(
    "location",
    [
        "https://rp.example.com/logged-out?foo=bar",  # the modified value, followed
        "https://rp.example.com/logged-out",  # the registered value, query dropped: still a redirect
        "HTTPS://RP.example.com:443/logged-out?foo=bar&state=s",  # same resource, other spelling
        "//rp.example.com/logged-out?foo=bar",  # scheme-relative, as a browser resolves it
    ],
)
def test_no_redirect_fails(
    requirement: str, check: Callable[..., Any], reason: str, location: str
) -> None:
    v = violated(requirement, check, RP + "?foo=bar", location)
    assert v.seen == f"a redirect to {location}"
    assert RP + "?foo=bar" in v.expected and reason in v.expected


def test_forbidden_uri_must_be_absolute() -> None:
    with pytest.raises(ConfigError):
        ril.no_redirect_to("/relative", "https://rp/x")


def test_invalid_hint_not_used() -> None:
    assert ril.invalid_hint_not_used(confirmation_shown=True, session_alive=False) is None
    assert ril.invalid_hint_not_used(confirmation_shown=False, session_alive=True) is None
    v = violated("OIDCRIL-4-hint", ril.invalid_hint_not_used, False, False)
    assert "without asking" in v.seen


# the redirect that must happen: OIDCRIL-3-redirect


@pytest.mark.parametrize(
    "location",
    [RP_QUERY, RP_QUERY + "&state=xyz", "https://rp.example.com:443/logged-out?state=1&tenant=a+b"],
)
def test_redirected_to(location: str) -> None:
    assert ril.redirected_to(RP_QUERY, location) is None


@pytest.mark.parametrize(
    ("location", "seen"),
    [
        (None, "no redirect"),
        ("/logged-out", "a redirect to /logged-out"),
        (
            "https://evil.example.com/logged-out?tenant=a%20b",
            "a redirect to https://evil.example.com/",
        ),
        ("https://rp.example.com/logged-out?state=1", "without tenant=a b"),
        ("https://rp.example.com/logged-out?tenant=other", "without tenant=a b"),
    ],
)
def test_not_redirected_to(location: str | None, seen: str) -> None:
    v = violated("OIDCRIL-3-redirect", ril.redirected_to, RP_QUERY, location)
    assert seen in v.seen
    assert RP_QUERY in v.expected


# state: OIDCRIL-3-state


@pytest.mark.parametrize(
    ("sent", "location"),
    [
        ("abc", RP + "?state=abc"),
        ("a b+c/é", RP + "?state=a%20b%2Bc%2F%C3%A9"),
        ("a b", RP + "?state=a+b"),
        ("x+y", RP + "?state=x+y"),  # a literal plus, left unencoded
        ("", RP + "?state="),
        (None, RP),
        (None, RP + "?tenant=1"),
        ("L" * 300, RP + "?state=" + "L" * 300),
    ],
)
def test_state_returned(sent: str | None, location: str) -> None:
    assert ril.state_returned(sent, location) is None


def test_state_without_redirect_is_a_note() -> None:
    note = ril.state_returned("abc", None)
    assert note and "no post-logout redirect" in note
    note = ril.state_returned("abc", "/logout/confirm?x=1", post_logout_redirect_uri=RP)
    assert note and "not the post-logout redirect" in note
    violated("OIDCRIL-3-state", ril.state_returned, "abc", RP + "?x=1", post_logout_redirect_uri=RP)


@pytest.mark.parametrize(
    ("sent", "location", "seen"),
    [
        ("abc", RP, "no state parameter on " + RP),
        ("abc", RP + "?state=abd", "state='abd'"),
        ("abc", RP + "?state=ABC", "state='ABC'"),
        ("abc", RP + "?state=abc&state=abc", "state 2 times"),
        ("abc", RP + "#state=abc", "only in the fragment"),
        (None, RP + "?state=", "state='' on"),
        (None, RP + "?state=invented", "state='invented'"),
        (None, RP + "#state=x", "state='x'"),
    ],
)
def test_state_not_returned(sent: str | None, location: str, seen: str) -> None:
    v = violated("OIDCRIL-3-state", ril.state_returned, sent, location)
    assert seen in v.seen
    if sent is None:
        assert "sent none" in v.expected
    else:
        assert repr(sent) in v.expected


# OIDCRIL-4-expired


def test_expired_hint_accepted() -> None:
    assert ril.expired_hint_accepted(302, RP + "?state=1", RP, session_alive=False) is None
    assert ril.expired_hint_accepted(200, None) is None


@pytest.mark.parametrize(
    ("args", "seen"),
    [
        ((400, None, RP), "HTTP 400: the request was refused"),
        ((200, None, RP), "HTTP 200 without a redirect"),
        ((302, "https://op/logout/confirm", RP), "a redirect to https://op/logout/confirm"),
        ((302, RP, RP, True), "the OP session is still alive"),
    ],
)
def test_expired_hint_rejected(args: tuple[Any, ...], seen: str) -> None:
    v = violated("OIDCRIL-4-expired", ril.expired_hint_accepted, *args)
    assert seen in v.seen
    assert "expired id_token_hint accepted" in v.expected


def test_same_target() -> None:
    assert ril.same_target("https://A.example/x", "https://a.example:443/x?q")
    assert not ril.same_target("https://a.example/x", "https://a.example/x/")
    assert not ril.same_target("https://a.example/x", None)
    assert ril.same_target("com.example.app:/logout", "com.example.app:/logout?state=1")
