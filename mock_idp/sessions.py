"""OP sessions: one per browser, found by an HttpOnly cookie, each with its public sid (OpenID Connect Front-Channel Logout 1.0 §2, https://openid.net/specs/openid-connect-frontchannel-1_0.html#OPLogout)."""

import secrets
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mock_idp.bounded import BoundedMap
from mock_idp.config import Client, User

SESSION_COOKIE = "op_session"
MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class Session:
    sid: str
    # The cookie value; secret, unlike the sid that RPs see in ID tokens.
    handle: str
    user: User
    auth_time: int
    # The clients the OP issued a code in this session, in order: the RPs to tell when it ends
    # (Back-Channel Logout 1.0 §2.3, Front-Channel Logout 1.0 §3). Filled as the session is used;
    # not part of its identity.
    clients: dict[str, Client] = field(default_factory=dict, compare=False)


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

    def by_sid(self, sid: str) -> Session | None:
        """The live session with this sid, if any."""
        return next((s for s in self._by_handle.values() if s.sid == sid), None)

    def end(self, session: Session) -> None:
        self._by_handle.pop(session.handle, None)

    async def describe_current(self, request: Request) -> Response:
        """GET /_mock/oidc/session (mock-only): the browser's OP session as {sid, sub}; 404 if none."""
        session = self.current(request)
        if session is None:
            return JSONResponse({"error": "this browser has no OP session"}, 404)
        return JSONResponse({"sid": session.sid, "sub": session.user.sub})


def set_session_cookie(response: Response, session: Session) -> None:
    response.set_cookie(SESSION_COOKIE, session.handle, httponly=True, samesite="lax")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
