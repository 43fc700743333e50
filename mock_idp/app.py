"""The mock IdP as one Starlette ASGI app: every endpoint of the OP and of the SAML IdP, wired to one state."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from mock_idp.auth0 import Auth0LogoutEndpoint
from mock_idp.authorization import AuthorizationEndpoints
from mock_idp.backchannel import BackChannelLogout
from mock_idp.body_limit import BodyLimit
from mock_idp.casdoor import SsoLogoutEndpoint
from mock_idp.config import MockConfig
from mock_idp.cors import cors
from mock_idp.discovery import DiscoveryEndpoints
from mock_idp.federation import Federation
from mock_idp.frontchannel import FrontChannelLogout
from mock_idp.introspection import IntrospectionEndpoint
from mock_idp.outbound import Outbound
from mock_idp.provider import Provider
from mock_idp.revocation import RevocationEndpoint
from mock_idp.revocation_log import RevocationLog
from mock_idp.rp_initiated_logout import EndSessionEndpoints
from mock_idp.saml import saml_routes
from mock_idp.saml.idp import SamlIdp
from mock_idp.token_endpoint import TokenEndpoint
from mock_idp.upstream import Upstreams
from mock_idp.upstream_http import UpstreamHttp
from mock_idp.userinfo import UserInfoEndpoint


def create_app(config: MockConfig, issuer: str) -> Starlette:
    op = Provider(config, issuer)
    outbound = Outbound()
    backchannel = BackChannelLogout(op, outbound)
    discovery = DiscoveryEndpoints(op)
    authorization = AuthorizationEndpoints(op)
    end_session = EndSessionEndpoints(op, backchannel, FrontChannelLogout(op))
    sso_logout = SsoLogoutEndpoint(op, backchannel, outbound).sso_logout
    saml_idp = SamlIdp(op)
    upstream_http = UpstreamHttp()
    # The mock's SAML key is also its key as an SP towards its SAML upstreams.
    op.upstreams = upstreams = Upstreams(op, saml_idp.credentials, upstream_http)
    op.federation = federation = Federation(op, upstreams, backchannel)
    auth0_logout = Auth0LogoutEndpoint(op, backchannel).logout
    revocations = RevocationLog(op)  # what the revocation endpoint was asked, for CLI tests
    routes = [
        # Browser apps (public clients) call these from their own origin.
        Route(
            "/.well-known/openid-configuration",
            cors(discovery.openid_configuration),
            methods=["GET", "OPTIONS"],
        ),
        Route("/jwks", cors(discovery.jwks), methods=["GET", "OPTIONS"]),
        Route("/authorize", authorization.authorize, methods=["GET", "POST"]),
        Route("/login", authorization.login, methods=["POST"]),
        Route("/token", cors(TokenEndpoint(op).token), methods=["POST", "OPTIONS"]),
        Route("/userinfo", cors(UserInfoEndpoint(op).userinfo), methods=["GET", "POST", "OPTIONS"]),
        Route("/introspect", IntrospectionEndpoint(op).introspect, methods=["POST"]),
        Route(
            "/revoke",
            cors(revocations.observe(RevocationEndpoint(op).revoke)),
            methods=["POST", "OPTIONS"],
        ),
        Route("/_mock/oidc/revocations", revocations.calls, methods=["GET"]),
        Route("/end-session", end_session.end_session, methods=["GET", "POST"]),
        Route("/end-session/confirm", end_session.confirm, methods=["POST"]),
        Route("/api/sso-logout", sso_logout, methods=["GET", "POST"]),
        Route("/v2/logout", auth0_logout, methods=["GET"]),
        Route("/_mock/oidc/clients", op.clients.register, methods=["POST"]),
        Route("/_mock/oidc/session", op.sessions.describe_current, methods=["GET"]),
        *saml_routes(saml_idp, authorization.ask_login),
        Route("/upstream/oidc/callback", upstreams.oidc_callback, methods=["GET"]),
        Route("/upstream/oidc/logged-out", federation.oidc_logged_out, methods=["GET"]),
        Route("/upstream/saml/metadata", upstreams.sp_metadata, methods=["GET"]),
        Route("/upstream/saml/acs", upstreams.saml_acs, methods=["POST"]),
        # Auth0's SAML SLO URL: the SAML upstreams' LogoutResponses and LogoutRequests.
        Route("/logout", federation.saml_logout, methods=["GET", "POST"]),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        # Retries still waiting are dropped, and the connections to receivers closed.
        await outbound.aclose()
        await upstream_http.aclose()

    return Starlette(routes=routes, middleware=[Middleware(BodyLimit)], lifespan=lifespan)
