"""Scenario steps for a single-page app under test (role spa), driven in Chromium: sign accounts in, log out
the way MSAL.js does (https://github.com/AzureAD/microsoft-authentication-library-for-js/blob/dev/lib/msal-browser/docs/logout.md),
and judge the app's storage, the browser's requests and the OP's session afterwards.

How a logout is watched: the harness holds the browser's first navigation to the OP's end-session
endpoint (a Playwright route) until it has read the app's storage, so that it knows what the cache
held when the server sign-out began; then it lets the request through, answers it with HTTP 500
(``server: fail``) or aborts it (``server: interrupt``). For logoutPopup the app's window is read;
for logoutRedirect the window is busy with the held navigation and only its localStorage can be read
(from a page of the harness's own on the app's origin); its sessionStorage is judged after the logout.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Request, Route
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from harness import spa
from harness.browser import BrowserSession, session_for
from harness.engine import Context
from harness.errors import ConfigError, NotApplicable, TargetError, TargetUnreachable
from harness.http import HttpPool, origin
from harness.oidc.steps import relying_party, user_role
from harness.redact import REDACTOR
from harness.spa import AccountCache, EndSession, PopupOutcome, Storage
from harness.steps import preflight, step
from harness.target import OidcSettings, PageAction, SpaSettings, Target, User

ROLES = ["primary", "secondary", "isolated"]
ROLE = {"enum": ROLES}
#: a page the browser answers itself on the app's origin, to read its localStorage without its scripts
STORAGE_PATH = "/.logout-conformance/storage"
STORAGE_PAGE = "<!doctype html><title>harness</title><p>harness: reading the app's storage</p>"
FAILED_PAGE = "<!doctype html><title>Server error</title><p>The sign-out failed (the harness answered 500).</p>"
ACTIONS = {"redirect": "logout_redirect", "redirect_all": "logout_redirect_all", "popup": "logout_popup"}
FAILURES = {"fail": "the end-session request answered HTTP 500", "interrupt": "the end-session navigation was aborted"}
REDIRECTS = {301, 302, 303, 307, 308}
#: redirects a prompt=none probe may take on the OP before it comes back to the client
MAX_PROBE_HOPS = 8
#: round trips to Playwright after the end-session request was seen, for its route to reach the harness
MAX_PUMPS = 50


@preflight("spa")
def reach_spa(target: Target, pool: HttpPool) -> None:
    if target.spa and target.spa.url.startswith(("http://", "https://")):
        pool.client().get(target.spa.url)


def spa_settings(ctx: Context) -> SpaSettings:
    settings = ctx.target.spa
    if settings is None:
        raise NotApplicable("the target file describes no single-page app (spa)")
    if not settings.url.startswith(("http://", "https://")):
        raise ConfigError(f"spa.url is {settings.url!r}, a path: the SPA was not launched (spa.launch) and has no "
                          "address", ctx.target.file)
    return settings


def _oidc(ctx: Context) -> OidcSettings:
    if ctx.target.oidc is None:
        raise ConfigError("role spa needs the app's OP in the 'oidc' section (issuer, users, login forms)",
                          ctx.target.file)
    return ctx.target.oidc


def _accounts(ctx: Context) -> dict[str, AccountCache]:
    accounts: dict[str, AccountCache] | None = ctx.vars.get("spa:accounts")
    if accounts is None:
        raise ConfigError(f"{ctx.case.scenario.file}: spa_logout and the expect_spa steps follow spa_login")
    return accounts


def _chosen(ctx: Context, accounts: dict[str, AccountCache], role: str) -> AccountCache:
    if role not in accounts:
        raise ConfigError(f"{ctx.case.scenario.file}: account {role!r} did not sign in (spa_login: users)")
    return accounts[role]


# ---- login ------------------------------------------------------------------------------------


@step("spa_login", users={"type": "array", "items": ROLE, "minItems": 1, "uniqueItems": True})
def spa_login(ctx: Context, users: list[str]) -> None:
    """Sign accounts in to the app in the browser, one after the other, recording what each wrote to storage"""
    settings, oidc = spa_settings(ctx), _oidc(ctx)
    if "login" not in settings.actions:
        raise ConfigError("spa.actions has no 'login' action", ctx.target.file)
    browser = session_for(ctx)
    browser.route(origin(settings.url) + STORAGE_PATH, STORAGE_PAGE)
    browser.goto(settings.url)
    logins: list[tuple[str, Storage, Storage]] = []
    for role in users:
        user = user_role(ctx, role)
        with _browser_errors(f"signing {user.username} in to the app"):
            before = browser.storage()
            _login(browser, settings, oidc, user)
            logins.append((user.username, before, browser.storage()))
    caches = spa.attribute(logins, settings.client_id)
    ctx.vars["spa:accounts"] = dict(zip(users, caches, strict=True))
    ctx.attach("the app's cache, per account", "\n".join(_describe_cache(c) for c in caches))
    for cache in caches:
        if not cache.entries:
            ctx.note(f"the app stored nothing of {cache.account} in localStorage or sessionStorage: the cache "
                     "checks have nothing of it to judge")


def _login(browser: BrowserSession, settings: SpaSettings, oidc: OidcSettings, user: User) -> None:
    page, app = browser.page, origin(settings.url)
    action = _action(settings, "login", user.username)
    try:
        with page.expect_navigation(url=lambda url: origin(url) != app, wait_until="commit",
                                    timeout=browser.timeout_ms):
            browser.act(action.click, action.script)
    except PlaywrightTimeout:
        raise TargetError(f"the app's login action ({action.click or action.script!r}) did not send the browser to "
                          f"the OP within {browser.settings.timeout:g} s; it is at {_short(page.url)}") from None
    password = user.password.value() if user.password else ""
    REDACTOR.add_secret(password)
    browser.fill_forms(oidc.login_forms, {"username": user.username, "password": password},
                       lambda url: origin(url) == app, f"the app after {user.username}'s login",
                       max_steps=oidc.login_max_steps)
    text = settings.signed_in.replace("{username}", user.username)
    try:
        page.get_by_text(text).first.wait_for(state="visible", timeout=browser.timeout_ms)
    except PlaywrightTimeout:
        raise TargetError(f"after {user.username} signed in, the app at {_short(page.url)} never showed {text!r} "
                          f"within {browser.settings.timeout:g} s (spa.signed_in)") from None
    except PlaywrightError as exc:
        raise TargetError(f"after {user.username} signed in: {_first_line(exc)}") from None


def _action(settings: SpaSettings, name: str, username: str) -> PageAction:
    action = settings.actions.get(name)
    if action is None:
        raise NotApplicable(f"the app has no {name} action in the target file (spa.actions)")
    return PageAction(action.click.replace("{account}", username) if action.click else None,
                      action.script.replace("{account}", username) if action.script else None)


def _describe_cache(cache: AccountCache) -> str:
    found = "found" if cache.id_token else "not found"
    head = (f"{cache.account}: {len(cache.entries)} entries, {len(cache.tokens)} tokens, ID token {found}; "
            f"identifiers {sorted(cache.identifiers)}")
    lines = [head]
    lines += [f"  {spa.label(e)}" for e in sorted(cache.entries)]
    lines += [f"  (not judged, holds nothing of an account) {spa.label(e)}" for e in sorted(cache.neutral)]
    return "\n".join(lines)


# ---- logout -----------------------------------------------------------------------------------


@dataclass
class SpaLogout:
    """What one logout through the app did, as the browser saw it."""

    kind: str
    server: str
    #: the account named in the logout (None: every account)
    account: AccountCache | None
    judged: list[AccountCache]
    endpoint: str
    return_uri: str
    end_sessions: list[EndSession] = field(default_factory=list)
    went: list[str] = field(default_factory=list)
    final_url: str = ""
    storage: Storage = field(default_factory=dict)
    popup: PopupOutcome | None = None


def _logout(ctx: Context) -> SpaLogout:
    logout: SpaLogout | None = ctx.vars.get("spa:logout")
    if logout is None:
        raise ConfigError(f"{ctx.case.scenario.file}: the expect_spa steps follow spa_logout")
    return logout


class _EndSessionWatch:
    """Holds the first navigation to the end-session endpoint, then lets it through, fails it or aborts it."""

    def __init__(self, browser: BrowserSession, endpoint: str, server: str) -> None:
        self.browser = browser
        self.server = server
        self.pattern = re.compile("^" + re.escape(endpoint) + r"(?:[?#]|$)")
        self.holding = True
        self.held: list[Route] = []
        browser.context.route(self.pattern, self._route)

    def _route(self, route: Route) -> None:
        # one Playwright call per handler: a handler that waits on another call first never gets its answer
        if self.holding and route.request.is_navigation_request():
            self.held.append(route)
        else:
            self._resolve(route)

    def _resolve(self, route: Route) -> None:
        try:
            if self.server == "fail":
                route.fulfill(status=500, content_type="text/html; charset=utf-8", body=FAILED_PAGE)
            elif self.server == "interrupt":
                route.abort("aborted")
            else:
                route.continue_()
        except PlaywrightError:
            pass  # its page closed meanwhile: nothing left to answer

    def wait_held(self) -> bool:
        """Let Playwright deliver the route of the end-session request already seen (bounded round trips)."""
        for _ in range(MAX_PUMPS):
            if self.held:
                return True
            self.browser.context.cookies("http://127.0.0.1/")  # a round trip: queued events are delivered
        return bool(self.held)

    def release(self) -> None:
        self.holding = False
        while self.held:
            self._resolve(self.held.pop(0))

    def matches(self, url: str) -> bool:
        return bool(self.pattern.match(url))


@step("spa_logout", kind={"enum": list(ACTIONS)}, account={"enum": ["", *ROLES], "default": ""},
      server={"enum": ["ok", "fail", "interrupt"], "default": "ok"})
def spa_logout(ctx: Context, kind: str, account: str, server: str) -> None:
    """Log out through the app (logoutRedirect, of one account or all, or logoutPopup); the OP's sign-out succeeds, fails (HTTP 500) or is interrupted"""
    settings = spa_settings(ctx)
    accounts = _accounts(ctx)
    if kind == "redirect_all":
        if account:
            raise ConfigError(f"{ctx.case.scenario.file}: spa_logout kind redirect_all logs out every account; "
                              "leave 'account' out")
        named, judged, username = None, list(accounts.values()), ""
    else:
        if not account:
            raise ConfigError(f"{ctx.case.scenario.file}: spa_logout kind {kind} needs 'account'")
        named = _chosen(ctx, accounts, account)
        judged, username = [named], named.account
    action = _action(settings, ACTIONS[kind], username)
    popup_kind = kind == "popup"
    return_uri = (settings.popup_redirect_uri or settings.post_logout_redirect_uri) if popup_kind \
        else settings.post_logout_redirect_uri
    # where an app that skips the server sign-out sends its window(s)
    landings = {spa.base(u) for u in (return_uri, settings.main_window_redirect_uri if popup_kind else None) if u}
    endpoint = relying_party(ctx).metadata.end_session_endpoint
    if not endpoint:
        raise NotApplicable("the OP publishes no end_session_endpoint: there is no server sign-out to judge")
    browser = session_for(ctx)
    logout = SpaLogout(kind, server, named, judged, endpoint, return_uri)
    ctx.vars["spa:logout"] = logout
    with _browser_errors(f"the {kind} logout"):
        _watch_logout(ctx, browser, settings, logout, action, landings)
    for request in logout.end_sessions:
        ctx.attach(f"end-session request ({'navigation' if request.navigation else 'fetch'} in {request.frame})",
                   "\n".join(f"{k} = {v}" for k, v in sorted(request.params.items())) or "(no parameters)")


