"""SAML 2.0 Core protocol messages: https://docs.oasis-open.org/security/saml/v2.0/saml-core-2.0-os.pdf

Builds the requests the harness sends (``AuthnRequest``, ``LogoutRequest``, ``LogoutResponse``),
signs them with an enveloped signature (python3-saml's ``add_sign``, i.e. xmlsec), and reads what a
target sends into small dataclasses that checks take as evidence. Verification guards against
signature wrapping: a signature counts only if it is a child of the element it signs and references
that element's own ID, declared once in the document (Core 5.4.2, 1.3.4).

It also crafts the bad messages attacks need: unsigned, signed with an attacker's key (made at run
time), tampered after signing, a comment inside NameID, a signed message wrapped in a forged one.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree  # type: ignore[import-untyped]
from onelogin.saml2.utils import OneLogin_Saml2_Utils  # type: ignore[import-untyped]

from harness.saml.xml import DS, SAML, SAMLP, MalformedMessage, parse, qname

__all__ = [
    "ABSENT",
    "NAMEID_ENTITY",
    "NAMEID_PERSISTENT",
    "NAMEID_TRANSIENT",
    "NAMEID_UNSPECIFIED",
    "PARTIAL_LOGOUT",
    "REASON_USER",
    "REQUESTER",
    "RESPONDER",
    "RSA_SHA1",
    "RSA_SHA256",
    "SUCCESS",
    "TOP_LEVEL_STATUSES",
    "VERSION_MISMATCH",
    "Assertion",
    "LogoutRequest",
    "LogoutResponse",
    "Message",
    "Response",
    "SignatureStatus",
    "attacker_credentials",
    "build_authn_request",
    "build_logout_request",
    "build_logout_response",
    "cert_body",
    "cert_pem",
    "comment_in_name_id",
    "new_id",
    "parse_logout_request",
    "parse_logout_response",
    "parse_message",
    "parse_response",
    "saml_instant",
    "sign",
    "tamper",
    "verify_enveloped",
    "wrap",
]

STATUS = "urn:oasis:names:tc:SAML:2.0:status:"
SUCCESS = STATUS + "Success"
REQUESTER = STATUS + "Requester"
RESPONDER = STATUS + "Responder"
VERSION_MISMATCH = STATUS + "VersionMismatch"
#: the only values a top-level StatusCode may take (Core 3.2.2.2)
TOP_LEVEL_STATUSES = frozenset({SUCCESS, REQUESTER, RESPONDER, VERSION_MISMATCH})
PARTIAL_LOGOUT = STATUS + "PartialLogout"

REASON_USER = "urn:oasis:names:tc:SAML:2.0:logout:user"

NAMEID_UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
NAMEID_TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
NAMEID_PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
NAMEID_ENTITY = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"

RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
_DIGESTS = {RSA_SHA1: "http://www.w3.org/2000/09/xmldsig#sha1"}
_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
_BINDING_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"

# transforms an enveloped SAML signature may use; anything else (XPath, XSLT) is refused
_TRANSFORMS = frozenset(
    {
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
        "http://www.w3.org/2001/10/xml-exc-c14n#",
        "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
    }
)
_IDENTIFIERS = ("BaseID", "NameID", "EncryptedID")
_DIGITS = re.compile(r"\d*")


@dataclass(frozen=True)
class SignatureStatus:
    """What a signature check found: ``absent``, ``valid``, ``invalid: reason``, or ``unchecked``.

    ``unchecked`` means a signature is there but no certificate was given to check it against.
    ``algorithm`` is the signature method URI when one was present (RSA-SHA1 is notable, not invalid).
    """

    state: Literal["absent", "valid", "invalid", "unchecked"]
    reason: str = ""
    algorithm: str | None = None

    @property
    def valid(self) -> bool:
        return self.state == "valid"

    @property
    def present(self) -> bool:
        return self.state != "absent"

    def __str__(self) -> str:
        return f"invalid: {self.reason}" if self.state == "invalid" else self.state


ABSENT = SignatureStatus("absent")


@dataclass(frozen=True)
class LogoutRequest:
    """A ``<samlp:LogoutRequest>`` as read (Core 3.7.1); ``id_count_check`` counts BaseID/NameID/EncryptedID."""

    id: str
    issuer: str | None
    issuer_format: str | None
    destination: str | None
    name_id: str | None
    name_id_format: str | None
    sp_name_qualifier: str | None
    session_indexes: tuple[str, ...]
    not_on_or_after: dt.datetime | None
    reason: str | None
    id_count_check: int
    signature: SignatureStatus
    name_qualifier: str | None = None
    issue_instant: dt.datetime | None = None
    #: NameID text had a comment in it ("al<!---->ice"): its value is read whole, as XML means it
    name_id_has_comment: bool = False
    xml: str = ""


@dataclass(frozen=True)
class LogoutResponse:
    """A ``<samlp:LogoutResponse>`` as read (Core 3.7.2, StatusResponseType 3.2.2)."""

    id: str
    issuer: str | None
    destination: str | None
    in_response_to: str | None
    status_top: str | None
    status_second: str | None
    signature: SignatureStatus
    status_message: str | None = None
    xml: str = ""


@dataclass(frozen=True)
class Assertion:
    """The parts of a login ``<saml:Assertion>`` that logout depends on (Core 2.3.3, Profiles 4.1.4.2).

    ``session_index`` is the first AuthnStatement's; ``authn_session_indexes`` has one entry per
    AuthnStatement (None where one has no SessionIndex).
    """

    id: str
    issuer: str | None
    name_id: str | None
    name_id_format: str | None
    session_index: str | None
    session_not_on_or_after: dt.datetime | None
    signature: SignatureStatus
    audience: tuple[str, ...]
    recipient: str | None
    name_qualifier: str | None = None
    sp_name_qualifier: str | None = None
    authn_session_indexes: tuple[str | None, ...] = ()


@dataclass(frozen=True)
class Response:
    """A login ``<samlp:Response>`` (Core 3.3.3) with its assertions; encrypted ones are only counted."""

    id: str
    issuer: str | None
    destination: str | None
    in_response_to: str | None
    status_top: str | None
    status_second: str | None
    signature: SignatureStatus
    assertions: tuple[Assertion, ...]
    encrypted_assertions: int = 0
    xml: str = ""

    @property
    def assertion(self) -> Assertion | None:
        """The first assertion, the one SSO uses."""
        return self.assertions[0] if self.assertions else None


Message = LogoutRequest | LogoutResponse | Response


# --- building ------------------------------------------------------------------------------------


def new_id() -> str:
    """A fresh message ID: 160 random bits, starting with a letter as xs:ID wants (Core 1.3.4)."""
    return "_" + secrets.token_hex(20)


def saml_instant(when: dt.datetime | None = None) -> str:
    """A SAML time value: UTC, no zone offset, whole seconds (Core 1.3.3)."""
    moment = (when or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _root(tag: str, id: str | None, destination: str | None) -> etree._Element:
    root = etree.Element(qname(SAMLP, tag), nsmap={"samlp": SAMLP, "saml": SAML})
    root.set("ID", id or new_id())
    root.set("Version", "2.0")
    root.set("IssueInstant", saml_instant())
    if destination is not None:
        root.set("Destination", destination)
    return root


def _text(parent: etree._Element, namespace: str, tag: str, text: str) -> etree._Element:
    child = etree.SubElement(parent, qname(namespace, tag))
    child.text = text
    return child


def _serialize(root: etree._Element) -> str:
    return str(etree.tostring(root, encoding="unicode"))


def build_authn_request(
    issuer: str,
    destination: str,
    acs_url: str,
    *,
    id: str | None = None,
    force_authn: bool = False,
) -> str:
    """An ``<samlp:AuthnRequest>`` asking for a Response over HTTP-POST at ``acs_url`` (Core 3.4.1)."""
    root = _root("AuthnRequest", id, destination)
    root.set("AssertionConsumerServiceURL", acs_url)
    root.set("ProtocolBinding", _BINDING_POST)
    if force_authn:
        root.set("ForceAuthn", "true")
    _text(root, SAML, "Issuer", issuer)
    return _serialize(root)


def build_logout_request(
    issuer: str,
    destination: str | None,
    name_id: str,
    name_id_format: str | None,
    session_indexes: Sequence[str],
    not_on_or_after: dt.datetime | None,
    reason: str | None = None,
    id: str | None = None,
    nameid_sp_name_qualifier: str | None = None,
    nameid_name_qualifier: str | None = None,
) -> str:
    """A ``<samlp:LogoutRequest>`` (Core 3.7.1), unsigned; ``sign`` it for HTTP-POST or SOAP."""
    root = _root("LogoutRequest", id, destination)
    if not_on_or_after is not None:
        root.set("NotOnOrAfter", saml_instant(not_on_or_after))
    if reason is not None:
        root.set("Reason", reason)
    _text(root, SAML, "Issuer", issuer)
    name = _text(root, SAML, "NameID", name_id)
    for attribute, value in (
        ("Format", name_id_format),
        ("NameQualifier", nameid_name_qualifier),
        ("SPNameQualifier", nameid_sp_name_qualifier),
    ):
        if value is not None:
            name.set(attribute, value)
    for index in session_indexes:
        _text(root, SAMLP, "SessionIndex", index)
    return _serialize(root)


def build_logout_response(
    issuer: str,
    destination: str | None,
    in_response_to: str | None,
    status_top: str,
    status_second: str | None = None,
    *,
    id: str | None = None,
) -> str:
    """A ``<samlp:LogoutResponse>`` (Core 3.7.2) with a top-level and an optional second-level status."""
    root = _root("LogoutResponse", id, destination)
    if in_response_to is not None:
        root.set("InResponseTo", in_response_to)
    _text(root, SAML, "Issuer", issuer)
    status = etree.SubElement(root, qname(SAMLP, "Status"))
    top = etree.SubElement(status, qname(SAMLP, "StatusCode"), Value=status_top)
    if status_second is not None:
        etree.SubElement(top, qname(SAMLP, "StatusCode"), Value=status_second)
    return _serialize(root)


# --- signing and crafting ------------------------------------------------------------------------


def sign(xml: str, key_pem: str, cert_pem: str, *, sig_alg: str = RSA_SHA256) -> str:
    """An enveloped signature over the message root, placed after its Issuer (Core 5.4).

    ``sig_alg`` RSA-SHA1 (with a SHA-1 digest) makes the downgraded messages attacks need.
    """
    signed = OneLogin_Saml2_Utils.add_sign(
        xml,
        key_pem,
        cert_pem,
        sign_algorithm=sig_alg,
        digest_algorithm=_DIGESTS.get(sig_alg, _SHA256),
    )
    return signed.decode("utf-8") if isinstance(signed, bytes) else str(signed)


@functools.cache
def attacker_credentials() -> tuple[str, str]:
    """A key and self-signed certificate that no target trusts, made once per process.

    The private key only ever signs forged messages in memory; it is never written or shown.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "logout-conformance attacker")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _edit(xml: str) -> etree._Element:
    return parse(xml, what="message to craft")


