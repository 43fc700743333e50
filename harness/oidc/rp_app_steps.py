"""Scenario steps for a relying party app under test (role oidc-rp): log in through its OP, then, as that
OP, send it logout tokens and see whether its session ended (https://openid.net/specs/openid-connect-backchannel-1_0.html#Validation).

The OP is the bundled mock, whose signing keys the harness shares (``mock_idp.oidc_keys``) and which
tells which of its sessions a browser holds (``/_mock/oidc/session``): the sid the app got.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx
from joserfc.jwk import ECKey, Key, RSAKey

from harness import app_session, formwalker
from harness.engine import Context
from harness.errors import ConfigError, NotApplicable, TargetError
from harness.http import HttpPool, origin
from harness.oidc import backchannel_rp, jwt, logout_token
from harness.oidc.steps import NAME, USER_ROLES, user_role
from harness.steps import preflight, step
from harness.target import OidcApp, Target, read_file

#: logout token variants a scenario may send: the crafted ones, and a valid one naming no live session
TOKEN_VARIANTS = [*logout_token.VARIANTS, "unknown-session"]
#: what "because" may name when a session is probed
SESSION_BECAUSE = {"enum": ["", "OIDCBCL-2.7-ends-session", "OIDCBCL-2.7-precision", "CASDOOR-receiver-precision",
                            "CASDOOR-receiver-replay"], "default": ""}


@preflight("oidc-rp")
def reach_rp_app(target: Target, pool: HttpPool) -> None:
    if target.oidc and target.oidc.app and target.oidc.app.login_url.startswith("http"):
        pool.client().get(target.oidc.app.protected_url)


def rp_app(ctx: Context) -> OidcApp:
    oidc = ctx.target.oidc
    if oidc is None or oidc.app is None:
        raise NotApplicable("the target file describes no relying party app (oidc.app)")
    return oidc.app


@dataclass(frozen=True)
class RpLogin:
    """A browser signed in at the app, and the OP session (sid, sub) the app's session stands on."""

    browser: httpx.Client
    sid: str
    sub: str


def rp_login_named(ctx: Context, name: str) -> RpLogin:
    login: RpLogin = ctx.vars[f"rp-login:{name}"]
    return login


def alive(ctx: Context, browser: httpx.Client) -> bool:
    app = rp_app(ctx)
    page = browser.get(app.protected_url)
    return page.status_code == app.alive_status and (app.alive_contains is None or app.alive_contains in page.text)


def _op_session(ctx: Context, browser: httpx.Client) -> tuple[str, str]:
    """The sid and sub of the browser's session at the mock OP (a test hook of the mock)."""
    assert ctx.target.oidc is not None
    answer = browser.get(f"{ctx.target.oidc.issuer}/_mock/oidc/session")
    if answer.status_code == 404 and "application/json" not in answer.headers.get("content-type", ""):
        raise NotApplicable("learning which OP session the app stands on needs the bundled mock OP")
    data = answer.json() if answer.status_code == 200 else {}
    if not isinstance(data.get("sid"), str) or not isinstance(data.get("sub"), str):
        raise TargetError(f"the mock OP knows no session for this browser (HTTP {answer.status_code})")
    return data["sid"], data["sub"]


@step("rp_login", **{"as": NAME, "user": USER_ROLES, "browser": {"type": "string", "default": ""}})
def rp_login(ctx: Context, user: str, browser: str, **kw: str) -> None:
    """Log in at the app through its OP's forms; the app's protected page must then answer"""
    app, oidc = rp_app(ctx), ctx.target.oidc
    assert oidc is not None
    name = kw["as"]
    client = rp_login_named(ctx, browser).browser if browser else ctx.runtime.http.browser()
    chosen = user_role(ctx, user)
    values = {"username": chosen.username, "password": chosen.password.value() if chosen.password else ""}
    formwalker.walk(client, app.login_url, list(oidc.login_forms), values,
                    stay_on=[origin(app.login_url), origin(oidc.issuer)], max_steps=oidc.login_max_steps)
    if not alive(ctx, client):
        raise TargetError(f"after logging in at {app.login_url}, {app.protected_url} does not show a live session")
    sid, sub = _op_session(ctx, client)
    ctx.vars[f"rp-login:{name}"] = RpLogin(client, sid, sub)


def _op_keys(ctx: Context) -> tuple[Key, Key]:
    """The OP's RS256 and ES256 private keys (its ID tokens' alg first), as files the target names."""
    files = ctx.target.mock_oidc_keys
    if not {"RS256", "ES256"} <= files.keys():
        raise NotApplicable("signing as the app's OP needs its keys (mock_idp.oidc_keys: RS256 and ES256)")
    try:
        rs = RSAKey.import_key(read_file(files["RS256"]), {"alg": "RS256", "use": "sig"})
        es = ECKey.import_key(read_file(files["ES256"]), {"alg": "ES256", "use": "sig"})
    except ValueError as exc:
        raise ConfigError(f"mock_idp.oidc_keys: not a PEM private key: {exc}", ctx.target.file) from None
    rs.ensure_kid()
    es.ensure_kid()
    return rs, es


