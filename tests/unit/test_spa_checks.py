"""Tests of harness.spa: the generic judgement of an app's storage, and pass and fail for each check."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from harness import spa
from harness.errors import TargetError
from harness.spa import AccountCache, EndSession, PopupOutcome

from .violations import violated

CLIENT = "sample-spa"
ENV = "op.example"


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def make_jwt(**claims: Any) -> str:
    return f"{b64({'alg': 'RS256', 'typ': 'JWT'})}.{b64(claims)}.c2lnbmF0dXJlc2lnbmF0dXJl"


def id_token(sub: str, aud: str = CLIENT) -> str:
    return make_jwt(iss="https://op.example", sub=sub, aud=aud, nonce="n-" + sub, exp=2_000_000_000)


def access_token(sub: str) -> str:
    return make_jwt(iss="https://op.example", sub=sub, aud="api", scope="openid profile", exp=2_000_000_000)


def msal_entries(sub: str) -> dict[str, str]:
    """The sample SPA's (MSAL-shaped) localStorage entries of one account."""
    home = f"{sub}.{ENV}"
    prefix = f"{home}-{ENV}-"
    common = {"homeAccountId": home, "environment": ENV, "clientId": CLIENT}
    return {
        prefix + "account": json.dumps({"homeAccountId": home, "username": sub, "localAccountId": sub}),
        prefix + "idtoken-" + CLIENT: json.dumps({**common, "credentialType": "IdToken", "secret": id_token(sub)}),
        prefix + "accesstoken-" + CLIENT: json.dumps({**common, "credentialType": "AccessToken",
                                                      "secret": access_token(sub), "tokenType": "Bearer"}),
        prefix + "refreshtoken-" + CLIENT: json.dumps({**common, "credentialType": "RefreshToken",
                                                       "secret": f"rt-{sub}-opaque-0123456789abcdef"}),
    }


def account_key(sub: str) -> str:
    return f"{sub}.{ENV}-{ENV}-account"


def signed_in(*subs: str) -> dict[str, dict[str, str]]:
    """The storage with these accounts signed in, the last one active."""
    local: dict[str, str] = {"msal.version": "3.0.0"}
    for sub in subs:
        local.update(msal_entries(sub))
    if subs:
        local["msal.account.keys"] = json.dumps([account_key(s) for s in subs])
    session = {"msal.sample-spa.active-account": json.dumps({"homeAccountId": f"{subs[-1]}.{ENV}",
                                                             "username": subs[-1]})} if subs else {}
    return {"local": local, "session": session}


def logins(*subs: str) -> list[tuple[str, spa.Storage, spa.Storage]]:
    steps = []
    before: dict[str, dict[str, str]] = {"local": {}, "session": {}}
    for i, sub in enumerate(subs):
        after = signed_in(*subs[: i + 1])
        steps.append((sub, before, after))
        before = after
    return steps


def caches(*subs: str) -> dict[str, AccountCache]:
    return {c.account: c for c in spa.attribute(logins(*subs), CLIENT)}


def without(storage: spa.Storage, *keys: tuple[str, str]) -> dict[str, dict[str, str]]:
    out = {area: dict(values) for area, values in storage.items()}
    for area, key in keys:
        out[area].pop(key, None)
    return out


def keys_of(sub: str) -> list[tuple[str, str]]:
    return [("local", k) for k in msal_entries(sub)]


# ---- attribution -------------------------------------------------------------------------------


def test_attribute_finds_each_accounts_entries_tokens_and_id_token() -> None:
    found = caches("alice", "bob")
    alice, bob = found["alice"], found["bob"]
    assert {k for _, k in alice.entries} == set(msal_entries("alice"))
    # the shared account list and the active-account entry were last written by bob's login, for bob
    assert ("local", "msal.account.keys") in bob.entries
    assert ("session", "msal.sample-spa.active-account") in bob.entries
    assert set(msal_entries("bob")) <= {k for _, k in bob.entries}
    assert alice.id_token == id_token("alice") and bob.id_token == id_token("bob")
    assert alice.tokens == {id_token("alice"), access_token("alice"), "rt-alice-opaque-0123456789abcdef"}
    assert "alice" in alice.identifiers
    # written by alice's login, holding nothing of an account: not judged
    assert alice.neutral == {("local", "msal.version")}


