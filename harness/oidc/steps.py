"""Scenario steps for an OpenID Provider target: log in, log out, probe sessions and tokens, call checks.

Scenario files name clients and users by role (``primary``, ``secondary``, ``short-lived``), never by
the ids of one deployment, so one scenario runs against any OP that its target file describes.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from harness import rfc7009, rfc7662, token_rejection
from harness.engine import Context
from harness.errors import NotApplicable
from harness.http import HttpPool
from harness.oidc import discovery, jwt, rpinitiated
from harness.oidc.rp import Answer, Login, LogoutOutcome, RelyingParty
from harness.steps import preflight, step
from harness.target import Client, Target, User

CLIENT_ROLES = {"enum": ["primary", "secondary", "short-lived", "failing", "bystander"], "default": "primary"}
USER_ROLES = {"enum": ["primary", "secondary", "isolated"], "default": "primary"}
NAME = {"type": "string", "pattern": "^[a-z][a-z0-9_-]*$"}
#: longest wait the harness accepts for an ID token of a short-lived client to expire
MAX_EXPIRY_WAIT_S = 10.0
#: the Foundation suite's long-state case sends a few hundred characters
LONG_STATE_CHARS = 300


@preflight("oidc-op")
def reach_op(target: Target, pool: HttpPool) -> None:
    assert target.oidc is not None
    discovery.fetch(pool.client(), target.oidc.issuer)


def relying_party(ctx: Context) -> RelyingParty:
    rp: RelyingParty = ctx.runtime.cached("oidc.rp", lambda: RelyingParty(ctx.runtime))
    return rp


def client_role(ctx: Context, role: str) -> Client:
    oidc = relying_party(ctx).settings
    if role == "primary":
        return oidc.clients[0]
    if role == "secondary":
        if len(oidc.clients) < 2:
            raise NotApplicable("needs a second client in the target file")
        return oidc.clients[1]
    if role in ("failing", "bystander"):
        return _backchannel_client(ctx, role)
    short = [c for c in oidc.clients if c.id_token_lifetime is not None and c.id_token_lifetime <= MAX_EXPIRY_WAIT_S]
    if not short:
        raise NotApplicable(f"needs a client whose ID tokens live at most {MAX_EXPIRY_WAIT_S:.0f} s "
                            "(id_token_lifetime in the target file)")
    return short[0]


def _backchannel_client(ctx: Context, role: str) -> Client:
    """``failing``: a client whose back-channel logout URI the harness answers with an error;
    ``bystander``: another one with a back-channel logout URI, which scenarios never log in to."""
    target = ctx.target
    oidc = relying_party(ctx).settings
    with_uri = [c for c in oidc.clients if c.backchannel_logout_uri]

    def failing(c: Client) -> bool:
        return target.receiver_answers.get(urlsplit(c.backchannel_logout_uri or "").path, 200) >= 400

    if role == "failing":
        chosen = [c for c in with_uri if failing(c)]
        why = "a client whose backchannel_logout_uri is in harness.receiver_answers with an error status"
    else:
        chosen = [c for c in with_uri if not failing(c) and c not in oidc.clients[:2]]
        why = "a third client with a backchannel_logout_uri"
    if not chosen:
        raise NotApplicable(f"needs {why} in the target file")
    return chosen[0]


def user_role(ctx: Context, role: str) -> User:
    users = relying_party(ctx).settings.users
    if role == "secondary":
        if len(users) < 2:
            raise NotApplicable("needs a second test user in the target file")
        return users[1]
    if role == "isolated":
        # the third user is only ever used by serial scenarios, one at a time
        if len(users) < 3:
            raise NotApplicable("needs a third test user in the target file (for scenarios that end all "
                                "of a user's sessions)")
        return users[2]
    return users[0]


def login_named(ctx: Context, name: str) -> Login:
    login: Login = ctx.vars[f"login:{name}"]
    return login


def _logout(ctx: Context, name: str) -> LogoutOutcome:
    outcome: LogoutOutcome = ctx.vars[f"logout:{name}"]
    return outcome


def browser_named(ctx: Context, name: str) -> Any:
    key = f"browser:{name}"
    if key not in ctx.vars:
        ctx.vars[key] = ctx.runtime.http.browser()
    return ctx.vars[key]


@step("discovery")
def discovery_step(ctx: Context) -> None:
    """Read the OP's discovery document"""
    metadata = relying_party(ctx).metadata
    ctx.attach("discovery document", _pretty(metadata.raw), "application/json")
    ctx.verify(rpinitiated.end_session_published, metadata.raw)
    if metadata.end_session_endpoint:
        ctx.verify(rpinitiated.https_endpoint, metadata.end_session_endpoint)


