"""The sample OIDC RP, conformant: it logs in by the book and keeps every RP-side logout rule."""

import asyncio
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from joserfc.jwk import RSAKey

from fixtures.apps.oidc_rp import provider
from fixtures.apps.oidc_rp.__main__ import main
from fixtures.apps.oidc_rp.app import SampleRp, create_app
from fixtures.apps.oidc_rp.config import RpConfig
from fixtures.apps.oidc_rp.sessions import Session, token_hash

from .oidc_rp_world import (
    ALICE,
    BACK_CHANNEL,
    BOB,
    CLIENT_ID,
    CLIENT_SECRET,
    EVENT,
    OP_ES256,
    OP_RS256,
    STRANGER,
    Browser,
    Rp,
    Rps,
    back_channel_logout,
    claims_of,
    logout_token,
    notification,
    query,
    running_rps,
    send_notification,
)

NewBrowser = Callable[[], Browser]


@pytest.fixture(scope="session")
def rps() -> Iterator[Rps]:
    with tempfile.TemporaryFile("w+") as stderr, running_rps([frozenset()], stderr) as started:
        yield started


@pytest.fixture
def rp(rps: Rps) -> Rp:
    return rps()


@pytest.fixture
def new_browser(rp: Rp) -> Iterator[NewBrowser]:
    """Browsers (cookie jars) on the conformant app."""
    opened: list[Browser] = []

    def open_browser() -> Browser:
        opened.append(Browser(rp))
        return opened[-1]

    yield open_browser
    for browser in opened:
        browser.close()


@pytest.fixture
def alice(new_browser: NewBrowser) -> Browser:
    """A browser in which alice is signed in to the app."""
    browser = new_browser()
    browser.log_in(ALICE)
    return browser


# Login, the protected page, logout


def test_login_redirects_to_the_op_with_pkce_state_and_nonce(
    rp: Rp, new_browser: NewBrowser
) -> None:
    answer = new_browser().http.get(f"{rp.url}/login", follow_redirects=False)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(f"{rp.issuer}/authorize?")
    params = {name: values[0] for name, values in query(location).items()}
    assert params["response_type"] == "code" and params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == f"{rp.url}/callback"
    assert params["scope"] == "openid profile email"
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert params["state"] and params["nonce"] and params["state"] != params["nonce"]


def test_login_starts_a_session_with_an_httponly_lax_cookie(new_browser: NewBrowser) -> None:
    browser = new_browser()
    page = browser.log_in()
    assert page.headers["content-type"].startswith("text/html")
    callback = next(step for step in page.history if "/callback" in str(step.url))
    cookies = callback.headers.get_list("set-cookie")
    cookie = next(value for value in cookies if value.startswith("rp_session="))
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert browser.signed_in()


def test_protected_page_without_session_redirects_to_login(rp: Rp) -> None:
    answer = BACK_CHANNEL.get(f"{rp.url}/protected")
    assert answer.status_code == 302 and answer.headers["location"] == "/login"


def test_callback_refuses_a_state_it_did_not_issue(rp: Rp) -> None:
    answer = BACK_CHANNEL.get(f"{rp.url}/callback", params={"code": "c", "state": "forged"})
    assert answer.status_code == 400


def test_callback_refuses_a_state_from_another_browser(rp: Rp, new_browser: NewBrowser) -> None:
    started = new_browser().http.get(f"{rp.url}/login", follow_redirects=False)
    state = query(started.headers["location"])["state"][0]
    answer = new_browser().http.get(f"{rp.url}/callback", params={"code": "c", "state": state})
    assert answer.status_code == 400


def test_logout_ends_the_session_and_sends_the_browser_to_the_op(alice: Browser) -> None:
    answer = alice.http.get(f"{alice.rp.url}/logout", follow_redirects=False)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(f"{alice.rp.issuer}/end-session?")
    hint = claims_of(query(location)["id_token_hint"][0])
    assert hint["sub"] == ALICE.sub and hint["aud"] == CLIENT_ID
    assert not alice.signed_in()


# Back-Channel Logout 1.0


def test_valid_logout_token_ends_the_session(alice: Browser) -> None:
    answer = back_channel_logout(alice.rp, logout_token(alice.rp, sid=alice.sid()))
    assert answer.status_code == 200 and answer.content == b""
    assert answer.headers["cache-control"] == "no-store"
    assert not alice.signed_in()


