"""Scenario steps for Casdoor's single sign-out, both sides: https://casdoor.org/docs/session/single-sign-out

Role ``casdoor``: the IdP's ``/api/sso-logout`` and the notifications it POSTs to the harness's
receiver (signed with the named client's secret). Role ``casdoor-receiver``: the harness plays
Casdoor towards an app's notification webhook and looks at the app's sessions afterwards.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from harness import app_session, casdoor
from harness.engine import Context
from harness.errors import NotApplicable, TargetError
from harness.oidc.rp import Answer, Login, basic_auth
from harness.oidc.rp_app_steps import RpLogin, rp_app, rp_login_named
from harness.oidc.steps import NAME, login_named, relying_party
from harness.receiver import Received, ReceiverClient
from harness.steps import step
from harness.target import CasdoorSettings

#: logoutAll values that end every session of the user (absent too), as the documentation lists them
LOGOUT_ALL = ("true", "1", "", "absent")
NAMES = {"type": "array", "items": NAME, "default": []}
NOTIFICATION_VARIANTS = ["valid", *casdoor.VARIANTS]


def _settings(ctx: Context) -> CasdoorSettings:
    if ctx.target.casdoor is None:
        raise NotApplicable("the target file has no 'casdoor' section (the Casdoor dialect)")
    return ctx.target.casdoor


# ---- the IdP's side -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SsoLogout:
    """One call of /api/sso-logout: how it was authenticated, the logoutAll value sent, the answer."""

    auth: str
    logout_all: str
    answer: Answer


def sso_logout_call(ctx: Context, login: str, *, auth: str, logout_all: str, method: str) -> SsoLogout:
    """Call the SSO logout API for a login's session; also a logout entry point for back-channel logout."""
    settings, session = _settings(ctx), login_named(ctx, login)
    if "casdoor" not in ctx.target.roles:
        raise NotApplicable("the target has no Casdoor SSO logout API (role casdoor)")
    assert ctx.target.oidc is not None
    url = settings.sso_logout_url or f"{ctx.target.oidc.issuer}/api/sso-logout"
    params = {} if logout_all == "absent" else {"logoutAll": logout_all}
    headers: dict[str, str] = {}
    client: httpx.Client = ctx.runtime.http.client()
    auth_value: httpx.BasicAuth | None = None
    if auth == "bearer":
        headers["Authorization"] = f"Bearer {session.access_token}"
    elif auth == "cookie":
        client = session.browser
    elif auth == "client-credentials":
        secret = session.client.secret.value() if session.client.secret else ""
        auth_value = basic_auth(session.client.id, secret)
        params["user"] = session.user.username
    if method == "GET":
        response = client.get(url, params=params, headers=headers, auth=auth_value or httpx.USE_CLIENT_DEFAULT)
    else:
        response = client.post(url, params=params, headers=headers, auth=auth_value or httpx.USE_CLIENT_DEFAULT)
    call = SsoLogout(auth, logout_all, Answer.of(response))
    ctx.vars[f"sso:{login}"] = call
    ctx.vars[f"logged-out-at:{login}"] = time.time()
    return call


@step("sso_logout", login=NAME, auth={"enum": ["bearer", "cookie", "client-credentials", "none"]},
      logout_all={"enum": list(LOGOUT_ALL) + ["false", "0"]}, method={"enum": ["GET", "POST"], "default": "POST"})
def sso_logout(ctx: Context, login: str, auth: str, logout_all: str, method: str) -> None:
    """Call Casdoor's /api/sso-logout for the login's session; an authenticated call must succeed"""
    call = sso_logout_call(ctx, login, auth=auth, logout_all=logout_all, method=method)
    answer = call.answer
    if auth == "none":
        ctx.verify(casdoor.refused, answer.status, answer.body)
    else:
        ctx.verify(casdoor.answered_ok, answer.status, answer.body, answer.content_type)


@step("expect_sso_answer", login=NAME)
def expect_sso_answer(ctx: Context, login: str) -> None:
    """The call's effect on the caller's session: over when authenticated, alive when not"""
    call: SsoLogout = ctx.vars[f"sso:{login}"]
    session = login_named(ctx, login)
    alive = relying_party(ctx).silent(session.browser, session.client).alive
    ctx.verify(casdoor.call_effect, f"the OP session of {login}", alive, call.auth != "none")


