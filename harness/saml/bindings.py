"""SAML 2.0 Bindings: https://docs.oasis-open.org/security/saml/v2.0/saml-bindings-2.0-os.pdf

HTTP-Redirect (3.4): raw DEFLATE, base64, URL-encoding, and the signature over
``SAMLRequest=..&RelayState=..&SigAlg=..`` computed and checked over the query exactly as it went
over the wire (URL encoding is not canonical). HTTP-POST (3.5): base64 in an auto-submitting form,
enveloped signature. SOAP (3.2): the message in a SOAP 1.1 envelope.

Every decoded message keeps its raw parts for the report. Every decoding step is bounded: a broken
base64 or DEFLATE stream, a DEFLATE bomb or an oversized form is a ``MalformedMessage`` with a reason.
"""

from __future__ import annotations

import base64
import binascii
import functools
import html
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Literal
from urllib.parse import parse_qsl, quote_plus, unquote_plus, urljoin, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree  # type: ignore[import-untyped]

from harness.saml.messages import ABSENT, RSA_SHA1, RSA_SHA256, SignatureStatus, verify_enveloped
from harness.saml.xml import DS, MAX_MESSAGE_BYTES, SAMLP, SOAP, MalformedMessage, parse, qname

__all__ = [
    "BINDING_URIS",
    "MAX_FORM_BYTES",
    "MAX_INFLATED_BYTES",
    "SIG_ALGS",
    "Binding",
    "Decoded",
    "Kind",
    "PostForm",
    "decode_post",
    "decode_post_page",
    "decode_redirect",
    "decode_soap",
    "encode_post",
    "encode_redirect",
    "find_post_form",
    "soap_unwrap",
    "soap_wrap",
    "verify_redirect",
]

Binding = Literal["redirect", "post", "soap"]
Kind = Literal["SAMLRequest", "SAMLResponse"]

BINDING_URIS: dict[Binding, str] = {
    "redirect": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
    "post": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
    "soap": "urn:oasis:names:tc:SAML:2.0:bindings:SOAP",
}

#: the signature algorithms HTTP-Redirect may name in SigAlg, with their hashes
SIG_ALGS: dict[str, type[hashes.HashAlgorithm]] = {
    RSA_SHA1: hashes.SHA1,
    RSA_SHA256: hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": hashes.SHA512,
}

#: an inflated Redirect message may not be larger than a parsed one may be
MAX_INFLATED_BYTES = MAX_MESSAGE_BYTES
#: a POST body holds at most a base64 message (4/3 of the XML) and a RelayState
MAX_FORM_BYTES = 2 * MAX_MESSAGE_BYTES
_MAX_FIELDS = 20
_KINDS: tuple[Kind, ...] = ("SAMLRequest", "SAMLResponse")
_ESCAPE = re.compile(r"%[0-9A-F]{2}")


@dataclass(frozen=True)
class Decoded:
    """One SAML message as received, with what the report needs to show how it came.

    ``query_parts`` are the Redirect query's ``(name, value)`` pairs still URL-encoded, in the order
    received (None for POST and SOAP); ``endpoint`` is where the message was sent (the URL without
    its query, or the form's action). ``signature_status`` covers the binding's signature (Redirect)
    or the enveloped one (POST, SOAP).
    """

    binding: Binding
    kind: Kind
    xml: str
    relay_state: str | None
    sig_alg: str | None
    signature_status: SignatureStatus
    query_parts: list[tuple[str, str]] | None
    endpoint: str | None = None


@dataclass(frozen=True)
class PostForm:
    """An HTTP-POST binding form: where it posts, its fields in order, and the page that submits it."""

    action: str
    fields: tuple[tuple[str, str], ...]
    html: str


# --- HTTP-Redirect -------------------------------------------------------------------------------


def _escape(value: str, lowercase: bool) -> str:
    escaped = quote_plus(value, safe="")
    return _ESCAPE.sub(lambda m: m.group().lower(), escaped) if lowercase else escaped


