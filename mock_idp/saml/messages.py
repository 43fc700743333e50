"""The SAML protocol messages the IdP builds and reads, made with pysaml2's classes (SAML 2.0 Core §3.2-3.4, §3.7, https://docs.oasis-open.org/security/saml/v2.0/saml-core-2.0-os.pdf)."""

import datetime
import secrets
import time
from dataclasses import dataclass
from typing import Any

from saml2 import saml, samlp  # type: ignore[import-untyped]
from saml2.validate import NotValid, OutsideCardinality  # type: ignore[import-untyped]

from mock_idp.config import User

NSPAIR = {"samlp": samlp.NAMESPACE, "saml": saml.NAMESPACE}
SUCCESS = samlp.STATUS_SUCCESS
REQUESTER = samlp.STATUS_REQUESTER
RESPONDER = samlp.STATUS_RESPONDER
PARTIAL_LOGOUT = samlp.STATUS_PARTIAL_LOGOUT
REQUEST_DENIED = samlp.STATUS_REQUEST_DENIED
PERSISTENT = saml.NAMEID_FORMAT_PERSISTENT
TRANSIENT = saml.NAMEID_FORMAT_TRANSIENT
UNSPECIFIED = saml.NAMEID_FORMAT_UNSPECIFIED
ENTITY = saml.NAMEID_FORMAT_ENTITY
NAMEID_FORMATS = (PERSISTENT, TRANSIENT, UNSPECIFIED)
PASSWORD_PROTECTED_TRANSPORT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
# How long assertions and the LogoutRequests the IdP sends are good for.
MESSAGE_LIFETIME = 300


class MessageError(ValueError):
    """A message that is not the SAML the IdP expected: wrong element, or not schema-valid."""


@dataclass(frozen=True)
class NameId:
    value: str
    format: str


@dataclass(frozen=True)
class Status:
    """A top-level StatusCode, perhaps a second-level one in it, and a message (§3.2.2.2)."""

    top: str
    second: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class AuthnRequest:
    id: str
    issuer: str | None
    destination: str | None
    acs_url: str | None
    protocol_binding: str | None
    name_id_format: str | None
    is_passive: bool


@dataclass(frozen=True)
class LogoutRequest:
    id: str
    issuer: str | None
    issuer_format: str | None
    destination: str | None
    # None when the request names its principal by BaseID or EncryptedID instead.
    name_id: NameId | None
    name_qualifier: str | None
    sp_name_qualifier: str | None
    identifiers: int
    session_indexes: tuple[str, ...]
    not_on_or_after: float | None


@dataclass(frozen=True)
class LogoutResponse:
    id: str
    issuer: str | None
    destination: str | None
    in_response_to: str | None
    status: str


def new_id() -> str:
    """An ID that is an xs:ID (starts with a letter or underscore) with 160 random bits (§1.3.4)."""
    return "_" + secrets.token_hex(20)


