"""Authenticating an SP's logout message by its binding: the query signature (HTTP-Redirect) or an enveloped XML signature (HTTP-POST, SOAP) (SAML 2.0 Bindings §3.4.4.1, §3.5.4, https://docs.oasis-open.org/security/saml/v2.0/saml-bindings-2.0-os.pdf)."""

from mock_idp.config import SamlSp
from mock_idp.saml import bindings, xmlsig
from mock_idp.saml.bindings import Received


def is_signed(received: Received, root: xmlsig.Element) -> bool:
    """Whether the binding's signature is there; over HTTP-Redirect an XML signature does not count."""
    if received.binding == "redirect":
        return received.signature is not None
    return xmlsig.is_signed(root)


def verify(received: Received, root: xmlsig.Element, sp: SamlSp) -> None:
    """Raise xmlsig.SignatureError unless the message is signed with the key of the SP's cert."""
    if not is_signed(received, root):
        raise xmlsig.SignatureError("the message is not signed")
    if received.binding == "redirect":
        bindings.verify_redirect(received, sp.cert_pem)
    else:
        xmlsig.verify(root, sp.cert_pem)
