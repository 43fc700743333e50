"""Front-Channel Logout 1.0 steps in a real browser: the OP's logged-out page, and an RP's logout URI in an
iframe (https://openid.net/specs/openid-connect-frontchannel-1_0.html).

OP side: the harness signs in to the OP's front-channel clients over HTTP, hands the OP session to
Chromium and logs out there; every iframe the logged-out page loads is answered by the browser itself
(the clients' URIs are under the harness's callback base) and judged from the browser's request log.
RP side: the harness signs in to the app in Chromium, then, as its OP, shows a page with the app's logout
URI in an iframe, on the app's own site or on another site, and looks at the app afterwards.
"""

from __future__ import annotations

import html
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from harness import browser as browser_actor
from harness.browser_app_steps import browser_login
from harness.engine import Context
from harness.errors import NotApplicable, TargetError
from harness.http import origin
from harness.oidc import frontchannel
from harness.oidc.rp_app_steps import alive, rp_app, rp_login_named
from harness.oidc.steps import NAME, USER_ROLES, login_named, relying_party, user_role
from harness.redact import REDACTOR
from harness.steps import step
from harness.target import Client

#: a site of its own for the OP page in the cross-site case; the browser answers it, nothing resolves it
CROSS_SITE_OP = "http://harness-op.test"
HARNESS_PATH = "/__logout_conformance__"


def _frontchannel_clients(ctx: Context) -> list[Client]:
    clients = [c for c in relying_party(ctx).settings.clients if c.frontchannel_logout_uri]
    if not clients:
        raise NotApplicable("no client of the target has a frontchannel_logout_uri (the OP's front-channel "
                            "logout cannot be observed)")
    return clients


# ---- the OP's side ------------------------------------------------------------------------------
@step("frontchannel_discovery")
def frontchannel_discovery(ctx: Context) -> None:
    """The OP's discovery document advertises front-channel logout"""
    _frontchannel_clients(ctx)
    ctx.verify(frontchannel.check_metadata, relying_party(ctx).metadata.raw)


@step("frontchannel_logins", **{"as": {"type": "array", "items": NAME, "minItems": 1}, "user": USER_ROLES})
def frontchannel_logins(ctx: Context, user: str, **kw: list[str]) -> None:
    """Sign in to the OP's front-channel clients, one after the other in one browser (one OP session)"""
    rp, names = relying_party(ctx), kw["as"]
    clients = _frontchannel_clients(ctx)
    if len(clients) < len(names):
        ctx.note(f"the target has {len(clients)} front-channel client(s); signing in to those only")
    jar = ctx.runtime.http.browser()
    chosen = user_role(ctx, user)
    for name, client in zip(names, clients, strict=False):
        login = rp.login(name, jar, client, chosen)
        ctx.vars[f"login:{name}"] = login
        ctx.verify(frontchannel.check_session_sid, rp.metadata.raw, login.claims)
    ctx.vars["fcl:logins"] = [n for n, _ in zip(names, clients, strict=False)]


@step("frontchannel_logout", login=NAME)
def frontchannel_logout(ctx: Context, login: str) -> None:
    """Log out in Chromium at the end-session endpoint (hint, registered URI, confirmed) and wait for the way back"""
    session = login_named(ctx, login)
    rp = relying_party(ctx)
    end_session = rp.metadata.end_session_endpoint
    back = session.client.post_logout_redirect_uri
    if not end_session or not back:
        raise NotApplicable("front-channel logout through the end-session endpoint needs end_session_endpoint and "
                            f"a post_logout_redirect_uri for {session.client.id}")
    browser = browser_actor.session_for(ctx)
    browser.adopt_cookies(session.browser.cookies.jar, rp.settings.issuer)
    browser.keep_pages(origin(end_session) + "/")
    mark = browser.mark()
    state = secrets.token_urlsafe(12)
    query = urlencode({"id_token_hint": session.id_token, "post_logout_redirect_uri": back, "state": state})
    browser.goto(f"{end_session}?{query}")
    rules = [rp.settings.logout_confirmation] if rp.settings.logout_confirmation else []
    browser.fill_forms(rules, {}, lambda url: url.startswith(back), f"{back} after logging out")
    browser.screenshot(f"front-channel logout of {login}: where the browser came back")
    ctx.vars["fcl:mark"] = mark
    ctx.vars["fcl:back"] = back


