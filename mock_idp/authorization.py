"""The authorization endpoint and its login form, code flow only (OpenID Connect Core 1.0 §3.1.2, https://openid.net/specs/openid-connect-core-1_0.html#AuthorizationEndpoint)."""

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mock_idp import pages
from mock_idp.bounded import BoundedMap
from mock_idp.config import Client
from mock_idp.discovery import SCOPES
from mock_idp.params import ParameterError, read_params, with_query
from mock_idp.provider import Provider
from mock_idp.sessions import Session, set_session_cookie
from mock_idp.tokens import Grant

AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "prompt",
    "code_challenge",
    "code_challenge_method",
    # Auth0's: log in through this upstream identity provider rather than the login form.
    "connection",
)
LOGIN_PARAMS = ("interaction", "username", "password")
INTERACTION_LIFETIME = 600
MAX_INTERACTIONS = 10_000


@dataclass(frozen=True)
class AuthorizationRequest:
    client: Client
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    nonce: str | None
    code_challenge: str | None


# What to answer once the user signed in: the code redirect, or a SAML Response form.
Completion = Callable[[Session], Response]


@dataclass(frozen=True)
class Interaction:
    """A request (OIDC authorization or SAML AuthnRequest) waiting for the user to sign in."""

    complete: Completion
    expires_at: int


class AuthorizationEndpoints:
    def __init__(self, op: Provider) -> None:
        self.op = op
        self._interactions: BoundedMap[str, Interaction] = BoundedMap(MAX_INTERACTIONS)
        self._script_login = op.config.login_page == "script"

    async def authorize(self, request: Request) -> Response:
        # OIDC Core §3.1.2.1: the endpoint takes GET and form-encoded POST alike.
        source = request.query_params if request.method == "GET" else await request.form()
        try:
            params = read_params(source, AUTHORIZE_PARAMS)
        except ParameterError as error:
            return pages.error(str(error))
        client = self.op.clients.get(params.get("client_id", ""))
        if client is None:
            return pages.error("Unknown client_id.")
        redirect_uri = params.get("redirect_uri", "")
        # An unverified redirect_uri is never redirected to, not even with an error (RFC 6749 §4.1.2.1).
        if redirect_uri not in client.redirect_uris:
            return pages.error("redirect_uri is not registered for this client.")
        state = params.get("state")

        def refuse(error: str, description: str) -> RedirectResponse:
            answer = {"error": error, "error_description": description}
            if state is not None:
                answer["state"] = state
            return RedirectResponse(with_query(redirect_uri, answer), 302)

        if params.get("response_type") != "code":
            return refuse("unsupported_response_type", "only response_type=code is supported")
        requested = params.get("scope", "").split()
        if "openid" not in requested:
            return refuse("invalid_scope", "scope must include openid")
        code_challenge = params.get("code_challenge")
        if code_challenge is not None and params.get("code_challenge_method") != "S256":
            return refuse("invalid_request", "code_challenge_method must be S256")
        # Without a secret, only PKCE ties the code to the app that asked for it (RFC 9700 §2.1.1).
        if code_challenge is None and client.public:
            return refuse("invalid_request", "a public client must send a code_challenge (PKCE)")
        prompt = params.get("prompt", "").split()
        if "none" in prompt and len(prompt) > 1:
            return refuse("invalid_request", "prompt=none cannot be combined with other values")
        connection = params.get("connection")
        if connection is not None and self.op.upstreams.get(connection) is None:
            return refuse("invalid_request", "the connection is unknown")
        authorization = AuthorizationRequest(
            client,
            redirect_uri,
            tuple(scope for scope in SCOPES if scope in requested),
            state,
            params.get("nonce"),
            code_challenge,
        )
        session = self.op.sessions.current(request)
        # prompt=login: sign in again even so (OIDC Core §3.1.2.1); the new session's cookie then
        # replaces this one in the browser, and this one lives on until it is logged out.
        if session is not None and "login" not in prompt:
            return self._complete(authorization, session)
        if "none" in prompt:
            return refuse("login_required", "the end-user is not logged in")
        if connection is not None:
            return await self.op.upstreams.log_in(
                connection, lambda signed_in: self._complete(authorization, signed_in), refuse
            )
        return self.ask_login(lambda signed_in: self._complete(authorization, signed_in))

    def ask_login(self, complete: Completion) -> Response:
        """The login form; once the user signs in, a new session and complete's answer."""
        interaction = secrets.token_urlsafe(32)
        self._interactions[interaction] = Interaction(
            complete, int(time.time()) + INTERACTION_LIFETIME
        )
        return pages.login(interaction, script=self._script_login)

    async def login(self, request: Request) -> Response:
        try:
            params = read_params(await request.form(), LOGIN_PARAMS)
        except ParameterError as error:
            return pages.error(str(error))
        interaction_id = params.get("interaction", "")
        interaction = self._interactions.get(interaction_id)
        now = int(time.time())
        if interaction is None or now >= interaction.expires_at:
            return pages.error(
                "This sign-in is unknown or has expired; start again at the application."
            )
        user = self.op.config.user(params.get("username", ""))
        password = params.get("password", "").encode()
        if user is None or not hmac.compare_digest(user.password.encode(), password):
            return pages.login(
                interaction_id, error="Wrong username or password.", script=self._script_login
            )
        del self._interactions[interaction_id]
        session = self.op.sessions.create(user, now)
        response = interaction.complete(session)
        set_session_cookie(response, session)
        return response

    def _complete(self, authorization: AuthorizationRequest, session: Session) -> RedirectResponse:
        # Issuing a code logs the client in through this session, prompt=none included.
        session.clients[authorization.client.client_id] = authorization.client
        grant = Grant(
            authorization.client.client_id,
            session.user,
            session.sid,
            authorization.scopes,
            authorization.nonce,
            session.auth_time,
        )
        code = self.op.tokens.issue_code(
            grant, authorization.redirect_uri, authorization.code_challenge, int(time.time())
        )
        answer = {"code": code}
        if authorization.state is not None:
            answer["state"] = authorization.state
        return RedirectResponse(with_query(authorization.redirect_uri, answer), 302)
