"""The sample SAML SP: conformant, it keeps every SP-side logout rule; each fault breaks its own."""

import base64
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from urllib.parse import quote_plus

import httpx
import pytest
from onelogin.saml2.utils import OneLogin_Saml2_Utils

from fixtures.apps.saml_sp.faults import FAULTS
from harness.saml.messages import wrap

from .saml_idp_double import (
    EMAIL,
    ENTITY_ID,
    PERSISTENT,
    REQUEST_DENIED,
    REQUESTER,
    RSA_SHA1,
    RSA_SHA256,
    SLO_URL,
    SSO_URL,
    SUCCESS,
    IdpDouble,
    Redirected,
    User,
    deflate,
    read_redirect,
)
from .sample_sp_process import READY, ROOT, START_TIMEOUT, STOP_TIMEOUT, Apps, read_ready_line

SP_CERT = (ROOT / "fixtures" / "keys" / "sample-saml-sp.crt").read_text()
COOKIE = "sample_sp_session"
BILLION_LAUGHS = (
    '<!DOCTYPE l [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    '<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&b;</samlp:LogoutRequest>'
)


class Sp:
    """One running app as the tests drive it: browsers (httpx clients), logins, IdP messages."""

    def __init__(self, base: str, idp: IdpDouble) -> None:
        self.base = base
        self.slo = f"{base}/saml/slo"
        self.idp = idp
        # One connection pool for all browsers: a client of its own builds an SSL context, 30 ms.
        self._transport = httpx.HTTPTransport()

    def browser(self, cookie: str | None = None) -> httpx.Client:
        client = httpx.Client(base_url=self.base, timeout=10, transport=self._transport)
        if cookie is not None:
            client.cookies.set(COOKIE, cookie)
        return client

    def close(self) -> None:
        self._transport.close()

    def login(self, user: User, session_index: str, issued: float = 0) -> httpx.Client:
        """A browser with a session: /login, the signed AuthnRequest, the IdP's Response to /saml/acs."""
        client = self.browser()
        start = client.get("/login", params={"next": "/protected"})
        assert start.status_code == 302
        request = read_redirect(start.headers["location"], SP_CERT)
        assert request.endpoint == SSO_URL
        assert request.signature_valid is True
        saml_response = self.idp.login_response(
            self.base, request.root.get("ID"), user, session_index, issued
        )
        acs = client.post(
            "/saml/acs",
            data={"SAMLResponse": saml_response, "RelayState": request.parameters["RelayState"]},
        )
        assert acs.status_code in (200, 303), acs.text
        return client

    @staticmethod
    def alive(client: httpx.Client) -> bool:
        return client.get("/protected").status_code == 200

    def request(
        self,
        user: User,
        indexes: tuple[str, ...] = (),
        *,
        issuer: str = ENTITY_ID,
        issued: float = 0,
        not_on_or_after: float | None = 120,
    ) -> tuple[str, str]:
        """(ID, XML) of a LogoutRequest from the IdP to this app's SLO endpoint."""
        return self.idp.logout_request(
            self.slo, user, indexes, issuer=issuer, issued=issued, not_on_or_after=not_on_or_after
        )

    def send(
        self,
        xml: str,
        relay_state: str | None = "relay-1",
        binding: str = "redirect",
        signer: str = "idp",
        *,
        algorithm: str = RSA_SHA256,
        lowercase_escapes: bool = False,
    ) -> httpx.Response:
        """Deliver an IdP message through a fresh browser: the app must not need its cookie."""
        browser = self.browser()
        if binding == "redirect":
            query = self.idp.redirect_query(
                "SAMLRequest",
                xml,
                relay_state,
                signer=signer,
                algorithm=algorithm,
                lowercase_escapes=lowercase_escapes,
            )
            return browser.get(f"/saml/slo?{query}")
        form = self.idp.post_form("SAMLRequest", xml, relay_state, signer=signer)
        return browser.post("/saml/slo", data=form)


def answer(response: httpx.Response) -> Redirected:
    """The LogoutResponse the app redirected the browser to the IdP with."""
    assert response.status_code in (302, 303), (response.status_code, response.text)
    return read_redirect(response.headers["location"], SP_CERT)


def status(redirected: Redirected) -> list[str]:
    return [
        str(code)
        for code in redirected.root.xpath(
            "samlp:Status//samlp:StatusCode/@Value",
            namespaces={"samlp": "urn:oasis:names:tc:SAML:2.0:protocol"},
        )
    ]


