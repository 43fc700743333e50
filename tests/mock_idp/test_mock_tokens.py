"""The conformant mock OP: introspection (RFC 7662), revocation (RFC 7009) and tokens after logout."""

from collections.abc import Callable

from idp_client import (
    ALICE,
    BACK_CHANNEL,
    RP_BASIC,
    RP_POST,
    Browser,
    claims_of,
    introspect,
    is_active,
    refresh,
    revoke,
    userinfo,
)


def test_introspection_needs_client_authentication(browser: Browser, mock_url: str) -> None:
    tokens = browser.sign_in()
    assert introspect(mock_url, None, tokens.access_token).status_code == 401
    wrong = BACK_CHANNEL.post(
        mock_url + "/introspect", data={"token": tokens.access_token}, auth=("rp-basic", "x")
    )
    assert wrong.status_code == 401


def test_introspection_of_active_tokens(browser: Browser, mock_url: str) -> None:
    tokens = browser.sign_in()
    answer = introspect(mock_url, RP_BASIC, tokens.access_token)
    body = answer.json()
    assert body["active"] is True and body["client_id"] == "rp-basic"
    assert body["sub"] == "sub-alice" and body["token_type"] == "Bearer"
    assert body["scope"] == "openid profile email"
    assert body["sid"] == claims_of(tokens.id_token)["sid"]
    assert body["exp"] > body["iat"]
    assert answer.headers["cache-control"] == "no-store"
    # The hint only orders the search: a wrong one still finds the token.
    wrong_hint = introspect(
        mock_url, RP_BASIC, tokens.access_token, token_type_hint="refresh_token"
    )
    assert wrong_hint.json()["active"] is True
    assert introspect(mock_url, RP_POST, tokens.refresh_token).json()["active"] is True


def test_inactive_tokens_say_nothing_more(browser: Browser, mock_url: str) -> None:
    tokens = browser.sign_in()
    revoke(mock_url, RP_BASIC, tokens.access_token)
    for token in ["unknown", tokens.access_token]:
        answer = introspect(mock_url, RP_BASIC, token)
        assert answer.status_code == 200 and answer.json() == {"active": False}
    assert introspect(mock_url, RP_BASIC, "").json()["error"] == "invalid_request"


def test_revocation_needs_client_authentication_and_a_token(
    browser: Browser, mock_url: str
) -> None:
    tokens = browser.sign_in()
    unauthenticated = BACK_CHANNEL.post(mock_url + "/revoke", data={"token": tokens.refresh_token})
    assert unauthenticated.status_code == 401
    missing = BACK_CHANNEL.post(mock_url + "/revoke", data={}, auth=("rp-basic", "basic-secret"))
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    assert revoke(mock_url, RP_BASIC, "unknown").status_code == 200
    assert is_active(mock_url, tokens.refresh_token)


def test_revoking_an_access_token_revokes_only_it(browser: Browser, mock_url: str) -> None:
    tokens = browser.sign_in()
    assert revoke(mock_url, RP_BASIC, tokens.access_token).status_code == 200
    assert not is_active(mock_url, tokens.access_token)
    assert userinfo(mock_url, tokens.access_token).status_code == 401
    assert refresh(mock_url, RP_BASIC, tokens.refresh_token).status_code == 200


def test_revoking_a_refresh_token_ends_its_grant(
    new_browser: Callable[[str], Browser], mock_url: str
) -> None:
    browser = new_browser(mock_url)
    tokens = browser.sign_in()
    second_access = refresh(mock_url, RP_BASIC, tokens.refresh_token).json()["access_token"]
    other_grant = browser.sign_in()
    answer = revoke(mock_url, RP_BASIC, tokens.refresh_token, token_type_hint="access_token")
    assert answer.status_code == 200
    assert refresh(mock_url, RP_BASIC, tokens.refresh_token).json()["error"] == "invalid_grant"
    assert not is_active(mock_url, tokens.access_token)
    assert not is_active(mock_url, second_access)
    assert is_active(mock_url, other_grant.access_token)
    assert is_active(mock_url, other_grant.refresh_token)


def test_a_client_cannot_revoke_another_clients_tokens(browser: Browser, mock_url: str) -> None:
    tokens = browser.sign_in()
    assert revoke(mock_url, RP_POST, tokens.refresh_token).status_code == 200
    assert revoke(mock_url, RP_POST, tokens.access_token).status_code == 200
    assert is_active(mock_url, tokens.refresh_token)
    assert is_active(mock_url, tokens.access_token)


def test_logout_stops_the_sessions_tokens_but_offline_refresh_tokens(
    browser: Browser, mock_url: str
) -> None:
    online = browser.sign_in()
    offline = browser.sign_in(RP_POST, scope="openid offline_access")
    assert browser.log_out().status_code == 200
    assert not is_active(mock_url, online.access_token)
    assert not is_active(mock_url, online.refresh_token)
    assert userinfo(mock_url, online.access_token).status_code == 401
    assert refresh(mock_url, RP_BASIC, online.refresh_token).json()["error"] == "invalid_grant"
    assert not is_active(mock_url, offline.access_token)
    # offline_access is meant to outlive the session.
    renewed = refresh(mock_url, RP_POST, offline.refresh_token)
    assert renewed.status_code == 200
    assert userinfo(mock_url, renewed.json()["access_token"]).status_code == 200
    assert not browser.has_session()


def test_logout_leaves_the_users_other_sessions_alone(
    new_browser: Callable[[str], Browser], mock_url: str
) -> None:
    leaving, staying = new_browser(mock_url), new_browser(mock_url)
    leaving.sign_in(user=ALICE)
    kept = staying.sign_in(user=ALICE)
    leaving.log_out()
    assert staying.has_session()
    assert is_active(mock_url, kept.access_token)
    assert refresh(mock_url, RP_BASIC, kept.refresh_token).status_code == 200
