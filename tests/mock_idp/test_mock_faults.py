"""Every fault of the catalog really changes what the mock does, at the requirement it names."""

import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from idp_client import (
    ALICE,
    BACK_CHANNEL,
    RP_BASIC,
    RP_EXPIRED,
    RP_POST,
    Browser,
    introspect,
    is_active,
    query,
    refresh,
    revoke,
    signed_by_stranger,
    unsigned,
    userinfo,
)

from mock_idp.faults import FAULTS

MockWith = Callable[..., str]
NewBrowser = Callable[[str], Browser]
SOURCE = Path(__file__).resolve().parents[2] / "mock_idp"
# The SAML, back-channel, front-channel, Casdoor, Auth0 and federation faults are tested next to
# those parts' other tests.
OTHER_FAULT_TESTS = [
    Path(__file__).with_name(name)
    for name in (
        "test_mock_saml_faults.py",
        "test_mock_backchannel_faults.py",
        "test_mock_frontchannel.py",
        "test_mock_casdoor.py",
        "test_mock_auth0.py",
        "test_mock_federation.py",
    )
]


def test_every_fault_has_a_test() -> None:
    tests = {name for name in dir(sys.modules[__name__]) if name.startswith("test_fault_")}
    for path in OTHER_FAULT_TESTS:
        tests |= set(re.findall(r"^def (test_fault_\w+)\(", path.read_text(), re.MULTILINE))
    assert tests == {"test_fault_" + name.replace("-", "_") for name in FAULTS}


def test_every_fault_is_checked_in_the_code() -> None:
    code = "\n".join(path.read_text() for path in SOURCE.rglob("*.py") if path.name != "faults.py")
    for name in FAULTS:
        assert re.search(f'"{name}" (not )?in self.faults', code), name


def test_catalog_entries_are_complete() -> None:
    for name, fault in FAULTS.items():
        assert fault.name == name and fault.requirement and fault.description.endswith(".")


def browser_on(mock_with: MockWith, new_browser: NewBrowser, fault: str) -> Browser:
    """A new browser on the mock with this fault."""
    return new_browser(mock_with(fault))


# RP-Initiated Logout


def test_fault_no_end_session_metadata(mock_with: MockWith) -> None:
    url = mock_with("no-end-session-metadata")
    metadata = BACK_CHANNEL.get(url + "/.well-known/openid-configuration").json()
    assert "end_session_endpoint" not in metadata


def test_fault_end_session_get_only(mock_with: MockWith, new_browser: NewBrowser) -> None:
    browser = browser_on(mock_with, new_browser, "end-session-get-only")
    assert browser.end_session("POST").status_code == 405
    assert browser.end_session("GET").status_code == 200


def test_fault_hint_alg_none_accepted(mock_with: MockWith, new_browser: NewBrowser) -> None:
    browser = browser_on(mock_with, new_browser, "hint-alg-none-accepted")
    tokens = browser.sign_in()
    answer = browser.end_session(
        id_token_hint=unsigned(tokens.id_token), post_logout_redirect_uri="http://rp.test/bye"
    )
    assert answer.headers["location"] == "http://rp.test/bye"
    assert not browser.has_session()


def test_fault_hint_signature_unchecked(mock_with: MockWith, new_browser: NewBrowser) -> None:
    browser = browser_on(mock_with, new_browser, "hint-signature-unchecked")
    tokens = browser.sign_in()
    page = browser.end_session(
        id_token_hint=signed_by_stranger(tokens.id_token),
        post_logout_redirect_uri="http://rp.test/bye",
    )
    assert browser.confirm(page).headers["location"] == "http://rp.test/bye"


def test_fault_expired_hint_rejected(mock_with: MockWith, new_browser: NewBrowser) -> None:
    browser = browser_on(mock_with, new_browser, "expired-hint-rejected")
    answer = browser.end_session(id_token_hint=browser.sign_in(RP_EXPIRED).id_token)
    assert answer.status_code == 400 and "expired" in answer.text
    assert browser.has_session()


def test_fault_client_id_mismatch_ignored(mock_with: MockWith, new_browser: NewBrowser) -> None:
    browser = browser_on(mock_with, new_browser, "client-id-mismatch-ignored")
    tokens = browser.sign_in(RP_BASIC)
    answer = browser.log_out(
        id_token_hint=tokens.id_token,
        client_id=RP_POST.client_id,
        post_logout_redirect_uri="http://rp.test/bye",
    )
    assert answer.headers["location"] == "http://rp.test/bye"


def test_fault_no_confirmation(mock_with: MockWith, new_browser: NewBrowser) -> None:
    browser = browser_on(mock_with, new_browser, "no-confirmation")
    browser.sign_in()
    answer = browser.end_session()
    assert answer.status_code == 200 and "You are signed out" in answer.text
    assert not browser.has_session()


