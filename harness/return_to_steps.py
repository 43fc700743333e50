"""Scenario steps for redirects after logout: the open-redirect corpus against every return parameter a
target has (https://cwe.mitre.org/data/definitions/601.html).

Each attempt is judged by where the browser would really go next (``harness/redirects.py``): the
Location header, a Refresh header, a meta refresh, a script or an auto-submitting form. One scenario
judges every attempt of a parameter, so a failure names each case that got through.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from harness import formwalker, redirects, return_to
from harness.engine import Context
from harness.errors import NotApplicable
from harness.http import OddLocation
from harness.oidc.steps import relying_party, user_role
from harness.redirects import Destination
from harness.steps import step
from harness.target import Client, ReturnTo

KINDS = ["oidc-post-logout", "auth0-app", "auth0-tenant", "app-return"]
#: the longest value shown in the attempts table
SHOWN = 90
#: redirects on the target's own origin followed before judging where an app parameter leads
APP_HOPS = 5


@dataclass(frozen=True)
class _Parameter:
    """How to send a value through one return parameter, and what the target allows there."""

    dialect: return_to.Dialect
    registered: str
    allowed: tuple[str, ...]
    own_origins: tuple[str, ...]
    send: Callable[[str], tuple[Destination | None, dict[str, str] | None]]


def _origin(url: str) -> str:
    return redirects.origin_of(url) or url


def _oidc(ctx: Context) -> _Parameter:
    rp = relying_party(ctx)
    client = rp.settings.clients[0]
    if not client.post_logout_redirect_uri:
        raise NotApplicable(f"client {client.id} has no post_logout_redirect_uri in the target file")

    def send(value: str) -> tuple[Destination | None, dict[str, str] | None]:
        login = rp.login("return-to", ctx.runtime.http.browser(), client, user_role(ctx, "primary"))
        state = secrets.token_urlsafe(8)
        outcome = rp.end_session(login.browser, {"id_token_hint": login.id_token, "post_logout_redirect_uri": value,
                                                 "state": state}, "GET", confirm=True, probe=None)
        assert outcome.final is not None
        return redirects.destination(outcome.final, outcome.final_url), {"state": state}

    own = (_origin(rp.metadata.issuer), _origin(rp.metadata.end_session_endpoint or rp.metadata.issuer))
    return _Parameter("exact", client.post_logout_redirect_uri, (client.post_logout_redirect_uri,), own, send)


def _auth0(ctx: Context, with_client: bool) -> list[tuple[_Parameter, bool]]:
    """The main cases against the primary client's (or the tenant's) list; with client_id, the wildcard
    cases against a client whose list has a wildcard entry for its own URL (it would let some main
    cases through by design, so the two never share a list)."""
    rp, auth0 = relying_party(ctx), ctx.target.auth0
    if auth0 is None:
        raise NotApplicable("the target file has no 'auth0' section (the Auth0 dialect)")
    url = auth0.logout_url or f"{rp.metadata.issuer}/v2/logout"
    corpus: return_to.Corpus = ctx.runtime.cached("return-to.corpus", return_to.load_corpus)

    def parameter(client: Client | None, listed: str) -> _Parameter | None:
        entries = tuple(e.strip() for e in listed.split(",") if e.strip())
        plain = [e for e in entries if "*" not in e]
        if not plain:
            return None

        def send(value: str) -> tuple[Destination | None, dict[str, str] | None]:
            login = rp.login("return-to", ctx.runtime.http.browser(), client or rp.settings.clients[0],
                             user_role(ctx, "primary"))
            params = {"returnTo": value, **({"client_id": client.id} if client else {})}
            request = login.browser.build_request("GET", url, params=params)
            walk = formwalker.walk(login.browser, request, list(rp.settings.login_forms), {}, stay_on=rp.stay_on,
                                   max_steps=rp.settings.login_max_steps)
            return redirects.destination(walk.final_response, walk.final_url), None

        return _Parameter("allowlist", plain[0], entries, (_origin(url),), send)

    if not with_client:
        tenant = parameter(None, auth0.allowed_logout_urls)
        if tenant is None:
            raise NotApplicable("auth0.allowed_logout_urls lists no URL without a wildcard")
        return [(tenant, False)]
    found: list[tuple[_Parameter, bool]] = []
    for client in rp.settings.clients:
        own = parameter(client, client.allowed_logout_urls)
        if own is None:
            continue
        wildcard = corpus.entry(own.registered) in own.allowed
        if wildcard and not any(w for _, w in found):
            found.append((own, True))
        elif not wildcard and not any(not w for _, w in found):
            found.append((own, False))
    if not found:
        raise NotApplicable("no client has allowed_logout_urls (the Auth0 dialect)")
    return found


def _app(ctx: Context, param: ReturnTo) -> _Parameter:
    saml = ctx.target.saml
    base = saml.app.login_url if saml and saml.app else ""
    if not param.url or not param.registered:
        raise NotApplicable(f"return parameter {param.name}: give its url (with {{value}}) and a registered value")

    def absolute(value: str) -> str:
        if value.startswith("/"):
            if not base.startswith("http"):
                raise NotApplicable(f"return parameter {param.name}: a path needs the SAML SP app (saml.app)")
            parts = urlsplit(base)
            return f"{parts.scheme}://{parts.netloc}{value}"
        return value

    template, registered = absolute(param.url), absolute(param.registered)

    own = _origin(template)

    def send(value: str) -> tuple[Destination | None, dict[str, str] | None]:
        # the target's own pages may pass the browser on (a resume page, a signed-out page): followed,
        # until it reaches the value itself or is sent anywhere else, which is what gets judged
        browser = ctx.runtime.http.browser()
        request = browser.build_request("GET", template.split("?")[0], params=_params(template, value))
        for _ in range(APP_HOPS):
            try:
                response = browser.send(request)
            except OddLocation as odd:
                response = odd.response
            destination = redirects.destination(response, str(response.url))
            if destination is None or destination.how != "location" or destination.origin != own \
                    or destination.url == value:
                return destination, None
            request = browser.build_request("GET", destination.url)
        return destination, None

    return _Parameter("app", registered, (registered,), (_origin(template),), send)


def _params(template: str, value: str) -> dict[str, str]:
    """The template's query with {value} filled in (encoded once, as a browser's address bar would)."""
    query = urlsplit(template).query
    return {name: value if raw == "{value}" else raw
            for name, _, raw in (part.partition("=") for part in query.split("&") if part)}


def _parameters(ctx: Context, param: ReturnTo) -> list[tuple[_Parameter, bool]]:
    """The ways to send values through a return parameter: (how, whether for the wildcard cases)."""
    if param.kind == "oidc-post-logout":
        return [(_oidc(ctx), False)]
    if param.kind in ("auth0-app", "auth0-tenant"):
        return _auth0(ctx, param.kind == "auth0-app")
    return [(_app(ctx, param), False)]


@step("return_to_corpus", kind={"enum": KINDS})
def return_to_corpus(ctx: Context, kind: str) -> None:
    """Send every attempt of the open-redirect corpus through the target's return parameter; judge each"""
    params = [p for p in ctx.target.return_to if p.kind == kind]
    if not params:
        raise NotApplicable(f"the target file names no {kind} return parameter (return_to)")
    corpus: return_to.Corpus = ctx.runtime.cached("return-to.corpus", return_to.load_corpus)
    for param in params:
        for parameter, wildcard in _parameters(ctx, param):
            cases = [c for c in corpus.for_dialect(parameter.dialect) if c.wildcard == wildcard]
            _attempts(ctx, param.name + (" (wildcard entry)" if wildcard else ""), parameter, cases)


