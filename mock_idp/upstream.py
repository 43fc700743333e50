"""Logging in through an upstream identity provider, an enterprise connection as Auth0 calls it: the browser signs in there, comes back, and the mock opens its own session for the user the upstream vouched for (https://auth0.com/docs/authenticate/enterprise-connections)."""

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mock_idp import pages
from mock_idp.authorization import Completion
from mock_idp.bounded import BoundedMap
from mock_idp.config import OidcUpstream, User
from mock_idp.id_token import SCOPE_CLAIMS
from mock_idp.params import ParameterError, read_params
from mock_idp.provider import Provider
from mock_idp.saml import bindings, messages
from mock_idp.saml.credentials import Credentials
from mock_idp.sessions import MAX_SESSIONS, Session, set_session_cookie
from mock_idp.upstream_http import UpstreamError, UpstreamHttp
from mock_idp.upstream_oidc import OidcConnection, OidcLogin
from mock_idp.upstream_saml import SamlConnection, SamlLogin, SpEndpoints, sp_metadata_xml

CALLBACK_PARAMS = ("state", "code", "error")
LOGIN_LIFETIME = 600
MAX_PENDING = 10_000
MAX_USERS = 10_000
# The upstream's claims (OIDC) or attributes (SAML) that become the user's claims at the mock.
PASSED_ON = frozenset(claim for claims in SCOPE_CLAIMS.values() for claim in claims)

Connection = OidcConnection | SamlConnection
# The RP's error redirect for a request that cannot be completed (RFC 6749 §4.1.2.1).
Refusal = Callable[[str, str], Response]


@dataclass(frozen=True)
class PendingLogin:
    """An authorization request waiting for the upstream's answer, kept under a random key."""

    connection: Connection
    complete: Completion
    refuse: Refusal
    expires_at: float
    # What the answer must match: OIDC, the nonce and PKCE verifier; SAML, the AuthnRequest's ID.
    nonce: str = ""
    verifier: str = ""
    request_id: str = ""


@dataclass(frozen=True)
class OidcLink:
    """An OP session opened through an OIDC connection, with what the upstream's ID Token said."""

    connection: OidcConnection
    login: OidcLogin


@dataclass(frozen=True)
class SamlLink:
    """An OP session opened through a SAML connection, with what the upstream's assertion said."""

    connection: SamlConnection
    login: SamlLogin


Link = OidcLink | SamlLink


