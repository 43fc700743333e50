"""The SAML bindings the IdP speaks: HTTP-Redirect, HTTP-POST and SOAP (SAML 2.0 Bindings §3.4, §3.5, §3.2, https://docs.oasis-open.org/security/saml/v2.0/saml-bindings-2.0-os.pdf)."""

import base64
import binascii
import zlib
from dataclasses import dataclass
from urllib.parse import quote_plus, unquote_plus, urlsplit
from xml.sax.saxutils import escape

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from mock_idp import pages
from mock_idp.saml import xmlsig

REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
SOAP = "urn:oasis:names:tc:SAML:2.0:bindings:SOAP"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
DEFLATE = "urn:oasis:names:tc:SAML:2.0:bindings:URL-Encoding:DEFLATE"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
# §3.4.4.1: SigAlg names the algorithm; SHA-1 is refused like in XML signatures.
SIG_ALGS: dict[str, hashes.HashAlgorithm] = {
    RSA_SHA256: hashes.SHA256(),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": hashes.SHA384(),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": hashes.SHA512(),
}
MESSAGE_PARAMS = ("SAMLRequest", "SAMLResponse")
REDIRECT_PARAMS = (*MESSAGE_PARAMS, "RelayState", "SigAlg", "Signature", "SAMLEncoding")


class BindingError(ValueError):
    """A message the binding cannot carry: missing, repeated, badly encoded or too large."""


@dataclass(frozen=True)
class Received:
    """A SAML message as it arrived, with what its binding says about it."""

    # SAMLRequest or SAMLResponse
    kind: str
    xml: bytes
    relay_state: str | None
    # redirect, post or soap
    binding: str
    # HTTP-Redirect only (§3.4.4.1): the signature and the exact octets it signs.
    sig_alg: str | None = None
    signature: bytes | None = None
    signed_octets: bytes | None = None


def read_redirect(raw_query: bytes) -> Received:
    """A message from a query string, keeping the URL-encoded values exactly as received."""
    raw: dict[str, str] = {}
    for part in raw_query.decode("ascii", "replace").split("&"):
        name, _, value = part.partition("=")
        name = unquote_plus(name)
        if name not in REDIRECT_PARAMS:
            continue
        if name in raw:
            raise BindingError(f"parameter {name} is sent more than once")
        raw[name] = value
    kinds = [kind for kind in MESSAGE_PARAMS if kind in raw]
    if len(kinds) != 1:
        raise BindingError("expected exactly one of SAMLRequest and SAMLResponse")
    kind = kinds[0]
    if "SAMLEncoding" in raw and unquote_plus(raw["SAMLEncoding"]) != DEFLATE:
        raise BindingError("only the DEFLATE encoding is supported")
    xml = _inflate(_b64decode(unquote_plus(raw[kind])))
    relay_state = unquote_plus(raw["RelayState"]) if "RelayState" in raw else None
    if "SigAlg" not in raw or "Signature" not in raw:
        return Received(kind, xml, relay_state, "redirect")
    # §3.4.4.1: the signature covers the parameters in this order, as they were URL-encoded.
    octets = "&".join(
        f"{name}={raw[name]}" for name in (kind, "RelayState", "SigAlg") if name in raw
    )
    return Received(
        kind,
        xml,
        relay_state,
        "redirect",
        unquote_plus(raw["SigAlg"]),
        _b64decode(unquote_plus(raw["Signature"])),
        octets.encode("ascii"),
    )


def read_post(form: FormData) -> Received:
    """A message from an HTML form post (§3.5.4): base64, no compression."""
    fields: dict[str, str] = {}
    for name in (*MESSAGE_PARAMS, "RelayState"):
        values = form.getlist(name)
        if len(values) > 1:
            raise BindingError(f"parameter {name} is sent more than once")
        if values:
            if not isinstance(values[0], str):
                raise BindingError(f"parameter {name} is not text")
            fields[name] = values[0]
    kinds = [kind for kind in MESSAGE_PARAMS if kind in fields]
    if len(kinds) != 1:
        raise BindingError("expected exactly one of SAMLRequest and SAMLResponse")
    return Received(kinds[0], _b64decode(fields[kinds[0]]), fields.get("RelayState"), "post")