RS256 = {"alg": "RS256", "kid": OP_RS256.kid}
EXPIRED = int(time.time()) - 600
OTHER_EVENT: dict[str, Any] = {"http://schemas.openid.net/event/other": {}}
MakeToken = Callable[[Rp, str], str]
# Each kind of invalid logout token: how to make it for the app and the sid of the session it
# would end, and what the app's error_description must name, so that each is refused by its rule.
INVALID_TOKENS: dict[str, tuple[MakeToken, str]] = {
    "alg none": (
        lambda rp, sid: logout_token(rp, {"alg": "none", "kid": OP_RS256.kid}, None, sid=sid),
        "alg 'none'",
    ),
    "ES256 by the OP's key, RS256 registered": (
        lambda rp, sid: logout_token(rp, {"alg": "ES256", "kid": OP_ES256.kid}, OP_ES256, sid=sid),
        "alg 'ES256'",
    ),
    "another key under the OP's kid": (
        lambda rp, sid: logout_token(rp, RS256, STRANGER, sid=sid),
        "signature does not verify",
    ),
    "unknown kid": (
        lambda rp, sid: logout_token(rp, {"alg": "RS256", "kid": STRANGER.kid}, STRANGER, sid=sid),
        "no key",
    ),
    "no kid, two keys in the set": (
        lambda rp, sid: logout_token(rp, {"alg": "RS256"}, sid=sid),
        "no kid",
    ),
    "unknown crit extension": (
        lambda rp, sid: logout_token(
            rp, {**RS256, "crit": ["urn:example:ext"], "urn:example:ext": True}, sid=sid
        ),
        "crit",
    ),
    "garbled signature": (
        lambda rp, sid: logout_token(rp, sid=sid)[:-6] + "AAAAAA",
        "signature does not verify",
    ),
    "wrong iss": (lambda rp, sid: logout_token(rp, sid=sid, iss="http://other-op.test"), "iss"),
    "wrong aud": (lambda rp, sid: logout_token(rp, sid=sid, aud="other-rp"), "aud"),
    "no iat": (lambda rp, sid: logout_token(rp, sid=sid, iat=None), "iat"),
    "iat not a number": (lambda rp, sid: logout_token(rp, sid=sid, iat="now"), "iat"),
    "no exp": (lambda rp, sid: logout_token(rp, sid=sid, exp=None), "exp"),
    "expired": (
        lambda rp, sid: logout_token(rp, sid=sid, iat=EXPIRED - 120, exp=EXPIRED),
        "exp",
    ),
    "no jti": (lambda rp, sid: logout_token(rp, sid=sid, jti=None), "jti"),
    "no events": (lambda rp, sid: logout_token(rp, sid=sid, events=None), "events"),
    "another event": (lambda rp, sid: logout_token(rp, sid=sid, events=OTHER_EVENT), "events"),
    "event value not an object": (
        lambda rp, sid: logout_token(rp, sid=sid, events={EVENT: "yes"}),
        "events",
    ),
    "nonce": (lambda rp, sid: logout_token(rp, sid=sid, nonce="n-1"), "nonce"),
    "neither sub nor sid": (lambda rp, sid: logout_token(rp, sub=None), "neither sub nor sid"),
    "not a JWT": (lambda rp, sid: "not-a-jwt", "not a compact JWS"),
}


@pytest.mark.parametrize("kind", list(INVALID_TOKENS))
def test_invalid_logout_token_is_refused_and_ends_nothing(alice: Browser, kind: str) -> None:
    make, reason = INVALID_TOKENS[kind]
    answer = back_channel_logout(alice.rp, make(alice.rp, alice.sid()))
    assert answer.status_code == 400, answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert answer.json()["error"] == "invalid_request"
    assert reason in answer.json()["error_description"]
    assert alice.signed_in()


def _post(rp: Rp, **options: Any) -> httpx.Response:
    return BACK_CHANNEL.post(f"{rp.url}/backchannel-logout", **options)


