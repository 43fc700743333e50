"""MSAL.js logout for single-page apps (https://github.com/AzureAD/microsoft-authentication-library-for-js/blob/dev/lib/msal-browser/docs/logout.md): the checks.

The contract in two steps: the app clears the account's token cache (localStorage and sessionStorage),
then sends the browser (its window, or a popup) to the OP's end-session endpoint, best effort.

The harness does not know how an app lays out its cache, so it judges it generically, from what the
browser's storage showed around each login (``attribute``):

- an account's *entries* are the storage entries (area, key) its login added or rewrote and that hold
  something of that account: one of its tokens, or one of its identifiers (its username, or the
  sub, preferred_username or email of its ID token) as a whole word in the key or the value. When
  a later login rewrites an entry, the entry moves to that later account unless the new value holds
  the earlier account's data and none of the later one's (an app that touches every account on
  each login keeps them apart);
- an account's *tokens* are the JWTs, and the opaque values under token-like names (``*token*``,
  ``secret``), that appeared in storage during its login; its ID token is the JWT among them with a
  ``sub``, the app's client id in ``aud`` and no ``scope``.

After a logout an entry of the account is gone when its key is gone, or when its value was rewritten
to one that holds nothing of the account (an account list that drops it); and no stored value may
hold one of its tokens. Entries a login wrote that hold nothing of any account (a library version, a
telemetry counter) are no account's data and are not judged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from harness.checks import check
from harness.errors import TargetError, Violation
from harness.oidc import jwt
from harness.stored_json import string_members

#: the browser's storage as ``BrowserSession.storage`` reads it: {"local": {key: value}, "session": {...}}
Storage = Mapping[str, Mapping[str, str]]
#: one storage entry: (area, key), area "local" or "session"
Entry = tuple[str, str]

AREAS = {"local": "localStorage", "session": "sessionStorage"}
#: authorization errors that mean "no usable session" (OpenID Connect Core 3.1.2.6)
NO_SESSION_ERRORS = frozenset({"login_required", "interaction_required", "account_selection_required",
                               "consent_required"})
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_OPAQUE = re.compile(r"[A-Za-z0-9._~+/=-]{16,}")
_TOKEN_NAME = re.compile(r"token|secret|credential", re.IGNORECASE)
_WORD = "A-Za-z0-9_"
#: how many leftover entries a violation lists before it counts the rest
MAX_LISTED = 6


@dataclass(frozen=True)
class AccountCache:
    """What one account's login left in the browser's storage."""

    account: str
    entries: frozenset[Entry] = frozenset()
    tokens: frozenset[str] = frozenset()
    identifiers: frozenset[str] = frozenset()
    id_token: str | None = None
    #: entries its login wrote that hold nothing of any account (not judged)
    neutral: frozenset[Entry] = frozenset()

    def holds(self, entry: Entry, value: str) -> bool:
        """Whether this entry, with this value, holds something of the account."""
        return holds_tokens(entry, value, self.tokens) or _names(entry, value, self.identifiers)


@dataclass(frozen=True)
class EndSession:
    """A request the browser made to the OP's end-session endpoint, as the harness saw it."""

    url: str
    #: main (the app's window), popup, sub (an iframe)
    frame: str
    navigation: bool
    params: Mapping[str, str]
    #: what of the judged accounts the app's storage still held when the request left (None: not read)
    leftovers: tuple[str, ...] | None = None


@dataclass
class PopupOutcome:
    """What a logoutPopup did: the popup, where the end-session request went, the main window."""

    opened: bool
    end_session_frames: tuple[str, ...]
    closed: bool
    popup_url: str
    main_before: str
    main_after: str
    waited_s: float = 0.0


# ---- reading storage --------------------------------------------------------------------------


def entries(storage: Storage) -> dict[Entry, str]:
    """The storage as one map of (area, key) to value."""
    return {(area, key): value for area in AREAS for key, value in (storage.get(area) or {}).items()}


def label(entry: Entry) -> str:
    area, key = entry
    return f"{AREAS.get(area, area)}[{key!r}]"


def tokens_in(entry: Entry, value: str) -> set[str]:
    """The tokens a stored value holds: every JWT in it, and opaque strings under token-like names
    (a JSON member, or the entry's key when the value is not JSON)."""
    found = set(_JWT.findall(value))
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict | list):
        for name, leaf in string_members(parsed):
            if _TOKEN_NAME.search(name) and _OPAQUE.fullmatch(leaf):
                found.add(leaf)
    elif _TOKEN_NAME.search(entry[1]) and _OPAQUE.fullmatch(value.strip()):
        found.add(value.strip())
    return found


def holds_tokens(entry: Entry, value: str, tokens: Iterable[str]) -> bool:
    return any(token in value or token in entry[1] for token in tokens)


