"""The end-session endpoint and its confirmation step (OpenID Connect RP-Initiated Logout 1.0, https://openid.net/specs/openid-connect-rpinitiated-1_0.html)."""

import hmac
import secrets
import time
from dataclasses import dataclass

from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from mock_idp import id_token, pages
from mock_idp.backchannel import BackChannelLogout
from mock_idp.bounded import BoundedMap
from mock_idp.config import Client
from mock_idp.frontchannel import FrontChannelLogout
from mock_idp.params import ParameterError, read_params, with_query
from mock_idp.provider import Provider
from mock_idp.sessions import Session, clear_session_cookie

# logout_hint and ui_locales are accepted and ignored: the browser's session says who logs out,
# and the mock speaks one language.
END_SESSION_PARAMS = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state")
CONFIRM_PARAMS = ("logout_id", "xsrf", "logout")
# Names the browser, so that only the browser that was asked can confirm (the xsrf check).
BROWSER_COOKIE = "op_browser"
PENDING_LIFETIME = 600
MAX_PENDING = 10_000


class LogoutError(ValueError):
    """A logout request the OP refuses: an error page, no redirect, nobody logged out."""


@dataclass(frozen=True)
class IdTokenHint:
    client: Client
    sid: str | None
    # alg none: only ever accepted under the hint-alg-none-accepted fault.
    unsigned: bool


@dataclass(frozen=True)
class LogoutRequest:
    """A validated request: redirect_uri is set only where the OP may redirect to it."""

    client: Client | None
    redirect_uri: str | None
    state: str | None
    hint: IdTokenHint | None


@dataclass(frozen=True)
class PendingLogout:
    request: LogoutRequest
    xsrf: str
    browser: str
    expires_at: int


