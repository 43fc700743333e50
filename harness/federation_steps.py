"""Scenario steps for federated logout: log in through an upstream IdP chained to the target, log out with
and without ``federated``, and probe both sessions (https://auth0.com/docs/authenticate/login/logout).

The upstream session is probed with a prompt=none request from the harness's own client at the
upstream (a SAML IdP and an OP of the same server share their sessions in the bundled mock).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import federation, formwalker, mockctl, redirects
from harness.engine import Context
from harness.errors import NotApplicable, TargetError
from harness.formwalker import FormRule
from harness.oidc.rp import Login, RelyingParty
from harness.oidc.steps import NAME, login_named, relying_party, user_role
from harness.saml.bindings import decode_post, decode_redirect
from harness.saml.messages import parse_logout_request, parse_response
from harness.saml.profiles import session_index_in_assertion
from harness.steps import step
from harness.target import Client, MockUpstream, OidcSettings

#: the upstream SAML IdP's auto-posting form that carries the Response to the target's ACS
SAML_POST = FormRule(name="saml-post", fields=("SAMLResponse",))


@dataclass
class _Federated:
    login: Login
    upstream: MockUpstream
    session_index: str | None


def _upstream(ctx: Context, name: str) -> MockUpstream:
    found = next((u for u in ctx.target.mock_upstreams if u.name == name and u.url), None)
    if found is None:
        raise NotApplicable(f"no upstream connection {name!r} (mock_idp.upstreams, started for the run)")
    return found


def _origin(url: str) -> str:
    return redirects.origin_of(url) or url


@step("federated_login", **{"as": NAME, "connection": {"type": "string"}})
def federated_login(ctx: Context, connection: str, **kw: str) -> None:
    """Log in at the target through an upstream IdP (connection), filling the upstream's login form"""
    upstream, rp = _upstream(ctx, connection), relying_party(ctx)
    before = len(ctx.recorder.exchanges)
    login = rp.login(kw["as"], ctx.runtime.http.browser(), rp.settings.clients[0], user_role(ctx, "primary"),
                     extra={"connection": connection}, through=[_origin(upstream.url)], forms=[SAML_POST])
    ctx.vars[f"login:{kw['as']}"] = login
    index = None
    if upstream.kind == "saml":
        posted = [e for e in ctx.recorder.exchanges[before:] if e.method == "POST" and "SAMLResponse=" in e.request_body]
        if not posted:
            raise TargetError("the login through the SAML upstream never posted a Response to the target")
        assertion = parse_response(decode_post(posted[-1].request_body).xml).assertion
        if assertion is None:
            raise TargetError("the SAML upstream's Response holds no readable assertion")
        index = assertion.session_index
        try:
            session_index_in_assertion(assertion)
        except AssertionError as violation:
            # the upstream's defect, not the target's: information for the reader
            ctx.note(f"the upstream IdP violates SAMLProf-4.1.4.2-sessionindex: {violation}")
    ctx.vars[f"federated:{kw['as']}"] = _Federated(login, upstream, index)


@step("auth0_logout", login=NAME, federated={"type": "boolean"})
def auth0_logout(ctx: Context, login: str, federated: bool) -> None:
    """Log out at the target's /v2/logout (returnTo an allowed URL, client_id), with or without federated"""
    state: _Federated = ctx.vars[f"federated:{login}"]
    rp, auth0 = relying_party(ctx), ctx.target.auth0
    if auth0 is None:
        raise NotApplicable("the target file has no 'auth0' section (the Auth0 dialect)")
    client = state.login.client
    allowed = [e.strip() for e in client.allowed_logout_urls.split(",") if e.strip() and "*" not in e]
    if not allowed:
        raise NotApplicable(f"client {client.id} has no allowed_logout_urls")
    url = auth0.logout_url or f"{rp.metadata.issuer}/v2/logout"
    params = {"returnTo": allowed[0], "client_id": client.id, **({"federated": ""} if federated else {})}
    before = len(ctx.recorder.exchanges)
    browser = state.login.browser
    confirmation = rp.settings.logout_confirmation
    walk = formwalker.walk(browser, browser.build_request("GET", url, params=params),
                           [*([confirmation] if confirmation else []), *rp.settings.login_forms, SAML_POST], {},
                           stay_on=[*rp.stay_on, _origin(state.upstream.url)], max_steps=20)
    destination = redirects.destination(walk.final_response, walk.final_url)
    hops = [e.url.split("?")[0] for e in ctx.recorder.exchanges[before:]]
    ctx.vars[f"federated-logout:{login}"] = (allowed[0], destination.url if destination else None, hops, before,
                                              federated)