def _attempts(ctx: Context, name: str, parameter: _Parameter, cases: list[return_to.Case]) -> None:
    rows = [f"{name}: {len(cases)} attempts from {parameter.registered} ({parameter.dialect} rules)",
            f"{'case':<34} {'expected':<8} where the browser went"]
    for case in cases:
        value = case.render(parameter.registered)
        destination, extra = parameter.send(value)
        expected = case.expectation(parameter.dialect, parameter.registered, value)
        requirement = case.requirement(parameter.dialect, expected)
        if expected == "follow":
            ctx.verify(return_to.FOLLOWED[requirement], destination, value, case, extra, go_on=True)
        elif expected == "refuse":
            ctx.verify(return_to.REFUSED[requirement], destination, value, parameter.allowed, parameter.own_origins,
                       case, go_on=True)
        else:
            ctx.verify(return_to.EITHER[requirement], destination, value, parameter.allowed, parameter.own_origins,
                       case, extra, go_on=True)
        went = f"{redirects.HOW[destination.how]} {destination.url[:SHOWN]}" if destination else "(stays on the page)"
        rows.append(f"{case.id:<34} {expected:<8} {went}")
    ctx.attach(f"{name}: attempts", "\n".join(rows))


_OTHER_LIST = {
    True: return_to.Case("tenant-url-with-client-id", "{registered}", "A URL only the tenant allows, sent with "
                         "client_id: the application's list decides", True, {}, {}),
    False: return_to.Case("app-url-without-client-id", "{registered}", "A URL only the application allows, sent "
                          "without client_id: the tenant's list decides", True, {}, {}),
}


@step("returnto_lists")
def returnto_lists(ctx: Context) -> None:
    """Each list answers for its own requests: a URL only the other list allows is refused"""
    tenant, apps = _auth0(ctx, False)[0][0], [p for p, wildcard in _auth0(ctx, True) if not wildcard]
    if not apps:
        raise NotApplicable("no client has allowed_logout_urls without a wildcard")
    app = apps[0]
    for parameter, value, with_client in ((app, tenant.registered, True), (tenant, app.registered, False)):
        if value in parameter.allowed:
            raise NotApplicable(f"{value} is in both lists: the lists cannot be told apart")
        destination, _ = parameter.send(value)
        ctx.verify(return_to.REFUSED["AUTH0-returnTo-lists"], destination, value, parameter.allowed,
                   parameter.own_origins, _OTHER_LIST[with_client])