def test_a_rewrite_that_keeps_the_earlier_accounts_data_stays_with_it() -> None:
    first = signed_in("alice")
    second = signed_in("alice", "bob")
    key = next(k for k in msal_entries("alice") if k.endswith("-account"))
    second["local"][key] = second["local"][key].replace('"username"', '"lastSeen": 1, "username"')
    found = {c.account: c for c in spa.attribute([("alice", {"local": {}, "session": {}}, first),
                                                  ("bob", first, second)], CLIENT)}
    assert ("local", key) in found["alice"].entries
    assert ("local", key) not in found["bob"].entries


def test_tokens_in_reads_jwts_and_opaque_values_under_token_names() -> None:
    assert spa.tokens_in(("local", "k"), json.dumps({"secret": "opaque-0123456789abcdef", "x": "short"})) == {
        "opaque-0123456789abcdef"}
    assert spa.tokens_in(("local", "k"), json.dumps({"token_type": "Bearer", "name": "a-long-non-token-value"})) == set()
    assert spa.tokens_in(("local", "refresh_token"), "opaque-0123456789abcdef") == {"opaque-0123456789abcdef"}
    assert spa.tokens_in(("local", "note"), "opaque-0123456789abcdef") == set()
    jwt = id_token("carol")
    assert spa.tokens_in(("session", "x"), f"prefix {jwt} suffix") == {jwt}


def test_find_id_token_prefers_the_clients_token_without_scope() -> None:
    assert spa.find_id_token([access_token("a"), id_token("a")], CLIENT) == id_token("a")
    assert spa.find_id_token([access_token("a")], CLIENT) is None
    other = id_token("a", aud="other")
    assert spa.find_id_token([other, id_token("a")], CLIENT) == id_token("a")
    assert spa.find_id_token(["not-a-jwt"], CLIENT) is None


# ---- MSAL-logout-cache -------------------------------------------------------------------------


def test_account_cache_cleared() -> None:
    found = caches("alice", "bob")
    after = without(signed_in("alice", "bob"), *keys_of("alice"))
    after["local"]["msal.account.keys"] = json.dumps([account_key("bob")])
    assert spa.account_cache_cleared(found["alice"], after) is None
    v = violated("MSAL-logout-cache", spa.account_cache_cleared, found["alice"], signed_in("alice", "bob"))
    assert "example-account'] (names the account)" in v.seen and "holds its tokens" in v.seen
    assert id_token("alice") not in str(v)


def test_a_copy_of_a_token_anywhere_is_a_leftover() -> None:
    found = caches("alice")
    after = without(signed_in("alice"), *keys_of("alice"))
    after["session"]["somewhere"] = json.dumps({"cached": access_token("alice")})
    v = violated("MSAL-logout-cache", spa.account_cache_cleared, found["alice"], after)
    assert "sessionStorage['somewhere'] (holds one of its tokens)" in v.seen


def test_an_entry_rewritten_without_the_account_is_gone() -> None:
    found = caches("alice", "bob")
    # bob logs out: the account list (bob's entry, naming both) is rewritten with alice alone
    after = without(signed_in("alice", "bob"), *keys_of("bob"), ("session", "msal.sample-spa.active-account"))
    after["local"]["msal.account.keys"] = json.dumps([account_key("alice")])
    assert spa.account_cache_cleared(found["bob"], after) is None
    after["local"]["msal.account.keys"] = json.dumps([account_key("alice"), account_key("bob")])
    v = violated("MSAL-logout-cache", spa.account_cache_cleared, found["bob"], after)
    assert "msal.account.keys" in v.seen and "names the account" in v.seen


def test_leftovers_can_look_at_one_area() -> None:
    found = caches("alice")
    after = without(signed_in("alice"), *keys_of("alice"), ("local", "msal.account.keys"))
    assert spa.leftovers(found["alice"], after, ["local"]) == []
    assert spa.leftovers(found["alice"], after) == [
        "sessionStorage['msal.sample-spa.active-account'] (names the account)"]


# ---- MSAL-logout-account, -all, -best-effort ---------------------------------------------------


