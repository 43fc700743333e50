"""Chaining the mock to an upstream mock, like Auth0 with an enterprise connection: login through OIDC and SAML connections, federated logout through /v2/logout, the config, and each federation fault."""

import base64
import dataclasses
import hashlib
import json
import re
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager

import httpx
import pytest
from chain import (
    OIDC,
    SAML,
    Chain,
    ChainBrowser,
    Walk,
    assertion_session_indexes,
    downstream_config,
    register,
    request_session_indexes,
    sp_metadata,
)
from fake_op import FakeOp, new_key
from idp_client import (
    ALICE,
    BACK_CHANNEL,
    BOB,
    CONFIG,
    RP_BASIC,
    SAML_SP1,
    Browser,
    hidden_fields,
    query,
    token_request,
    unsigned,
)
from joserfc import jwt
from joserfc.jwk import KeySet
from lxml import etree
from saml_sp import Idp, delivered, idp_at, logout_request, logout_response, redirect_query

from mock_idp.config import ConfigError, MockConfig, OidcUpstream, SamlUpstream, User
from mock_idp.server import BackgroundServer

ChainWith = Callable[..., Chain]
OpenBrowser = Callable[[Chain], ChainBrowser]
RETURN_TO = "https://app.example/bye"  # in rp-basic's Allowed Logout URLs
KINDS = [OIDC, SAML]


@pytest.fixture(scope="module")
def chain_with() -> Iterator[ChainWith]:
    """Start (once per set of faults) a downstream mock chained to an upstream mock.

    chain_with(*faults, upstream_faults=()): faults of the downstream, and of the upstream (one
    upstream per set of faults, shared by its downstreams). The harness's registration is done.
    """
    servers: list[BackgroundServer] = []
    upstreams: dict[frozenset[str], BackgroundServer] = {}
    chains: dict[tuple[frozenset[str], frozenset[str]], Chain] = {}

    def start(*faults: str, upstream_faults: tuple[str, ...] = ()) -> Chain:
        key = (frozenset(faults), frozenset(upstream_faults))
        if key in chains:
            return chains[key]
        upstream = upstreams.get(key[1])
        fresh = upstream is None
        if upstream is None:
            # Another host name than the downstream's: a browser keeps cookies by host, not port.
            upstream = BackgroundServer(dataclasses.replace(CONFIG, faults=key[1]), "localhost")
            upstreams[key[1]] = upstream
            servers.append(upstream)
        client_id = "downstream-" + secrets.token_hex(4)
        downstream = BackgroundServer(downstream_config(upstream.url, client_id, key[0]))
        servers.append(downstream)
        downstream.start()
        if fresh:
            # Only now: the downstream reads the upstream's metadata when first used, not at start.
            upstream.start()
        chains[key] = Chain(downstream.url, upstream.url, client_id)
        register(chains[key])
        return chains[key]

    yield start
    with ThreadPoolExecutor() as pool:
        list(pool.map(BackgroundServer.stop, servers))


@pytest.fixture
def open_browser() -> Iterator[OpenBrowser]:
    opened: list[ChainBrowser] = []

    def open_on(chain: Chain) -> ChainBrowser:
        opened.append(ChainBrowser(chain))
        return opened[-1]

    yield open_on
    for browser in opened:
        browser.close()


def logged_in(
    chain_with: ChainWith,
    open_browser: OpenBrowser,
    connection: str,
    *faults: str,
    upstream_faults: tuple[str, ...] = (),
    user: User = ALICE,
) -> tuple[ChainBrowser, Walk]:
    """A browser logged in at the downstream through this connection, and how it went."""
    chain = chain_with(*faults, upstream_faults=upstream_faults)
    browser = open_browser(chain)
    walk = browser.authorize(connection, user)
    assert "code" in walk.query(), walk.urls()
    return browser, walk


def id_token_claims(base_url: str, code: str) -> dict[str, object]:
    """The RP redeems the code and verifies the ID token against the mock's JWKS."""
    answer = token_request(
        base_url,
        RP_BASIC,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": RP_BASIC.redirect_uris[0],
        },
    )
    assert answer.status_code == 200, answer.text
    keys = KeySet.import_key_set(BACK_CHANNEL.get(base_url + "/jwks").json())
    claims: dict[str, object] = jwt.decode(answer.json()["id_token"], keys).claims
    return claims