@step("expect_frontchannel_requests", **{"for": {"type": "array", "items": NAME, "minItems": 1}})
def expect_frontchannel_requests(ctx: Context, **kw: list[str]) -> None:
    """Every RP of the session had its logout URI loaded in an iframe, iss and sid right, before the way back"""
    names = [n for n in kw["for"] if n in ctx.vars.get("fcl:logins", kw["for"])]
    logins = [login_named(ctx, n) for n in names]
    browser = browser_actor.session_for(ctx)
    seen = browser.since(ctx.vars["fcl:mark"])
    back = ctx.vars["fcl:back"]
    by_base = {frontchannel.base_of(s.client.frontchannel_logout_uri or ""): s for s in logins}
    loads = [frontchannel.FrameLoad(by_base[frontchannel.base_of(s.url)].client.id, s.url, s.seq)
             for s in seen if s.frame == "sub" and s.resource_type == "document"
             and frontchannel.base_of(s.url) in by_base]
    redirect = next((s.seq for s in seen if s.frame == "main" and s.navigation and s.url.startswith(back)), None)
    in_page = {by_base[frontchannel.base_of(src)].client.id for page in _op_pages(browser, seen, redirect)
               for src in frontchannel.iframe_sources(page) if frontchannel.base_of(src) in by_base}
    ctx.attach("what the browser requested while it logged out", "\n".join(
        f"{s.seq:>3} {s.frame:<5} {s.method} {s.url} -> {s.status if s.status is not None else s.failure}"
        for s in seen))
    ctx.verify(frontchannel.check_rendered, [s.client.id for s in logins], loads, in_page, go_on=True)
    issuer = relying_party(ctx).metadata.issuer
    for load in loads:
        login = next(s for s in logins if s.client.id == load.client_id)
        ctx.verify(frontchannel.check_iss_sid_together, load, go_on=True)
        ctx.verify(frontchannel.check_values, load, issuer, str(login.claims.get("sid", "")), go_on=True)
        ctx.verify(frontchannel.check_session_required, load, login.client.frontchannel_logout_session_required,
                   go_on=True)
        ctx.verify(frontchannel.check_query_kept, load, login.client.frontchannel_logout_uri or "", go_on=True)
    ctx.verify(frontchannel.check_before_redirect, loads, in_page, redirect, back, go_on=True)


def _op_pages(browser: browser_actor.BrowserSession, seen: list[browser_actor.Seen], until: int | None) -> list[str]:
    """The HTML of the pages the main frame showed before it left for the RP (the OP's logged-out page)."""
    return [browser.page_text(s) for s in seen if s.frame == "main" and (until is None or s.seq < until)]


# ---- the RP's side ------------------------------------------------------------------------------
@dataclass
class Rendered:
    """What the app's logout URI answered in the iframe, and what the browser sent it."""

    url: str
    site: str
    status: int | None
    headers: dict[str, str]
    cookies_sent: list[str]


@step("render_frontchannel", **{"as": NAME, "login": NAME, "site": {"enum": ["same", "cross"], "default": "same"},
                                "session": {"enum": ["named", "unknown"], "default": "named"}})