def test_malformed_requests_are_refused(alice: Browser) -> None:
    rp, token = alice.rp, logout_token(alice.rp, sid=alice.sid())
    too_large = {"logout_token": token, "padding": "x" * 64 * 1024}
    for answer in (
        _post(rp, data={}),
        _post(rp, data={"logout_token": [token, token]}),
        _post(rp, data=too_large),
        _post(rp, json={"logout_token": token}),
    ):
        assert answer.status_code == 400 and answer.headers["cache-control"] == "no-store"
    assert alice.signed_in()


def test_unknown_post_parameters_are_ignored(alice: Browser) -> None:
    token = logout_token(alice.rp, sid=alice.sid())
    answer = _post(alice.rp, data={"logout_token": token, "extra": "1"})
    assert answer.status_code == 200 and not alice.signed_in()


def test_sid_ends_only_that_session(new_browser: NewBrowser) -> None:
    first, second = new_browser(), new_browser()
    first.log_in()
    second.log_in()
    assert first.sid() != second.sid()
    answer = back_channel_logout(first.rp, logout_token(first.rp, sid=first.sid()))
    assert answer.status_code == 200
    assert not first.signed_in() and second.signed_in()


def test_sub_without_sid_ends_every_session_of_that_user(new_browser: NewBrowser) -> None:
    first, second, bob = new_browser(), new_browser(), new_browser()
    first.log_in()
    second.log_in()
    bob.log_in(BOB)
    answer = back_channel_logout(first.rp, logout_token(first.rp, sub=ALICE.sub))
    assert answer.status_code == 200
    assert not first.signed_in() and not second.signed_in() and bob.signed_in()


def test_sid_and_sub_of_different_users_end_nothing(alice: Browser) -> None:
    answer = back_channel_logout(alice.rp, logout_token(alice.rp, sid=alice.sid(), sub=BOB.sub))
    assert answer.status_code == 200 and alice.signed_in()


def test_token_for_no_live_session_is_a_success(rp: Rp) -> None:
    answer = back_channel_logout(rp, logout_token(rp, sid="no-such-session"))
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"


def test_replayed_logout_token_is_refused(alice: Browser) -> None:
    token = logout_token(alice.rp, sid=alice.sid())
    assert back_channel_logout(alice.rp, token).status_code == 200
    alice.log_in()  # the same OP session, so the same sid
    answer = back_channel_logout(alice.rp, token)
    assert answer.status_code == 400 and "jti" in answer.json()["error_description"]
    assert alice.signed_in()


def test_audience_may_be_a_list(alice: Browser) -> None:
    token = logout_token(alice.rp, sid=alice.sid(), aud=["other-rp", CLIENT_ID])
    assert back_channel_logout(alice.rp, token).status_code == 200
    assert not alice.signed_in()


# Casdoor's SSO-logout notification


def test_notification_ends_exactly_the_listed_sessions(new_browser: NewBrowser) -> None:
    first, second = new_browser(), new_browser()
    first.log_in()
    second.log_in()
    answer = send_notification(first.rp, notification([first.sid()]))
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}
    assert not first.signed_in() and second.signed_in()


def _invalid_notifications(sid: str) -> dict[str, tuple[int, str, dict[str, Any]]]:
    """Each kind of invalid notification for this session: its status, the reason named, itself."""
    now = int(time.time())
    extra = notification([sid])
    extra["role"] = "admin"
    missing = notification([sid])
    del missing["phone"]
    return {
        "wrong signature": (401, "signature", notification([sid], secret="not-the-secret")),
        "signature over other sessions": (
            401,
            "signature",
            {**notification([sid]), "sessionIds": [sid, "another"]},
        ),
        "stale": (400, "timestamp", notification([sid], timestamp=now - 301)),
        "ahead of time": (400, "timestamp", notification([sid], timestamp=now + 120)),
        "missing field": (400, "phone", missing),
        "extra field": (400, "role", extra),
        "timestamp as a string": (400, "timestamp", notification([sid], timestamp=str(now))),
        "sessionIds not a list": (400, "sessionIds", notification([sid], sessionIds=sid)),
        "another event": (400, "event", notification([sid], event="sso-login")),
    }


@pytest.mark.parametrize("kind", list(_invalid_notifications("sid")))
def test_invalid_notification_is_refused_and_ends_nothing(alice: Browser, kind: str) -> None:
    status, reason, note = _invalid_notifications(alice.sid())[kind]
    answer = send_notification(alice.rp, note)
    assert answer.status_code == status, answer.text
    assert answer.json()["status"] == "error" and reason in answer.json()["msg"]
    assert alice.signed_in()