def test_other_accounts_kept() -> None:
    found = caches("alice", "bob")
    after = without(signed_in("alice", "bob"), *keys_of("alice"))
    after["local"]["msal.account.keys"] = json.dumps([account_key("bob")])
    assert spa.other_accounts_kept([found["bob"]], after, "alice") is None
    wrong = without(signed_in("alice", "bob"), *keys_of("bob"))
    v = violated("MSAL-logout-account", spa.other_accounts_kept, [found["bob"]], wrong, "alice")
    assert "bob:" in v.seen and "gone after logging out alice" in v.seen


def test_every_account_cleared() -> None:
    found = caches("alice", "bob")
    assert spa.every_account_cleared(list(found.values()), {"local": {"msal.version": "3"}, "session": {}}) is None
    partial = without(signed_in("alice", "bob"), *keys_of("bob"), ("session", "msal.sample-spa.active-account"),
                      ("local", "msal.account.keys"))
    v = violated("MSAL-logout-all", spa.every_account_cleared, list(found.values()), partial)
    assert v.seen.startswith("alice still in the cache")


def test_cache_cleared_despite_failure() -> None:
    found = caches("alice")
    cleared = {"local": {"msal.version": "3"}, "session": {}}
    assert spa.cache_cleared_despite_failure([found["alice"]], cleared, "HTTP 500") is None
    v = violated("MSAL-logout-best-effort", spa.cache_cleared_despite_failure, [found["alice"]], signed_in("alice"),
                 "HTTP 500")
    assert "HTTP 500" in v.expected


def test_many_leftovers_are_counted() -> None:
    account = AccountCache("dave", frozenset(("local", f"k{i}") for i in range(10)), frozenset({"tok-0123456789abcdef"}))
    storage = {"local": {f"k{i}": "tok-0123456789abcdef" for i in range(10)}}
    v = violated("MSAL-logout-cache", spa.account_cache_cleared, account, storage)
    assert v.seen.endswith("and 4 more")


# ---- MSAL-logout-server ------------------------------------------------------------------------

EP = "https://op.example/end-session"


def end_session(frame: str = "main", navigation: bool = True, leftovers: tuple[str, ...] | None = (),
                **params: str) -> EndSession:
    return EndSession(EP, frame, navigation, params, leftovers)


def test_end_session_navigated() -> None:
    assert spa.end_session_navigated([end_session()], "main", EP) is None
    assert spa.end_session_navigated([end_session("popup")], "popup", EP) is None
    v = violated("MSAL-logout-server", spa.end_session_navigated, [], "main", EP, ["https://app/signed-out"])
    assert "no request to the end-session endpoint" in v.seen and "https://app/signed-out" in v.seen
    v = violated("MSAL-logout-server", spa.end_session_navigated, [end_session(navigation=False)], "main", EP)
    assert "a fetch/XHR in the app's window" in v.seen
    v = violated("MSAL-logout-server", spa.end_session_navigated, [end_session("main")], "popup", EP)
    assert "a navigation in the app's window" in v.seen


def test_end_session_after_the_cache_was_cleared() -> None:
    v = violated("MSAL-logout-server", spa.end_session_navigated,
                 [end_session(leftovers=("alice: localStorage['k'] (holds its tokens)",))], "main", EP)
    assert "still held alice: localStorage['k']" in v.seen
    # not read (no hold): judged on the request alone
    assert spa.end_session_navigated([end_session(leftovers=None)], "main", EP) is None


def test_server_session_probe() -> None:
    assert spa.server_session_ended(False, "login_required") is None
    violated("MSAL-logout-server", spa.server_session_ended, True, "a code")
    assert spa.interrupted_session(False, "login_required") is None
    v = violated("MSAL-logout-interrupted", spa.interrupted_session, True, "a code")
    assert "still alive" in v.seen


def test_read_probe() -> None:
    cb = "http://127.0.0.1:9481/cb/rp1"
    assert spa.read_probe(cb + "?code=abc&state=s", cb)[0] is True
    assert spa.read_probe(cb + "?error=login_required&state=s", cb) == (
        False, "a prompt=none authorization request answered login_required")
    assert spa.read_probe(cb + "#error=interaction_required", cb)[0] is False
    with pytest.raises(TargetError, match="neither a code nor a no-session error"):
        spa.read_probe(cb + "?error=invalid_client", cb)
    with pytest.raises(TargetError, match="not at its redirect_uri"):
        spa.read_probe("https://op.example/error", cb)


