"""OP sessions: one per browser, found by an HttpOnly cookie, each with its public sid (OpenID Connect Front-Channel Logout 1.0 §2, https://openid.net/specs/openid-connect-frontchannel-1_0.html#OPLogout)."""

import secrets
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from mock_idp.bounded import BoundedMap
from mock_idp.config import User

SESSION_COOKIE = "op_session"
MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class Session:
    sid: str
    # The cookie value; secret, unlike the sid that RPs see in ID tokens.
    handle: str
    user: User
    auth_time: int


class SessionStore:
    def __init__(self) -> None:
        self._by_handle: BoundedMap[str, Session] = BoundedMap(MAX_SESSIONS)

    def create(self, user: User, now: int) -> Session:
        session = Session(secrets.token_urlsafe(16), secrets.token_urlsafe(32), user, now)
        self._by_handle[session.handle] = session
        return session

    def current(self, request: Request) -> Session | None:
        """The live session of the browser that sent this request, if any."""
        return self._by_handle.get(request.cookies.get(SESSION_COOKIE, ""))

    def alive(self, session: Session) -> bool:
        return self._by_handle.get(session.handle) is session

    def of_user(self, user: User) -> list[Session]:
        return [session for session in self._by_handle.values() if session.user is user]

    def end(self, session: Session) -> None:
        self._by_handle.pop(session.handle, None)


def set_session_cookie(response: Response, session: Session) -> None:
    response.set_cookie(SESSION_COOKIE, session.handle, httponly=True, samesite="lax")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
