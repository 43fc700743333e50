"""The sample SPA (fixtures/apps/spa, oidc-client-ts) in Chromium against the bundled mock OP.

The MSAL.js logout contract (harness/catalog/msal.yaml): logoutRedirect and logoutPopup clear the
account's cache entries first, then send the browser to the OP's end-session endpoint with that
account's ID token as id_token_hint; without an account every account goes; server sign-out is best
effort. Each of the app's faults is shown to break exactly what it says.

One mock (``python -m mock_idp``, configured from fixtures/targets/mock.yaml) and one Chromium for the
module, one app process per set of faults (each registered at the mock as a client of its own), and a
fresh browser context per test. Every wait is on an event (a URL, a selector, a popup, a response).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Request, sync_playwright

from fixtures.apps.spa.faults import FAULTS as SPA_FAULTS
from harness import faults, launch, mockctl, requirements
from harness.process import Announced
from harness.target import Target, load

from .sample_sp_process import ROOT

TARGET_FILE = ROOT / "fixtures" / "targets" / "mock.yaml"
CHROMIUM = "/usr/lib/chromium/chromium"
CHROMIUM_ARGS = ["--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic", "--no-first-run", "--disable-dev-shm-usage", "--disable-gpu"]
TIMEOUT_MS = 10_000
YES = "button[name=logout][value=yes]"
READY = "body[data-ready]"


# ---- the servers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spa:
    """One running app, its target section resolved against its URL."""

    url: str
    target: Target
    process: Announced

    def path(self, path: str) -> str:
        return self.url.rstrip("/") + path


@dataclass(frozen=True)
class Op:
    url: str
    passwords: dict[str, str] = field(repr=False)

    @property
    def end_session(self) -> str:
        return self.url + "/end-session"

    def is_end_session(self, url: str) -> bool:
        """The end-session endpoint itself (not its confirmation step, /end-session/confirm)."""
        return url.split("?")[0] == self.end_session


@pytest.fixture(scope="module")
def target() -> Target:
    return load(TARGET_FILE)


@pytest.fixture(scope="module")
def op(target: Target) -> Iterator[Op]:
    started = mockctl.start(target, [])
    try:
        assert target.oidc is not None
        yield Op(started.url.rstrip("/"), {u.username: u.password.value() for u in target.oidc.users if u.password})
    finally:
        started.stop()


@pytest.fixture(scope="module")
def spa_with(target: Target, op: Op) -> Iterator[Callable[..., Spa]]:
    """The app with these faults (started once per set), registered at the mock as a client of its own."""
    started: dict[frozenset[str], Spa] = {}

    def start(*faults: str) -> Spa:
        key = frozenset(faults)
        if key not in started:
            assert target.spa is not None
            client_id = "sample-spa-" + ("-".join(sorted(key)) or "conformant")
            own = replace(target, spa=replace(target.spa, client_id=client_id))
            process = launch.start_spa(own, sorted(key), op.url)
            resolved = launch.with_spa_url(own, process.url)
            with httpx.Client(timeout=5) as client:
                launch.register_spa_at_mock(client, op.url, resolved)
            started[key] = Spa(process.url, resolved, process)
        return started[key]

    yield start
    for spa in started.values():
        spa.process.stderr.seek(0)
        stderr = spa.process.stderr.read()
        spa.process.stop()
        assert spa.process.process.stdout is not None
        stdout = spa.process.process.stdout.read()
        # SIGTERM is the normal way to stop it: a clean exit, and nothing printed but the ready line.
        assert spa.process.process.returncode == 0, stderr
        assert (stdout, stderr) == ("", ""), "the app printed something after its ready line"


@pytest.fixture(scope="module")
def spa(spa_with: Callable[..., Spa]) -> Spa:
    return spa_with()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not os.path.isfile(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian's chromium package)")
    playwright: Playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                             timeout=TIMEOUT_MS)
        yield browser
        browser.close()
    finally:
        playwright.stop()


# ---- the browser ---------------------------------------------------------------------------------


@dataclass
class Tab:
    """A fresh context: its first page, and every request any of its pages (popups too) made."""

    context: BrowserContext
    page: Page
    requests: list[Request] = field(default_factory=list)

    def end_session_requests(self, op: Op) -> list[dict[str, list[str]]]:
        return [parse_qs(urlsplit(r.url).query) for r in self.requests if op.is_end_session(r.url)]


@pytest.fixture
def tab(chromium: Browser) -> Iterator[Tab]:
    context = chromium.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    opened = Tab(context, page)
    context.on("request", lambda request: opened.requests.append(request))
    yield opened
    context.close()


def log_in(tab: Tab, op: Op, spa: Spa, username: str) -> None:
    page = tab.page
    if urlsplit(page.url)[:2] != urlsplit(spa.url)[:2]:
        page.goto(spa.url)
    page.click("#login")
    # prompt=login: the OP shows its login form although the browser has a session there
    page.wait_for_url(lambda url: url.startswith(op.url + "/authorize"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", op.passwords[username])
    page.click("button[type=submit]")
    page.get_by_text(f"Signed in as {username}", exact=True).wait_for()
    page.wait_for_selector(READY, state="attached")


def storage(page: Page) -> dict[str, dict[str, str]]:
    """localStorage and sessionStorage of the page's origin; the library's transient state entries
    (oidc.<id>: PKCE verifier, nonce, sign-out state; no token) left out."""
    both: dict[str, dict[str, str]] = page.evaluate(
        """() => {
          const read = (s) => Object.fromEntries(Object.keys(s).map((k) => [k, s.getItem(k)]));
          return {local: read(localStorage), session: read(sessionStorage)};
        }""")
    return {area: {k: v for k, v in entries.items() if not k.startswith("oidc.")} for area, entries in both.items()}


def home(op: Op, username: str) -> str:
    """The account's homeAccountId: its sub (the mock's sub is the username) and the issuer's host."""
    return f"{username}.{urlsplit(op.url).netloc}"