def tamper(xml: str, *, name_id: str | None = None, session_index: str | None = None) -> str:
    """The message changed after signing, its signature left as it was.

    Changes NameID and/or the first SessionIndex when given; otherwise moves IssueInstant by one
    second, a change no reader would notice but any signature check must.
    """
    root = _edit(xml)
    if name_id is None and session_index is None:
        instant = _time(root.get("IssueInstant"), "IssueInstant") or dt.datetime.now(dt.UTC)
        root.set("IssueInstant", saml_instant(instant + dt.timedelta(seconds=1)))
    if name_id is not None:
        _required(root, SAML, "NameID").text = name_id
    if session_index is not None:
        _required(root, SAMLP, "SessionIndex").text = session_index
    return _serialize(root)


def comment_in_name_id(xml: str, at: int | None = None) -> str:
    """NameID with an empty comment inserted ``at`` characters in (the middle by default).

    XML's value of ``al<!---->ice`` is "alice", and a signature (exclusive C14N without comments)
    still verifies; readers that take the first text node see "al".
    """
    root = _edit(xml)
    name = _required(root, SAML, "NameID")
    value = "".join(name.itertext())
    cut = len(value) // 2 if at is None else at
    for child in list(name):
        name.remove(child)
    name.text = value[:cut]
    comment = etree.Comment("")
    comment.tail = value[cut:]
    name.append(comment)
    return _serialize(root)


