"""The SAML SPs of the mock's tests: python3-saml (onelogin.saml2) for SSO, hand-made logout messages.

Logout messages are written by hand so that tests can break them one rule at a time; what the IdP
sends is checked with python3-saml's signature functions, never with the mock's own code.
"""

import base64
import re
import secrets
import time
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote_plus, urlsplit

import httpx
import xmlsec
from idp_client import ALICE, BACK_CHANNEL, KEYS, Browser, User, hidden_fields
from lxml import etree
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.authn_request import OneLogin_Saml2_Authn_Request
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils

from mock_idp.config import SamlSp

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"samlp": SAMLP, "saml": SAML, "ds": DS}
STATUS = "urn:oasis:names:tc:SAML:2.0:status:"
SUCCESS = STATUS + "Success"
REQUESTER = STATUS + "Requester"
RESPONDER = STATUS + "Responder"
PARTIAL_LOGOUT = STATUS + "PartialLogout"
REQUEST_DENIED = STATUS + "RequestDenied"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
POST_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
REDIRECT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
_FORM = re.compile(r'<form method="post" action="([^"]*)">')
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def key_of(sp: SamlSp) -> str:
    """The private key of an SP at http://{name}.test: fixtures/keys/harness-{name}.key."""
    name = urlsplit(sp.entity_id).netloc.split(".")[0]
    return (KEYS / f"harness-{name}.key").read_text()


@dataclass(frozen=True)
class Idp:
    url: str
    entity_id: str
    cert: str

    @property
    def slo(self) -> str:
        return self.url + "/saml/slo"


def idp_at(url: str) -> Idp:
    """The IdP as its metadata describes it (read with python3-saml's metadata parser)."""
    answer = BACK_CHANNEL.get(url + "/saml/metadata")
    assert answer.status_code == 200, answer.text
    idp = OneLogin_Saml2_IdPMetadataParser.parse(answer.text)["idp"]
    cert = OneLogin_Saml2_Utils.format_cert(idp["x509cert"])
    return Idp(url, idp["entityId"], cert)


def settings(sp: SamlSp, idp: Idp) -> OneLogin_Saml2_Settings:
    data = {
        "strict": True,
        "sp": {
            "entityId": sp.entity_id,
            "assertionConsumerService": {"url": sp.acs_url, "binding": POST_BINDING},
            "singleLogoutService": {"url": sp.slo_url, "binding": REDIRECT_BINDING},
            "NameIDFormat": PERSISTENT,
            "x509cert": sp.cert_pem,
            "privateKey": key_of(sp),
        },
        "idp": {
            "entityId": idp.entity_id,
            "singleSignOnService": {"url": idp.url + "/saml/sso", "binding": REDIRECT_BINDING},
            "singleLogoutService": {"url": idp.slo, "binding": REDIRECT_BINDING},
            "x509cert": idp.cert,
        },
        "security": {
            "wantAssertionsSigned": True,
            "logoutRequestSigned": True,
            "logoutResponseSigned": True,
            "wantMessagesSigned": False,
            "signatureAlgorithm": RSA_SHA256,
            "digestAlgorithm": "http://www.w3.org/2001/04/xmlenc#sha256",
        },
    }
    return OneLogin_Saml2_Settings(data)


def request_data(url: str, get: dict[str, str] | None = None, post: Any = None) -> dict[str, Any]:
    parts = urlsplit(url)
    return {
        "https": "off",
        "http_host": parts.netloc,
        "script_name": parts.path,
        "get_data": get or {},
        "post_data": post or {},
    }


@dataclass(frozen=True)
class Login:
    name_id: str
    name_id_format: str
    session_index: str | None
    attributes: dict[str, list[str]]
    relay_state: str | None


@dataclass(frozen=True)
class Delivered:
    """A SAML message that the IdP asked the browser to carry to an SP."""

    endpoint: str
    kind: str
    xml: bytes
    relay_state: str | None
    binding: str
    # signed: a signature is there and python3-saml finds it valid for the IdP's certificate.
    has_signature: bool
    signed: bool
    # HTTP-Redirect: the URL the browser was sent to.
    url: str | None = None

    def request_data(self) -> dict[str, Any]:
        """python3-saml's view of the request that carried the message to the SP."""
        if self.url is None:
            return request_data(self.endpoint, post=self.fields())
        query = urlsplit(self.url).query
        data = request_data(self.endpoint, get=dict(parse_qsl(query)))
        data["query_string"] = query  # check the signature over the query as received
        return data

    def fields(self) -> dict[str, str]:
        fields = {self.kind: base64.b64encode(self.xml).decode()}
        if self.relay_state is not None:
            fields["RelayState"] = self.relay_state
        return fields

    @property
    def root(self) -> Any:
        return etree.fromstring(self.xml, _PARSER)

    def find(self, path: str) -> Any:
        return self.root.find(path, NS)

    def status(self) -> tuple[str, str | None]:
        top = self.find("samlp:Status/samlp:StatusCode")
        second = top.find("samlp:StatusCode", NS)
        return top.get("Value"), second.get("Value") if second is not None else None

    def session_indexes(self) -> list[str]:
        return [e.text for e in self.root.findall("samlp:SessionIndex", NS)]