def entries(snapshot: dict[str, dict[str, str]], op: Op, username: str) -> dict[str, str]:
    """The account's entries: localStorage keys with its homeAccountId, sessionStorage entries naming it."""
    account = home(op, username)
    found = {f"local:{k}": v for k, v in snapshot["local"].items() if account in k}
    found |= {f"session:{k}": v for k, v in snapshot["session"].items() if account in k or account in v}
    return found


def tokens(snapshot: dict[str, dict[str, str]], op: Op, username: str) -> dict[str, str]:
    """The account's tokens by credential type, from its entries' secret fields."""
    found = {}
    for value in entries(snapshot, op, username).values():
        data = json.loads(value)
        if isinstance(data, dict) and "secret" in data:
            found[data["credentialType"]] = data["secret"]
    return found


def holds_any(snapshot: dict[str, dict[str, str]], secrets: dict[str, str]) -> list[str]:
    return [f"{area}:{k}" for area, entries_ in snapshot.items() for k, v in entries_.items()
            if any(secret in v for secret in secrets.values())]


def account_keys(snapshot: dict[str, dict[str, str]]) -> list[str]:
    return json.loads(snapshot["local"].get("msal.account.keys", "[]"))


def two_accounts(tab: Tab, op: Op, spa: Spa) -> dict[str, dict[str, str]]:
    log_in(tab, op, spa, "alice")
    log_in(tab, op, spa, "bob")
    return storage(tab.page)


def confirm_and_land(page: Page, op: Op, landing: str) -> None:
    """At the OP's end-session confirmation say yes, then wait for the app's page to be done."""
    page.wait_for_url(lambda url: op.is_end_session(url))
    page.click(YES)
    page.wait_for_url(lambda url: url.split("?")[0] == landing)
    page.wait_for_selector(READY, state="attached")


def visible_accounts(page: Page) -> list[str]:
    return page.locator("#accounts .signed-in").all_inner_texts()


# ---- login and the cache's layout -------------------------------------------------------------------