@functools.lru_cache(maxsize=32)
def _private_key(key_pem: str) -> rsa.RSAPrivateKey:
    # loading checks the key's consistency, about 40 ms: once per key, not once per message
    key = serialization.load_pem_private_key(key_pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("only RSA keys sign HTTP-Redirect messages here")
    return key


def _without_signature(xml: str) -> str:
    root = parse(xml, what="message to encode")
    signatures = root.findall(qname(DS, "Signature"))
    if not signatures:
        return xml
    for signature in signatures:
        root.remove(signature)
    return str(etree.tostring(root, encoding="unicode"))


def encode_redirect(
    xml: str,
    endpoint: str,
    *,
    kind: Kind,
    relay_state: str | None = None,
    key_pem: str | None = None,
    sig_alg: str = RSA_SHA256,
    lowercase_escapes: bool = False,
) -> str:
    """The URL that carries ``xml`` to ``endpoint`` over HTTP-Redirect (Bindings 3.4.4.1).

    An enveloped signature in ``xml`` is removed, as the binding requires; with ``key_pem`` the
    query is signed with ``sig_alg``. ``lowercase_escapes`` writes ``%2f`` for ``%2F``: still valid
    URL encoding, and a receiver that re-encodes instead of using the query as received fails it.
    """
    if sig_alg not in SIG_ALGS:
        raise ValueError(f"unsupported SigAlg {sig_alg!r}")
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw DEFLATE (RFC 1951), no zlib header
    deflated = compressor.compress(_without_signature(xml).encode("utf-8")) + compressor.flush()
    parts: list[tuple[str, str]] = [
        (kind, _escape(base64.b64encode(deflated).decode("ascii"), lowercase_escapes))
    ]
    if relay_state is not None:
        parts.append(("RelayState", _escape(relay_state, lowercase_escapes)))
    if key_pem is not None:
        parts.append(("SigAlg", _escape(sig_alg, lowercase_escapes)))
        signed = "&".join(f"{name}={value}" for name, value in parts).encode("ascii")
        signature = _private_key(key_pem).sign(signed, padding.PKCS1v15(), SIG_ALGS[sig_alg]())
        parts.append(
            ("Signature", _escape(base64.b64encode(signature).decode("ascii"), lowercase_escapes))
        )
    query = "&".join(f"{name}={value}" for name, value in parts)
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def _query_parts(query: str) -> list[tuple[str, str]]:
    parts = []
    for piece in query.split("&") if query else []:
        name, _, value = piece.partition("=")
        parts.append((name, value))
    return parts


def _single(parts: list[tuple[str, str]], name: str) -> str | None:
    """The raw value of a parameter that may appear once; twice is refused (an attack or a bug)."""
    values = [value for key, value in parts if unquote_plus(key) == name]
    if len(values) > 1:
        raise MalformedMessage(f"query parameter {name} appears {len(values)} times")
    return values[0] if values else None


def _b64(value: str, what: str) -> bytes:
    try:
        # whitespace is a binding mistake, not an ambiguity: read past it
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedMessage(f"{what} is not valid base64 ({exc})") from None


def _inflate(data: bytes, what: str) -> bytes:
    inflater = zlib.decompressobj(-15)
    try:
        out = inflater.decompress(data, MAX_INFLATED_BYTES + 1)
    except zlib.error as exc:
        hint = (
            " (it has a zlib header: the binding wants raw DEFLATE)" if data[:1] == b"\x78" else ""
        )
        raise MalformedMessage(f"{what} is not valid DEFLATE data ({exc}){hint}") from None
    if len(out) > MAX_INFLATED_BYTES or inflater.unconsumed_tail:
        raise MalformedMessage(
            f"{what} inflates to more than {MAX_INFLATED_BYTES} bytes (refused: a DEFLATE bomb?)"
        )
    if not inflater.eof:
        raise MalformedMessage(f"{what} is not valid DEFLATE data (the stream is cut short)")
    return out


def _read_xml(data: bytes, what: str) -> tuple[str, etree._Element]:
    """The message's text and parsed root: size, DTD and well-formedness checked before anyone reads it."""
    root = parse(data, what=what)
    try:
        return data.decode("utf-8"), root
    except UnicodeDecodeError:
        raise MalformedMessage(f"{what} is not UTF-8 text") from None


def decode_redirect(url: str, *, certs: Sequence[str] = ()) -> Decoded:
    """Read the SAML message in an HTTP-Redirect URL; the query signature is checked with ``certs``."""
    parts_of_url = urlsplit(url)
    parts = _query_parts(parts_of_url.query)
    found = [(kind, raw) for kind in _KINDS if (raw := _single(parts, kind)) is not None]
    if len(found) != 1:
        raise MalformedMessage(
            "the URL carries both SAMLRequest and SAMLResponse"
            if found
            else "the URL carries no SAMLRequest or SAMLResponse parameter"
        )
    kind, raw = found[0]
    relay_state = _single(parts, "RelayState")
    sig_alg = _single(parts, "SigAlg")
    xml, _ = _read_xml(_inflate(_b64(unquote_plus(raw), kind), kind), kind)
    return Decoded(
        binding="redirect",
        kind=kind,
        xml=xml,
        relay_state=None if relay_state is None else unquote_plus(relay_state),
        sig_alg=None if sig_alg is None else unquote_plus(sig_alg),
        signature_status=verify_redirect(parts_of_url.query, certs),
        query_parts=parts,
        endpoint=f"{parts_of_url.scheme}://{parts_of_url.netloc}{parts_of_url.path}",
    )


def verify_redirect(query: str, certs: Sequence[str]) -> SignatureStatus:
    """Check an HTTP-Redirect signature over the raw query string as received (Bindings 3.4.4.1).

    The signed octets are ``SAMLRequest=v&RelayState=v&SigAlg=v`` (or SAMLResponse), in that order,
    RelayState left out when absent, each value exactly as it appeared in ``query``.
    """
    try:
        parts = _query_parts(query)
        raw = {
            name: _single(parts, name) for name in (*_KINDS, "RelayState", "SigAlg", "Signature")
        }
    except MalformedMessage as exc:
        return SignatureStatus("invalid", str(exc))
    if raw["Signature"] is None:
        return ABSENT
    if raw["SigAlg"] is None:
        return SignatureStatus("invalid", "a Signature parameter without SigAlg")
    algorithm = unquote_plus(raw["SigAlg"])
    if algorithm not in SIG_ALGS:
        return SignatureStatus("invalid", f"unsupported SigAlg {algorithm!r}", algorithm)
    kind = next((k for k in _KINDS if raw[k] is not None), None)
    if kind is None:
        return SignatureStatus("invalid", "no SAMLRequest or SAMLResponse to verify", algorithm)
    signed = f"{kind}={raw[kind]}"
    if raw["RelayState"] is not None:
        signed += f"&RelayState={raw['RelayState']}"
    signed += f"&SigAlg={raw['SigAlg']}"
    try:
        signature = _b64(unquote_plus(raw["Signature"]), "Signature")
    except MalformedMessage as exc:
        return SignatureStatus("invalid", str(exc), algorithm)
    if not certs:
        return SignatureStatus("unchecked", "", algorithm)
    for cert in certs:
        key = x509.load_pem_x509_certificate(cert.encode("ascii")).public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            continue
        try:
            key.verify(signature, signed.encode("ascii"), padding.PKCS1v15(), SIG_ALGS[algorithm]())
        except InvalidSignature:
            continue
        return SignatureStatus("valid", "", algorithm)
    return SignatureStatus(
        "invalid",
        "does not verify with the expected certificate over the query as received "
        "(changed after signing, or signed with another key)",
        algorithm,
    )


# --- HTTP-POST -----------------------------------------------------------------------------------


def encode_post(xml: str, endpoint: str, *, kind: Kind, relay_state: str | None = None) -> PostForm:
    """The form that posts ``xml`` (sign it first: the signature is enveloped) to ``endpoint`` (3.5.4)."""
    fields: list[tuple[str, str]] = [(kind, base64.b64encode(xml.encode("utf-8")).decode("ascii"))]
    if relay_state is not None:
        fields.append(("RelayState", relay_state))
    inputs = "\n".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value, quote=True)}"/>'
        for name, value in fields
    )
    page = (
        "<!DOCTYPE html>\n<html><head><title>SAML POST</title></head>"
        '<body onload="document.forms[0].submit()">\n'
        f'<form method="post" action="{html.escape(endpoint, quote=True)}">\n{inputs}\n'
        '<noscript><button type="submit">Continue</button></noscript>\n</form></body></html>\n'
    )
    return PostForm(endpoint, tuple(fields), page)


