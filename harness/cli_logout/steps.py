"""Scenario steps for role cli: log a command-line tool in and out in a sandbox, and judge what it left, touched, revoked and printed.

A scenario opens a sandbox (``cli_sandbox``), logs identities in (``cli_login``), logs out one way
or another (``cli_logout``, ``cli_dry_run``, ``cli_logout_again``), then looks (``cli_expect_*``).
Identities are named by role: ``primary`` (the target's first identity), ``unrelated`` (one that
shares no chain step with it) and ``sibling`` (another one through the same provider).
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass, field
from typing import Any

from harness.cli_logout import checks, evidence, revocation
from harness.cli_logout.evidence import Listed, Login
from harness.cli_logout.runner import Ran, Tool
from harness.cli_logout.sandbox import Sandbox
from harness.cli_logout.snapshot import Item, Snapshot, diff
from harness.engine import Context
from harness.errors import NotApplicable, TargetError
from harness.redact import REDACTOR
from harness.steps import step
from harness.target import CliIdentity, CliSettings

__all__ = ["FAULTS_ENV", "CliRun"]

#: the sample CLI's faults switched on for the run (set by the controller, read by every worker)
FAULTS_ENV = "LOGOUT_CONFORMANCE_CLI_FAULTS"
ROLE = {"enum": ["primary", "unrelated", "sibling"], "default": "primary"}
ROLES = {"type": "array", "minItems": 1, "items": {"enum": ["primary", "unrelated", "sibling"]},
         "default": ["primary"]}


@dataclass
class Logout:
    """One logout: the sandbox before and after it, and which logins it ends."""

    scope: str
    run: Ran
    before: Snapshot
    after: Snapshot
    logins: list[Login]
    #: every chain step it ends (the protected items are those of logins outside these)
    steps: set[str]


@dataclass
class CliRun:
    """A scenario's tool, sandbox and what happened so far."""

    settings: CliSettings
    sandbox: Sandbox
    tool: Tool
    issuer: str | None
    runs: list[Ran] = field(default_factory=list)
    logins: dict[str, Login] = field(default_factory=dict)
    logout: Logout | None = None
    dry_run: tuple[Listed, Snapshot] | None = None
    refused: Item | None = None


def _state(ctx: Context) -> CliRun:
    state = ctx.vars.get("cli")
    if not isinstance(state, CliRun):
        raise TargetError("the scenario uses the tool before cli_sandbox")
    return state


def _settings(ctx: Context) -> CliSettings:
    if ctx.target.cli is None:
        raise NotApplicable("the target file has no 'cli' section (the command-line tool under test)")
    return ctx.target.cli


def identity_for(settings: CliSettings, role: str) -> CliIdentity:
    """The identity playing ``role`` (see the module's docstring)."""
    primary = settings.identities[0]
    if role == "primary":
        return primary
    others = settings.identities[1:]
    if role == "unrelated":
        found = [i for i in others if not set(i.chain) & set(primary.chain)]
        why = "no identity of cli.identities shares no chain step with the first"
    else:
        found = [i for i in others if i.provider == primary.provider and i.name not in primary.chain]
        why = f"no other identity of cli.identities goes through {primary.provider}"
    if not found:
        raise NotApplicable(why)
    return found[0]


def _run(ctx: Context, state: CliRun, action: str, identity: str = "", provider: str = "", **overrides: str) -> Ran:
    ran = state.tool.run(action, identity, provider, **overrides)
    state.runs.append(ran)
    ctx.attach(f"$ {ran.action} -> exit {ran.exit_code}", ran.transcript())
    return ran


def _attach_changes(ctx: Context, title: str, before: Snapshot, after: Snapshot) -> None:
    changes = diff(before, after)
    lines = [f"created  {after[n].describe()}" for n in changes.created]
    lines += [f"removed  {before[n].describe()}" for n in changes.removed]
    lines += [f"changed  {after[n].describe()}" for n in changes.modified]
    ctx.attach(title, "\n".join(lines) or "nothing changed")


# ---- setting up ----------------------------------------------------------------------------------


#: what a scenario may need of the target beyond login, logout, list and status
NEEDS = {"type": "array", "default": [], "items": {"enum": [
    "logout_all", "logout_provider", "logout_dry_run", "sibling", "unrelated", "sandbox-keyring", "issuer-env"]}}


