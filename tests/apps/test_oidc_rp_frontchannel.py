"""The sample OIDC RP's front-channel logout URI (OpenID Connect Front-Channel Logout 1.0 §2, §4.1):
conformant by default, and each rp-fcl-* fault breaks the one requirement it names.

The tests play the OP's iframe with httpx: a request with the browser's cookie jar stands for a
same-site iframe, one without any cookie for a cross-site iframe (Chromium sends no SameSite=Lax
cookie there). Storage is judged on the pages' scripts; a browser runs them in the harness.
"""

import asyncio
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

import httpx
import pytest
import yaml

from fixtures.apps.oidc_rp.app import SampleRp, create_app
from fixtures.apps.oidc_rp.config import RpConfig
from fixtures.apps.oidc_rp.faults import FAULTS
from fixtures.apps.oidc_rp.sessions import COOKIE, Session, token_hash
from mock_idp.config import User

from .oidc_rp_world import (
    ALICE,
    BOB,
    CLIENT_ID,
    CLIENT_SECRET,
    TIMEOUT,
    Browser,
    Rp,
    Rps,
    running_rps,
)
from .sample_sp_process import ROOT

FCL_FAULTS = {fault.name: fault.requirement for fault in FAULTS if fault.name.startswith("rp-fcl-")}
PROFILE, MARKER = "sample-rp.profile", "sample-rp.session"
NOT_CACHED = {"cache-control": "no-cache, no-store", "pragma": "no-cache"}
# A JavaScript string literal as json.dumps writes one.
_LITERAL = r'"(?:[^"\\]|\\.)*"'
_STORAGE_CALL = re.compile(
    rf"(localStorage|sessionStorage)\.(setItem|removeItem|clear)\(((?:{_LITERAL})(?:,{_LITERAL})?)?\)"
)
# Logs a user in, in a new browser, on the app with these faults.
BrowserOn = Callable[..., Browser]


@pytest.fixture(scope="module")
def rps() -> Iterator[Rps]:
    fault_sets = [frozenset(), *(frozenset({name}) for name in FCL_FAULTS)]
    with tempfile.TemporaryFile("w+") as stderr, running_rps(fault_sets, stderr) as started:
        yield started


@pytest.fixture
def browser_on(rps: Rps) -> Iterator[BrowserOn]:
    opened: list[Browser] = []

    def log_in(*faults: str, user: User = ALICE) -> Browser:
        opened.append(Browser(rps(*faults)))
        opened[-1].log_in(user)
        return opened[-1]

    yield log_in
    for browser in opened:
        browser.close()


@pytest.fixture
def rp(rps: Rps) -> Rp:
    return rps()


def cookie_of(browser: Browser) -> str:
    value = browser.http.cookies.get(COOKIE)
    assert value, "the browser holds no session cookie"
    return value


def front_channel(
    rp: Rp, params: dict[str, str] | list[tuple[str, str]] | None = None, cookie: str | None = None
) -> httpx.Response:
    """The OP's iframe: GET the logout URI with these query parameters, and only this cookie."""
    headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie else {}
    with httpx.Client(timeout=TIMEOUT) as client:
        query = f"?{urlencode(params)}" if params else ""
        return client.get(f"{rp.url}/frontchannel-logout{query}", headers=headers)


def same_site(browser: Browser, params: dict[str, str] | None = None) -> httpx.Response:
    """The iframe on a same-site OP page: the browser's cookie goes along, and its answer counts."""
    return browser.http.get(f"{browser.rp.url}/frontchannel-logout", params=params)


def iss_sid(browser: Browser) -> dict[str, str]:
    return {"iss": browser.rp.issuer, "sid": browser.sid()}


def opens_protected(rp: Rp, cookie: str) -> bool:
    """Whether this cookie, replayed, still opens the protected page (the session on the server)."""
    with httpx.Client(timeout=TIMEOUT) as client:
        answer = client.get(f"{rp.url}/protected", headers={"Cookie": f"{COOKIE}={cookie}"})
    assert answer.status_code == 200 or answer.headers["location"] == "/login", answer
    return answer.status_code == 200


def storage_calls(html: str) -> list[tuple[str, str, list[str]]]:
    """The storage calls of a page's scripts: (storage, method, arguments as Python strings)."""
    scripts = "".join(re.findall(r"<script>(.*?)</script>", html, re.DOTALL))
    return [
        (storage, method, [json.loads(arg) for arg in re.findall(_LITERAL, args or "")])
        for storage, method, args in _STORAGE_CALL.findall(scripts)
    ]


