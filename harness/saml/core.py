"""SAML 2.0 Core checks: https://docs.oasis-open.org/security/saml/v2.0/saml-core-2.0-os.pdf

Checks on protocol messages (3.2 requests and responses, 3.7 Single Logout) and on what a target
did with them. Evidence is the dataclasses of ``harness.saml.messages`` and plain values the steps
observed: whether a message was acted on, which sessions ended and which stayed alive.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from urllib.parse import urlsplit

from harness.checks import check
from harness.errors import Violation
from harness.saml.messages import (
    PARTIAL_LOGOUT,
    SUCCESS,
    TOP_LEVEL_STATUSES,
    LogoutRequest,
    LogoutResponse,
    Message,
    Response,
)

__all__ = [
    "authority_sessions_ended",
    "destination_honoured",
    "destination_matches",
    "expired_request_not_acted_on",
    "in_response_to_matches",
    "initiator_not_notified",
    "later_assertion_refused",
    "logout_status",
    "participant_authenticates",
    "participant_notified",
    "request_authenticated",
    "same_location",
    "sessions_ended",
    "single_identifier",
    "top_level_status",
]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SHOWN = 120


def _short(value: str | None) -> str:
    if value is None:
        return "none"
    return repr(value if len(value) <= _SHOWN else value[:_SHOWN] + "…")


def _names(items: set[str]) -> str:
    return ", ".join(sorted(items)) or "none"


def same_location(a: str | None, b: str | None) -> bool:
    """Whether two URLs identify the same location: scheme and host case-insensitive, default
    ports filled in, path and query exact (Core 3.2.1 "identifies the location")."""
    if not a or not b:
        return False
    try:
        pa, pb = urlsplit(a.strip()), urlsplit(b.strip())
        ports = (
            pa.port or _DEFAULT_PORTS.get(pa.scheme.lower()),
            pb.port or _DEFAULT_PORTS.get(pb.scheme.lower()),
        )
    except ValueError:  # a bad port or IPv6 literal
        return False
    return (
        pa.scheme.lower() == pb.scheme.lower()
        and (pa.hostname or "") == (pb.hostname or "")
        and ports[0] == ports[1]
        and (pa.path or "/") == (pb.path or "/")
        and pa.query == pb.query
    )


# 3.2.1 / 3.2.2 Destination


@check("SAMLCore-3.2.1-destination")
def destination_honoured(destination: str | None, received_at: str, acted_on: bool) -> str | None:
    """The target received a message naming ``destination``, at ``received_at``: if they differ,
    it must have discarded it (``acted_on`` False). Returns a note when there was nothing to judge."""
    if destination is None or same_location(destination, received_at):
        return "the message's Destination matched where it arrived: nothing to discard"
    if acted_on:
        raise Violation(
            expected=(
                f"a message whose Destination {_short(destination)} is not where it arrived "
                f"({_short(received_at)}) discarded"
            ),
            seen="the target acted on it",
        )
    return None


@check("SAMLCore-3.2.1-destination")
def destination_matches(message: Message, sent_to: str) -> None:
    """A message the target sent names, in its Destination (when present), where it sent it;
    a conformant recipient discards it otherwise."""
    if message.destination is None or same_location(message.destination, sent_to):
        return
    raise Violation(
        expected=f"Destination {_short(sent_to)} (where the message was sent), or none",
        seen=f"Destination {_short(message.destination)}",
    )


@check("SAMLCore-3.2.2-inresponseto")
def in_response_to_matches(response: LogoutResponse, request_id: str) -> None:
    """A LogoutResponse answers the request it names: InResponseTo equals the request's ID."""
    if response.in_response_to == request_id:
        return
    seen = (
        "no InResponseTo"
        if response.in_response_to is None
        else f"InResponseTo {_short(response.in_response_to)}"
    )
    raise Violation(expected=f"InResponseTo {_short(request_id)} (the request's ID)", seen=seen)


@check("SAMLCore-3.2.2.2-status")
def top_level_status(response: LogoutResponse | Response) -> None:
    """The top-level StatusCode is Success, Requester, Responder or VersionMismatch; anything else
    (PartialLogout, RequestDenied...) belongs one level down."""
    if response.status_top in TOP_LEVEL_STATUSES:
        return
    allowed = ", ".join(sorted(code.rsplit(":", 1)[1] for code in TOP_LEVEL_STATUSES))
    seen = (
        "no StatusCode"
        if response.status_top is None
        else f"top-level StatusCode {_short(response.status_top)}"
    )
    raise Violation(expected=f"a top-level StatusCode among {allowed}", seen=seen)


# 3.7.1 LogoutRequest


@check("SAMLCore-3.7.1-nameid")
def single_identifier(request: LogoutRequest) -> None:
    """Exactly one of BaseID, NameID, EncryptedID names the principal."""
    if request.id_count_check == 1:
        return
    raise Violation(
        expected="exactly one of BaseID, NameID or EncryptedID in the LogoutRequest",
        seen=f"{request.id_count_check} of them",
    )


@check("SAMLCore-3.7.1-notonorafter")
def expired_request_not_acted_on(
    request: LogoutRequest, acted_on: bool, received_at: dt.datetime
) -> str | None:
    """A LogoutRequest that arrived after its NotOnOrAfter was not acted on."""
    expiry = request.not_on_or_after
    if expiry is None or received_at < expiry:
        return "the LogoutRequest had not expired when it arrived: nothing to judge"
    if acted_on:
        late = int((received_at - expiry).total_seconds())
        raise Violation(
            expected="a LogoutRequest past its NotOnOrAfter discarded",
            seen=f"the target acted on one that had expired {late} s before it arrived",
        )
    return None