def _check_needs(settings: CliSettings, needs: list[str]) -> None:
    """Skip a scenario at once when the target lacks what it needs (rather than after logging in)."""
    for need in needs:
        if need.startswith("logout_") and need not in settings.commands:
            raise NotApplicable(f"the target file gives no cli.commands.{need}")
        if need in ("sibling", "unrelated"):
            identity_for(settings, need)
        if need == "sandbox-keyring" and settings.keyring != "sandbox":
            raise NotApplicable("the tool keeps no entry in the harness's sandbox keyring (cli.keyring: none)")
        if need == "issuer-env" and not any("{issuer}" in value for value in settings.env.values()):
            raise NotApplicable("cli.env does not point the tool at the IdP with {issuer}: the harness cannot "
                                "cut it off")


@step("cli_sandbox", needs=NEEDS)
def cli_sandbox(ctx: Context, needs: list[str]) -> None:
    """Open a sandbox for the tool: temporary HOME and XDG folders, a file keyring, decoys of other programs"""
    settings = _settings(ctx)
    _check_needs(settings, needs)
    issuer = settings.issuer or (ctx.target.oidc.issuer if ctx.target.oidc else None)
    secret = settings.client_secret.value() if settings.client_secret else ""
    if ctx.target.is_mock and issuer and settings.client_id:
        client_id = settings.client_id
        ctx.runtime.cached(f"cli-client:{issuer}:{client_id}", lambda: revocation.register_at_mock(
            ctx.runtime.http.client(), issuer, client_id, secret or None))
    password = settings.user.password.value() if settings.user and settings.user.password else ""
    for value in (secret, password):
        if value:
            REDACTOR.add_secret(value)
    sandbox = Sandbox(keyring=settings.keyring == "sandbox")
    values = {"issuer": issuer or "", "client_id": settings.client_id or "", "client_secret": secret,
              "username": settings.user.username if settings.user else "", "password": password,
              "faults": os.environ.get(FAULTS_ENV, "")}
    state = CliRun(settings, sandbox, Tool(settings, sandbox, values), issuer)
    ctx.vars["cli"] = state
    decoys = sandbox.seed_decoys()
    ctx.attach("sandbox", f"HOME {sandbox.home}\nkeyring {sandbox.keyring_file or '(none: the tool keeps its own)'}\n"
               "decoys (other programs' files and keyring entries, which must survive):\n  " + "\n  ".join(decoys))


@step("cli_login", identity=ROLE, optional={"type": "boolean", "default": False})
def cli_login(ctx: Context, identity: str, optional: bool) -> None:
    """Log an identity in and record everything the tool wrote"""
    state = _state(ctx)
    try:
        who = identity_for(state.settings, identity)
    except NotApplicable as exc:
        if not optional:
            raise
        ctx.note(f"no {identity} identity logged in: {exc}")
        return
    before = state.sandbox.snapshot()
    ran = _run(ctx, state, "login", who.name)
    if ran.exit_code != 0:
        raise TargetError(f"the login of {who.name} failed (exit {ran.exit_code}): {ran.output.strip()[-300:]}")
    after = state.sandbox.snapshot()
    login = Login(state.settings, who, before, after, ran)
    for token in login.tokens:
        REDACTOR.add_secret(token.value)
    _attach_changes(ctx, f"what the login of {who.name} wrote", before, after)
    if not login.credentials:
        raise TargetError(f"the login of {who.name} created nothing in the tool's credential stores "
                          f"(cli.credentials: paths {list(state.settings.credential_paths)}, keyring services "
                          f"{list(state.settings.keyring_services)}); it wrote: "
                          f"{checks.names(sorted(login.footprint)) or 'nothing'}")
    state.logins[who.name] = login


@step("cli_expect_logged_in", identity=ROLE)
def cli_expect_logged_in(ctx: Context, identity: str) -> None:
    """Before logging out: the list shows the identity and its status works (else the target file is wrong)"""
    state, who = _state(ctx), identity_for(_settings(ctx), identity)
    listing = _run(ctx, state, "list")
    if not _listed(state.settings, listing, who.name):
        raise TargetError(f"after its login, `list` does not show {who.name} (cli.list_shows "
                          f"{state.settings.list_shows!r}): {listing.stdout.strip()[-300:]}")
    status = _run(ctx, state, "status", who.name)
    if status.exit_code != 0:
        raise TargetError(f"after its login, the status of {who.name} fails (exit {status.exit_code}): "
                          f"{status.output.strip()[-300:]}")


def _listed(settings: CliSettings, ran: Ran, name: str) -> bool:
    pattern = settings.list_shows.replace("{identity}", re.escape(name))
    return re.search(pattern, ran.stdout, re.MULTILINE) is not None