@step("login", **{"as": NAME, "client": CLIENT_ROLES, "user": USER_ROLES,
                  "browser": {"type": "string", "default": ""}})
def login_step(ctx: Context, client: str, user: str, browser: str, **kw: str) -> None:
    """Log in through the OP's forms (authorization code flow with PKCE)"""
    name = kw["as"]
    chosen = client_role(ctx, client)
    login = relying_party(ctx).login(name, browser_named(ctx, browser or name), chosen, user_role(ctx, user))
    ctx.vars[f"login:{name}"] = login
    ctx.attach(f"ID token of {name} ({chosen.id}): header and claims", jwt.claims_summary(login.id_token),
               "application/json")


@step("logout", login=NAME)
def logout_step(ctx: Context, login: str) -> None:
    """Log the session out the ordinary way (hint, registered URI, confirmed)"""
    session = login_named(ctx, login)
    params = {"id_token_hint": session.id_token}
    if session.client.post_logout_redirect_uri:
        params["post_logout_redirect_uri"] = session.client.post_logout_redirect_uri
    ctx.vars[f"logout:{login}"] = relying_party(ctx).end_session(session.browser, params, "GET", confirm=True, probe=None)


@step("end_session", **{
    "as": NAME,
    "browser": NAME,
    "method": {"enum": ["GET", "POST"], "default": "GET"},
    "id_token_hint": {"type": "string", "default": ""},
    "hint_forgery": {"enum": ["none", "alg-none", "foreign-key"], "default": "none"},
    "client_id": {"enum": ["", "primary", "secondary"], "default": ""},
    "post_logout_redirect_uri": {"enum": ["none", "registered", "registered+query", "unregistered"],
                                 "default": "none"},
    "client": {"enum": ["", "primary", "secondary", "short-lived"], "default": ""},
    "state": {"enum": ["none", "short", "long"], "default": "none"},
    "confirm": {"type": "boolean", "default": True},
    "probe_before_confirm": {"enum": ["", "primary", "secondary"], "default": ""},
})
def end_session_step(ctx: Context, browser: str, method: str, id_token_hint: str, hint_forgery: str,
                     client_id: str, post_logout_redirect_uri: str, client: str, state: str, confirm: bool,
                     probe_before_confirm: str, **kw: str) -> None:
    """Send a logout request to the end-session endpoint and answer its confirmation page"""
    rp = relying_party(ctx)
    params: dict[str, str] = {}
    hint_login = login_named(ctx, id_token_hint) if id_token_hint else None
    if hint_login:
        params["id_token_hint"] = _forge(rp, hint_login.id_token, hint_forgery)
    if client_id:
        params["client_id"] = client_role(ctx, client_id).id
    uri_client = client_role(ctx, client) if client else (hint_login.client if hint_login else client_role(ctx, "primary"))
    registered = uri_client.post_logout_redirect_uri
    if post_logout_redirect_uri != "none":
        if not registered:
            raise NotApplicable(f"client {uri_client.id} has no post_logout_redirect_uri in the target file")
        params["post_logout_redirect_uri"] = {
            "registered": registered,
            "registered+query": f"{registered}{'&' if '?' in registered else '?'}foo=bar",
            "unregistered": f"{ctx.target.callback_base}/unregistered/{secrets.token_hex(4)}",
        }[post_logout_redirect_uri]
    if state != "none":
        params["state"] = secrets.token_urlsafe(LONG_STATE_CHARS if state == "long" else 12)[:LONG_STATE_CHARS]
    probe = client_role(ctx, probe_before_confirm) if probe_before_confirm else None
    outcome = rp.end_session(browser_named(ctx, browser), params, method, confirm=confirm, probe=probe)
    if probe is not None and not outcome.confirmation_shown:
        # nothing was asked: what counts is whether the session survived the request itself
        outcome.alive_before_confirm = rp.silent(browser_named(ctx, browser), probe).alive
    ctx.vars[f"logout:{kw['as']}"] = outcome
    ctx.verify(rpinitiated.endpoint_accepts, method, outcome.status, outcome.final_url)