def _decode_fields(
    fields: Sequence[tuple[str, str]], endpoint: str | None, certs: Sequence[str]
) -> Decoded:
    names = [name for name, _ in fields]
    for name in (*_KINDS, "RelayState"):
        if names.count(name) > 1:
            raise MalformedMessage(f"form field {name} appears {names.count(name)} times")
    values = dict(fields)
    kinds = [kind for kind in _KINDS if kind in values]
    if len(kinds) != 1:
        raise MalformedMessage(
            "the form carries both SAMLRequest and SAMLResponse"
            if kinds
            else "the form carries no SAMLRequest or SAMLResponse field"
        )
    kind = kinds[0]
    xml, root = _read_xml(_b64(values[kind], kind), kind)
    status = verify_enveloped(root, certs)
    return Decoded(
        binding="post",
        kind=kind,
        xml=xml,
        relay_state=values.get("RelayState"),
        sig_alg=status.algorithm,
        signature_status=status,
        query_parts=None,
        endpoint=endpoint,
    )


def decode_post(
    body: bytes | str, *, endpoint: str | None = None, certs: Sequence[str] = ()
) -> Decoded:
    """Read the SAML message in a form-urlencoded POST body; its enveloped signature checked with ``certs``."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    if len(text) > MAX_FORM_BYTES:
        raise MalformedMessage(f"form body larger than {MAX_FORM_BYTES} bytes ({len(text)} bytes)")
    try:
        fields = parse_qsl(
            text, keep_blank_values=True, max_num_fields=_MAX_FIELDS, encoding="utf-8"
        )
    except ValueError as exc:
        raise MalformedMessage(f"form body cannot be read: {exc}") from None
    return _decode_fields(fields, endpoint, certs)


class _FormParser(HTMLParser):
    """The forms of a page with their hidden and other inputs (what an HTTP-POST binding page holds)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[dict[str, str], list[tuple[str, str]]]] = []
        self._open = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in reversed(attrs)}  # first of repeated wins
        if tag == "form":
            self.forms.append((values, []))
            self._open = True
        elif tag in ("input", "textarea") and self._open and values.get("name"):
            self.forms[-1][1].append((values["name"], values.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = False


def find_post_form(page: str, page_url: str) -> PostForm | None:
    """The first form on ``page`` that carries a SAMLRequest or SAMLResponse field, if any."""
    if len(page) > MAX_FORM_BYTES * 2:
        raise MalformedMessage(f"page larger than {MAX_FORM_BYTES * 2} characters")
    parser = _FormParser()
    parser.feed(page)
    parser.close()
    for attrs, fields in parser.forms:
        if any(name in _KINDS for name, _ in fields):
            return PostForm(
                urljoin(page_url, attrs.get("action", "")) or page_url, tuple(fields), page
            )
    return None


def decode_post_page(page: str, *, page_url: str, certs: Sequence[str] = ()) -> Decoded:
    """Read the SAML message in an HTML page's HTTP-POST form (the page a browser would auto-submit)."""
    form = find_post_form(page, page_url)
    if form is None:
        raise MalformedMessage(
            f"the page at {page_url} holds no form with SAMLRequest or SAMLResponse"
        )
    return _decode_fields(form.fields, form.action, certs)


# --- SOAP ----------------------------------------------------------------------------------------


def soap_wrap(xml: str) -> str:
    """The message in a SOAP 1.1 envelope's Body (Bindings 3.2.3), no header."""
    envelope = etree.Element(qname(SOAP, "Envelope"), nsmap={"soap-env": SOAP})
    etree.SubElement(envelope, qname(SOAP, "Body")).append(parse(xml, what="message to wrap"))
    return str(etree.tostring(envelope, encoding="unicode"))


def soap_unwrap(data: bytes | str) -> etree._Element:
    """The SAML message in a SOAP envelope's Body; anything else is a ``MalformedMessage``."""
    envelope = parse(data, what="SOAP envelope")
    if envelope.tag != qname(SOAP, "Envelope"):
        raise MalformedMessage(f"expected a SOAP 1.1 Envelope, got {envelope.tag}")
    body = envelope.find(qname(SOAP, "Body"))
    children = [] if body is None else [c for c in body if isinstance(c.tag, str)]
    if len(children) != 1:
        raise MalformedMessage(
            f"the SOAP Body holds {len(children)} elements, not one SAML message"
        )
    return children[0]


def decode_soap(data: bytes | str, *, certs: Sequence[str] = ()) -> Decoded:
    """Read the SAML message in a SOAP envelope; its enveloped signature checked with ``certs``."""
    message = soap_unwrap(data)
    local = etree.QName(message).localname
    if etree.QName(message).namespace != SAMLP:
        raise MalformedMessage(f"the SOAP Body holds {local}, not a SAML protocol message")
    status = verify_enveloped(message, certs)
    return Decoded(
        binding="soap",
        kind="SAMLRequest" if local.endswith(("Request", "Query")) else "SAMLResponse",
        xml=etree.tostring(message, encoding="unicode"),
        relay_state=None,
        sig_alg=status.algorithm,
        signature_status=status,
        query_parts=None,
    )
