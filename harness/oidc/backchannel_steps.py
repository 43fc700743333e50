"""Scenario steps for an OP's back-channel logout: the harness hosts the RPs' receivers and judges every
logout token that reaches them (https://openid.net/specs/openid-connect-backchannel-1_0.html).

The receiver runs once per run (``harness/receiver.py``) at the target's callback base; every worker
reads it over HTTP. A delivery is this scenario's when its token names a session this scenario
logged in (sid), or its user when the token has no sid; a delivery that cannot be read at all is
taken when it arrived during the scenario, so a broken token is judged, not lost.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from harness.casdoor_steps import sso_logout_call
from harness.engine import Context
from harness.errors import NotApplicable, Violation
from harness.oidc import backchannel, jwt
from harness.oidc.rp import Login
from harness.oidc.steps import (
    CLIENT_ROLES,
    NAME,
    USER_ROLES,
    client_role,
    login_named,
    relying_party,
    user_role,
)
from harness.receiver import Received, ReceiverClient
from harness.steps import step

#: a leeway for iat and exp between the target's clock and the harness's
CLOCK_SKEW_S = 5.0
#: how long after its logout answered a token still counts as sent for it, when nothing else ties it
ORPHAN_GRACE_S = 1.0
#: deliveries shown decoded in the report (a fan-out would bury the reader)
EVIDENCE_TOKENS = 3
NAMES = {"type": "array", "minItems": 1, "items": NAME}


def _receiver(ctx: Context) -> ReceiverClient:
    client: ReceiverClient = ctx.runtime.cached(
        "receiver", lambda: ReceiverClient(ctx.runtime.http.client(), ctx.target.callback_base))
    return client


def _path(login: Login) -> str:
    uri = login.client.backchannel_logout_uri
    if not uri:
        raise NotApplicable(f"client {login.client.id} has no backchannel_logout_uri in the target file")
    return urlsplit(uri).path


def _logins(ctx: Context, names: list[str]) -> list[Login]:
    """Named logins; a fan-out group (``fan_out_login``) stands for all of its logins."""
    found: list[Login] = []
    for name in names:
        group: list[Login] | None = ctx.vars.get(f"fan:{name}")
        found += group if group is not None else [login_named(ctx, name)]
    return found


def _belongs(ctx: Context, record: Received, login: Login) -> bool:
    claims = backchannel.peek_claims(record.body)
    if claims is None:
        return record.received_at >= ctx.started_at
    sid, own_sid = claims.get("sid"), login.claims.get("sid")
    if isinstance(sid, str) and isinstance(own_sid, str):
        return sid == own_sid
    return claims.get("sub") == login.claims.get("sub") and record.received_at >= ctx.started_at


def _matcher(ctx: Context, logins: list[Login]) -> tuple[str, Callable[[Received], Login | None]]:
    """The receiver path prefix to read, and which login (if any) a delivery belongs to."""
    by_path: dict[str, list[Login]] = {}
    for login in logins:
        by_path.setdefault(_path(login), []).append(login)
    prefix = os.path.commonprefix(list(by_path))

    def owner(record: Received) -> Login | None:
        return next((login for login in by_path.get(record.path, ()) if _belongs(ctx, record, login)), None)

    return prefix, owner


@step("backchannel_discovery")
def backchannel_discovery(ctx: Context) -> None:
    """The OP's discovery document says it supports back-channel logout (it has clients that use it)"""
    oidc = relying_party(ctx).settings
    if not any(c.backchannel_logout_uri for c in oidc.clients):
        raise NotApplicable("no client in the target file has a backchannel_logout_uri")
    ctx.verify(backchannel.metadata, relying_party(ctx).metadata.raw, True)


@step("expect_id_token_sid", login=NAME)
def expect_id_token_sid(ctx: Context, login: str) -> None:
    """With backchannel_logout_session_supported, the login's ID token carries sid"""
    ctx.verify(backchannel.id_token_sid, relying_party(ctx).metadata.raw, login_named(ctx, login).claims)


@step("fan_out_login", **{"as": NAME, "browser": NAME})
def fan_out_login(ctx: Context, browser: str, **kw: str) -> None:
    """Sign in to every fan-out client of the target file in one browser (its OP session is reused)"""
    clients = relying_party(ctx).settings.fan_out
    if not clients:
        raise NotApplicable("the target file has no fan-out clients (oidc.fan_out)")
    first = login_named(ctx, browser)
    rp, started = relying_party(ctx), time.perf_counter()
    ctx.vars[f"fan:{kw['as']}"] = [rp.login(f"{kw['as']}-{i}", first.browser, client, first.user)
                                   for i, client in enumerate(clients, start=1)]
    ctx.note(f"signed in to {len(clients)} fan-out clients in {time.perf_counter() - started:.2f} s")


