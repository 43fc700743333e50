"""A stand-in SAML IdP for the sample SP's tests: keys, metadata, signed logins and logout messages.

Redirect signatures are made and checked with `cryptography`, not with the python3-saml code the
app uses, so that the two sides do not share a mistake; XML signatures come from python3-saml.
"""

import base64
import datetime
import re
import secrets
import time
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlsplit
from xml.sax.saxutils import escape, quoteattr

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from lxml import etree  # type: ignore[import-untyped]
from onelogin.saml2.utils import OneLogin_Saml2_Utils  # type: ignore[import-untyped]

ENTITY_ID = "http://idp.test/saml/metadata"
SSO_URL = "http://idp.test/saml/sso"
SLO_URL = "http://idp.test/saml/slo"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
NS = {"samlp": SAMLP, "saml": SAML, "md": "urn:oasis:names:tc:SAML:2.0:metadata"}
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
REQUESTER = "urn:oasis:names:tc:SAML:2.0:status:Requester"
REQUEST_DENIED = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"
HASHES = {RSA_SHA256: hashes.SHA256(), RSA_SHA1: hashes.SHA1()}


@dataclass(frozen=True)
class KeyPair:
    key: rsa.RSAPrivateKey
    key_pem: str
    cert_pem: str


def make_key_pair(name: str) -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return KeyPair(key, key_pem.decode(), cert.public_bytes(serialization.Encoding.PEM).decode())


def metadata(cert_pem: str) -> str:
    body = "".join(cert_pem.strip().splitlines()[1:-1])
    redirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
    return f"""<md:EntityDescriptor xmlns:md="{NS["md"]}" entityID="{ENTITY_ID}">
  <md:IDPSSODescriptor protocolSupportEnumeration="{SAMLP}" WantAuthnRequestsSigned="true">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
      <ds:X509Data><ds:X509Certificate>{body}</ds:X509Certificate></ds:X509Data>
    </ds:KeyInfo></md:KeyDescriptor>
    <md:SingleLogoutService Binding="{redirect}" Location="{SLO_URL}"/>
    <md:SingleSignOnService Binding="{redirect}" Location="{SSO_URL}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"""


def saml_time(offset: float = 0) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset))


def new_id() -> str:
    return f"_{secrets.token_hex(16)}"


@dataclass(frozen=True)
class User:
    """A NameID as the IdP writes it in assertions and LogoutRequests."""

    value: str
    format: str | None = PERSISTENT
    sp_name_qualifier: str | None = None

    def xml(self) -> str:
        attributes = "".join(
            f" {name}={quoteattr(value)}"
            for name, value in (
                ("Format", self.format),
                ("SPNameQualifier", self.sp_name_qualifier),
            )
            if value is not None
        )
        return f"<saml:NameID{attributes}>{escape(self.value)}</saml:NameID>"


def deflate(xml: str) -> str:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return base64.b64encode(compressor.compress(xml.encode()) + compressor.flush()).decode()


def inflate(value: str) -> bytes:
    return zlib.decompress(base64.b64decode(value), -zlib.MAX_WBITS)


@dataclass(frozen=True)
class Redirected:
    """A SAML message the app sent the browser to the IdP with, read back."""

    endpoint: str
    parameters: dict[str, str]
    root: Any  # lxml element
    signature_valid: bool | None  # None: not signed

    def attribute(self, xpath: str) -> str | None:
        found = self.root.xpath(xpath, namespaces=NS)
        return str(found[0]) if found else None


def read_redirect(location: str, signer_cert_pem: str) -> Redirected:
    """Decode an HTTP-Redirect message and check its signature with the sender's certificate."""
    parts = urlsplit(location)
    raw = {
        name: value for name, _, value in (part.partition("=") for part in parts.query.split("&"))
    }
    parameters = dict(parse_qsl(parts.query, keep_blank_values=True))
    name = "SAMLRequest" if "SAMLRequest" in parameters else "SAMLResponse"
    valid = None
    if "Signature" in parameters:
        signed = "&".join(f"{n}={raw[n]}" for n in (name, "RelayState", "SigAlg") if n in raw)
        cert = x509.load_pem_x509_certificate(signer_cert_pem.encode())
        public_key = cert.public_key()
        assert isinstance(public_key, rsa.RSAPublicKey)
        try:
            public_key.verify(
                base64.b64decode(parameters["Signature"]),
                signed.encode(),
                padding.PKCS1v15(),
                HASHES[parameters["SigAlg"]],
            )
            valid = True
        except InvalidSignature:
            valid = False
    root = etree.fromstring(inflate(parameters[name]), etree.XMLParser(resolve_entities=False))
    endpoint = f"{parts.scheme}://{parts.netloc}{parts.path}"
    return Redirected(endpoint, parameters, root, valid)


