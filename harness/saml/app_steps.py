"""Scenario steps for a SAML SP application under test: log in through its IdP, speak to it as that
IdP (valid, forged, replayed and mis-scoped LogoutRequests), watch its own logout, and probe its
protected page to tell a live session from a dead one.

Every IdP-initiated request reaches the app through a fresh browser, never the one holding the
session: an SP must find the session from the message (NameID, SessionIndex), not from a cookie.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import httpx

from harness import formwalker
from harness.engine import Context
from harness.errors import ConfigError, NotApplicable, TargetError
from harness.formwalker import FormRule
from harness.http import HttpPool, origin
from harness.saml import binding_rules, core, profiles, security
from harness.saml.bindings import (
    Decoded,
    decode_post,
    decode_post_page,
    decode_redirect,
    find_post_form,
)
from harness.saml.messages import (
    Assertion,
    LogoutRequest,
    LogoutResponse,
    build_logout_request,
    parse_logout_request,
    parse_logout_response,
    parse_response,
    sign,
    wrap,
)
from harness.saml.metadata import IdpMetadata, SpMetadata, fetch_idp_metadata, fetch_sp_metadata
from harness.saml.sp import outgoing_request
from harness.saml.steps import (
    MAX_RELAY_STATE,
    SCOPES,
    SIGNED_AS,
    SIGNING,
    USER_ROLES,
    credentials,
    evidence,
)
from harness.saml.xml import MalformedMessage
from harness.steps import preflight, step
from harness.target import SamlApp, Target

NAME = {"type": "string", "pattern": "^[a-z][a-z0-9_-]*$"}
TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
#: a NameID Format other than the asserted one, for the strong-match cases
OTHER_FORMAT = {TRANSIENT: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"}
OTHER_SP = "http://other-sp.invalid/metadata"
OTHER_IDP = "http://other-idp.invalid/metadata"
#: the IdP's auto-posting form that carries the login Response to the app's ACS
SAML_POST = FormRule(name="saml-post", fields=("SAMLResponse",))


@preflight("saml-sp")
def reach_app(target: Target, pool: HttpPool) -> None:
    if target.saml and target.saml.app and target.saml.app.metadata_url.startswith("http"):
        pool.client().get(target.saml.app.metadata_url)


@dataclass
class _App:
    """What the steps know of the app and of the IdP it trusts (whose key the harness holds)."""

    app: SamlApp
    sp: SpMetadata
    idp: IdpMetadata
    credentials: tuple[str, str] | None


def _app(ctx: Context) -> _App:
    state: _App = ctx.runtime.cached("saml-app", lambda: _load(ctx))
    return state


def _load(ctx: Context) -> _App:
    target = ctx.target
    saml = target.saml
    if saml is None or saml.app is None or not saml.idp.metadata_url:
        raise NotApplicable("the target file describes no SAML SP app with its IdP (saml.app, saml.idp)")
    client = ctx.runtime.http.client()
    key = target.mock_saml_key
    credentials = (key.key_pem(), key.cert_pem()) if key else None
    return _App(saml.app, fetch_sp_metadata(client, saml.app.metadata_url),
                fetch_idp_metadata(client, saml.idp.metadata_url), credentials)


def _idp_keys(ctx: Context) -> tuple[str, str]:
    keys = _app(ctx).credentials
    if keys is None:
        raise NotApplicable("speaking as the app's IdP needs its SAML key (mock_idp.saml_key in the target file)")
    return keys


def _alive(ctx: Context, browser: httpx.Client) -> bool:
    app = _app(ctx).app
    page = browser.get(app.protected_url)
    return page.status_code == app.alive_status and (app.alive_contains is None or app.alive_contains in page.text)


@dataclass
class _Login:
    browser: httpx.Client
    assertion: Assertion


def _login(ctx: Context, name: str) -> _Login:
    login: _Login = ctx.vars[f"app-login:{name}"]
    return login


def _sign_in(ctx: Context, browser: httpx.Client, user: str) -> tuple[Assertion, bool]:
    """SP-initiated SSO through the IdP's forms: the assertion the app received, and whether the app
    then has a live session."""
    state, saml = _app(ctx), ctx.target.saml
    assert saml is not None
    before = len(ctx.recorder.exchanges)
    formwalker.walk(browser, state.app.login_url, [*saml.idp.login_forms, SAML_POST], credentials(ctx, user),
                    stay_on=[origin(state.app.login_url), origin(state.idp.entity_id)],
                    max_steps=saml.idp.login_max_steps)
    posted = [e for e in ctx.recorder.exchanges[before:] if e.method == "POST" and "SAMLResponse=" in e.request_body]
    if not posted:
        raise TargetError(f"logging in at {state.app.login_url} never reached the app's ACS; check the IdP's login forms")
    decoded = decode_post(posted[-1].request_body, certs=state.idp.signing_certs)
    evidence(ctx, "Response the IdP posted to the app", decoded)
    assertion = parse_response(decoded.xml, certs=state.idp.signing_certs).assertion
    if assertion is None:
        raise TargetError("the IdP's Response to the app holds no readable assertion")
    return assertion, _alive(ctx, browser)


@step("app_login", **{"as": NAME, "user": USER_ROLES})
def app_login(ctx: Context, user: str, **kw: str) -> None:
    """Log in at the SP app through its IdP; the app's protected page must then answer"""
    browser = ctx.runtime.http.browser()
    assertion, alive = _sign_in(ctx, browser, user)
    if not alive:
        raise TargetError(f"after logging in, {_app(ctx).app.protected_url} does not show a live session")
    ctx.vars[f"app-login:{kw['as']}"] = _Login(browser, assertion)


