"""SAML 2.0 Bindings checks: https://docs.oasis-open.org/security/saml/v2.0/saml-bindings-2.0-os.pdf

RelayState echoed exactly and kept within 80 bytes (HTTP-Redirect 3.4.3, HTTP-POST 3.5.3), and no
HTTP error status to report a SAML error (3.4.6, 3.5.6).
"""

from __future__ import annotations

from harness.checks import check
from harness.errors import Violation
from harness.saml.bindings import Decoded

__all__ = [
    "MAX_RELAY_STATE_BYTES",
    "no_http_error_for_saml_error",
    "relay_state_echoed",
    "relay_state_echoed_post",
    "relay_state_size",
    "relay_state_size_post",
]

#: Bindings 3.4.3 and 3.5.3: "The value MUST NOT exceed 80 bytes in length"
MAX_RELAY_STATE_BYTES = 80
_SHOWN = 100


def _show(value: str) -> str:
    return repr(value if len(value) <= _SHOWN else value[:_SHOWN] + "…")


def _echoed(sent: str | None, received: str | None) -> None:
    if sent is None:
        return  # nothing was sent, so nothing had to come back
    if received is None:
        raise Violation(
            expected=f"RelayState {_show(sent)} returned with the response", seen="no RelayState"
        )
    if received != sent:
        raise Violation(
            expected=f"RelayState {_show(sent)}, exactly as sent",
            seen=f"RelayState {_show(received)}",
        )


def _size(relay_state: str | None) -> None:
    if relay_state is None:
        return
    size = len(relay_state.encode("utf-8"))
    if size > MAX_RELAY_STATE_BYTES:
        raise Violation(
            expected=f"a RelayState of at most {MAX_RELAY_STATE_BYTES} bytes",
            seen=f"{size} bytes",
        )


@check("SAMLBind-3.4.3-relaystate")
def relay_state_echoed(sent: str | None, received: str | None) -> None:
    """The responder put the exact RelayState it received into its HTTP-Redirect response."""
    _echoed(sent, received)


@check("SAMLBind-3.4.3-relaystate")
def relay_state_size(relay_state: str | None) -> None:
    """A RelayState the target made up itself (not an echo) is at most 80 bytes (HTTP-Redirect)."""
    _size(relay_state)


@check("SAMLBind-3.5.3-relaystate")
def relay_state_echoed_post(sent: str | None, received: str | None) -> None:
    """The responder put the exact RelayState it received into its HTTP-POST response."""
    _echoed(sent, received)


@check("SAMLBind-3.5.3-relaystate")
def relay_state_size_post(relay_state: str | None) -> None:
    """A RelayState the target made up itself (not an echo) is at most 80 bytes (HTTP-POST)."""
    _size(relay_state)


@check("SAMLBind-3.4.6-errors")
def no_http_error_for_saml_error(status: int, decoded: Decoded | None) -> None:
    """The target answered a SAML message it would not process without an HTTP error status:
    ``status`` is the HTTP status of its answer, ``decoded`` the SAML response it carried (if any)."""
    if status < 400:
        return
    carried = (
        "with no SAML response"
        if decoded is None
        else f"carrying a {decoded.kind} over HTTP-{decoded.binding}"
    )
    raise Violation(
        expected="a SAML response with an error status, over a non-error HTTP status",
        seen=f"HTTP {status} {carried}",
    )
