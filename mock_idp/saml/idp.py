"""The SAML IdP's state: its entityID, endpoints and key, the SPs it knows, and how it sends messages to them."""

import time

from starlette.responses import RedirectResponse, Response

from mock_idp.config import SamlSp
from mock_idp.provider import Provider
from mock_idp.saml import bindings, xmlsig
from mock_idp.saml.credentials import Credentials
from mock_idp.saml.participants import Participation, Participations
from mock_idp.saml.registry import SpRegistry
from mock_idp.sessions import Session


class SamlIdp:
    def __init__(self, op: Provider) -> None:
        self.op = op
        self.faults = op.faults
        self.entity_id = f"{op.issuer}/saml/metadata"
        self.sso_url = f"{op.issuer}/saml/sso"
        self.slo_url = f"{op.issuer}/saml/slo"
        self.soap_url = f"{op.issuer}/saml/slo/soap"
        self.credentials = Credentials(op.config.saml_key_pem, op.config.saml_cert_pem)
        self.signer = xmlsig.Signer(self.credentials.key_pem, self.credentials.cert_pem)
        self.sps = SpRegistry(op.config.saml_sps)
        self.participations = Participations()

    def now(self) -> float:
        return time.time()

    def live_participations(self, session: Session) -> list[Participation]:
        return self.participations.of_session(session) if self.op.sessions.alive(session) else []

    def sign_root(self, xml: bytes) -> bytes:
        root = xmlsig.parse(xml)
        self.signer.sign(root)
        return xmlsig.serialize(root)

    def send(
        self, sp: SamlSp, kind: str, xml: bytes, relay_state: str | None, sign: bool
    ) -> Response:
        """Carry a logout message to the SP's SLO endpoint through the browser, by its binding."""
        if sp.slo_binding == "post":
            return bindings.post_form(
                sp.slo_url, kind, self.sign_root(xml) if sign else xml, relay_state
            )
        key = self.credentials.key if sign else None
        url = bindings.redirect_url(sp.slo_url, kind, xml, relay_state, key)
        return RedirectResponse(url, 302, headers={"Cache-Control": "no-store"})