@dataclass
class _IdpLogout:
    """A LogoutRequest the harness sent as the IdP, and the app's answer."""

    request: LogoutRequest
    xml: str
    signing: str
    binding: str
    relay_state: str
    sent_to: str
    status: int
    answer: Decoded | None
    error: str | None


def _idp_logout(ctx: Context, name: str) -> _IdpLogout:
    logout: _IdpLogout = ctx.vars[f"app-idp-logout:{name}"]
    return logout


@step("idp_logout_request", **{
    "as": NAME, "login": NAME,
    "binding": {"enum": ["redirect", "post"], "default": "redirect"},
    "signature": {"enum": ["valid", "none", "other-key", "tampered", "wrapped"], "default": "valid"},
    "destination": {"enum": ["right", "wrong"], "default": "right"},
    "scope": SCOPES,
    "replay_of": {"type": "string", "default": ""},
    "via": {"enum": ["fresh", "victim"], "default": "fresh"},
    "name_id": {"enum": ["as-asserted", "other-format", "other-qualifier"], "default": "as-asserted"},
    "issuer": {"enum": ["right", "wrong"], "default": "right"},
})
def idp_logout_request(ctx: Context, login: str, binding: str, signature: str, destination: str, scope: str,
                       replay_of: str, via: str, name_id: str, issuer: str, **kw: str) -> None:
    """Send the app a LogoutRequest as its IdP would (or as an attacker would)

    ``via: fresh`` sends it from a browser without the app's cookie (the SP must find the session
    from the message); ``via: victim`` from the browser that holds the session, as a logout CSRF
    would make it.
    """
    state, session = _app(ctx), _login(ctx, login)
    slo = state.sp.slo.get(binding)  # type: ignore[call-overload]
    if slo is None:
        raise NotApplicable(f"the app publishes no SingleLogoutService for HTTP-{binding.title()}")
    signing = SIGNING.get(signature, "none")
    if replay_of:
        earlier = _idp_logout(ctx, replay_of)
        xml, signing = earlier.xml, earlier.signing
    else:
        assertion = _login(ctx, "other").assertion if scope == "other-user" else session.assertion
        xml = build_logout_request(
            issuer=state.idp.entity_id if issuer == "right" else OTHER_IDP,
            destination=state.sp.acs["post"].location if destination == "wrong" else slo.location,
            name_id=assertion.name_id or "",
            # the value alone is not the identifier: Format and qualifiers are part of it (strong match)
            name_id_format=(OTHER_FORMAT.get(assertion.name_id_format or "", TRANSIENT)
                            if name_id == "other-format" else assertion.name_id_format),
            session_indexes=_indexes(session.assertion, scope),
            not_on_or_after=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5),
            nameid_sp_name_qualifier=(OTHER_SP if name_id == "other-qualifier" else assertion.sp_name_qualifier),
            nameid_name_qualifier=assertion.name_qualifier,
        )
    if signature == "wrapped":
        xml = _wrapped(ctx, state, xml, binding)
    relay = secrets.token_urlsafe(MAX_RELAY_STATE)[:MAX_RELAY_STATE]
    fresh = ctx.runtime.http.browser() if via == "fresh" else session.browser
    request, sent = outgoing_request(fresh, xml, binding, slo.location, relay, signing, "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",  # type: ignore[arg-type]
                                     _idp_keys(ctx))
    evidence(ctx, f"LogoutRequest sent to the app ({binding})", sent)
    answer = fresh.send(request)
    decoded, error = _answer(answer, state)
    recorded_as = "wrapped" if signature == "wrapped" else signing
    ctx.vars[f"app-idp-logout:{kw['as']}"] = _IdpLogout(parse_logout_request(sent.xml), xml, recorded_as, binding, relay,
                                                          slo.location, answer.status_code, decoded, error)
    if decoded is not None:
        evidence(ctx, "the app's answer", decoded)


