"""An app under test in a real browser: sign in through its IdP's pages, log out, and prove the session over.

For the app-side profiles (an OIDC relying party, a SAML service provider): after logout the app's
cookies are gone or dead (the login's cookies replayed no longer open the protected page) and the
protected page, asked with the browser's own cookies, no longer serves the user but sends them to log in.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from harness import app_session
from harness import browser as browser_actor
from harness.engine import Context
from harness.errors import NotApplicable, TargetError
from harness.formwalker import FormRule
from harness.oidc.steps import NAME, USER_ROLES
from harness.redact import REDACTOR
from harness.steps import step
from harness.target import User

__all__ = ["AppPages", "BrowserLogin", "app_pages", "browser_login"]


@dataclass(frozen=True)
class AppPages:
    """The pages of an app under test and the IdP login pages in front of it."""

    kind: str
    login_url: str
    protected_url: str
    logout_url: str | None
    alive_status: int
    alive_contains: str | None
    login_forms: tuple[FormRule, ...]
    login_max_steps: int
    users: tuple[User, ...]
    issuer: str | None


@dataclass
class BrowserLogin:
    """The app signed in in Chromium: its kind, the OP session under it (OIDC, on the mock), its cookies
    and the storage it wrote."""

    app: str
    sid: str
    sub: str
    cookies: dict[str, str]
    storage: dict[str, dict[str, str]]


def app_pages(ctx: Context, kind: str) -> AppPages:
    target = ctx.target
    if kind == "oidc":
        oidc = target.oidc
        if oidc is None or oidc.app is None:
            raise NotApplicable("the target file describes no relying party app (oidc.app)")
        a = oidc.app
        return AppPages(kind, a.login_url, a.protected_url, a.logout_url, a.alive_status, a.alive_contains,
                        oidc.login_forms, oidc.login_max_steps, oidc.users, oidc.issuer)
    saml = target.saml
    if saml is None or saml.app is None:
        raise NotApplicable("the target file describes no SAML SP app (saml.app)")
    s = saml.app
    return AppPages(kind, s.login_url, s.protected_url, s.logout_url, s.alive_status, s.alive_contains,
                    saml.idp.login_forms, saml.idp.login_max_steps, saml.idp.users, None)


def browser_login(ctx: Context, name: str) -> BrowserLogin:
    login: BrowserLogin = ctx.vars[f"browser-login:{name}"]
    return login


def _user(pages: AppPages, role: str) -> User:
    index = {"primary": 0, "secondary": 1, "isolated": 2}[role]
    if len(pages.users) <= index:
        raise NotApplicable(f"needs a {role} test user in the target file")
    return pages.users[index]


def alive_in_browser(browser: browser_actor.BrowserSession, pages: AppPages) -> bool:
    """The protected page asked with the browser's own cookies, not followed to a login."""
    status, body = browser.fetch(pages.protected_url)
    return status == pages.alive_status and (pages.alive_contains is None or pages.alive_contains in body)


@step("browser_app_login", **{"as": NAME, "app": {"enum": ["oidc", "saml"], "default": "oidc"}, "user": USER_ROLES})
def browser_app_login(ctx: Context, app: str, user: str, **kw: str) -> None:
    """Sign in to the app in Chromium through its IdP's login pages"""
    pages = app_pages(ctx, app)
    browser = browser_actor.session_for(ctx)
    chosen = _user(pages, user)
    password = chosen.password.value() if chosen.password else ""
    REDACTOR.add_secret(password)
    browser.goto(pages.login_url)
    browser.fill_forms(list(pages.login_forms), {"username": chosen.username, "password": password},
                       lambda url: url.startswith(pages.protected_url), f"{pages.protected_url} after signing in",
                       max_steps=pages.login_max_steps)
    if not alive_in_browser(browser, pages):
        raise TargetError(f"after signing in at {pages.login_url} in the browser, {pages.protected_url} does not "
                          "show a live session")
    cookies = browser.cookie_dict(pages.protected_url)
    sid = sub = ""
    if pages.issuer:
        with httpx.Client(cookies=browser.cookie_dict(pages.issuer), timeout=ctx.target.read_timeout) as probe:
            answer = probe.get(f"{pages.issuer}/_mock/oidc/session")
        data = answer.json() if answer.status_code == 200 else {}
        sid, sub = str(data.get("sid", "")), str(data.get("sub", ""))
    ctx.vars[f"browser-login:{kw['as']}"] = BrowserLogin(app, sid, sub, cookies, browser.storage())


@step("browser_app_logout", login=NAME)
def browser_app_logout(ctx: Context, login: str) -> None:
    """Log out at the app in Chromium and let every redirect and auto-posted form run its course"""
    signed_in = browser_login(ctx, login)
    pages = app_pages(ctx, signed_in.app)
    if not pages.logout_url:
        raise NotApplicable("the target file gives no logout_url for the app")
    browser = browser_actor.session_for(ctx)
    browser.goto(pages.logout_url)
    browser.settle()
    browser.screenshot(f"after logging out at {pages.logout_url}")


@step("expect_browser_session_ended", login=NAME,
      because={"enum": sorted(app_session.OVER_IN_BROWSER)})
def expect_browser_session_ended(ctx: Context, login: str, because: str) -> None:
    """The app's session is over: its cookies gone or dead, its protected page sends the browser to log in"""
    signed_in = browser_login(ctx, login)
    pages = app_pages(ctx, signed_in.app)
    browser = browser_actor.session_for(ctx)
    now = browser.cookie_dict(pages.protected_url)
    with httpx.Client(cookies=signed_in.cookies, timeout=ctx.target.read_timeout) as replay:
        page = replay.get(pages.protected_url)
    replay_alive = page.status_code == pages.alive_status and (pages.alive_contains is None
                                                               or pages.alive_contains in page.text)
    kept = [name for name, value in signed_in.cookies.items() if now.get(name) == value]
    view = app_session.BrowserView(alive_in_browser(browser, pages), replay_alive, bool(kept), pages.protected_url)
    ctx.note(f"after logout the browser holds {len(now)} cookie(s) for the app; "
             f"{len(kept)} of the login's unchanged")
    ctx.verify(app_session.OVER_IN_BROWSER[because], view)