def render_frontchannel(ctx: Context, login: str, site: str, session: str, **kw: str) -> None:
    """As the app's OP, render its front-channel logout URI (iss, sid) in an iframe on the same site or another"""
    app, oidc = rp_app(ctx), ctx.target.oidc
    assert oidc is not None
    if not app.frontchannel_logout_uri:
        raise NotApplicable("the target file gives no frontchannel_logout_uri for the app (oidc.app)")
    signed_in = browser_login(ctx, login)
    if not signed_in.sid and session == "named":
        raise NotApplicable("learning which OP session the app stands on needs the bundled mock OP")
    sid = signed_in.sid if session == "named" else secrets.token_urlsafe(16)
    uri = app.frontchannel_logout_uri
    url = f"{uri}{'&' if '?' in uri else '?'}{urlencode({'iss': oidc.issuer, 'sid': sid})}"
    page_url = (f"{origin(app.protected_url)}{HARNESS_PATH}/op-logged-out" if site == "same"
                else f"{CROSS_SITE_OP}/logged-out")
    browser = browser_actor.session_for(ctx)
    browser.route(page_url, f'<!doctype html><title>signed out (harness as OP)</title><p>Signed out.</p>'
                            f'<iframe src="{html.escape(url)}" width="600" height="120"></iframe>')
    mark = browser.mark()
    browser.goto(page_url)  # the page's load event waits for its iframe
    base = frontchannel.base_of(uri)
    frame = next((s for s in browser.since(mark) if s.frame == "sub" and frontchannel.base_of(s.url) == base), None)
    if frame is None:
        raise TargetError(f"the browser did not request {base} from the iframe")
    browser.screenshot(f"the app's front-channel logout URI in an iframe ({site}-site)")
    cookie_header = frame.request_headers().get("cookie", "")
    sent = [part.split("=", 1)[0].strip() for part in cookie_header.split(";") if part.strip()]
    ctx.vars[f"rendered:{kw['as']}"] = Rendered(url, site, frame.status, frame.headers(), sent)
    if site == "cross":
        written = [(area, key) for area, entries in signed_in.storage.items() for key in entries]
        after = _first_party_storage(browser, app.protected_url)
        left = [(area, key) for area, key in written if key in after.get(area, {})]
        ctx.attach("the iframe in a cross-site page (Front-Channel Logout 1.0 section 4.1)", _third_party_report(
            page_url, ctx.vars[f"rendered:{kw['as']}"], len(written), len(left)))


def _third_party_report(page_url: str, rendered: Rendered, written: int, left: int) -> str:
    """What Chromium did to the cross-site iframe, as observed: cookies sent and set, first-party storage."""
    set_cookie = rendered.headers.get("set-cookie", "")
    return "\n".join([
        f"OP page: {page_url} (another site than the app)",
        f"iframe:  {REDACTOR.text(rendered.url)} -> HTTP {rendered.status}",
        f"cookies the browser sent with the iframe request: {', '.join(rendered.cookies_sent) or 'none'}",
        "  (Chromium sends no SameSite=Lax or Strict cookie, Lax being the default, to a cross-site iframe)",
        f"cookies the answer set: {'yes (' + str(set_cookie.count(chr(10)) + 1) + ')' if set_cookie else 'none'}",
        "  (nor may a cross-site answer set or clear a SameSite=Lax cookie)",
        f"the app's own storage afterwards: {left} of the {written} entries it wrote at login still there",
        "  (the iframe's localStorage and sessionStorage are partitioned by the top-level site: clearing them",
        "  does not reach the app's first-party storage)",
        "what is left to the app: finding the session by iss and sid",
    ])


def _first_party_storage(browser: browser_actor.BrowserSession, app_url: str) -> dict[str, dict[str, str]]:
    """The app's own localStorage and sessionStorage, read from a blank page the browser serves on its origin."""
    blank = f"{origin(app_url)}{HARNESS_PATH}/blank"
    browser.route(blank, "<!doctype html><title>blank</title>")
    browser.goto(blank)
    return browser.storage()


def _rendered(ctx: Context, name: str) -> Rendered:
    rendered: Rendered = ctx.vars[f"rendered:{name}"]
    return rendered


@step("expect_frontchannel_answer", rendered=NAME)
def expect_frontchannel_answer(ctx: Context, rendered: str) -> None:
    """The logout URI's answer is not cacheable"""
    ctx.verify(frontchannel.check_rp_no_store, _rendered(ctx, rendered).headers)


@step("expect_frontchannel_success", rendered=NAME)
def expect_frontchannel_success(ctx: Context, rendered: str) -> None:
    """The logout URI answered 2xx for a session that was already over"""
    answer = _rendered(ctx, rendered)
    ctx.verify(frontchannel.check_rp_logged_out, answer.status, REDACTOR.text(answer.url))


@step("expect_rp_storage_cleared", login=NAME)
def expect_rp_storage_cleared(ctx: Context, login: str) -> None:
    """What the app wrote to localStorage and sessionStorage at login is gone"""
    app = rp_app(ctx)
    signed_in = browser_login(ctx, login)
    browser = browser_actor.session_for(ctx)
    ctx.verify(frontchannel.check_rp_storage, signed_in.storage, _first_party_storage(browser, app.protected_url))


@step("expect_other_session", login=NAME)
def expect_other_session(ctx: Context, login: str) -> None:
    """The user's other session at the app (another browser) is still alive"""
    ctx.verify(frontchannel.check_rp_precision, alive(ctx, rp_login_named(ctx, login).browser))
