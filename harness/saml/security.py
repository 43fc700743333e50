"""SAML 2.0 security checks: https://docs.oasis-open.org/security/saml/v2.0/saml-sec-consider-2.0-os.pdf

Replay of a LogoutRequest (Security Considerations, with Core 1.3.4 ID uniqueness), and the SAML2int
rule that an SP ends its own session before it asks the IdP to end the others
(https://kantarainitiative.github.io/SAMLprofiles/saml2int.html).
"""

from __future__ import annotations

from harness.checks import check
from harness.errors import Violation

__all__ = ["local_session_ended_first", "replay_not_acted_on"]


@check("SAMLSec-replay")
def replay_not_acted_on(request_id: str, acted_on_replay: bool) -> None:
    """A LogoutRequest sent a second time, same ID, was not acted on again (a session opened after
    the first one survived the copy)."""
    if acted_on_replay:
        raise Violation(
            expected=(
                f"a replayed LogoutRequest (ID {request_id[:80]}) refused: its ID was seen already"
            ),
            seen="the target acted on it a second time",
        )


@check("SAML2INT-SDP-SP34")
def local_session_ended_first(alive_when_request_sent: bool) -> None:
    """The SP's own session was already over when its LogoutRequest reached the IdP."""
    if alive_when_request_sent:
        raise Violation(
            expected="the SP's local session ended before it sent its LogoutRequest",
            seen="the session was still alive at the SP when the LogoutRequest arrived at the IdP",
        )
