"""Tests of harness.saml.sp: the SP actors and their in-process host, against a small fake IdP.

The fake IdP (an ``httpx.MockTransport``) does what a front-channel SAML IdP does: a login form,
signed Responses posted to the ACS, and logout propagated to every other participant by redirects
before the LogoutResponse goes back to the initiator (PartialLogout when one fails). The browser is
an ``httpx.Client`` whose ``mounts`` route the callback base to the ``SpHost``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from lxml import etree  # type: ignore[import-untyped]

from harness.errors import TargetError
from harness.formwalker import FormRule
from harness.saml import bindings as b
from harness.saml import messages as m
from harness.saml.metadata import Endpoint, IdpMetadata, parse_idp_metadata
from harness.saml.sp import COOKIE, SpActor, SpHost
from harness.saml.xml import SAML, SAMLP, parse, qname

KEYS = Path(__file__).resolve().parents[2] / "fixtures" / "keys"
IDP_KEY = (KEYS / "simplesamlphp-idp.key").read_text()
IDP_CERT = (KEYS / "simplesamlphp-idp.crt").read_text()
BASE = "http://127.0.0.1:9481"
IDP = "https://idp.test"
USERS = {"alice": "alice-password", "bob": "bob-password"}
LOGIN_RULES = [
    FormRule(
        name="login",
        fields=("username", "password"),
        fill={"username": "{username}", "password": "{password}"},
    )
]
ALICE = {"username": "alice", "password": "alice-password"}


def actor(name: str) -> SpActor:
    number = name[-1]
    return SpActor.at(
        BASE,
        name,
        (KEYS / f"harness-sp{number}.key").read_text(),
        (KEYS / f"harness-sp{number}.crt").read_text(),
    )


@dataclass
class IdpSession:
    user: str
    participants: dict[str, str] = field(default_factory=dict)  # SP entity ID -> SessionIndex


@dataclass
class Logout:
    session: IdpSession
    initiator: str | None
    request_id: str | None
    relay_state: str | None
    binding: b.Binding
    remaining: list[str]
    failed: list[str] = field(default_factory=list)
    return_to: str | None = None


class FakeIdp:
    """Just enough of a SAML IdP: SSO with a login form, SLO propagated by front-channel redirects."""

    def __init__(self, actors: list[SpActor]) -> None:
        self.sps = {a.entity_id: a for a in actors}
        self.sessions: dict[str, IdpSession] = {}
        self.logouts: dict[str, Logout] = {}
        self.seen_soap_cookies: list[str | None] = []
        self.metadata = IdpMetadata(
            entity_id=f"{IDP}/md",
            sso={"redirect": Endpoint(f"{IDP}/sso"), "post": Endpoint(f"{IDP}/sso")},
            slo={
                "redirect": Endpoint(f"{IDP}/slo"),
                "post": Endpoint(f"{IDP}/slo"),
                "soap": Endpoint(f"{IDP}/slo/soap"),
            },
            signing_certs=(IDP_CERT,),
        )

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/sso":
            return self.sso(request)
        if path == "/login":
            return self.login(request)
        if path == "/slo":
            return self.slo(request)
        if path == "/slo/soap":
            return self.soap(request)
        if path == "/logout":
            return self.idp_initiated(request)
        return httpx.Response(404, text="no such page")

    @staticmethod
    def _fields(request: httpx.Request) -> dict[str, str]:
        if request.method == "POST":
            return dict(parse_qsl(request.content.decode()))
        return dict(parse_qsl(request.url.query.decode()))

    def _session(self, request: httpx.Request) -> tuple[str, IdpSession] | None:
        key = request.headers.get("cookie", "")
        for part in key.split("; "):
            name, _, value = part.partition("=")
            if name == "idp" and value in self.sessions:
                return value, self.sessions[value]
        return None

    # SSO
    def sso(self, request: httpx.Request) -> httpx.Response:
        found = self._session(request)
        if found is None:
            fields = {**self._fields(request), "_method": request.method}
            hidden = "".join(
                f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items()
            )
            page = (
                '<html><form method="post" action="/login">'
                f'{hidden}<input name="username"><input name="password" type="password">'
                '<button type="submit">Log in</button></form></html>'
            )
            return httpx.Response(200, html=page)
        if request.method == "GET":
            decoded = b.decode_redirect(str(request.url))
        else:
            decoded = b.decode_post(request.content)
        authn = parse(decoded.xml, what="AuthnRequest")
        sp = self.sps[authn.findtext(qname(SAML, "Issuer"))]
        index = f"idx-{secrets.token_hex(4)}"
        found[1].participants[sp.entity_id] = index
        response = self.response(sp, found[1].user, index, authn.get("ID"))
        form = b.encode_post(
            response, sp.acs_url, kind="SAMLResponse", relay_state=decoded.relay_state
        )
        return httpx.Response(200, html=form.html)

    def login(self, request: httpx.Request) -> httpx.Response:
        fields = self._fields(request)
        user = fields.pop("username", "")
        if USERS.get(user) != fields.pop("password", None):
            return httpx.Response(200, html="<html>wrong password</html>")
        cookie = secrets.token_hex(8)
        self.sessions[cookie] = IdpSession(user)
        # go on with the AuthnRequest the login form carried, as it first came
        method = fields.pop("_method")
        headers = {"cookie": f"idp={cookie}"}
        if method == "GET":
            original = httpx.Request("GET", f"{IDP}/sso?{urlencode(fields)}", headers=headers)
        else:
            original = httpx.Request(
                "POST", f"{IDP}/sso", content=urlencode(fields).encode(), headers=headers
            )
        answer = self.sso(original)
        answer.headers["set-cookie"] = f"idp={cookie}; Path=/"
        return answer

    def response(self, sp: SpActor, user: str, index: str, in_response_to: str) -> str:
        root = etree.Element(qname(SAMLP, "Response"), nsmap={"samlp": SAMLP, "saml": SAML})
        root.attrib.update(
            {
                "ID": m.new_id(),
                "Version": "2.0",
                "IssueInstant": m.saml_instant(),
                "Destination": sp.acs_url,
                "InResponseTo": in_response_to,
            }
        )
        etree.SubElement(root, qname(SAML, "Issuer")).text = self.metadata.entity_id
        status = etree.SubElement(root, qname(SAMLP, "Status"))
        etree.SubElement(status, qname(SAMLP, "StatusCode"), Value=m.SUCCESS)
        assertion = etree.SubElement(
            root,
            qname(SAML, "Assertion"),
            ID=m.new_id(),
            Version="2.0",
            IssueInstant=m.saml_instant(),
        )
        etree.SubElement(assertion, qname(SAML, "Issuer")).text = self.metadata.entity_id
        subject = etree.SubElement(assertion, qname(SAML, "Subject"))
        name = etree.SubElement(subject, qname(SAML, "NameID"), Format=m.NAMEID_PERSISTENT)
        name.set("SPNameQualifier", sp.entity_id)
        name.text = f"id-{user}"
        confirmation = etree.SubElement(subject, qname(SAML, "SubjectConfirmation"))
        etree.SubElement(confirmation, qname(SAML, "SubjectConfirmationData"), Recipient=sp.acs_url)
        etree.SubElement(
            assertion,
            qname(SAML, "AuthnStatement"),
            AuthnInstant=m.saml_instant(),
            SessionIndex=index,
        )
        signed_assertion = m.sign(etree.tostring(assertion, encoding="unicode"), IDP_KEY, IDP_CERT)
        root.replace(assertion, parse(signed_assertion, what="t"))
        return m.sign(etree.tostring(root, encoding="unicode"), IDP_KEY, IDP_CERT)

    # SLO
    def slo(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            decoded = b.decode_redirect(str(request.url))
        else:
            decoded = b.decode_post(request.content)
        message = m.parse_message(decoded.xml)
        if isinstance(message, m.LogoutResponse):
            logout = self.logouts[decoded.relay_state or ""]
            if message.status_top != m.SUCCESS:
                logout.failed.append(message.issuer or "?")
            return self.propagate(decoded.relay_state or "", logout)
        assert isinstance(message, m.LogoutRequest)
        sp = self.sps[message.issuer or ""]
        certs = [sp.cert_pem]
        if request.method == "GET":
            valid = b.decode_redirect(str(request.url), certs=certs).signature_status.valid
        else:
            valid = m.parse_logout_request(decoded.xml, certs=certs).signature.valid
        found = self._session(request)
        if not valid or found is None:
            return self.answer(
                sp, message.id, decoded.relay_state, decoded.binding, m.REQUESTER, None
            )
        key, session = found
        del self.sessions[key]
        others = [entity for entity in session.participants if entity != sp.entity_id]
        state = secrets.token_hex(6)
        self.logouts[state] = Logout(
            session, sp.entity_id, message.id, decoded.relay_state, decoded.binding, others
        )
        return self.propagate(state, self.logouts[state])

    def propagate(self, state: str, logout: Logout) -> httpx.Response:
        if logout.remaining:
            entity = logout.remaining.pop(0)
            sp = self.sps[entity]
            request = m.build_logout_request(
                self.metadata.entity_id,
                sp.slo_url,
                f"id-{logout.session.user}",
                m.NAMEID_PERSISTENT,
                [logout.session.participants[entity]],
                dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2),
                nameid_sp_name_qualifier=sp.entity_id,
            )
            url = b.encode_redirect(
                request, sp.slo_url, kind="SAMLRequest", relay_state=state, key_pem=IDP_KEY
            )
            return httpx.Response(302, headers={"location": url})
        if logout.initiator is None:
            return httpx.Response(302, headers={"location": logout.return_to or f"{IDP}/done"})
        second = m.PARTIAL_LOGOUT if logout.failed else None
        return self.answer(
            self.sps[logout.initiator],
            logout.request_id,
            logout.relay_state,
            logout.binding,
            m.SUCCESS,
            second,
        )

    def answer(
        self,
        sp: SpActor,
        in_response_to: str | None,
        relay_state: str | None,
        binding: b.Binding,
        status: str,
        second: str | None,
    ) -> httpx.Response:
        xml = m.build_logout_response(
            self.metadata.entity_id, sp.slo_url, in_response_to, status, second
        )
        if binding == "post":
            form = b.encode_post(
                m.sign(xml, IDP_KEY, IDP_CERT),
                sp.slo_url,
                kind="SAMLResponse",
                relay_state=relay_state,
            )
            return httpx.Response(200, html=form.html)
        url = b.encode_redirect(
            xml, sp.slo_url, kind="SAMLResponse", relay_state=relay_state, key_pem=IDP_KEY
        )
        return httpx.Response(302, headers={"location": url})

    def soap(self, request: httpx.Request) -> httpx.Response:
        self.seen_soap_cookies.append(request.headers.get("cookie"))
        message = m.parse_logout_request(b.soap_unwrap(request.content))
        xml = m.build_logout_response(self.metadata.entity_id, None, message.id, m.SUCCESS)
        return httpx.Response(
            200,
            text=b.soap_wrap(m.sign(xml, IDP_KEY, IDP_CERT)),
            headers={"content-type": "text/xml"},
        )

    def idp_initiated(self, request: httpx.Request) -> httpx.Response:
        found = self._session(request)
        return_to = dict(parse_qsl(request.url.query.decode())).get("ReturnTo")
        if found is None:
            return httpx.Response(302, headers={"location": return_to or f"{IDP}/done"})
        key, session = found
        del self.sessions[key]
        state = secrets.token_hex(6)
        self.logouts[state] = Logout(
            session, None, None, None, "redirect", list(session.participants), return_to=return_to
        )
        return self.propagate(state, self.logouts[state])


@pytest.fixture
def world() -> Iterator[tuple[SpHost, FakeIdp, httpx.Client]]:
    actors = [actor("sp1"), actor("sp2"), actor("sp3")]
    host = SpHost(BASE, actors)
    idp = FakeIdp(actors)
    with browser_for(host, idp) as client:
        yield host, idp, client


def browser_for(host: SpHost, idp: FakeIdp) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(idp.handle), mounts=host.mounts())


def log_in(host: SpHost, idp: FakeIdp, client: httpx.Client, *names: str) -> None:
    for name in names:
        host.actor(name).login(client, idp.metadata, LOGIN_RULES, ALICE)


# --- actors, host, metadata -----------------------------------------------------------------------


def test_actor_urls_and_repr() -> None:
    sp1 = actor("sp1")
    assert sp1.entity_id == f"{BASE}/saml/sp1/metadata"
    assert (sp1.acs_url, sp1.slo_url) == (f"{BASE}/saml/sp1/acs", f"{BASE}/saml/sp1/slo")
    assert "PRIVATE" not in repr(sp1) and "sp1" in repr(sp1)
    with pytest.raises(RuntimeError, match="not served by an SpHost"):
        _ = sp1.host


def test_host_refuses_bad_configuration() -> None:
    with pytest.raises(ValueError, match="two SP actors are named 'sp1'"):
        SpHost(BASE, [actor("sp1"), actor("sp1")])
    with pytest.raises(ValueError, match="is not an http"):
        SpHost("ftp://x", [])
    host = SpHost(BASE, [actor("sp1")])
    with pytest.raises(TargetError, match="no SP actor named 'sp9' \\(known: sp1\\)"):
        host.actor("sp9")


def test_metadata_is_served(world: tuple[SpHost, FakeIdp, httpx.Client]) -> None:
    host, _, client = world
    answer = client.get(f"{BASE}/saml/sp2/metadata")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/samlmetadata+xml"
    assert host.actor("sp2").entity_id in answer.text and "PRIVATE" not in answer.text
    assert client.post(f"{BASE}/saml/sp2/metadata").status_code == 405
    assert client.get(f"{BASE}/saml/nobody/acs").status_code == 404
    assert client.get(f"{BASE}/elsewhere").status_code == 404
    assert client.get(f"{BASE}/saml/sp2/acs").status_code == 405
    assert client.put(f"{BASE}/saml/sp2/slo").status_code == 405


def test_host_under_a_path_prefix() -> None:
    sp1 = SpActor.at(f"{BASE}/harness", "sp1", "k", (KEYS / "harness-sp1.crt").read_text())
    host = SpHost(f"{BASE}/harness/", [sp1])
    with httpx.Client(mounts=host.mounts()) as client:
        assert client.get(f"{BASE}/harness/saml/sp1/metadata").status_code == 200
        assert client.get(f"{BASE}/saml/sp1/metadata").status_code == 404


# --- SP-initiated SSO -----------------------------------------------------------------------------


def test_login(world: tuple[SpHost, FakeIdp, httpx.Client]) -> None:
    host, idp, client = world
    sp1 = host.actor("sp1")
    login = sp1.login(client, idp.metadata, LOGIN_RULES, ALICE, relay_state="back-to-page-7")
    session = login.session
    assert (session.name_id, session.name_id_format) == ("id-alice", m.NAMEID_PERSISTENT)
    assert session.sp_name_qualifier == sp1.entity_id
    assert session.session_index and session.session_index.startswith("idx-")
    assert session.alive and sp1.alive(client)
    assert login.relay_state_sent == login.relay_state_received == "back-to-page-7"
    assertion = session.response.assertion
    assert assertion is not None and assertion.signature.valid and session.response.signature.valid
    kinds = [
        (c.decoded.kind if c.decoded else None, type(c.message).__name__)
        for c in login.journey.messages
    ]
    assert kinds == [("SAMLRequest", "NoneType"), ("SAMLResponse", "Response")]
    # the AuthnRequest went signed (the actors' metadata promises it)
    assert login.journey.messages[0].decoded is not None
    assert login.journey.messages[0].decoded.signature_status.valid
    assert [h.status for h in login.journey.hops] == [200, 200, 200]
    assert [name for name, _ in login.journey.received] == ["sp1"]


def test_login_over_post_and_a_fresh_relay_state(
    world: tuple[SpHost, FakeIdp, httpx.Client],
) -> None:
    host, idp, client = world
    login = host.actor("sp2").login(client, idp.metadata, LOGIN_RULES, ALICE, binding="post")
    assert login.relay_state_sent and login.relay_state_sent == login.relay_state_received
    assert login.journey.messages[0].decoded is not None
    assert login.journey.messages[0].decoded.binding == "post"


def test_second_login_uses_the_idp_session(world: tuple[SpHost, FakeIdp, httpx.Client]) -> None:
    host, idp, client = world
    log_in(host, idp, client, "sp1")
    second = host.actor("sp2").login(client, idp.metadata, [], {})
    assert second.session.name_id == "id-alice"


def test_login_failure_says_where_it_ended(world: tuple[SpHost, FakeIdp, httpx.Client]) -> None:
    host, idp, client = world
    with pytest.raises(TargetError) as info:
        host.actor("sp1").login(
            client, idp.metadata, LOGIN_RULES, {"username": "alice", "password": "nope-nope"}
        )
    assert str(info.value).startswith(
        f"login at sp1 did not come back to {BASE}/saml/sp1/acs: ended at"
    )
    with pytest.raises(ValueError, match="front channel"):
        host.actor("sp1").login(client, idp.metadata, LOGIN_RULES, ALICE, binding="soap")


def test_login_with_an_unusable_response(world: tuple[SpHost, FakeIdp, httpx.Client]) -> None:
    host, idp, client = world
    sp1 = host.actor("sp1")
    sp1.state(client).idp = idp.metadata
    broken = b.encode_post(
        "<samlp:Response xmlns:samlp='urn:oasis:names:tc:SAML:2.0:protocol' ID='x'/>",
        sp1.acs_url,
        kind="SAMLResponse",
    )
    answer = client.post(sp1.acs_url, data=dict(broken.fields))
    assert answer.status_code == 200 and "login failed: no usable assertion" in answer.text
    answer = client.post(sp1.acs_url, data={"SAMLResponse": "%%%"})
    assert answer.status_code == 400 and "unusable SAML Response" in answer.text
    assert [r.error is not None for r in sp1.received(client)] == [True, True]
    assert not sp1.alive(client)


# --- SP-initiated SLO -----------------------------------------------------------------------------


@pytest.mark.parametrize("binding", ["redirect", "post"])
def test_logout_propagates_and_comes_back(
    world: tuple[SpHost, FakeIdp, httpx.Client], binding: b.Binding
) -> None:
    host, idp, client = world
    log_in(host, idp, client, "sp1", "sp2")
    sp1, sp2 = host.actor("sp1"), host.actor("sp2")
    index = sp1.live_session(client).session_index
    exchange = sp1.logout(client, binding, relay_state="rs-1")
    # the local session ended first, and the request named its SessionIndex
    assert exchange.ended_locally == (index,)
    assert exchange.request.session_indexes == (index,)
    assert exchange.request.signature.valid and exchange.sent.signature_status.valid
    assert exchange.request.not_on_or_after is not None
    # sp2 was told, and its session ended
    [propagated] = sp2.logout_requests(client)
    assert propagated.issuer == idp.metadata.entity_id
    assert (
        propagated.signature.valid
    )  # the Redirect query's signature, which is the one that counts
    assert not sp2.alive(client) and not sp1.alive(client)
    [received] = [r for r in sp2.received(client) if isinstance(r.message, m.LogoutRequest)]
    assert received.decoded is not None and received.decoded.signature_status.valid
    assert (
        received.answer is not None and received.answer.relay_state == received.decoded.relay_state
    )
    assert received.ended == (sp2.sessions(client)[0].session_index,)
    # the answer came back to sp1
    response = exchange.response
    assert (
        response is not None and response.status_top == m.SUCCESS and response.status_second is None
    )
    assert response.in_response_to == exchange.request.id
    assert exchange.response_decoded is not None
    assert exchange.response_decoded.relay_state == "rs-1"
    assert exchange.response_decoded.signature_status.valid
    # every message the browser carried, in order
    order = [(type(c.message).__name__, c.endpoint) for c in exchange.journey.messages]
    assert order == [
        ("LogoutRequest", f"{IDP}/slo"),
        ("LogoutRequest", sp2.slo_url),
        ("LogoutResponse", f"{IDP}/slo"),
        ("LogoutResponse", sp1.slo_url),
    ]
    assert all(
        c.decoded is not None and c.decoded.signature_status.valid
        for c in exchange.journey.messages
    )
    assert exchange.first_status in (200, 302)


def test_participant_answering_responder_gives_partial_logout(
    world: tuple[SpHost, FakeIdp, httpx.Client],
) -> None:
    host, idp, client = world
    log_in(host, idp, client, "sp1", "sp2", "sp3")
    host.actor("sp2").misbehave(client, "responder")
    exchange = host.actor("sp1").logout(client)
    assert exchange.response is not None
    assert (exchange.response.status_top, exchange.response.status_second) == (
        m.SUCCESS,
        m.PARTIAL_LOGOUT,
    )
    assert host.actor("sp2").alive(client) and not host.actor("sp3").alive(client)
    [answered] = [r for r in host.actor("sp2").received(client) if r.answer is not None]
    assert m.parse_logout_response(answered.answer.xml).status_top == m.RESPONDER  # type: ignore[union-attr]


def test_participant_failing_with_http_500(world: tuple[SpHost, FakeIdp, httpx.Client]) -> None:
    host, idp, client = world
    log_in(host, idp, client, "sp1", "sp2")
    host.actor("sp2").misbehave(client, "http500")
    exchange = host.actor("sp1").logout(client)
    assert exchange.response is None
    assert exchange.journey.final_status == 500
    assert exchange.journey.hops[-1].url == host.actor("sp2").slo_url
    assert host.actor("sp2").alive(client)
    host.actor("sp2").misbehave(client, None)
    assert host.actor("sp2").state(client).misbehaviour is None


def test_logout_without_a_session(world: tuple[SpHost, FakeIdp, httpx.Client]) -> None:
    host, _, client = world
    with pytest.raises(TargetError, match="sp1 has no live session in this browser"):
        host.actor("sp1").logout(client)


@pytest.mark.parametrize(
    ("signing", "status"),
    [("none", "absent"), ("attacker", "invalid"), ("tampered", "invalid")],
)
@pytest.mark.parametrize("binding", ["redirect", "post"])
def test_crafted_requests_are_sent_as_crafted(
    world: tuple[SpHost, FakeIdp, httpx.Client], signing: str, status: str, binding: b.Binding
) -> None:
    host, idp, client = world
    log_in(host, idp, client, "sp1", "sp2")
    sp1 = host.actor("sp1")
    xml = sp1.logout_request_for(client, binding)
    exchange = sp1.send_logout_request(client, xml, binding, signing=signing)  # type: ignore[arg-type]
    assert exchange.sent.signature_status.state == status
    assert exchange.request.signature.state == status
    # the fake IdP refuses it with Requester, and nobody is logged out
    assert exchange.response is not None and exchange.response.status_top == m.REQUESTER
    assert sp1.alive(client) and host.actor("sp2").alive(client)
    assert host.actor("sp2").logout_requests(client) == []


def test_sha1_request(world: tuple[SpHost, FakeIdp, httpx.Client]) -> None:
    host, idp, client = world
    log_in(host, idp, client, "sp1")
    sp1 = host.actor("sp1")
    exchange = sp1.send_logout_request(client, sp1.logout_request_for(client), sig_alg=m.RSA_SHA1)
    assert exchange.sent.sig_alg == m.RSA_SHA1 and exchange.sent.signature_status.valid


def test_crafted_parts(world: tuple[SpHost, FakeIdp, httpx.Client]) -> None:
    host, idp, client = world
    log_in(host, idp, client, "sp1")
    sp1 = host.actor("sp1")
    request = m.parse_logout_request(
        sp1.logout_request_for(
            client,
            session_indexes=["a", "b"],
            destination="https://evil.example/slo",
            name_id="id-bob",
            issuer="https://someone-else",
            id="_fixed",
        )
    )
    assert request.session_indexes == ("a", "b")
    assert (request.destination, request.name_id, request.issuer, request.id) == (
        "https://evil.example/slo",
        "id-bob",
        "https://someone-else",
        "_fixed",
    )
    assert request.sp_name_qualifier == sp1.entity_id


def test_replay_sends_the_very_same_message(world: tuple[SpHost, FakeIdp, httpx.Client]) -> None:
    host, idp, client = world
    log_in(host, idp, client, "sp1")
    sp1 = host.actor("sp1")
    xml = sp1.logout_request_for(client, id="_once")
    first = sp1.send_logout_request(client, xml, relay_state="r")
    second = sp1.send_logout_request(client, xml, relay_state="r")
    assert first.sent.query_parts == second.sent.query_parts
    assert first.request.id == second.request.id == "_once"


def test_soap_logout_goes_without_browser_cookies(
    world: tuple[SpHost, FakeIdp, httpx.Client],
) -> None:
    host, idp, client = world
    log_in(host, idp, client, "sp1")
    sp1 = host.actor("sp1")
    exchange = sp1.logout(client, "soap")
    assert exchange.binding == "soap" and exchange.first_status == 200
    assert exchange.response is not None and exchange.response.status_top == m.SUCCESS
    assert exchange.response.signature.valid
    assert exchange.response_decoded is not None and exchange.response_decoded.binding == "soap"
    assert exchange.request.signature.valid
    assert idp.seen_soap_cookies == [None]


# --- IdP-initiated SLO, incoming requests ---------------------------------------------------------


def test_idp_initiated_logout(world: tuple[SpHost, FakeIdp, httpx.Client]) -> None:
    host, idp, client = world
    log_in(host, idp, client, "sp1", "sp2")
    journey = host.follow(client, f"{IDP}/logout?ReturnTo=https://portal.example/bye", idp.metadata)
    assert journey.final_redirect == "https://portal.example/bye"
    log_in(host, idp, client, "sp1")
    back = host.follow(client, f"{IDP}/logout?ReturnTo={host.landing_url}", idp.metadata)
    assert (back.final_url, back.final_status, back.final_redirect) == (host.landing_url, 200, None)
    assert not host.actor("sp1").alive(client) and not host.actor("sp2").alive(client)
    assert [name for name, r in journey.received] == ["sp1", "sp2"]
    assert len(journey.messages) == 4


def incoming(sp: SpActor, name_id: str, indexes: list[str], relay: str | None = "st") -> str:
    xml = m.build_logout_request(
        f"{IDP}/md",
        sp.slo_url,
        name_id,
        m.NAMEID_PERSISTENT,
        indexes,
        None,
        nameid_sp_name_qualifier=sp.entity_id,
    )
    return b.encode_redirect(
        xml, sp.slo_url, kind="SAMLRequest", relay_state=relay, key_pem=IDP_KEY
    )


@pytest.mark.parametrize(
    ("name_id", "which", "ends"),
    [
        ("id-alice", "none", True),  # no SessionIndex: every session of the principal
        ("id-alice", "own", True),
        ("id-alice", "unknown", False),
        ("id-bob", "own", False),  # another principal
    ],
)
def test_incoming_logout_request_ends_what_it_names(
    world: tuple[SpHost, FakeIdp, httpx.Client], name_id: str, which: str, ends: bool
) -> None:
    host, idp, client = world
    log_in(host, idp, client, "sp1")
    sp1 = host.actor("sp1")
    index = sp1.live_session(client).session_index or ""
    indexes = {"none": [], "own": [index], "unknown": ["idx-unknown"]}[which]
    answer = client.get(incoming(sp1, name_id, indexes))
    assert answer.status_code == 302
    decoded = b.decode_redirect(answer.headers["location"], certs=[sp1.cert_pem])
    assert decoded.endpoint == f"{IDP}/slo" and decoded.relay_state == "st"
    assert decoded.signature_status.valid
    response = m.parse_logout_response(decoded.xml)
    assert response.status_top == m.SUCCESS and response.issuer == sp1.entity_id
    assert sp1.alive(client) is not ends
    assert sp1.received(client)[-1].ended == ((index,) if ends else ())


def test_incoming_post_request_is_answered_over_post(
    world: tuple[SpHost, FakeIdp, httpx.Client],
) -> None:
    host, idp, client = world
    log_in(host, idp, client, "sp1")
    sp1 = host.actor("sp1")
    xml = m.sign(
        m.build_logout_request(
            f"{IDP}/md",
            sp1.slo_url,
            "id-alice",
            m.NAMEID_PERSISTENT,
            [],
            None,
            nameid_sp_name_qualifier=sp1.entity_id,
        ),
        IDP_KEY,
        IDP_CERT,
    )
    form = b.encode_post(xml, sp1.slo_url, kind="SAMLRequest", relay_state="p")
    answer = client.post(sp1.slo_url, data=dict(form.fields))
    assert answer.status_code == 200
    decoded = b.decode_post_page(answer.text, page_url=sp1.slo_url, certs=[sp1.cert_pem])
    assert decoded.relay_state == "p" and decoded.signature_status.valid
    assert decoded.endpoint == f"{IDP}/slo"
    assert not sp1.alive(client)
    received = sp1.received(client)[-1]
    assert received.decoded is not None and received.decoded.signature_status.valid


def test_incoming_bad_messages_are_recorded(world: tuple[SpHost, FakeIdp, httpx.Client]) -> None:
    host, idp, client = world
    sp1 = host.actor("sp1")
    answer = client.get(f"{sp1.slo_url}?SAMLRequest=%%%")
    assert answer.status_code == 400 and "unusable SAML message" in answer.text
    # no IdP known in this browser: nobody to answer
    answer = client.get(incoming(sp1, "id-alice", []))
    assert answer.status_code == 400
    assert answer.text == "sp1: cannot answer the LogoutRequest: no IdP known in this browser"
    log_in(host, idp, client, "sp1")
    authn = b.encode_redirect(m.build_authn_request("x", "y", "z"), sp1.slo_url, kind="SAMLRequest")
    assert client.get(authn).status_code == 400
    big = client.post(
        sp1.slo_url,
        content=b"x" * (b.MAX_FORM_BYTES + 1),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert big.status_code == 413
    errors = [r.error for r in sp1.received(client)]
    assert errors[0].startswith("SAMLRequest is not valid base64")  # type: ignore[union-attr]
    assert errors[1] == "no IdP known in this browser"
    assert errors[-1] == "not a logout message"


def test_incoming_post_request_answered_over_redirect_when_the_idp_has_no_post_slo(
    world: tuple[SpHost, FakeIdp, httpx.Client],
) -> None:
    host, idp, client = world
    log_in(host, idp, client, "sp1")
    sp1 = host.actor("sp1")
    sp1.state(client).idp = dataclasses.replace(
        idp.metadata, slo={"redirect": idp.metadata.slo["redirect"]}
    )
    xml = m.build_logout_request(
        f"{IDP}/md", sp1.slo_url, "id-alice", m.NAMEID_PERSISTENT, [], None
    )
    form = b.encode_post(m.sign(xml, IDP_KEY, IDP_CERT), sp1.slo_url, kind="SAMLRequest")
    answer = client.post(sp1.slo_url, data=dict(form.fields))
    assert answer.status_code == 302
    assert b.decode_redirect(answer.headers["location"]).kind == "SAMLResponse"
    sp1.state(client).idp = dataclasses.replace(idp.metadata, slo={})
    answer = client.post(sp1.slo_url, data=dict(form.fields))
    assert answer.text == "sp1: cannot answer the LogoutRequest: no IdP SLO endpoint"


def test_incoming_logout_response_is_recorded(world: tuple[SpHost, FakeIdp, httpx.Client]) -> None:
    host, idp, client = world
    log_in(host, idp, client, "sp1")
    sp1 = host.actor("sp1")
    xml = m.build_logout_response(f"{IDP}/md", sp1.slo_url, "_unsolicited", m.SUCCESS)
    answer = client.get(b.encode_redirect(xml, sp1.slo_url, kind="SAMLResponse", key_pem=IDP_KEY))
    assert answer.status_code == 200 and "logout complete" in answer.text
    message = sp1.received(client)[-1].message
    assert isinstance(message, m.LogoutResponse) and message.in_response_to == "_unsolicited"


# --- state per browser ----------------------------------------------------------------------------


def test_browsers_side_by_side_do_not_share_sessions(
    world: tuple[SpHost, FakeIdp, httpx.Client],
) -> None:
    host, idp, first = world
    with browser_for(host, idp) as second:
        log_in(host, idp, first, "sp1", "sp2")
        log_in(host, idp, second, "sp1", "sp2")
        assert host.browser_key(first) != host.browser_key(second)
        host.actor("sp1").logout(first)
        assert not host.actor("sp2").alive(first)
        assert host.actor("sp1").alive(second) and host.actor("sp2").alive(second)
        assert host.actor("sp2").logout_requests(second) == []


def test_browser_key_is_a_cookie_and_forget_drops_the_state(
    world: tuple[SpHost, FakeIdp, httpx.Client],
) -> None:
    host, idp, client = world
    key = host.browser_key(client)
    assert client.cookies.get(COOKIE) == key and host.browser_key(client) == key
    log_in(host, idp, client, "sp1")
    host.forget(client)
    assert host.actor("sp1").sessions(client) == []


def test_received_messages_are_bounded(
    world: tuple[SpHost, FakeIdp, httpx.Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    host, _, client = world
    monkeypatch.setattr("harness.saml.sp.MAX_RECEIVED", 3)
    for _ in range(5):
        client.get(f"{host.actor('sp1').slo_url}?SAMLRequest=%%%")
    assert len(host.actor("sp1").received(client)) == 3


def test_mounted_exchanges_are_recorded(world: tuple[SpHost, FakeIdp, httpx.Client]) -> None:
    from harness.http import recording

    _, _, client = world
    with recording() as recorder:
        client.get(f"{BASE}/saml/sp1/metadata")
    [exchange] = recorder.exchanges
    assert exchange.url == f"{BASE}/saml/sp1/metadata" and exchange.status == 200


def test_parsed_idp_metadata_drives_the_actors(world: tuple[SpHost, FakeIdp, httpx.Client]) -> None:
    host, _, client = world
    xml = f"""<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
        xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{IDP}/md">
      <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
        <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{m.cert_body(IDP_CERT)}
        </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
        <md:SingleLogoutService Binding="{b.BINDING_URIS["redirect"]}" Location="{IDP}/slo"/>
        <md:SingleSignOnService Binding="{b.BINDING_URIS["redirect"]}" Location="{IDP}/sso"/>
      </md:IDPSSODescriptor></md:EntityDescriptor>"""
    metadata = parse_idp_metadata(xml)
    login = host.actor("sp3").login(client, metadata, LOGIN_RULES, ALICE)
    assert login.session.response.signature.valid
    assert urlsplit(login.journey.hops[0].url).path == "/sso"