def test_two_accounts_sign_in_each_with_its_own_cache_entries(tab: Tab, op: Op, spa: Spa) -> None:
    before = two_accounts(tab, op, spa)
    assert visible_accounts(tab.page) == ["Signed in as alice", "Signed in as bob"]
    assert tab.page.locator("button[data-logout-redirect='alice']").count() == 1
    assert tab.page.locator("button[data-logout-popup='bob']").count() == 1
    env, client = urlsplit(op.url).netloc, spa.target.spa.client_id if spa.target.spa else ""
    for username in ("alice", "bob"):
        account = home(op, username)
        assert set(entries(before, op, username)) >= {
            f"local:{account}-{env}-account", f"local:{account}-{env}-idtoken-{client}",
            f"local:{account}-{env}-accesstoken-{client}-openid profile email",
            f"local:{account}-{env}-refreshtoken-{client}"}
        assert set(tokens(before, op, username)) == {"IdToken", "AccessToken", "RefreshToken"}
        assert json.loads(before["local"][f"{account}-{env}-account"])["username"] == username
    assert account_keys(before) == [f"{home(op, u)}-{env}-account" for u in ("alice", "bob")]
    # the last login is the active account; the library kept no user of its own
    assert json.loads(before["session"][f"msal.{client}.active-account"])["homeAccountId"] == home(op, "bob")
    assert not [k for k in before["session"] if k.startswith("oidc.user")]
    # the page scripts' API (MSAL's names) sees the same accounts
    assert tab.page.evaluate("sampleSpa.getAllAccounts().map((a) => a.username)") == ["alice", "bob"]
    assert tab.page.evaluate("sampleSpa.getActiveAccount().username") == "bob"
    # each token is stored once, in its own entry; none was ever in a URL
    secrets = {f"{u}:{kind}": v for u in ("alice", "bob") for kind, v in tokens(before, op, u).items()}
    assert len(set(secrets.values())) == 6
    for name, secret in secrets.items():
        assert len(holds_any(before, {name: secret})) == 1, name
    assert not [r.url for r in tab.requests if any(s in r.url for s in secrets.values())]


# ---- logoutRedirect ------------------------------------------------------------------------------------


def test_logout_redirect_clears_exactly_that_account_then_ends_the_server_session(
        tab: Tab, op: Op, spa: Spa) -> None:
    before = two_accounts(tab, op, spa)
    alice = tokens(before, op, "alice")
    tab.page.click("button[data-logout-redirect='alice']")
    confirm_and_land(tab.page, op, spa.path("/signed-out"))
    assert tab.page.locator("h1").inner_text() == "Signed out"
    after = storage(tab.page)
    # alice's four entries went, bob's and the active account (bob) stayed as they were
    expected = {k: v for k, v in before["local"].items() if home(op, "alice") not in k}
    expected["msal.account.keys"] = json.dumps([k for k in account_keys(before) if home(op, "alice") not in k])
    assert {k: json.loads(v) if k == "msal.account.keys" else v for k, v in after["local"].items()} == \
        {k: json.loads(v) if k == "msal.account.keys" else v for k, v in expected.items()}
    assert after["session"] == before["session"]
    assert not holds_any(after, alice)
    # through the end-session endpoint, with alice's ID token as the hint, and back with the state
    [sent] = tab.end_session_requests(op)
    assert sent["id_token_hint"] == [alice["IdToken"]]
    assert sent["post_logout_redirect_uri"] == [spa.path("/signed-out")]
    assert parse_qs(urlsplit(tab.page.url).query)["state"] == sent["state"]
    # no token in any other URL
    assert not [r.url for r in tab.requests if not op.is_end_session(r.url)
                and any(s in r.url for s in alice.values())]
    tab.page.goto(spa.url)
    tab.page.wait_for_selector(READY, state="attached")
    assert visible_accounts(tab.page) == ["Signed in as bob"]


def test_logout_all_clears_every_account_with_the_active_account_as_hint(tab: Tab, op: Op, spa: Spa) -> None:
    before = two_accounts(tab, op, spa)
    bob = tokens(before, op, "bob")
    tab.page.click("#logout-all")
    confirm_and_land(tab.page, op, spa.path("/signed-out"))
    after = storage(tab.page)
    assert after == {"local": {}, "session": {}}
    [sent] = tab.end_session_requests(op)
    assert sent["id_token_hint"] == [bob["IdToken"]]
    assert sent["post_logout_redirect_uri"] == [spa.path("/signed-out")]


def fail_end_session(tab: Tab, op: Op) -> None:
    """The OP's sign-out fails: its end-session endpoint answers 500."""
    tab.context.route(lambda url: op.is_end_session(url),
                      lambda route: route.fulfill(status=500, body="sign-out failed", content_type="text/plain"))


def sign_out_and_fail(tab: Tab, op: Op, selector: str) -> None:
    """Click a logout whose server sign-out fails, and wait until the browser shows the OP's error."""
    with tab.page.expect_response(lambda r: op.is_end_session(r.url)) as answer:
        tab.page.click(selector)
    assert answer.value.status == 500
    tab.page.wait_for_url(lambda url: op.is_end_session(url))


