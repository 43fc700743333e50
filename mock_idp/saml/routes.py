"""The SAML IdP's routes on the mock's Starlette app, sharing its users, sessions and login form."""

from starlette.routing import Route

from mock_idp.saml.idp import SamlIdp
from mock_idp.saml.metadata import MetadataEndpoint
from mock_idp.saml.propagation import Propagation
from mock_idp.saml.slo import SloEndpoints
from mock_idp.saml.sso import AskLogin, SsoEndpoint


def saml_routes(idp: SamlIdp, ask_login: AskLogin) -> list[Route]:
    sso = SsoEndpoint(idp, ask_login)
    slo = SloEndpoints(idp, Propagation(idp))
    return [
        Route("/saml/metadata", MetadataEndpoint(idp).metadata, methods=["GET"]),
        Route("/saml/sso", sso.sso, methods=["GET", "POST"]),
        Route("/saml/slo", slo.slo, methods=["GET", "POST"]),
        Route("/saml/slo/soap", slo.soap, methods=["POST"]),
        Route("/saml/logout", slo.idp_initiated, methods=["GET"]),
        Route("/_mock/saml/sps", idp.sps.register, methods=["POST"]),
    ]