@step("cli_refuse_removal", identity=ROLE, which={"enum": ["chain-start", "chain-end"]})
def cli_refuse_removal(ctx: Context, identity: str, which: str) -> None:
    """Make the keyring refuse to delete one entry of the identity's chain, so that one removal fails"""
    state = _state(ctx)
    login = _login(state, identity)
    if state.sandbox.keyring_file is None:
        raise NotApplicable("the tool keeps no entry in the harness's sandbox keyring (cli.keyring: none)")
    entries = [login.after[n] for n in login.credentials if login.after[n].kind == "keyring"]
    if not entries:
        raise NotApplicable(f"the login of {login.identity.name} created no keyring entry the harness can lock")
    step_name = login.identity.chain[0 if which == "chain-start" else -1]
    named = [i for i in entries if evidence.belongs_to(i, step_name)]
    chosen = named[0] if named else entries[0 if which == "chain-start" else -1]
    state.sandbox.refuse_delete(chosen)
    state.refused = chosen
    ctx.note(f"the sandbox keyring refuses to delete {chosen.name}")


def _login(state: CliRun, role: str) -> Login:
    who = identity_for(state.settings, role)
    if who.name not in state.logins:
        raise TargetError(f"the scenario logs {who.name} out before logging it in")
    return state.logins[who.name]


# ---- logging out ---------------------------------------------------------------------------------


def _closed_port_url() -> str:
    """A URL where nothing listens: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@step("cli_logout", identity=ROLE, scope={"enum": ["identity", "provider", "all"], "default": "identity"},
      idp={"enum": ["reachable", "unreachable"], "default": "reachable"})
def cli_logout(ctx: Context, identity: str, scope: str, idp: str) -> None:
    """Log out (an identity, its provider, or all) and record what went; a clean logout must exit 0"""
    state = _state(ctx)
    who = identity_for(state.settings, identity)
    overrides = {}
    if idp == "unreachable":
        if not any("{issuer}" in value for value in state.settings.env.values()):
            raise NotApplicable("cli.env does not point the tool at the IdP with {issuer}: the harness cannot "
                                "cut it off")
        overrides["issuer"] = _closed_port_url()
    before = state.sandbox.snapshot()
    if scope == "identity":
        ran = _run(ctx, state, "logout", who.name, **overrides)
        logins = [state.logins[who.name]] if who.name in state.logins else []
        steps = set(who.chain)
    elif scope == "provider":
        ran = _run(ctx, state, "logout_provider", provider=who.provider, **overrides)
        logins = [login for login in state.logins.values() if login.identity.provider == who.provider]
        steps = {who.provider, *(s for login in logins for s in login.identity.chain)}
    else:
        ran = _run(ctx, state, "logout_all", **overrides)
        logins = list(state.logins.values())
        steps = {s for i in state.settings.identities for s in i.chain}
    after = state.sandbox.snapshot()
    _attach_changes(ctx, f"what `{ran.action}` changed", before, after)
    state.logout = Logout(f"{scope} {who.provider if scope == 'provider' else who.name}", ran, before, after,
                          logins, steps)
    if idp == "reachable" and state.refused is None:
        ctx.verify(checks.exited_zero, ran.command_line, ran.exit_code, go_on=True)


def _last_logout(state: CliRun) -> Logout:
    if state.logout is None:
        raise TargetError("the scenario expects a logout before it happened")
    return state.logout


@step("cli_logout_again", identity=ROLE)
def cli_logout_again(ctx: Context, identity: str) -> None:
    """Log the identity out a second time: it must end normally and change nothing"""
    state, who = _state(ctx), identity_for(_settings(ctx), identity)
    first = _last_logout(state)
    before = state.sandbox.snapshot()
    ran = _run(ctx, state, "logout", who.name)
    after = state.sandbox.snapshot()
    created = evidence.credentials(state.settings, (after[n] for n in diff(before, after).created))
    ctx.verify(checks.repeat_harmless, ran.crashed, created, evidence.changed(_protected(state, first), before, after))


@step("cli_dry_run", identity=ROLE)
def cli_dry_run(ctx: Context, identity: str) -> None:
    """Run the dry run of the identity's logout: it removes, changes and revokes nothing, and exits 0"""
    state, who = _state(ctx), identity_for(_settings(ctx), identity)
    login = _login(state, identity)
    before = state.sandbox.snapshot()
    ran = _run(ctx, state, "logout_dry_run", who.name)
    after = state.sandbox.snapshot()
    _attach_changes(ctx, "what the dry run changed", before, after)
    changes = diff(before, after)
    modified = evidence.credentials(state.settings, (after[n] for n in changes.modified))
    revoked = [t.where for t in login.refresh_tokens if _revocation_requests(ctx, state, t.value)]
    ctx.verify(checks.dry_run_removed_nothing, changes.removed, modified, revoked)
    ctx.verify(checks.exited_zero, ran.command_line, ran.exit_code)
    if state.settings.dry_run_item is not None:
        state.dry_run = (evidence.listed_in(ran.stdout, state.settings.dry_run_item, str(state.sandbox.home)), after)