def _names(entry: Entry, value: str, identifiers: Iterable[str]) -> bool:
    """Whether the key or the value names one of the identifiers as a whole word."""
    for identifier in identifiers:
        pattern = re.compile(rf"(?<![{_WORD}]){re.escape(identifier)}(?![{_WORD}])")
        if pattern.search(entry[1]) or pattern.search(value):
            return True
    return False


def _claims(token: str) -> dict[str, Any] | None:
    try:
        return jwt.decode_unverified(token)[1]
    except jwt.MalformedJwt:
        return None


def _audience(claims: Mapping[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    return [a for a in aud if isinstance(a, str)] if isinstance(aud, list) else []


def find_id_token(tokens: Iterable[str], client_id: str) -> str | None:
    """The ID token among an account's tokens: a JWT with a sub, the client in aud and no scope."""
    candidates = []
    for token in sorted(tokens):
        claims = _claims(token)
        if claims is None or not isinstance(claims.get("sub"), str):
            continue
        if "scope" in claims or "scp" in claims:
            continue
        candidates.append((client_id not in _audience(claims), "nonce" not in claims, token))
    return min(candidates)[2] if candidates else None


def _identifiers(username: str, id_token: str | None) -> frozenset[str]:
    found = {username}
    claims = _claims(id_token) if id_token else None
    for name in ("sub", "preferred_username", "email"):
        value = (claims or {}).get(name)
        if isinstance(value, str):
            found.add(value)
    return frozenset(i for i in found if len(i) >= 3)


def attribute(logins: Sequence[tuple[str, Storage, Storage]], client_id: str) -> list[AccountCache]:
    """Each account's entries and tokens, from (username, storage before its login, storage after it),
    in the order the accounts signed in."""
    owner: dict[Entry, int] = {}
    written: dict[Entry, str] = {}
    accounts: list[AccountCache] = []
    for index, (username, before_raw, after_raw) in enumerate(logins):
        before, after = entries(before_raw), entries(after_raw)
        changed = {e: v for e, v in after.items() if before.get(e) != v}
        old_tokens = {t for e, v in before.items() for t in tokens_in(e, v)}
        new_tokens = {t for e, v in changed.items() for t in tokens_in(e, v)} - old_tokens
        id_token = find_id_token(new_tokens, client_id)
        account = AccountCache(username, tokens=frozenset(new_tokens), identifiers=_identifiers(username, id_token),
                               id_token=id_token)
        accounts.append(account)
        for entry in [e for e in owner if e not in after]:
            del owner[entry]
        for entry, value in changed.items():
            previous = owner.get(entry)
            if previous is not None and not account.holds(entry, value) and accounts[previous].holds(entry, value):
                continue  # rewritten, but still the earlier account's
            owner[entry] = index
            written[entry] = value
    result = []
    for index, account in enumerate(accounts):
        mine = {e for e, i in owner.items() if i == index}
        held = frozenset(e for e in mine if account.holds(e, written[e]))
        result.append(AccountCache(account.account, held, account.tokens, account.identifiers, account.id_token,
                                   frozenset(mine - held)))
    return result


def leftovers(account: AccountCache, storage: Storage, areas: Iterable[str] = tuple(AREAS)) -> list[str]:
    """What of the account the storage still holds: its entries (unless rewritten without its data), and
    any value holding one of its tokens; ``areas`` limits the look to some storage areas."""
    wanted = set(areas)
    now = {e: v for e, v in entries(storage).items() if e[0] in wanted}
    found = []
    for entry in sorted(account.entries):
        if entry in now and account.holds(entry, now[entry]):
            what = "holds its tokens" if holds_tokens(entry, now[entry], account.tokens) else "names the account"
            found.append(f"{label(entry)} ({what})")
    for entry, value in sorted(now.items()):
        if entry not in account.entries and holds_tokens(entry, value, account.tokens):
            found.append(f"{label(entry)} (holds one of its tokens)")
    return found


def missing(account: AccountCache, storage: Storage) -> list[str]:
    """The account's entries that are no longer in the storage."""
    now = entries(storage)
    return [label(e) for e in sorted(account.entries) if e not in now]


def _listed(items: Sequence[str]) -> str:
    shown = ", ".join(items[:MAX_LISTED])
    return shown + (f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else "")


def _who(accounts: Sequence[AccountCache]) -> str:
    return ", ".join(a.account for a in accounts)


def _judge_cleared(accounts: Sequence[AccountCache], storage: Storage) -> list[str]:
    return [f"{account.account}: {item}" for account in accounts for item in leftovers(account, storage)]


# ---- MSAL-logout-cache, -account, -all, -best-effort ------------------------------------------


@check("MSAL-logout-cache")
def account_cache_cleared(account: AccountCache, storage: Storage) -> None:
    """After logging out an account, nothing of its token cache is left in the app's storage."""
    left = _judge_cleared([account], storage)
    if left:
        raise Violation(
            expected=f"logging out {account.account} clears its token cache: the {len(account.entries)} entries "
                     "its login wrote are gone, and no stored value holds one of its tokens",
            seen=f"still stored after the logout: {_listed(left)}")


@check("MSAL-logout-account")
def other_accounts_kept(others: Sequence[AccountCache], storage: Storage, logged_out: str) -> None:
    """Logging out one account leaves every other account's entries in place."""
    gone = [f"{account.account}: {item}" for account in others for item in missing(account, storage)]
    if gone:
        raise Violation(
            expected=f"logging out {logged_out} clears only its tokens; the entries of {_who(others)} stay",
            seen=f"gone after logging out {logged_out}: {_listed(gone)}")


@check("MSAL-logout-all")
def every_account_cleared(accounts: Sequence[AccountCache], storage: Storage) -> None:
    """Logging out without an account clears every account's cache."""
    left = _judge_cleared(accounts, storage)
    if left:
        kept = sorted({item.split(":", 1)[0] for item in left})
        raise Violation(
            expected=f"a logout without an account clears every account ({_who(accounts)})",
            seen=f"{', '.join(kept)} still in the cache: {_listed(left)}")


@check("MSAL-logout-best-effort")
def cache_cleared_despite_failure(accounts: Sequence[AccountCache], storage: Storage, failure: str) -> None:
    """The local cache is cleared whether or not the server's sign-out succeeds."""
    left = _judge_cleared(accounts, storage)
    if left:
        raise Violation(
            expected=f"the token cache of {_who(accounts)} cleared although the server sign-out did not complete "
                     f"({failure}): the server part is best effort, the local part is not",
            seen=f"still stored: {_listed(left)}")


# ---- MSAL-logout-server ------------------------------------------------------------------------


def _frame_name(frame: str) -> str:
    return {"main": "the app's window", "popup": "a popup", "sub": "an iframe"}.get(frame, frame)


@check("MSAL-logout-server")
def end_session_navigated(requests: Sequence[EndSession], frame: str, endpoint: str,
                          went: Sequence[str] = ()) -> None:
    """The browser navigated (in ``frame``: main or popup) to the end-session endpoint, and only after the
    cache was cleared."""
    where = _frame_name(frame)
    navigations = [r for r in requests if r.navigation and r.frame == frame]
    if not navigations:
        if requests:
            seen = "; ".join(f"{'a navigation' if r.navigation else 'a fetch/XHR'} in {_frame_name(r.frame)}"
                             for r in requests)
            seen = f"the end-session endpoint was only requested as: {seen}"
        else:
            seen = ("no request to the end-session endpoint; " +
                    (f"the browser went to {_listed(list(went))}" if went else "the browser went nowhere"))
        raise Violation(expected=f"{where} navigates to the OP's end-session endpoint {endpoint} (step 2: clear "
                                 "the session on the identity server)", seen=seen)
    first = navigations[0]
    if first.leftovers:
        raise Violation(expected="the cache cleared first (step 1), then the browser sent to the end-session "
                                 "endpoint (step 2)",
                        seen=f"when {where} asked for end-session the app's storage still held "
                             f"{_listed(list(first.leftovers))}")


@check("MSAL-logout-server")
def server_session_ended(alive: bool, detail: str) -> None:
    """After the sign-out, a prompt=none authorization request finds no session at the OP."""
    if alive:
        raise Violation(expected="the server session over after the sign-out: a prompt=none authorization request "
                                 "answers login_required",
                        seen=f"the OP still has a session for this browser: {detail}")


@check("MSAL-logout-interrupted")
def interrupted_session(alive: bool, detail: str) -> None:
    """Information: what an interrupted sign-out navigation left at the OP."""
    if alive:
        raise Violation(expected="(documented limitation) an interrupted sign-out navigation may leave the server "
                                 "session alive: the app should let the navigation complete",
                        seen=f"after the interrupted navigation the OP session is still alive ({detail}); "
                             "the user can sign back in without credentials")


def read_probe(url: str, redirect_uri: str) -> tuple[bool, str]:
    """Whether a prompt=none authorization response (the URL the browser ended at) shows a live session:
    a code is alive, a no-session error is over; anything else is no answer the harness can judge."""
    if not url.startswith(redirect_uri):
        raise TargetError(f"the prompt=none probe ended at {url.split('?')[0]}, not at its redirect_uri "
                          f"{redirect_uri}")
    parts = urlsplit(url)
    params = {k: v[0] for k, v in parse_qs(parts.query or parts.fragment).items()}
    if "code" in params:
        return True, "a prompt=none authorization request returned a code"
    error = params.get("error", "")
    if error in NO_SESSION_ERRORS:
        return False, f"a prompt=none authorization request answered {error}"
    raise TargetError(f"the prompt=none probe got neither a code nor a no-session error: error={error[:60]!r} "
                      f"{params.get('error_description', '')[:120]}".rstrip())


# ---- MSAL-logout-hint --------------------------------------------------------------------------


def _describe_token(token: str) -> str:
    claims = _claims(token)
    if claims is None:
        return "a value that is not a JWT"
    return f"an ID token with sub {str(claims.get('sub'))[:40]!r} and aud {_audience(claims)}"


@check("MSAL-logout-hint")
def end_session_hint(params: Mapping[str, str], id_tokens: Sequence[str], return_uri: str,
                     account: str | None) -> str | None:
    """The end-session request carries the account's ID token as id_token_hint and the configured
    post_logout_redirect_uri; without an account (logging out all) the hint may be left out, and is
    then one of the accounts' ID tokens if present."""
    hint = params.get("id_token_hint")
    note = None
    if account is not None:
        if not hint:
            raise Violation(expected=f"id_token_hint: the ID token of {account}, the account being logged out",
                            seen=f"no id_token_hint; the request had {', '.join(sorted(params)) or 'no parameters'}")
        if id_tokens and hint not in id_tokens:
            raise Violation(expected=f"id_token_hint: the ID token of {account} (found in its cache entries)",
                            seen=f"id_token_hint is {_describe_token(hint)}, not {_describe_token(id_tokens[0])}")
        if not id_tokens:
            if _claims(hint) is None:
                raise Violation(expected=f"id_token_hint: the ID token of {account}", seen="a value that is not a JWT")
            note = (f"the app keeps no ID token of {account} in storage: id_token_hint was only checked to be a JWT "
                    f"({_describe_token(hint)})")
    elif hint and id_tokens and hint not in id_tokens:
        raise Violation(expected="id_token_hint, when sent for a logout of every account, is one of their ID tokens",
                        seen=f"id_token_hint is {_describe_token(hint)}")
    elif not hint:
        note = "the logout of every account sent no id_token_hint (allowed: no account was named)"
    uri = params.get("post_logout_redirect_uri")
    if uri != return_uri:
        raise Violation(expected=f"post_logout_redirect_uri {return_uri} (the app's postLogoutRedirectUri)",
                        seen=f"post_logout_redirect_uri {uri}" if uri else "no post_logout_redirect_uri")
    return note


# ---- MSAL-logout-return, -popup ----------------------------------------------------------------


def base(url: str) -> str:
    """The URL without its query and fragment (the OP adds state; the app may tidy its address bar)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


@check("MSAL-logout-return")
def landed(final_url: str, return_uri: str) -> None:
    """After logoutRedirect the browser is at the postLogoutRedirectUri."""
    if base(final_url) != base(return_uri):
        raise Violation(expected=f"the browser back at {return_uri} (postLogoutRedirectUri)",
                        seen=f"the browser is at {base(final_url) or 'no page'}")


@check("MSAL-logout-popup")
def popup_logout(outcome: PopupOutcome, main_window_redirect_uri: str | None) -> None:
    """logoutPopup: the end-session navigation happens in a popup that then closes; the main window goes to
    mainWindowRedirectUri when the app sets one, and otherwise stays where it was."""
    if not outcome.opened:
        raise Violation(expected="logoutPopup opens a popup for the server's sign-out",
                        seen=f"no popup opened; the main window went from {base(outcome.main_before)} to "
                             f"{base(outcome.main_after)}")
    if "main" in outcome.end_session_frames:
        raise Violation(expected="the server's sign-out in the popup, the main window keeping the app",
                        seen="the main window itself went to the end-session endpoint")
    if "popup" not in outcome.end_session_frames:
        raise Violation(expected="the popup navigates to the OP's end-session endpoint",
                        seen=f"the popup never went there; it is at {base(outcome.popup_url) or 'about:blank'}")
    if not outcome.closed:
        raise Violation(expected="the popup closes once the sign-out is done (postLogoutRedirectUri reached)",
                        seen=f"the popup is still open at {base(outcome.popup_url)} after {outcome.waited_s:.1f} s")
    if main_window_redirect_uri:
        if base(outcome.main_after) != base(main_window_redirect_uri):
            raise Violation(expected=f"the main window goes to {main_window_redirect_uri} (mainWindowRedirectUri)",
                            seen=f"the main window is at {base(outcome.main_after)}")
    elif outcome.main_after != outcome.main_before:
        raise Violation(expected=f"the main window keeps its page ({base(outcome.main_before)}): no "
                                 "mainWindowRedirectUri is configured",
                        seen=f"the main window went to {base(outcome.main_after)}")