async def read_request(request: Request) -> Received:
    """The SAML message of a request: HTTP-Redirect on GET, HTTP-POST on POST (a BindingError if none)."""
    if request.method == "GET":
        return read_redirect(request.scope["query_string"])
    return read_post(await request.form())


def read_soap(body: bytes) -> xmlsig.Element:
    """The SAML element in the Body of a SOAP 1.1 envelope (§3.2.3)."""
    envelope = xmlsig.parse(body)
    if envelope.tag != f"{{{SOAP_ENV}}}Envelope":
        raise BindingError("the body is not a SOAP 1.1 envelope")
    bodies = envelope.findall(f"{{{SOAP_ENV}}}Body")
    if len(bodies) != 1 or len(bodies[0]) != 1:
        raise BindingError("the SOAP Body must hold exactly one SAML message")
    return bodies[0][0]


def verify_redirect(received: Received, cert_pem: str) -> None:
    """Raise xmlsig.SignatureError unless the query signature is the SP's (§3.4.4.1)."""
    algorithm = SIG_ALGS.get(received.sig_alg or "")
    if algorithm is None:
        raise xmlsig.SignatureError("SigAlg is not RSA with SHA-2")
    public_key = x509.load_pem_x509_certificate(cert_pem.encode()).public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise xmlsig.SignatureError("the SP's certificate has no RSA key")
    assert received.signature is not None and received.signed_octets is not None
    try:
        public_key.verify(received.signature, received.signed_octets, padding.PKCS1v15(), algorithm)
    except InvalidSignature as error:
        raise xmlsig.SignatureError("the query signature is not the SP's") from error


def redirect_url(
    endpoint: str,
    kind: str,
    xml: bytes,
    relay_state: str | None,
    key: rsa.RSAPrivateKey | None,
) -> str:
    """The endpoint with the message in its query, signed with RSA-SHA256 when a key is given."""
    compressor = zlib.compressobj(wbits=-15)
    deflated = compressor.compress(xml) + compressor.flush()
    params = [(kind, base64.b64encode(deflated).decode())]
    if relay_state is not None:
        params.append(("RelayState", relay_state))
    if key is not None:
        params.append(("SigAlg", RSA_SHA256))
    # application/x-www-form-urlencoded like PHP's and Python's urlencode: SPs that re-encode
    # the values to check the signature, rather than keep the query as received, still agree.
    query = "&".join(f"{name}={quote_plus(value, safe='')}" for name, value in params)
    if key is not None:
        signature = key.sign(query.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        query += "&Signature=" + quote_plus(base64.b64encode(signature).decode(), safe="")
    glue = "&" if urlsplit(endpoint).query else "?"
    return endpoint + glue + query


def post_form(endpoint: str, kind: str, xml: bytes, relay_state: str | None) -> HTMLResponse:
    """The auto-submitting form that carries the message to the endpoint (§3.5.4)."""
    fields = {kind: base64.b64encode(xml).decode()}
    if relay_state is not None:
        fields["RelayState"] = relay_state
    return pages.auto_post(endpoint, fields)


def soap_envelope(xml: bytes) -> bytes:
    return (
        f'<soap-env:Envelope xmlns:soap-env="{SOAP_ENV}"><soap-env:Body>'.encode()
        + xml
        + b"</soap-env:Body></soap-env:Envelope>"
    )


def soap_response(xml: bytes) -> Response:
    return Response(soap_envelope(xml), media_type="text/xml", headers=pages.NO_STORE)


def soap_fault(message: str) -> Response:
    """SOAP 1.1 §6.2: a request the responder cannot process as SAML gets a Fault with HTTP 500."""
    fault = (
        "<soap-env:Fault><faultcode>soap-env:Client</faultcode>"
        f"<faultstring>{escape(message)}</faultstring></soap-env:Fault>"
    )
    body = soap_envelope(fault.encode())
    return Response(body, 500, media_type="text/xml", headers=pages.NO_STORE)


def _b64decode(value: str) -> bytes:
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError) as error:
        raise BindingError("the message is not valid base64") from error


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj(wbits=-15)
    try:
        xml = inflater.decompress(data, xmlsig.MAX_XML + 1)
    except zlib.error as error:
        raise BindingError("the message is not DEFLATE-compressed") from error
    if len(xml) > xmlsig.MAX_XML:
        raise BindingError(f"the message is larger than {xmlsig.MAX_XML} bytes")
    return xml