def sp_idp(chain: Chain) -> Idp:
    """The downstream as the SP its upstream sees, to check what it signs (saml_sp's Idp shape)."""
    return Idp(
        chain.downstream,
        chain.downstream + "/upstream/saml/metadata",
        sp_metadata(chain.downstream).cert_pem,
    )


# Config


def test_the_config_takes_upstreams_and_serves_them_by_the_cli(
    chain_with: ChainWith, mock_cli: Callable[[MockConfig], AbstractContextManager[str]]
) -> None:
    chain = chain_with()
    config = downstream_config(chain.upstream, chain.client_id, frozenset())
    assert MockConfig.from_json(config.to_json()) == config
    with mock_cli(config) as url:
        first = BACK_CHANNEL.get(
            url + "/authorize",
            params={
                "response_type": "code",
                "client_id": "rp-basic",
                "scope": "openid",
                "redirect_uri": "http://rp.test/cb",
                "connection": SAML,
            },
        )
    assert first.status_code == 302
    assert first.headers["location"].startswith(chain.upstream + "/saml/sso?SAMLRequest=")


@pytest.mark.parametrize(
    ("upstream", "message"),
    [
        ({"name": "x", "kind": "ldap"}, "upstreams[0].kind must be oidc or saml"),
        ({"name": "x", "issuer": "http://up.test"}, "upstreams[0].kind must be oidc or saml"),
        (
            {"name": "x", "kind": "oidc", "issuer": "http://up.test", "client_id": "c"},
            "missing field 'client_secret'",
        ),
        (
            {"name": "x", "kind": "saml", "metadata_url": "http://up.test/md", "client_id": "c"},
            "unknown field 'client_id'",
        ),
        ({"name": "a|b", "kind": "saml", "metadata_url": "http://up.test/md"}, "no |"),
        ({"name": "", "kind": "saml", "metadata_url": "http://up.test/md"}, "name must be"),
        ({"name": "x", "kind": "saml", "metadata_url": "up.test/md"}, "metadata_url must be"),
        (
            {
                "name": "x",
                "kind": "oidc",
                "issuer": "http://up.test?x=1",
                "client_id": "c",
                "client_secret": "s",
            },
            "issuer must be",
        ),
        (
            {
                "name": "x",
                "kind": "oidc",
                "issuer": "http://up.test",
                "client_id": "",
                "client_secret": "s",
            },
            "client_id is empty",
        ),
        (
            {
                "name": "x",
                "kind": "oidc",
                "issuer": "http://up.test",
                "client_id": "c",
                "client_secret": 7,
            },
            "client_secret has the wrong type",
        ),
        ("saml", "upstreams[0] must be an object"),
    ],
)
def test_the_config_refuses_bad_upstreams(upstream: object, message: str) -> None:
    data = json.loads(CONFIG.to_json()) | {"upstreams": [upstream]}
    with pytest.raises(ConfigError, match=re.escape(message)):
        MockConfig.from_json(json.dumps(data))


def test_the_config_refuses_two_upstreams_of_one_name() -> None:
    twice = [
        SamlUpstream("corp", "http://up.test/md"),
        OidcUpstream("corp", "http://up.test", "c", "s"),
    ]
    with pytest.raises(ConfigError, match="upstream name 'corp' appears twice"):
        dataclasses.replace(CONFIG, upstreams=twice)


# Login through a connection


def test_the_sp_metadata_names_the_fixed_endpoints_and_the_mocks_saml_cert(
    chain_with: ChainWith,
) -> None:
    down = chain_with().downstream
    metadata = sp_metadata(down)
    assert metadata.entity_id == down + "/upstream/saml/metadata"
    assert metadata.acs == [
        ("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST", down + "/upstream/saml/acs")
    ]
    assert metadata.slo == [
        ("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect", down + "/logout")
    ]
    assert "".join(metadata.cert_pem.split()[2:-2]) == "".join(idp_at(down).cert.split()[2:-2])