def person(name: str) -> User:
    return User(f"{name}-{secrets.token_hex(4)}")


def index() -> str:
    return f"s-{secrets.token_hex(6)}"


@pytest.fixture
def sp(sp_apps: Apps, idp: IdpDouble) -> Iterator[Sp]:
    app = Sp(sp_apps.url(), idp)
    yield app
    app.close()


@pytest.fixture
def sp_with(
    sp_apps: Apps, idp: IdpDouble, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Sp]]:
    """The app with faults. Run alone, this starts the faulty variants of every selected test at
    once, so that their start-ups overlap on all cores; a pytest-xdist worker starts only those
    its own tests ask for, one by one."""
    if not hasattr(request.config, "workerinput"):
        for item in request.session.items:
            callspec = getattr(item, "callspec", None)
            if callspec is not None and "fault" in callspec.params:
                sp_apps.launch(callspec.params["fault"])
    apps: list[Sp] = []

    def start(*faults: str) -> Sp:
        apps.append(Sp(sp_apps.url(*faults), idp))
        return apps[-1]

    yield start
    for app in apps:
        app.close()


# --- metadata and login --------------------------------------------------------------------------


def test_metadata_names_the_endpoints_and_the_signing_cert(sp: Sp) -> None:
    reply = sp.browser().get("/saml/metadata")
    assert reply.status_code == 200
    text = reply.text
    assert f'entityID="{sp.base}/saml/metadata"' in text
    assert 'AuthnRequestsSigned="true"' in text and 'WantAssertionsSigned="true"' in text
    assert (
        f'Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{sp.base}/saml/acs"'
        in text
    )
    for binding in ("HTTP-Redirect", "HTTP-POST"):
        assert (
            f'Binding="urn:oasis:names:tc:SAML:2.0:bindings:{binding}" Location="{sp.slo}"' in text
        )
    assert "".join(SP_CERT.strip().splitlines()[1:-1]) in text


def test_login_makes_a_session_and_protected_needs_one(sp: Sp) -> None:
    anonymous = sp.browser().get("/protected")
    assert anonymous.status_code == 302 and anonymous.headers["location"].startswith("/login")
    user = person("alice")
    browser = sp.login(user, index())
    page = browser.get("/protected")
    assert page.status_code == 200 and user.value in page.text


def test_a_response_posted_twice_starts_one_session(sp: Sp, idp: IdpDouble) -> None:
    browser = sp.browser()
    request = read_redirect(browser.get("/login").headers["location"], SP_CERT)
    form = {
        "SAMLResponse": idp.login_response(sp.base, request.root.get("ID"), person("al"), index())
    }
    assert browser.post("/saml/acs", data=form).status_code == 303
    again = sp.browser()
    assert again.post("/saml/acs", data=form).status_code == 200
    assert not sp.alive(again)


# --- IdP-initiated logout: which sessions end (SAMLCore 3.7.3.1) ---------------------------------


@pytest.mark.parametrize("binding", ["redirect", "post"])
def test_logout_ends_exactly_the_named_session(sp: Sp, binding: str) -> None:
    alice, bob = person("alice"), person("bob")
    first, second = index(), index()
    a1, a2, b1 = sp.login(alice, first), sp.login(alice, second), sp.login(bob, index())
    relay_state = "back to /start?a=1&b=é ü+%"
    request_id, xml = sp.request(alice, (first,))
    sent = answer(sp.send(xml, relay_state, binding))
    assert (sp.alive(a1), sp.alive(a2), sp.alive(b1)) == (False, True, True)
    assert sent.endpoint == SLO_URL
    assert sent.signature_valid is True
    assert sent.root.tag == "{urn:oasis:names:tc:SAML:2.0:protocol}LogoutResponse"
    assert status(sent) == [SUCCESS]
    assert sent.attribute("@InResponseTo") == request_id
    assert sent.attribute("@Destination") == SLO_URL
    assert sent.attribute("saml:Issuer/text()") == f"{sp.base}/saml/metadata"
    assert sent.parameters["RelayState"] == relay_state


def test_no_session_index_ends_every_session_of_the_principal(sp: Sp) -> None:
    alice, bob = person("alice"), person("bob")
    a1, a2, b1 = sp.login(alice, index()), sp.login(alice, index()), sp.login(bob, index())
    assert status(answer(sp.send(sp.request(alice)[1]))) == [SUCCESS]
    assert (sp.alive(a1), sp.alive(a2), sp.alive(b1)) == (False, False, True)