def test_notification_that_is_no_json_object_is_refused(rp: Rp) -> None:
    url = f"{rp.url}/api/logout-webhook"
    assert BACK_CHANNEL.post(url, content=b"{").status_code == 400
    assert BACK_CHANNEL.post(url, json=[1]).status_code == 400
    assert BACK_CHANNEL.post(url, content=b"[" * 70_000).status_code == 400


def test_replayed_notification_is_refused(alice: Browser) -> None:
    note = notification([alice.sid()])
    assert send_notification(alice.rp, note).status_code == 200
    alice.log_in()
    assert send_notification(alice.rp, note).status_code == 409
    assert alice.signed_in()


def test_notification_ends_sessions_by_access_token_hash() -> None:
    """In-process: only the app knows its access tokens, so the test plants the sessions."""
    rp = SampleRp(RpConfig("http://testserver", "http://op.invalid", CLIENT_ID, CLIENT_SECRET))
    deadline = time.time() + 60
    first = rp.sessions.start(Session(ALICE.sub, "s-1", token_hash("at-1"), "id-1"), deadline)
    second = rp.sessions.start(Session(ALICE.sub, None, token_hash("at-2"), "id-2"), deadline)

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(rp))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            note = notification([], [token_hash("at-2")])
            return await client.post("/api/logout-webhook", json=note)

    answer = asyncio.run(send())
    assert answer.status_code == 200
    assert rp.sessions.get(first) is not None and rp.sessions.get(second) is None


# The OP's documents


def test_jwks_is_fetched_again_for_an_unknown_kid_at_most_every_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In-process, against a stand-in OP whose keys rotate, on a clock the test moves."""
    now = [1000.0]
    monkeypatch.setattr(provider, "monotonic", lambda: now[0])
    old, new = RSAKey.generate_key(2048, auto_kid=True), RSAKey.generate_key(2048, auto_kid=True)
    published = [old]
    fetches: list[str] = []

    def op(request: httpx.Request) -> httpx.Response:
        fetches.append(request.url.path)
        if request.url.path == "/jwks":
            jwks = {"keys": [key.as_dict(private=False) for key in published]}
            return httpx.Response(200, json=jwks)
        metadata = {"issuer": "http://op.test", "jwks_uri": "http://op.test/jwks"}
        for endpoint in ("authorization", "token"):
            metadata[f"{endpoint}_endpoint"] = f"http://op.test/{endpoint}"
        return httpx.Response(200, json=metadata)

    async def look_up() -> list[bool]:
        keys = provider.Provider("http://op.test")
        monkeypatch.setattr(keys, "_http", httpx.AsyncClient(transport=httpx.MockTransport(op)))
        found = [await keys.key(old.kid) is not None]
        published[:] = [new]
        found.append(await keys.key(new.kid) is not None)  # fetched too recently
        now[0] += provider.REFETCH_INTERVAL
        found.append(await keys.key(new.kid) is not None)  # fetched once more
        found.append(await keys.key("unknown") is None)  # not again so soon
        return found

    assert asyncio.run(look_up()) == [True, False, True, True]
    assert fetches == ["/.well-known/openid-configuration", "/jwks", "/jwks"]


# The command line


def test_command_line_errors_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for variable in ("ISSUER", "CLIENT_ID", "CLIENT_SECRET", "FAULTS"):
        monkeypatch.delenv(f"SAMPLE_OIDC_RP_{variable}", raising=False)
    options = ["--issuer", "http://op.test", "--client-id", CLIENT_ID]
    assert main([*options, "--faults", "rp-no-such-fault"]) == 2
    assert "unknown fault 'rp-no-such-fault'" in capsys.readouterr().err
    assert main(options) == 2
    assert "SAMPLE_OIDC_RP_CLIENT_SECRET" in capsys.readouterr().err
    monkeypatch.setenv("SAMPLE_OIDC_RP_CLIENT_SECRET", CLIENT_SECRET)
    assert main(["--client-id", CLIENT_ID]) == 2
    assert "--issuer" in capsys.readouterr().err
    assert main(["--issuer", "op.test", "--client-id", CLIENT_ID]) == 2
    assert "no http(s) URL" in capsys.readouterr().err