def clears_storage(answer: httpx.Response) -> bool:
    """Whether the page removes exactly the app's two entries, and touches nothing else."""
    calls = storage_calls(answer.text)
    removed = [(storage, args) for storage, method, args in calls if method == "removeItem"]
    assert len(removed) == len(calls), calls  # no setItem, no clear()
    if not removed:
        return False
    assert sorted(removed) == [("localStorage", [PROFILE]), ("sessionStorage", [MARKER])], calls
    return True


def expired_cookie(answer: httpx.Response) -> str | None:
    """The Set-Cookie that expires the session cookie, if the answer has one."""
    values = [v for v in answer.headers.get_list("set-cookie") if v.startswith(f"{COOKIE}=")]
    assert len(values) <= 1, values
    return values[0] if values else None


def assert_expires_the_cookie(answer: httpx.Response) -> None:
    cookie = expired_cookie(answer)
    assert cookie is not None, answer.headers
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert attributes[0] in (f'{COOKIE}=""', f"{COOKIE}=")
    assert {"max-age=0", "httponly", "path=/", "samesite=lax"} <= set(attributes), cookie


def assert_success(answer: httpx.Response) -> None:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert {name: answer.headers.get(name) for name in NOT_CACHED} == NOT_CACHED
    # Rendered in the OP's iframe: nothing may forbid framing.
    assert "x-frame-options" not in answer.headers
    assert "frame-ancestors" not in answer.headers.get("content-security-policy", "")
    assert clears_storage(answer)


# The signed-in page's storage entries


def test_protected_page_writes_the_two_storage_entries(browser_on: BrowserOn) -> None:
    alice = browser_on()
    page = alice.http.get(f"{alice.rp.url}/protected")
    assert page.status_code == 200 and f"Signed in as {ALICE.sub}" in page.text
    calls = sorted(storage_calls(page.text))
    assert [(storage, method, args[0]) for storage, method, args in calls] == [
        ("localStorage", "setItem", PROFILE),
        ("sessionStorage", "setItem", MARKER),
    ]
    profile, marker = calls[0][2][1], calls[1][2][1]
    assert json.loads(profile) == {"username": ALICE.sub}
    # An opaque marker, the same for the session, and not its secret cookie.
    assert marker and marker != cookie_of(alice) and cookie_of(alice) not in page.text
    again = alice.http.get(f"{alice.rp.url}/protected")
    assert sorted(storage_calls(again.text))[1][2][1] == marker


def test_storage_script_cannot_be_broken_out_of() -> None:
    """In-process: a sub that holds </script> stays inside the script's string literal."""
    rp = SampleRp(RpConfig("http://testserver", "http://op.invalid", CLIENT_ID, CLIENT_SECRET))
    cookie = rp.sessions.start(
        Session('</script><script>alert("x")</script>', "s-1", token_hash("at"), "id"),
        time.time() + 60,
    )
    page = _in_process(rp, "/protected", cookie)
    assert page.status_code == 200 and page.text.count("</script>") == 1
    profile = next(args[1] for _, method, args in storage_calls(page.text) if args[0] == PROFILE)
    assert json.loads(profile)["username"] == '</script><script>alert("x")</script>'


# iss and sid name the session


def test_iss_and_sid_end_the_session_in_a_cross_site_iframe(browser_on: BrowserOn) -> None:
    """No cookie goes along, yet the session ends on the server: the old cookie opens nothing."""
    alice = browser_on()
    answer = front_channel(alice.rp, iss_sid(alice))
    assert_success(answer)
    assert expired_cookie(answer) is None  # no cookie came, none to expire
    assert not opens_protected(alice.rp, cookie_of(alice))
    assert not alice.signed_in()


def test_iss_and_sid_in_a_same_site_iframe_also_expire_the_cookie(browser_on: BrowserOn) -> None:
    alice = browser_on()
    old_cookie = cookie_of(alice)
    answer = same_site(alice, iss_sid(alice))
    assert_success(answer)
    assert_expires_the_cookie(answer)
    assert alice.http.cookies.get(COOKIE) is None
    assert not opens_protected(alice.rp, old_cookie)


def test_iss_and_sid_end_every_session_of_that_sid(browser_on: BrowserOn) -> None:
    """A browser that signs in twice in one OP session has two app sessions with one sid."""
    alice = browser_on()
    first_cookie = cookie_of(alice)
    alice.log_in()  # the OP knows this browser: the same sid, a new app session
    second_cookie = cookie_of(alice)
    assert first_cookie != second_cookie and opens_protected(alice.rp, first_cookie)
    assert_success(front_channel(alice.rp, iss_sid(alice)))
    assert not opens_protected(alice.rp, first_cookie)
    assert not opens_protected(alice.rp, second_cookie)