def _watch_logout(ctx: Context, browser: BrowserSession, settings: SpaSettings, logout: SpaLogout,
                  action: PageAction, landings: set[str]) -> None:
    """Run the logout action and follow it to its end, recording what the browser did into ``logout``."""
    page, kind, server, judged = browser.page, logout.kind, logout.server, logout.judged
    main_before, mark = page.url, browser.mark()
    watch = _EndSessionWatch(browser, logout.endpoint, server)
    first = _start(browser, watch, action, landings)
    held_request, leftovers = None, None
    try:
        if first is not None and watch.matches(first.url) and watch.wait_held():
            held_request = watch.held[0].request
            storage_then, areas = _storage_while_held(browser, settings, held_request)
            leftovers = tuple(f"{a.account}: {item}" for a in judged for item in spa.leftovers(a, storage_then, areas))
    finally:
        watch.release()
    popup = _popup_page(browser, first)
    if server == "ok" and first is not None:
        _finish(ctx, browser, popup, origin(settings.url),
                lambda url: (popup is not None and popup.is_closed()) or spa.base(url) in landings)
    elif server == "fail" and first is not None and watch.matches(first.url):
        _settle(ctx, browser, popup or page, watch.matches)
    logout.end_sessions = _end_sessions(browser, mark, watch, held_request, leftovers)
    if kind == "popup":
        frames = tuple(e.frame for e in logout.end_sessions if e.navigation)
        logout.popup = _popup_outcome(ctx, browser, settings, popup, main_before, server, frames)
    logout.final_url = page.url
    browser.screenshot(f"after the {kind} logout ({server})", page)
    logout.went = [s.url.split("?")[0] for s in (*browser.navigations(mark, "main"), *browser.navigations(mark, "popup"))
                   if STORAGE_PATH not in s.url]
    logout.storage = _final_storage(browser, settings)


