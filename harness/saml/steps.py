"""Scenario steps for a SAML 2.0 IdP target: log in through the harness's SP actors, log out in every
way the specs allow and the attacks try, probe the IdP session, call the SAML checks.

Scenario files name SP actors by position (``first``, ``second``, ``third``) and users by role
(``primary``, ``secondary``), never by one deployment's names.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from harness.engine import Context, Runtime
from harness.errors import NotApplicable, TargetError
from harness.http import HttpPool
from harness.saml import binding_rules, core, profiles, security
from harness.saml.bindings import Decoded
from harness.saml.messages import LogoutRequest, sign, wrap
from harness.saml.metadata import IdpMetadata, fetch_idp_metadata
from harness.saml.sp import FRESH, Journey, SloExchange, SpActor, SpHost, SpLogin
from harness.saml.xml import MalformedMessage, parse, pretty
from harness.steps import preflight, step
from harness.target import SamlSettings, Target

NAME = {"type": "string", "pattern": "^[a-z][a-z0-9_-]*$"}
SP_ROLES = {"enum": ["first", "second", "third"], "default": "first"}
USER_ROLES = {"enum": ["primary", "secondary", "isolated"], "default": "primary"}
BINDINGS = {"enum": ["redirect", "post", "soap"], "default": "redirect"}
#: RelayState may hold at most 80 bytes (SAML Bindings 3.4.3): the longest legal value is the test
MAX_RELAY_STATE = 80
#: scenario words for how a request is signed -> the SP actor's signing modes
SIGNING = {"valid": "actor", "none": "none", "other-key": "attacker", "tampered": "tampered"}
#: how a signing mode reads in a finding
SIGNED_AS = {"actor": "validly signed", "none": "unsigned", "attacker": "signed with a key nobody trusts",
             "tampered": "changed after signing",
             "wrapped": "signature-wrapped (XSW: a validly signed request for the sender's own session "
                        "hidden inside a forged one naming another user)"}
#: far enough in the past that no clock-skew allowance (SAML2int: 3 to 5 minutes) covers it
EXPIRED_BY = dt.timedelta(minutes=10)


@preflight("saml-idp")
def reach_idp(target: Target, pool: HttpPool) -> None:
    if target.saml and target.saml.idp.metadata_url:
        fetch_idp_metadata(pool.client(), target.saml.idp.metadata_url)


@dataclass
class _Saml:
    """What the SAML steps keep per worker: the SP actors' host and the IdP's metadata."""

    settings: SamlSettings
    host: SpHost
    idp: IdpMetadata


def _saml(ctx: Context) -> _Saml:
    state: _Saml = ctx.runtime.cached("saml", lambda: _start(ctx.runtime))
    return state


def _start(runtime: Runtime) -> _Saml:
    settings = runtime.target.saml
    if settings is None or not settings.idp.metadata_url:
        raise NotApplicable("the target file describes no SAML IdP (saml.idp.metadata_url)")
    actors = [SpActor.at(runtime.target.callback_base, s.name, s.key_pem(), s.cert_pem()) for s in settings.sps]
    host = SpHost(runtime.target.callback_base, actors, timeouts=runtime.http.timeouts)
    host.default_idp = fetch_idp_metadata(runtime.http.client(), settings.idp.metadata_url)
    return _Saml(settings, host, host.default_idp)


def _actor(ctx: Context, role: str) -> SpActor:
    sps = _saml(ctx).settings.sps
    index = ["first", "second", "third"].index(role)
    if len(sps) <= index:
        raise NotApplicable(f"needs {index + 1} SP actors in the target file (saml.sps)")
    return _saml(ctx).host.actor(sps[index].name)


def credentials(ctx: Context, role: str) -> dict[str, str]:
    """The login values of a test user: ``primary``, ``secondary``, or ``isolated`` (the third user,
    kept for serial scenarios that end every session of their principal)."""
    saml = ctx.target.saml
    users = saml.idp.users if saml else ()
    if not users or (role == "secondary" and len(users) < 2):
        raise NotApplicable(f"needs a {role} test user in saml.idp.users")
    if role == "isolated" and len(users) < 3:
        ctx.note("no third test user: the primary user stands in; run serial scenarios without parallel workers")
    user = {"secondary": users[1], "isolated": users[2] if len(users) > 2 else users[0]}.get(role, users[0])
    return {"username": user.username, "password": user.password.value() if user.password else ""}


def _browser(ctx: Context, name: str) -> httpx.Client:
    key = f"browser:{name}"
    if key not in ctx.vars:
        ctx.vars[key] = ctx.runtime.http.browser(mounts=_saml(ctx).host.mounts())
    browser: httpx.Client = ctx.vars[key]
    return browser


@dataclass
class _Login:
    actor: SpActor
    browser: httpx.Client
    login: SpLogin


@dataclass
class _Logout:
    """One logout as the steps saw it: the exchange (SP-initiated) or the journey (IdP-initiated)."""

    browser: httpx.Client
    journey: Journey
    exchange: SloExchange | None = None
    xml: str = ""
    signing: str = "actor"
    sent_at: dt.datetime | None = None
    initiator: SpActor | None = None


def _login(ctx: Context, name: str) -> _Login:
    login: _Login = ctx.vars[f"saml-login:{name}"]
    return login


def _logout(ctx: Context, name: str) -> _Logout:
    logout: _Logout = ctx.vars[f"saml-logout:{name}"]
    return logout


def evidence(ctx: Context, title: str, decoded: Decoded) -> None:
    """A SAML message for the report: pretty XML with its signature status, and for HTTP-Redirect
    the query split into its parts, as received (the signature covers them exactly so)."""
    ctx.attach(f"{title} (signature: {decoded.signature_status})", pretty_xml(decoded.xml), "application/xml")
    if decoded.query_parts:
        lines = [f"{name} = {value if len(value) <= 120 else value[:100] + f'... ({len(value)} chars)'}"
                 for name, value in decoded.query_parts]
        ctx.attach(f"{title}: HTTP-Redirect query parts", "\n".join(lines), "text/plain")


def pretty_xml(xml: str) -> str:
    """Indented for a reader; a message that does not parse is shown as it came."""
    try:
        return pretty(parse(xml, what="message"))
    except MalformedMessage:
        return xml


@step("saml_login", **{"as": NAME, "sp": SP_ROLES, "user": USER_ROLES, "browser": {"type": "string", "default": ""},
                       "binding": {"enum": ["redirect", "post"], "default": "redirect"}})
def saml_login(ctx: Context, sp: str, user: str, browser: str, binding: str, **kw: str) -> None:
    """Log in at an SP actor: signed AuthnRequest, the IdP's login forms, the Response at the ACS"""
    saml, actor = _saml(ctx), _actor(ctx, sp)
    client = _browser(ctx, browser or kw["as"])
    login = actor.login(client, saml.idp, saml.settings.idp.login_forms, credentials(ctx, user),
                        binding=binding)  # type: ignore[arg-type]
    ctx.vars[f"saml-login:{kw['as']}"] = _Login(actor, client, login)
    evidence(ctx, f"Response at {actor.name}", login.session.decoded)