class Upstreams:
    def __init__(self, op: Provider, credentials: Credentials, http: UpstreamHttp) -> None:
        self.op = op
        issuer = op.issuer
        # Fixed by the issuer, so that whoever registers the mock at an upstream knows them.
        self.sp = SpEndpoints(
            f"{issuer}/upstream/saml/metadata", f"{issuer}/upstream/saml/acs", f"{issuer}/logout"
        )
        self.redirect_uri = f"{issuer}/upstream/oidc/callback"
        self.credentials = credentials
        self.connections: dict[str, Connection] = {
            upstream.name: (
                OidcConnection(upstream, self.redirect_uri, http)
                if isinstance(upstream, OidcUpstream)
                else SamlConnection(upstream, self.sp, credentials, http)
            )
            for upstream in op.config.upstreams
        }
        self._pending: BoundedMap[str, PendingLogin] = BoundedMap(MAX_PENDING)
        # Users made on the fly, by sub; one object per sub, as sessions.of_user compares identity.
        self._users: BoundedMap[str, User] = BoundedMap(MAX_USERS)
        # Where each OP session came from, by sid.
        self._links: BoundedMap[str, Link] = BoundedMap(MAX_SESSIONS)

    def get(self, name: str) -> Connection | None:
        return self.connections.get(name)

    async def log_in(self, name: str, complete: Completion, refuse: Refusal) -> Response:
        """Send the browser to the connection's upstream, instead of the login form."""
        connection = self.connections[name]
        key = secrets.token_urlsafe(32)
        expires_at = time.time() + LOGIN_LIFETIME
        try:
            if isinstance(connection, OidcConnection):
                nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(48)
                url = await connection.authorization_url(key, nonce, verifier)
                pending = PendingLogin(
                    connection, complete, refuse, expires_at, nonce=nonce, verifier=verifier
                )
            else:
                request_id, url = await connection.authn_request(key)
                pending = PendingLogin(
                    connection, complete, refuse, expires_at, request_id=request_id
                )
        except UpstreamError as error:
            return pages.error(f"The identity provider of connection {name} failed: {error}", 502)
        self._pending[key] = pending
        return RedirectResponse(url, 302, headers=pages.NO_STORE)

    def take_link(self, session: Session) -> Link | None:
        """Where this session came from, if through a connection; forgotten once asked."""
        return self._links.pop(session.sid, None)

    def sessions_from(
        self, connection: SamlConnection, request: messages.LogoutRequest
    ) -> list[Session]:
        """The live OP sessions that came through this connection for whom the request names."""
        named = [
            sid
            for sid, link in self._links.items()
            if isinstance(link, SamlLink)
            and link.connection is connection
            and connection.names(link.login, request)
        ]
        return [session for sid in named if (session := self.op.sessions.by_sid(sid)) is not None]

    async def oidc_callback(self, request: Request) -> Response:
        """GET /upstream/oidc/callback: the upstream's authorization response (Core §3.1.2.5)."""
        try:
            params = read_params(request.query_params, CALLBACK_PARAMS)
        except ParameterError as error:
            return pages.error(str(error))
        pending = self._take(params.get("state"))
        if pending is None or not isinstance(pending.connection, OidcConnection):
            return pages.error(
                "This sign-in is unknown or has expired; start again at the application."
            )
        if "error" in params:
            return pending.refuse(
                "access_denied", f"the upstream identity provider answered {params['error']}"
            )
        try:
            login = await pending.connection.redeem(
                params.get("code", ""), pending.nonce, pending.verifier
            )
        except UpstreamError as error:
            return pending.refuse("access_denied", f"the upstream identity provider: {error}")
        return self._open_session(
            pending, login.sub, login.claims, OidcLink(pending.connection, login)
        )

    async def saml_acs(self, request: Request) -> Response:
        """POST /upstream/saml/acs: the upstream's Response over HTTP-POST (Profiles §4.1.4.2)."""
        try:
            received = bindings.read_post(await request.form())
        except bindings.BindingError as error:
            return pages.error(str(error))
        if received.kind != "SAMLResponse":
            return pages.error("The assertion consumer service takes SAML Responses only.")
        # Unsolicited Responses are refused: each must answer an AuthnRequest of the mock.
        pending = self._take(received.relay_state)
        if pending is None or not isinstance(pending.connection, SamlConnection):
            return pages.error(
                "This sign-in is unknown or has expired; start again at the application."
            )
        try:
            login = await pending.connection.read_response(received, pending.request_id)
        except UpstreamError as error:
            return pending.refuse("access_denied", f"the upstream identity provider: {error}")
        return self._open_session(
            pending, login.name_id, login.attributes, SamlLink(pending.connection, login)
        )

    async def sp_metadata(self, request: Request) -> Response:
        """GET /upstream/saml/metadata: the mock as a SAML SP towards its upstreams."""
        return Response(
            sp_metadata_xml(self.sp, self.credentials), media_type="application/samlmetadata+xml"
        )

    def _take(self, key: str | None) -> PendingLogin | None:
        # Taken at once, so that an answer is never used twice.
        pending = self._pending.pop(key or "", None)
        if pending is None or time.time() >= pending.expires_at:
            return None
        return pending

    def _open_session(
        self, pending: PendingLogin, upstream_id: str, claims: dict[str, str], link: Link
    ) -> Response:
        """The mock's own session for <connection>|<upstream id>, then the RP's code as usual."""
        sub = f"{pending.connection.upstream.name}|{upstream_id}"
        user = self._users.get(sub)
        if user is None:
            passed_on = {name: value for name, value in claims.items() if name in PASSED_ON}
            # No password: a user of a connection never signs in with the login form.
            user = self._users[sub] = User(sub, "", sub, passed_on)
        session = self.op.sessions.create(user, int(time.time()))
        self._links[session.sid] = link
        response = pending.complete(session)
        set_session_cookie(response, session)
        return response