def delivered(answer: httpx.Response, idp: Idp) -> Delivered:
    """Read the redirect or auto-submitting form the IdP answered with."""
    if answer.status_code in (302, 303):
        location = answer.headers["location"]
        endpoint, _, raw_query = location.partition("?")
        raw = dict(part.split("=", 1) for part in raw_query.split("&"))
        kind = "SAMLRequest" if "SAMLRequest" in raw else "SAMLResponse"
        xml = OneLogin_Saml2_Utils.decode_base64_and_inflate(unquote_plus(raw[kind]))
        relay = unquote_plus(raw["RelayState"]) if "RelayState" in raw else None
        has_signature = "Signature" in raw
        signed = False
        if has_signature:
            octets = "&".join(f"{n}={raw[n]}" for n in (kind, "RelayState", "SigAlg") if n in raw)
            signed = OneLogin_Saml2_Utils.validate_binary_sign(
                octets,
                base64.b64decode(unquote_plus(raw["Signature"])),
                idp.cert,
                unquote_plus(raw["SigAlg"]),
            )
        return Delivered(endpoint, kind, xml, relay, "redirect", has_signature, signed, location)
    assert answer.status_code == 200, (answer.status_code, answer.text)
    assert "<script>document.forms[0].submit()</script>" in answer.text
    action = _FORM.findall(answer.text)
    assert len(action) == 1, answer.text
    fields = hidden_fields(answer.text)
    kind = "SAMLRequest" if "SAMLRequest" in fields else "SAMLResponse"
    xml = base64.b64decode(fields[kind])
    root = etree.fromstring(xml, _PARSER)
    has_signature = root.find("ds:Signature", NS) is not None
    # python3-saml looks for a Response's or an Assertion's signature unless given the path.
    path = f"/samlp:{etree.QName(root).localname}/ds:Signature"
    signed = has_signature and bool(OneLogin_Saml2_Utils.validate_sign(xml, idp.cert, xpath=path))
    return Delivered(action[0], kind, xml, fields.get("RelayState"), "post", has_signature, signed)


