"""SAML XML read safely and signed or verified in memory with enveloped XML Signatures (SAML 2.0 Core §5, https://docs.oasis-open.org/security/saml/v2.0/saml-core-2.0-os.pdf)."""

from typing import Any

import xmlsec
from lxml import etree  # type: ignore[import-untyped]

# lxml ships no type hints: an element is Any to mypy.
Element = Any

DS = "http://www.w3.org/2000/09/xmldsig#"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
MAX_XML = 256 * 1024
# RSA with SHA-2 only: a SHA-1 signature is a downgrade the IdP refuses.
SIGNATURE_METHODS = frozenset(
    {
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    }
)
DIGEST_METHODS = frozenset(
    {
        "http://www.w3.org/2001/04/xmlenc#sha256",
        "http://www.w3.org/2001/04/xmldsig-more#sha384",
        "http://www.w3.org/2001/04/xmlenc#sha512",
    }
)
# SAML Core §5.4.3-4: enveloped signature and canonicalization; never XPath or XSLT.
TRANSFORMS = frozenset(
    {
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
        "http://www.w3.org/2001/10/xml-exc-c14n#",
        "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
    }
)


class XmlError(ValueError):
    """XML the IdP does not read: malformed, too large, or with a DTD."""


class SignatureError(ValueError):
    """A signature that does not prove who sent the message."""


def parse(data: bytes) -> Element:
    """The root element; no DTD, no entities, no network, bounded size."""
    if len(data) > MAX_XML:
        raise XmlError(f"the XML is larger than {MAX_XML} bytes")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise XmlError(f"the XML is malformed: {error}") from error
    if root.getroottree().docinfo.doctype:
        raise XmlError("the XML has a DTD")
    return root


def serialize(element: Element) -> bytes:
    data: bytes = etree.tostring(element)
    return data


class Signer:
    """Enveloped RSA-SHA256 signatures with exclusive canonicalization, the certificate in KeyInfo."""

    def __init__(self, key_pem: bytes, cert_pem: bytes) -> None:
        self._key = xmlsec.Key.from_memory(key_pem, xmlsec.constants.KeyDataFormatPem)
        self._key.load_cert_from_memory(cert_pem, xmlsec.constants.KeyDataFormatCertPem)

    def sign(self, element: Element) -> None:
        """Sign element in place; its Signature goes right after its Issuer (SAML Core §5.4.1)."""
        signature = xmlsec.template.create(
            element,
            xmlsec.constants.TransformExclC14N,
            xmlsec.constants.TransformRsaSha256,
            ns="ds",
        )
        element.find(f"{{{SAML}}}Issuer").addnext(signature)
        reference = xmlsec.template.add_reference(
            signature, xmlsec.constants.TransformSha256, uri="#" + element.get("ID")
        )
        xmlsec.template.add_transform(reference, xmlsec.constants.TransformEnveloped)
        xmlsec.template.add_transform(reference, xmlsec.constants.TransformExclC14N)
        key_info = xmlsec.template.ensure_key_info(signature)
        xmlsec.template.x509_data_add_certificate(xmlsec.template.add_x509_data(key_info))
        context = xmlsec.SignatureContext()
        context.key = self._key
        context.register_id(element, "ID")
        context.sign(signature)


def is_signed(root: Element) -> bool:
    return root.find(f"{{{DS}}}Signature") is not None


def verify(root: Element, cert_pem: str) -> None:
    """Raise SignatureError unless root holds one enveloped signature over itself by cert_pem's key.

    Only a signature that is a child of the root and references the root's ID counts, so a signed
    element wrapped elsewhere in the message (XML Signature Wrapping) proves nothing.
    """
    signatures = root.findall(f"{{{DS}}}Signature")
    if len(signatures) != 1:
        raise SignatureError("the message does not carry exactly one enveloped signature")
    signature = signatures[0]
    root_id = root.get("ID")
    references = signature.findall(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")
    if not root_id or len(references) != 1 or references[0].get("URI") != "#" + root_id:
        raise SignatureError("the signature does not cover the message itself")
    method = signature.find(f"{{{DS}}}SignedInfo/{{{DS}}}SignatureMethod")
    if method is None or method.get("Algorithm") not in SIGNATURE_METHODS:
        raise SignatureError("the signature algorithm is not RSA with SHA-2")
    digests = references[0].findall(f"{{{DS}}}DigestMethod")
    if len(digests) != 1 or digests[0].get("Algorithm") not in DIGEST_METHODS:
        raise SignatureError("the digest algorithm is not SHA-2")
    for transform in references[0].iterfind(f"{{{DS}}}Transforms/{{{DS}}}Transform"):
        if transform.get("Algorithm") not in TRANSFORMS:
            raise SignatureError("the signature uses a transform other than canonicalization")
    context = xmlsec.SignatureContext()
    try:
        context.key = xmlsec.Key.from_memory(
            cert_pem.encode(), xmlsec.constants.KeyDataFormatCertPem
        )
        context.register_id(root, "ID")
        context.verify(signature)
    except xmlsec.Error as error:
        raise SignatureError("the signature is not valid for the SP's certificate") from error
