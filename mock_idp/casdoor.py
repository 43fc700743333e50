"""Casdoor's single sign-out: the SSO logout API and its signed logout notifications (https://casdoor.org/docs/session/single-sign-out)."""

import asyncio
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from mock_idp.backchannel import BackChannelLogout
from mock_idp.client_auth import basic_credentials, client_with_secret
from mock_idp.config import CasdoorSettings, Client, User
from mock_idp.oauth_responses import NO_STORE
from mock_idp.outbound import Outbound
from mock_idp.provider import Provider
from mock_idp.sessions import Session, clear_session_cookie
from mock_idp.tokens import Token

# logoutAll values that end every session of the user; absent counts as empty (backward compatible).
LOGOUT_ALL = ("", "true", "1")
# casdoor-stale-timestamp: how old the notifications say they are.
STALE_BY = 3600


class ApiError(Exception):
    """A request the API refuses, answered {"status": "error"} with this HTTP status; nothing ends."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class Caller:
    """Who asks: the user whose sessions may end, and the sid of the session the request speaks
    for (an access token's may have ended already).

    An application (client credentials) names a user but speaks for none of their sessions.
    """

    user: User
    sid: str | None
    application: bool


@dataclass(frozen=True)
class Receiver:
    url: str
    # The secret of the receiver's client, which signs what it gets.
    secret: str


class SsoLogoutEndpoint:
    def __init__(self, op: Provider, backchannel: BackChannelLogout, outbound: Outbound) -> None:
        self.op = op
        self.faults = op.faults
        self.backchannel = backchannel
        self.outbound = outbound
        settings = op.config.casdoor or CasdoorSettings()
        self.organization = settings.organization
        self._receivers = [
            Receiver(receiver.url, _secret_of(op.config.client(receiver.client_id)))
            for receiver in settings.notification_receivers
        ]
        # casdoor-fixed-nonce: the nonce every notification of the run carries.
        self._fixed_nonce = secrets.token_hex(16)

    async def sso_logout(self, request: Request) -> Response:
        """GET or POST /api/sso-logout?logoutAll=...: end the user's sessions, tell everyone."""
        if request.method == "GET" and "casdoor-get-refused" in self.faults:
            return PlainTextResponse("Method Not Allowed", 405, headers={"Allow": "POST"})
        logout_all = _first(request.query_params, "logoutAll")
        asked_all = logout_all is None or logout_all in LOGOUT_ALL
        try:
            caller = self._authenticate(request)
        except ApiError as error:
            return _answer("error", str(error), error.status_code)
        if caller.application and not asked_all:
            # Our reading: an application speaks for no session of the user, so "the current
            # session" names none.
            return _answer(
                "error",
                "With client credentials only logoutAll=true can be asked: there is no current "
                "session to end.",
                400,
            )
        browser = self.op.sessions.current(request)
        ending, listed, tokens = self._scope(caller, asked_all)
        hashes = self._hashes(tokens, int(time.time()))
        for session in ending:
            self.op.sessions.end(session)
        if "casdoor-tokens-survive" not in self.faults:
            for token in tokens:
                token.revoke("logout")
        # Everyone hears of it before the answer: RPs by back-channel, receivers by notification.
        await asyncio.gather(
            self._tell_rps(ending),
            self._notify(caller.user, [session.sid for session in listed], hashes),
        )
        response = _answer("ok", "")
        if browser is not None and browser in ending:
            clear_session_cookie(response)
        return response

    def _scope(
        self, caller: Caller, asked_all: bool
    ) -> tuple[list[Session], list[Session], list[Token]]:
        """The sessions that end, those the notifications list, and the tokens that end."""
        ends_all = asked_all
        if asked_all and "casdoor-logout-all-ignored" in self.faults:
            ends_all = False
        if not asked_all and "casdoor-session-only-ends-all" in self.faults:
            ends_all = True
        everyone = self.op.sessions.of_user(caller.user)
        session = self.op.sessions.by_sid(caller.sid) if caller.sid is not None else None
        current = [session] if session is not None else []
        ending = everyone if ends_all else current
        listed = ending
        if not asked_all and "casdoor-all-sessions-listed" in self.faults:
            listed = everyone
        if ends_all:
            # Every token issued to the user, offline_access ones and those of sessions that
            # ended before included.
            return ending, listed, self.op.tokens.of_user(caller.user)
        # The current session's tokens, even once it ended (an offline grant mints more).
        return ending, listed, self.op.tokens.of_session(caller.sid) if caller.sid else []

    def _authenticate(self, request: Request) -> Caller:
        """The caller by access token, session cookie or client credentials, in this order."""
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            token = self.op.tokens.find(value.strip(), ("access_token",))
            # An unknown, revoked or expired token proves nothing; the other ways still may.
            if token is not None and token.inactive_reason(int(time.time())) is None:
                grant = token.grant
                return Caller(grant.user, grant.sid, application=False)
        session = self.op.sessions.current(request)
        if session is not None:
            return Caller(session.user, session.sid, application=False)
        if self._application(request, scheme, value) is None:
            raise ApiError(
                401,
                "Sign in first: send an access token, the session cookie or client credentials.",
            )
        # Client credentials prove the application, not a user: the request names the user.
        user = self.op.config.user(_first(request.query_params, "user") or "")
        if user is None:
            raise ApiError(400, "With client credentials, name a known user in the user parameter.")
        return Caller(user, None, application=True)

    def _application(self, request: Request, scheme: str, value: str) -> Client | None:
        credentials: tuple[str, str] | None
        if scheme.lower() == "basic":
            credentials = basic_credentials(value)
        else:
            client_id = _first(request.query_params, "clientId")
            secret = _first(request.query_params, "clientSecret")
            credentials = (client_id, secret) if client_id and secret else None
        return client_with_secret(self.op.clients, *credentials) if credentials else None

    def _hashes(self, tokens: list[Token], now: int) -> list[str]:
        """Hex SHA-256 of each access token this logout invalidates (those still valid before it)."""
        digest = hashlib.sha1 if "casdoor-raw-token-hashes" in self.faults else hashlib.sha256
        return [
            digest(token.value.encode()).hexdigest()
            for token in tokens
            if token.type == "access_token" and token.inactive_reason(now) is None
        ]

    async def _tell_rps(self, ending: list[Session]) -> None:
        if "bcl-casdoor-not-sent" in self.faults:
            return
        await self.backchannel.notify(ending)

    async def _notify(self, user: User, sids: list[str], hashes: list[str]) -> None:
        if "casdoor-no-notification" in self.faults:
            return
        await self.outbound.all(
            self._send(receiver.url, self._notification(receiver, user, sids, hashes))
            for receiver in self._receivers
        )

    async def _send(self, url: str, notification: dict[str, Any]) -> None:
        # No retry: the notification is sent once, whatever the receiver answers.
        await self.outbound.post(url, json=notification)

    def _notification(
        self, receiver: Receiver, user: User, sids: list[str], hashes: list[str]
    ) -> dict[str, Any]:
        nonce = self._fixed_nonce if "casdoor-fixed-nonce" in self.faults else secrets.token_hex(16)
        timestamp = int(time.time())
        if "casdoor-stale-timestamp" in self.faults:
            timestamp -= STALE_BY
        signed = [self.organization, user.username, nonce, str(timestamp)]
        if "casdoor-bad-signature" in self.faults:
            signed = [self.organization, user.username, str(timestamp), nonce]
        message = "|".join([*signed, ",".join(sids), ",".join(hashes)])
        notification: dict[str, Any] = {
            "owner": self.organization,
            "name": user.username,
            "displayName": user.claims.get("name", user.username),
            "email": user.claims.get("email", ""),
            "phone": user.claims.get("phone_number", ""),
            "id": user.sub,
            "event": "sso-logout",
            "sessionIds": sids,
            "accessTokenHashes": hashes,
            "nonce": nonce,
            "timestamp": timestamp,
            "signature": hmac.new(
                receiver.secret.encode(), message.encode(), hashlib.sha256
            ).hexdigest(),
        }
        if "casdoor-missing-field" in self.faults:
            del notification["phone"]
            notification["timestamp"] = str(timestamp)
        return notification


def _secret_of(client: Client | None) -> str:
    assert client is not None  # MockConfig checks that receivers name its clients
    return client.client_secret


def _first(params: QueryParams, name: str) -> str | None:
    """The first value of a parameter, as Casdoor (Go's Values.Get) reads it."""
    values = params.getlist(name)
    return values[0] if values else None


def _answer(status: str, message: str, status_code: int = 200) -> JSONResponse:
    """Casdoor's standard answer: {"status": "ok" or "error", "msg", "data"}."""
    return JSONResponse(
        {"status": status, "msg": message, "data": ""}, status_code, headers=NO_STORE
    )