def instant(moment: float) -> str:
    """xs:dateTime in UTC without fractions (§1.3.3)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def read_instant(text: str) -> float:
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError as error:
        raise MessageError(f"{text!r} is not an xs:dateTime") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


def authn_response(
    *,
    issuer: str,
    destination: str,
    in_response_to: str,
    audience: str,
    name_id: NameId,
    session_index: str | None,
    user: User,
    auth_time: int,
    now: float,
) -> bytes:
    """A Response with one bearer Assertion (Profiles §4.1.4.2); the caller signs the Assertion."""
    confirmation = saml.SubjectConfirmation(
        method=saml.SCM_BEARER,
        subject_confirmation_data=saml.SubjectConfirmationData(
            not_on_or_after=instant(now + MESSAGE_LIFETIME),
            recipient=destination,
            in_response_to=in_response_to,
        ),
    )
    attributes = {"uid": user.username, **user.claims}
    assertion = saml.Assertion(
        id=new_id(),
        version="2.0",
        issue_instant=instant(now),
        issuer=saml.Issuer(text=issuer, format=ENTITY),
        subject=saml.Subject(
            name_id=saml.NameID(
                text=name_id.value, format=name_id.format, sp_name_qualifier=audience
            ),
            subject_confirmation=[confirmation],
        ),
        conditions=saml.Conditions(
            not_before=instant(now - 60),
            not_on_or_after=instant(now + MESSAGE_LIFETIME),
            audience_restriction=[
                saml.AudienceRestriction(audience=[saml.Audience(text=audience)])
            ],
        ),
        authn_statement=[
            saml.AuthnStatement(
                authn_instant=instant(auth_time),
                session_index=session_index,
                authn_context=saml.AuthnContext(
                    authn_context_class_ref=saml.AuthnContextClassRef(
                        text=PASSWORD_PROTECTED_TRANSPORT
                    )
                ),
            )
        ],
        attribute_statement=[
            saml.AttributeStatement(
                attribute=[
                    saml.Attribute(
                        name=name,
                        name_format=saml.NAME_FORMAT_BASIC,
                        attribute_value=[saml.AttributeValue(text=value)],
                    )
                    for name, value in attributes.items()
                ]
            )
        ],
    )
    response = samlp.Response(
        id=new_id(),
        version="2.0",
        issue_instant=instant(now),
        destination=destination,
        in_response_to=in_response_to,
        issuer=saml.Issuer(text=issuer, format=ENTITY),
        status=_status(Status(SUCCESS)),
        assertion=[assertion],
    )
    return to_xml(response)


def error_response(
    *, issuer: str, destination: str, in_response_to: str, status: Status, now: float
) -> bytes:
    """A Response without an assertion: the IdP could not or would not log the user in."""
    return _status_only(samlp.Response, issuer, destination, in_response_to, status, now)


def logout_request(
    *,
    issuer: str,
    destination: str,
    name_id: NameId,
    sp_name_qualifier: str,
    session_indexes: tuple[str, ...],
    not_on_or_after: float | None,
    now: float,
) -> tuple[str, bytes]:
    """A LogoutRequest (§3.7.1) and its ID; Reason: the user asked (§3.7.3)."""
    message_id = new_id()
    request = samlp.LogoutRequest(
        id=message_id,
        version="2.0",
        issue_instant=instant(now),
        destination=destination,
        reason="urn:oasis:names:tc:SAML:2.0:logout:user",
        not_on_or_after=instant(not_on_or_after) if not_on_or_after is not None else None,
        issuer=saml.Issuer(text=issuer, format=ENTITY),
        name_id=saml.NameID(
            text=name_id.value, format=name_id.format, sp_name_qualifier=sp_name_qualifier
        ),
        session_index=[samlp.SessionIndex(text=index) for index in session_indexes],
    )
    return message_id, to_xml(request)


def logout_response(
    *, issuer: str, destination: str | None, in_response_to: str, status: Status, now: float
) -> bytes:
    return _status_only(samlp.LogoutResponse, issuer, destination, in_response_to, status, now)


def _status_only(
    kind: Any, issuer: str, destination: str | None, in_response_to: str, status: Status, now: float
) -> bytes:
    """A StatusResponseType message (§3.2.2) that carries nothing but its status."""
    response = kind(
        id=new_id(),
        version="2.0",
        issue_instant=instant(now),
        destination=destination,
        in_response_to=in_response_to,
        issuer=saml.Issuer(text=issuer, format=ENTITY),
        status=_status(status),
    )
    return to_xml(response)


def to_xml(message: Any) -> bytes:
    xml: bytes = message.to_string(nspair=NSPAIR)
    return xml


def read_authn_request(xml: bytes) -> AuthnRequest:
    request = read_message(samlp.authn_request_from_string, xml, "AuthnRequest")
    policy = request.name_id_policy
    return AuthnRequest(
        id=request.id,
        issuer=_text(request.issuer),
        destination=request.destination,
        acs_url=request.assertion_consumer_service_url,
        protocol_binding=request.protocol_binding,
        name_id_format=policy.format if policy is not None else None,
        # pysaml2 keeps xs:boolean values as the text that was sent.
        is_passive=request.is_passive in ("true", "1"),
    )


def read_logout_request(xml: bytes) -> LogoutRequest:
    request = read_message(samlp.logout_request_from_string, xml, "LogoutRequest")
    name_id = request.name_id
    identifiers = sum(
        item is not None for item in (request.base_id, request.name_id, request.encrypted_id)
    )
    not_on_or_after = request.not_on_or_after
    return LogoutRequest(
        id=request.id,
        issuer=_text(request.issuer),
        issuer_format=request.issuer.format if request.issuer is not None else None,
        destination=request.destination,
        name_id=(
            NameId((name_id.text or "").strip(), name_id.format or UNSPECIFIED)
            if name_id is not None
            else None
        ),
        name_qualifier=name_id.name_qualifier if name_id is not None else None,
        sp_name_qualifier=name_id.sp_name_qualifier if name_id is not None else None,
        identifiers=identifiers,
        session_indexes=tuple((index.text or "").strip() for index in request.session_index),
        not_on_or_after=read_instant(not_on_or_after) if not_on_or_after else None,
    )


def read_logout_response(xml: bytes) -> LogoutResponse:
    response = read_message(samlp.logout_response_from_string, xml, "LogoutResponse")
    if response.status is None or response.status.status_code is None:
        raise MessageError("the LogoutResponse has no StatusCode")
    return LogoutResponse(
        id=response.id,
        issuer=_text(response.issuer),
        destination=response.destination,
        in_response_to=response.in_response_to,
        status=response.status.status_code.value,
    )


def _status(status: Status) -> Any:
    inner = samlp.StatusCode(value=status.second) if status.second is not None else None
    message = samlp.StatusMessage(text=status.message) if status.message is not None else None
    return samlp.Status(
        status_code=samlp.StatusCode(value=status.top, status_code=inner),
        status_message=message,
    )


def read_message(parse: Any, xml: bytes, what: str) -> Any:
    """A pysaml2 message parsed and verified for its schema, or a MessageError saying what is wrong."""
    # pysaml2 parses with defusedxml; it answers None for another element and raises on bad XML.
    try:
        message = parse(xml)
        if message is None:
            raise MessageError(f"the message is not a {what}")
        message.verify()
    except (
        ValueError,
        SyntaxError,
        TypeError,
        AttributeError,
        NotValid,
        OutsideCardinality,
    ) as error:
        raise MessageError(f"the {what} is not valid: {error}") from error
    if message.version != "2.0":
        raise MessageError(f"the {what} is not SAML 2.0")
    return message


def _text(issuer: Any) -> str | None:
    if issuer is None or issuer.text is None:
        return None
    text: str = issuer.text.strip()
    return text
