"""The bundled mock IdP: a real HTTP OpenID Provider and SAML 2.0 IdP with switchable faults, for the logout conformance harness."""

from mock_idp.app import create_app
from mock_idp.config import Client, MockConfig, SamlSp, User
from mock_idp.faults import FAULTS, Fault
from mock_idp.server import BackgroundServer, serve

__all__ = [
    "FAULTS",
    "BackgroundServer",
    "Client",
    "Fault",
    "MockConfig",
    "SamlSp",
    "User",
    "create_app",
    "serve",
]
