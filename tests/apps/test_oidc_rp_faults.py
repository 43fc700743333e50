"""Every fault of the sample OIDC RP really changes what it does, at the requirement it names."""

import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator

import pytest
import yaml

from fixtures.apps.oidc_rp.faults import FAULTS, NAMES
from mock_idp.config import User

from .oidc_rp_world import (
    ALICE,
    BOB,
    OP_ES256,
    OP_RS256,
    Browser,
    Rps,
    back_channel_logout,
    logout_token,
    notification,
    running_rps,
    send_notification,
)
from .sample_sp_process import ROOT

SOURCE = ROOT / "fixtures" / "apps" / "oidc_rp"
CATALOGS = ROOT / "harness" / "catalog"
# Logs a user in, in a new browser, on the app with this fault.
BrowserOn = Callable[..., Browser]


def _rp_side_requirements() -> set[str]:
    """The requirements a fault of this app may break: the receiving RP's, in four catalogs."""
    ids: set[str] = set()
    for catalog in ("oidc-backchannel.yaml", "oidc-frontchannel.yaml", "rfc7515.yaml", "casdoor.yaml"):
        data = yaml.safe_load((CATALOGS / catalog).read_text())
        ids |= {requirement["id"] for requirement in data["requirements"]}
    rp_side = ("OIDCBCL-2.6-", "OIDCBCL-2.7-", "CASDOOR-receiver-", "OIDCFCL-2-rp-")
    exact = {"OIDCBCL-2.8-status", "OIDCBCL-2.8-cache", "RFC7515-4.1.11", "OIDCFCL-4.1-third-party"}
    return {id_ for id_ in ids if id_.startswith(rp_side) or id_ in exact}


#: front-channel faults have their tests in test_oidc_rp_frontchannel.py
HERE = [name for name in NAMES if not name.startswith("rp-fcl-")]


def test_every_fault_has_a_test_here() -> None:
    tests = {name for name in dir(sys.modules[__name__]) if name.startswith("test_fault_")}
    assert tests == {"test_fault_" + name.replace("-", "_") for name in HERE}


def test_every_fault_is_checked_in_the_code() -> None:
    code = "\n".join(path.read_text() for path in SOURCE.glob("*.py") if path.name != "faults.py")
    for name in NAMES:
        assert re.search(f'"{name}" (not )?in self.faults', code), name


def test_catalog_entries_are_complete() -> None:
    requirements = _rp_side_requirements()
    assert len(NAMES) == len(FAULTS)
    for fault in FAULTS:
        assert fault.name.startswith("rp-") and fault.description.endswith("."), fault
        assert fault.requirement in requirements, fault


@pytest.fixture(scope="session")
def rps() -> Iterator[Rps]:
    fault_sets = [frozenset({name}) for name in HERE]
    with tempfile.TemporaryFile("w+") as stderr, running_rps(fault_sets, stderr) as started:
        yield started


@pytest.fixture
def browser_on(rps: Rps) -> Iterator[BrowserOn]:
    opened: list[Browser] = []

    def log_in(fault: str, user: User = ALICE) -> Browser:
        opened.append(Browser(rps(fault)))
        opened[-1].log_in(user)
        return opened[-1]

    yield log_in
    for browser in opened:
        browser.close()


def acted_on(browser: Browser, token: str) -> bool:
    """Whether the app took the logout token: 200, and the browser's session is over."""
    answer = back_channel_logout(browser.rp, token)
    assert answer.status_code in (200, 400), answer.text
    return answer.status_code == 200 and not browser.signed_in()


# Back-Channel Logout 1.0 §2.6: validation


def test_fault_rp_bcl_signature_unchecked(browser_on: BrowserOn) -> None:
    alice = browser_on("rp-bcl-signature-unchecked")
    assert acted_on(alice, logout_token(alice.rp, {"alg": "none"}, None, sid=alice.sid()))


def test_fault_rp_bcl_any_alg(browser_on: BrowserOn) -> None:
    alice = browser_on("rp-bcl-any-alg")
    sid = alice.sid()
    assert not acted_on(alice, logout_token(alice.rp, {"alg": "none"}, None, sid=sid))
    es256 = {"alg": "ES256", "kid": OP_ES256.kid}
    assert acted_on(alice, logout_token(alice.rp, es256, OP_ES256, sid=sid))


def test_fault_rp_bcl_iss_unchecked(browser_on: BrowserOn) -> None:
    alice = browser_on("rp-bcl-iss-unchecked")
    token = logout_token(alice.rp, sid=alice.sid(), iss="http://other-op.test")
    assert acted_on(alice, token)


def test_fault_rp_bcl_aud_unchecked(browser_on: BrowserOn) -> None:
    alice = browser_on("rp-bcl-aud-unchecked")
    assert acted_on(alice, logout_token(alice.rp, sid=alice.sid(), aud="other-rp"))


def test_fault_rp_bcl_exp_unchecked(browser_on: BrowserOn) -> None:
    alice = browser_on("rp-bcl-exp-unchecked")
    expired = int(time.time()) - 600
    assert acted_on(alice, logout_token(alice.rp, sid=alice.sid(), iat=expired, exp=expired))
    alice.log_in()
    assert acted_on(alice, logout_token(alice.rp, sid=alice.sid(), exp=None))


def test_fault_rp_bcl_iat_unchecked(browser_on: BrowserOn) -> None:
    alice = browser_on("rp-bcl-iat-unchecked")
    assert acted_on(alice, logout_token(alice.rp, sid=alice.sid(), iat=None))