def _wrapped(ctx: Context, state: _App, forged: str, binding: str) -> str:
    """XSW: a LogoutRequest the IdP really signed, for the attacker's own session (the ``other``
    login), hidden inside the forged one."""
    if binding != "post":
        raise ConfigError("signature wrapping needs an XML signature: binding post")
    own = _login(ctx, "other").assertion
    legit = build_logout_request(
        issuer=state.idp.entity_id, destination=state.sp.slo["post"].location, name_id=own.name_id or "",
        name_id_format=own.name_id_format, session_indexes=[own.session_index] if own.session_index else [],
        not_on_or_after=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5),
        nameid_sp_name_qualifier=own.sp_name_qualifier, nameid_name_qualifier=own.name_qualifier)
    key, cert = _idp_keys(ctx)
    return wrap(sign(legit, key, cert), forged)


def _indexes(assertion: Assertion, scope: str) -> list[str]:
    own = assertion.session_index
    unknown = f"_unknown{secrets.token_hex(8)}"
    if scope == "no-index":
        return []
    if own is None:
        raise NotApplicable("the IdP's assertion carried no SessionIndex to name")
    return {"own": [own], "other-user": [own], "unknown-index": [unknown], "two-first-valid": [own, unknown],
            "two-second-valid": [unknown, own]}[scope]


def _answer(answer: httpx.Response, state: _App) -> tuple[Decoded | None, str | None]:
    """The app's LogoutResponse to the IdP: in a redirect, or in an auto-posting page."""
    certs = state.sp.signing_certs
    try:
        location = answer.headers.get("location")
        if answer.is_redirect and location and ("SAMLResponse=" in location):
            return decode_redirect(str(answer.url.join(location)), certs=certs), None
        if "SAMLResponse" in answer.text:
            return decode_post_page(answer.text, page_url=str(answer.url), certs=certs), None
    except MalformedMessage as exc:
        return None, str(exc)
    return None, "no SAML message in the answer"


def _response(record: _IdpLogout) -> LogoutResponse | None:
    if record.answer is None:
        return None
    try:
        return parse_logout_response(record.answer.xml, certs=[])
    except MalformedMessage:
        return None


@step("expect_app_logout_response", logout=NAME)
def expect_app_logout_response(ctx: Context, logout: str) -> None:
    """The app answered Success, signed, InResponseTo the request, RelayState as sent"""
    record = _idp_logout(ctx, logout)
    response = _response(record)
    if response is None or record.answer is None:
        raise TargetError(f"the app sent no LogoutResponse (HTTP {record.status}: {record.error})")
    ctx.verify(core.top_level_status, response)
    ctx.verify(core.in_response_to_matches, response, record.request.id)
    ctx.verify(profiles.response_signed, record.answer)
    echo = binding_rules.relay_state_echoed if record.binding == "redirect" else binding_rules.relay_state_echoed_post
    ctx.verify(echo, record.relay_state, record.answer.relay_state)


@step("expect_app_refused", logout=NAME, login=NAME,
      because={"enum": ["SAMLCore-3.7.3.1-auth", "SAMLCore-3.2.1-destination", "SAMLSec-replay"]})
def expect_app_refused(ctx: Context, logout: str, login: str, because: str) -> None:
    """The app did not act on the LogoutRequest, and refused with SAML, not an HTTP error"""
    record = _idp_logout(ctx, logout)
    acted_on = not _alive(ctx, _login(ctx, login).browser)
    ctx.note(f"the app's session after the request: {'ended' if acted_on else 'alive'}")
    if because == "SAMLCore-3.7.3.1-auth":
        ctx.verify(core.participant_authenticates, acted_on, SIGNED_AS[record.signing])
    elif because == "SAMLCore-3.2.1-destination":
        ctx.verify(core.destination_honoured, record.request.destination, record.sent_to, acted_on)
    else:
        ctx.verify(security.replay_not_acted_on, record.request.id, acted_on)
    ctx.verify(binding_rules.no_http_error_for_saml_error, record.status, record.answer)


