"""Session participants: which SPs each IdP session logged in to, with the SessionIndex and NameID each was given (SAML 2.0 Core §3.7.3.2, https://docs.oasis-open.org/security/saml/v2.0/saml-core-2.0-os.pdf)."""

import secrets
from dataclasses import dataclass

from mock_idp.bounded import BoundedMap
from mock_idp.saml.messages import NameId
from mock_idp.sessions import Session

MAX_PARTICIPATIONS = 50_000


@dataclass(frozen=True)
class Participation:
    """One SP's part in one IdP session: what the IdP asserted to it."""

    session: Session
    sp: str
    session_index: str
    name_id: NameId


class Participations:
    def __init__(self) -> None:
        self._by_index: BoundedMap[str, Participation] = BoundedMap(MAX_PARTICIPATIONS)
        # (session handle, SP entityID) -> SessionIndex: one index per session and SP.
        self._index_of: BoundedMap[tuple[str, str], str] = BoundedMap(MAX_PARTICIPATIONS)

    def join(self, session: Session, sp: str, name_id: NameId) -> Participation:
        """The SP takes part in the session; a second login keeps its SessionIndex."""
        key = (session.handle, sp)
        index = self._index_of.get(key)
        if index is None or index not in self._by_index:
            index = "_" + secrets.token_hex(16)
            self._index_of[key] = index
        participation = Participation(session, sp, index, name_id)
        self._by_index[index] = participation
        return participation

    def by_index(self, index: str) -> Participation | None:
        return self._by_index.get(index)

    def of_session(self, session: Session) -> list[Participation]:
        return [p for p in self._by_index.values() if p.session is session]

    def of_sp(self, sp: str) -> list[Participation]:
        return [p for p in self._by_index.values() if p.sp == sp]

    def drop(self, session: Session) -> None:
        for participation in self.of_session(session):
            del self._by_index[participation.session_index]
            self._index_of.pop((session.handle, participation.sp), None)