@pytest.mark.parametrize("connection", KINDS)
def test_login_through_a_connection_gives_the_rp_a_working_id_token(
    chain_with: ChainWith, open_browser: OpenBrowser, connection: str
) -> None:
    browser, walk = logged_in(chain_with, open_browser, connection)
    chain = browser.chain
    # The user signed in at the upstream's form, not the downstream's.
    logins = [step for step in walk.steps if step.request.url.path == "/login"]
    assert [str(step.request.url) for step in logins] == [chain.upstream + "/login"]
    assert walk.query()["state"] == "st-1"
    claims = id_token_claims(chain.downstream, walk.query()["code"])
    assert claims["iss"] == chain.downstream and claims["aud"] == "rp-basic"
    assert claims["sub"] == f"{connection}|{ALICE.sub}" and claims["nonce"] == "n-1"
    # The upstream's claims (OIDC) or attributes (SAML) are the user's at the downstream.
    assert claims["name"] == "Alice" and claims["email"] == "alice@example.test"
    assert browser.session_at(chain.downstream) == {"sid": claims["sid"], "sub": claims["sub"]}
    assert browser.has_session_at(chain.downstream)
    assert browser.has_session_at(chain.upstream)
    # A second login at the downstream is silent, and the same user.
    again = browser.authorize(connection, prompt="none")
    assert len(again.steps) == 1
    assert id_token_claims(chain.downstream, again.query()["code"])["sub"] == claims["sub"]


def test_the_oidc_connection_uses_state_nonce_and_pkce(
    chain_with: ChainWith, open_browser: OpenBrowser
) -> None:
    chain = chain_with()
    browser = open_browser(chain)
    walk = browser.authorize(OIDC, until=chain.downstream + "/upstream/oidc/callback")
    request = query(walk.urls()[1])
    assert walk.urls()[1].startswith(chain.upstream + "/authorize?")
    assert request["client_id"] == [chain.client_id] and request["response_type"] == ["code"]
    assert request["redirect_uri"] == [chain.downstream + "/upstream/oidc/callback"]
    assert request["code_challenge_method"] == ["S256"] and len(request["code_challenge"][0]) == 43
    assert len(request["state"][0]) >= 32 and len(request["nonce"][0]) >= 32
    assert walk.left_for is not None
    callback = browser.walk(browser.http.get(walk.left_for))
    assert "code" in callback.query()
    # The callback is good once: its state is spent.
    replay = browser.http.get(walk.left_for)
    assert replay.status_code == 400 and "location" not in replay.headers


def test_the_saml_connection_sends_a_signed_authn_request(
    chain_with: ChainWith, open_browser: OpenBrowser
) -> None:
    chain = chain_with()
    browser = open_browser(chain)
    walk = browser.authorize(SAML, until=chain.upstream + "/saml/sso")
    assert walk.left_for is not None
    request = delivered(walk.last, sp_idp(chain))
    assert request.kind == "SAMLRequest" and request.signed
    root = request.root
    assert root.get("Destination") == chain.upstream + "/saml/sso"
    assert root.get("AssertionConsumerServiceURL") == chain.downstream + "/upstream/saml/acs"
    assert request.find("saml:Issuer").text == chain.downstream + "/upstream/saml/metadata"


def test_an_unknown_connection_is_refused_to_the_rp(
    chain_with: ChainWith, open_browser: OpenBrowser
) -> None:
    browser = open_browser(chain_with())
    walk = browser.authorize("nobody")
    assert len(walk.steps) == 1
    assert walk.query() == {
        "error": "invalid_request",
        "error_description": "the connection is unknown",
        "state": "st-1",
    }


@pytest.mark.parametrize("connection", KINDS)
def test_prompt_none_with_a_connection_and_no_session_is_login_required(
    chain_with: ChainWith, open_browser: OpenBrowser, connection: str
) -> None:
    browser = open_browser(chain_with())
    walk = browser.authorize(connection, prompt="none")
    assert len(walk.steps) == 1 and walk.query()["error"] == "login_required"


def test_a_tampered_assertion_is_refused(chain_with: ChainWith, open_browser: OpenBrowser) -> None:
    chain = chain_with()
    browser = open_browser(chain)
    walk = browser.authorize(SAML, until=chain.downstream + "/upstream/saml/acs")
    fields = hidden_fields(walk.last.text)
    xml = base64.b64decode(fields["SAMLResponse"]).replace(b">sub-alice<", b">sub-bob<")
    assert b">sub-bob<" in xml
    fields["SAMLResponse"] = base64.b64encode(xml).decode()
    answer = browser.http.post(chain.downstream + "/upstream/saml/acs", data=fields)
    assert answer.status_code == 302
    refused = query(answer.headers["location"])
    assert refused["error"] == ["access_denied"] and refused["state"] == ["st-1"]
    assert browser.session_at(chain.downstream) is None