def _forge(rp: RelyingParty, token: str, forgery: str) -> str:
    if forgery == "alg-none":
        return jwt.resign_alg_none(token)
    if forgery == "foreign-key":
        alg = jwt.decode_unverified(token)[0].get("alg", "RS256")
        return jwt.resign_with(token, rp.keys.key_for(alg), alg)
    return token


@step("expect_redirect", logout=NAME, required={"type": "boolean", "default": True},
      because={"enum": ["OIDCRIL-3-redirect", "OIDCRIL-4-expired"], "default": "OIDCRIL-3-redirect"})
def expect_redirect(ctx: Context, logout: str, required: bool, because: str) -> None:
    """The browser is sent back to the registered post_logout_redirect_uri, with the state as sent"""
    outcome = _logout(ctx, logout)
    uri = outcome.sent.get("post_logout_redirect_uri")
    assert uri, "expect_redirect needs an end_session that sent a post_logout_redirect_uri"
    if because == "OIDCRIL-4-expired":
        ctx.verify(rpinitiated.expired_hint_accepted, outcome.status, outcome.redirect, uri)
    elif required:
        ctx.verify(rpinitiated.redirected_to, uri, outcome.redirect)
    elif not outcome.redirect:
        ctx.note(f"no redirect to {uri} (allowed: the OP may end on its own page)")
        return
    ctx.verify(rpinitiated.state_returned, outcome.sent.get("state"), outcome.redirect, uri)


_NO_REDIRECT = {
    "OIDCRIL-3-exact": rpinitiated.no_redirect_to,
    "OIDCRIL-2-uri-needs-hint": rpinitiated.no_redirect_without_hint,
    "OIDCRIL-4-hint": rpinitiated.no_redirect_with_invalid_hint,
    "OIDCRIL-2-client-id": rpinitiated.no_redirect_on_client_mismatch,
}


@step("expect_no_redirect", logout=NAME, because={"enum": sorted(_NO_REDIRECT)})
def expect_no_redirect(ctx: Context, logout: str, because: str) -> None:
    """The browser is not sent to the post_logout_redirect_uri (nor to any RP when none was valid)"""
    outcome = _logout(ctx, logout)
    uri = outcome.sent.get("post_logout_redirect_uri")
    if uri is None:
        # nothing to follow: any redirect to a registered URI would come from nowhere
        registered = [c.post_logout_redirect_uri for c in relying_party(ctx).settings.clients if c.post_logout_redirect_uri]
        for candidate in registered:
            ctx.verify(_NO_REDIRECT[because], candidate, outcome.redirect)
        return
    ctx.verify(_NO_REDIRECT[because], uri, outcome.redirect)


@step("expect_confirmation", logout=NAME)
def expect_confirmation(ctx: Context, logout: str) -> None:
    """The OP asked the user before ending the session"""
    outcome = _logout(ctx, logout)
    assert outcome.alive_before_confirm is not None, "expect_confirmation needs end_session probe_before_confirm"
    ctx.verify(rpinitiated.asked_before_logout, outcome.confirmation_shown, outcome.alive_before_confirm)


@step("expect_hint_not_trusted", logout=NAME)
def expect_hint_not_trusted(ctx: Context, logout: str) -> None:
    """The OP did not act on an id_token_hint that fails validation"""
    outcome = _logout(ctx, logout)
    assert outcome.alive_before_confirm is not None, "expect_hint_not_trusted needs probe_before_confirm"
    ctx.verify(rpinitiated.invalid_hint_not_used, outcome.confirmation_shown, outcome.alive_before_confirm)