def _start(browser: BrowserSession, watch: _EndSessionWatch, action: PageAction, landings: set[str]) -> Request | None:
    """Run the logout action; the first navigation it leads to, to end-session or to a post-logout page."""
    page = browser.page

    def wanted(request: Request) -> bool:
        return request.is_navigation_request() and (watch.matches(request.url) or spa.base(request.url) in landings)

    try:
        with browser.context.expect_event("request", wanted, timeout=browser.timeout_ms) as info:
            try:
                if action.click:
                    page.click(action.click, no_wait_after=True)
                elif action.script:
                    # not awaited: MSAL's logoutRedirect never resolves, and its navigation is held
                    page.evaluate(f"() => {{ setTimeout(() => {{ {action.script}\n }}, 0); }}")
            except PlaywrightTimeout:
                raise TargetError(f"nothing to click at {action.click!r} on {_short(page.url)} within "
                                  f"{browser.settings.timeout:g} s") from None
        request: Request = info.value
        return request
    except PlaywrightTimeout:
        return None  # the logout went nowhere: the checks say what is missing
    except PlaywrightError as exc:
        raise TargetError(f"the logout action on {_short(page.url)}: {_first_line(exc)}") from None


def _popup_page(browser: BrowserSession, first: Request | None) -> Page | None:
    """The page the app opened for the logout: where the end-session request came from, else any new page."""
    if first is not None:
        try:
            page = first.frame.page
        except PlaywrightError:
            page = None
        if page is not None and page != browser.page:
            return page
    others = [p for p in browser.context.pages if p != browser.page and STORAGE_PATH not in p.url]
    return others[0] if others else None