# ---- MSAL-logout-hint --------------------------------------------------------------------------

RETURN = "https://app.example/signed-out"


def test_end_session_hint() -> None:
    hint = id_token("alice")
    params = {"id_token_hint": hint, "post_logout_redirect_uri": RETURN, "state": "s"}
    assert spa.end_session_hint(params, [hint], RETURN, "alice") is None
    v = violated("MSAL-logout-hint", spa.end_session_hint, {"post_logout_redirect_uri": RETURN, "client_id": "c"},
                 [hint], RETURN, "alice")
    assert v.seen == "no id_token_hint; the request had client_id, post_logout_redirect_uri"
    v = violated("MSAL-logout-hint", spa.end_session_hint, {**params, "id_token_hint": id_token("bob")}, [hint],
                 RETURN, "alice")
    assert "sub 'bob'" in v.seen and "sub 'alice'" in v.seen
    v = violated("MSAL-logout-hint", spa.end_session_hint, {"id_token_hint": hint}, [hint], RETURN, "alice")
    assert v.seen == "no post_logout_redirect_uri"
    v = violated("MSAL-logout-hint", spa.end_session_hint, {**params, "post_logout_redirect_uri": RETURN + "x"},
                 [hint], RETURN, "alice")
    assert v.seen.endswith("signed-outx")


def test_end_session_hint_without_a_stored_id_token() -> None:
    note = spa.end_session_hint({"id_token_hint": id_token("a"), "post_logout_redirect_uri": RETURN}, [], RETURN, "a")
    assert note and "only checked to be a JWT" in note
    violated("MSAL-logout-hint", spa.end_session_hint, {"id_token_hint": "opaque", "post_logout_redirect_uri": RETURN},
             [], RETURN, "a")


def test_end_session_hint_for_every_account() -> None:
    tokens = [id_token("alice"), id_token("bob")]
    assert spa.end_session_hint({"id_token_hint": tokens[1], "post_logout_redirect_uri": RETURN}, tokens, RETURN,
                                None) is None
    note = spa.end_session_hint({"post_logout_redirect_uri": RETURN}, tokens, RETURN, None)
    assert note and "no id_token_hint" in note
    violated("MSAL-logout-hint", spa.end_session_hint,
             {"id_token_hint": id_token("carol"), "post_logout_redirect_uri": RETURN}, tokens, RETURN, None)


# ---- MSAL-logout-return, -popup ----------------------------------------------------------------


def test_landed() -> None:
    assert spa.landed(RETURN + "?state=abc", RETURN) is None
    v = violated("MSAL-logout-return", spa.landed, "https://op.example/end-session?x=1", RETURN)
    assert v.seen == "the browser is at https://op.example/end-session"


MAIN = "https://app.example/"
AFTER = "https://app.example/after-logout"


def popup(**changes: Any) -> PopupOutcome:
    outcome = PopupOutcome(opened=True, end_session_frames=("popup",), closed=True, popup_url="",
                           main_before=MAIN, main_after=AFTER, waited_s=0.2)
    for key, value in changes.items():
        setattr(outcome, key, value)
    return outcome


def test_popup_logout() -> None:
    assert spa.popup_logout(popup(), AFTER) is None
    assert spa.popup_logout(popup(main_after=MAIN), None) is None
    v = violated("MSAL-logout-popup", spa.popup_logout, popup(opened=False, end_session_frames=()), AFTER)
    assert v.seen.startswith("no popup opened")
    v = violated("MSAL-logout-popup", spa.popup_logout, popup(end_session_frames=("main",)), AFTER)
    assert "main window itself" in v.seen
    v = violated("MSAL-logout-popup", spa.popup_logout, popup(end_session_frames=()), AFTER)
    assert "never went there" in v.seen
    v = violated("MSAL-logout-popup", spa.popup_logout, popup(closed=False, popup_url="https://op.example/x"), AFTER)
    assert "still open at https://op.example/x" in v.seen
    v = violated("MSAL-logout-popup", spa.popup_logout, popup(main_after=MAIN), AFTER)
    assert v.seen == f"the main window is at {MAIN}"
    v = violated("MSAL-logout-popup", spa.popup_logout, popup(main_after=AFTER), None)
    assert "went to" in v.seen
