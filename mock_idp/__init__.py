"""The bundled mock IdP: a real HTTP OpenID Provider and SAML 2.0 IdP with switchable faults, for the logout conformance harness.

Nothing is imported here, so that importing one module (the fault catalog, say) stays cheap.
"""