@step("expect_session_index", login=NAME)
def expect_session_index(ctx: Context, login: str) -> None:
    """The login assertion's AuthnStatement carries a SessionIndex"""
    ctx.verify(profiles.session_index_in_assertion, _assertion(_login(ctx, login)))


def _assertion(login: _Login) -> Any:
    assertion = login.login.session.response.assertion
    if assertion is None:
        raise TargetError(f"the Response at {login.actor.name} holds no readable assertion")
    return assertion


@step("saml_participant_fails", sp=SP_ROLES, browser=NAME,
      answer={"enum": ["responder", "unsigned", "wrong-in-response-to"], "default": "responder"})
def saml_participant_fails(ctx: Context, sp: str, browser: str, answer: str) -> None:
    """Make an SP actor fail the IdP's LogoutRequests: status Responder, or a Success the IdP must
    not trust (unsigned, or answering another request)"""
    actor = _actor(ctx, sp)
    actor.misbehave(_browser(ctx, browser), answer)  # type: ignore[arg-type]
    ctx.vars.setdefault("saml-failing", []).append(actor.name)


SCOPES = {"enum": ["own", "unknown-index", "other-user", "no-index", "two-first-valid", "two-second-valid"],
          "default": "own"}


@step("saml_logout", **{
    "as": NAME, "login": NAME, "binding": BINDINGS,
    "relay_state": {"enum": ["fresh", "none", "max"], "default": "fresh"},
    "signature": {"enum": ["valid", "none", "other-key", "tampered"], "default": "valid"},
    "destination": {"enum": ["right", "wrong"], "default": "right"},
    "not_on_or_after": {"enum": ["future", "past"], "default": "future"},
    "scope": SCOPES,
    "replay_of": {"type": "string", "default": ""},
})
def saml_logout(ctx: Context, login: str, binding: str, relay_state: str, signature: str, destination: str,
                not_on_or_after: str, scope: str, replay_of: str, **kw: str) -> None:
    """Send an SP-initiated LogoutRequest (as crafted) and follow the IdP's chain to the end"""
    session = _login(ctx, login)
    actor, browser = session.actor, session.browser
    if binding not in _saml(ctx).idp.slo:
        raise NotApplicable(f"the IdP publishes no SingleLogoutService for the {binding} binding")
    signing = SIGNING[signature]
    if replay_of:
        earlier = _logout(ctx, replay_of)
        xml, signing = earlier.xml, earlier.signing
    else:
        xml = actor.logout_request_for(
            browser, binding,  # type: ignore[arg-type]
            session_indexes=_session_indexes(ctx, session, scope),
            destination=_saml(ctx).idp.sso_endpoint("redirect").location if destination == "wrong" else None,
            name_id=_login(ctx, "other").login.session.name_id if scope == "other-user" else None,
            not_on_or_after=dt.datetime.now(dt.UTC) - EXPIRED_BY if not_on_or_after == "past" else None,
        )
    relay = {"fresh": FRESH, "none": None, "max": secrets.token_urlsafe(MAX_RELAY_STATE)[:MAX_RELAY_STATE]}[relay_state]
    sent_at = dt.datetime.now(dt.UTC)
    exchange = actor.send_logout_request(browser, xml, binding, signing=signing,  # type: ignore[arg-type]
                                         relay_state=relay)
    ctx.vars[f"saml-logout:{kw['as']}"] = _Logout(browser, exchange.journey, exchange, xml, signing, sent_at, actor)
    evidence(ctx, f"LogoutRequest from {actor.name} ({binding})", exchange.sent)
    if exchange.response is not None and exchange.response_decoded is not None:
        evidence(ctx, f"LogoutResponse to {actor.name}", exchange.response_decoded)