@dataclass(frozen=True)
class SentToken:
    """A logout token the harness sent (kept in memory only: it is a credential) and the app's answer."""

    variant: str
    token: str
    status: int
    cache_control: str | None

    @property
    def requirement(self) -> str:
        """What the app breaks if its session does not take this token as it should."""
        return "OIDCBCL-2.7-precision" if self.variant == "unknown-session" else logout_token.VARIANTS[self.variant]


@step("send_logout_token", **{"as": NAME, "login": NAME, "variant": {"enum": TOKEN_VARIANTS}})
def send_logout_token(ctx: Context, login: str, variant: str, **kw: str) -> None:
    """POST a logout token, as the app's OP, to the app's back-channel logout URI"""
    app = rp_app(ctx)
    # a login over HTTP or in the browser: both know the OP session (sid, sub) the app stands on
    session = ctx.vars.get(f"rp-login:{login}") or ctx.vars[f"browser-login:{login}"]
    if not app.backchannel_logout_uri:
        raise NotApplicable("the app has no back-channel logout URI (oidc.app.backchannel_logout_uri)")
    assert ctx.target.oidc is not None
    key, other = ctx.runtime.cached("oidc.op-keys", lambda: _op_keys(ctx))
    crafted = "valid" if variant == "unknown-session" else variant
    sid = secrets.token_urlsafe(16) if variant == "unknown-session" else session.sid
    token = logout_token.craft(crafted, issuer=ctx.target.oidc.issuer, client_id=app.client_id, sub=session.sub,
                               sid=sid, key=key, alg="RS256", other_alg_key=other)
    if "." in token and token.count(".") == 2 and len(token) < 8192:
        ctx.attach(f"logout token {kw['as']} ({variant}): header and claims", jwt.claims_summary(token),
                   "application/json")
    answer = ctx.runtime.http.client().post(app.backchannel_logout_uri, data={"logout_token": token})
    ctx.note(f"{kw['as']}: {_described(variant)} answered HTTP {answer.status_code}")
    ctx.vars[f"sent:{kw['as']}"] = SentToken(variant, token, answer.status_code, answer.headers.get("cache-control"))


def _described(variant: str) -> str:
    if variant == "unknown-session":
        return "a valid logout token for a session the app does not have"
    return logout_token.DESCRIPTIONS[variant]


@step("expect_token_answer", sent=NAME)
def expect_token_answer(ctx: Context, sent: str) -> None:
    """The app answered the logout token as the spec says: 200 if valid, 400 if not, no-store"""
    token: SentToken = ctx.vars[f"sent:{sent}"]
    acceptable = ("accept",) if token.variant == "unknown-session" else logout_token.ACCEPTABLE[token.variant]
    if acceptable == ("reject",):
        ctx.verify(backchannel_rp.REFUSED[token.requirement], _described(token.variant), token.status)
    else:
        ctx.verify(backchannel_rp.answer_status, _described(token.variant), acceptable, token.status)
    ctx.verify(backchannel_rp.no_store, token.cache_control)


@step("expect_consistent_session", login=NAME, sent=NAME)
def expect_consistent_session(ctx: Context, login: str, sent: str) -> None:
    """The app's session agrees with its answer: over after a 200, alive after a refusal"""
    token: SentToken = ctx.vars[f"sent:{sent}"]
    ctx.verify(backchannel_rp.answer_matches_session, token.status, alive(ctx, rp_login_named(ctx, login).browser))


@step("resend_logout_token", sent=NAME)
def resend_logout_token(ctx: Context, sent: str) -> None:
    """Send the same logout token again: refusing a replayed jti is allowed (information only)"""
    token: SentToken = ctx.vars[f"sent:{sent}"]
    app = rp_app(ctx)
    assert app.backchannel_logout_uri is not None
    answer = ctx.runtime.http.client().post(app.backchannel_logout_uri, data={"logout_token": token.token})
    ctx.verify(backchannel_rp.replay_refused, answer.status_code)


@step("expect_rp_session", login=NAME, state={"enum": ["alive", "ended"]}, because=SESSION_BECAUSE,
      after={"type": "string", "default": ""})
def expect_rp_session(ctx: Context, login: str, state: str, because: str, after: str) -> None:
    """Probe the app's protected page with the login's cookie: is its session over, or alive?"""
    session = rp_login_named(ctx, login)
    requirement = because or _refused_by(ctx, after)
    label = f"the app session of {login}"
    is_alive = alive(ctx, session.browser)
    ctx.verify((app_session.SURVIVED if state == "alive" else app_session.ENDED)[requirement], label, is_alive)


def _refused_by(ctx: Context, after: str) -> str:
    """The requirement a message sent earlier tests: a forged one must leave the session alive."""
    sent = ctx.vars.get(f"sent:{after}")
    if sent is None:
        raise ConfigError(f"expect_rp_session: give 'because', or 'after' naming a message sent earlier ({after!r})")
    requirement: str = sent.requirement
    return requirement
