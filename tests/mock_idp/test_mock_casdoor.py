"""The mock's Casdoor dialect: /api/sso-logout in every way of authenticating, its notifications and their signature, the tokens it ends; and each Casdoor fault."""

import hashlib
import hmac
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from idp_client import (
    ALICE,
    BACK_CHANNEL,
    BOB,
    CASDOOR_PATHS,
    RP_BASIC,
    RP_POST,
    Browser,
    Tokens,
    claims_of,
    is_active,
    refresh,
    revoke,
)
from receiver import Receiver, register_rp

MockWith = Callable[..., str]
NewBrowser = Callable[[str], Browser]
OK = {"status": "ok", "msg": "", "data": ""}
FIELDS = {
    "owner",
    "name",
    "displayName",
    "email",
    "phone",
    "id",
    "event",
    "sessionIds",
    "accessTokenHashes",
    "nonce",
    "timestamp",
    "signature",
}
SECRETS = {client.client_id: client.client_secret for client in (RP_BASIC, RP_POST)}
APP = httpx.BasicAuth(RP_POST.client_id, RP_POST.client_secret)


@dataclass
class Alice:
    """Alice signed in on two browsers (rp-basic on one, rp-post with offline_access on the
    other), Bob on a third."""

    url: str
    first: Browser
    second: Browser
    bob: Browser
    first_tokens: Tokens
    second_tokens: Tokens
    bob_tokens: Tokens

    def sid(self, browser: Browser) -> str:
        session = browser.session()
        assert session is not None
        return session["sid"]


@pytest.fixture
def alice_on(mock_with: MockWith, new_browser: NewBrowser) -> Callable[..., Alice]:
    def signed_in(*faults: str) -> Alice:
        url = mock_with(*faults)
        # The mocks are shared: end the sessions earlier tests left Alice, so that "all her
        # sessions" are this test's.
        clean = BACK_CHANNEL.post(url + "/api/sso-logout", params={"user": "alice"}, auth=APP)
        assert clean.json() == OK
        first, second, bob = new_browser(url), new_browser(url), new_browser(url)
        return Alice(
            url,
            first,
            second,
            bob,
            first.sign_in(RP_BASIC),
            second.sign_in(RP_POST, scope="openid offline_access"),
            bob.sign_in(RP_BASIC, BOB),
        )

    return signed_in


def sso_logout(
    receiver: Receiver, base_url: str, method: str = "POST", **request: Any
) -> tuple[httpx.Response, dict[str, dict[str, Any]]]:
    """Casdoor's SSO logout (request: httpx's params, headers, auth...), and the notification
    each receiver got with it, by client_id; a receiver that got none is left out."""
    before = {client_id: len(receiver.at(path)) for client_id, path in CASDOOR_PATHS.items()}
    answer = BACK_CHANNEL.request(method, base_url + "/api/sso-logout", **request)
    got: dict[str, dict[str, Any]] = {}
    for client_id, path in CASDOOR_PATHS.items():
        new = receiver.at(path)[before[client_id] :]
        assert len(new) <= 1, new
        if new:
            assert new[0].content_type == "application/json"
            got[client_id] = new[0].json()
    return answer, got


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def signature(notification: dict[str, Any], secret: str, order: tuple[str, ...]) -> str:
    signed = [str(notification[name]) for name in order]
    signed += [",".join(notification["sessionIds"]), ",".join(notification["accessTokenHashes"])]
    return hmac.new(secret.encode(), "|".join(signed).encode(), hashlib.sha256).hexdigest()


def assert_notifications(
    got: dict[str, dict[str, Any]], sids: list[str], hashes: list[str]
) -> None:
    """Both receivers got a well-formed, well-signed notification naming these sessions and tokens."""
    assert set(got) == set(CASDOOR_PATHS)
    for client_id, notification in got.items():
        assert set(notification) == FIELDS
        assert {key: notification[key] for key in ("owner", "name", "displayName", "email")} == {
            "owner": "built-in",
            "name": "alice",
            "displayName": "Alice",
            "email": "alice@example.test",
        }
        assert (notification["phone"], notification["id"]) == ("", ALICE.sub)
        assert notification["event"] == "sso-logout"
        assert sorted(notification["sessionIds"]) == sorted(sids)
        assert sorted(notification["accessTokenHashes"]) == sorted(hashes)
        assert re.fullmatch("[0-9a-f]{32}", notification["nonce"])
        assert isinstance(notification["timestamp"], int)
        assert abs(notification["timestamp"] - time.time()) < 10
        expected = signature(
            notification, SECRETS[client_id], ("owner", "name", "nonce", "timestamp")
        )
        assert notification["signature"] == expected
    assert got["rp-basic"]["nonce"] != got["rp-post"]["nonce"]