def test_a_failed_server_signout_leaves_the_cache_clean(tab: Tab, op: Op, spa: Spa) -> None:
    before = two_accounts(tab, op, spa)
    fail_end_session(tab, op)
    sign_out_and_fail(tab, op, "button[data-logout-redirect='alice']")
    tab.page.goto(spa.url)
    tab.page.wait_for_selector(READY, state="attached")
    after = storage(tab.page)
    assert entries(after, op, "alice") == {}
    assert not holds_any(after, tokens(before, op, "alice"))
    assert visible_accounts(tab.page) == ["Signed in as bob"]


# ---- logoutPopup ---------------------------------------------------------------------------------------


def popup_logout(tab: Tab, op: Op, spa: Spa, username: str) -> None:
    """Sign out in the popup: confirm there, and wait until the popup has reached /popup-done and closed."""
    with tab.page.expect_popup() as opened:
        tab.page.click(f"button[data-logout-popup='{username}']")
    popup = opened.value
    popup.wait_for_url(lambda url: op.is_end_session(url))
    with popup.expect_event("close"):
        popup.click(YES)
    assert [r for r in tab.requests if r.url.split("?")[0] == spa.path("/popup-done")]


def test_logout_popup_signs_out_in_the_popup_and_sends_the_main_window_on(tab: Tab, op: Op, spa: Spa) -> None:
    before = two_accounts(tab, op, spa)
    alice = tokens(before, op, "alice")
    popup_logout(tab, op, spa, "alice")
    tab.page.wait_for_url(spa.path("/after-logout"))
    tab.page.wait_for_selector(READY, state="attached")
    after = storage(tab.page)
    assert entries(after, op, "alice") == {}
    assert not holds_any(after, alice)
    assert entries(after, op, "bob") == entries(before, op, "bob")
    [sent] = tab.end_session_requests(op)
    assert sent["id_token_hint"] == [alice["IdToken"]]
    assert sent["post_logout_redirect_uri"] == [spa.path("/popup-done")]


# ---- each fault breaks what it says -------------------------------------------------------------------


def test_fault_cache_kept(tab: Tab, op: Op, spa_with: Callable[..., Spa]) -> None:
    spa = spa_with("spa-cache-kept")
    before = two_accounts(tab, op, spa)
    tab.page.click("button[data-logout-redirect='alice']")
    confirm_and_land(tab.page, op, spa.path("/signed-out"))
    after = storage(tab.page)
    assert entries(after, op, "alice") == entries(before, op, "alice") != {}
    assert len(tab.end_session_requests(op)) == 1


def test_fault_wrong_account_cleared(tab: Tab, op: Op, spa_with: Callable[..., Spa]) -> None:
    spa = spa_with("spa-wrong-account-cleared")
    before = two_accounts(tab, op, spa)
    tab.page.click("button[data-logout-redirect='alice']")
    confirm_and_land(tab.page, op, spa.path("/signed-out"))
    after = storage(tab.page)
    assert entries(after, op, "alice") == {k: v for k, v in entries(before, op, "alice").items()}
    assert entries(after, op, "bob") == {}
    [sent] = tab.end_session_requests(op)
    assert sent["id_token_hint"] == [tokens(before, op, "alice")["IdToken"]]


def test_fault_logout_all_partial(tab: Tab, op: Op, spa_with: Callable[..., Spa]) -> None:
    spa = spa_with("spa-logout-all-partial")
    before = two_accounts(tab, op, spa)
    tab.page.click("#logout-all")
    confirm_and_land(tab.page, op, spa.path("/signed-out"))
    after = storage(tab.page)
    assert entries(after, op, "bob") == {}  # the active account
    assert entries(after, op, "alice") == entries(before, op, "alice") != {}


def test_fault_no_server_signout(tab: Tab, op: Op, spa_with: Callable[..., Spa]) -> None:
    spa = spa_with("spa-no-server-signout")
    two_accounts(tab, op, spa)
    tab.page.click("button[data-logout-redirect='alice']")
    tab.page.wait_for_url(spa.path("/signed-out"))
    tab.page.wait_for_selector(READY, state="attached")
    assert entries(storage(tab.page), op, "alice") == {}
    assert tab.end_session_requests(op) == []