def _finish(ctx: Context, browser: BrowserSession, popup: Page | None, app: str, done: Callable[[str], bool]) -> None:
    """Let the sign-out run its course: off to the OP, its confirmation answered, back at the app (or the
    popup closed)."""
    oidc = _oidc(ctx)
    rules = [oidc.logout_confirmation] if oidc.logout_confirmation else []
    page = popup or browser.page

    def left_app(url: str) -> bool:
        return done(url) or (url.startswith(("http://", "https://")) and origin(url) != app)

    try:
        # first the navigation under way: the old page would be read while it goes
        browser.wait_for_url(left_app, "the OP's sign-out page", page=page)
        browser.fill_forms(rules, {}, done, "the page after the sign-out", page=page)
    except TargetError as exc:
        ctx.note(f"the sign-out did not come back: {exc}")
    except PlaywrightError as exc:
        if popup is None or not popup.is_closed():
            ctx.note(f"the sign-out did not come back: {_first_line(exc)}")


def _settle(ctx: Context, browser: BrowserSession, page: Page, accept: Callable[[str], bool]) -> None:
    """Wait for the page a failed sign-out left (the error page at the end-session URL) to load."""
    try:
        browser.wait_for_url(accept, "the failed end-session page", page=page)
    except TargetError as exc:
        ctx.note(str(exc))
    except PlaywrightError:
        pass  # a popup that closed: what the storage shows is judged all the same


