"""SAML targets that send broken input: one clear broken result per case, no traceback, no hang, no fetch.

Broken base64 or DEFLATE, truncated XML, XML bombs, external entities and DTDs, huge messages, a
wrong content type and an endpoint that never answers, on both kinds of SAML target:

- a fake IdP (starlette in a thread, port 0) with valid metadata and a self-signed key, conformant
  enough for ``saml-slo-idp`` (it logs the SP actors in, propagates logout to the other participant
  and answers over Redirect, POST and SOAP), switched to answer one thing badly per test;
- the sample SP app (``fixtures/apps/saml_sp``) launched through a small wrapper that breaks only one
  of its answers, for ``saml-slo-sp``.

Every XML that carries an entity or a DTD points it at a "bait" server on 127.0.0.1 that counts the
requests it gets: it must get none. Each run is ``logout-conformance run`` in a subprocess, one
scenario, small timeouts, bounded wall time.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import html
import secrets
import textwrap
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlencode

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree  # type: ignore[import-untyped]
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from harness.saml.bindings import (
    BINDING_URIS,
    decode_post,
    decode_redirect,
    encode_redirect,
    soap_unwrap,
)
from harness.saml.messages import (
    NAMEID_PERSISTENT,
    SUCCESS,
    build_logout_request,
    build_logout_response,
    new_id,
    saml_instant,
    sign,
)
from harness.saml.xml import MAX_MESSAGE_BYTES, MD, SAML, SAMLP, SOAP, qname

from .conftest import (
    CALLBACK_BASE,
    ROOT,
    Hold,
    Serve,
    Timed,
    clean_env,
    load_summary,
    output,
    run_suite,
)

KEYS = ROOT / "fixtures" / "keys"
EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 1, 2, 3
#: a run's own start (imports, scenario loading) plus a few logins against a local fake; a run
#: that wants more than this is waiting for something it should not
RUN_BOUND_S = 10.0
#: the app runs start the bundled mock and the sample app first
APP_RUN_BOUND_S = 20.0


# --- the fake IdP's key, and XML that a hardened reader must refuse ---------------------------------


@functools.cache
def idp_credentials() -> tuple[str, str]:
    """A self-signed RSA key and certificate for the fake IdP (PEM), made once per test process."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake SAML IdP for bad-input tests")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode("ascii")
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def billion_laughs(root: str = "samlp:LogoutResponse") -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return (f'<?xml version="1.0"?>\n<!DOCTYPE {root} [\n  ' + "\n  ".join(entities) + "\n]>\n"
            f'<{root} xmlns:samlp="{SAMLP}" ID="_bomb" Version="2.0">&lol9;</{root}>').encode()


def external_entity(bait: str, root: str = "samlp:LogoutResponse") -> bytes:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "{bait}/entity">]>\n'
            f'<{root} xmlns:samlp="{SAMLP}" ID="_xxe" Version="2.0">&xxe;</{root}>').encode()


def external_dtd(bait: str, root: str = "samlp:LogoutResponse") -> bytes:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE {root} SYSTEM "{bait}/evil.dtd">\n'
            f'<{root} xmlns:samlp="{SAMLP}" ID="_dtd" Version="2.0"/>').encode()


def in_utf16(xml: bytes) -> bytes:
    """The document in UTF-16: a byte scan for "<!DOCTYPE" cannot see its DTD, the parser must refuse it."""
    return xml.decode().replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>').encode("utf-16")


def deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


# --- a fake SAML IdP ----------------------------------------------------------------------------------


@dataclass
class IdpBehaviour:
    """What the fake IdP does wrong; the defaults make an IdP the harness can log in and out with.

    ``metadata``: valid | html | sp-only | dtd | huge | hang. ``login``: how the Response reaches the ACS (valid, or
    a bad payload kind). ``logout``: how the initiator's LogoutResponse comes back (valid, a bad
    payload kind, ``html-page`` instead of a SAML answer, ``text-plain`` for a SAML form served as
    text/plain, ``hang`` for no answer at all).
    """

    metadata: str = "valid"
    login: str = "valid"
    logout: str = "valid"
    bait: str = ""  # where entities and DTDs point
    hold: Hold | None = None


@dataclass
class _Session:
    sid: str
    name_id: str
    alive: bool = True
    #: SP entityID -> (its SLO URL, the SessionIndex it was given)
    participants: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass
class _Pending:
    """A LogoutRequest from an SP, waiting while the other participants are logged out."""

    requester: str
    slo: str
    request_id: str
    relay_state: str | None
    binding: str
    left: list[tuple[str, str, str]]  # (entity, slo, session index) still to notify
    name_id: str = ""


class FakeIdp:
    """Metadata, /sso (no login form: the first visit logs in as alice), /slo (Redirect and POST,
    propagating to the other participants over Redirect), /soap; misbehaves as told."""

    def __init__(self, url: str, behaviour: IdpBehaviour) -> None:
        self.url = url
        self.entity_id = f"{url}/metadata"
        self.behaviour = behaviour
        self.key_pem, self.cert_pem = idp_credentials()
        self.sessions: dict[str, _Session] = {}
        self.pending: dict[str, _Pending] = {}

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/metadata", self.metadata),
            Route("/sso", self.sso),
            Route("/slo", self.slo, methods=["GET", "POST"]),
            Route("/soap", self.soap, methods=["POST"]),
        ])

    # metadata --------------------------------------------------------------------------------------
    def metadata_xml(self, role: str = "IDPSSODescriptor") -> str:
        entity = etree.Element(qname(MD, "EntityDescriptor"), nsmap={"md": MD, "ds": "http://www.w3.org/2000/09/xmldsig#"})
        entity.set("entityID", self.entity_id)
        descriptor = etree.SubElement(entity, qname(MD, role), protocolSupportEnumeration=SAMLP)
        key = etree.SubElement(descriptor, qname(MD, "KeyDescriptor"), use="signing")
        ds = "{http://www.w3.org/2000/09/xmldsig#}"
        data = etree.SubElement(etree.SubElement(key, f"{ds}KeyInfo"), f"{ds}X509Data")
        body = "".join(line for line in self.cert_pem.splitlines() if not line.startswith("-----"))
        etree.SubElement(data, f"{ds}X509Certificate").text = body
        for binding, path in ((BINDING_URIS["redirect"], "/slo"), (BINDING_URIS["post"], "/slo"),
                              (BINDING_URIS["soap"], "/soap")):
            etree.SubElement(descriptor, qname(MD, "SingleLogoutService"), Binding=binding, Location=f"{self.url}{path}")
        if role == "IDPSSODescriptor":
            etree.SubElement(descriptor, qname(MD, "SingleSignOnService"), Binding=BINDING_URIS["redirect"],
                             Location=f"{self.url}/sso")
        else:
            etree.SubElement(descriptor, qname(MD, "AssertionConsumerService"), Binding=BINDING_URIS["post"],
                             Location=f"{self.url}/acs", index="0")
        return str(etree.tostring(entity, encoding="unicode"))

    async def metadata(self, request: Request) -> Response:
        kind = self.behaviour.metadata
        if kind == "html":
            return HTMLResponse("<!doctype html><html><body><h1>Welcome to our portal</h1></body></html>")
        if kind == "hang" and self.behaviour.hold is not None:
            await self.behaviour.hold.forever()
        if kind == "huge":  # valid metadata, padded past the 1 MiB bound
            return Response(self.metadata_xml().replace("</md:EntityDescriptor>", "<!--" + "x" * 1_100_000
                                                        + "--></md:EntityDescriptor>"),
                            media_type="application/samlmetadata+xml")
        if kind == "sp-only":  # well-formed SAML metadata, but of an SP
            return Response(self.metadata_xml("SPSSODescriptor"), media_type="application/samlmetadata+xml")
        xml = self.metadata_xml()
        if kind == "dtd":  # valid metadata behind a DOCTYPE whose external entity points at the bait
            xml = (f'<!DOCTYPE md:EntityDescriptor [<!ENTITY xxe SYSTEM "{self.behaviour.bait}/metadata-entity">]>\n'
                   + xml.replace(f'entityID="{self.entity_id}"', 'entityID="&xxe;"'))
        return Response(xml, media_type="application/samlmetadata+xml")

    # login -----------------------------------------------------------------------------------------
    async def sso(self, request: Request) -> Response:
        authn = etree.fromstring(decode_redirect(str(request.url)).xml.encode())
        sp, acs = authn.findtext(qname(SAML, "Issuer")), authn.get("AssertionConsumerServiceURL")
        session = self.sessions.get(request.cookies.get("fake_idp", ""))
        if session is not None and not session.alive:
            return HTMLResponse("<p>You are signed out. Sign in again at the portal.</p>")
        if session is None:
            session = _Session(secrets.token_urlsafe(12), f"alice-{secrets.token_hex(4)}")
            self.sessions[session.sid] = session
        index = f"_idx{secrets.token_hex(8)}"
        session.participants[sp] = (sp.removesuffix("/metadata") + "/slo", index)
        relay = request.query_params.get("RelayState")
        kind = self.behaviour.login
        if kind == "valid":
            xml = sign(self.login_response(sp, acs, authn.get("ID"), session.name_id, index), self.key_pem,
                       self.cert_pem).encode()
        else:
            xml = self.bad_xml(kind)
        answer = self.post_page(acs, "SAMLResponse", xml, relay, kind)
        answer.set_cookie("fake_idp", session.sid, httponly=True)
        return answer

    def login_response(self, sp: str, acs: str, in_response_to: str, name_id: str, index: str) -> str:
        now, later = saml_instant(), saml_instant(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
        return textwrap.dedent(f"""\
            <samlp:Response xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{new_id()}" Version="2.0"
                IssueInstant="{now}" Destination="{acs}" InResponseTo="{in_response_to}">
              <saml:Issuer>{self.entity_id}</saml:Issuer>
              <samlp:Status><samlp:StatusCode Value="{SUCCESS}"/></samlp:Status>
              <saml:Assertion ID="{new_id()}" Version="2.0" IssueInstant="{now}">
                <saml:Issuer>{self.entity_id}</saml:Issuer>
                <saml:Subject>
                  <saml:NameID Format="{NAMEID_PERSISTENT}">{name_id}</saml:NameID>
                  <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
                    <saml:SubjectConfirmationData NotOnOrAfter="{later}" Recipient="{acs}" InResponseTo="{in_response_to}"/>
                  </saml:SubjectConfirmation>
                </saml:Subject>
                <saml:Conditions NotBefore="{now}" NotOnOrAfter="{later}">
                  <saml:AudienceRestriction><saml:Audience>{sp}</saml:Audience></saml:AudienceRestriction>
                </saml:Conditions>
                <saml:AuthnStatement AuthnInstant="{now}" SessionIndex="{index}">
                  <saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext>
                </saml:AuthnStatement>
              </saml:Assertion>
            </samlp:Response>""")

    # logout ----------------------------------------------------------------------------------------
    async def slo(self, request: Request) -> Response:
        if request.method == "POST":
            decoded = decode_post(await request.body(), endpoint=f"{self.url}/slo")
        else:
            decoded = decode_redirect(str(request.url))
        message = etree.fromstring(decoded.xml.encode())
        if message.tag == qname(SAMLP, "LogoutResponse"):  # a participant's answer: go on with the next one
            pending = self.pending.pop(decoded.relay_state or "")
            return self.propagate(pending)
        if self.behaviour.logout == "hang" and self.behaviour.hold is not None:
            await self.behaviour.hold.forever()
        session = self.sessions.get(request.cookies.get("fake_idp", ""))
        requester = message.findtext(qname(SAML, "Issuer")) or ""
        others: list[tuple[str, str, str]] = []
        if session is not None:
            session.alive = False
            others = [(sp, slo, index) for sp, (slo, index) in session.participants.items() if sp != requester]
        pending = _Pending(requester, requester.removesuffix("/metadata") + "/slo", message.get("ID", ""),
                           decoded.relay_state, decoded.binding, others, session.name_id if session else "")
        return self.propagate(pending)

    def propagate(self, pending: _Pending) -> Response:
        """The next participant's LogoutRequest (Redirect, signed), or the initiator's answer."""
        if pending.left:
            _, slo, index = pending.left.pop(0)
            key = secrets.token_urlsafe(12)
            self.pending[key] = pending
            xml = build_logout_request(self.entity_id, slo, pending.name_id, NAMEID_PERSISTENT,
                                       [index], dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
            return RedirectResponse(encode_redirect(xml, slo, kind="SAMLRequest", relay_state=key,
                                                    key_pem=self.key_pem), 302)
        return self.answer(pending)

    def answer(self, pending: _Pending) -> Response:
        kind = self.behaviour.logout
        xml = build_logout_response(self.entity_id, pending.slo, pending.request_id, SUCCESS)
        if kind == "html-page":
            return HTMLResponse("<!doctype html><html><body><h1>Welcome to our portal</h1></body></html>")
        if pending.binding == "post" or kind == "text-plain":
            signed = sign(xml, self.key_pem, self.cert_pem).encode()
            payload = signed if kind in ("valid", "text-plain") else self.bad_xml(kind)
            page = self.post_page(pending.slo, "SAMLResponse", payload, pending.relay_state, kind)
            if kind == "text-plain":
                page.headers["content-type"] = "text/plain; charset=utf-8"
            return page
        if kind == "valid":
            return RedirectResponse(encode_redirect(xml, pending.slo, kind="SAMLResponse",
                                                    relay_state=pending.relay_state, key_pem=self.key_pem), 302)
        if kind == "bad-base64":
            value = "not*base64*at*all"
        elif kind == "bad-deflate":
            value = base64.b64encode(b"\xff\xff\xff\xff this is not DEFLATE").decode()
        else:
            value = base64.b64encode(deflate(self.bad_xml(kind))).decode()
        query = {"SAMLResponse": value, **({"RelayState": pending.relay_state} if pending.relay_state else {})}
        return RedirectResponse(f"{pending.slo}?{urlencode(query, quote_via=quote_plus)}", 302)

    async def soap(self, request: Request) -> Response:
        message = soap_unwrap(await request.body())
        index = message.findtext(qname(SAMLP, "SessionIndex"))
        for session in self.sessions.values():
            if any(i == index for _, i in session.participants.values()):
                session.alive = False
        kind = self.behaviour.logout
        if kind == "hang" and self.behaviour.hold is not None:
            await self.behaviour.hold.forever()
        if kind == "html-page":
            return HTMLResponse("<!doctype html><html><body><h1>Welcome to our portal</h1></body></html>")
        if kind == "valid":
            response = sign(build_logout_response(self.entity_id, None, message.get("ID"), SUCCESS),
                            self.key_pem, self.cert_pem)
            body = (f'<soap-env:Envelope xmlns:soap-env="{SOAP}"><soap-env:Body>'
                    f'{response.split("?>", 1)[-1]}</soap-env:Body></soap-env:Envelope>').encode()
        else:
            body = self.bad_xml(kind)
        return Response(body, media_type="text/xml")

    # bad payloads ----------------------------------------------------------------------------------
    def bad_xml(self, kind: str) -> bytes:
        bait = self.behaviour.bait
        good = build_logout_response(self.entity_id, None, "_x", SUCCESS).encode()
        makers: dict[str, Callable[[], bytes]] = {
            "truncated": lambda: good[: len(good) * 2 // 3],
            "bomb": billion_laughs,
            "xxe": lambda: external_entity(bait),
            "external-dtd": lambda: external_dtd(bait),
            "utf16-xxe": lambda: in_utf16(external_entity(bait)),
            "utf16-bomb": lambda: in_utf16(billion_laughs()),
            "huge": lambda: good.replace(b"</samlp:Status>", b"<samlp:StatusMessage>"
                                         + b"x" * (MAX_MESSAGE_BYTES + 1024) + b"</samlp:StatusMessage></samlp:Status>"),
            "not-xml": lambda: b"<html><body>Internal Server Error<br></body></html>",
        }
        return makers[kind]() if kind in makers else good  # bad-base64: the XML is not what is wrong

    @staticmethod
    def post_page(action: str, field_name: str, xml: bytes, relay_state: str | None, kind: str) -> Response:
        value = "not*base64!" if kind == "bad-base64" else base64.b64encode(xml).decode("ascii")
        fields = [(field_name, value), *([("RelayState", relay_state)] if relay_state else [])]
        inputs = "".join(f'<input type="hidden" name="{n}" value="{html.escape(v, quote=True)}"/>' for n, v in fields)
        return HTMLResponse(f'<!DOCTYPE html><html><body onload="document.forms[0].submit()">'
                            f'<form method="post" action="{html.escape(action)}">{inputs}</form></body></html>')


class Bait:
    """A server that counts every request it gets: entities and DTDs point here and must not be fetched."""

    def __init__(self) -> None:
        self.requests: list[str] = []

    def app(self) -> Starlette:
        async def anything(request: Request) -> Response:
            self.requests.append(f"{request.method} {request.url.path}")
            return PlainTextResponse('<!ENTITY stolen "secret">', media_type="application/xml-dtd")

        return Starlette(routes=[Route("/{path:path}", anything, methods=["GET", "POST"])])


def idp_target(path: Path, idp_url: str) -> Path:
    """A target file for the fake IdP: its metadata, the harness's three SP actors, 1 s timeouts."""
    sps = [{"name": f"sp{i}", "key": str(KEYS / f"harness-sp{i}.key"), "cert": str(KEYS / f"harness-sp{i}.crt")}
           for i in (1, 2, 3)]
    data = {
        "name": "fake SAML IdP",
        "roles": ["saml-idp"],
        "saml": {"idp": {"metadata_url": f"{idp_url}/metadata", "users": [{"username": "alice"}, {"username": "bob"}]},
                 "sps": sps},
        "harness": {"callback_base": CALLBACK_BASE},
        "timeouts": {"connect": 1, "read": 1},
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    return path


@dataclass
class Idp:
    """A running fake IdP, the bait its bad XML points at, and a target file for it."""

    behaviour: IdpBehaviour
    bait: Bait
    target: Path


@pytest.fixture
def fake_idp(serve: Serve, hold: Hold, tmp_path: Path) -> Callable[..., Idp]:
    """``fake_idp(metadata=..., login=..., logout=...)``: a running fake IdP misbehaving so."""

    def start(**how: str) -> Idp:
        bait = Bait()
        bait_url = serve(lambda url: bait.app())
        behaviour = IdpBehaviour(**how, bait=bait_url, hold=hold)
        url = serve(lambda url: FakeIdp(url, behaviour).app())
        return Idp(behaviour, bait, idp_target(tmp_path / "target.yaml", url))

    return start


# --- what every run must show ---------------------------------------------------------------------------


def assert_clean(text: str) -> None:
    assert "Traceback" not in text, text
    assert "internal error" not in text, text


def console_detail(text: str, scenario_id: str) -> str:
    """What the final table says under the scenario's BROKEN heading, its wrapped lines joined."""
    lines = text.splitlines()
    heads = [i for i, line in enumerate(lines) if line.startswith("BROKEN") and scenario_id in line]
    assert len(heads) == 1, f"want one BROKEN heading for {scenario_id}:\n{text}"
    detail = []
    for line in lines[heads[0] + 1:]:
        if not line.startswith("          "):
            break
        detail.append(line.strip())
    assert detail and detail[-1] != "...", f"the reason for {scenario_id} is missing or cut short:\n{text}"
    return " ".join(detail)


def run_case(idp: Idp, tmp_path: Path, keyword: str, *, bound: float = RUN_BOUND_S) -> tuple[int, str, dict[str, Any]]:
    report = tmp_path / "report"
    with Timed() as timed:
        proc = run_suite(report, "--target", idp.target, "--profile", "saml-slo-idp", "-k", keyword, env=clean_env())
    text = output(proc)
    assert_clean(text)
    assert timed.seconds < bound, f"took {timed.seconds:.1f} s:\n{text}"
    assert not idp.bait.requests, f"the harness fetched {idp.bait.requests} for an entity or DTD"
    return proc.returncode, text, load_summary(report)


def assert_one_broken(code: int, text: str, summary: dict[str, Any], phrase: str | tuple[str, ...], *,
                      exit_code: int = EXIT_USAGE, kind: str = "error") -> dict[str, Any]:
    """The one scenario that ran is broken of ``kind``, and its reason on the console says ``phrase``
    (each of them, for a tuple)."""
    ran = [s for s in summary["scenarios"] if s["status"] != "skipped"]
    assert len(ran) == 1, [(s["id"], s["status"]) for s in summary["scenarios"]]
    scenario = ran[0]
    assert code == exit_code, text
    assert scenario["status"] == "broken" and scenario["broken_kind"] == kind, scenario
    reason = console_detail(text, scenario["id"])
    for part in (phrase,) if isinstance(phrase, str) else phrase:
        assert part in reason, f"{part!r} is not in the reason:\n{text}"
    return scenario


# --- the fake IdP is good enough: the broken cases below break because of what they break ---------------


def test_fake_idp_logs_in_and_out_cleanly(tmp_path: Path, fake_idp: Callable[..., Idp]) -> None:
    idp = fake_idp()
    code, text, summary = run_case(idp, tmp_path, "sp-initiated-logout or soap-logout")
    statuses = {s["id"]: s["status"] for s in summary["scenarios"] if s["status"] != "skipped"}
    assert statuses == {"saml-slo-idp/sp-initiated-logout[redirect]": "passed",
                        "saml-slo-idp/sp-initiated-logout[post]": "passed",
                        "saml-slo-idp/soap-logout": "passed"}, text
    assert code == 0, text


# --- the IdP's answer to the LogoutRequest is broken ----------------------------------------------------

LOGOUT_CASES = [
    # id, how the IdP answers, which case of the profile runs, what the console line must say
    ("base64", "bad-base64", "sp-initiated-logout and redirect", "not valid base64"),
    ("base64-post", "bad-base64", "sp-initiated-logout and post", "not valid base64"),
    ("deflate", "bad-deflate", "sp-initiated-logout and redirect", "not valid DEFLATE data"),
    ("truncated", "truncated", "sp-initiated-logout and redirect", "truncated XML"),
    ("not-xml", "not-xml", "sp-initiated-logout and post", "malformed XML"),
    ("bomb", "bomb", "sp-initiated-logout and redirect", "DTDs are refused"),
    ("external-entity", "xxe", "sp-initiated-logout and post", "DTDs are refused"),
    ("external-dtd", "external-dtd", "sp-initiated-logout and redirect", "DTDs are refused"),
    ("utf16-external-entity", "utf16-xxe", "sp-initiated-logout and post", "DTDs are refused"),
    ("utf16-bomb", "utf16-bomb", "sp-initiated-logout and post", "XML bomb"),
    ("huge-redirect", "huge", "sp-initiated-logout and redirect", f"inflates to more than {MAX_MESSAGE_BYTES} bytes"),
    ("huge-post", "huge", "sp-initiated-logout and post", f"larger than {MAX_MESSAGE_BYTES} bytes"),
    ("soap-bomb", "bomb", "soap-logout", "DTDs are refused"),
    ("soap-external-entity", "xxe", "soap-logout", "DTDs are refused"),
    ("soap-html-page", "html-page", "soap-logout", ("SOAP envelope: malformed XML", "(HTTP 200, text/html)")),
]


@pytest.mark.parametrize(("answer", "keyword", "phrase"), [c[1:] for c in LOGOUT_CASES], ids=[c[0] for c in LOGOUT_CASES])
def test_broken_logout_response(tmp_path: Path, fake_idp: Callable[..., Idp], answer: str, keyword: str,
                                phrase: str | tuple[str, ...]) -> None:
    idp = fake_idp(logout=answer)
    code, text, summary = run_case(idp, tmp_path, keyword)
    scenario = assert_one_broken(code, text, summary, phrase)
    assert any("LogoutResponse" in m for m in scenario["messages"]), scenario["messages"]


NO_RESPONSE_CASES = [
    # an answer that is no SAML message at all: the IdP sent no LogoutResponse, a verdict on it
    ("html-page", "html-page", "sp-initiated-logout and redirect", "text/html"),
    ("saml-form-as-text-plain", "text-plain", "sp-initiated-logout and post", "text/plain"),
]


@pytest.mark.parametrize(("answer", "keyword", "phrase"), [c[1:] for c in NO_RESPONSE_CASES],
                         ids=[c[0] for c in NO_RESPONSE_CASES])
def test_no_logout_response_is_a_failure(tmp_path: Path, fake_idp: Callable[..., Idp], answer: str, keyword: str,
                                         phrase: str) -> None:
    idp = fake_idp(logout=answer)
    code, text, summary = run_case(idp, tmp_path, keyword)
    assert code == 1, text
    assert "Traceback" not in text
    (scenario,) = summary["scenarios"]
    assert scenario["status"] == "failed"
    assert scenario["failed_requirements"] == ["SAMLCore-3.7.3.2-status"]
    assert phrase in " ".join(text.split()), text


def test_slo_endpoint_that_never_answers(tmp_path: Path, fake_idp: Callable[..., Idp]) -> None:
    idp = fake_idp(logout="hang")
    code, text, summary = run_case(idp, tmp_path, "sp-initiated-logout and redirect", bound=1 + RUN_BOUND_S)
    scenario = assert_one_broken(code, text, summary, "no answer from", exit_code=EXIT_UNREACHABLE, kind="unreachable")
    assert any("/slo" in m for m in scenario["messages"]), scenario["messages"]


# --- the IdP's answer to the AuthnRequest is broken -----------------------------------------------------

LOGIN_CASES = [
    ("base64", "bad-base64", "not valid base64"),
    ("bomb", "bomb", "DTDs are refused"),
    ("external-entity", "xxe", "DTDs are refused"),
    ("truncated", "truncated", "truncated XML"),
]


@pytest.mark.parametrize(("answer", "phrase"), [c[1:] for c in LOGIN_CASES], ids=[c[0] for c in LOGIN_CASES])
def test_broken_login_response(tmp_path: Path, fake_idp: Callable[..., Idp], answer: str, phrase: str) -> None:
    idp = fake_idp(login=answer)
    code, text, summary = run_case(idp, tmp_path, "sp-initiated-logout and redirect")
    scenario = assert_one_broken(code, text, summary, phrase)
    assert any("login at sp1" in m and "ACS" in m for m in scenario["messages"]), scenario["messages"]


# --- the IdP's metadata is broken -----------------------------------------------------------------------

METADATA_CASES = [
    ("html", "html", "malformed XML"),
    ("sp-only", "sp-only", "no IDPSSODescriptor"),
    ("dtd", "dtd", "DTDs are refused"),
    ("huge", "huge", "larger than 1048576 bytes"),
]


@pytest.mark.parametrize(("metadata", "phrase"), [c[1:] for c in METADATA_CASES], ids=[c[0] for c in METADATA_CASES])
def test_broken_idp_metadata(tmp_path: Path, fake_idp: Callable[..., Idp], metadata: str, phrase: str) -> None:
    idp = fake_idp(metadata=metadata)
    code, text, summary = run_case(idp, tmp_path, "sp-initiated-logout and redirect")
    scenario = assert_one_broken(code, text, summary, phrase)
    assert any("/metadata" in m for m in scenario["messages"]), scenario["messages"]


def test_idp_metadata_that_never_comes(tmp_path: Path, fake_idp: Callable[..., Idp]) -> None:
    idp = fake_idp(metadata="hang")
    code, text, summary = run_case(idp, tmp_path, "sp-initiated-logout and redirect", bound=1 + RUN_BOUND_S)
    assert_one_broken(code, text, summary, "no answer from", exit_code=EXIT_UNREACHABLE, kind="unreachable")


# --- an SP app (the sample app, one answer broken) -------------------------------------------------------

#: wraps the sample SP: one of its answers replaced, everything else as it is
APP_WRAPPER = '''\
import base64, sys, zlib
from urllib.parse import quote_plus
sys.path.insert(0, {root!r})
from fixtures.apps.saml_sp import __main__ as sample
from starlette.responses import HTMLResponse, RedirectResponse

MODE = sys.argv[1]
BOMB = {bomb!r}
real_create_app = sample.create_app


def deflated(data):
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return quote_plus(base64.b64encode(compressor.compress(data) + compressor.flush()).decode())


def create_app(config):
    inner = real_create_app(config)

    async def app(scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] == "http" and MODE == "metadata-html" and path == "/saml/metadata":
            answer = HTMLResponse("<!doctype html><html><body><h1>Welcome to our portal</h1></body></html>")
        elif scope["type"] == "http" and MODE == "slo-bomb" and path == "/saml/slo":
            answer = RedirectResponse(f"{{config.idp.slo_response_url}}?SAMLResponse={{deflated(BOMB)}}", 302)
        elif scope["type"] == "http" and MODE == "logout-bomb" and path == "/logout":
            answer = RedirectResponse(f"{{config.idp.slo_url}}?SAMLRequest={{deflated(BOMB)}}", 302)
        elif scope["type"] == "http" and MODE == "slo-garbage" and path == "/saml/slo":
            answer = HTMLResponse("<html><body>Something went wrong</body></html>", 500)
        else:
            await inner(scope, receive, send)
            return
        await answer(scope, receive, send)

    return app


sample.create_app = create_app
sys.exit(sample.main(sys.argv[2:]))
'''


def app_target(tmp_path: Path, mode: str) -> Path:
    script = tmp_path / "broken_sp.py"
    script.write_text(APP_WRAPPER.format(root=str(ROOT), bomb=billion_laughs()), "utf-8")
    users = [{"username": "alice", "password_env": "LOGOUT_MOCK_ALICE_PASSWORD"},
             {"username": "bob", "password_env": "LOGOUT_MOCK_BOB_PASSWORD"}]
    data = {
        "name": f"sample SP, {mode}",
        "roles": ["saml-sp"],
        "mock_idp": {"faults": [], "saml_key": str(KEYS / "mock-idp.key"), "saml_cert": str(KEYS / "mock-idp.crt")},
        "saml": {
            "idp": {"users": users, "login": {"forms": [{"name": "login", "fields": ["username", "password"],
                                                          "fill": {"username": "{username}", "password": "{password}"}}]}},
            "app": {
                "metadata_url": "/saml/metadata", "login_url": "/login", "logout_url": "/logout",
                "protected_url": "/protected", "alive": {"status": 200, "contains": "Signed in as"},
                "launch": {"command": ["{python}", str(script), mode], "ready": "sample-saml-sp listening on ",
                           "cwd": str(ROOT), "timeout": 20,
                           "env": {"SAMPLE_SAML_SP_PORT": "0", "SAMPLE_SAML_SP_IDP_METADATA_URL": "{idp_metadata_url}"}},
            },
        },
        "harness": {"callback_base": CALLBACK_BASE},
        "timeouts": {"connect": 1, "read": 2},
    }
    target = tmp_path / "target.yaml"
    target.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    return target


def run_app(tmp_path: Path, mode: str, keyword: str) -> tuple[int, str, Path]:
    report = tmp_path / "report"
    with Timed() as timed:
        proc = run_suite(report, "--target", app_target(tmp_path, mode), "--profile", "saml-slo-sp", "-k", keyword,
                         env=clean_env())
    text = output(proc)
    assert_clean(text)
    assert timed.seconds < APP_RUN_BOUND_S, f"took {timed.seconds:.1f} s:\n{text}"
    return proc.returncode, text, report


def test_app_metadata_that_is_html_stops_the_run(tmp_path: Path) -> None:
    # the harness reads it to register the app at the bundled mock, before any scenario runs
    code, text, _ = run_app(tmp_path, "metadata-html", "idp-initiated-logout and redirect")
    assert code == EXIT_USAGE, text
    assert any("/saml/metadata (text/html) cannot be used" in line and "malformed XML" in line
               for line in text.splitlines()), text


def test_app_metadata_that_is_html_breaks_the_scenario(tmp_path: Path, serve: Serve,
                                                       fake_idp: Callable[..., Idp]) -> None:
    """An app the harness does not launch (its IdP the fake one): read when the first scenario needs it."""
    idp = fake_idp()
    portal = serve(lambda url: Starlette(routes=[Route("/{path:path}", lambda request: HTMLResponse(
        "<!doctype html><html><body><h1>Welcome to our portal</h1></body></html>"))]))
    data = yaml.safe_load(idp.target.read_text("utf-8"))
    data["roles"] = ["saml-sp"]
    data["saml"]["app"] = {"metadata_url": f"{portal}/saml/metadata", "login_url": f"{portal}/login",
                           "protected_url": f"{portal}/protected"}
    idp.target.write_text(yaml.safe_dump(data), "utf-8")
    report = tmp_path / "report"
    proc = run_suite(report, "--target", idp.target, "--profile", "saml-slo-sp", "-k",
                     "idp-initiated-logout and redirect", env=clean_env())
    text = output(proc)
    assert_clean(text)
    assert_one_broken(proc.returncode, text, load_summary(report), "/saml/metadata (text/html) cannot be used")


@pytest.mark.parametrize(("mode", "keyword", "phrase"), [
    ("slo-bomb", "idp-initiated-logout and redirect", "DTDs are refused"),
    ("slo-garbage", "idp-initiated-logout and redirect", "HTTP 500"),
    ("logout-bomb", "sp-initiated-logout", "DTDs are refused"),
], ids=["logout-response-bomb", "logout-response-error-page", "logout-request-bomb"])
def test_app_sends_broken_logout_messages(tmp_path: Path, mode: str, keyword: str, phrase: str) -> None:
    code, text, report = run_app(tmp_path, mode, keyword)
    scenario = assert_one_broken(code, text, load_summary(report), phrase)
    assert any("Logout" in m for m in scenario["messages"]), scenario["messages"]