@step("saml_wrapped_logout", **{"as": NAME, "login": NAME, "victim": NAME})
def saml_wrapped_logout(ctx: Context, login: str, victim: str, **kw: str) -> None:
    """Send a signature-wrapped LogoutRequest (HTTP-POST): the sender's own, validly signed request
    hidden in a forged one that names the victim's NameID and SessionIndex"""
    session, target = _login(ctx, login), _login(ctx, victim)
    actor, browser = session.actor, session.browser
    if "post" not in _saml(ctx).idp.slo:
        raise NotApplicable("the IdP publishes no SingleLogoutService for HTTP-POST (wrapping needs XML signatures)")
    signed = sign(actor.logout_request_for(browser, "post"), actor.key_pem, actor.cert_pem)
    forged = actor.logout_request_for(
        browser, "post", name_id=target.login.session.name_id,
        session_indexes=[target.login.session.session_index] if target.login.session.session_index else [])
    xml = wrap(signed, forged)
    exchange = actor.send_logout_request(browser, xml, "post", signing="none")
    ctx.vars[f"saml-logout:{kw['as']}"] = _Logout(browser, exchange.journey, exchange, xml, "wrapped",
                                                  dt.datetime.now(dt.UTC), actor)
    evidence(ctx, f"wrapped LogoutRequest from {actor.name}", exchange.sent)


