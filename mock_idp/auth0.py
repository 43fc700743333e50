"""Auth0's logout endpoint: /v2/logout with returnTo, client_id and federated (https://auth0.com/docs/authenticate/login/logout)."""

from typing import Protocol

from starlette.requests import Request
from starlette.responses import Response

from mock_idp import pages
from mock_idp.allowlist import Entry, ReturnToMatcher, parse_list
from mock_idp.backchannel import BackChannelLogout
from mock_idp.config import Client
from mock_idp.params import ParameterError, read_params
from mock_idp.provider import Provider
from mock_idp.sessions import Session, clear_session_cookie

# federated counts by its presence (?federated), so it is read apart.
LOGOUT_PARAMS = ("returnTo", "client_id")


class FederatedLogout(Protocol):
    """Logs the browser out of the upstream identity provider its session came from."""

    async def log_out_upstream(
        self, request: Request, ended_session: Session, return_to: str | None
    ) -> Response | None:
        """Where to send the browser (the upstream's logout, which ends at return_to), or None
        when the session did not come from an upstream."""


class Auth0LogoutEndpoint:
    def __init__(self, op: Provider, backchannel: BackChannelLogout) -> None:
        self.op = op
        self.faults = op.faults
        self.backchannel = backchannel
        self.matcher = ReturnToMatcher(op.faults)

    async def logout(self, request: Request) -> Response:
        """GET /v2/logout: end the browser's Auth0 session, then go to returnTo if it is allowed.

        A refused request (a repeated parameter, an unknown client_id, a returnTo outside the list)
        ends nothing and redirects nowhere.
        """
        try:
            params = read_params(request.query_params, LOGOUT_PARAMS)
        except ParameterError as error:
            return pages.error(str(error))
        client = None
        if "client_id" in params:
            client = self.op.clients.get(params["client_id"])
            if client is None:
                return pages.error("Unknown client_id.")
        return_to = params.get("returnTo")
        if return_to is not None and not self.matcher.allowed(return_to, self._allowlist(client)):
            listed = "the application's" if client is not None else "the tenant's"
            message = f"returnTo is not in {listed} Allowed Logout URLs."
            if "auth0-refused-redirect-page" in self.faults:
                return pages.error_sent_on(message, return_to)
            # The page names no URL: nothing on it may take the browser there.
            return pages.error(message)
        session = self.op.sessions.current(request)
        kept = "auth0-session-kept" in self.faults
        # Already logged out is no error: the outcome is the same.
        if session is not None and not kept:
            # The RPs hear of it before the browser moves on (Back-Channel Logout 1.0 §2.5).
            await self.backchannel.notify(self.op.log_out(session))
        response = None
        federated = "federated" in request.query_params
        if federated and session is not None and "auth0-federated-ignored" not in self.faults:
            response = await self._upstream(request, session, return_to)
        if response is None:
            response = _to(return_to) if return_to is not None else pages.signed_out()
        if not kept:
            clear_session_cookie(response)
        return response

    def _allowlist(self, client: Client | None) -> tuple[Entry, ...]:
        """The application's list with client_id, the tenant's without (AUTH0-returnTo-lists)."""
        settings = self.op.config.auth0
        tenant = parse_list(settings.allowed_logout_urls if settings is not None else "")
        if client is None:
            if "auth0-client-list-without-client-id" in self.faults:
                return tenant + tuple(
                    entry
                    for other in self.op.clients.all()
                    for entry in parse_list(other.allowed_logout_urls)
                )
            return tenant
        if "auth0-tenant-list-with-client-id" in self.faults:
            return tenant
        return parse_list(client.allowed_logout_urls)

    async def _upstream(
        self, request: Request, session: Session, return_to: str | None
    ) -> Response | None:
        # create_app sets it (mock_idp/federation.py); a Provider without one has no upstreams.
        federation: FederatedLogout | None = getattr(self.op, "federation", None)
        if federation is None:
            return None
        return await federation.log_out_upstream(request, session, return_to)


def _to(return_to: str) -> Response:
    # Exactly as given: RedirectResponse would re-quote it. The matcher let only printable ASCII
    # without spaces through, so it is a safe header value.
    return Response(status_code=302, headers={"Location": return_to, **pages.NO_STORE})
