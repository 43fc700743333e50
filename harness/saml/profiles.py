"""SAML 2.0 Profiles checks: https://docs.oasis-open.org/security/saml/v2.0/saml-profiles-2.0-os.pdf

Web Browser SSO (4.1.4.2: what logout needs from the login assertion) and Single Logout (4.4:
what LogoutRequest and LogoutResponse must carry, and that front-channel ones are signed).
"""

from __future__ import annotations

from harness.checks import check
from harness.errors import Violation
from harness.saml.bindings import Decoded
from harness.saml.messages import (
    NAMEID_ENTITY,
    NAMEID_UNSPECIFIED,
    Assertion,
    LogoutRequest,
    SignatureStatus,
)

__all__ = [
    "issuer_present",
    "name_id_matches",
    "propagated_request_expires",
    "request_signed",
    "response_signed",
    "session_index_in_assertion",
    "session_index_sent",
]

_FRONT_CHANNEL = ("redirect", "post")


def _short(value: str | None) -> str:
    return "none" if value is None else repr(value if len(value) <= 120 else value[:120] + "…")


@check("SAMLProf-4.1.4.2-sessionindex")
def session_index_in_assertion(assertion: Assertion) -> None:
    """Every AuthnStatement of the login assertion carries a SessionIndex (the IdP supports SLO)."""
    statements = assertion.authn_session_indexes
    if not statements:
        raise Violation(
            expected="an AuthnStatement with a SessionIndex in the login assertion",
            seen="no AuthnStatement",
        )
    missing = sum(1 for index in statements if not index)
    if missing:
        raise Violation(
            expected="a SessionIndex in every AuthnStatement",
            seen=f"{missing} of {len(statements)} AuthnStatement(s) without one",
        )


@check("SAMLProf-4.4.3.3-notonorafter")
def propagated_request_expires(request: LogoutRequest) -> None:
    """A LogoutRequest the IdP sent to a session participant carries NotOnOrAfter."""
    if request.not_on_or_after is None:
        raise Violation(
            expected="a NotOnOrAfter on the LogoutRequest the IdP sent",
            seen=f"LogoutRequest {_short(request.id)} without NotOnOrAfter",
        )


@check("SAMLProf-4.4.4.1-issuer")
def issuer_present(request: LogoutRequest, expected: str | None = None) -> None:
    """The LogoutRequest has an Issuer (the sender's entity ID when ``expected`` is given),
    with Format omitted or ``...:nameid-format:entity``."""
    if not request.issuer:
        raise Violation(expected="an Issuer in the LogoutRequest", seen="none")
    if request.issuer_format not in (None, NAMEID_ENTITY):
        raise Violation(
            expected="Issuer Format omitted or urn:oasis:names:tc:SAML:2.0:nameid-format:entity",
            seen=f"Format {_short(request.issuer_format)}",
        )
    if expected is not None and request.issuer != expected:
        raise Violation(
            expected=f"Issuer {_short(expected)} (the sender's entity ID)",
            seen=f"Issuer {_short(request.issuer)}",
        )


def _signed(decoded: Decoded, what: str) -> None:
    if decoded.binding not in _FRONT_CHANNEL:
        return  # SOAP may rely on the binding's own authentication
    status: SignatureStatus = decoded.signature_status
    if status.state == "unchecked":
        raise ValueError("check the signature against the sender's certificate before judging it")
    how = (
        "a query signature (SigAlg, Signature)"
        if decoded.binding == "redirect"
        else "an enveloped signature"
    )
    if status.state == "absent":
        raise Violation(
            expected=f"a {what} over HTTP-{decoded.binding.capitalize()} signed with {how}",
            seen="no signature",
        )
    if status.state == "invalid":
        raise Violation(
            expected=f"a valid signature on the {what} over HTTP-{decoded.binding.capitalize()}",
            seen=f"an invalid signature: {status.reason}",
        )


@check("SAMLProf-4.4.4.1-signed")
def request_signed(decoded: Decoded) -> None:
    """A LogoutRequest sent over HTTP-Redirect or HTTP-POST is signed, and the signature verifies
    with the sender's certificate (``decoded`` must have been checked against it)."""
    _signed(decoded, "LogoutRequest")


@check("SAMLProf-4.4.4.1-nameid")
def name_id_matches(request: LogoutRequest, assertion: Assertion) -> None:
    """The LogoutRequest's NameID is identical to the login assertion's: value, Format,
    NameQualifier, SPNameQualifier (Core 3.3.4 strong matching)."""
    pairs = (
        ("value", request.name_id, assertion.name_id),
        (
            "Format",
            request.name_id_format or NAMEID_UNSPECIFIED,
            assertion.name_id_format or NAMEID_UNSPECIFIED,
        ),
        ("NameQualifier", request.name_qualifier, assertion.name_qualifier),
        ("SPNameQualifier", request.sp_name_qualifier, assertion.sp_name_qualifier),
    )
    different = [(name, sent, had) for name, sent, had in pairs if sent != had]
    if not different:
        return
    raise Violation(
        expected="the NameID exactly as in the login assertion: "
        + "; ".join(f"{name} {_short(had)}" for name, _, had in different),
        seen="; ".join(f"{name} {_short(sent)}" for name, sent, _ in different),
    )


@check("SAMLProf-4.4.4.1-sessionindex")
def session_index_sent(request: LogoutRequest) -> None:
    """A LogoutRequest from an SP (a session participant) names at least one SessionIndex."""
    if not request.session_indexes:
        raise Violation(
            expected="at least one SessionIndex in the SP's LogoutRequest",
            seen="none (a request that ends every session of the principal)",
        )


@check("SAMLProf-4.4.4.2-signed")
def response_signed(decoded: Decoded) -> None:
    """A LogoutResponse sent over HTTP-Redirect or HTTP-POST is signed, and the signature verifies
    with the sender's certificate."""
    _signed(decoded, "LogoutResponse")
