"""The conformant mock OP: RP-Initiated Logout 1.0, every validation rule and the confirmation step."""

from collections.abc import Callable

import pytest
from idp_client import (
    ALICE,
    BOB,
    RP_EXPIRED,
    RP_POST,
    Browser,
    hidden_fields,
    is_active,
    query,
    signed_by_stranger,
    unsigned,
)

CONFIRM_FORM = (
    '<form method="post" action="/end-session/confirm">'
    '<input type="hidden" name="xsrf" value="{xsrf}">'
    '<input type="hidden" name="logout_id" value="{logout_id}">'
    '<button type="submit" name="logout" value="yes">Yes, sign me out</button>'
    '<button type="submit" name="logout" value="no">No, stay signed in</button>'
    "</form>"
)
LONG_STATE = "s" * 500 + " &?=/%é"


def assert_not_logged_out(browser: Browser, access_token: str, mock_url: str) -> None:
    assert browser.has_session()
    assert is_active(mock_url, access_token)


def test_full_logout_with_hint_uri_and_long_state(browser: Browser, mock_url: str) -> None:
    tokens = browser.sign_in()
    page = browser.end_session(
        id_token_hint=tokens.id_token,
        post_logout_redirect_uri="http://rp.test/bye",
        state=LONG_STATE,
    )
    assert page.status_code == 200
    assert CONFIRM_FORM.format(**hidden_fields(page.text)) in page.text
    assert "op_browser=" in page.headers["set-cookie"]
    assert browser.has_session()  # asking logs nobody out
    answer = browser.confirm(page)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith("http://rp.test/bye?")
    assert query(location) == {"state": [LONG_STATE]}
    assert 'op_session=""' in answer.headers["set-cookie"]
    assert not browser.has_session()
    assert not is_active(mock_url, tokens.access_token)


def test_post_is_accepted_like_get(browser: Browser) -> None:
    tokens = browser.sign_in(RP_POST)
    page = browser.end_session(
        "POST",
        id_token_hint=tokens.id_token,
        post_logout_redirect_uri="http://rp2.test/bye",
        state="xyz",
    )
    answer = browser.confirm(page)
    assert answer.headers["location"] == "http://rp2.test/bye?state=xyz"
    assert not browser.has_session()


def test_without_state_the_redirect_has_none(browser: Browser) -> None:
    tokens = browser.sign_in()
    answer = browser.log_out(
        id_token_hint=tokens.id_token, post_logout_redirect_uri="http://rp.test/bye"
    )
    assert answer.headers["location"] == "http://rp.test/bye"


def test_the_registered_uris_own_query_is_kept(browser: Browser) -> None:
    tokens = browser.sign_in()
    answer = browser.log_out(
        id_token_hint=tokens.id_token,
        post_logout_redirect_uri="http://rp.test/bye2?keep=1",
        state="a",
    )
    assert answer.headers["location"] == "http://rp.test/bye2?keep=1&state=a"


@pytest.mark.parametrize(
    "uri",
    [
        "http://evil.test/bye",
        "http://rp.test/bye?foo=bar",
        "http://rp.test/bye/",
        "http://rp2.test/bye",
    ],
)
def test_an_unregistered_uri_is_never_followed(browser: Browser, uri: str) -> None:
    tokens = browser.sign_in()
    answer = browser.log_out(id_token_hint=tokens.id_token, post_logout_redirect_uri=uri, state="a")
    assert answer.status_code == 200 and "You are signed out" in answer.text
    assert not browser.has_session()


def test_a_uri_needs_a_hint_or_a_client_id(browser: Browser) -> None:
    browser.sign_in()
    alone = browser.log_out(post_logout_redirect_uri="http://rp.test/bye", state="a")
    assert alone.status_code == 200 and "You are signed out" in alone.text
    browser.sign_in()
    with_client_id = browser.log_out(
        client_id="rp-basic", post_logout_redirect_uri="http://rp.test/bye", state="a"
    )
    assert with_client_id.headers["location"] == "http://rp.test/bye?state=a"


@pytest.mark.parametrize("params", [{}, {"state": "only"}, {"client_id": "rp-basic"}])
def test_without_a_uri_the_op_shows_its_own_page(browser: Browser, params: dict[str, str]) -> None:
    browser.sign_in()
    page = browser.end_session(**params)
    assert 'action="/end-session/confirm"' in page.text
    answer = browser.confirm(page)
    assert answer.status_code == 200 and "You are signed out" in answer.text
    assert not browser.has_session()