def wrap(signed_xml: str, forged_xml: str, *, same_id: bool = False) -> str:
    """Signature wrapping: the forged message carries the signed one in its Extensions (inside a
    foreign-namespace element), and the signed one's signature as its own.

    A verifier that checks "some element with the referenced ID verifies" accepts the forged root.
    ``same_id`` gives the forged root the signed message's ID as well (a duplicated ID declaration).
    """
    signed = _edit(signed_xml)
    forged = _edit(forged_xml)
    signature = signed.find(qname(DS, "Signature"))
    if signature is None:
        raise ValueError("wrap() needs a signed message: it has no ds:Signature")
    signed.remove(signature)
    if same_id:
        forged.set("ID", signed.get("ID", ""))
    for old in forged.findall(qname(DS, "Signature")):
        forged.remove(old)
    issuer = forged.find(qname(SAML, "Issuer"))
    at = 0 if issuer is None else forged.index(issuer) + 1
    forged.insert(at, signature)
    extensions = etree.Element(qname(SAMLP, "Extensions"))
    # Extensions only admits elements of other namespaces: a foreign wrapper keeps the forged
    # message schema-valid, as a real attack would
    holder = etree.SubElement(extensions, "{urn:logout-conformance:xsw}Original")
    holder.append(signed)
    forged.insert(at + 1, extensions)
    return _serialize(forged)


