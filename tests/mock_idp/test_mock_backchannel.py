"""The conformant mock OP: Back-Channel Logout 1.0 logout tokens, and the run-time hooks under /_mock/oidc."""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import asdict
from typing import Any

from idp_client import (
    ALICE,
    BACK_CHANNEL,
    BOB,
    RP_BASIC,
    Browser,
    claims_of,
    is_active,
    refresh,
    register_client,
)
from joserfc import jwt
from joserfc.jwk import KeySet
from receiver import QUIET, Received, Receiver, register_rp

from mock_idp.config import Client, MockConfig

MockWith = Callable[..., str]
NewBrowser = Callable[[str], Browser]
MockCli = Callable[[MockConfig], AbstractContextManager[str]]
EVENT = "http://schemas.openid.net/event/backchannel-logout"
FAN_OUT = 2000
# One logout that tells 2000 RPs takes about 5 s alone on two cores; the suite's other workers
# share them.
FAN_OUT_TIMEOUT = 60.0


def verified(base_url: str, token: str, alg: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a logout token whose signature the OP's JWKS verifies, by its alg."""
    keys = KeySet.import_key_set(BACK_CHANNEL.get(base_url + "/jwks").json())
    decoded = jwt.decode(token, keys, algorithms=[alg])
    return decoded.header, decoded.claims


def kid_of(base_url: str, alg: str) -> str:
    keys = BACK_CHANNEL.get(base_url + "/jwks").json()["keys"]
    kid: str = next(key["kid"] for key in keys if key["alg"] == alg)
    return kid


def assert_logout_token(
    base_url: str, received: Received, client: Client, session: dict[str, str]
) -> dict[str, Any]:
    """A conformant logout token (§2.4) for this client about this OP session; its claims."""
    alg = client.id_token_signed_response_alg
    header, claims = verified(base_url, received.logout_token(), alg)
    assert header == {"alg": alg, "kid": kid_of(base_url, alg), "typ": "logout+jwt"}
    assert set(claims) == {"iss", "aud", "iat", "exp", "jti", "events", "sub", "sid"}
    assert claims["iss"] == base_url and claims["aud"] == client.client_id
    assert time.time() - 10 <= claims["iat"] <= time.time()
    assert claims["exp"] == claims["iat"] + 120
    assert claims["events"] == {EVENT: {}}
    assert (claims["sub"], claims["sid"]) == (session["sub"], session["sid"])
    return claims


def test_discovery_says_back_channel_logout_with_sessions(mock_url: str) -> None:
    metadata = BACK_CHANNEL.get(mock_url + "/.well-known/openid-configuration").json()
    assert metadata["backchannel_logout_supported"] is True
    assert metadata["backchannel_logout_session_supported"] is True


def test_tokens_reach_exactly_the_rps_of_the_ended_session_before_the_answer(
    mock_with: MockWith, new_browser: NewBrowser, receiver: Receiver
) -> None:
    url = mock_with()
    rs256 = register_rp(url, receiver)
    es256 = register_rp(
        url,
        receiver,
        id_token_signed_response_alg="ES256",
        backchannel_logout_session_required=True,
    )
    never = register_rp(url, receiver)
    browser, bob = new_browser(url), new_browser(url)
    id_token = browser.sign_in(rs256.client).id_token
    browser.code(es256.client, prompt="none")  # a silent login counts too
    browser.code(RP_BASIC)  # no backchannel_logout_uri: nothing to send
    bob.sign_in(rs256.client, BOB)
    session = browser.session()
    assert session is not None and session == {
        "sid": claims_of(id_token)["sid"],
        "sub": ALICE.sub,
    }

    answer = browser.log_out(id_token_hint=id_token)

    assert answer.status_code == 200 and "You are signed out" in answer.text
    # Looked at at once, without waiting: the RPs were told before the browser got its answer.
    (to_rs256,) = receiver.at(rs256.path)
    (to_es256,) = receiver.at(es256.path)
    first = assert_logout_token(url, to_rs256, rs256.client, session)
    second = assert_logout_token(url, to_es256, es256.client, session)
    assert first["jti"] != second["jti"]
    assert receiver.at(never.path) == []
    assert browser.session() is None
    assert bob.has_session(rs256.client)


def test_a_failing_rp_gets_one_retry_a_second_later_and_a_happy_one_none(
    mock_with: MockWith, new_browser: NewBrowser, receiver: Receiver
) -> None:
    url = mock_with()
    failing = register_rp(url, receiver, status=500)
    happy = register_rp(url, receiver, status=204)
    browser = new_browser(url)
    browser.code(failing.client)
    browser.code(happy.client)
    browser.log_out()
    assert len(receiver.at(failing.path)) == 1
    first, retry = receiver.wait(failing.path, 2)
    assert retry.at - first.at >= 1.0
    assert retry.body == first.body  # the same logout token again
    assert not receiver.arrived(failing.path, 3, QUIET)
    assert len(receiver.at(happy.path)) == 1


def test_one_logout_fans_out_to_2000_rps(mock_cli: MockCli, receiver: Receiver) -> None:
    base = receiver.new_path()
    clients = [
        Client(
            f"fan-{n}",
            "fan-secret",
            ["http://rp.test/cb"],
            backchannel_logout_uri=f"{receiver.url}{base}/{n}",
            # ES256 signs ten times faster than RS256: the test is about the fan-out, not the alg.
            id_token_signed_response_alg="ES256",
        )
        for n in range(FAN_OUT)
    ]
    with mock_cli(MockConfig(clients, [ALICE])) as url:
        browser = Browser(url)
        browser.http.timeout = FAN_OUT_TIMEOUT
        browser.code(clients[0])
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda client: browser.code(client, prompt="none"), clients[1:]))
        answer = browser.log_out()
        browser.close()
    assert answer.status_code == 200
    assert [len(receiver.at(f"{base}/{n}")) for n in range(FAN_OUT)] == [1] * FAN_OUT


