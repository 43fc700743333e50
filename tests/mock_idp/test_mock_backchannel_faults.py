"""Every Back-Channel Logout fault of the catalog really changes the logout tokens the mock sends, at the requirement it names."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from idp_client import ALICE, BACK_CHANNEL, Browser, claims_of, header_of
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from receiver import QUIET, Received, Receiver, Rp, register_rp

MockWith = Callable[..., str]
NewBrowser = Callable[[str], Browser]
EVENT = "http://schemas.openid.net/event/backchannel-logout"
CONFORMANT_CLAIMS = {"iss", "aud", "iat", "exp", "jti", "events", "sub", "sid"}


@dataclass(frozen=True)
class Logout:
    """One RP logged in through a browser's session, the session logged out, what the RP got."""

    url: str
    rp: Rp
    session: dict[str, str]
    received: list[Received]

    @property
    def token(self) -> str:
        (only,) = self.received
        return only.logout_token()

    @property
    def header(self) -> dict[str, Any]:
        return header_of(self.token)

    @property
    def claims(self) -> dict[str, Any]:
        return claims_of(self.token)

    def jwks(self) -> KeySet:
        return KeySet.import_key_set(BACK_CHANNEL.get(self.url + "/jwks").json())


def logout(
    mock_with: MockWith, new_browser: NewBrowser, receiver: Receiver, fault: str, **fields: Any
) -> Logout:
    url = mock_with(fault)
    rp = register_rp(url, receiver, **fields)
    browser = new_browser(url)
    browser.code(rp.client)
    session = browser.session()
    assert session is not None
    assert browser.log_out().status_code == 200
    return Logout(url, rp, session, receiver.at(rp.path))


@pytest.fixture
def run(mock_with: MockWith, new_browser: NewBrowser, receiver: Receiver) -> Callable[..., Logout]:
    """run(fault, **client fields): a logout on the mock with this fault, as one RP saw it."""

    def with_fault(fault: str, **fields: Any) -> Logout:
        return logout(mock_with, new_browser, receiver, fault, **fields)

    return with_fault


Run = Callable[..., Logout]


# What is sent, and how


def test_fault_bcl_not_sent(run: Run) -> None:
    assert run("bcl-not-sent").received == []


def test_fault_bcl_unsigned(run: Run) -> None:
    done = run("bcl-unsigned")
    assert done.header["alg"] == "none" and done.token.endswith(".")
    assert done.claims["sub"] == ALICE.sub


def test_fault_bcl_foreign_key(run: Run) -> None:
    done = run("bcl-foreign-key")
    assert done.header["kid"] in [key.kid for key in done.jwks().keys]
    with pytest.raises(JoseError):
        jwt.decode(done.token, done.jwks(), algorithms=["RS256"])


def test_fault_bcl_unknown_kid(run: Run) -> None:
    done = run("bcl-unknown-kid")
    assert done.header["kid"] not in [key.kid for key in done.jwks().keys]
    # The signature itself is the OP's: only the kid leads nowhere.
    own = next(key for key in done.jwks().keys if key.alg == "RS256")
    assert jws.deserialize_compact(done.token, own, algorithms=["RS256"])


def test_fault_bcl_crit(run: Run) -> None:
    done = run("bcl-crit")
    assert done.header["crit"] == ["urn:example:unknown"] and "urn:example:unknown" in done.header
    with pytest.raises(JoseError):
        jwt.decode(done.token, done.jwks(), algorithms=["RS256"])


def test_fault_bcl_not_jwt(run: Run) -> None:
    done = run("bcl-not-jwt")
    assert done.token and "." not in done.token


def test_fault_bcl_huge(run: Run) -> None:
    done = run("bcl-huge")
    assert len(done.received[0].body) > 1024 * 1024
    assert len(done.claims["padding"]) == 1024 * 1024
    # Well signed, only huge; joserfc refuses over 128 kB by default, as an RP well might.
    roomy = JWSRegistry(algorithms=["RS256"])
    roomy.max_payload_length = 2 * 1024 * 1024
    jws.deserialize_compact(done.token, done.jwks(), registry=roomy)


def test_fault_bcl_json_body(run: Run) -> None:
    done = run("bcl-json-body")
    (received,) = done.received
    assert received.content_type == "application/json"
    assert set(received.json()) == {"logout_token"}
    jwt.decode(received.json()["logout_token"], done.jwks(), algorithms=["RS256"])


def test_fault_bcl_no_typ(run: Run) -> None:
    assert "typ" not in run("bcl-no-typ").header


# The claims


def test_fault_bcl_wrong_iss(run: Run) -> None:
    done = run("bcl-wrong-iss")
    assert done.claims["iss"] != done.url


def test_fault_bcl_wrong_aud(run: Run) -> None:
    done = run("bcl-wrong-aud")
    assert done.claims["aud"] != done.rp.client.client_id