# ---- what the logout did -------------------------------------------------------------------------


def _left_of(state: CliRun, login: Login, snapshot: Snapshot, spare: Item | None = None) -> list[str]:
    """The login's credentials and its chain's credential items still in the snapshot."""
    by_chain = evidence.chain_left(state.settings, login.identity.chain, snapshot)
    left = {*evidence.still_there(login.credentials, snapshot), *(n for names in by_chain.values() for n in names)}
    return sorted(left - ({spare.name} if spare else set()))


@step("cli_expect_removed", identity=ROLE)
def cli_expect_removed(ctx: Context, identity: str) -> None:
    """Every credential file, folder and keyring entry the login created is gone, and no copy of its tokens"""
    state, login = _state(ctx), _login(_state(ctx), identity)
    after = _last_logout(state).after
    left = evidence.still_there(login.credentials, after)
    ctx.verify(checks.credentials_removed, login.identity.name, left, evidence.copies_left(login.tokens, after),
               go_on=True)


@step("cli_expect_chain_removed", identity=ROLE)
def cli_expect_chain_removed(ctx: Context, identity: str) -> None:
    """Nothing is left of any step of the identity's chain (keyring entries and files named after the steps)"""
    state, login = _state(ctx), _login(_state(ctx), identity)
    chain = login.identity.chain
    if len(chain) < 2:
        ctx.note(f"the chain of {login.identity.name} has one step: the identity's own removal is all there is")
    left = evidence.chain_left(state.settings, chain, _last_logout(state).after)
    ctx.verify(checks.chain_removed, login.identity.name, chain, left)


@step("cli_expect_provider_removed", identity=ROLE)
def cli_expect_provider_removed(ctx: Context, identity: str) -> None:
    """After the provider's logout, nothing is left of it nor of any identity logged in through it"""
    state = _state(ctx)
    provider = identity_for(state.settings, identity).provider
    logout = _last_logout(state)
    left = {login.identity.name: _left_of(state, login, logout.after) for login in logout.logins}
    ctx.verify(checks.provider_removed, provider, left)


@step("cli_expect_all_removed")
def cli_expect_all_removed(ctx: Context) -> None:
    """After logout --all, no identity has credentials left and the list shows none"""
    state = _state(ctx)
    logout = _last_logout(state)
    left = {name: _left_of(state, login, logout.after) for name, login in state.logins.items()}
    listing = _run(ctx, state, "list")
    listed = [name for name in state.logins if _listed(state.settings, listing, name)]
    ctx.verify(checks.all_removed, left, listed)


@step("cli_expect_removed_offline", identity=ROLE)
def cli_expect_removed_offline(ctx: Context, identity: str) -> None:
    """The IdP could not be reached, yet every local credential of the identity is gone"""
    state, login = _state(ctx), _login(_state(ctx), identity)
    logout = _last_logout(state)
    ctx.verify(checks.removed_without_idp, login.identity.name, _left_of(state, login, logout.after),
               logout.run.exit_code)


@step("cli_expect_best_effort", identity=ROLE)
def cli_expect_best_effort(ctx: Context, identity: str) -> None:
    """One removal was refused: everything else went, the failure was reported, and the exit says so"""
    state, login = _state(ctx), _login(_state(ctx), identity)
    logout, refused = _last_logout(state), state.refused
    if refused is None:
        raise TargetError("the scenario expects a refused removal without cli_refuse_removal")
    if refused.name not in logout.after:
        ctx.note(f"{refused.name} is gone although the keyring refused to delete it: the tool went round it")
    left = _left_of(state, login, logout.after, spare=refused)
    ctx.verify(checks.best_effort, refused.name, left, evidence.failure_reported(logout.run.output, refused),
               go_on=True)
    ctx.verify(checks.partial_exit_nonzero, logout.run.command_line, logout.run.exit_code)


def _protected(state: CliRun, logout: Logout) -> list[str]:
    """Decoys, and the credentials of logins that share no chain step with what was logged out."""
    ended = {login.identity.name for login in logout.logins}
    others = [login for name, login in state.logins.items()
              if name not in ended and not set(login.identity.chain) & logout.steps]
    return sorted({*state.sandbox.decoys, *(n for login in others for n in login.credentials)})


