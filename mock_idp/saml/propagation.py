"""Logout propagation through the browser: one LogoutRequest per other session participant, one after another, then the answer (SAML 2.0 Core §3.7.3.2 and Profiles §4.4.3, https://docs.oasis-open.org/security/saml/v2.0/saml-profiles-2.0-os.pdf)."""

from dataclasses import dataclass, field

from starlette.responses import RedirectResponse, Response

from mock_idp import pages
from mock_idp.bounded import BoundedMap
from mock_idp.config import SamlSp
from mock_idp.saml import messages, security, xmlsig
from mock_idp.saml.bindings import Received
from mock_idp.saml.idp import SamlIdp
from mock_idp.saml.messages import NameId, Status
from mock_idp.sessions import Session

PENDING_LIFETIME = 600
MAX_PENDING = 10_000


@dataclass(frozen=True)
class Notice:
    """A LogoutRequest the IdP owes one participant: the NameID and SessionIndexes it asserted."""

    sp: str
    name_id: NameId
    session_indexes: tuple[str, ...]


@dataclass
class Logout:
    """A logout in progress, kept server-side under the ID of the LogoutRequest it waits on."""

    # The SP whose LogoutRequest started it; None when the IdP started it.
    initiator: SamlSp | None
    request_id: str | None
    relay_state: str | None
    return_to: str | None
    notices: list[Notice]
    expires_at: float
    failed: bool = False
    waiting_for: SamlSp | None = field(default=None)


class Propagation:
    def __init__(self, idp: SamlIdp) -> None:
        self.idp = idp
        self.faults = idp.faults
        self._waiting: BoundedMap[str, Logout] = BoundedMap(MAX_PENDING)

    def notices(self, sessions: list[Session], initiator: str | None) -> list[Notice]:
        """Every participant of these sessions but the initiator, one notice per SP and NameID."""
        grouped: dict[tuple[str, NameId], list[str]] = {}
        for session in sessions:
            for participation in self.idp.live_participations(session):
                if participation.sp != initiator:
                    key = (participation.sp, participation.name_id)
                    grouped.setdefault(key, []).append(participation.session_index)
        notices = [
            Notice(sp, name_id, tuple(indexes)) for (sp, name_id), indexes in grouped.items()
        ]
        if "saml-skip-participant" in self.faults:
            notices = notices[:-1]
        return notices

    def start(
        self,
        initiator: SamlSp | None,
        request_id: str | None,
        relay_state: str | None,
        return_to: str | None,
        notices: list[Notice],
    ) -> Response:
        logout = Logout(
            initiator,
            request_id,
            relay_state,
            return_to,
            notices,
            self.idp.now() + PENDING_LIFETIME,
        )
        return self._next(logout)

    def _next(self, logout: Logout) -> Response:
        while logout.notices:
            notice = logout.notices.pop(0)
            sp = self.idp.sps.get(notice.sp)
            if sp is None:  # forgotten by the bounded registry: it cannot be told
                logout.failed = True
                continue
            now = self.idp.now()
            expiry: float | None = now + messages.MESSAGE_LIFETIME
            if "saml-propagate-no-expiry" in self.faults:
                expiry = None
            request_id, xml = messages.logout_request(
                issuer=self.idp.entity_id,
                destination=sp.slo_url,
                name_id=notice.name_id,
                sp_name_qualifier=sp.entity_id,
                session_indexes=notice.session_indexes,
                not_on_or_after=expiry,
                now=now,
            )
            logout.waiting_for = sp
            self._waiting[request_id] = logout
            return self.idp.send(sp, "SAMLRequest", xml, None, sp.sign_logout)
        return self._finish(logout)

    def answer(self, received: Received) -> Response:
        """A participant's LogoutResponse: a failure is remembered, then the next participant."""
        try:
            root = xmlsig.parse(received.xml)
            response = messages.read_logout_response(received.xml)
        except (xmlsig.XmlError, messages.MessageError) as error:
            return pages.error(str(error))
        logout = self._waiting.pop(response.in_response_to or "", None)
        answers_another = False
        if logout is None:
            # a participant answering the wrong request still answered: when exactly one logout
            # waits for that SP, it goes on (with the participant failed) rather than stalling
            logout, answers_another = self._only_one_waiting_for(response.issuer), True
        if logout is None or self.idp.now() >= logout.expires_at or logout.waiting_for is None:
            return pages.error("No logout in progress waits for this LogoutResponse.")
        sp = logout.waiting_for
        logout.waiting_for = None
        if (answers_another or not self._trusted(sp, received, root, response)
                or response.status != messages.SUCCESS):
            logout.failed = True
        return self._next(logout)

    def _only_one_waiting_for(self, issuer: str | None) -> "Logout | None":
        waiting = [(key, logout) for key, logout in self._waiting.items()
                   if logout.waiting_for is not None and logout.waiting_for.entity_id == issuer]
        if len(waiting) != 1:
            return None
        del self._waiting[waiting[0][0]]
        return waiting[0][1]

    def _trusted(
        self,
        sp: SamlSp,
        received: Received,
        root: xmlsig.Element,
        response: messages.LogoutResponse,
    ) -> bool:
        if response.issuer != sp.entity_id:
            return False
        if response.destination is not None and response.destination != self.idp.slo_url:
            return False
        if not sp.validate_logout:
            return True
        try:
            security.verify(received, root, sp)
        except xmlsig.SignatureError:
            return False
        return True

    def _finish(self, logout: Logout) -> Response:
        if logout.initiator is None or logout.request_id is None:
            if logout.return_to is not None:
                return RedirectResponse(logout.return_to, 302, headers=pages.NO_STORE)
            return pages.signed_out()
        return self.respond(
            logout.initiator, logout.request_id, logout.relay_state, self.status(logout.failed)
        )

    def status(self, failed: bool) -> Status:
        """Success: the IdP session ended; PartialLogout beneath it when a participant was not (§3.7.3.2)."""
        if not failed:
            return Status(messages.SUCCESS)
        if "saml-partial-top-level" in self.faults:
            return Status(messages.PARTIAL_LOGOUT)
        return Status(messages.SUCCESS, messages.PARTIAL_LOGOUT)

    def respond(
        self, sp: SamlSp, request_id: str, relay_state: str | None, status: Status
    ) -> Response:
        """The LogoutResponse to the SP's SLO endpoint, RelayState echoed (Bindings §3.4.3, §3.5.3)."""
        xml = self.response_xml(sp, request_id, status, sp.slo_url)
        if relay_state is not None and "saml-relaystate-altered" in self.faults:
            relay_state = relay_state[: len(relay_state) // 2] or "altered"
        return self.idp.send(sp, "SAMLResponse", xml, relay_state, self.signs_responses(sp))

    def response_xml(
        self, sp: SamlSp, request_id: str, status: Status, destination: str | None
    ) -> bytes:
        in_response_to = request_id
        if "saml-wrong-in-response-to" in self.faults:
            in_response_to = messages.new_id()
        return messages.logout_response(
            issuer=self.idp.entity_id,
            destination=destination,
            in_response_to=in_response_to,
            status=status,
            now=self.idp.now(),
        )

    def signs_responses(self, sp: SamlSp) -> bool:
        return sp.sign_logout and "saml-unsigned-logout-response" not in self.faults