def test_fault_bcl_no_iat(run: Run) -> None:
    assert set(run("bcl-no-iat").claims) == CONFORMANT_CLAIMS - {"iat"}


def test_fault_bcl_no_exp(run: Run) -> None:
    assert set(run("bcl-no-exp").claims) == CONFORMANT_CLAIMS - {"exp"}


def test_fault_bcl_no_jti(run: Run) -> None:
    assert set(run("bcl-no-jti").claims) == CONFORMANT_CLAIMS - {"jti"}


def test_fault_bcl_no_events(run: Run) -> None:
    assert set(run("bcl-no-events").claims) == CONFORMANT_CLAIMS - {"events"}


def test_fault_bcl_repeated_jti(
    mock_with: MockWith, new_browser: NewBrowser, receiver: Receiver
) -> None:
    url = mock_with("bcl-repeated-jti")
    rps = [register_rp(url, receiver) for _ in range(2)]
    jtis = []
    for _ in range(2):
        browser = new_browser(url)
        for rp in rps:
            browser.code(rp.client)
        browser.log_out()
    for rp in rps:
        jtis += [claims_of(received.logout_token())["jti"] for received in receiver.at(rp.path)]
    assert len(jtis) == 4 and len(set(jtis)) == 1


def test_fault_bcl_event_not_object(run: Run) -> None:
    assert run("bcl-event-not-object").claims["events"] == {EVENT: True}


def test_fault_bcl_event_not_empty(run: Run) -> None:
    assert run("bcl-event-not-empty").claims["events"] == {EVENT: {"reason": "logout"}}


def test_fault_bcl_nonce(run: Run) -> None:
    assert run("bcl-nonce").claims["nonce"]


def test_fault_bcl_no_sid(run: Run) -> None:
    done = run("bcl-no-sid", backchannel_logout_session_required=True)
    assert "sid" not in done.claims and done.claims["sub"] == ALICE.sub


def test_fault_bcl_wrong_sid(run: Run) -> None:
    done = run("bcl-wrong-sid")
    assert done.claims["sid"] != done.session["sid"] and done.claims["sub"] == ALICE.sub


def test_fault_bcl_wrong_sub(run: Run) -> None:
    done = run("bcl-wrong-sub")
    assert done.claims["sub"] != ALICE.sub and done.claims["sid"] == done.session["sid"]


def test_fault_bcl_no_sub_no_sid(run: Run) -> None:
    claims = run("bcl-no-sub-no-sid").claims
    assert "sub" not in claims and "sid" not in claims


# Who is told, and how often


def test_fault_bcl_all_clients(
    mock_with: MockWith, new_browser: NewBrowser, receiver: Receiver
) -> None:
    url = mock_with("bcl-all-clients")
    used, unused = register_rp(url, receiver), register_rp(url, receiver)
    browser = new_browser(url)
    browser.code(used.client)
    browser.log_out()
    assert len(receiver.at(used.path)) == 1
    (told,) = receiver.at(unused.path)
    assert claims_of(told.logout_token())["aud"] == unused.client.client_id


def test_fault_bcl_retry_at_once(run: Run, receiver: Receiver) -> None:
    done = run("bcl-retry-at-once", status=500)
    first, *resent = receiver.wait(done.rp.path, 4)
    assert all(again.body == first.body and again.at - first.at < 1.0 for again in resent)
    assert not receiver.arrived(done.rp.path, 5, QUIET)


def test_fault_bcl_resend_after_success(run: Run, receiver: Receiver) -> None:
    done = run("bcl-resend-after-success")
    first, again = receiver.wait(done.rp.path, 2)
    assert again.body == first.body


# Discovery and ID tokens


def test_fault_bcl_no_metadata(run: Run) -> None:
    done = run("bcl-no-metadata")
    metadata = BACK_CHANNEL.get(done.url + "/.well-known/openid-configuration").json()
    assert metadata["backchannel_logout_supported"] is False
    assert len(done.received) == 1  # and yet a logout token came


def test_fault_bcl_id_token_no_sid(mock_with: MockWith, new_browser: NewBrowser) -> None:
    url = mock_with("bcl-id-token-no-sid")
    metadata = BACK_CHANNEL.get(url + "/.well-known/openid-configuration").json()
    assert metadata["backchannel_logout_session_supported"] is True
    assert "sid" not in claims_of(new_browser(url).sign_in().id_token)


def test_fault_bcl_casdoor_not_sent(
    mock_with: MockWith, new_browser: NewBrowser, receiver: Receiver
) -> None:
    url = mock_with("bcl-casdoor-not-sent")
    rp = register_rp(url, receiver)
    browser = new_browser(url)
    browser.code(rp.client)
    answer = browser.sso_logout()
    assert answer.json()["status"] == "ok" and not browser.has_session()
    assert receiver.at(rp.path) == []
    browser.code(rp.client)
    browser.log_out()  # end-session still tells the RP
    assert len(receiver.at(rp.path)) == 1