@step("cli_expect_untouched")
def cli_expect_untouched(ctx: Context) -> None:
    """Other identities' credentials and other programs' files and keyring entries are as they were"""
    state = _state(ctx)
    logout = _last_logout(state)
    ctx.verify(checks.others_untouched, logout.scope, evidence.changed(_protected(state, logout), logout.before,
                                                                       logout.after))


@step("cli_expect_logged_out", identities=ROLES, status={"type": "boolean", "default": True})
def cli_expect_logged_out(ctx: Context, identities: list[str], status: bool) -> None:
    """The list no longer shows the identities, and (with status) their status fails"""
    state = _state(ctx)
    who = [identity_for(state.settings, role) for role in identities]
    listing = _run(ctx, state, "list")
    for one in who:
        ctx.verify(checks.not_listed, one.name, _listed(state.settings, listing, one.name), go_on=True)
    for one in who if status else ():
        shown = _run(ctx, state, "status", one.name)
        ctx.verify(checks.status_fails, one.name, shown.exit_code, go_on=True)


def _revocation_requests(ctx: Context, state: CliRun, token: str) -> int | None:
    url = state.settings.revocations_url
    if not url or not state.issuer:
        return None
    url = url.replace("{issuer}", state.issuer)
    return len(revocation.calls_for(ctx.runtime.http.client(), url, token))


@step("cli_expect_revoked", identities={**ROLES, "items": {"enum": ["primary", "unrelated", "sibling", "all"]}})
def cli_expect_revoked(ctx: Context, identities: list[str]) -> None:
    """The refresh tokens the logins stored were revoked at the IdP (RFC 7009) and no longer work"""
    state = _state(ctx)
    logins = list(state.logins.values()) if "all" in identities else [_login(state, r) for r in identities]
    settings = state.settings
    can_try = bool(settings.client_id and (settings.token_url or state.issuer))
    if not can_try and not (settings.revocations_url and state.issuer):
        ctx.note("cli.idp gives no way to ask the IdP (revocations_url) nor to try a refresh grant (client_id): "
                 "the revocation of refresh tokens is not checked")
        return
    token_url = settings.token_url
    if can_try and token_url is None and state.issuer:
        token_url = revocation.token_endpoint(ctx.runtime.http.client(), state.issuer)
    for login in logins:
        if not login.refresh_tokens:
            ctx.note(f"no refresh token readable in what the login of {login.identity.name} stored "
                     "(encrypted?): its revocation is not checked")
        for token in login.refresh_tokens:
            works = None
            if token_url and settings.client_id:
                secret = settings.client_secret.value() if settings.client_secret else None
                works = revocation.try_refresh(ctx.runtime.http.client(), token_url, settings.client_id, secret,
                                               token.value).works
            ctx.verify(checks.refresh_token_revoked, token.where, _revocation_requests(ctx, state, token.value),
                       works, go_on=True)


@step("cli_expect_dry_run_listed")
def cli_expect_dry_run_listed(ctx: Context) -> None:
    """The dry run listed exactly what the real logout then removed"""
    state = _state(ctx)
    if state.dry_run is None:
        ctx.note("cli.dry_run_item is not set: the dry run's list is not compared with the logout")
        return
    listed, before = state.dry_run
    logout = _last_logout(state)
    ctx.attach("the dry run's list", "\n".join([*(f"keyring {k}" for k in sorted(listed.keyring)),
                                                 *sorted(listed.paths)]) or "nothing matched cli.dry_run_item")
    unlisted, kept = evidence.dry_run_mismatch(state.settings, listed, before, logout.after)
    ctx.verify(checks.dry_run_listed_exactly, unlisted, kept)


@step("cli_expect_reminder")
def cli_expect_reminder(ctx: Context) -> None:
    """The logout reminded the user that the browser session at the IdP is still alive"""
    state = _state(ctx)
    logout = _last_logout(state)
    if state.settings.reminder is None:
        ctx.note("cli.reminder is not set: the reminder about the IdP's browser session is not checked")
        return
    shown = re.search(state.settings.reminder, logout.run.output, re.MULTILINE) is not None
    ctx.verify(checks.browser_reminder, shown)


@step("cli_expect_no_secrets")
def cli_expect_no_secrets(ctx: Context) -> None:
    """No command printed a token the tool was issued, the password or the client secret"""
    state = _state(ctx)
    secrets: list[tuple[str, str]] = [(t.value, t.kind) for login in state.logins.values() for t in login.tokens]
    values: dict[str, Any] = state.tool.values
    secrets += [(values["password"], "user's password"), (values["client_secret"], "client secret")]
    ctx.verify(checks.no_secret_printed, evidence.printed_secrets(state.runs, secrets))