def test_two_session_indexes_end_the_one_that_is_known(sp: Sp) -> None:
    alice = person("alice")
    first, second = index(), index()
    a1, a2 = sp.login(alice, first), sp.login(alice, second)
    assert status(answer(sp.send(sp.request(alice, ("unknown", second))[1]))) == [SUCCESS]
    assert (sp.alive(a1), sp.alive(a2)) == (True, False)


@pytest.mark.parametrize(
    "named",
    [
        pytest.param(lambda user, si: (User(user.value + "x"), (si,)), id="other-nameid"),
        pytest.param(lambda user, si: (User(user.value, EMAIL), (si,)), id="other-format"),
        pytest.param(
            lambda user, si: (User(user.value, PERSISTENT, "http://other.test/sp"), (si,)),
            id="other-spnamequalifier",
        ),
        pytest.param(lambda user, si: (user, ("unknown",)), id="unknown-sessionindex"),
    ],
)
def test_a_request_that_names_no_session_ends_none(
    sp: Sp, named: Callable[[User, str], tuple[User, tuple[str, ...]]]
) -> None:
    alice, session_index = person("alice"), index()
    browser = sp.login(alice, session_index)
    user, indexes = named(alice, session_index)
    assert status(answer(sp.send(sp.request(user, indexes)[1]))) == [SUCCESS]
    assert sp.alive(browser)


def test_an_omitted_spnamequalifier_means_this_sp(sp: Sp) -> None:
    alice, session_index = person("alice"), index()
    browser = sp.login(User(alice.value, PERSISTENT, f"{sp.base}/saml/metadata"), session_index)
    assert status(answer(sp.send(sp.request(alice, (session_index,))[1]))) == [SUCCESS]
    assert not sp.alive(browser)


def test_a_signature_over_lowercase_percent_escapes_verifies(sp: Sp) -> None:
    alice, session_index = person("alice"), index()
    browser = sp.login(alice, session_index)
    xml = sp.request(alice, (session_index,))[1]
    sent = answer(sp.send(xml, "/path?x=1", lowercase_escapes=True))
    assert status(sent) == [SUCCESS] and sent.parameters["RelayState"] == "/path?x=1"
    assert not sp.alive(browser)


# --- IdP-initiated logout: requests that must be refused -----------------------------------------


def _tampered_post(sp: Sp, user: User, session_index: str) -> tuple[str, httpx.Response]:
    request_id, xml = sp.request(user, (session_index,))
    form = sp.idp.post_form("SAMLRequest", xml, "relay-1")
    signed = base64.b64decode(form["SAMLRequest"]).decode()
    tampered = signed.replace("<samlp:SessionIndex>", "<samlp:SessionIndex>x")
    form["SAMLRequest"] = base64.b64encode(tampered.encode()).decode()
    return request_id, sp.browser().post("/saml/slo", data=form)


def _to(destination: str | None) -> Callable[[Sp, User, str], tuple[str, httpx.Response]]:
    def send(sp: Sp, user: User, session_index: str) -> tuple[str, httpx.Response]:
        request_id, xml = sp.idp.logout_request(
            None if destination is None else sp.base + destination, user, (session_index,)
        )
        return request_id, sp.send(xml)

    return send


def _signed(
    signer: str, binding: str = "redirect", algorithm: str = RSA_SHA256
) -> Callable[[Sp, User, str], tuple[str, httpx.Response]]:
    def send(sp: Sp, user: User, session_index: str) -> tuple[str, httpx.Response]:
        request_id, xml = sp.request(user, (session_index,))
        return request_id, sp.send(xml, binding=binding, signer=signer, algorithm=algorithm)

    return send


def _timed(
    issued: float, not_on_or_after: float | None
) -> Callable[[Sp, User, str], tuple[str, httpx.Response]]:
    def send(sp: Sp, user: User, session_index: str) -> tuple[str, httpx.Response]:
        request_id, xml = sp.request(
            user, (session_index,), issued=issued, not_on_or_after=not_on_or_after
        )
        return request_id, sp.send(xml)

    return send


def _from_issuer(sp: Sp, user: User, session_index: str) -> tuple[str, httpx.Response]:
    request_id, xml = sp.request(user, (session_index,), issuer="http://evil.test/idp")
    return request_id, sp.send(xml)