@step("expect_app_sessions", logout=NAME, case={"enum": SCOPES["enum"]})
def expect_app_sessions(ctx: Context, logout: str, case: str) -> None:
    """Exactly the sessions the LogoutRequest named have ended at the app"""
    sessions = {"the named session": "a", "the user's other session": "a2", "another user's session": "other"}
    alive = {label for label, name in sessions.items() if _alive(ctx, _login(ctx, name).browser)}
    ended = set(sessions) - alive
    expected = {"own": {"the named session"}, "unknown-index": set(), "other-user": set(),
                "no-index": {"the named session", "the user's other session"},
                "two-first-valid": {"the named session"}, "two-second-valid": {"the named session"}}[case]
    ctx.verify(core.sessions_ended, expected, ended, alive)


@step("expect_later_login_refused", logout=NAME, login=NAME)
def expect_later_login_refused(ctx: Context, logout: str, login: str) -> None:
    """Logging in again with the logged-out SessionIndex, before the request expires, gives no session"""
    record, session = _idp_logout(ctx, logout), _login(ctx, login)
    assertion, created = _sign_in(ctx, session.browser, "primary")
    if assertion.session_index not in record.request.session_indexes:
        ctx.note("the IdP gave the new login another SessionIndex: nothing to judge")
        return
    ctx.verify(core.later_assertion_refused, record.request, created, dt.datetime.now(dt.UTC))


@dataclass
class _AppLogout:
    request: LogoutRequest
    decoded: Decoded
    alive_when_sent: bool
    login: _Login


@step("app_logout", **{"as": NAME, "login": NAME})
def app_logout(ctx: Context, login: str, **kw: str) -> None:
    """Log out at the app: catch its LogoutRequest on the way to the IdP, then let the IdP answer"""
    state, session = _app(ctx), _login(ctx, login)
    if not state.app.logout_url:
        raise NotApplicable("the target file gives no logout_url for the app")
    saml = ctx.target.saml
    assert saml is not None
    app_origin, idp_origin = origin(state.app.login_url), origin(state.idp.entity_id)
    # stop where the LogoutRequest leaves the app: the local session must already be over
    walk = formwalker.walk(session.browser, state.app.logout_url, [], {}, stay_on=[app_origin])
    page = walk.final_response.text
    try:
        form = find_post_form(page, walk.final_url) if "SAMLRequest" in page else None
        if walk.external_redirect and "SAMLRequest=" in walk.external_redirect:
            decoded = decode_redirect(walk.external_redirect, certs=state.sp.signing_certs)
            onward = session.browser.build_request("GET", walk.external_redirect)
        elif form is not None:
            decoded = decode_post_page(page, page_url=walk.final_url, certs=state.sp.signing_certs)
            onward = session.browser.build_request("POST", form.action, data=dict(form.fields))
        else:
            raise TargetError(f"logging out at {state.app.logout_url} sent no LogoutRequest to the IdP "
                              f"(ended at {walk.final_url}, HTTP {walk.final_response.status_code})")
        request = parse_logout_request(decoded.xml)
    except MalformedMessage as exc:
        raise TargetError(f"the LogoutRequest the app sent when logging out at {state.app.logout_url} "
                          f"cannot be read: {exc}") from None
    evidence(ctx, "LogoutRequest the app sent", decoded)
    alive = _alive(ctx, session.browser)
    formwalker.walk(session.browser, onward, [*saml.idp.login_forms, SAML_POST], {},
                    stay_on=[app_origin, idp_origin])
    ctx.vars[f"app-logout:{kw['as']}"] = _AppLogout(request, decoded, alive, session)


@step("expect_app_logout_request", logout=NAME)
def expect_app_logout_request(ctx: Context, logout: str) -> None:
    """The app's LogoutRequest: signed, Issuer, the NameID and SessionIndex of the login, after the
    local session ended"""
    record: _AppLogout = ctx.vars[f"app-logout:{logout}"]
    ctx.verify(profiles.request_signed, record.decoded)
    ctx.verify(profiles.issuer_present, record.request, _app(ctx).sp.entity_id)
    ctx.verify(core.single_identifier, record.request)
    ctx.verify(profiles.session_index_sent, record.request)
    ctx.verify(profiles.name_id_matches, record.request, record.login.assertion)
    ctx.verify(security.local_session_ended_first, record.alive_when_sent)