def test_logout_all_by_access_token_ends_every_session_and_token(
    alice_on: Callable[..., Alice], receiver: Receiver
) -> None:
    alice = alice_on()
    sids = [alice.sid(alice.first), alice.sid(alice.second)]
    answer, got = sso_logout(receiver, alice.url, headers=bearer(alice.first_tokens.access_token))
    assert answer.status_code == 200 and answer.json() == OK
    assert_notifications(
        got,
        sids,
        [sha256(alice.first_tokens.access_token), sha256(alice.second_tokens.access_token)],
    )
    assert not alice.first.has_session() and not alice.second.has_session()
    for tokens in (alice.first_tokens, alice.second_tokens):
        assert not is_active(alice.url, tokens.access_token)
    assert refresh(alice.url, RP_BASIC, alice.first_tokens.refresh_token).status_code == 400
    # offline_access too: Casdoor invalidates every token of the user.
    refused = refresh(alice.url, RP_POST, alice.second_tokens.refresh_token)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert alice.bob.has_session() and is_active(alice.url, alice.bob_tokens.access_token)


@pytest.mark.parametrize(
    ("logout_all", "ends_all"),
    [("", True), ("true", True), ("1", True), ("false", False), ("0", False), ("TRUE", False)],
)
def test_logout_all_values(
    alice_on: Callable[..., Alice], receiver: Receiver, logout_all: str, ends_all: bool
) -> None:
    alice = alice_on()
    answer, _ = sso_logout(
        receiver,
        alice.url,
        params={"logoutAll": logout_all},
        headers=bearer(alice.first_tokens.access_token),
    )
    assert answer.json() == OK
    assert not alice.first.has_session()
    assert alice.second.has_session() is not ends_all


def test_session_only_by_access_token_names_that_session_and_its_tokens(
    alice_on: Callable[..., Alice], receiver: Receiver
) -> None:
    alice = alice_on()
    sid = alice.sid(alice.first)
    answer, got = sso_logout(
        receiver,
        alice.url,
        params={"logoutAll": "false"},
        headers=bearer(alice.first_tokens.access_token),
    )
    assert answer.json() == OK
    assert_notifications(got, [sid], [sha256(alice.first_tokens.access_token)])
    assert not is_active(alice.url, alice.first_tokens.access_token)
    assert refresh(alice.url, RP_BASIC, alice.first_tokens.refresh_token).status_code == 400
    assert alice.second.has_session()
    assert is_active(alice.url, alice.second_tokens.access_token, RP_POST)


def test_session_cookie_by_get_ends_the_browsers_session(
    alice_on: Callable[..., Alice], receiver: Receiver
) -> None:
    alice = alice_on()
    sid = alice.sid(alice.first)
    before = len(receiver.at(CASDOOR_PATHS["rp-basic"]))
    answer = alice.first.sso_logout("GET", logoutAll="false")
    assert answer.status_code == 200 and answer.json() == OK
    assert 'op_session=""' in answer.headers["set-cookie"]
    (notification,) = receiver.at(CASDOOR_PATHS["rp-basic"])[before:]
    assert notification.json()["sessionIds"] == [sid]
    assert not alice.first.has_session() and alice.second.has_session()