def _payload(record: Received) -> dict[str, Any] | None:
    try:
        data = json.loads(record.body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


@step("expect_notifications", sessions={"type": "array", "minItems": 1, "items": NAME})
def expect_notifications(ctx: Context, sessions: list[str]) -> None:
    """Every configured receiver gets one notification about this logout, and it is exactly right"""
    settings = _settings(ctx)
    if not settings.receivers:
        raise NotApplicable("the target file names no notification receivers (casdoor.receivers)")
    logins = [login_named(ctx, name) for name in sessions]
    sids = {str(login.claims.get("sid")) for login in logins}
    call: SsoLogout = next(ctx.vars[f"sso:{n}"] for n in sessions if f"sso:{n}" in ctx.vars)
    exact = call.logout_all not in LOGOUT_ALL
    paths = {urlsplit(r.url).path: r for r in settings.receivers}
    prefix = min(paths, key=len) if len(paths) == 1 else _common(list(paths))

    def about_it(record: Received) -> bool:
        payload = _payload(record)
        if record.path not in paths or payload is None:
            return record.path in paths and record.received_at >= ctx.started_at
        listed = payload.get("sessionIds")
        return isinstance(listed, list) and bool(sids & {str(s) for s in listed})

    receiver = ReceiverClient(ctx.runtime.http.client(), ctx.target.callback_base)
    records = receiver.wait_for(prefix, about_it, len(paths), ctx.target.backchannel.deliver)
    first = {r.path: r for r in reversed(records)}
    ctx.verify(casdoor.notified, [r.url for r in paths.values()], [paths[p].url for p in first])
    others = {str(p.get("nonce")) for r in receiver.quiet(prefix, lambda r: not about_it(r), 0.0)
              if (p := _payload(r)) is not None}
    tokens = [login.access_token for login in logins]
    for path, record in first.items():
        payload = ctx.verify(casdoor.schema, record.body)
        client = ctx.target.oidc.client(paths[path].client_id) if ctx.target.oidc else None
        secret = client.secret.value() if client and client.secret else ""
        ctx.verify(casdoor.signature, payload, secret)
        ctx.verify(casdoor.fresh, payload, record.received_at)
        ctx.verify(casdoor.unique_nonce, payload, others)
        ctx.verify(casdoor.sessions, payload, sids, exact)
        ctx.verify(casdoor.token_hashes, payload, tokens, exact)


def _common(paths: list[str]) -> str:
    """The longest common prefix of the receivers' paths, cut at a slash."""
    first, last = min(paths), max(paths)
    size = next((i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), len(first))
    return first[: first.rfind("/", 0, size) + 1] or "/"


@step("expect_sso_logout_scope", ended=NAMES, alive=NAMES)
def expect_sso_logout_scope(ctx: Context, ended: list[str], alive: list[str]) -> None:
    """The sessions logoutAll names are over and their tokens dead; the others alive and working"""
    rp = relying_party(ctx)
    call: SsoLogout = next(v for k, v in ctx.vars.items() if k.startswith("sso:"))
    for name, should_end in [*((n, True) for n in ended), *((n, False) for n in alive)]:
        session: Login = login_named(ctx, name)
        is_alive = rp.silent(session.browser, session.client).alive
        ctx.verify(casdoor.scope, f"the session of {name}", is_alive, should_end, call.logout_all or "(empty)")
        if not should_end:
            continue
        introspection = rp.introspect(session.client, session.access_token)
        ctx.verify(casdoor.token_rejected, "introspection", introspection.status, introspection.body)
        if session.refresh_token:
            refreshed = rp.refresh(session.client, session.refresh_token)
            ctx.verify(casdoor.token_rejected, "refresh", refreshed.status, refreshed.body)


# ---- the receiving app's side ----------------------------------------------------------------------


@dataclass(frozen=True)
class SentNotification:
    """A notification the harness sent to the app's webhook (kept in memory only) and the answer."""

    variant: str
    body: str
    status: int

    @property
    def requirement(self) -> str:
        if self.variant == "replay":
            return "CASDOOR-receiver-replay"
        return "CASDOOR-receiver-precision" if self.variant == "valid" else casdoor.VARIANTS[self.variant].requirement

    @property
    def acceptable(self) -> tuple[casdoor.Outcome, ...]:
        if self.variant == "valid":
            return ("accept",)
        return ("reject",) if self.variant == "replay" else casdoor.VARIANTS[self.variant].acceptable


def _webhook(ctx: Context) -> tuple[str, str]:
    url = _settings(ctx).webhook_url
    app = rp_app(ctx)
    if not url or not url.startswith("http"):
        raise NotApplicable("the app has no notification webhook (casdoor.webhook_url)")
    return url, app.secret.value() if app.secret else ""


def _post(ctx: Context, url: str, body: str) -> int:
    answer = ctx.runtime.http.client().post(url, content=body.encode(), headers={"Content-Type": "application/json"})
    return answer.status_code


@step("send_notification", **{"as": NAME, "sessions": {"type": "array", "minItems": 1, "items": NAME},
                               "variant": {"enum": NOTIFICATION_VARIANTS}})
def send_notification(ctx: Context, sessions: list[str], variant: str, **kw: str) -> None:
    """POST a logout notification, as Casdoor, to the app's webhook, listing these app sessions"""
    url, secret = _webhook(ctx)
    logins: list[RpLogin] = [rp_login_named(ctx, name) for name in sessions]
    sub = logins[0].sub
    payload = casdoor.build(_settings(ctx).organization, sub, sub, [login.sid for login in logins], [], secret,
                            display_name=sub.title(), email=f"{sub}@example.test", phone="")
    body = casdoor.encode(payload) if variant == "valid" else casdoor.VARIANTS[variant](payload, secret)
    sent = SentNotification(variant, body, _post(ctx, url, body))
    ctx.note(f"{kw['as']}: {variant} notification answered HTTP {sent.status}")
    ctx.vars[f"sent:{kw['as']}"] = sent


@step("resend_notification", **{"as": NAME, "sent": NAME})
def resend_notification(ctx: Context, sent: str, **kw: str) -> None:
    """POST a notification sent before once more, byte for byte: a replay"""
    url, _ = _webhook(ctx)
    original: SentNotification = ctx.vars[f"sent:{sent}"]
    again = SentNotification("replay", original.body, _post(ctx, url, original.body))
    ctx.note(f"{kw['as']}: the replayed notification answered HTTP {again.status}")
    ctx.vars[f"sent:{kw['as']}"] = again


@step("expect_notification_answer", sent=NAME)
def expect_notification_answer(ctx: Context, sent: str) -> None:
    """The webhook accepted a valid notification (2xx) and refused a bad one (4xx)"""
    notification: SentNotification = ctx.vars[f"sent:{sent}"]
    if not isinstance(notification, SentNotification):
        raise TargetError(f"{sent} is not a notification")
    check = app_session.ANSWERED[notification.requirement]
    ctx.verify(check, f"the {notification.variant} notification", notification.acceptable, notification.status)