class EndSessionEndpoints:
    def __init__(
        self, op: Provider, backchannel: BackChannelLogout, frontchannel: FrontChannelLogout
    ) -> None:
        self.op = op
        self.faults = op.faults
        self.backchannel = backchannel
        self.frontchannel = frontchannel
        self._pending: BoundedMap[str, PendingLogout] = BoundedMap(MAX_PENDING)

    async def end_session(self, request: Request) -> Response:
        source: QueryParams | FormData
        if request.method == "POST":
            if "end-session-get-only" in self.faults:
                return PlainTextResponse("Method Not Allowed", 405, headers={"Allow": "GET"})
            source = await request.form()
        else:
            source = request.query_params
        try:
            logout = self._validate(read_params(source, END_SESSION_PARAMS))
        except (ParameterError, LogoutError) as error:
            return pages.error(str(error))
        session = self.op.sessions.current(request)
        if session is None and "error-when-logged-out" in self.faults:
            return pages.error("You are not signed in.")
        if not self._must_ask(logout, session):
            return await self._log_out(request, logout)
        return self._ask(request, logout)

    async def confirm(self, request: Request) -> Response:
        try:
            params = read_params(await request.form(), CONFIRM_PARAMS)
        except ParameterError as error:
            return pages.error(str(error))
        logout_id = params.get("logout_id", "")
        pending = self._pending.get(logout_id)
        if pending is None or not self._same_browser(request, pending, params.get("xsrf", "")):
            return pages.error("This sign-out request is unknown, expired or from another browser.")
        answer = params.get("logout")
        if answer not in ("yes", "no"):
            return pages.error("Answer yes or no.")
        del self._pending[logout_id]
        if answer == "no":
            return pages.still_signed_in()
        return await self._log_out(request, pending.request)

    def _validate(self, params: dict[str, str]) -> LogoutRequest:
        hint = self._read_hint(params["id_token_hint"]) if "id_token_hint" in params else None
        client = hint.client if hint is not None else None
        if "client_id" in params:
            named = self.op.clients.get(params["client_id"])
            if named is None:
                raise LogoutError("Unknown client_id.")
            if client is None:
                client = named
            elif named is not client and "client-id-mismatch-ignored" not in self.faults:
                raise LogoutError("client_id is not the audience of id_token_hint.")
        uri = params.get("post_logout_redirect_uri")
        return LogoutRequest(
            client,
            self._allowed_redirect(uri, client) if uri is not None else None,
            params.get("state"),
            hint,
        )

    def _read_hint(self, token: str) -> IdTokenHint:
        try:
            header, claims = id_token.read_unverified(token)
        except id_token.InvalidJWT as error:
            raise LogoutError("id_token_hint is not a JWT.") from error
        unsigned = header["alg"] == "none"
        if unsigned and "hint-alg-none-accepted" not in self.faults:
            raise LogoutError("id_token_hint is not signed.")
        if (
            not unsigned
            and "hint-signature-unchecked" not in self.faults
            and not id_token.signed_by(self.op.keys, token, header)
        ):
            raise LogoutError("id_token_hint was not signed by this OP.")
        if claims.get("iss") != self.op.issuer:
            raise LogoutError("id_token_hint was issued by another OP.")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise LogoutError("id_token_hint has no exp.")
        # An expired hint still names the RP; the spec says to accept it (§4).
        if time.time() >= exp and "expired-hint-rejected" in self.faults:
            raise LogoutError("id_token_hint has expired.")
        sid = claims.get("sid")
        return IdTokenHint(
            self._audience(claims.get("aud")), sid if isinstance(sid, str) else None, unsigned
        )

    def _audience(self, aud: object) -> Client:
        if isinstance(aud, list) and len(aud) == 1:
            aud = aud[0]
        client = self.op.clients.get(aud) if isinstance(aud, str) else None
        if client is None:
            raise LogoutError("id_token_hint is not for a client of this OP.")
        return client

    def _allowed_redirect(self, uri: str, client: Client | None) -> str | None:
        """The URI if the OP may redirect there (§3); otherwise the OP shows its own page."""
        if client is None:
            # Without id_token_hint or client_id nothing ties the URI to a client (§3).
            if "redirect-without-hint" in self.faults and any(
                uri in other.post_logout_redirect_uris for other in self.op.clients.all()
            ):
                return uri
            return None
        if "redirect-unregistered" in self.faults:
            return uri
        registered = client.post_logout_redirect_uris
        if "redirect-prefix-match" in self.faults:
            return uri if any(uri.startswith(prefix) for prefix in registered) else None
        # Simple string comparison: an added query or a trailing slash is no match (§3).
        return uri if uri in registered else None

    def _must_ask(self, logout: LogoutRequest, session: Session | None) -> bool:
        if "no-confirmation" in self.faults:
            return False
        hint = logout.hint
        if hint is not None and hint.unsigned and "hint-alg-none-accepted" in self.faults:
            return False
        foreign = hint is not None and (session is None or hint.sid != session.sid)
        # Asking is a MUST without a hint or with one for another session, a SHOULD otherwise (§2):
        # the conformant OP always asks.
        return not (foreign and "foreign-hint-no-confirm" in self.faults)

    def _ask(self, request: Request, logout: LogoutRequest) -> Response:
        browser = request.cookies.get(BROWSER_COOKIE) or secrets.token_urlsafe(32)
        logout_id = secrets.token_urlsafe(32)
        xsrf = secrets.token_urlsafe(32)
        self._pending[logout_id] = PendingLogout(
            logout, xsrf, browser, int(time.time()) + PENDING_LIFETIME
        )
        response = pages.confirm_logout(
            xsrf, logout_id, logout.client.client_id if logout.client is not None else None
        )
        response.set_cookie(BROWSER_COOKIE, browser, httponly=True, samesite="lax")
        return response

    def _same_browser(self, request: Request, pending: PendingLogout, xsrf: str) -> bool:
        browser = request.cookies.get(BROWSER_COOKIE, "")
        return (
            time.time() < pending.expires_at
            and hmac.compare_digest(pending.xsrf.encode(), xsrf.encode())
            and hmac.compare_digest(pending.browser.encode(), browser.encode())
        )

    async def _log_out(self, request: Request, logout: LogoutRequest) -> Response:
        redirect = self._redirect(logout)
        if "logout-keeps-session" in self.faults:
            return _outcome(redirect)
        session = self.op.sessions.current(request)
        logout_uris: list[str] = []
        # Already logged out is no error: the outcome is the same (§2).
        if session is not None:
            # The RPs hear of it before the browser moves on (Back-Channel Logout 1.0 §2.5).
            await self.backchannel.notify(self.op.log_out(session))
            logout_uris = self.frontchannel.logout_uris(session)
        if logout_uris:
            # The browser tells the front-channel RPs, then moves on (Front-Channel Logout 1.0 §3).
            response: Response = pages.frontchannel_logged_out(
                logout_uris, redirect, redirect_first="fcl-redirect-first" in self.faults
            )
        else:
            response = _outcome(redirect)
        clear_session_cookie(response)
        return response

    def _redirect(self, logout: LogoutRequest) -> str | None:
        """Where the browser goes once logged out, state included (§3); None: the OP's own page."""
        if logout.redirect_uri is None:
            return None
        state = logout.state
        if state is not None and "state-dropped" in self.faults:
            state = None
        elif state is None and "state-invented" in self.faults:
            state = secrets.token_urlsafe(8)
        query = {"state": state} if state is not None else {}
        return with_query(logout.redirect_uri, query)


def _outcome(redirect: str | None) -> Response:
    return pages.signed_out() if redirect is None else RedirectResponse(redirect, 302)