def _required(root: etree._Element, namespace: str, tag: str) -> etree._Element:
    found = root.find(qname(namespace, tag))
    if found is None:
        raise ValueError(f"the message has no {tag} to change")
    return found


# --- certificates --------------------------------------------------------------------------------


def cert_body(pem: str) -> str:
    """The base64 body of a PEM certificate, as metadata and KeyInfo carry it."""
    lines = [line.strip() for line in pem.strip().splitlines()]
    return "".join(line for line in lines if line and not line.startswith("-----"))


def cert_pem(body: str) -> str:
    """A PEM certificate from the base64 that metadata or KeyInfo carries (whitespace ignored)."""
    flat = "".join(body.split())
    lines = [flat[i : i + 64] for i in range(0, len(flat), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def _subject(pem: str) -> str:
    """The subject of a certificate a message brought along, cut short (it is the sender's text)."""
    try:
        subject = x509.load_pem_x509_certificate(pem.encode("ascii")).subject.rfc4514_string()
    except ValueError:
        return "an unreadable certificate"
    return subject if len(subject) <= 120 else subject[:120] + "…"


# --- verification --------------------------------------------------------------------------------


def verify_enveloped(element: etree._Element, certs: Sequence[str]) -> SignatureStatus:
    """Check the enveloped signature of ``element`` (a message root or an assertion).

    Only a ``ds:Signature`` child of ``element`` counts, with exactly one Reference whose URI is
    ``#`` + the element's ID, that ID declared once in the whole document, and only enveloped and
    canonicalization transforms. Valid if it verifies with any of ``certs`` (PEM); ``unchecked`` if
    none are given. A certificate sent along in KeyInfo is never trusted, only named in the reason.
    """
    signatures = element.findall(qname(DS, "Signature"))
    if not signatures:
        return ABSENT
    if len(signatures) > 1:
        return SignatureStatus("invalid", f"{len(signatures)} ds:Signature elements on one element")
    signature = signatures[0]
    algorithm = _attribute(signature, "ds:SignedInfo/ds:SignatureMethod", "Algorithm")
    problem = _structure_problem(element, signature)
    if problem:
        return SignatureStatus("invalid", problem, algorithm)
    if not certs:
        return SignatureStatus("unchecked", "", algorithm)
    for cert in certs:
        if _verifies(element, signature, cert):
            return SignatureStatus("valid", "", algorithm)
    embedded = signature.findtext(
        "ds:KeyInfo/ds:X509Data/ds:X509Certificate", namespaces={"ds": DS}
    )
    if embedded and _verifies(element, signature, cert_pem(embedded)):
        reason = (
            f"signed with another key: it verifies only with the certificate sent in KeyInfo "
            f"({_subject(cert_pem(embedded))}), not with the expected one"
        )
    else:
        reason = (
            "does not verify with the expected certificate: changed after signing, "
            "or signed with another key"
        )
    return SignatureStatus("invalid", reason, algorithm)


def _attribute(node: etree._Element, path: str, name: str) -> str | None:
    found = node.find(path, namespaces={"ds": DS})
    return None if found is None else found.get(name)


def _structure_problem(element: etree._Element, signature: etree._Element) -> str | None:
    """Why this signature cannot be the element's own (wrapping, odd transforms), or None."""
    own_id = element.get("ID")
    if not own_id:
        return "the signed element has no ID attribute"
    references = signature.findall("ds:SignedInfo/ds:Reference", namespaces={"ds": DS})
    if len(references) != 1:
        return f"{len(references)} ds:Reference elements (SAML Core 5.4.2 wants exactly one)"
    uri = references[0].get("URI", "")
    if uri != f"#{own_id}":
        return (
            f"the signature references {uri or 'the whole document (empty URI)'}, not the ID of the "
            f"element it sits in (#{own_id}): signature wrapping"
        )
    declared = element.getroottree().getroot().xpath("count(//*[@ID=$id])", id=own_id)
    if declared != 1:
        return (
            f"ID {own_id} is declared {int(declared)} times in the document (SAML Core 1.3.4: once)"
        )
    for transform in references[0].findall("ds:Transforms/ds:Transform", namespaces={"ds": DS}):
        if transform.get("Algorithm") not in _TRANSFORMS:
            return f"unexpected transform {transform.get('Algorithm')!r}"
    return None


def _verifies(element: etree._Element, signature: etree._Element, cert: str) -> bool:
    try:
        context = xmlsec.SignatureContext()
        # a key set here is the only key used: KeyInfo in the message cannot substitute its own
        context.key = xmlsec.Key.from_memory(
            cert.encode("ascii"), xmlsec.constants.KeyDataFormatCertPem, None
        )
        context.register_id(element, "ID")
        context.verify(signature)
    except xmlsec.Error:
        return False
    return True


# --- reading -------------------------------------------------------------------------------------


def _element(xml: str | bytes | etree._Element, what: str) -> etree._Element:
    if isinstance(xml, etree._Element):
        return xml
    return parse(xml, what=what)


def _expect(root: etree._Element, tag: str) -> None:
    if root.tag != qname(SAMLP, tag):
        raise MalformedMessage(f"expected a samlp:{tag}, got {_name(root)}")


def _name(root: etree._Element) -> str:
    tag = root.tag if isinstance(root.tag, str) else "?"
    namespace, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    return f"{local} in namespace {namespace or '(none)'}"


def _value(node: etree._Element | None) -> tuple[str | None, bool]:
    """The text value of a simple element, comments skipped (as XML reads it), and whether it had any."""
    if node is None:
        return None, False
    has_comment = any(isinstance(child, etree._Comment) for child in node)
    # the whole value, whitespace included: a NameID must match exactly, not after trimming
    return "".join(node.itertext()), has_comment


def _time(value: str | None, what: str) -> dt.datetime | None:
    if value is None:
        return None
    text = value.strip()
    date, dot, rest = text.partition(".")
    if dot:  # Python reads at most 6 fraction digits
        digits = _DIGITS.match(rest)
        count = len(digits.group()) if digits else 0
        text = f"{date}.{rest[: min(count, 6)]}{rest[count:]}"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise MalformedMessage(f"{what} {value!r} is not an xs:dateTime") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _status(root: etree._Element) -> tuple[str | None, str | None, str | None]:
    top = root.find("samlp:Status/samlp:StatusCode", namespaces={"samlp": SAMLP})
    second = None if top is None else top.find(qname(SAMLP, "StatusCode"))
    message = root.findtext("samlp:Status/samlp:StatusMessage", namespaces={"samlp": SAMLP})
    return (
        None if top is None else top.get("Value"),
        None if second is None else second.get("Value"),
        message,
    )


def parse_logout_request(
    xml: str | bytes | etree._Element, *, certs: Sequence[str] = ()
) -> LogoutRequest:
    """Read a LogoutRequest; its signature is checked against ``certs`` (PEM) when given."""
    root = _element(xml, "LogoutRequest")
    _expect(root, "LogoutRequest")
    issuer = root.find(qname(SAML, "Issuer"))
    identifiers = [child for child in root if child.tag in {qname(SAML, t) for t in _IDENTIFIERS}]
    name = root.find(qname(SAML, "NameID"))
    value, has_comment = _value(name)
    return LogoutRequest(
        id=root.get("ID", ""),
        issuer=_value(issuer)[0],
        issuer_format=None if issuer is None else issuer.get("Format"),
        destination=root.get("Destination"),
        name_id=value,
        name_id_format=None if name is None else name.get("Format"),
        sp_name_qualifier=None if name is None else name.get("SPNameQualifier"),
        session_indexes=tuple(
            _value(index)[0] or "" for index in root.findall(qname(SAMLP, "SessionIndex"))
        ),
        not_on_or_after=_time(root.get("NotOnOrAfter"), "NotOnOrAfter"),
        reason=root.get("Reason"),
        id_count_check=len(identifiers),
        signature=verify_enveloped(root, certs),
        name_qualifier=None if name is None else name.get("NameQualifier"),
        issue_instant=_time(root.get("IssueInstant"), "IssueInstant"),
        name_id_has_comment=has_comment,
        xml=etree.tostring(root, encoding="unicode"),
    )


def parse_logout_response(
    xml: str | bytes | etree._Element, *, certs: Sequence[str] = ()
) -> LogoutResponse:
    """Read a LogoutResponse; its signature is checked against ``certs`` (PEM) when given."""
    root = _element(xml, "LogoutResponse")
    _expect(root, "LogoutResponse")
    top, second, message = _status(root)
    return LogoutResponse(
        id=root.get("ID", ""),
        issuer=_value(root.find(qname(SAML, "Issuer")))[0],
        destination=root.get("Destination"),
        in_response_to=root.get("InResponseTo"),
        status_top=top,
        status_second=second,
        signature=verify_enveloped(root, certs),
        status_message=message,
        xml=etree.tostring(root, encoding="unicode"),
    )


def _assertion(node: etree._Element, certs: Sequence[str]) -> Assertion:
    ns = {"saml": SAML}
    name = node.find("saml:Subject/saml:NameID", namespaces=ns)
    statements = node.findall("saml:AuthnStatement", namespaces=ns)
    indexes = tuple(statement.get("SessionIndex") for statement in statements)
    confirmation = node.find(
        "saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData", ns
    )
    return Assertion(
        id=node.get("ID", ""),
        issuer=_value(node.find(qname(SAML, "Issuer")))[0],
        name_id=_value(name)[0],
        name_id_format=None if name is None else name.get("Format"),
        session_index=indexes[0] if indexes else None,
        session_not_on_or_after=_time(
            statements[0].get("SessionNotOnOrAfter") if statements else None, "SessionNotOnOrAfter"
        ),
        signature=verify_enveloped(node, certs),
        audience=tuple(
            _value(audience)[0] or ""
            for audience in node.findall(
                "saml:Conditions/saml:AudienceRestriction/saml:Audience", namespaces=ns
            )
        ),
        recipient=None if confirmation is None else confirmation.get("Recipient"),
        name_qualifier=None if name is None else name.get("NameQualifier"),
        sp_name_qualifier=None if name is None else name.get("SPNameQualifier"),
        authn_session_indexes=indexes,
    )


def parse_response(xml: str | bytes | etree._Element, *, certs: Sequence[str] = ()) -> Response:
    """Read a login Response and its (plain) assertions; signatures checked against ``certs``."""
    root = _element(xml, "Response")
    _expect(root, "Response")
    top, second, _ = _status(root)
    return Response(
        id=root.get("ID", ""),
        issuer=_value(root.find(qname(SAML, "Issuer")))[0],
        destination=root.get("Destination"),
        in_response_to=root.get("InResponseTo"),
        status_top=top,
        status_second=second,
        signature=verify_enveloped(root, certs),
        assertions=tuple(
            _assertion(node, certs) for node in root.findall(qname(SAML, "Assertion"))
        ),
        encrypted_assertions=len(root.findall(qname(SAML, "EncryptedAssertion"))),
        xml=etree.tostring(root, encoding="unicode"),
    )


def parse_message(xml: str | bytes | etree._Element, *, certs: Sequence[str] = ()) -> Message:
    """Read a LogoutRequest, LogoutResponse or Response, whichever the root is."""
    root = _element(xml, "SAML message")
    readers: dict[str, Callable[..., Message]] = {
        qname(SAMLP, "LogoutRequest"): parse_logout_request,
        qname(SAMLP, "LogoutResponse"): parse_logout_response,
        qname(SAMLP, "Response"): parse_response,
    }
    reader = readers.get(root.tag if isinstance(root.tag, str) else "")
    if reader is None:
        raise MalformedMessage(
            f"expected a LogoutRequest, LogoutResponse or Response, got {_name(root)}"
        )
    return reader(root, certs=certs)