def _popup_outcome(ctx: Context, browser: BrowserSession, settings: SpaSettings, popup: Page | None,
                   main_before: str, server: str, frames: tuple[str, ...]) -> PopupOutcome:
    started = time.perf_counter()
    closed = popup is None or popup.is_closed()
    if popup is not None and not closed and server == "ok":
        try:
            popup.wait_for_event("close", timeout=browser.timeout_ms)
            closed = True
        except PlaywrightError:
            closed = popup.is_closed()
    popup_url = "" if popup is None or popup.is_closed() else popup.url
    main = browser.page
    target = settings.main_window_redirect_uri
    if target and server == "ok" and closed:
        try:
            browser.wait_for_url(lambda url: spa.base(url) == spa.base(target), "mainWindowRedirectUri", page=main)
        except TargetError as exc:
            ctx.note(str(exc))
    return PopupOutcome(popup is not None, frames, closed, popup_url, main_before, main.url,
                        round(time.perf_counter() - started, 2))


def _end_sessions(browser: BrowserSession, mark: int, watch: _EndSessionWatch, held: Request | None,
                  leftovers: tuple[str, ...] | None) -> list[EndSession]:
    found = []
    for seen in browser.since(mark):
        if not watch.matches(seen.url):
            continue
        query = urlsplit(seen.url).query
        if seen.method == "POST":
            try:
                query = seen.request.post_data or ""
            except PlaywrightError:
                query = ""
        params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        found.append(EndSession(seen.url.split("?")[0], seen.frame, seen.navigation, params,
                                leftovers if held is not None and seen.request == held else None))
    return found


def _storage_while_held(browser: BrowserSession, settings: SpaSettings,
                        held: Request) -> tuple[Storage, tuple[str, ...]]:
    """The app's storage while its end-session navigation is held, and which areas of it were read.

    A popup's navigation leaves the app's window free: both areas are read there. The window's own
    navigation blocks every script in it until it is let through, so then the localStorage is read
    from a page of the harness's own on the app's origin (a new tab: the window's sessionStorage is
    not there, and is judged after the logout).
    """
    try:
        navigating = held.frame.page
    except PlaywrightError:
        navigating = None
    if navigating is not None and navigating != browser.page and origin(browser.page.url) == origin(settings.url):
        return browser.storage(browser.page), ("local", "session")
    helper = browser.context.new_page()
    try:
        browser.goto(origin(settings.url) + STORAGE_PATH, page=helper)
        return browser.storage(helper), ("local",)
    finally:
        helper.close()


def _final_storage(browser: BrowserSession, settings: SpaSettings) -> Storage:
    """The app's storage after the logout, read in the app's tab (its sessionStorage is the tab's own)."""
    page = browser.page
    if origin(page.url) != origin(settings.url):
        browser.goto(origin(settings.url) + STORAGE_PATH, page=page)
    else:
        try:
            page.wait_for_load_state("load", timeout=browser.timeout_ms)
        except PlaywrightError:
            pass
    return browser.storage(page)


# ---- judging ----------------------------------------------------------------------------------


@step("expect_spa_cache", account={"enum": ["all", *ROLES]}, state={"enum": ["cleared", "kept"], "default": "cleared"})
def expect_spa_cache(ctx: Context, account: str, state: str) -> None:
    """Judge the app's storage after the logout: an account's token cache cleared (or every one), or kept"""
    logout, accounts = _logout(ctx), _accounts(ctx)
    chosen = list(accounts.values()) if account == "all" else [_chosen(ctx, accounts, account)]
    if state == "kept":
        if account == "all" or logout.account is None:
            raise ConfigError(f"{ctx.case.scenario.file}: 'kept' judges another account after logging out one")
        ctx.verify(spa.other_accounts_kept, chosen, logout.storage, logout.account.account, go_on=True)
    elif logout.server != "ok":
        ctx.verify(spa.cache_cleared_despite_failure, chosen, logout.storage, FAILURES[logout.server], go_on=True)
    elif account == "all":
        ctx.verify(spa.every_account_cleared, chosen, logout.storage, go_on=True)
    else:
        ctx.verify(spa.account_cache_cleared, chosen[0], logout.storage, go_on=True)


@step("expect_spa_end_session")
def expect_spa_end_session(ctx: Context) -> None:
    """The browser went to the OP's end-session endpoint once the cache was cleared, with the account's id_token_hint and the post_logout_redirect_uri"""
    logout = _logout(ctx)
    frame = "popup" if logout.kind == "popup" else "main"
    ctx.verify(spa.end_session_navigated, logout.end_sessions, frame, logout.endpoint, logout.went, go_on=True)
    navigations = [r for r in logout.end_sessions if r.navigation]
    if not navigations:
        return  # nothing to read a hint from: the missing request is the violation
    tokens = [a.id_token for a in logout.judged if a.id_token]
    ctx.verify(spa.end_session_hint, navigations[0].params, tokens, logout.return_uri,
               logout.account.account if logout.account else None, go_on=True)