def test_iss_and_sid_end_only_that_session(browser_on: BrowserOn) -> None:
    first, second, bob = browser_on(), browser_on(), browser_on(user=BOB)
    assert first.sid() != second.sid()
    assert_success(front_channel(first.rp, iss_sid(first)))
    assert not first.signed_in()
    assert second.signed_in() and bob.signed_in()


def test_iss_and_sid_decide_even_with_another_sessions_cookie(browser_on: BrowserOn) -> None:
    """The cookie of a session that stays is neither ended nor expired."""
    alice, bob = browser_on(), browser_on(user=BOB)
    answer = front_channel(alice.rp, iss_sid(alice), cookie=cookie_of(bob))
    assert_success(answer)
    assert expired_cookie(answer) is None
    assert not alice.signed_in() and bob.signed_in()


# Without iss and sid: the cookie's session


def test_without_iss_and_sid_the_cookies_session_ends(browser_on: BrowserOn) -> None:
    alice, other = browser_on(), browser_on()
    old_cookie = cookie_of(alice)
    answer = same_site(alice)
    assert_success(answer)
    assert_expires_the_cookie(answer)
    assert not opens_protected(alice.rp, old_cookie)
    assert other.signed_in()


def test_without_iss_sid_or_cookie_nothing_ends(browser_on: BrowserOn) -> None:
    alice = browser_on()
    answer = front_channel(alice.rp)
    assert_success(answer)
    assert not answer.headers.get_list("set-cookie")
    assert alice.signed_in()


def test_a_cookie_of_a_session_gone_before_is_expired(rp: Rp) -> None:
    answer = front_channel(rp, cookie="no-such-session")
    assert_success(answer)
    assert_expires_the_cookie(answer)


# iss and sid that name nothing here are ignored, and still a success


def _ignored(rp: Rp, sid: str) -> dict[str, list[tuple[str, str]]]:
    return {
        "unknown sid": [("iss", rp.issuer), ("sid", "no-such-sid")],
        "another issuer": [("iss", "http://other-op.test"), ("sid", sid)],
        "issuer with a trailing slash": [("iss", rp.issuer + "/"), ("sid", sid)],
        "iss only": [("iss", rp.issuer)],
        "sid only": [("sid", sid)],
        "empty sid": [("iss", rp.issuer), ("sid", "")],
        "sid twice": [("iss", rp.issuer), ("sid", sid), ("sid", sid)],
        "iss twice": [("iss", rp.issuer), ("iss", rp.issuer), ("sid", sid)],
    }


@pytest.mark.parametrize("kind", list(_ignored(Rp("", ""), "")))
def test_parameters_that_name_no_session_are_ignored(browser_on: BrowserOn, kind: str) -> None:
    alice = browser_on()
    params = _ignored(alice.rp, alice.sid())[kind]
    # Sent as a same-site iframe would: the cookie of the live session goes along, and stays.
    answer = front_channel(alice.rp, params, cookie=cookie_of(alice))
    assert_success(answer)
    assert expired_cookie(answer) is None
    assert alice.signed_in()


def test_already_logged_out_is_a_success(browser_on: BrowserOn) -> None:
    alice = browser_on()
    params, old_cookie = iss_sid(alice), cookie_of(alice)
    assert_success(same_site(alice, params))
    again = front_channel(alice.rp, params, cookie=old_cookie)
    assert_success(again)
    assert_expires_the_cookie(again)
    assert_success(front_channel(alice.rp, params))


def test_logout_uri_answers_get_only(rp: Rp) -> None:
    with httpx.Client(timeout=TIMEOUT) as client:
        assert client.post(f"{rp.url}/frontchannel-logout").status_code == 405


# RP-initiated logout clears storage when it renders a page


def _in_process(rp: SampleRp, path: str, cookie: str) -> httpx.Response:
    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(rp))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.get(path, headers={"Cookie": f"{COOKIE}={cookie}"})

    return asyncio.run(get())