def instant(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def logout_request(
    sp: SamlSp,
    idp: Idp,
    login: Login | None = None,
    *,
    name_id: str | None = None,
    name_id_format: str | None = None,
    session_indexes: list[str] | None = None,
    destination: str | None = "",
    not_on_or_after: float | None = None,
    issuer: str | None = None,
    request_id: str | None = None,
) -> tuple[str, str]:
    """A LogoutRequest for this login by default; each keyword overrides one part of it."""
    request_id = request_id or "_" + secrets.token_hex(16)
    if login is not None:
        name_id = name_id or login.name_id
        name_id_format = name_id_format or login.name_id_format
        if session_indexes is None and login.session_index is not None:
            session_indexes = [login.session_index]
    destination = idp.slo if destination == "" else destination
    attributes = f'ID="{request_id}" Version="2.0" IssueInstant="{instant(time.time())}"'
    if destination is not None:
        attributes += f' Destination="{destination}"'
    if not_on_or_after is not None:
        attributes += f' NotOnOrAfter="{instant(not_on_or_after)}"'
    name_format = f' Format="{name_id_format}"' if name_id_format else ""
    indexes = "".join(
        f"<samlp:SessionIndex>{index}</samlp:SessionIndex>" for index in session_indexes or []
    )
    xml = (
        f'<samlp:LogoutRequest xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" {attributes}>'
        f"<saml:Issuer>{issuer or sp.entity_id}</saml:Issuer>"
        f"<saml:NameID{name_format}>{name_id}</saml:NameID>{indexes}"
        "</samlp:LogoutRequest>"
    )
    return request_id, xml


def logout_response(sp: SamlSp, idp: Idp, in_response_to: str, status: str = SUCCESS) -> str:
    return (
        f'<samlp:LogoutResponse xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" '
        f'ID="_{secrets.token_hex(16)}" Version="2.0" IssueInstant="{instant(time.time())}" '
        f'Destination="{idp.slo}" InResponseTo="{in_response_to}">'
        f"<saml:Issuer>{sp.entity_id}</saml:Issuer>"
        f'<samlp:Status><samlp:StatusCode Value="{status}"/></samlp:Status>'
        "</samlp:LogoutResponse>"
    )


def redirect_query(
    kind: str,
    xml: str,
    relay_state: str | None = None,
    signer: SamlSp | None = None,
    sig_alg: str = RSA_SHA256,
) -> str:
    """The HTTP-Redirect query of an SP's message, signed with signer's key if given."""
    compressor = zlib.compressobj(wbits=-15)
    deflated = compressor.compress(xml.encode()) + compressor.flush()
    query = f"{kind}={quote(base64.b64encode(deflated).decode(), safe='')}"
    if relay_state is not None:
        query += f"&RelayState={quote(relay_state, safe='')}"
    if signer is not None:
        query += f"&SigAlg={quote(sig_alg, safe='')}"
        transform = (
            xmlsec.constants.TransformRsaSha1
            if sig_alg == RSA_SHA1
            else xmlsec.constants.TransformRsaSha256
        )
        signature = OneLogin_Saml2_Utils.sign_binary(query, key_of(signer), transform)
        query += f"&Signature={quote(base64.b64encode(signature).decode(), safe='')}"
    return query


def send(
    browser: Browser,
    kind: str,
    xml: str,
    *,
    binding: str = "redirect",
    relay_state: str | None = None,
    signer: SamlSp | None = None,
    sig_alg: str = RSA_SHA256,
    path: str = "/saml/slo",
) -> httpx.Response:
    """The browser carries an SP's message to the IdP, signed with signer's key if given."""
    if binding == "redirect":
        return browser.http.get(f"{path}?{redirect_query(kind, xml, relay_state, signer, sig_alg)}")
    if signer is not None:
        xml = OneLogin_Saml2_Utils.add_sign(xml, key_of(signer), signer.cert_pem).decode()
    form = {kind: base64.b64encode(xml.encode()).decode()}
    if relay_state is not None:
        form["RelayState"] = relay_state
    return browser.http.post(path, data=form)


def send_as(browser: Browser, sp: SamlSp, kind: str, xml: str, **options: Any) -> httpx.Response:
    """As send, signed with the SP's own key and over its logout binding unless told otherwise."""
    options.setdefault("binding", sp.slo_binding)
    options.setdefault("signer", sp)
    return send(browser, kind, xml, **options)


def answer(
    browser: Browser, sp: SamlSp, idp: Idp, request: Delivered, status: str = SUCCESS
) -> httpx.Response:
    """The SP answers the IdP's LogoutRequest over its binding."""
    assert request.kind == "SAMLRequest" and request.endpoint == sp.slo_url
    xml = logout_response(sp, idp, request.root.get("ID"), status)
    return send_as(browser, sp, "SAMLResponse", xml)


def login(
    browser: Browser,
    sp: SamlSp,
    idp: Idp,
    user: User = ALICE,
    *,
    binding: str = "redirect",
    relay_state: str = "rs-login",
    name_id_format: str | None = None,
    login_form: bool | None = None,
) -> Login:
    """SSO: python3-saml's AuthnRequest, the login form when asked, the Response checked by python3-saml.

    login_form: True or False to assert that the IdP did or did not show its login form.
    """
    sp_settings = settings(sp, idp)
    if name_id_format is not None:
        sp_settings.get_sp_data()["NameIDFormat"] = name_id_format
    if binding == "redirect":
        auth = OneLogin_Saml2_Auth(request_data(sp.acs_url), sp_settings)
        url = auth.login(return_to=relay_state)
        request_id = auth.get_last_request_id()
        page = browser.http.get(url)
    else:
        authn = OneLogin_Saml2_Authn_Request(sp_settings)
        request_id = authn.get_id()
        form = {"SAMLRequest": authn.get_request(deflate=False), "RelayState": relay_state}
        page = browser.http.post("/saml/sso", data=form)
    asked = 'action="/login"' in page.text
    assert login_form is None or asked == login_form, page.text
    if asked:
        page = browser.submit_login(page, user)
    message = delivered(page, idp)
    assert message.endpoint == sp.acs_url and message.kind == "SAMLResponse"
    auth = OneLogin_Saml2_Auth(message.request_data(), sp_settings)
    auth.process_response(request_id=request_id)
    assert not auth.get_errors(), auth.get_last_error_reason()
    return Login(
        auth.get_nameid(),
        auth.get_nameid_format(),
        auth.get_session_index(),
        auth.get_attributes(),
        message.relay_state,
    )


def soap_call(idp: Idp, xml: str, signer: SamlSp | None) -> httpx.Response:
    """A LogoutRequest over the SOAP binding, enveloped-signed by signer when given."""
    if signer is not None:
        xml = OneLogin_Saml2_Utils.add_sign(xml, key_of(signer), signer.cert_pem).decode()
    envelope = (
        '<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">'
        f"<soap-env:Body>{xml}</soap-env:Body></soap-env:Envelope>"
    )
    return BACK_CHANNEL.post(
        idp.url + "/saml/slo/soap", content=envelope, headers={"Content-Type": "text/xml"}
    )


def soap_answer(answer: httpx.Response, idp: Idp) -> Delivered:
    """The LogoutResponse in a SOAP answer."""
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/xml")
    envelope = etree.fromstring(answer.content, _PARSER)
    body = envelope.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
    xml = etree.tostring(body[0])
    has_signature = body[0].find("ds:Signature", NS) is not None
    path = "/samlp:LogoutResponse/ds:Signature"
    signed = has_signature and bool(OneLogin_Saml2_Utils.validate_sign(xml, idp.cert, xpath=path))
    return Delivered(
        idp.url + "/saml/slo/soap", "SAMLResponse", xml, None, "soap", has_signature, signed
    )