def test_fault_no_id_token_hint(tab: Tab, op: Op, spa_with: Callable[..., Spa]) -> None:
    spa = spa_with("spa-no-id-token-hint")
    two_accounts(tab, op, spa)
    tab.page.click("button[data-logout-redirect='alice']")
    confirm_and_land(tab.page, op, spa.path("/signed-out"))
    [sent] = tab.end_session_requests(op)
    assert "id_token_hint" not in sent
    assert sent["client_id"] == [spa.target.spa.client_id if spa.target.spa else ""]
    assert entries(storage(tab.page), op, "alice") == {}


def test_fault_clear_after_signout(tab: Tab, op: Op, spa_with: Callable[..., Spa]) -> None:
    spa = spa_with("spa-clear-after-signout")
    before = two_accounts(tab, op, spa)
    # a sign-out that completes still clears alice (at /signed-out) ...
    tab.page.click("button[data-logout-redirect='alice']")
    confirm_and_land(tab.page, op, spa.path("/signed-out"))
    assert entries(storage(tab.page), op, "alice") == {}
    assert entries(storage(tab.page), op, "bob") == entries(before, op, "bob")
    # ... a failed one leaves bob in the cache
    tab.page.goto(spa.url)
    fail_end_session(tab, op)
    sign_out_and_fail(tab, op, "button[data-logout-redirect='bob']")
    tab.page.goto(spa.url)
    tab.page.wait_for_selector(READY, state="attached")
    assert entries(storage(tab.page), op, "bob") == entries(before, op, "bob")


def test_fault_popup_main_stays(tab: Tab, op: Op, spa_with: Callable[..., Spa]) -> None:
    spa = spa_with("spa-popup-main-stays")
    two_accounts(tab, op, spa)
    popup_logout(tab, op, spa, "alice")
    tab.page.get_by_text("Signed out in the popup").wait_for()
    assert tab.page.url.split("?")[0] == spa.path("/")
    assert not [r for r in tab.requests if r.url.startswith(spa.path("/after-logout"))]
    assert entries(storage(tab.page), op, "alice") == {}


# ---- the server ----------------------------------------------------------------------------------------


def test_pages_scripts_and_config(spa: Spa, op: Op) -> None:
    with httpx.Client(timeout=5) as client:
        for path in ("/", "/signed-out", "/popup-done", "/after-logout"):
            page = client.get(spa.path(path))
            assert page.status_code == 200
            assert page.headers["cache-control"] == "no-store"
            assert "script-src 'self'" in page.headers["content-security-policy"]
            assert page.headers["referrer-policy"] == "no-referrer"
        assert "Signed out" in client.get(spa.path("/signed-out")).text
        config = client.get(spa.path("/config.js"))
        assert config.headers["content-type"].startswith("text/javascript")
        prefix = "window.SAMPLE_SPA_CONFIG = Object.freeze("
        assert config.text.startswith(prefix)
        data = json.loads(config.text[len(prefix):].rstrip().removesuffix(");"))
        assert data == {"issuer": op.url, "clientId": "sample-spa-conformant", "redirectUri": spa.path("/"),
                        "postLogoutRedirectUri": spa.path("/signed-out"),
                        "popupRedirectUri": spa.path("/popup-done"),
                        "mainWindowRedirectUri": spa.path("/after-logout"), "faults": []}
        library = client.get(spa.path("/static/oidc-client-ts.min.js"))
        assert library.status_code == 200 and "UserManager" in library.text
        assert client.get(spa.path("/static/app.js")).status_code == 200
        assert client.get(spa.path("/nothing")).status_code == 404


@pytest.mark.parametrize(("args", "message"), [
    (["--issuer", "http://127.0.0.1:1", "--client-id", "x", "--faults", "spa-nonsense"],
     "unknown fault 'spa-nonsense'"),
    (["--client-id", "x"], "give --issuer"),
    (["--issuer", "ftp://x", "--client-id", "x"], "no http(s) URL"),
])
def test_bad_configuration_exits_2(args: list[str], message: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMPLE_SPA_")}
    done = subprocess.run([sys.executable, "-m", "fixtures.apps.spa", *args], cwd=ROOT, env=env,
                          check=False, capture_output=True, text=True, timeout=20)
    assert done.returncode == 2
    assert message in done.stderr and done.stdout == ""


def test_fault_names_are_in_the_catalog() -> None:
    for fault in SPA_FAULTS:
        assert faults.OWNER[fault.name] == faults.SAMPLE_SPA
        assert faults.CATALOG[fault.name] is fault
        assert requirements.get(fault.requirement).id == fault.requirement