REFUSED: dict[str, Callable[[Sp, User, str], tuple[str, httpx.Response]]] = {
    "unsigned-redirect": _signed("none"),
    "unsigned-post": _signed("none", "post"),
    "stranger-redirect": _signed("stranger"),
    "stranger-post": _signed("stranger", "post"),
    "sha1-redirect": _signed("idp", algorithm=RSA_SHA1),
    "tampered-post": _tampered_post,
    "wrong-destination": _to("/elsewhere"),
    # python3-saml's own check, a prefix match, lets this one through.
    "destination-with-suffix": _to("/saml/slo/x"),
    "no-destination": _to(None),
    "wrong-issuer": _from_issuer,
    "expired": _timed(-120, -60),
    "issued-long-ago": _timed(-3600, None),
}


@pytest.mark.parametrize("case", REFUSED)
def test_an_invalid_request_is_refused_with_a_logout_response(sp: Sp, case: str) -> None:
    alice, session_index = person("alice"), index()
    browser = sp.login(alice, session_index)
    request_id, reply = REFUSED[case](sp, alice, session_index)
    sent = answer(reply)
    assert sp.alive(browser)
    assert sent.signature_valid is True
    assert status(sent) == [REQUESTER, REQUEST_DENIED]
    assert sent.attribute("@InResponseTo") == request_id
    assert sent.attribute("samlp:Status/samlp:StatusMessage/text()")
    assert sent.parameters["RelayState"] == "relay-1"


@pytest.mark.parametrize(
    "query",
    [
        "SAMLRequest=%%%",
        f"SAMLRequest={base64.b64encode(b'not deflated').decode()}",
        "SAMLRequest=AAAA&SAMLRequest=BBBB",
        f"SAMLRequest={quote_plus(deflate(BILLION_LAUGHS))}",
    ],
)
def test_an_unreadable_request_gets_a_logout_response_not_an_http_error(sp: Sp, query: str) -> None:
    sent = answer(sp.browser().get(f"/saml/slo?{query}&RelayState=r"))
    assert status(sent) == [REQUESTER, REQUEST_DENIED]
    assert sent.attribute("@InResponseTo") is None
    assert sent.parameters["RelayState"] == "r"


def test_a_replayed_request_is_refused(sp: Sp) -> None:
    carol = person("carol")
    first = sp.login(carol, index())
    _, xml = sp.request(carol, issued=-10)
    assert status(answer(sp.send(xml))) == [SUCCESS]
    assert not sp.alive(first)
    second = sp.login(carol, index())
    assert status(answer(sp.send(xml))) == [REQUESTER, REQUEST_DENIED]
    assert sp.alive(second)


# --- the race: a LogoutRequest before its assertion (SAMLCore 3.7.3.1) ---------------------------


def test_an_assertion_after_a_matching_request_makes_no_session(sp: Sp) -> None:
    dave, held, other = person("dave"), index(), index()
    assert status(answer(sp.send(sp.request(dave, (held,))[1]))) == [SUCCESS]
    assert not sp.alive(sp.login(dave, held, issued=-5))
    assert sp.alive(sp.login(dave, other))


def test_a_request_without_session_index_spares_later_logins(sp: Sp) -> None:
    erin = person("erin")
    assert status(answer(sp.send(sp.request(erin, issued=-10)[1]))) == [SUCCESS]
    assert not sp.alive(sp.login(erin, index(), issued=-30))
    assert sp.alive(sp.login(erin, index()))


# --- SP-initiated logout (SAMLProf 4.4.4.1, SAML2int SDP-SP34) -----------------------------------


def _start_logout(sp: Sp, user: User, session_index: str) -> tuple[str, Redirected]:
    """Log in, then GET /logout: (the session's cookie, the LogoutRequest sent to the IdP)."""
    browser = sp.login(user, session_index)
    cookie = browser.cookies[COOKIE]
    reply = browser.get("/logout", params={"next": "/bye"})
    assert reply.status_code == 302
    return cookie, read_redirect(reply.headers["location"], SP_CERT)


def test_sp_logout_ends_the_local_session_then_sends_a_signed_request(sp: Sp) -> None:
    user = User(person("alice").value, PERSISTENT, f"{sp.base}/saml/metadata")
    session_index = f"{index()}&<x>"  # to be escaped, not pasted into the XML
    other = sp.login(user, index())
    cookie, sent = _start_logout(sp, user, session_index)
    assert not sp.alive(sp.browser(cookie)) and sp.alive(other)
    assert sent.endpoint == SLO_URL and sent.signature_valid is True
    assert sent.root.tag == "{urn:oasis:names:tc:SAML:2.0:protocol}LogoutRequest"
    assert sent.attribute("@Destination") == SLO_URL
    assert sent.attribute("saml:Issuer/text()") == f"{sp.base}/saml/metadata"
    assert sent.attribute("saml:NameID/text()") == user.value
    assert sent.attribute("saml:NameID/@Format") == PERSISTENT
    assert sent.attribute("saml:NameID/@SPNameQualifier") == user.sp_name_qualifier
    assert sent.attribute("samlp:SessionIndex/text()") == session_index
    assert sent.parameters["RelayState"] == "/bye"