def test_fault_foreign_hint_no_confirm(mock_with: MockWith, new_browser: NewBrowser) -> None:
    url = mock_with("foreign-hint-no-confirm")
    first, second = new_browser(url), new_browser(url)
    hint = first.sign_in().id_token
    own_hint = second.sign_in().id_token
    assert 'action="/end-session/confirm"' in second.end_session(id_token_hint=own_hint).text
    answer = second.end_session(id_token_hint=hint, post_logout_redirect_uri="http://rp.test/bye")
    assert answer.headers["location"] == "http://rp.test/bye"
    assert not second.has_session()
    assert first.has_session()


def test_fault_logout_keeps_session(mock_with: MockWith, new_browser: NewBrowser) -> None:
    browser = browser_on(mock_with, new_browser, "logout-keeps-session")
    url = browser.base_url
    tokens = browser.sign_in()
    answer = browser.log_out(
        id_token_hint=tokens.id_token, post_logout_redirect_uri="http://rp.test/bye"
    )
    assert answer.headers["location"] == "http://rp.test/bye"
    assert "set-cookie" not in answer.headers
    assert browser.has_session()
    assert is_active(url, tokens.access_token)


def test_fault_redirect_prefix_match(mock_with: MockWith, new_browser: NewBrowser) -> None:
    browser = browser_on(mock_with, new_browser, "redirect-prefix-match")
    tokens = browser.sign_in()
    answer = browser.log_out(
        id_token_hint=tokens.id_token, post_logout_redirect_uri="http://rp.test/bye?foo=bar"
    )
    assert answer.headers["location"] == "http://rp.test/bye?foo=bar"


def test_fault_redirect_unregistered(mock_with: MockWith, new_browser: NewBrowser) -> None:
    browser = browser_on(mock_with, new_browser, "redirect-unregistered")
    tokens = browser.sign_in()
    answer = browser.log_out(
        id_token_hint=tokens.id_token, post_logout_redirect_uri="http://evil.test/"
    )
    assert answer.headers["location"] == "http://evil.test/"


def test_fault_redirect_without_hint(mock_with: MockWith, new_browser: NewBrowser) -> None:
    browser = browser_on(mock_with, new_browser, "redirect-without-hint")
    browser.sign_in()
    answer = browser.log_out(post_logout_redirect_uri="http://rp2.test/bye")
    assert answer.headers["location"] == "http://rp2.test/bye"


def test_fault_state_dropped(mock_with: MockWith, new_browser: NewBrowser) -> None:
    browser = browser_on(mock_with, new_browser, "state-dropped")
    tokens = browser.sign_in()
    answer = browser.log_out(
        id_token_hint=tokens.id_token, post_logout_redirect_uri="http://rp.test/bye", state="s1"
    )
    assert answer.headers["location"] == "http://rp.test/bye"


def test_fault_state_invented(mock_with: MockWith, new_browser: NewBrowser) -> None:
    browser = browser_on(mock_with, new_browser, "state-invented")
    tokens = browser.sign_in()
    answer = browser.log_out(
        id_token_hint=tokens.id_token, post_logout_redirect_uri="http://rp.test/bye"
    )
    assert "state" in query(answer.headers["location"])


def test_fault_error_when_logged_out(mock_with: MockWith, new_browser: NewBrowser) -> None:
    url = mock_with("error-when-logged-out")
    hint = new_browser(url).sign_in().id_token
    answer = new_browser(url).end_session(
        id_token_hint=hint, post_logout_redirect_uri="http://rp.test/bye"
    )
    assert answer.status_code == 400 and "location" not in answer.headers


# Tokens after logout


def test_fault_refresh_survives_logout(mock_with: MockWith, new_browser: NewBrowser) -> None:
    browser = browser_on(mock_with, new_browser, "refresh-survives-logout")
    url = browser.base_url
    tokens = browser.sign_in()
    browser.log_out()
    assert refresh(url, RP_BASIC, tokens.refresh_token).status_code == 200
    assert not is_active(url, tokens.access_token)


def test_fault_access_survives_logout(mock_with: MockWith, new_browser: NewBrowser) -> None:
    browser = browser_on(mock_with, new_browser, "access-survives-logout")
    url = browser.base_url
    tokens = browser.sign_in()
    browser.log_out()
    assert is_active(url, tokens.access_token)
    assert userinfo(url, tokens.access_token).status_code == 200
    assert refresh(url, RP_BASIC, tokens.refresh_token).status_code == 400