@step("expect_not_an_error", logout=NAME)
def expect_not_an_error(ctx: Context, logout: str) -> None:
    """Logging out without a session ends normally (redirect or signed-out page), not in an error"""
    outcome = _logout(ctx, logout)
    ctx.verify(rpinitiated.not_logged_in_ok, outcome.status, outcome.redirect)


@step("expect_session", browser=NAME, client=CLIENT_ROLES, state={"enum": ["alive", "ended"]},
      because={"enum": ["OIDCRIL-2-logout", "LOGOUT-TR-precision"], "default": "OIDCRIL-2-logout"})
def expect_session(ctx: Context, browser: str, client: str, state: str, because: str) -> None:
    """Probe the browser's OP session with a prompt=none authorization request"""
    result = relying_party(ctx).silent(browser_named(ctx, browser), client_role(ctx, client))
    ctx.note(f"session of {browser}: {result.detail}")
    if state == "ended":
        ctx.verify(rpinitiated.session_ended, result.alive, result.detail)
    else:
        ctx.verify(token_rejection.other_session_alive, f"the OP session of browser {browser}", result.alive)


@step("wait_id_token_expiry", login=NAME)
def wait_id_token_expiry(ctx: Context, login: str) -> None:
    """Wait until the login's ID token has expired (its own exp; bounded)"""
    exp = login_named(ctx, login).claims.get("exp")
    left = float(exp) - time.time() + 1.0 if isinstance(exp, int | float) else MAX_EXPIRY_WAIT_S + 1
    if left > MAX_EXPIRY_WAIT_S:
        raise NotApplicable(f"the ID token expires in {left:.0f} s, more than the {MAX_EXPIRY_WAIT_S:.0f} s the "
                            "harness waits")
    ctx.wait_for_clock(max(0.0, left), f"the ID token of {login} to expire")


TOKENS = {"type": "array", "uniqueItems": True,
          "items": {"enum": ["refresh", "introspect-access", "introspect-refresh", "userinfo"]},
          "default": ["refresh", "introspect-access", "introspect-refresh", "userinfo"]}


@step("expect_tokens_rejected", login=NAME, tokens=TOKENS)
def expect_tokens_rejected(ctx: Context, login: str, tokens: list[str]) -> None:
    """The logged-out session's tokens no longer work"""
    rp, session = relying_party(ctx), login_named(ctx, login)
    for kind in tokens:
        if kind == "refresh":
            answer = _refresh(rp, session)
            ctx.verify(token_rejection.refresh_rejected, answer.status, answer.body, answer.content_type)
        elif kind == "userinfo":
            ctx.verify(token_rejection.userinfo_rejected, rp.userinfo(session.access_token).status)
        else:
            token = session.access_token if kind == "introspect-access" else _refresh_token(session)
            answer = rp.introspect(session.client, token)
            label = "the access token" if kind == "introspect-access" else "the refresh token"
            ctx.verify(token_rejection.session_token_inactive, answer.status, answer.body, answer.content_type, label)


@step("expect_tokens_work", login=NAME, tokens=TOKENS,
      because={"enum": ["LOGOUT-TR-precision", "RFC7009-2.1-client"], "default": "LOGOUT-TR-precision"})
def expect_tokens_work(ctx: Context, login: str, tokens: list[str], because: str) -> None:
    """The session's tokens still work"""
    rp, session = relying_party(ctx), login_named(ctx, login)
    if because == "RFC7009-2.1-client":
        revocation: Answer = ctx.vars["revocation"]
        ctx.verify(rfc7009.other_client_refused, revocation.status, _refresh(rp, session).status == 200,
                   revocation.body)
        return
    for kind in tokens:
        if kind == "refresh":
            answer = _refresh(rp, session)
            ctx.verify(token_rejection.still_works, "the refresh grant", answer.status, answer.body,
                       answer.content_type)
        elif kind == "userinfo":
            answer = rp.userinfo(session.access_token)
            ctx.verify(token_rejection.still_works, "userinfo", answer.status, answer.body, answer.content_type)
        else:
            token = session.access_token if kind == "introspect-access" else _refresh_token(session)
            answer = rp.introspect(session.client, token)
            active = bool(answer.body and answer.body.get("active") is True)
            ctx.verify(token_rejection.still_works, f"introspection of the {kind[11:]} token",
                       answer.status if active else 401, answer.body, answer.content_type)


