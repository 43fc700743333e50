"""Federated logout: once the mock's own session ended, the session at the upstream identity provider it came from ends too, and the browser comes back to where the logout should end (Auth0 logout, https://auth0.com/docs/authenticate/login/logout#log-out-a-user)."""

import secrets
import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mock_idp import pages
from mock_idp.backchannel import BackChannelLogout
from mock_idp.bounded import BoundedMap
from mock_idp.params import ParameterError, read_params
from mock_idp.provider import Provider
from mock_idp.saml import bindings, messages
from mock_idp.saml.bindings import Received
from mock_idp.sessions import Session, clear_session_cookie
from mock_idp.upstream import Connection, OidcLink, Upstreams
from mock_idp.upstream_http import UpstreamError
from mock_idp.upstream_oidc import OidcConnection
from mock_idp.upstream_saml import SamlConnection

LOGOUT_LIFETIME = 600
MAX_PENDING = 10_000


@dataclass(frozen=True)
class PendingLogout:
    """A federated logout waiting for the upstream to hand the browser back, under a random key."""

    connection: Connection
    # Where the browser goes at the end; None: the mock's signed-out page.
    return_to: str | None
    expires_at: float
    # SAML: the ID of the LogoutRequest that the upstream's LogoutResponse must answer.
    request_id: str = ""


class Federation:
    def __init__(self, op: Provider, upstreams: Upstreams, backchannel: BackChannelLogout) -> None:
        self.op = op
        self.faults = op.faults
        self.backchannel = backchannel
        self.upstreams = upstreams
        self.logged_out_uri = f"{op.issuer}/upstream/oidc/logged-out"
        # Keys are the OIDC state or the SAML RelayState: the browser carries nothing else back.
        self._pending: BoundedMap[str, PendingLogout] = BoundedMap(MAX_PENDING)

    async def log_out_upstream(
        self, request: Request, ended_session: Session, return_to: str | None
    ) -> Response | None:
        """After ended_session ended here: the upstream's logout request, or None when the session
        came from no connection (or its upstream has no logout), so the caller answers as usual.

        return_to must already be allowed, and a safe header value: the browser is sent there as
        it is once the upstream is done. The caller clears the session cookie on the answer.
        """
        link = self.upstreams.take_link(ended_session)
        if link is None or "upstream-logout-skipped" in self.faults:
            return None
        key = secrets.token_urlsafe(32)
        expires_at = time.time() + LOGOUT_LIFETIME
        try:
            if isinstance(link, OidcLink):
                url = await link.connection.end_session_url(link.login, self.logged_out_uri, key)
                if url is None:
                    return None
                pending = PendingLogout(link.connection, return_to, expires_at)
            else:
                # Auth0 sends the SessionIndex of the login, or none when the assertion had none.
                with_index = "saml-logout-without-session-index" not in self.faults
                request_id, url = await link.connection.logout_request(
                    link.login, key, session_index=with_index
                )
                pending = PendingLogout(link.connection, return_to, expires_at, request_id)
        except UpstreamError as error:
            return pages.error(f"The upstream identity provider cannot log out: {error}", 502)
        self._pending[key] = pending
        return RedirectResponse(url, 302, headers=pages.NO_STORE)

    async def oidc_logged_out(self, request: Request) -> Response:
        """GET /upstream/oidc/logged-out: the upstream's post-logout redirect (RP-Initiated §3)."""
        try:
            key = read_params(request.query_params, ("state",)).get("state", "")
        except ParameterError as error:
            return pages.error(str(error))
        pending = self._pending.get(key)
        if pending is None or not isinstance(pending.connection, OidcConnection):
            return pages.error("This sign-out is unknown or has expired.")
        del self._pending[key]
        return self._finish(pending)

    async def saml_logout(self, request: Request) -> Response:
        """GET or POST /logout (Auth0's SAML SLO URL): an upstream's LogoutResponse or Request."""
        try:
            received = await bindings.read_request(request)
        except bindings.BindingError as error:
            return pages.error(str(error))
        if received.kind == "SAMLRequest":
            return await self._logout_from_upstream(request, received)
        key = received.relay_state or ""
        pending = self._pending.get(key)
        if pending is None or not isinstance(pending.connection, SamlConnection):
            return pages.error("This sign-out is unknown or has expired.")
        try:
            await pending.connection.read_logout_response(received, pending.request_id)
        except UpstreamError as error:
            # Left pending: a forged answer must not keep the real one from finishing the logout.
            return pages.error(f"The upstream's LogoutResponse is not valid: {error}")
        del self._pending[key]
        # Whatever its status: the mock's own session ended, and Auth0 tells the application
        # nothing of the upstream's outcome.
        return self._finish(pending)

    async def _logout_from_upstream(self, request: Request, received: Received) -> Response:
        """An upstream's LogoutRequest (it logs out, and propagates): the sessions that came from
        it for that principal end here, the RPs hear of it, and the upstream gets its answer."""
        try:
            issuer = messages.read_logout_request(received.xml).issuer
        except messages.MessageError as error:
            return pages.error(str(error))
        connection = await self._saml_connection(issuer)
        if connection is None:
            return pages.error("The LogoutRequest comes from no SAML upstream of the mock.")
        try:
            logout = await connection.read_logout_request(received)
            url = await connection.logout_response(logout.id, received.relay_state)
        except UpstreamError as error:
            return pages.error(f"The upstream's LogoutRequest is not valid: {error}")
        browser = self.op.sessions.current(request)
        ended = [
            gone
            for session in self.upstreams.sessions_from(connection, logout)
            for gone in self.op.log_out(session)
        ]
        for session in ended:
            self.upstreams.take_link(session)
        # The RPs hear of it before the browser moves on (Back-Channel Logout 1.0 §2.5).
        await self.backchannel.notify(ended)
        response = RedirectResponse(url, 302, headers=pages.NO_STORE)
        if browser is not None and not self.op.sessions.alive(browser):
            clear_session_cookie(response)
        return response

    async def _saml_connection(self, issuer: str | None) -> SamlConnection | None:
        for connection in self.upstreams.connections.values():
            if isinstance(connection, SamlConnection):
                try:
                    if (await connection.metadata()).entity_id == issuer:
                        return connection
                except UpstreamError:
                    continue  # an upstream that cannot be read sent nothing trustworthy
        return None

    def _finish(self, pending: PendingLogout) -> Response:
        if time.time() >= pending.expires_at:
            return pages.error("This sign-out has expired.")
        if pending.return_to is None or "chain-broken-after-first-hop" in self.faults:
            return pages.signed_out()
        # Exactly as given, like /v2/logout's own redirect: RedirectResponse would re-quote it, and
        # the caller let through only a returnTo that is a safe header value.
        return Response(status_code=302, headers={"Location": pending.return_to, **pages.NO_STORE})