@step("logout_via", login=NAME, entry={"enum": ["end-session", "casdoor-sso-logout"]})
def logout_via(ctx: Context, login: str, entry: str) -> None:
    """Log the session out at one of the OP's logout entry points"""
    session = login_named(ctx, login)
    ctx.vars[f"logout-began-at:{login}"] = time.time()
    if entry == "casdoor-sso-logout":
        sso_logout_call(ctx, login, auth="bearer", logout_all="false", method="POST")
    else:
        params = {"id_token_hint": session.id_token}
        if session.client.post_logout_redirect_uri:
            params["post_logout_redirect_uri"] = session.client.post_logout_redirect_uri
        ctx.vars[f"logout:{login}"] = relying_party(ctx).end_session(session.browser, params, "GET", confirm=True,
                                                                     probe=None)
    ctx.vars[f"logged-out-at:{login}"] = time.time()


def _verify_once(ctx: Context) -> Callable[..., Any]:
    """ctx.verify for many tokens: a failure is recorded as usual, a pass once per requirement."""
    passed: set[str] = set()

    def verify(check: Callable[..., Any], *args: Any) -> Any:
        requirement = getattr(check, "requirement", "")
        if requirement in passed:
            try:
                return check(*args)
            except Violation:
                pass  # recorded below, with its evidence
        result = ctx.verify(check, *args)
        if ctx.findings and ctx.findings[-1].passed:
            passed.add(requirement)
        return result

    return verify


@dataclass(frozen=True)
class _Delivery:
    login: Login
    record: Received


def _collect(ctx: Context, logins: list[Login]) -> list[_Delivery]:
    """The first delivery for each login, waited for (bounded by the target's deliver bound)."""
    prefix, owner = _matcher(ctx, logins)
    deadline = time.monotonic() + ctx.target.backchannel.deliver
    wanted = len(logins)
    while True:
        records = _receiver(ctx).wait_for(prefix, lambda r: owner(r) is not None, wanted,
                                          max(deadline - time.monotonic(), 0.0))
        first: dict[str, _Delivery] = {}
        for record in records:
            who = owner(record)
            if who is not None:
                first.setdefault(who.name, _Delivery(who, record))
        missing = len(logins) - len(first)
        if not missing or len(records) < wanted or time.monotonic() >= deadline:
            break
        # resends were counted among the records: wait for as many more as are still missing
        wanted = len(records) + missing
    for login in logins:
        if login.name not in first and (orphan := _orphan(ctx, login, {d.record.seq for d in first.values()})):
            first[login.name] = _Delivery(login, orphan)
    return [first[login.name] for login in logins if login.name in first]


def _orphan(ctx: Context, login: Login, taken: set[int]) -> Received | None:
    """A token at the login's RP that names no session or user of this scenario but arrived while this
    scenario's logout was under way: a token about the wrong session or user is judged, not lost.

    Only looked for once the bound has passed without a token that is clearly this scenario's.
    """
    began = [v for k, v in ctx.vars.items() if k.startswith("logout-began-at:")]
    ended = [v for k, v in ctx.vars.items() if k.startswith("logged-out-at:")]
    if not began or not ended:
        return None
    start, end = min(began), max(ended) + ORPHAN_GRACE_S
    found = _receiver(ctx).quiet(_path(login), lambda r: start <= r.received_at <= end and r.seq not in taken, 0.0)
    return found[0] if found else None


@step("expect_logout_tokens", **{"for": NAMES})
def expect_logout_tokens(ctx: Context, **kw: list[str]) -> None:
    """Every RP of these logins gets one logout token, in time, that passes every rule of section 2.4"""
    logins = _logins(ctx, kw["for"])
    started = time.perf_counter()
    deliveries = _collect(ctx, logins)
    waited = time.perf_counter() - started
    got = {d.login.name for d in deliveries}
    ctx.verify(backchannel.delivered, [login.name for login in logins], got, ctx.target.backchannel.deliver)
    rp, verify = relying_party(ctx), _verify_once(ctx)
    seen: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()
    for number, delivery in enumerate(deliveries):
        record, login = delivery.record, delivery.login
        if number < EVIDENCE_TOKENS:
            ctx.attach(f"delivery to {record.path} for {login.name}", _evidence(record), "text/plain")
        request = verify(backchannel.logout_request, record.method, record.content_type, record.body)
        claims = backchannel.verify_token(
            verify, request.token, jwks=rp.jwks, alg=login.client.id_token_alg, op_issuer=rp.metadata.issuer,
            client_id=login.client.id, now=record.received_at, skew=CLOCK_SKEW_S, seen_jtis=seen,
            sub=login.claims.get("sub"), id_token_sid=login.claims.get("sid"),
            sid_required=login.client.backchannel_logout_session_required)
        if claims is not None and isinstance(claims.get("jti"), str):
            seen[claims["jti"]] = claims
    verified = time.perf_counter() - started
    _timing(ctx, kw["for"], deliveries, waited, verified)
    _no_resends(ctx, logins)