# The run-time hooks


def test_registering_a_client_at_run_time(mock_with: MockWith, new_browser: NewBrowser) -> None:
    url = mock_with()
    client = Client(
        "registered-" + str(time.monotonic_ns()),
        "s3cret",
        ["http://rp9.test/cb"],
        post_logout_redirect_uris=["http://rp9.test/bye"],
    )
    assert register_client(url, client).json() == {"client_id": client.client_id}
    again = register_client(url, client)
    assert again.status_code == 409 and client.client_id in again.json()["error"]
    # It works like a configured client: code flow, refresh, introspection, logout.
    browser = new_browser(url)
    tokens = browser.sign_in(client)
    assert claims_of(tokens.id_token)["aud"] == client.client_id
    assert refresh(url, client, tokens.refresh_token).status_code == 200
    assert is_active(url, tokens.access_token, client)
    answer = browser.log_out(
        client_id=client.client_id, post_logout_redirect_uri="http://rp9.test/bye"
    )
    assert answer.headers["location"] == "http://rp9.test/bye"
    assert not is_active(url, tokens.access_token, client)


def test_registration_refuses_what_config_refuses(mock_with: MockWith) -> None:
    url = mock_with()
    good = asdict(Client("refused", "s", ["http://rp.test/cb"]))
    for body, reason in [
        ({**good, "backchannel_logout_uri": "http://rp.test/bcl#frag"}, "backchannel_logout_uri"),
        ({**good, "backchannel_logout_uri": "/relative"}, "backchannel_logout_uri"),
        ({**good, "id_token_signed_response_alg": "none"}, "id_token_signed_response_alg"),
        ({**good, "redirect_uris": "http://rp.test/cb"}, "redirect_uris"),
        ({**good, "colour": "blue"}, "colour"),
        ({"client_id": "refused"}, "client_secret"),
        ([good], "object"),
    ]:
        answer = BACK_CHANNEL.post(url + "/_mock/oidc/clients", json=body)
        assert answer.status_code == 400 and reason in answer.json()["error"], answer.text
    assert BACK_CHANNEL.post(url + "/_mock/oidc/clients", content=b"{").status_code == 400


def test_the_session_hook_names_the_browsers_op_session(
    mock_with: MockWith, new_browser: NewBrowser
) -> None:
    browser = new_browser(mock_with())
    assert browser.http.get("/_mock/oidc/session").status_code == 404
    id_token = browser.sign_in(user=BOB).id_token
    assert browser.session() == {"sid": claims_of(id_token)["sid"], "sub": BOB.sub}
