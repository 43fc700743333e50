"""The mock IdP as one Starlette ASGI app: every endpoint of the OP and of the SAML IdP, wired to one state."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from mock_idp.authorization import AuthorizationEndpoints
from mock_idp.backchannel import BackChannelLogout
from mock_idp.body_limit import BodyLimit
from mock_idp.casdoor import SsoLogoutEndpoint
from mock_idp.config import MockConfig
from mock_idp.discovery import DiscoveryEndpoints
from mock_idp.introspection import IntrospectionEndpoint
from mock_idp.outbound import Outbound
from mock_idp.provider import Provider
from mock_idp.revocation import RevocationEndpoint
from mock_idp.rp_initiated_logout import EndSessionEndpoints
from mock_idp.saml import saml_routes
from mock_idp.token_endpoint import TokenEndpoint
from mock_idp.userinfo import UserInfoEndpoint


def create_app(config: MockConfig, issuer: str) -> Starlette:
    op = Provider(config, issuer)
    outbound = Outbound()
    backchannel = BackChannelLogout(op, outbound)
    discovery = DiscoveryEndpoints(op)
    authorization = AuthorizationEndpoints(op)
    end_session = EndSessionEndpoints(op, backchannel)
    sso_logout = SsoLogoutEndpoint(op, backchannel, outbound).sso_logout
    routes = [
        Route("/.well-known/openid-configuration", discovery.openid_configuration, methods=["GET"]),
        Route("/jwks", discovery.jwks, methods=["GET"]),
        Route("/authorize", authorization.authorize, methods=["GET", "POST"]),
        Route("/login", authorization.login, methods=["POST"]),
        Route("/token", TokenEndpoint(op).token, methods=["POST"]),
        Route("/userinfo", UserInfoEndpoint(op).userinfo, methods=["GET", "POST"]),
        Route("/introspect", IntrospectionEndpoint(op).introspect, methods=["POST"]),
        Route("/revoke", RevocationEndpoint(op).revoke, methods=["POST"]),
        Route("/end-session", end_session.end_session, methods=["GET", "POST"]),
        Route("/end-session/confirm", end_session.confirm, methods=["POST"]),
        Route("/api/sso-logout", sso_logout, methods=["GET", "POST"]),
        Route("/_mock/oidc/clients", op.clients.register, methods=["POST"]),
        Route("/_mock/oidc/session", op.sessions.describe_current, methods=["GET"]),
        *saml_routes(op, authorization.ask_login),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        # Retries still waiting are dropped, and the connections to receivers closed.
        await outbound.aclose()

    return Starlette(routes=routes, middleware=[Middleware(BodyLimit)], lifespan=lifespan)
