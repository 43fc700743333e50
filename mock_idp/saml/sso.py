"""The SSO endpoint: an AuthnRequest in, the login form if needed, a signed assertion posted to the SP (SAML 2.0 Profiles §4.1, https://docs.oasis-open.org/security/saml/v2.0/saml-profiles-2.0-os.pdf)."""

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from mock_idp import pages
from mock_idp.authorization import Completion
from mock_idp.config import SamlSp
from mock_idp.saml import bindings, messages, xmlsig
from mock_idp.saml.idp import SamlIdp
from mock_idp.saml.messages import AuthnRequest, NameId, Status
from mock_idp.sessions import Session

AskLogin = Callable[[Completion], Response]


class SsoEndpoint:
    def __init__(self, idp: SamlIdp, ask_login: AskLogin) -> None:
        self.idp = idp
        self.faults = idp.faults
        self.ask_login = ask_login

    async def sso(self, request: Request) -> Response:
        """GET: HTTP-Redirect; POST: HTTP-POST. AuthnRequest signatures are not required."""
        try:
            received = await bindings.read_request(request)
            if received.kind != "SAMLRequest":
                raise bindings.BindingError("expected a SAMLRequest")
            authn = messages.read_authn_request(received.xml)
        except (bindings.BindingError, messages.MessageError) as error:
            return pages.error(str(error))
        sp = self.idp.sps.get(authn.issuer)
        if sp is None:
            return pages.error("The AuthnRequest comes from an SP this IdP does not know.")
        # Assertions only ever go to the registered ACS (Profiles §4.1.4.1).
        if authn.acs_url is not None and authn.acs_url != sp.acs_url:
            return pages.error("AssertionConsumerServiceURL is not the SP's registered ACS.")
        if authn.protocol_binding not in (None, bindings.POST):
            return pages.error("Only the HTTP-POST binding is supported for responses.")
        relay_state = received.relay_state
        if authn.destination is not None and authn.destination != self.idp.sso_url:
            return self._refuse(sp, authn, relay_state, Status(messages.REQUESTER))
        if authn.name_id_format not in (None, *messages.NAMEID_FORMATS):
            status = Status(
                messages.REQUESTER, "urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy"
            )
            return self._refuse(sp, authn, relay_state, status)
        session = self.idp.op.sessions.current(request)
        if session is not None:
            return self._respond(sp, authn, relay_state, session)
        if authn.is_passive:
            status = Status(messages.RESPONDER, "urn:oasis:names:tc:SAML:2.0:status:NoPassive")
            return self._refuse(sp, authn, relay_state, status)
        # One login serves OIDC and SAML: the same form, user store and browser session.
        return self.ask_login(lambda signed_in: self._respond(sp, authn, relay_state, signed_in))

    def _respond(
        self, sp: SamlSp, authn: AuthnRequest, relay_state: str | None, session: Session
    ) -> Response:
        name_format = authn.name_id_format
        if name_format in (None, messages.UNSPECIFIED):
            name_format = messages.PERSISTENT
        name_id = NameId(session.user.sub, name_format)
        participation = self.idp.participations.join(session, sp.entity_id, name_id)
        session_index: str | None = participation.session_index
        if "saml-no-session-index" in self.faults:
            session_index = None
        xml = messages.authn_response(
            issuer=self.idp.entity_id,
            destination=sp.acs_url,
            in_response_to=authn.id,
            audience=sp.entity_id,
            name_id=name_id,
            session_index=session_index,
            user=session.user,
            auth_time=session.auth_time,
            now=self.idp.now(),
        )
        response = xmlsig.parse(xml)
        self.idp.signer.sign(response.find(f"{{{xmlsig.SAML}}}Assertion"))
        return bindings.post_form(
            sp.acs_url, "SAMLResponse", xmlsig.serialize(response), relay_state
        )

    def _refuse(
        self, sp: SamlSp, authn: AuthnRequest, relay_state: str | None, status: Status
    ) -> Response:
        xml = messages.error_response(
            issuer=self.idp.entity_id,
            destination=sp.acs_url,
            in_response_to=authn.id,
            status=status,
            now=self.idp.now(),
        )
        return bindings.post_form(sp.acs_url, "SAMLResponse", self.idp.sign_root(xml), relay_state)