def test_refusals_of_the_upstreams_reach_the_rp_as_access_denied(
    chain_with: ChainWith, open_browser: OpenBrowser
) -> None:
    chain = chain_with()
    browser = open_browser(chain)
    callback = browser.authorize(OIDC, until=chain.downstream + "/upstream/oidc/callback")
    assert callback.left_for is not None
    state = query(callback.left_for)["state"][0]
    answer = browser.http.get(
        chain.downstream + "/upstream/oidc/callback",
        params={"error": "access_denied", "state": state},
    )
    refused = query(answer.headers["location"])
    assert refused["error"] == ["access_denied"] and refused["state"] == ["st-1"]
    acs = browser.authorize(SAML, until=chain.downstream + "/upstream/saml/acs")
    fields = hidden_fields(acs.last.text)
    status = "urn:oasis:names:tc:SAML:2.0:status:Responder"
    fields["SAMLResponse"] = base64.b64encode(
        f'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r" '
        f'Version="2.0" IssueInstant="2030-01-01T00:00:00Z"><samlp:Status>'
        f'<samlp:StatusCode Value="{status}"/></samlp:Status></samlp:Response>'.encode()
    ).decode()
    answer = browser.http.post(chain.downstream + "/upstream/saml/acs", data=fields)
    refused = query(answer.headers["location"])
    assert refused["error"] == ["access_denied"] and status in refused["error_description"][0]
    assert browser.session_at(chain.downstream) is None


def test_answers_that_nobody_waits_for_are_error_pages(chain_with: ChainWith) -> None:
    down = chain_with().downstream
    logout_answer = redirect_query(
        "SAMLResponse", logout_response(SAML_SP1, idp_at(down), "_x"), "nobody", SAML_SP1
    )
    answers = [
        BACK_CHANNEL.get(down + "/upstream/oidc/callback?state=nobody&code=c"),
        BACK_CHANNEL.get(down + "/upstream/oidc/callback"),
        BACK_CHANNEL.post(
            down + "/upstream/saml/acs", data={"SAMLResponse": "PHg+", "RelayState": "x"}
        ),
        BACK_CHANNEL.get(down + "/upstream/oidc/logged-out?state=nobody"),
        BACK_CHANNEL.get(down + "/upstream/oidc/logged-out"),
        BACK_CHANNEL.get(down + "/logout?" + logout_answer),
        BACK_CHANNEL.get(down + "/logout"),
    ]
    for answer in answers:
        assert answer.status_code == 400 and "location" not in answer.headers, answer.text


def test_an_unreachable_upstream_is_an_error_page(open_browser: OpenBrowser) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody answers there
        probe.bind(("127.0.0.1", 0))
        gone = f"http://localhost:{probe.getsockname()[1]}"
    config = downstream_config(gone, "c", frozenset())
    with BackgroundServer(config) as down:
        for connection in KINDS:
            walk = open_browser(Chain(down, gone, "c")).authorize(connection)
            assert walk.last.status_code == 502 and walk.left_for is None, walk.last.text


@pytest.fixture(scope="module")
def fake_upstream() -> Iterator[tuple[FakeOp, str]]:
    """A downstream whose connection "fake" is an OP that answers with the tests' ID Tokens."""
    op = FakeOp()
    op.start()
    upstream = OidcUpstream("fake", op.url, "mock", "mock-secret")
    try:
        with BackgroundServer(dataclasses.replace(CONFIG, upstreams=[upstream])) as down:
            yield op, down
    finally:
        op.stop()


def fake_claims(op: FakeOp, sent_nonce: str, **changes: object) -> dict[str, object]:
    """Good ID Token claims for the fake connection; a change to None leaves the claim out."""
    now = int(time.time())
    claims = {"iss": op.url, "sub": "u-1", "aud": "mock", "exp": now + 300, "iat": now}
    claims |= {"nonce": sent_nonce, "sid": "s-1", "name": "Una", **changes}
    return {name: value for name, value in claims.items() if value is not None}


def through_fake(
    fake_upstream: tuple[FakeOp, str],
    new_browser: Callable[[str], Browser],
    id_token: Callable[[FakeOp, str], str],
) -> tuple[Browser, httpx.Response, dict[str, list[str]]]:
    """Log in through the fake connection, which answers with id_token(op, nonce): the browser,
    the callback's answer, and the authorization request the fake got."""
    op, down = fake_upstream
    browser = new_browser(down)
    sent = browser.authorize(RP_BASIC, connection="fake")
    assert sent.status_code == 302 and sent.headers["location"].startswith(op.url + "/authorize?")
    request = query(sent.headers["location"])
    op.id_token = id_token(op, request["nonce"][0])
    answer = browser.http.get(
        "/upstream/oidc/callback", params={"code": "c-1", "state": request["state"][0]}
    )
    assert answer.status_code == 302, answer.text
    return browser, answer, request