@pytest.mark.parametrize("binding", ["redirect", "post"])
def test_sp_logout_accepts_only_the_answer_to_its_request(
    sp: Sp, idp: IdpDouble, binding: str
) -> None:
    _, sent = _start_logout(sp, person("alice"), index())
    request_id = sent.attribute("@ID")

    def deliver(xml: str, signer: str = "idp") -> httpx.Response:
        if binding == "redirect":
            return sp.browser().get(
                f"/saml/slo?{idp.redirect_query('SAMLResponse', xml, '/bye', signer=signer)}"
            )
        return sp.browser().post(
            "/saml/slo", data=idp.post_form("SAMLResponse", xml, "/bye", signer=signer)
        )

    refused = [
        deliver(idp.logout_response(sp.slo, "_other")),
        deliver(idp.logout_response(sp.slo, None)),
        deliver(idp.logout_response(sp.slo, request_id), signer="none"),
        deliver(idp.logout_response(sp.slo, request_id), signer="stranger"),
        deliver(idp.logout_response(f"{sp.base}/elsewhere", request_id)),
    ]
    assert [(reply.status_code, "refused" in reply.text) for reply in refused] == [(200, True)] * 5
    accepted = deliver(idp.logout_response(sp.slo, request_id))
    assert accepted.status_code in (302, 303) and accepted.headers["location"] == "/bye"
    assert "refused" in deliver(idp.logout_response(sp.slo, request_id)).text


# --- the command line ----------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "fixtures.apps.saml_sp", *args]
    return subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, timeout=30, check=False
    )


def test_an_unknown_fault_is_a_usage_error(idp_metadata: Path) -> None:
    done = run_cli("--idp-metadata-file", str(idp_metadata), "--fault", "nope")
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and "'nope'" in done.stderr


def test_unreadable_metadata_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "md.xml").write_text("<md:EntityDescriptor")
    done = run_cli("--idp-metadata-file", str(tmp_path / "md.xml"))
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1


