"""Proof Key for Code Exchange, S256 only (RFC 7636 §4.6, https://www.rfc-editor.org/rfc/rfc7636#section-4.6)."""

import base64
import hashlib
import hmac


def s256_matches(code_verifier: str, code_challenge: str) -> bool:
    digest = hashlib.sha256(code_verifier.encode("ascii", "replace")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=")
    return hmac.compare_digest(computed, code_challenge.encode("ascii", "replace"))