@pytest.mark.parametrize("forge", [unsigned, signed_by_stranger])
def test_a_forged_hint_is_an_error(
    browser: Browser, mock_url: str, forge: Callable[[str], str]
) -> None:
    tokens = browser.sign_in()
    answer = browser.end_session(
        id_token_hint=forge(tokens.id_token), post_logout_redirect_uri="http://rp.test/bye"
    )
    assert answer.status_code == 400 and "location" not in answer.headers
    assert_not_logged_out(browser, tokens.access_token, mock_url)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"id_token_hint": "not-a-jwt"}, "not a JWT"),
        ({"client_id": "nobody"}, "Unknown client_id"),
        ({"client_id": "rp-post", "hint": "yes"}, "not the audience"),
        ({"state": ["a", "b"]}, "more than once"),
    ],
)
def test_invalid_requests_get_an_error_page(
    browser: Browser, mock_url: str, params: dict[str, str | list[str]], message: str
) -> None:
    tokens = browser.sign_in()
    request = {**params, "post_logout_redirect_uri": "http://rp.test/bye"}
    if request.pop("hint", None):
        request["id_token_hint"] = tokens.id_token
    answer = browser.http.get("/end-session", params=request)
    assert answer.status_code == 400 and message in answer.text
    assert "location" not in answer.headers
    assert_not_logged_out(browser, tokens.access_token, mock_url)


def test_an_expired_hint_is_accepted(browser: Browser) -> None:
    tokens = browser.sign_in(RP_EXPIRED)
    answer = browser.log_out(
        id_token_hint=tokens.id_token, post_logout_redirect_uri="http://rp3.test/bye"
    )
    assert answer.headers["location"] == "http://rp3.test/bye"


def test_a_hint_from_another_session_still_asks_and_ends_only_this_browsers_session(
    new_browser: Callable[[str], Browser], mock_url: str
) -> None:
    first, second = new_browser(mock_url), new_browser(mock_url)
    first_tokens = first.sign_in(user=ALICE)
    second.sign_in(user=BOB)
    page = second.end_session(id_token_hint=first_tokens.id_token)
    assert 'action="/end-session/confirm"' in page.text
    second.confirm(page)
    assert not second.has_session()
    assert_not_logged_out(first, first_tokens.access_token, mock_url)


def test_logging_out_when_not_logged_in_is_no_error(
    new_browser: Callable[[str], Browser], mock_url: str
) -> None:
    tokens = new_browser(mock_url).sign_in()
    stranger = new_browser(mock_url)
    answer = stranger.log_out(
        id_token_hint=tokens.id_token, post_logout_redirect_uri="http://rp.test/bye", state="q"
    )
    assert answer.headers["location"] == "http://rp.test/bye?state=q"
    assert stranger.log_out().status_code == 200


def test_saying_no_keeps_the_session(browser: Browser, mock_url: str) -> None:
    tokens = browser.sign_in()
    page = browser.end_session(
        id_token_hint=tokens.id_token, post_logout_redirect_uri="http://rp.test/bye"
    )
    answer = browser.confirm(page, "no")
    assert answer.status_code == 200 and "still signed in" in answer.text
    assert_not_logged_out(browser, tokens.access_token, mock_url)


def test_only_the_asked_browser_can_confirm_once(
    new_browser: Callable[[str], Browser], mock_url: str
) -> None:
    browser, other = new_browser(mock_url), new_browser(mock_url)
    tokens = browser.sign_in()
    other.sign_in()
    page = browser.end_session()
    fields = hidden_fields(page.text)
    from_elsewhere = other.http.post("/end-session/confirm", data={**fields, "logout": "yes"})
    assert from_elsewhere.status_code == 400
    wrong_xsrf = browser.http.post(
        "/end-session/confirm", data={**fields, "xsrf": "forged", "logout": "yes"}
    )
    assert wrong_xsrf.status_code == 400
    assert_not_logged_out(browser, tokens.access_token, mock_url)
    assert other.has_session()
    assert browser.confirm(page).status_code == 200
    assert browser.confirm(page).status_code == 400  # used up