@pytest.mark.parametrize("way", ["basic", "query"])
def test_client_credentials_with_a_named_user_end_all_their_sessions(
    alice_on: Callable[..., Alice], receiver: Receiver, way: str
) -> None:
    alice = alice_on()
    sids = [alice.sid(alice.first), alice.sid(alice.second)]
    auth = APP if way == "basic" else None
    params = {"user": "alice"}
    if way == "query":
        params |= {"clientId": RP_POST.client_id, "clientSecret": RP_POST.client_secret}
    # An application speaks for none of the user's sessions: "the current one" names nothing.
    session_only, got = sso_logout(
        receiver, alice.url, params={**params, "logoutAll": "false"}, auth=auth
    )
    assert session_only.status_code == 400 and session_only.json()["status"] == "error"
    assert got == {} and alice.first.has_session() and alice.second.has_session()
    answer, got = sso_logout(receiver, alice.url, params=params, auth=auth)
    assert answer.json() == OK
    assert_notifications(
        got,
        sids,
        [sha256(alice.first_tokens.access_token), sha256(alice.second_tokens.access_token)],
    )
    assert not alice.first.has_session() and not alice.second.has_session()
    assert alice.bob.has_session()


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        ({}, 401),
        ({"headers": bearer("unknown-token")}, 401),
        ({"auth": httpx.BasicAuth(RP_POST.client_id, "wrong")}, 401),
        ({"params": {"clientId": RP_POST.client_id, "clientSecret": "wrong"}}, 401),
        ({"auth": APP}, 400),
        (
            {"auth": APP, "params": {"user": "eve"}},
            400,
        ),
    ],
)
def test_refused_requests_end_nothing(
    alice_on: Callable[..., Alice], receiver: Receiver, request_: dict[str, Any], status: int
) -> None:
    alice = alice_on()
    answer, got = sso_logout(receiver, alice.url, **request_)
    assert answer.status_code == status and got == {}
    body = answer.json()
    assert body["status"] == "error" and body["msg"] and body["data"] == ""
    assert alice.first.has_session() and is_active(alice.url, alice.first_tokens.access_token)


def test_a_revoked_access_token_is_no_authentication(
    alice_on: Callable[..., Alice], receiver: Receiver
) -> None:
    alice = alice_on()
    revoke(alice.url, RP_BASIC, alice.first_tokens.access_token)
    answer, got = sso_logout(receiver, alice.url, headers=bearer(alice.first_tokens.access_token))
    assert answer.status_code == 401 and got == {}
    assert alice.first.has_session() and alice.second.has_session()


def test_hashes_list_the_valid_access_tokens_only_offline_ones_included(
    alice_on: Callable[..., Alice], receiver: Receiver
) -> None:
    alice = alice_on()
    sid = alice.sid(alice.first)
    revoked = alice.first.sign_in(RP_BASIC).access_token
    revoke(alice.url, RP_BASIC, revoked)
    # The offline grant outlives an end-session logout and mints access tokens of an ended session.
    alice.second.log_out()
    renewed = refresh(alice.url, RP_POST, alice.second_tokens.refresh_token).json()["access_token"]
    answer, got = sso_logout(receiver, alice.url, headers=bearer(renewed))
    assert answer.json() == OK
    assert_notifications(got, [sid], [sha256(alice.first_tokens.access_token), sha256(renewed)])
    assert not is_active(alice.url, renewed, RP_POST)
    assert not alice.first.has_session()


def test_session_only_by_a_token_whose_session_ended_ends_that_token_and_its_grant(
    alice_on: Callable[..., Alice], receiver: Receiver
) -> None:
    alice = alice_on()
    alice.second.log_out()  # the offline grant lives on, its session does not
    renewed = refresh(alice.url, RP_POST, alice.second_tokens.refresh_token).json()["access_token"]
    answer, got = sso_logout(
        receiver, alice.url, params={"logoutAll": "false"}, headers=bearer(renewed)
    )
    assert answer.json() == OK
    assert_notifications(got, [], [sha256(renewed)])
    assert not is_active(alice.url, renewed, RP_POST)
    assert refresh(alice.url, RP_POST, alice.second_tokens.refresh_token).status_code == 400
    assert alice.first.has_session() and is_active(alice.url, alice.first_tokens.access_token)


def test_sso_logout_tells_the_rps_by_back_channel_before_answering(
    mock_with: MockWith, new_browser: NewBrowser, receiver: Receiver
) -> None:
    url = mock_with()
    rp = register_rp(url, receiver)
    browser = new_browser(url)
    id_token = browser.sign_in(rp.client).id_token
    answer = browser.sso_logout()
    assert answer.json() == OK
    (told,) = receiver.at(rp.path)
    assert claims_of(told.logout_token())["sid"] == claims_of(id_token)["sid"]


# Faults


def test_fault_casdoor_get_refused(alice_on: Callable[..., Alice], receiver: Receiver) -> None:
    alice = alice_on("casdoor-get-refused")
    assert alice.first.sso_logout("GET").status_code == 405
    assert alice.first.has_session()
    assert alice.first.sso_logout("POST").json() == OK


def test_fault_casdoor_logout_all_ignored(
    alice_on: Callable[..., Alice], receiver: Receiver
) -> None:
    alice = alice_on("casdoor-logout-all-ignored")
    sid = alice.sid(alice.first)
    answer, got = sso_logout(
        receiver,
        alice.url,
        params={"logoutAll": "true"},
        headers=bearer(alice.first_tokens.access_token),
    )
    assert answer.json() == OK
    assert not alice.first.has_session() and alice.second.has_session()
    assert got["rp-basic"]["sessionIds"] == [sid]