@dataclass
class IdpDouble:
    keys: KeyPair
    stranger: KeyPair  # a key the SP does not trust

    def login_response(
        self, sp_base: str, request_id: str, user: User, session_index: str, issued: float = 0
    ) -> str:
        """A SAML Response (base64, for HTTP-POST) with an assertion signed by the IdP."""
        acs = f"{sp_base}/saml/acs"
        assertion = f"""<saml:Assertion xmlns:saml="{SAML}" ID="{new_id()}" Version="2.0"
    IssueInstant="{saml_time(issued)}">
  <saml:Issuer>{ENTITY_ID}</saml:Issuer>
  <saml:Subject>{user.xml()}
    <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
      <saml:SubjectConfirmationData NotOnOrAfter="{saml_time(300)}" Recipient="{acs}"
          InResponseTo="{request_id}"/>
    </saml:SubjectConfirmation>
  </saml:Subject>
  <saml:Conditions NotBefore="{saml_time(-60)}" NotOnOrAfter="{saml_time(300)}">
    <saml:AudienceRestriction><saml:Audience>{sp_base}/saml/metadata</saml:Audience>
    </saml:AudienceRestriction>
  </saml:Conditions>
  <saml:AuthnStatement AuthnInstant="{saml_time(issued)}" SessionIndex={quoteattr(session_index)}>
    <saml:AuthnContext><saml:AuthnContextClassRef
      >urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef>
    </saml:AuthnContext>
  </saml:AuthnStatement>
</saml:Assertion>"""
        signed = OneLogin_Saml2_Utils.add_sign(
            assertion, self.keys.key_pem, self.keys.cert_pem, sign_algorithm=RSA_SHA256
        )
        response = f"""<samlp:Response xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{new_id()}"
    Version="2.0" IssueInstant="{saml_time()}" Destination="{acs}" InResponseTo="{request_id}">
  <saml:Issuer>{ENTITY_ID}</saml:Issuer>
  <samlp:Status><samlp:StatusCode Value="{SUCCESS}"/></samlp:Status>
  {signed.decode()}
</samlp:Response>"""
        return base64.b64encode(response.encode()).decode()

    def logout_request(
        self,
        destination: str | None,
        user: User,
        session_indexes: tuple[str, ...] = (),
        *,
        issuer: str = ENTITY_ID,
        issued: float = 0,
        not_on_or_after: float | None = 120,
        request_id: str | None = None,
    ) -> tuple[str, str]:
        """(ID, XML) of a LogoutRequest; times are seconds from now."""
        request_id = request_id or new_id()
        attributes = f' Destination="{destination}"' if destination else ""
        if not_on_or_after is not None:
            attributes += f' NotOnOrAfter="{saml_time(not_on_or_after)}"'
        indexes = "".join(
            f"<samlp:SessionIndex>{escape(index)}</samlp:SessionIndex>" for index in session_indexes
        )
        xml = f"""<samlp:LogoutRequest xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{request_id}"
    Version="2.0" IssueInstant="{saml_time(issued)}"{attributes}>
  <saml:Issuer>{escape(issuer)}</saml:Issuer>{user.xml()}{indexes}
</samlp:LogoutRequest>"""
        return request_id, xml

    def logout_response(self, destination: str | None, in_response_to: str | None) -> str:
        attributes = f' Destination="{destination}"' if destination else ""
        if in_response_to:
            attributes += f' InResponseTo="{in_response_to}"'
        return f"""<samlp:LogoutResponse xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{new_id()}"
    Version="2.0" IssueInstant="{saml_time()}"{attributes}>
  <saml:Issuer>{ENTITY_ID}</saml:Issuer>
  <samlp:Status><samlp:StatusCode Value="{SUCCESS}"/></samlp:Status>
</samlp:LogoutResponse>"""

    def redirect_query(
        self,
        parameter: str,
        xml: str,
        relay_state: str | None = None,
        *,
        signer: str = "idp",
        algorithm: str = RSA_SHA256,
        lowercase_escapes: bool = False,
    ) -> str:
        """An HTTP-Redirect query; signer is "idp", "stranger" or "none"."""

        def encode(value: str) -> str:
            quoted = quote_plus(value)
            # Percent-encoding is not canonical: the receiver must verify over what it received.
            if lowercase_escapes:
                return re.sub("%[0-9A-F]{2}", lambda match: match.group(0).lower(), quoted)
            return quoted

        query = f"{parameter}={quote_plus(deflate(xml))}"
        if relay_state is not None:
            query += f"&RelayState={encode(relay_state)}"
        if signer == "none":
            return query
        query += f"&SigAlg={quote_plus(algorithm)}"
        key = self.keys.key if signer == "idp" else self.stranger.key
        signature = key.sign(query.encode(), padding.PKCS1v15(), HASHES[algorithm])
        return f"{query}&Signature={quote_plus(base64.b64encode(signature).decode())}"

    def post_form(
        self, parameter: str, xml: str, relay_state: str | None = None, *, signer: str = "idp"
    ) -> dict[str, str]:
        """An HTTP-POST form with an enveloped signature; signer is "idp", "stranger" or "none"."""
        if signer != "none":
            keys = self.keys if signer == "idp" else self.stranger
            xml = OneLogin_Saml2_Utils.add_sign(
                xml, keys.key_pem, keys.cert_pem, sign_algorithm=RSA_SHA256
            ).decode()
        form = {parameter: base64.b64encode(xml.encode()).decode()}
        if relay_state is not None:
            form["RelayState"] = relay_state
        return form