@step("expect_federated_return", login=NAME)
def expect_federated_return(ctx: Context, login: str) -> None:
    """The browser ended at returnTo, through every hop of the chain"""
    expected, went, hops, *_ = ctx.vars[f"federated-logout:{login}"]
    ctx.verify(federation.reached, expected, went, hops)


@step("expect_target_session_ended", login=NAME)
def expect_target_session_ended(ctx: Context, login: str) -> None:
    """The target's own session is over (prompt=none there fails)"""
    session = login_named(ctx, login)
    ctx.verify(federation.session_cleared, f"the target's session of {login}",
               relying_party(ctx).silent(session.browser, session.client).alive)


def _probe(ctx: Context, upstream: MockUpstream) -> tuple[RelyingParty, Client]:
    settings = relying_party(ctx).settings
    # the probe only asks prompt=none: it never redeems a code, so it needs no secret
    client = Client(mockctl.PROBE_CLIENT, f"{ctx.target.callback_base}/cb/{mockctl.PROBE_CLIENT}")
    probe_settings = OidcSettings(upstream.url, (client,), settings.users, settings.login_forms,
                                  settings.login_max_steps, settings.logout_confirmation)
    rp: RelyingParty = ctx.runtime.cached(f"upstream-rp:{upstream.url}",
                                          lambda: RelyingParty(ctx.runtime, probe_settings))
    return rp, client


@step("expect_upstream_session", login=NAME, state={"enum": ["judged", "report"], "default": "judged"})
def expect_upstream_session(ctx: Context, login: str, state: str) -> None:
    """The upstream's session: over after a federated logout; surviving without federated is by design"""
    federated_state: _Federated = ctx.vars[f"federated:{login}"]
    rp, client = _probe(ctx, federated_state.upstream)
    alive = rp.silent(federated_state.login.browser, client).alive
    federated = ctx.vars[f"federated-logout:{login}"][4]
    label = f"the upstream ({federated_state.upstream.name}) session"
    if federated and state == "judged":
        ctx.verify(federation.upstream_ended, label, alive)
    elif federated:
        ctx.note(f"the federated logout {'did not reach' if alive else 'still reached'} {label}: it "
                 f"{'survives' if alive else 'ended'}")
    else:
        ctx.note(f"without federated {label} {'survives, by design' if alive else 'ended all the same'}")


@step("expect_session_index_sent", login=NAME)
def expect_session_index_sent(ctx: Context, login: str) -> None:
    """The LogoutRequest the target sent to the SAML upstream carried the login's SessionIndex"""
    federated_state: _Federated = ctx.vars[f"federated:{login}"]
    if federated_state.upstream.kind != "saml":
        raise NotApplicable("the connection is not SAML")
    before = ctx.vars[f"federated-logout:{login}"][3]
    sent = None
    for exchange in ctx.recorder.exchanges[before:]:
        if exchange.url.startswith(federated_state.upstream.url) and "SAMLRequest=" in exchange.url:
            request = parse_logout_request(decode_redirect(exchange.url).xml)
            sent = request.session_indexes
            break
    ctx.verify(federation.session_index_sent, federated_state.session_index, sent)
