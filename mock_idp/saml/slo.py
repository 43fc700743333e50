"""The IdP's Single Logout endpoints: LogoutRequests from SPs (HTTP-Redirect, HTTP-POST, SOAP) and IdP-initiated logout (SAML 2.0 Core §3.7 and Profiles §4.4, https://docs.oasis-open.org/security/saml/v2.0/saml-profiles-2.0-os.pdf)."""

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from mock_idp import pages
from mock_idp.bounded import BoundedMap
from mock_idp.config import SamlSp, User
from mock_idp.params import ParameterError, read_params
from mock_idp.saml import bindings, messages, security, xmlsig
from mock_idp.saml.bindings import Received
from mock_idp.saml.idp import SamlIdp
from mock_idp.saml.messages import LogoutRequest, Status
from mock_idp.saml.propagation import Propagation
from mock_idp.sessions import Session, clear_session_cookie

# SAML2int: time checks allow some clock skew; a request this far past NotOnOrAfter is refused.
CLOCK_SKEW = 60
MAX_SEEN = 100_000


class Refused(ValueError):
    """A LogoutRequest the IdP does not act on: answered Requester/RequestDenied, nobody logged out."""


class SloEndpoints:
    def __init__(self, idp: SamlIdp, propagation: Propagation) -> None:
        self.idp = idp
        self.faults = idp.faults
        self.propagation = propagation
        # IDs of the LogoutRequests acted on, per SP (SAML Core §1.3.4: IDs are unique).
        self._seen: BoundedMap[tuple[str, str], None] = BoundedMap(MAX_SEEN)

    async def slo(self, request: Request) -> Response:
        """GET: HTTP-Redirect; POST: HTTP-POST. A LogoutRequest from an SP, or a participant's answer."""
        try:
            received = await bindings.read_request(request)
        except bindings.BindingError as error:
            return pages.error(str(error))
        if received.kind == "SAMLResponse":
            return self.propagation.answer(received)
        try:
            root = xmlsig.parse(received.xml)
            message = messages.read_logout_request(received.xml)
        except (xmlsig.XmlError, messages.MessageError) as error:
            return pages.error(str(error))
        sp = self.idp.sps.get(message.issuer)
        if sp is None:
            return pages.error("The LogoutRequest comes from an SP this IdP does not know.")
        try:
            self._validate(sp, received, root, message, self.idp.slo_url)
            sessions = self._named_sessions(request, sp, message)
        except Refused as refusal:
            # Bindings §3.4.6, §3.5.6: a SAML error goes back as a SAML response, not an HTTP error.
            if "saml-http-error-status" in self.faults:
                return pages.error(str(refusal))
            status = Status(messages.REQUESTER, messages.REQUEST_DENIED, str(refusal))
            return self.propagation.respond(sp, message.id, received.relay_state, status)
        browser = self.idp.op.sessions.current(request)
        notices = self.propagation.notices(sessions, sp.entity_id)
        self._end(sp, message, sessions)
        response = self.propagation.start(sp, message.id, received.relay_state, None, notices)
        if browser is not None and not self.idp.op.sessions.alive(browser):
            clear_session_cookie(response)
        return response

    async def soap(self, request: Request) -> Response:
        """A LogoutRequest over SOAP (Bindings §3.2), answered synchronously.

        The IdP cannot drive a browser from a back-channel call, and the mock sends no back-channel
        LogoutRequests: its own sessions end, the other participants are not told, and the answer
        says so with PartialLogout whenever there were any.
        """
        try:
            xml = xmlsig.serialize(bindings.read_soap(await request.body()))
            root = xmlsig.parse(xml)
            message = messages.read_logout_request(xml)
        except (bindings.BindingError, xmlsig.XmlError, messages.MessageError) as error:
            return bindings.soap_fault(str(error))
        sp = self.idp.sps.get(message.issuer)
        if sp is None:
            return bindings.soap_fault("The LogoutRequest comes from an SP this IdP does not know.")
        received = Received("SAMLRequest", xml, None, "soap")
        try:
            self._validate(sp, received, root, message, self.idp.soap_url)
            sessions = self._named_sessions(request, sp, message)
        except Refused as refusal:
            if "saml-http-error-status" in self.faults:
                return pages.error(str(refusal))
            status = Status(messages.REQUESTER, messages.REQUEST_DENIED, str(refusal))
        else:
            untold = self.propagation.notices(sessions, sp.entity_id)
            self._end(sp, message, sessions)
            status = self.propagation.status(failed=bool(untold))
        answer = self.propagation.response_xml(sp, message.id, status, None)
        if self.propagation.signs_responses(sp):
            answer = self.idp.sign_root(answer)
        return bindings.soap_response(answer)

    async def idp_initiated(self, request: Request) -> Response:
        """GET /saml/logout?ReturnTo=URL: end the browser's session, tell every participant, return."""
        try:
            return_to = read_params(request.query_params, ("ReturnTo",)).get("ReturnTo")
        except ParameterError as error:
            return pages.error(str(error))
        if return_to is not None and not self._may_return_to(return_to):
            return pages.error("ReturnTo is not at a registered SP.")
        session = self.idp.op.sessions.current(request)
        notices = self.propagation.notices([session], None) if session is not None else []
        if session is not None:
            self.idp.participations.drop(session)
            self.idp.op.log_out(session)
        response = self.propagation.start(None, None, None, return_to, notices)
        clear_session_cookie(response)
        return response

    def _validate(
        self,
        sp: SamlSp,
        received: Received,
        root: xmlsig.Element,
        message: LogoutRequest,
        endpoint: str,
    ) -> None:
        """Raise Refused unless the IdP may act on this LogoutRequest (§3.7.3.2, Profiles §4.4.4.1)."""
        signed = security.is_signed(received, root)
        if sp.validate_logout:
            if not signed:
                if "saml-accept-unsigned-logout" not in self.faults:
                    raise Refused("The LogoutRequest is not signed.")
            elif "saml-accept-bad-signature" not in self.faults:
                try:
                    security.verify(received, root, sp)
                except xmlsig.SignatureError as error:
                    raise Refused(
                        f"The LogoutRequest's signature is not valid: {error}."
                    ) from error
        if message.issuer_format not in (None, messages.ENTITY):
            raise Refused("The Issuer's Format must be omitted or entity.")
        if "saml-destination-unchecked" not in self.faults:
            if message.destination is None and signed and received.binding != "soap":
                # Bindings §3.4.5.2, §3.5.5.2: a signed front-channel message names its Destination.
                raise Refused("The signed LogoutRequest has no Destination.")
            if message.destination is not None and message.destination != endpoint:
                raise Refused("The LogoutRequest's Destination is not this endpoint.")
        if message.identifiers != 1 or message.name_id is None:
            raise Refused("The LogoutRequest must name its principal by exactly one NameID.")
        expiry = message.not_on_or_after
        if expiry is not None and self.idp.now() >= expiry + CLOCK_SKEW:
            raise Refused("The LogoutRequest is past its NotOnOrAfter.")
        if (sp.entity_id, message.id) in self._seen and "saml-accept-replay" not in self.faults:
            raise Refused("A LogoutRequest with this ID was already received.")

    def _named_sessions(
        self, request: Request, sp: SamlSp, message: LogoutRequest
    ) -> list[Session]:
        """The live IdP sessions that NameID and SessionIndex name (§3.7.3.2)."""
        sessions = self.idp.op.sessions
        browser = sessions.current(request)
        principal = self._principal(sp, message)
        if "saml-nameid-mismatch-logout" in self.faults and browser is not None:
            principal = browser.user  # the cookie, not the NameID, says whose sessions end
        if not message.session_indexes or "saml-ignore-session-index" in self.faults:
            # No SessionIndex: every session of the principal at this IdP.
            return sessions.of_user(principal) if principal is not None else []
        named: list[Session] = []
        for index in message.session_indexes:
            participation = self.idp.participations.by_index(index)
            if (
                participation is None
                or participation.sp != sp.entity_id
                or not sessions.alive(participation.session)
            ):
                continue  # an unknown SessionIndex names nothing to end
            if participation.session.user is not principal:
                raise Refused("The NameID does not name the principal of the SessionIndex.")
            if participation.session not in named:
                named.append(participation.session)
        return named

    def _principal(self, sp: SamlSp, message: LogoutRequest) -> User | None:
        """The user to whom the IdP asserted this NameID at this SP, if any."""
        name_id = message.name_id
        if name_id is None:
            return None
        if message.sp_name_qualifier not in (None, sp.entity_id):
            return None
        if message.name_qualifier not in (None, self.idp.entity_id):
            return None
        for participation in self.idp.participations.of_sp(sp.entity_id):
            asserted = participation.name_id
            if (
                asserted.value == name_id.value
                and name_id.format in (asserted.format, messages.UNSPECIFIED)
                and self.idp.op.sessions.alive(participation.session)
            ):
                return participation.session.user
        return None

    def _end(self, sp: SamlSp, message: LogoutRequest, sessions: list[Session]) -> None:
        self._seen[(sp.entity_id, message.id)] = None
        if "saml-success-without-logout" in self.faults:
            return
        for session in sessions:
            self.idp.participations.drop(session)
            self.idp.op.log_out(session)

    def _may_return_to(self, url: str) -> bool:
        """ReturnTo only leads to a registered SP's site or the IdP, never to an open redirect."""
        origin = urlsplit(url)[:2]
        known = [self.idp.op.issuer] + [
            endpoint for sp in self.idp.sps.all() for endpoint in (sp.acs_url, sp.slo_url)
        ]
        return origin[0] in ("http", "https") and any(urlsplit(k)[:2] == origin for k in known)