@step("expect_victim_session_kept", logout=NAME, victim=NAME)
def expect_victim_session_kept(ctx: Context, logout: str, victim: str) -> None:
    """The user a forged request named still has their IdP session"""
    record = _logout(ctx, logout)
    acted_on = not _idp_session_alive(ctx, _login(ctx, victim).browser)
    ctx.note(f"the victim's IdP session after the request: {'ended' if acted_on else 'alive'}")
    ctx.verify(core.request_authenticated, acted_on, SIGNED_AS[record.signing])


def _session_indexes(ctx: Context, session: _Login, scope: str) -> list[str] | None:
    own = session.login.session.session_index
    unknown = f"_unknown{secrets.token_hex(8)}"
    if scope in ("own", "other-user"):
        return None
    if scope == "no-index":
        return []
    if own is None:
        raise NotApplicable("the IdP's assertion carried no SessionIndex to name")
    return {"unknown-index": [unknown], "two-first-valid": [own, unknown], "two-second-valid": [unknown, own]}[scope]


@step("saml_idp_logout", **{"as": NAME, "browser": NAME})
def saml_idp_logout(ctx: Context, browser: str, **kw: str) -> None:
    """Start IdP-initiated logout at the IdP and follow it through every participant"""
    saml = _saml(ctx)
    template = saml.settings.idp.initiate_logout
    if not template:
        raise NotApplicable("the target file gives no IdP-initiated logout URL (saml.idp.initiate_logout)")
    client = _browser(ctx, browser)
    url = template.replace("{return_to}", quote(saml.host.landing_url, safe=""))
    journey = saml.host.follow(client, url, saml.idp, saml.settings.idp.login_forms)
    ctx.vars[f"saml-logout:{kw['as']}"] = _Logout(client, journey)


def _request_received(logout: _Logout, actor: SpActor) -> tuple[LogoutRequest | None, Any]:
    for name, received in logout.journey.received:
        if name == actor.name and isinstance(received.message, LogoutRequest):
            return received.message, received.decoded
    return None, None


@step("expect_participant_notified", logout=NAME, sp=SP_ROLES)
def expect_participant_notified(ctx: Context, logout: str, sp: str) -> None:
    """The participant got a signed, expiring LogoutRequest naming its own session"""
    record, actor = _logout(ctx, logout), _actor(ctx, sp)
    request, decoded = _request_received(record, actor)
    ctx.verify(core.participant_notified, actor.name, request)
    if request is None:
        return
    evidence(ctx, f"LogoutRequest the IdP sent to {actor.name}", decoded)
    ctx.verify(core.single_identifier, request)
    ctx.verify(profiles.issuer_present, request, _saml(ctx).idp.entity_id)
    ctx.verify(profiles.propagated_request_expires, request)
    ctx.verify(profiles.request_signed, decoded)
    sessions = actor.sessions(record.browser)
    if sessions and sessions[0].response.assertion is not None:
        ctx.verify(profiles.name_id_matches, request, sessions[0].response.assertion)


def _idp_session_alive(ctx: Context, browser: httpx.Client) -> bool:
    """Silent login at the third actor: an IdP session lets it through without any form."""
    saml = _saml(ctx)
    probe = _actor(ctx, "third")
    try:
        probe.login(browser, saml.idp, (), {})
    except TargetError:
        return False
    return True