def test_fault_rp_bcl_events_unchecked(browser_on: BrowserOn) -> None:
    alice = browser_on("rp-bcl-events-unchecked")
    assert acted_on(alice, logout_token(alice.rp, sid=alice.sid(), events=None))


def test_fault_rp_bcl_nonce_accepted(browser_on: BrowserOn) -> None:
    alice = browser_on("rp-bcl-nonce-accepted")
    assert acted_on(alice, logout_token(alice.rp, sid=alice.sid(), nonce="n-1"))


def test_fault_rp_bcl_sub_sid_unchecked(browser_on: BrowserOn) -> None:
    alice = browser_on("rp-bcl-sub-sid-unchecked")
    bob = browser_on("rp-bcl-sub-sid-unchecked", BOB)
    assert acted_on(alice, logout_token(alice.rp, sub=None))
    assert not bob.signed_in()


def test_fault_rp_bcl_jti_unchecked(browser_on: BrowserOn) -> None:
    alice = browser_on("rp-bcl-jti-unchecked")
    assert acted_on(alice, logout_token(alice.rp, sid=alice.sid(), jti=None))


def test_fault_rp_bcl_crit_ignored(browser_on: BrowserOn) -> None:
    alice = browser_on("rp-bcl-crit-ignored")
    header = {"alg": "RS256", "kid": OP_RS256.kid, "crit": ["urn:example:ext"]}
    token = logout_token(alice.rp, {**header, "urn:example:ext": True}, sid=alice.sid())
    assert acted_on(alice, token)


# §2.7 and §2.8: what the RP does and answers


def test_fault_rp_bcl_session_kept(browser_on: BrowserOn) -> None:
    alice = browser_on("rp-bcl-session-kept")
    answer = back_channel_logout(alice.rp, logout_token(alice.rp, sid=alice.sid()))
    assert answer.status_code == 200 and alice.signed_in()


def test_fault_rp_bcl_ends_all_sessions(browser_on: BrowserOn) -> None:
    first = browser_on("rp-bcl-ends-all-sessions")
    second = browser_on("rp-bcl-ends-all-sessions")
    bob = browser_on("rp-bcl-ends-all-sessions", BOB)
    assert acted_on(first, logout_token(first.rp, sid=first.sid(), sub=None))
    assert not second.signed_in() and bob.signed_in()


def test_fault_rp_bcl_error_200(browser_on: BrowserOn) -> None:
    alice = browser_on("rp-bcl-error-200")
    answer = back_channel_logout(alice.rp, logout_token(alice.rp, sid=alice.sid(), aud="other"))
    assert answer.status_code == 200 and alice.signed_in()


def test_fault_rp_bcl_unknown_session_400(browser_on: BrowserOn) -> None:
    alice = browser_on("rp-bcl-unknown-session-400")
    answer = back_channel_logout(alice.rp, logout_token(alice.rp, sid="no-such-session"))
    assert answer.status_code == 400 and alice.signed_in()
    assert acted_on(alice, logout_token(alice.rp, sid=alice.sid()))


def test_fault_rp_bcl_no_cache_control(browser_on: BrowserOn) -> None:
    alice = browser_on("rp-bcl-no-cache-control")
    valid = back_channel_logout(alice.rp, logout_token(alice.rp, sid=alice.sid()))
    invalid = back_channel_logout(alice.rp, logout_token(alice.rp, sub=None))
    assert (valid.status_code, invalid.status_code) == (200, 400)
    assert "cache-control" not in valid.headers and "cache-control" not in invalid.headers


# Casdoor's SSO-logout notification


def test_fault_rp_webhook_signature_unchecked(browser_on: BrowserOn) -> None:
    alice = browser_on("rp-webhook-signature-unchecked")
    note = notification([alice.sid()], secret="not-the-secret")
    assert send_notification(alice.rp, note).status_code == 200
    assert not alice.signed_in()


def test_fault_rp_webhook_stale_accepted(browser_on: BrowserOn) -> None:
    alice = browser_on("rp-webhook-stale-accepted")
    note = notification([alice.sid()], timestamp=int(time.time()) - 600)
    assert send_notification(alice.rp, note).status_code == 200
    assert not alice.signed_in()


def test_fault_rp_webhook_replay_accepted(browser_on: BrowserOn) -> None:
    alice = browser_on("rp-webhook-replay-accepted")
    note = notification([alice.sid()])
    assert send_notification(alice.rp, note).status_code == 200
    alice.log_in()  # the same OP session, so the same sid
    assert send_notification(alice.rp, note).status_code == 200
    assert not alice.signed_in()


def test_fault_rp_webhook_lenient_schema(browser_on: BrowserOn) -> None:
    alice = browser_on("rp-webhook-lenient-schema")
    # Signed over the timestamp's text, which reads the same as the number would.
    note = notification([alice.sid()], timestamp=str(int(time.time())), role="admin")
    del note["phone"]
    assert send_notification(alice.rp, note).status_code == 200
    assert not alice.signed_in()


def test_fault_rp_webhook_ends_all_sessions(browser_on: BrowserOn) -> None:
    first = browser_on("rp-webhook-ends-all-sessions")
    second = browser_on("rp-webhook-ends-all-sessions")
    bob = browser_on("rp-webhook-ends-all-sessions", BOB)
    assert send_notification(first.rp, notification([first.sid()])).status_code == 200
    assert not first.signed_in() and not second.signed_in() and bob.signed_in()