@step("expect_spa_landed")
def expect_spa_landed(ctx: Context) -> None:
    """After logoutRedirect the browser is back at the app's postLogoutRedirectUri"""
    logout = _logout(ctx)
    ctx.verify(spa.landed, logout.final_url, logout.return_uri, go_on=True)


@step("expect_spa_popup")
def expect_spa_popup(ctx: Context) -> None:
    """logoutPopup signed out in a popup that closed; the main window went to mainWindowRedirectUri, or stayed"""
    logout = _logout(ctx)
    if logout.popup is None:
        raise ConfigError(f"{ctx.case.scenario.file}: expect_spa_popup follows spa_logout with kind popup")
    ctx.verify(spa.popup_logout, logout.popup, spa_settings(ctx).main_window_redirect_uri, go_on=True)


@step("expect_spa_server_session",
      because={"enum": ["MSAL-logout-server", "MSAL-logout-interrupted"], "default": "MSAL-logout-server"})
def expect_spa_server_session(ctx: Context, because: str) -> None:
    """Probe the OP with a prompt=none authorization request in the same browser: its session must be over (or, after an interrupted sign-out, report what survived)"""
    _logout(ctx)
    alive, detail = _probe(ctx)
    check = spa.server_session_ended if because == "MSAL-logout-server" else spa.interrupted_session
    ctx.verify(check, alive, detail, go_on=True)


def _probe(ctx: Context) -> tuple[bool, str]:
    """A prompt=none authorization request with the scenario's browser cookies, for a client whose
    redirect_uri is the harness's (under its callback base).

    It goes through the browser context's own request client (its cookie jar, its cookies' updates),
    hop by hop on the OP, and stops at the redirect to the client: Playwright's routes do not see the
    targets of redirects, so a navigation could not end at a URL nobody listens on.
    """
    oidc = _oidc(ctx)
    prefix = ctx.target.callback_base + "/"
    clients = [c for c in oidc.clients if c.redirect_uri.startswith(prefix)]
    if not clients:
        raise NotApplicable(f"probing the OP session needs a client whose redirect_uri is under {prefix} "
                            "(harness.callback_base)")
    client = clients[0]
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {"response_type": "code", "client_id": client.id, "redirect_uri": client.redirect_uri,
              "scope": "openid", "state": secrets.token_urlsafe(12), "nonce": secrets.token_urlsafe(12),
              "prompt": "none", "code_challenge": challenge, "code_challenge_method": "S256"}
    url = f"{relying_party(ctx).metadata.authorization_endpoint}?{urlencode(params)}"
    browser = session_for(ctx)
    for _ in range(MAX_PROBE_HOPS):
        try:
            response = browser.context.request.get(url, max_redirects=0, timeout=browser.timeout_ms)
        except PlaywrightError as exc:
            raise TargetUnreachable(f"the prompt=none probe at {_short(url)}: {_first_line(exc)}") from None
        location = response.headers.get("location")
        status = response.status
        response.dispose()
        if status not in REDIRECTS or not location:
            raise TargetError(f"the prompt=none probe got HTTP {status} at {_short(url)}, not a redirect to "
                              f"{client.redirect_uri}")
        url = urljoin(url, location)
        if url.startswith(client.redirect_uri):
            for code in parse_qs(urlsplit(url).query).get("code", []):
                REDACTOR.add_secret(code)
            return spa.read_probe(url, client.redirect_uri)
    raise TargetError(f"the prompt=none probe was still being redirected after {MAX_PROBE_HOPS} hops")


@contextmanager
def _browser_errors(what: str) -> Iterator[None]:
    """Turn what Playwright raises unforeseen (a page that closed or navigated under an action) into a
    TargetError that says what the harness was doing."""
    try:
        yield
    except PlaywrightError as exc:
        raise TargetError(f"{what}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return REDACTOR.text(text.splitlines()[0] if text else type(exc).__name__)


def _short(url: str) -> str:
    return REDACTOR.text(url if len(url) <= 160 else url[:157] + "...")
