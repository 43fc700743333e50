"""The bundled mock OpenID Provider: a real HTTP OP with switchable faults, for the logout conformance harness."""

from mock_idp.app import create_app
from mock_idp.config import Client, MockConfig, User
from mock_idp.faults import FAULTS, Fault
from mock_idp.server import BackgroundServer, serve

__all__ = [
    "FAULTS",
    "BackgroundServer",
    "Client",
    "Fault",
    "MockConfig",
    "User",
    "create_app",
    "serve",
]
