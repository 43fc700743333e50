"""The mock IdP as one Starlette ASGI app: every endpoint of the OP and of the SAML IdP, wired to one state."""

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from mock_idp.authorization import AuthorizationEndpoints
from mock_idp.body_limit import BodyLimit
from mock_idp.config import MockConfig
from mock_idp.discovery import DiscoveryEndpoints
from mock_idp.introspection import IntrospectionEndpoint
from mock_idp.provider import Provider
from mock_idp.revocation import RevocationEndpoint
from mock_idp.rp_initiated_logout import EndSessionEndpoints
from mock_idp.saml import saml_routes
from mock_idp.token_endpoint import TokenEndpoint
from mock_idp.userinfo import UserInfoEndpoint


def create_app(config: MockConfig, issuer: str) -> Starlette:
    op = Provider(config, issuer)
    discovery = DiscoveryEndpoints(op)
    authorization = AuthorizationEndpoints(op)
    end_session = EndSessionEndpoints(op)
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
        *saml_routes(op, authorization.ask_login),
    ]
    return Starlette(routes=routes, middleware=[Middleware(BodyLimit)])