# 3.7.3.1 session participant (SP) rules


def _unauthenticated(accepted: bool, how_signed: str, who: str) -> None:
    if accepted:
        raise Violation(
            expected=f"a LogoutRequest that is {how_signed} refused by the {who}",
            seen=f"the {who} accepted it and acted on it",
        )


@check("SAMLCore-3.7.3.1-auth")
def participant_authenticates(accepted: bool, how_signed: str) -> None:
    """The SP (session participant) did not act on a LogoutRequest it could not authenticate.

    Call it for a message that fails authentication; ``how_signed`` says how ("unsigned",
    "signed with a key the SP does not trust", "changed after signing").
    """
    _unauthenticated(accepted, how_signed, "SP")


def _ended_as_named(expected_ended: set[str], actually_ended: set[str], alive: set[str]) -> None:
    missed = expected_ended - actually_ended
    extra = actually_ended - expected_ended
    if not missed and not extra:
        return
    parts = []
    if missed:
        parts.append(f"still alive: {_names(missed & alive or missed)}")
    if extra:
        parts.append(f"ended though not named: {_names(extra)}")
    raise Violation(
        expected=f"exactly these sessions ended: {_names(expected_ended)}",
        seen="; ".join(parts),
    )


@check("SAMLCore-3.7.3.1-sessions")
def sessions_ended(expected_ended: set[str], actually_ended: set[str], alive: set[str]) -> None:
    """The SP ended exactly the sessions the NameID and SessionIndex values named (all of the
    principal's when no SessionIndex; none for an unknown SessionIndex). Sessions are labels
    (e.g. "sp1 session A") the step chose; ``alive`` is what it saw still alive."""
    _ended_as_named(expected_ended, actually_ended, alive)


@check("SAMLCore-3.7.3.1-later")
def later_assertion_refused(request: LogoutRequest, session_created: bool, at: dt.datetime) -> None:
    """An assertion that arrives after a LogoutRequest naming its subject and SessionIndex, while
    that request is still unexpired, gives no session."""
    if request.not_on_or_after is not None and at >= request.not_on_or_after:
        return
    if session_created:
        indexes = ", ".join(request.session_indexes) or "any"
        raise Violation(
            expected=(
                f"no session from an assertion for {_short(request.name_id)} (SessionIndex "
                f"{indexes}) after an unexpired LogoutRequest named it"
            ),
            seen="the SP opened a session with it",
        )


# 3.7.3.2 session authority (IdP) rules


@check("SAMLCore-3.7.3.2-auth")
def request_authenticated(accepted: bool, how_signed: str) -> None:
    """The IdP (session authority) did not act on a LogoutRequest whose sender it could not
    authenticate; ``how_signed`` says how the message fails ("unsigned", "signed with another key")."""
    _unauthenticated(accepted, how_signed, "IdP")


@check("SAMLCore-3.7.3.2-sessions")
def authority_sessions_ended(
    expected_ended: set[str], actually_ended: set[str], alive: set[str]
) -> None:
    """The IdP ended the sessions the LogoutRequest named, and only those (an unknown SessionIndex
    or another principal's NameID ends nothing)."""
    _ended_as_named(expected_ended, actually_ended, alive)


@check("SAMLCore-3.7.3.2-propagate")
def participant_notified(sp_name: str, received: LogoutRequest | None) -> None:
    """A session participant other than the initiator received a LogoutRequest from the IdP."""
    if received is None:
        raise Violation(
            expected=f"a LogoutRequest sent to {sp_name}, which had a session with the principal",
            seen=f"none reached {sp_name}",
        )


@check("SAMLCore-3.7.3.2-propagate")
def initiator_not_notified(sp_name: str, received: LogoutRequest | None) -> None:
    """The participant that sent the LogoutRequest is not sent one back."""
    if received is not None:
        raise Violation(
            expected=f"no LogoutRequest to {sp_name}, which started the logout",
            seen=f"the IdP sent {sp_name} LogoutRequest {_short(received.id)}",
        )


@check("SAMLCore-3.7.3.2-status")
def response_returned(response: LogoutResponse | None, why_none: str) -> None:
    """The session authority answers every LogoutRequest it received with a LogoutResponse
    (``why_none``: what happened instead, when none came back)."""
    if response is None:
        raise Violation(expected="a LogoutResponse back to the SP that asked", seen=why_none)


@check("SAMLCore-3.7.3.2-status")
def logout_status(
    response: LogoutResponse, own_session_ended: bool, failed_participants: Sequence[str]
) -> None:
    """Top-level Success exactly when the IdP's own session ended; second-level PartialLogout when
    a participant failed or could not be reached."""
    top, second = response.status_top, response.status_second
    if own_session_ended and top != SUCCESS:
        raise Violation(
            expected="top-level StatusCode Success (the IdP's own session ended)",
            seen=f"top-level StatusCode {_short(top)}",
        )
    if not own_session_ended and top == SUCCESS:
        raise Violation(
            expected="a top-level error StatusCode (the IdP's session is still alive)",
            seen="top-level StatusCode Success",
        )
    if failed_participants and second != PARTIAL_LOGOUT:
        raise Violation(
            expected=(
                f"second-level StatusCode PartialLogout ({', '.join(failed_participants)} "
                "did not log out)"
            ),
            seen=f"second-level StatusCode {_short(second)}",
        )