def test_metadata_by_url_and_options_from_the_environment(
    idp: IdpDouble, idp_metadata: Path
) -> None:
    body = idp_metadata.read_bytes()

    class Metadata(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: no line on stderr per request."""

    with ThreadingHTTPServer(("127.0.0.1", 0), Metadata) as server:
        # The app fetches its metadata once, at start: one request to answer, bounded in time.
        server.timeout = START_TIMEOUT
        answering = Thread(target=server.handle_request, daemon=True)
        answering.start()
        env = os.environ | {
            "SAMPLE_SAML_SP_IDP_METADATA_URL": f"http://127.0.0.1:{server.server_port}/md",
            "SAMPLE_SAML_SP_FAULTS": "sp-http-error-status",
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "fixtures.apps.saml_sp"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
            env=env,
        )
        try:
            line = read_ready_line(process, START_TIMEOUT)
            assert line.startswith(READY)
            app = Sp(line[len(READY) :].strip(), idp)
            refused = app.send(app.request(person("al"), (index(),))[1], signer="none")
            assert refused.status_code == 400
            app.close()
        finally:
            process.terminate()
            answering.join(STOP_TIMEOUT)
        assert process.wait(timeout=STOP_TIMEOUT) == 0


# --- faults: each changes the behaviour its requirement is about ---------------------------------


def _kept_after(sp: Sp, deliver: Callable[[Sp, User, str], object]) -> bool:
    user, session_index = person("alice"), index()
    browser = sp.login(user, session_index)
    deliver(sp, user, session_index)
    return sp.alive(browser)


def _wrapping_refused(sp: Sp) -> bool:
    """XSW: mallory's own request, signed by the IdP, hidden in a forged one naming alice's session."""

    def attack(sp: Sp, user: User, session_index: str) -> None:
        _, own = sp.request(person("mallory"), (index(),))
        keys = sp.idp.keys
        signed = OneLogin_Saml2_Utils.add_sign(own, keys.key_pem, keys.cert_pem, sign_algorithm=RSA_SHA256)
        _, forged = sp.request(user, (session_index,))
        sp.send(wrap(signed.decode(), forged), binding="post", signer="none", relay_state=None)

    return _kept_after(sp, attack)


def _replay_refused(sp: Sp) -> bool:
    carol = person("carol")
    sp.login(carol, index())
    _, xml = sp.request(carol, issued=-10)
    sp.send(xml)
    again = sp.login(carol, index())
    sp.send(xml)
    return sp.alive(again)


def _later_refused(sp: Sp) -> bool:
    dave, held = person("dave"), index()
    sp.send(sp.request(dave, (held,))[1])
    return not sp.alive(sp.login(dave, held, issued=-5))


def _sp_request(sp: Sp) -> Redirected:
    return _start_logout(sp, person("alice"), index())[1]


def _local_session_ended_first(sp: Sp) -> bool:
    cookie, _ = _start_logout(sp, person("alice"), index())
    return not sp.alive(sp.browser(cookie))


def _valid_answer(sp: Sp) -> tuple[str, Redirected]:
    alice, session_index = person("alice"), index()
    sp.login(alice, session_index)
    request_id, xml = sp.request(alice, (session_index,))
    return request_id, answer(sp.send(xml, "keep-me-1"))


def _answers_its_request(sp: Sp) -> bool:
    request_id, sent = _valid_answer(sp)
    return sent.attribute("@InResponseTo") == request_id


PROBES: dict[str, Callable[[Sp], bool]] = {
    "sp-accept-unsigned-logout": lambda sp: _kept_after(
        sp, lambda sp, u, si: sp.send(sp.request(u, (si,))[1], signer="none")
    ),
    "sp-accept-bad-signature": lambda sp: _kept_after(
        sp, lambda sp, u, si: sp.send(sp.request(u, (si,))[1], signer="stranger")
    ),
    "sp-ignore-session-index": lambda sp: _kept_after(
        sp, lambda sp, u, si: sp.send(sp.request(u, ("unknown",))[1])
    ),
    "sp-nameid-mismatch-logout": lambda sp: _kept_after(
        sp, lambda sp, u, si: sp.send(sp.request(person("bob"), (si,))[1])
    ),
    "sp-destination-unchecked": lambda sp: _kept_after(
        sp, lambda sp, u, si: sp.send(sp.idp.logout_request(f"{sp.base}/elsewhere", u, (si,))[1])
    ),
    "sp-accept-replay": _replay_refused,
    "sp-signature-wrapping": _wrapping_refused,
    "sp-no-later-logout": _later_refused,
    "sp-no-session-index-in-request": lambda sp: (
        _sp_request(sp).attribute("samlp:SessionIndex/text()") is not None
    ),
    "sp-unsigned-logout-request": lambda sp: _sp_request(sp).signature_valid is True,
    "sp-unsigned-logout-response": lambda sp: _valid_answer(sp)[1].signature_valid is True,
    "sp-logout-before-local": _local_session_ended_first,
    "sp-logout-keeps-session": _local_session_ended_first,
    "sp-relaystate-altered": lambda sp: (
        _valid_answer(sp)[1].parameters.get("RelayState") == "keep-me-1"
    ),
    "sp-http-error-status": lambda sp: (
        sp.send(sp.request(person("al"), (index(),))[1], signer="none").status_code in (302, 303)
    ),
    "sp-wrong-in-response-to": _answers_its_request,
    "sp-open-return": lambda sp: httpx.get(f"{sp.base}/logout", params={"next": "https://evil.example/"},
                                           timeout=5).headers.get("location") == "/",
}


def test_every_fault_has_a_probe_and_a_place_in_the_code() -> None:
    assert set(PROBES) == {fault.name for fault in FAULTS}
    code = "\n".join(
        path.read_text()
        for path in (ROOT / "fixtures/apps/saml_sp").glob("*.py")
        if path.name != "faults.py"
    )
    for fault in FAULTS:
        assert fault.name.startswith("sp-")
        assert f'"{fault.name}"' in code, fault.name


@pytest.mark.parametrize("fault", [fault.name for fault in FAULTS])
def test_fault_changes_what_the_app_does(sp: Sp, sp_with: Callable[..., Sp], fault: str) -> None:
    assert PROBES[fault](sp), "the conformant app fails the probe"
    assert not PROBES[fault](sp_with(fault)), f"{fault} changes nothing"