def _refresh_token(session: Login) -> str:
    if not session.refresh_token:
        raise NotApplicable(f"the OP issued no refresh token to {session.client.id} (without offline_access)")
    return session.refresh_token


def _refresh(rp: RelyingParty, session: Login) -> Answer:
    return rp.refresh(session.client, _refresh_token(session))


@step("revoke", login={**NAME, "default": ""}, client=CLIENT_ROLES,
      token={"enum": ["refresh", "access", "unknown"]},
      hint={"enum": ["", "refresh_token", "access_token"], "default": ""},
      as_client={"enum": ["", "primary", "secondary"], "default": ""})
def revoke_step(ctx: Context, login: str, client: str, token: str, hint: str, as_client: str) -> None:
    """Revoke a token at the revocation endpoint (RFC 7009)"""
    rp = relying_party(ctx)
    if token == "unknown":
        answer = rp.revoke(client_role(ctx, client), secrets.token_urlsafe(32), hint or None)
        ctx.verify(rfc7009.unknown_token_ok, answer.status, answer.body)
        return
    session = login_named(ctx, login)
    value = _refresh_token(session) if token == "refresh" else session.access_token
    caller = client_role(ctx, as_client) if as_client else session.client
    ctx.vars["revocation"] = rp.revoke(caller, value, hint or None)


@step("expect_revoked", login=NAME, token={"enum": ["refresh", "access"]},
      because={"enum": ["RFC7009-2.1-refresh", "RFC7009-2.1-access", "RFC7009-2.1-grant", "RFC7009-2.1-hint"],
               "default": "RFC7009-2.1-refresh"})
def expect_revoked(ctx: Context, login: str, token: str, because: str) -> None:
    """The revoked token (or its grant's access token) no longer works"""
    rp, session = relying_party(ctx), login_named(ctx, login)
    revocation: Answer = ctx.vars["revocation"]
    if token == "refresh":
        usable = _refresh(rp, session).status == 200
    else:
        answer = rp.introspect(session.client, session.access_token)
        usable = bool(answer.body and answer.body.get("active") is True)
    if because == "RFC7009-2.1-refresh":
        ctx.verify(rfc7009.refresh_token_revoked, revocation.status, usable, revocation.body)
    elif because == "RFC7009-2.1-access":
        ctx.verify(rfc7009.access_token_revoked, revocation.status, usable, revocation.body)
    elif because == "RFC7009-2.1-grant":
        ctx.verify(rfc7009.grant_access_tokens_invalidated, usable)
    else:
        ctx.verify(rfc7009.found_despite_wrong_hint, "access_token", revocation.status, usable, revocation.body)


@step("expect_introspection_needs_auth", login=NAME)
def expect_introspection_needs_auth(ctx: Context, login: str) -> None:
    """Introspection without client authentication reveals nothing"""
    answer = relying_party(ctx).introspect(None, login_named(ctx, login).access_token)
    ctx.verify(rfc7662.introspection_requires_auth, answer.status, answer.body, answer.content_type)


@step("expect_inactive", login=NAME, token={"enum": ["revoked", "unknown"]})
def expect_inactive(ctx: Context, login: str, token: str) -> None:
    """Introspection answers active false, and nothing more, for a revoked or unknown token"""
    session = login_named(ctx, login)
    value = _refresh_token(session) if token == "revoked" else secrets.token_urlsafe(32)
    answer = relying_party(ctx).introspect(session.client, value)
    ctx.verify(rfc7662.introspection_inactive, answer.status, answer.body, answer.content_type,
               f"the {token} token")
    ctx.verify(rfc7662.inactive_without_details, answer.body, answer.content_type)


def _pretty(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True)
