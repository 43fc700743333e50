"""SAML 2.0 (https://docs.oasis-open.org/security/saml/v2.0/): messages, bindings, metadata, SP actors, checks."""