def _evidence(record: Received) -> str:
    """What the RP received, as a reviewer needs it: the request line, and the token decoded (no signature)."""
    kind = record.content_type or "no content-type"
    lines = [f"{record.method} {record.path} ({kind}, {record.length} bytes), answered {record.status}"]
    tokens = [v for k, v in parse_qsl(record.body, keep_blank_values=True) if k == "logout_token"]
    lines.append(jwt.claims_summary(tokens[0]) if len(tokens) == 1 else f"body: {record.body[:300]}")
    return "\n".join(lines)


def _timing(ctx: Context, names: list[str], deliveries: list[_Delivery], waited: float, verified: float) -> None:
    """Figures for the report (and the fan-out benchmark, which reads this note)."""
    if not deliveries:
        return
    count = len(deliveries)
    began = next((ctx.vars[f"logout-began-at:{n}"] for n in names if f"logout-began-at:{n}" in ctx.vars), None)
    ended = next((ctx.vars[f"logged-out-at:{n}"] for n in names if f"logged-out-at:{n}" in ctx.vars), None)
    arrivals = sorted(d.record.received_at for d in deliveries)
    text = f"{count} logout token(s)"
    if began is not None and ended is not None:
        text += f": the last arrived {(arrivals[-1] - began) * 1000:.0f} ms after the logout began " \
                f"(the logout took {(ended - began) * 1000:.0f} ms"
        late = [a for a in arrivals if a > ended]
        text += "; all arrived before it answered: RPs notified before the redirect)" if not late \
            else f"; {len(late)} arrived after it answered)"
    text += f"; verified in {verified * 1000:.0f} ms ({verified * 1000 / count:.2f} ms each)"
    ctx.note(f"{text}; the harness waited {waited * 1000:.0f} ms for them")


def _no_resends(ctx: Context, logins: list[Login]) -> None:
    """After the expected tokens, nothing more for these sessions within the quiet window (2.8: no resend
    after success)."""
    prefix, owner = _matcher(ctx, logins)
    records = _receiver(ctx).quiet(prefix, lambda r: owner(r) is not None, ctx.target.backchannel.quiet)
    by_login: dict[str, list[tuple[float, int]]] = {}
    for record in records:
        who = owner(record)
        assert who is not None
        by_login.setdefault(who.name, []).append((record.received_at, record.status))
    verify = _verify_once(ctx)
    for attempts in by_login.values():
        verify(backchannel.retries, attempts, ctx.target.backchannel.min_retry_delay)


@step("expect_no_logout_token", login={**NAME, "default": ""}, client={**CLIENT_ROLES, "default": ""},
      user=USER_ROLES, because={"enum": ["OIDCBCL-2.3-recipients"]})
def expect_no_logout_token(ctx: Context, login: str, client: str, user: str, because: str) -> None:
    """Nothing reaches an RP about a session it has no part in (a client never used, another session)"""
    window = ctx.target.backchannel.quiet
    if login:
        other = login_named(ctx, login)
        sid = other.claims.get("sid")
        if not isinstance(sid, str):
            raise NotApplicable("the ID token has no sid: a token about another session cannot be told apart")

        def about_it(record: Received) -> bool:
            claims = backchannel.peek_claims(record.body)
            return claims is not None and claims.get("sid") == sid

        got = _receiver(ctx).quiet(_path(other), about_it, window)
        ctx.verify(backchannel.recipients, [f"{other.client.id} (about the session of {login})" for _ in got[:1]], [])
        return
    bystander = client_role(ctx, client)
    username = user_role(ctx, user).username
    subs = {v.claims.get("sub") for k, v in ctx.vars.items() if k.startswith("login:") and v.user.username == username}
    path = urlsplit(bystander.backchannel_logout_uri or "").path

    def about_user(record: Received) -> bool:
        claims = backchannel.peek_claims(record.body)
        return record.received_at >= ctx.started_at and (claims is None or claims.get("sub") in subs)

    got = _receiver(ctx).quiet(path, about_user, window)
    logged_in = [v.client.id for k, v in ctx.vars.items() if k.startswith("login:")]
    ctx.verify(backchannel.recipients, [bystander.id for _ in got[:1]], logged_in)


@step("expect_resends", login=NAME)
def expect_resends(ctx: Context, login: str) -> None:
    """Watch an RP that answers with an error: every attempt is reported; resends only after a delay"""
    session = login_named(ctx, login)
    prefix, owner = _matcher(ctx, [session])
    first = _receiver(ctx).wait_for(prefix, lambda r: owner(r) is not None, 1, ctx.target.backchannel.deliver)
    ctx.verify(backchannel.delivered, [session.name], {session.name} if first else set(),
               ctx.target.backchannel.deliver)
    records = _receiver(ctx).quiet(prefix, lambda r: owner(r) is not None, ctx.target.backchannel.retry_window)
    attempts = [(r.received_at, r.status) for r in records]
    if len(attempts) == 1:
        ctx.note(f"{session.client.id}: {backchannel.attempts_summary(attempts)}, no resend within "
                 f"{ctx.target.backchannel.retry_window:g} s")
    ctx.verify(backchannel.retries, attempts, ctx.target.backchannel.min_retry_delay)