BAD_ID_TOKENS: dict[str, Callable[[FakeOp, str], str]] = {
    "iss is not the upstream's issuer": lambda op, n: op.sign(fake_claims(op, n, iss="http://x")),
    "aud does not name the mock": lambda op, n: op.sign(fake_claims(op, n, aud="someone")),
    "azp is not the mock": lambda op, n: op.sign(fake_claims(op, n, aud=["mock", "other"])),
    "it has expired": lambda op, n: op.sign(fake_claims(op, n, exp=int(time.time()) - 3600)),
    "it has no iat": lambda op, n: op.sign(fake_claims(op, n, iat=None)),
    "nonce is not the one sent": lambda op, n: op.sign(fake_claims(op, n, nonce="other")),
    "it has no sub": lambda op, n: op.sign(fake_claims(op, n, sub=None)),
    "signed with 'none'": lambda op, n: unsigned(op.sign(fake_claims(op, n))),
    "not signed by the upstream": lambda op, n: op.sign(fake_claims(op, n), new_key()),
    "not a JWT": lambda op, n: "not-a-jwt",
}


def test_the_upstream_id_token_is_checked_and_its_claims_passed_on(
    fake_upstream: tuple[FakeOp, str], new_browser: Callable[[str], Browser]
) -> None:
    op, down = fake_upstream
    browser, answer, request = through_fake(
        fake_upstream, new_browser, lambda op, nonce: op.sign(fake_claims(op, nonce))
    )
    claims = id_token_claims(down, query(answer.headers["location"])["code"][0])
    assert claims["sub"] == "fake|u-1" and claims["name"] == "Una"
    # The code was redeemed with client_secret_basic, the PKCE verifier of the challenge sent.
    authorization, form = op.token_requests[-1]
    assert authorization == "Basic " + base64.b64encode(b"mock:mock-secret").decode()
    assert form["grant_type"] == "authorization_code" and form["code"] == "c-1"
    assert form["redirect_uri"] == down + "/upstream/oidc/callback"
    digest = hashlib.sha256(form["code_verifier"].encode()).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert request["code_challenge"] == [challenge]
    # No end_session_endpoint: a federated logout has nowhere upstream to go.
    logout = browser.auth0_logout(federated="", client_id="rp-basic", returnTo=RETURN_TO)
    assert logout.status_code == 302 and logout.headers["location"] == RETURN_TO


@pytest.mark.parametrize("failure", BAD_ID_TOKENS)
def test_a_bad_upstream_id_token_is_refused(
    fake_upstream: tuple[FakeOp, str], new_browser: Callable[[str], Browser], failure: str
) -> None:
    browser, answer, _ = through_fake(fake_upstream, new_browser, BAD_ID_TOKENS[failure])
    refused = query(answer.headers["location"])
    assert refused["error"] == ["access_denied"] and refused["state"] == ["st-1"]
    assert failure in refused["error_description"][0]
    assert browser.session() is None


# Federated logout


@pytest.mark.parametrize("connection", KINDS)
def test_federated_logout_ends_the_upstream_session_and_returns(
    chain_with: ChainWith, open_browser: OpenBrowser, connection: str
) -> None:
    browser, login = logged_in(chain_with, open_browser, connection)
    chain = browser.chain
    walk = browser.federated_logout()
    assert walk.left_for == RETURN_TO, walk.urls()
    assert walk.went_to(chain.upstream)
    assert browser.session_at(chain.downstream) is None
    assert browser.session_at(chain.upstream) is None
    assert not browser.has_session_at(chain.downstream)
    assert not browser.has_session_at(chain.upstream)
    if connection == SAML:
        # AUTH0-saml-session-index: the LogoutRequest names the session of the login assertion.
        [assertion] = login.saml_messages("SAMLResponse")
        [slo_request] = walk.saml_messages("SAMLRequest")
        assert assertion_session_indexes(assertion) != []
        assert request_session_indexes(slo_request) == assertion_session_indexes(assertion)