def test_fault_userinfo_ignores_logout(mock_with: MockWith, new_browser: NewBrowser) -> None:
    browser = browser_on(mock_with, new_browser, "userinfo-ignores-logout")
    url = browser.base_url
    tokens = browser.sign_in()
    browser.log_out()
    assert userinfo(url, tokens.access_token).status_code == 200
    assert not is_active(url, tokens.access_token)
    revoked = browser.sign_in().access_token
    revoke(url, RP_BASIC, revoked)
    assert userinfo(url, revoked).status_code == 401  # only logouts are forgotten


def test_fault_logout_ends_all_sessions(mock_with: MockWith, new_browser: NewBrowser) -> None:
    url = mock_with("logout-ends-all-sessions")
    leaving, staying = new_browser(url), new_browser(url)
    leaving.sign_in(user=ALICE)
    kept = staying.sign_in(user=ALICE)
    leaving.log_out()
    assert not staying.has_session()
    assert not is_active(url, kept.access_token)


# RFC 7009


def test_fault_revocation_ignored(mock_with: MockWith, new_browser: NewBrowser) -> None:
    browser = browser_on(mock_with, new_browser, "revocation-ignored")
    url = browser.base_url
    tokens = browser.sign_in()
    assert revoke(url, RP_BASIC, tokens.refresh_token).status_code == 200
    assert refresh(url, RP_BASIC, tokens.refresh_token).status_code == 200


def test_fault_revoke_access_unsupported(mock_with: MockWith, new_browser: NewBrowser) -> None:
    browser = browser_on(mock_with, new_browser, "revoke-access-unsupported")
    url = browser.base_url
    tokens = browser.sign_in()
    answer = revoke(url, RP_BASIC, tokens.access_token)
    assert answer.status_code == 400 and answer.json()["error"] == "unsupported_token_type"
    assert is_active(url, tokens.access_token)


def test_fault_revoke_refresh_keeps_access(mock_with: MockWith, new_browser: NewBrowser) -> None:
    browser = browser_on(mock_with, new_browser, "revoke-refresh-keeps-access")
    url = browser.base_url
    tokens = browser.sign_in()
    revoke(url, RP_BASIC, tokens.refresh_token)
    assert refresh(url, RP_BASIC, tokens.refresh_token).status_code == 400
    assert is_active(url, tokens.access_token)


def test_fault_revoke_hint_strict(mock_with: MockWith, new_browser: NewBrowser) -> None:
    browser = browser_on(mock_with, new_browser, "revoke-hint-strict")
    url = browser.base_url
    tokens = browser.sign_in()
    assert (
        revoke(url, RP_BASIC, tokens.refresh_token, token_type_hint="access_token").status_code
        == 200
    )
    assert is_active(url, tokens.refresh_token)
    revoke(url, RP_BASIC, tokens.refresh_token, token_type_hint="refresh_token")
    assert not is_active(url, tokens.refresh_token)


def test_fault_revoke_any_client(mock_with: MockWith, new_browser: NewBrowser) -> None:
    browser = browser_on(mock_with, new_browser, "revoke-any-client")
    url = browser.base_url
    tokens = browser.sign_in(RP_BASIC)
    revoke(url, RP_POST, tokens.refresh_token)
    assert refresh(url, RP_BASIC, tokens.refresh_token).status_code == 400


def test_fault_revoke_unknown_400(mock_with: MockWith) -> None:
    answer = revoke(mock_with("revoke-unknown-400"), RP_BASIC, "unknown")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"


# RFC 7662


def test_fault_introspection_open(mock_with: MockWith, new_browser: NewBrowser) -> None:
    browser = browser_on(mock_with, new_browser, "introspection-open")
    url = browser.base_url
    tokens = browser.sign_in()
    answer = introspect(url, None, tokens.access_token)
    assert answer.status_code == 200 and answer.json()["active"] is True


def test_fault_introspection_revoked_active(mock_with: MockWith, new_browser: NewBrowser) -> None:
    browser = browser_on(mock_with, new_browser, "introspection-revoked-active")
    url = browser.base_url
    tokens = browser.sign_in()
    revoke(url, RP_BASIC, tokens.refresh_token)
    assert refresh(url, RP_BASIC, tokens.refresh_token).status_code == 400
    assert is_active(url, tokens.refresh_token)
    assert is_active(url, tokens.access_token)
    assert not is_active(url, "unknown")


@pytest.mark.parametrize("revoked", [True, False])
def test_fault_introspection_inactive_details(
    mock_with: MockWith, new_browser: NewBrowser, revoked: bool
) -> None:
    browser = browser_on(mock_with, new_browser, "introspection-inactive-details")
    url = browser.base_url
    token = "unknown"
    if revoked:
        token = browser.sign_in().access_token
        revoke(url, RP_BASIC, token)
    answer = introspect(url, RP_BASIC, token).json()
    assert answer == {"active": False, "reason": "revoked" if revoked else "unknown"}
