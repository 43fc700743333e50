"""The mock IdP's SAML 2.0 identity provider: Web Browser SSO and Single Logout with propagation (SAML 2.0 Profiles §4.1 and §4.4, https://docs.oasis-open.org/security/saml/v2.0/saml-profiles-2.0-os.pdf)."""

from mock_idp.saml.routes import saml_routes

__all__ = ["saml_routes"]