def test_the_oidc_logout_request_carries_the_upstream_id_token(
    chain_with: ChainWith, open_browser: OpenBrowser
) -> None:
    browser, _ = logged_in(chain_with, open_browser, OIDC)
    chain = browser.chain
    walk = browser.federated_logout(until=chain.upstream + "/end-session")
    assert walk.left_for is not None
    request = query(walk.left_for)
    hint = jwt.decode(
        request["id_token_hint"][0],
        KeySet.import_key_set(BACK_CHANNEL.get(chain.upstream + "/jwks").json()),
    ).claims
    assert hint["iss"] == chain.upstream and hint["aud"] == chain.client_id
    assert hint["sub"] == ALICE.sub
    assert request["post_logout_redirect_uri"] == [chain.downstream + "/upstream/oidc/logged-out"]
    assert len(request["state"][0]) >= 32 and request["client_id"] == [chain.client_id]


def test_the_saml_logout_request_is_signed_and_names_the_asserted_nameid(
    chain_with: ChainWith, open_browser: OpenBrowser
) -> None:
    browser, _ = logged_in(chain_with, open_browser, SAML)
    chain = browser.chain
    walk = browser.federated_logout(until=chain.upstream + "/saml/slo")
    request = delivered(walk.last, sp_idp(chain))
    assert request.kind == "SAMLRequest" and request.signed and request.relay_state
    assert request.root.get("Destination") == chain.upstream + "/saml/slo"
    name_id = request.find("saml:NameID")
    assert name_id.text == ALICE.sub
    assert name_id.get("Format") == "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    assert name_id.get("SPNameQualifier") == chain.downstream + "/upstream/saml/metadata"


def test_without_return_to_the_chain_ends_on_the_signed_out_page(
    chain_with: ChainWith, open_browser: OpenBrowser
) -> None:
    browser, _ = logged_in(chain_with, open_browser, OIDC)
    walk = browser.federated_logout(return_to=None)
    assert walk.left_for is None and walk.went_to(browser.chain.upstream)
    assert str(walk.last.url).startswith(browser.chain.downstream + "/upstream/oidc/logged-out")
    assert walk.last.status_code == 200 and "You are signed out" in walk.last.text
    assert not browser.has_session_at(browser.chain.upstream)


def test_a_saml_upstream_without_session_index(
    chain_with: ChainWith, open_browser: OpenBrowser
) -> None:
    """Auth0's "Unable to Logout" case: the login works, the LogoutRequest has no SessionIndex."""
    browser, login = logged_in(
        chain_with, open_browser, SAML, upstream_faults=("saml-no-session-index",)
    )
    [assertion] = login.saml_messages("SAMLResponse")
    assert assertion_session_indexes(assertion) == []
    walk = browser.federated_logout()
    [slo_request] = walk.saml_messages("SAMLRequest")
    assert request_session_indexes(slo_request) == []
    # This upstream then ends every session of the NameID, and the chain goes on to returnTo.
    assert walk.left_for == RETURN_TO
    assert not browser.has_session_at(browser.chain.upstream)


def test_a_forged_logout_response_is_refused_and_the_real_one_still_finishes(
    chain_with: ChainWith, open_browser: OpenBrowser
) -> None:
    browser, _ = logged_in(chain_with, open_browser, SAML)
    chain = browser.chain
    walk = browser.federated_logout(until=chain.downstream + "/logout")
    real = walk.left_for
    assert real is not None
    request_id = request_root_id(walk)
    relay_state = query(real)["RelayState"][0]
    upstream = idp_at(chain.upstream)
    # Right in every way but the key that signed it.
    forged = logout_response(SAML_SP1, upstream, request_id).replace(
        SAML_SP1.entity_id, upstream.entity_id
    )
    answer = browser.http.get(
        chain.downstream
        + "/logout?"
        + redirect_query("SAMLResponse", forged, relay_state, SAML_SP1)
    )
    assert answer.status_code == 400 and "location" not in answer.headers
    finished = browser.walk(browser.http.get(real))
    assert finished.left_for == RETURN_TO


def request_root_id(walk: Walk) -> str:
    [request] = walk.saml_messages("SAMLRequest")
    return str(etree.fromstring(request).get("ID"))


@pytest.mark.parametrize(
    "upstream_fault", ["saml-wrong-in-response-to", "saml-unsigned-logout-response"]
)
def test_a_logout_response_that_fails_verification_ends_on_an_error_page(
    chain_with: ChainWith, open_browser: OpenBrowser, upstream_fault: str
) -> None:
    browser, _ = logged_in(chain_with, open_browser, SAML, upstream_faults=(upstream_fault,))
    walk = browser.federated_logout()
    assert walk.left_for is None
    assert str(walk.last.url).startswith(browser.chain.downstream + "/logout?")
    assert walk.last.status_code == 400