def test_logout_page_without_end_session_endpoint_clears_storage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In-process, against a stand-in OP whose metadata has no end_session_endpoint."""

    def op(request: httpx.Request) -> httpx.Response:
        metadata = {"issuer": "http://op.test", "jwks_uri": "http://op.test/jwks"}
        for endpoint in ("authorization", "token"):
            metadata[f"{endpoint}_endpoint"] = f"http://op.test/{endpoint}"
        return httpx.Response(200, json=metadata)

    rp = SampleRp(RpConfig("http://testserver", "http://op.test", CLIENT_ID, CLIENT_SECRET))
    monkeypatch.setattr(rp.provider, "_http", httpx.AsyncClient(transport=httpx.MockTransport(op)))
    cookie = rp.sessions.start(Session(ALICE.sub, "s-1", token_hash("at"), "id"), time.time() + 60)
    answer = _in_process(rp, "/logout", cookie)
    assert answer.status_code == 200 and clears_storage(answer)
    assert_expires_the_cookie(answer)
    assert rp.sessions.get(cookie) is None


def test_logout_redirect_expires_the_cookie_with_its_attributes(browser_on: BrowserOn) -> None:
    alice = browser_on()
    answer = alice.http.get(f"{alice.rp.url}/logout", follow_redirects=False)
    assert answer.status_code == 302
    assert_expires_the_cookie(answer)


# The faults: each breaks its one requirement


def test_every_front_channel_fault_has_a_test_here() -> None:
    tests = {name for name in dir(sys.modules[__name__]) if name.startswith("test_fault_")}
    assert tests == {"test_fault_" + name.replace("-", "_") for name in FCL_FAULTS}


def test_front_channel_faults_break_the_rp_side_requirements() -> None:
    catalog = yaml.safe_load((ROOT / "harness" / "catalog" / "oidc-frontchannel.yaml").read_text())
    ids = {requirement["id"] for requirement in catalog["requirements"]}
    assert FCL_FAULTS == {
        "rp-fcl-session-kept": "OIDCFCL-2-rp-logout",
        "rp-fcl-storage-kept": "OIDCFCL-2-rp-storage",
        "rp-fcl-cacheable": "OIDCFCL-2-rp-no-store",
        "rp-fcl-error-when-logged-out": "OIDCFCL-2-rp-logged-out",
        "rp-fcl-ends-all-sessions": "OIDCFCL-2-rp-precision",
        "rp-fcl-cookie-only": "OIDCFCL-4.1-third-party",
    }
    assert set(FCL_FAULTS.values()) <= ids


def test_fault_rp_fcl_session_kept(browser_on: BrowserOn) -> None:
    alice = browser_on("rp-fcl-session-kept")
    old_cookie = cookie_of(alice)
    answer = same_site(alice, iss_sid(alice))
    assert_success(answer)
    assert_expires_the_cookie(answer)
    assert alice.http.cookies.get(COOKIE) is None
    assert opens_protected(alice.rp, old_cookie)  # the session lives on


def test_fault_rp_fcl_storage_kept(browser_on: BrowserOn) -> None:
    alice = browser_on("rp-fcl-storage-kept")
    answer = front_channel(alice.rp, iss_sid(alice))
    assert answer.status_code == 200 and not clears_storage(answer)
    assert answer.headers["cache-control"] == "no-cache, no-store"
    assert not alice.signed_in()


def test_fault_rp_fcl_cacheable(browser_on: BrowserOn) -> None:
    alice = browser_on("rp-fcl-cacheable")
    answer = front_channel(alice.rp, iss_sid(alice))
    assert answer.status_code == 200 and clears_storage(answer)
    assert answer.headers["cache-control"] == "public, max-age=3600"
    assert "no-store" not in answer.headers["cache-control"] and "pragma" not in answer.headers
    assert not alice.signed_in()


def test_fault_rp_fcl_error_when_logged_out(browser_on: BrowserOn) -> None:
    alice = browser_on("rp-fcl-error-when-logged-out")
    params = iss_sid(alice)
    assert_success(front_channel(alice.rp, params))
    assert not alice.signed_in()
    again = front_channel(alice.rp, params)
    assert again.status_code == 400 and clears_storage(again)
    assert again.headers["cache-control"] == "no-cache, no-store"
    assert front_channel(alice.rp).status_code == 400


def test_fault_rp_fcl_ends_all_sessions(browser_on: BrowserOn) -> None:
    fault = "rp-fcl-ends-all-sessions"
    first, second, bob = browser_on(fault), browser_on(fault), browser_on(fault, user=BOB)
    assert_success(front_channel(first.rp, iss_sid(first)))
    assert not first.signed_in()
    assert not second.signed_in()  # another browser's session, with another sid
    assert bob.signed_in()


def test_fault_rp_fcl_cookie_only(browser_on: BrowserOn) -> None:
    alice, other = browser_on("rp-fcl-cookie-only"), browser_on("rp-fcl-cookie-only")
    # Cross-site: no cookie, so iss and sid are all there is, and they are ignored.
    assert_success(front_channel(alice.rp, iss_sid(alice)))
    assert alice.signed_in()
    # With a cookie, that cookie's session ends, whatever iss and sid say.
    answer = same_site(alice, iss_sid(other))
    assert_success(answer)
    assert_expires_the_cookie(answer)
    assert not alice.signed_in() and other.signed_in()