@step("expect_logout_response", logout=NAME, status={"enum": ["success", "partial"]})
def expect_logout_response(ctx: Context, logout: str, status: str) -> None:
    """The initiator got a signed LogoutResponse: right status, InResponseTo and RelayState"""
    record = _logout(ctx, logout)
    exchange = record.exchange
    assert exchange is not None, "expect_logout_response follows an SP-initiated saml_logout"
    response, decoded = exchange.response, exchange.response_decoded
    alive = _idp_session_alive(ctx, record.browser)
    if response is None and exchange.unreadable:
        # an answer came but cannot be read: nothing to judge the IdP's logout by
        raise TargetError(exchange.why_no_response())
    ctx.verify(core.response_returned, response, "" if response else exchange.why_no_response())
    if response is None or decoded is None:
        ctx.verify(binding_rules.no_http_error_for_saml_error, exchange.first_status, None)
        return
    ctx.verify(core.top_level_status, response)
    ctx.verify(core.in_response_to_matches, response, exchange.request.id)
    failed = list(ctx.vars.get("saml-failing", [])) if status == "partial" else []
    ctx.verify(core.logout_status, response, not alive, failed)
    if exchange.binding != "soap":
        ctx.verify(profiles.response_signed, decoded)
        echo = binding_rules.relay_state_echoed if exchange.binding == "redirect" else binding_rules.relay_state_echoed_post
        ctx.verify(echo, exchange.relay_state, decoded.relay_state)


_REFUSALS = ("SAMLCore-3.7.3.2-auth", "SAMLCore-3.2.1-destination", "SAMLSec-replay", "SAMLCore-3.7.1-notonorafter")


@step("expect_logout_refused", logout=NAME, because={"enum": list(_REFUSALS)})
def expect_logout_refused(ctx: Context, logout: str, because: str) -> None:
    """The IdP did not act on the LogoutRequest, and said so with SAML, not an HTTP error"""
    record = _logout(ctx, logout)
    exchange = record.exchange
    assert exchange is not None and record.initiator is not None, "expect_logout_refused follows saml_logout"
    acted_on = not _idp_session_alive(ctx, record.browser)
    ctx.note(f"IdP session after the request: {'ended' if acted_on else 'alive'}")
    if exchange.response is None:
        ctx.note(f"the IdP's answer: {exchange.why_no_response()}")
    if because == "SAMLCore-3.7.3.2-auth":
        ctx.verify(core.request_authenticated, acted_on, SIGNED_AS[record.signing])
    elif because == "SAMLCore-3.2.1-destination":
        destination = exchange.request.destination
        received_at = _saml(ctx).idp.slo_endpoint(exchange.binding).location
        ctx.verify(core.destination_honoured, destination, received_at, acted_on)
    elif because == "SAMLSec-replay":
        ctx.verify(security.replay_not_acted_on, exchange.request.id, acted_on)
    else:
        assert record.sent_at is not None
        ctx.verify(core.expired_request_not_acted_on, exchange.request, acted_on, record.sent_at)
    ctx.verify(binding_rules.no_http_error_for_saml_error, exchange.first_status, exchange.response_decoded)


@step("expect_idp_session", browser=NAME, state={"enum": ["alive", "ended"]})
def expect_idp_session(ctx: Context, browser: str, state: str) -> None:
    """Probe the browser's IdP session with a silent login at another SP actor"""
    alive = _idp_session_alive(ctx, _browser(ctx, browser))
    ctx.note(f"IdP session of {browser}: {'alive' if alive else 'ended'} (wanted {state})")
    if (state == "alive") != alive:
        raise TargetError(f"the IdP session of {browser} is {'alive' if alive else 'ended'}, the scenario "
                          f"needs it {state} to go on")


@step("expect_idp_sessions", logout=NAME, case={"enum": SCOPES["enum"]})
def expect_idp_sessions(ctx: Context, logout: str, case: str) -> None:
    """Exactly the sessions the LogoutRequest named have ended at the IdP"""
    record = _logout(ctx, logout)
    mine = record.browser
    other = _login(ctx, "other").browser
    alive = {name for name, client in (("the logged-out user's", mine), ("the other user's", other))
             if _idp_session_alive(ctx, client)}
    ended = {"the logged-out user's", "the other user's"} - alive
    expected = set() if case in ("unknown-index", "other-user") else {"the logged-out user's"}
    ctx.verify(core.authority_sessions_ended, expected, ended, alive)