def test_a_local_session_logs_out_locally(chain_with: ChainWith, open_browser: OpenBrowser) -> None:
    browser = open_browser(chain_with())
    assert "code" in browser.authorize().query()  # the downstream's own login form
    walk = browser.federated_logout()
    assert len(walk.steps) == 1 and walk.left_for == RETURN_TO
    assert browser.session_at(browser.chain.downstream) is None


def test_without_federated_the_upstream_session_lives_on(
    chain_with: ChainWith, open_browser: OpenBrowser
) -> None:
    browser, _ = logged_in(chain_with, open_browser, OIDC)
    chain = browser.chain
    answer = browser.http.get(
        chain.downstream + "/v2/logout", params={"client_id": "rp-basic", "returnTo": RETURN_TO}
    )
    assert answer.status_code == 302 and answer.headers["location"] == RETURN_TO
    assert not browser.has_session_at(chain.downstream)
    assert browser.has_session_at(chain.upstream)


def test_a_logout_at_the_saml_upstream_ends_the_session_here(
    chain_with: ChainWith, open_browser: OpenBrowser
) -> None:
    browser, _ = logged_in(chain_with, open_browser, SAML)
    chain = browser.chain
    upstream = idp_at(chain.upstream)
    # Right in every way but the key that signed it: refused, nobody logged out.
    _, forged = logout_request(
        SAML_SP1,
        upstream,
        name_id=ALICE.sub,
        issuer=upstream.entity_id,
        destination=chain.downstream + "/logout",
    )
    answer = browser.http.get(
        chain.downstream + "/logout?" + redirect_query("SAMLRequest", forged, "rs", SAML_SP1)
    )
    assert answer.status_code == 400 and "location" not in answer.headers
    assert browser.has_session_at(chain.downstream)
    # The upstream's own logout reaches the downstream, which answers and hands the browser back.
    walk = browser.go(chain.upstream + "/saml/logout", until=chain.upstream + "/saml/slo")
    assert walk.left_for is not None
    answered = delivered(walk.last, sp_idp(chain))
    assert answered.kind == "SAMLResponse" and answered.signed
    assert answered.status() == ("urn:oasis:names:tc:SAML:2.0:status:Success", None)
    assert browser.session_at(chain.downstream) is None
    finished = browser.walk(browser.http.get(walk.left_for))
    assert "You are signed out" in finished.last.text
    assert not browser.has_session_at(chain.upstream)


# Faults


def test_fault_upstream_logout_skipped(chain_with: ChainWith, open_browser: OpenBrowser) -> None:
    for connection in KINDS:
        browser, _ = logged_in(chain_with, open_browser, connection, "upstream-logout-skipped")
        walk = browser.federated_logout()
        assert len(walk.steps) == 1 and walk.left_for == RETURN_TO
        assert not browser.has_session_at(browser.chain.downstream)
        assert browser.has_session_at(browser.chain.upstream)


def test_fault_chain_broken_after_first_hop(
    chain_with: ChainWith, open_browser: OpenBrowser
) -> None:
    for connection in KINDS:
        browser, _ = logged_in(chain_with, open_browser, connection, "chain-broken-after-first-hop")
        walk = browser.federated_logout()
        assert walk.left_for is None and walk.went_to(browser.chain.upstream)
        assert str(walk.last.url).startswith(browser.chain.downstream + "/")
        assert walk.last.status_code == 200 and "You are signed out" in walk.last.text
        assert not browser.has_session_at(browser.chain.upstream)


def test_fault_saml_logout_without_session_index(
    chain_with: ChainWith, open_browser: OpenBrowser
) -> None:
    # Bob: a LogoutRequest without SessionIndex ends all his sessions at the shared upstream.
    browser, login = logged_in(
        chain_with, open_browser, SAML, "saml-logout-without-session-index", user=BOB
    )
    [assertion] = login.saml_messages("SAMLResponse")
    assert len(assertion_session_indexes(assertion)) == 1
    walk = browser.federated_logout()
    [slo_request] = walk.saml_messages("SAMLRequest")
    assert request_session_indexes(slo_request) == []
    assert walk.left_for == RETURN_TO