def test_fault_casdoor_session_only_ends_all(
    alice_on: Callable[..., Alice], receiver: Receiver
) -> None:
    alice = alice_on("casdoor-session-only-ends-all")
    alice.first.sso_logout(logoutAll="false")
    assert not alice.first.has_session() and not alice.second.has_session()
    assert alice.bob.has_session()


def test_fault_casdoor_no_notification(alice_on: Callable[..., Alice], receiver: Receiver) -> None:
    alice = alice_on("casdoor-no-notification")
    answer, got = sso_logout(receiver, alice.url, headers=bearer(alice.first_tokens.access_token))
    assert answer.json() == OK and got == {}
    assert not alice.first.has_session()


def test_fault_casdoor_missing_field(alice_on: Callable[..., Alice], receiver: Receiver) -> None:
    alice = alice_on("casdoor-missing-field")
    _, got = sso_logout(receiver, alice.url, headers=bearer(alice.first_tokens.access_token))
    notification = got["rp-basic"]
    assert set(notification) == FIELDS - {"phone"}
    assert isinstance(notification["timestamp"], str)


def test_fault_casdoor_bad_signature(alice_on: Callable[..., Alice], receiver: Receiver) -> None:
    alice = alice_on("casdoor-bad-signature")
    _, got = sso_logout(receiver, alice.url, headers=bearer(alice.first_tokens.access_token))
    notification = got["rp-basic"]
    secret = SECRETS["rp-basic"]
    assert notification["signature"] != signature(
        notification, secret, ("owner", "name", "nonce", "timestamp")
    )
    assert notification["signature"] == signature(
        notification, secret, ("owner", "name", "timestamp", "nonce")
    )


def test_fault_casdoor_stale_timestamp(alice_on: Callable[..., Alice], receiver: Receiver) -> None:
    alice = alice_on("casdoor-stale-timestamp")
    _, got = sso_logout(receiver, alice.url, headers=bearer(alice.first_tokens.access_token))
    notification = got["rp-basic"]
    assert abs(time.time() - 3600 - notification["timestamp"]) < 10
    order = ("owner", "name", "nonce", "timestamp")
    assert notification["signature"] == signature(notification, SECRETS["rp-basic"], order)


def test_fault_casdoor_fixed_nonce(alice_on: Callable[..., Alice], receiver: Receiver) -> None:
    alice = alice_on("casdoor-fixed-nonce")
    _, first = sso_logout(receiver, alice.url, headers=bearer(alice.first_tokens.access_token))
    _, second = sso_logout(receiver, alice.url, headers=bearer(alice.bob_tokens.access_token))
    nonces = {n["nonce"] for got in (first, second) for n in got.values()}
    assert len(nonces) == 1


def test_fault_casdoor_all_sessions_listed(
    alice_on: Callable[..., Alice], receiver: Receiver
) -> None:
    alice = alice_on("casdoor-all-sessions-listed")
    sids = [alice.sid(alice.first), alice.sid(alice.second)]
    _, got = sso_logout(
        receiver,
        alice.url,
        params={"logoutAll": "false"},
        headers=bearer(alice.first_tokens.access_token),
    )
    assert sorted(got["rp-basic"]["sessionIds"]) == sorted(sids)
    assert alice.second.has_session()  # listed, yet alive


def test_fault_casdoor_raw_token_hashes(alice_on: Callable[..., Alice], receiver: Receiver) -> None:
    alice = alice_on("casdoor-raw-token-hashes")
    token = alice.first_tokens.access_token
    _, got = sso_logout(receiver, alice.url, params={"logoutAll": "false"}, headers=bearer(token))
    assert got["rp-basic"]["accessTokenHashes"] == [hashlib.sha1(token.encode()).hexdigest()]


def test_fault_casdoor_tokens_survive(alice_on: Callable[..., Alice], receiver: Receiver) -> None:
    alice = alice_on("casdoor-tokens-survive")
    answer, _ = sso_logout(receiver, alice.url, headers=bearer(alice.first_tokens.access_token))
    assert answer.json() == OK and not alice.first.has_session()
    assert is_active(alice.url, alice.first_tokens.access_token)
    assert refresh(alice.url, RP_BASIC, alice.first_tokens.refresh_token).status_code == 200
