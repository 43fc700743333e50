"""SAML 2.0 Profiles, the SP side: https://docs.oasis-open.org/security/saml/v2.0/saml-profiles-2.0-os.pdf

The harness's own service providers, for Web Browser SSO (4.1) and Single Logout (4.4). ``SpActor`` is one SP registered at the IdP under test; ``SpHost`` serves every actor's endpoints
(``{base}/saml/{name}/metadata``, ``/acs``, ``/slo``) as an in-process WSGI app. A browser (an
``httpx.Client``) built with ``SpHost.mounts()`` reaches them without a socket, so front-channel
messages the IdP sends to an actor arrive in the worker's memory, are recorded as evidence, and are
answered as a conformant SP would (a signed LogoutResponse, same binding, RelayState echoed). An
actor can be told to fail on purpose (``Responder`` status, HTTP 500) to provoke PartialLogout.

State is kept per actor per browser (the browser is known by a cookie the host sets in its jar), so
scenarios running side by side in one worker never see each other's sessions. The SP actors accept
what they receive so that an exchange can go on; whether the IdP should have sent it is for checks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import secrets
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Final, Literal
from urllib.parse import urlencode, urlsplit
from wsgiref.types import StartResponse, WSGIEnvironment

import httpx

from harness import formwalker
from harness.errors import TargetError
from harness.http import RecordingTransport, Timeouts, origin
from harness.redact import REDACTOR
from harness.saml.bindings import (
    MAX_FORM_BYTES,
    Binding,
    Decoded,
    decode_post,
    decode_redirect,
    decode_soap,
    encode_post,
    encode_redirect,
    find_post_form,
    soap_wrap,
)
from harness.saml.messages import (
    NAMEID_UNSPECIFIED,
    RESPONDER,
    RSA_SHA256,
    SUCCESS,
    LogoutRequest,
    LogoutResponse,
    Message,
    Response,
    attacker_credentials,
    build_authn_request,
    build_logout_request,
    build_logout_response,
    new_id,
    parse_logout_request,
    parse_message,
    parse_response,
    sign,
    tamper,
)
from harness.saml.metadata import IdpMetadata, sp_metadata
from harness.saml.xml import DS, MalformedMessage, parse, qname

__all__ = [
    "COOKIE",
    "FRESH",
    "LANDING_PATH",
    "ActorState",
    "Carried",
    "Hop",
    "Journey",
    "Misbehaviour",
    "Received",
    "SigningMode",
    "SloExchange",
    "SpActor",
    "SpHost",
    "SpLogin",
    "SpSession",
]

#: the cookie by which the host tells browsers apart (an SP session cookie, in effect)
COOKIE: Final = "logout_conformance_sp"
#: messages kept per actor per browser; older ones are dropped first
MAX_RECEIVED: Final = 200
#: browsers remembered per host; the least recently created are forgotten first
MAX_BROWSERS: Final = 4096
#: a page of the host's own, for a ReturnTo or RelayState URL that should come back to the harness
LANDING_PATH: Final = "/landing"
#: lifetime of the NotOnOrAfter the actors put on their LogoutRequests
REQUEST_LIFETIME: Final = dt.timedelta(minutes=5)

#: how an actor fails a LogoutRequest on purpose: status Responder, HTTP 500, or a Success the IdP
#: must not trust (unsigned, or answering another request)
Misbehaviour = Literal["responder", "http500", "unsigned", "wrong-in-response-to"]
#: how a LogoutRequest is signed: by the actor, not at all, by a key no one trusts, or by the actor
#: and then changed
SigningMode = Literal["actor", "none", "attacker", "tampered"]
_SAML_PARAMS = ("SAMLRequest=", "SAMLResponse=")
_SAML_FIELDS = frozenset({b"SAMLRequest", b"SAMLResponse"})
_BINDING_FIELDS = _SAML_FIELDS | {b"RelayState"}


class _Fresh:
    """The type of ``FRESH``: "make up a new random RelayState"."""

    def __repr__(self) -> str:
        return "FRESH"


#: RelayState default: a fresh random value per message (None sends no RelayState)
FRESH: Final = _Fresh()


@dataclass
class SpSession:
    """A login at one actor in one browser: the subject, the IdP's SessionIndex, whether it lives."""

    name_id: str
    name_id_format: str | None
    name_qualifier: str | None
    sp_name_qualifier: str | None
    session_index: str | None
    response: Response
    decoded: Decoded
    #: "local logout", or the ID of the LogoutRequest that ended it
    ended_by: str | None = None

    @property
    def alive(self) -> bool:
        return self.ended_by is None


@dataclass(frozen=True)
class Received:
    """One message an actor's endpoint received, how it read, and what the actor answered."""

    seq: int
    endpoint: Literal["acs", "slo"]
    method: str
    decoded: Decoded | None
    message: Message | None
    error: str | None
    answer_status: int
    answer: Decoded | None = None
    #: SessionIndex values (or "" for sessions without one) of the sessions this message ended
    ended: tuple[str, ...] = ()


@dataclass
class ActorState:
    """What one actor knows in one browser: the IdP, its sessions, what it received, how it behaves."""

    idp: IdpMetadata | None = None
    sessions: list[SpSession] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    misbehaviour: Misbehaviour | None = None


@dataclass(frozen=True)
class Carried:
    """A SAML message the browser carried, as it went (signature checked when the sender is known)."""

    method: str
    endpoint: str
    decoded: Decoded | None
    message: Message | None
    error: str | None = None


@dataclass(frozen=True)
class Hop:
    """One HTTP exchange of the browser: method, URL without its query, status."""

    method: str
    url: str
    status: int


@dataclass
class Journey:
    """Everything a browser went through for one SAML exchange, in order."""

    messages: list[Carried] = field(default_factory=list)
    hops: list[Hop] = field(default_factory=list)
    final_url: str = ""
    final_status: int = 0
    #: the Content-Type of the last answer (a SAML form served as text/plain is no form to a browser)
    final_content_type: str = ""
    #: a redirect that left the IdP and the actors, and ended the journey (a RelayState URL...)
    final_redirect: str | None = None
    #: what the actors' endpoints received on the way, in order
    received: list[tuple[str, Received]] = field(default_factory=list)


@dataclass(frozen=True)
class SpLogin:
    """An SP-initiated login that gave the actor a session."""

    actor: str
    session: SpSession
    relay_state_sent: str | None
    relay_state_received: str | None
    journey: Journey


@dataclass(frozen=True)
class SloExchange:
    """A LogoutRequest an actor sent, and what came of it.

    ``response`` is the LogoutResponse that came back to the actor (the one answering ``request``
    if there were several); ``ended_locally`` the SessionIndex values the actor ended before sending.
    """

    actor: str
    binding: Binding
    request: LogoutRequest
    sent: Decoded
    relay_state: str | None
    journey: Journey
    response: LogoutResponse | None
    response_decoded: Decoded | None
    first_status: int
    ended_locally: tuple[str, ...] = ()

    @property
    def unreadable(self) -> bool:
        """Whether a message on the way could not be read (the target answered, but garbage)."""
        return any(carried.error for carried in self.journey.messages)

    def why_no_response(self) -> str:
        """Why no LogoutResponse came back, in one line: the first message on the way that could not
        be read and why, else where the exchange ended (status, Content-Type, URL without its query)."""
        journey = self.journey
        for carried in journey.messages:
            if carried.error:
                return (f"no usable LogoutResponse came back to {self.actor}: {carried.error} "
                        f"(in the message to {carried.endpoint})")
        kind = journey.final_content_type.partition(";")[0].strip() or "no Content-Type"
        return (f"no LogoutResponse came back to {self.actor}: the exchange ended on HTTP "
                f"{journey.final_status} ({kind}) at {_without_query(journey.final_url)}, "
                "carrying no SAML message")


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _same_name_id(session: SpSession, request: LogoutRequest) -> bool:
    """Core 3.3.4 "identical" NameID, reading an absent Format as unspecified."""
    if session.name_id != request.name_id:
        return False
    if (session.name_id_format or NAMEID_UNSPECIFIED) != (
        request.name_id_format or NAMEID_UNSPECIFIED
    ):
        return False
    return (session.name_qualifier, session.sp_name_qualifier) == (
        request.name_qualifier,
        request.sp_name_qualifier,
    )


class SpActor:
    """One SP the harness plays: its names, endpoints and key; bound to an ``SpHost`` to act."""

    def __init__(
        self, name: str, entity_id: str, acs_url: str, slo_url: str, key_pem: str, cert_pem: str
    ) -> None:
        self.name = name
        self.entity_id = entity_id
        self.acs_url = acs_url
        self.slo_url = slo_url
        self.key_pem = key_pem
        self.cert_pem = cert_pem
        self._host: SpHost | None = None

    @classmethod
    def at(cls, callback_base: str, name: str, key_pem: str, cert_pem: str) -> SpActor:
        """An actor with the target-file convention's URLs under ``callback_base``."""
        base = f"{callback_base.rstrip('/')}/saml/{name}"
        return cls(name, f"{base}/metadata", f"{base}/acs", f"{base}/slo", key_pem, cert_pem)

    def __repr__(self) -> str:  # never the key
        return f"SpActor({self.name!r}, entity_id={self.entity_id!r})"

    @property
    def host(self) -> SpHost:
        if self._host is None:
            raise RuntimeError(f"SP actor {self.name} is not served by an SpHost")
        return self._host

    def metadata(self) -> str:
        return sp_metadata(self.entity_id, self.acs_url, self.slo_url, self.cert_pem)

    # --- what the actor knows, per browser --------------------------------------------------------
    def state(self, browser: httpx.Client) -> ActorState:
        return self.host.state(self, browser)

    def sessions(self, browser: httpx.Client) -> list[SpSession]:
        return list(self.state(browser).sessions)

    def alive(self, browser: httpx.Client) -> bool:
        """Whether the actor has a live session in this browser."""
        return any(session.alive for session in self.state(browser).sessions)

    def received(self, browser: httpx.Client) -> list[Received]:
        return list(self.state(browser).received)

    def logout_requests(self, browser: httpx.Client) -> list[LogoutRequest]:
        """The LogoutRequests the actor received in this browser, in order."""
        return [
            r.message for r in self.state(browser).received if isinstance(r.message, LogoutRequest)
        ]

    def misbehave(self, browser: httpx.Client, how: Misbehaviour | None) -> None:
        """From now on, answer LogoutRequests in this browser with ``how`` (None: behave again)."""
        self.state(browser).misbehaviour = how

    # --- SP-initiated SSO -------------------------------------------------------------------------
    def login(
        self,
        browser: httpx.Client,
        idp: IdpMetadata,
        rules: Sequence[formwalker.FormRule],
        credentials: Mapping[str, str],
        *,
        relay_state: str | None | _Fresh = FRESH,
        binding: Binding = "redirect",
        max_hops: int = 24,
    ) -> SpLogin:
        """Send a signed AuthnRequest, log in through the IdP's forms, and return the new session.

        ``credentials`` fill the form rules' templates (``{username}``, ``{password}``).
        """
        state = self.state(browser)
        state.idp = idp
        if credentials.get("password"):
            REDACTOR.add_secret(credentials["password"])
        relay = secrets.token_urlsafe(12) if isinstance(relay_state, _Fresh) else relay_state
        if binding == "soap":
            raise ValueError("SSO requests go over the front channel: redirect or post")
        endpoint = idp.sso_endpoint(binding).location
        xml = build_authn_request(self.entity_id, endpoint, self.acs_url, id=new_id())
        start, _ = self._outgoing(browser, xml, binding, endpoint, relay, "actor", RSA_SHA256)
        before = len(state.sessions)
        journey = self.host.follow(browser, start, idp, rules, credentials, max_hops=max_hops)
        new = state.sessions[before:]
        if not new:
            raise TargetError(self._login_failure(journey))
        session = new[-1]
        return SpLogin(self.name, session, relay, session.decoded.relay_state, journey)

    def _login_failure(self, journey: Journey) -> str:
        for actor, received in reversed(journey.received):
            if actor == self.name and received.endpoint == "acs":
                if received.error:
                    return (
                        f"login at {self.name}: the IdP's answer at the ACS was unusable: "
                        f"{received.error}"
                    )
                if isinstance(received.message, Response):
                    return (
                        f"login at {self.name}: the IdP answered status {received.message.status_top}"
                        f" / {received.message.status_second} with "
                        f"{len(received.message.assertions)} assertion(s) and no usable NameID"
                    )
        return (
            f"login at {self.name} did not come back to {self.acs_url}: ended at "
            f"{REDACTOR.text(_without_query(journey.final_url))} (HTTP {journey.final_status}, "
            f"{journey.final_content_type.partition(';')[0].strip() or 'no Content-Type'}); "
            "check the target's login forms"
        )

    # --- SP-initiated SLO -------------------------------------------------------------------------
    def live_session(self, browser: httpx.Client) -> SpSession:
        """The latest live session of this actor in this browser."""
        for session in reversed(self.state(browser).sessions):
            if session.alive:
                return session
        raise TargetError(f"SP actor {self.name} has no live session in this browser to log out")

    def logout_request_for(
        self,
        browser: httpx.Client,
        binding: Binding = "redirect",
        *,
        session_indexes: Sequence[str] | None = None,
        destination: str | None = None,
        name_id: str | None = None,
        issuer: str | None = None,
        not_on_or_after: dt.datetime | None = None,
        id: str | None = None,
    ) -> str:
        """An unsigned LogoutRequest for the live session, any part overridden (to craft bad ones).

        By default: this actor as Issuer, the IdP's SLO endpoint of ``binding`` as Destination, the
        session's NameID exactly as the assertion had it, its SessionIndex, NotOnOrAfter in 5 minutes.
        """
        session = self.live_session(browser)
        idp = self._idp(browser)
        indexes = session_indexes
        if indexes is None:
            indexes = [session.session_index] if session.session_index else []
        return build_logout_request(
            issuer=issuer or self.entity_id,
            destination=destination or idp.slo_endpoint(binding).location,
            name_id=session.name_id if name_id is None else name_id,
            name_id_format=session.name_id_format,
            session_indexes=indexes,
            not_on_or_after=not_on_or_after or dt.datetime.now(dt.UTC) + REQUEST_LIFETIME,
            id=id,
            nameid_sp_name_qualifier=session.sp_name_qualifier,
            nameid_name_qualifier=session.name_qualifier,
        )

    def logout(
        self,
        browser: httpx.Client,
        binding: Binding = "redirect",
        *,
        sign: bool = True,
        session_indexes: Sequence[str] | None = None,
        relay_state: str | None | _Fresh = FRESH,
        sig_alg: str = RSA_SHA256,
        rules: Sequence[formwalker.FormRule] = (),
        values: Mapping[str, str] | None = None,
        max_hops: int = 24,
    ) -> SloExchange:
        """SP-initiated logout: end the local session, send the LogoutRequest, follow the IdP's chain
        (other actors' SLO endpoints answer in-process) until the LogoutResponse comes back."""
        state = self.state(browser)
        session = self.live_session(browser)
        xml = self.logout_request_for(browser, binding, session_indexes=session_indexes)
        # SAML2int: the local session ends before the LogoutRequest leaves, whatever happens next
        ended = []
        for other in state.sessions:
            if other.alive and other.name_id == session.name_id:
                other.ended_by = "local logout"
                ended.append(other.session_index or "")
        exchange = self.send_logout_request(
            browser,
            xml,
            binding,
            signing="actor" if sign else "none",
            sig_alg=sig_alg,
            relay_state=relay_state,
            rules=rules,
            values=values,
            max_hops=max_hops,
        )
        return dataclasses.replace(exchange, ended_locally=tuple(ended))

    def send_logout_request(
        self,
        browser: httpx.Client,
        xml: str,
        binding: Binding = "redirect",
        *,
        signing: SigningMode = "actor",
        sig_alg: str = RSA_SHA256,
        relay_state: str | None | _Fresh = None,
        endpoint: str | None = None,
        rules: Sequence[formwalker.FormRule] = (),
        values: Mapping[str, str] | None = None,
        max_hops: int = 24,
    ) -> SloExchange:
        """Send ``xml`` (crafted as the scenario wishes) to the IdP and follow what happens.

        Sending the same ``xml`` twice sends the same message twice (a replay). For SOAP the request
        goes over the back channel, without the browser's cookies.
        """
        idp = self._idp(browser)
        target = endpoint or idp.slo_endpoint(binding).location
        relay = secrets.token_urlsafe(12) if isinstance(relay_state, _Fresh) else relay_state
        start, sent = self._outgoing(browser, xml, binding, target, relay, signing, sig_alg)
        request = parse_logout_request(sent.xml, certs=[self.cert_pem])
        if binding == "redirect":
            # the binding's signature, over the query, is the one that counts for Redirect
            request = dataclasses.replace(request, signature=sent.signature_status)
        if binding == "soap":
            journey, response_decoded = self._soap(browser, start, idp)
        else:
            journey = self.host.follow(browser, start, idp, rules, values or {}, max_hops=max_hops)
            response_decoded = None
        response = self._response_to(request.id, journey, response_decoded, idp)
        if response is not None and response_decoded is None:
            response_decoded = next(
                r.decoded
                for name, r in journey.received
                if name == self.name and r.message is response
            )
        return SloExchange(
            actor=self.name,
            binding=binding,
            request=request,
            sent=sent,
            relay_state=relay,
            journey=journey,
            response=response,
            response_decoded=response_decoded,
            first_status=journey.hops[0].status if journey.hops else 0,
        )

    def _response_to(
        self,
        request_id: str,
        journey: Journey,
        soap_answer: Decoded | None,
        idp: IdpMetadata,
    ) -> LogoutResponse | None:
        if soap_answer is not None:
            message = parse_message(soap_answer.xml, certs=idp.signing_certs)
            return message if isinstance(message, LogoutResponse) else None
        answers = [
            r.message
            for name, r in journey.received
            if name == self.name and isinstance(r.message, LogoutResponse)
        ]
        # the one answering this request if there is one, else whatever came back (an InResponseTo
        # mismatch is for a check to report, not for the actor to hide)
        matching = [a for a in answers if a.in_response_to == request_id]
        candidates = matching or answers
        return candidates[0] if candidates else None

    def _soap(
        self, browser: httpx.Client, request: httpx.Request, idp: IdpMetadata
    ) -> tuple[Journey, Decoded | None]:
        request.headers.pop("Cookie", None)  # the back channel is not the user's browser
        response = browser.send(request)
        endpoint = _without_query(str(request.url))
        journey = Journey(
            hops=[Hop("POST", endpoint, response.status_code)],
            final_url=str(request.url),
            final_status=response.status_code,
            final_content_type=response.headers.get("content-type", ""),
        )
        try:
            decoded = decode_soap(response.content, certs=idp.signing_certs)
            message = parse_message(decoded.xml, certs=idp.signing_certs)
        except MalformedMessage as exc:
            # what the answer claimed to be tells an error page from a broken envelope
            kind = journey.final_content_type.partition(";")[0].strip() or "no Content-Type"
            error = f"{exc} (HTTP {response.status_code}, {kind})"
            journey.messages.append(Carried("POST", endpoint, None, None, error))
            return journey, None
        journey.messages.append(Carried("POST", endpoint, decoded, message))
        return journey, decoded

    # --- helpers ----------------------------------------------------------------------------------
    def _idp(self, browser: httpx.Client) -> IdpMetadata:
        idp = self.state(browser).idp
        if idp is None:
            raise TargetError(f"SP actor {self.name} knows no IdP in this browser: log in first")
        return idp

    def _outgoing(
        self,
        browser: httpx.Client,
        xml: str,
        binding: Binding,
        endpoint: str,
        relay_state: str | None,
        signing: SigningMode,
        sig_alg: str,
    ) -> tuple[httpx.Request, Decoded]:
        return outgoing_request(browser, xml, binding, endpoint, relay_state, signing, sig_alg,
                                (self.key_pem, self.cert_pem))


def outgoing_request(
    browser: httpx.Client,
    xml: str,
    binding: Binding,
    endpoint: str,
    relay_state: str | None,
    signing: SigningMode,
    sig_alg: str,
    credentials: tuple[str, str],
) -> tuple[httpx.Request, Decoded]:
    """The browser request that carries the request ``xml`` signed as ``signing`` says (with
    ``credentials``, the sender's key and certificate, or the attacker's), and the message as the
    receiver will decode it."""
    kind: Literal["SAMLRequest"] = "SAMLRequest"
    keys = None if signing == "none" else attacker_credentials() if signing == "attacker" else credentials
    cert = credentials[1]
    if binding == "redirect":
        key_pem = keys[0] if keys else None
        url = encode_redirect(
            xml, endpoint, kind=kind, relay_state=relay_state, key_pem=key_pem, sig_alg=sig_alg
        )
        if signing == "tampered":
            url = _swap_message(url, encode_redirect(tamper(xml), endpoint, kind=kind))
        return browser.build_request("GET", url), decode_redirect(url, certs=[cert])
    signed = xml
    already_signed = parse(xml, what="message to send").find(qname(DS, "Signature")) is not None
    if keys and not already_signed:
        signed = sign(xml, keys[0], keys[1], sig_alg=sig_alg)
    if signing == "tampered":
        signed = tamper(signed)
    if binding == "soap":
        envelope = soap_wrap(signed)
        request = browser.build_request(
            "POST",
            endpoint,
            content=envelope.encode("utf-8"),
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
        )
        return request, decode_soap(envelope, certs=[cert])
    form = encode_post(signed, endpoint, kind=kind, relay_state=relay_state)
    body = urlencode(form.fields)
    request = browser.build_request(
        "POST",
        endpoint,
        content=body.encode("ascii"),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    return request, decode_post(body, endpoint=endpoint, certs=[cert])


def _swap_message(signed_url: str, other_url: str) -> str:
    """``signed_url`` carrying ``other_url``'s SAML message: a valid signature over other content."""
    replacement = next(
        part for part in urlsplit(other_url).query.split("&") if part.startswith(_SAML_PARAMS)
    )
    base, _, query = signed_url.partition("?")
    parts = [replacement if p.startswith(_SAML_PARAMS) else p for p in query.split("&")]
    return f"{base}?{'&'.join(parts)}"


@dataclass
class _Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _text(status: int, message: str) -> _Answer:
    return _Answer(status, [("Content-Type", "text/plain; charset=utf-8")], message.encode("utf-8"))


_REASONS = {
    200: "OK",
    302: "Found",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    500: "Internal Server Error",
}


class SpHost:
    """Serves the actors' endpoints in-process, keeps their state per browser, drives browsers."""

    def __init__(
        self, callback_base: str, actors: Iterable[SpActor], *, timeouts: Timeouts | None = None
    ) -> None:
        self.callback_base = callback_base.rstrip("/")
        parts = urlsplit(self.callback_base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"callback_base {callback_base!r} is not an http(s) URL")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        #: where a browser sent "back to the harness" lands (HTTP 200)
        self.landing_url = f"{self.callback_base}{LANDING_PATH}"
        self._hostname = parts.hostname
        self._prefix = parts.path.rstrip("/")
        self.actors: dict[str, SpActor] = {}
        for actor in actors:
            if actor.name in self.actors:
                raise ValueError(f"two SP actors are named {actor.name!r}")
            actor._host = self
            self.actors[actor.name] = actor
        self._timeouts = timeouts or Timeouts()
        #: the IdP an actor answers when a browser it never logged in with brings it a LogoutRequest
        #: (an IdP ending every session of a principal reaches participants of other browsers)
        self.default_idp: IdpMetadata | None = None
        self._lock = threading.Lock()
        self._states: dict[str, dict[str, ActorState]] = {}
        self._seq = itertools.count(1)

    def actor(self, name: str) -> SpActor:
        try:
            return self.actors[name]
        except KeyError:
            raise TargetError(
                f"no SP actor named {name!r} (known: {', '.join(sorted(self.actors)) or 'none'})"
            ) from None

    def mounts(self) -> dict[str, httpx.BaseTransport]:
        """httpx mounts routing ``callback_base`` to this host, every exchange recorded like others."""
        inner = httpx.WSGITransport(app=self)
        return {self.origin: RecordingTransport(inner, self._timeouts)}

    # --- state per browser ------------------------------------------------------------------------
    def browser_key(self, browser: httpx.Client) -> str:
        """The browser's key: the host's cookie in its jar, set there on first use."""
        for cookie in browser.cookies.jar:
            if (
                cookie.name == COOKIE
                and cookie.domain.lstrip(".") == self._hostname
                and cookie.value
            ):
                return cookie.value
        key = secrets.token_urlsafe(16)
        browser.cookies.set(COOKIE, key, domain=self._hostname, path="/")
        REDACTOR.add_secret(key)
        return key

    def state(self, actor: SpActor, browser: httpx.Client) -> ActorState:
        return self._state(actor.name, self.browser_key(browser))

    def _state(self, actor: str, key: str) -> ActorState:
        with self._lock:
            states = self._states.get(key)
            if states is None:
                if len(self._states) >= MAX_BROWSERS:
                    del self._states[next(iter(self._states))]
                states = self._states[key] = {}
            return states.setdefault(actor, ActorState(idp=self.default_idp))

    def forget(self, browser: httpx.Client) -> None:
        """Drop everything the actors know about this browser."""
        key = self.browser_key(browser)
        with self._lock:
            self._states.pop(key, None)

    # --- driving a browser ------------------------------------------------------------------------
    def follow(
        self,
        browser: httpx.Client,
        start: str | httpx.Request,
        idp: IdpMetadata,
        rules: Sequence[formwalker.FormRule] = (),
        values: Mapping[str, str] | None = None,
        *,
        max_hops: int = 24,
        max_steps: int = 12,
    ) -> Journey:
        """Walk a browser through a SAML exchange: the IdP's pages (filling ``rules``' forms), its
        redirects and auto-posted forms to any SP (the actors answer in-process), until a page that
        carries no SAML message or a redirect that leaves with none."""
        urls = [idp.entity_id, *(e.location for e in (*idp.sso.values(), *idp.slo.values()))]
        urls += [e.for_responses for e in idp.slo.values()]
        # an entityID may be a URN: only web origins are places a browser stays on
        stay_on = sorted({self.origin} | {origin(u) for u in urls if u.startswith("http")})
        journey = Journey()
        request = browser.build_request("GET", start) if isinstance(start, str) else start
        key = self.browser_key(browser)
        mark = next(self._seq)
        with self._watch(browser, idp, journey):
            for _ in range(max_hops):
                walk = formwalker.walk(
                    browser, request, rules, values or {}, stay_on=stay_on, max_steps=max_steps
                )
                following = self._next(browser, walk)
                if following is None:
                    journey.final_url = walk.final_url
                    journey.final_status = walk.final_response.status_code
                    journey.final_content_type = walk.final_response.headers.get("content-type", "")
                    journey.final_redirect = walk.external_redirect
                    journey.received = self._received_since(key, mark)
                    return journey
                request = following
        raise TargetError(
            f"the SAML exchange did not end within {max_hops} hops; last URL "
            f"{REDACTOR.text(_without_query(str(request.url)))}"
        )

    def _received_since(self, key: str, mark: int) -> list[tuple[str, Received]]:
        with self._lock:
            states = dict(self._states.get(key, {}))
        found = [
            (name, r) for name, state in states.items() for r in state.received if r.seq > mark
        ]
        return sorted(found, key=lambda item: item[1].seq)

    def _next(self, browser: httpx.Client, walk: formwalker.WalkResult) -> httpx.Request | None:
        """The request that carries the SAML message a walk ended on, if it ended on one."""
        if walk.external_redirect is not None:
            query = urlsplit(walk.external_redirect).query
            if any(part.startswith(_SAML_PARAMS) for part in query.split("&")):
                return browser.build_request("GET", walk.external_redirect)
            return None
        response = walk.final_response
        if "html" not in response.headers.get("content-type", "").lower():
            return None
        form = find_post_form(response.text, walk.final_url)
        # a login form that carries the AuthnRequest along is the IdP's page, not a SAML message
        if form is None or not {name.encode() for name, _ in form.fields} <= _BINDING_FIELDS:
            return None
        page = urlsplit(walk.final_url)
        return browser.build_request(
            "POST",
            form.action,
            content=urlencode(form.fields).encode("ascii"),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": f"{page.scheme}://{page.netloc}",
            },
        )

    @contextmanager
    def _watch(self, browser: httpx.Client, idp: IdpMetadata, journey: Journey) -> Iterator[None]:
        """Record every SAML message the browser carries and every status it gets, while in the block."""

        def on_request(request: httpx.Request) -> None:
            carried = self._inspect(request, idp)
            if carried is not None:
                journey.messages.append(carried)

        def on_response(response: httpx.Response) -> None:
            request = response.request
            journey.hops.append(
                Hop(request.method, _without_query(str(request.url)), response.status_code)
            )

        hooks = browser.event_hooks
        browser.event_hooks = {
            "request": [*hooks.get("request", []), on_request],
            "response": [*hooks.get("response", []), on_response],
        }
        try:
            yield
        finally:
            browser.event_hooks = hooks

    def _certs_for(self, issuer: str | None, idp: IdpMetadata) -> tuple[str, ...]:
        if issuer is not None and issuer == idp.entity_id:
            return idp.signing_certs
        for actor in self.actors.values():
            if issuer == actor.entity_id:
                return (actor.cert_pem,)
        return ()

    def _inspect(self, request: httpx.Request, idp: IdpMetadata) -> Carried | None:
        """The SAML message a browser request carries (None if it carries none).

        A form counts only if it holds nothing but binding fields: an IdP's login form that passes
        the AuthnRequest along in a hidden field is a page of the IdP, not an HTTP-POST message.
        """
        endpoint = _without_query(str(request.url))
        form = request.method == "POST" and "form-urlencoded" in request.headers.get(
            "content-type", ""
        )
        body = request.content if form else b""
        raw = body if form else request.url.query
        names = {part.partition(b"=")[0] for part in raw.split(b"&")}
        if not names & _SAML_FIELDS or (form and not names <= _BINDING_FIELDS):
            return None

        def decode(certs: Sequence[str]) -> Decoded:
            if form:
                return decode_post(body, endpoint=endpoint, certs=certs)
            return decode_redirect(str(request.url), certs=certs)

        try:
            decoded = decode(())
            # who sent it decides whose certificate checks it
            certs = self._certs_for(_issuer(decoded.xml), idp)
            if certs:
                decoded = decode(certs)
            return Carried(request.method, endpoint, decoded, _message(decoded, certs))
        except (MalformedMessage, ValueError) as exc:  # a URL urllib cannot split is malformed too
            return Carried(request.method, endpoint, None, None, str(exc))

    # --- the WSGI app -----------------------------------------------------------------------------
    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        key = _cookie(environ)
        headers: list[tuple[str, str]] = []
        if not key:
            # a browser the actors meet first here (an IdP-initiated logout) gets its key now
            key = secrets.token_urlsafe(16)
            REDACTOR.add_secret(key)
            headers.append(("Set-Cookie", f"{COOKIE}={key}; Path=/; HttpOnly"))
        answer = self._handle(environ, key)
        reason = _REASONS.get(answer.status, "Unknown")
        start_response(f"{answer.status} {reason}", answer.headers + headers)
        return [answer.body]

    def _handle(self, environ: WSGIEnvironment, key: str) -> _Answer:
        path = str(environ.get("PATH_INFO", ""))
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        if path == f"{self._prefix}{LANDING_PATH}":
            return _text(200, "logout-conformance: back at the harness")
        if not path.startswith(f"{self._prefix}/saml/"):
            return _text(404, "not an SP actor endpoint")
        name, _, endpoint = path[len(self._prefix) + len("/saml/") :].partition("/")
        actor = self.actors.get(name)
        if actor is None or endpoint not in ("metadata", "acs", "slo"):
            return _text(404, f"no SP actor endpoint {path}")
        if endpoint == "metadata":
            if method != "GET":
                return _text(405, "metadata is served over GET")
            return _Answer(
                200,
                [("Content-Type", "application/samlmetadata+xml")],
                actor.metadata().encode("utf-8"),
            )
        arrived = f"{self.origin}{path}"
        body = b""
        if method == "POST":
            length = str(environ.get("CONTENT_LENGTH") or "0")
            size = int(length) if length.isdigit() else 0
            if size > MAX_FORM_BYTES:
                return _text(413, f"body larger than {MAX_FORM_BYTES} bytes")
            body = environ["wsgi.input"].read(size)
        elif method != "GET":
            return _text(405, f"{endpoint} takes GET or POST")
        state = self._state(name, key)
        if endpoint == "acs":
            if method != "POST":
                return _text(405, "the ACS takes the HTTP-POST binding")
            return self._acs(actor, state, body, arrived)
        query = str(environ.get("QUERY_STRING", ""))
        return self._slo(actor, state, method, body, f"{arrived}?{query}" if query else arrived)

    def _record(
        self,
        state: ActorState,
        endpoint: Literal["acs", "slo"],
        method: str,
        decoded: Decoded | None,
        message: Message | None,
        error: str | None,
        status: int,
        answer: Decoded | None = None,
        ended: tuple[str, ...] = (),
    ) -> None:
        state.received.append(
            Received(
                next(self._seq), endpoint, method, decoded, message, error, status, answer, ended
            )
        )
        del state.received[:-MAX_RECEIVED]

    def _acs(self, actor: SpActor, state: ActorState, body: bytes, arrived: str) -> _Answer:
        certs = state.idp.signing_certs if state.idp else ()
        try:
            decoded = decode_post(body, endpoint=arrived, certs=certs)
            response = parse_response(decoded.xml, certs=certs)
        except MalformedMessage as exc:
            self._record(state, "acs", "POST", None, None, str(exc), 400)
            return _text(400, f"{actor.name}: unusable SAML Response: {exc}")
        assertion = response.assertion
        if assertion is None and response.encrypted_assertions:
            error = (
                "the Response holds only EncryptedAssertion elements "
                "(SP actors publish no encryption key)"
            )
        elif response.status_top != SUCCESS or assertion is None or assertion.name_id is None:
            error = f"no usable assertion (status {response.status_top})"
        else:
            error = None
        self._record(state, "acs", "POST", decoded, response, error, 200)
        if assertion is None or assertion.name_id is None or error is not None:
            return _text(200, f"{actor.name}: login failed: {error}")
        state.sessions.append(
            SpSession(
                name_id=assertion.name_id,
                name_id_format=assertion.name_id_format,
                name_qualifier=assertion.name_qualifier,
                sp_name_qualifier=assertion.sp_name_qualifier,
                session_index=assertion.session_index,
                response=response,
                decoded=decoded,
            )
        )
        return _text(200, f"{actor.name}: logged in as {assertion.name_id}")

    def _slo(
        self, actor: SpActor, state: ActorState, method: str, body: bytes, url: str
    ) -> _Answer:
        certs = state.idp.signing_certs if state.idp else ()
        try:
            if method == "POST":
                decoded = decode_post(body, endpoint=_without_query(url), certs=certs)
            else:
                decoded = decode_redirect(url, certs=certs)
            message = _message(decoded, certs)
        except MalformedMessage as exc:
            self._record(state, "slo", method, None, None, str(exc), 400)
            return _text(400, f"{actor.name}: unusable SAML message: {exc}")
        if isinstance(message, LogoutResponse):
            self._record(state, "slo", method, decoded, message, None, 200)
            return _text(200, f"{actor.name}: logout complete, status {message.status_top}")
        if not isinstance(message, LogoutRequest):
            self._record(state, "slo", method, decoded, message, "not a logout message", 400)
            return _text(
                400, f"{actor.name}: the SLO endpoint takes LogoutRequest and LogoutResponse"
            )
        return self._answer_logout(actor, state, method, decoded, message)

    def _answer_logout(
        self,
        actor: SpActor,
        state: ActorState,
        method: str,
        decoded: Decoded,
        request: LogoutRequest,
    ) -> _Answer:
        """A conformant SP's answer, unless told to fail: a signed LogoutResponse, same binding,
        RelayState echoed, to the IdP's SLO endpoint (its ResponseLocation when it has one)."""
        if state.misbehaviour == "http500":
            self._record(
                state, "slo", method, decoded, request, "failing on purpose (HTTP 500)", 500
            )
            return _text(500, f"{actor.name}: failing on purpose")
        # the same binding as the request when the IdP offers it, else the other front channel
        same: Binding = "post" if method == "POST" else "redirect"
        offered = (
            []
            if state.idp is None
            else [b for b in (same, "redirect", "post") if b in state.idp.slo]
        )
        if state.idp is None or not offered:
            why = "no IdP known in this browser" if state.idp is None else "no IdP SLO endpoint"
            self._record(state, "slo", method, decoded, request, why, 400)
            return _text(400, f"{actor.name}: cannot answer the LogoutRequest: {why}")
        ended: tuple[str, ...] = ()
        status = RESPONDER
        if state.misbehaviour != "responder":
            status = SUCCESS
            ended = self._end_sessions(state, request)
        binding = offered[0]
        endpoint = state.idp.slo[binding].for_responses
        answering = "_not" + request.id if state.misbehaviour == "wrong-in-response-to" else request.id
        xml = build_logout_response(actor.entity_id, endpoint, answering, status)
        key = None if state.misbehaviour == "unsigned" else actor.key_pem
        if binding == "redirect":
            url = encode_redirect(
                xml,
                endpoint,
                kind="SAMLResponse",
                relay_state=decoded.relay_state,
                key_pem=key,
            )
            answer = decode_redirect(url, certs=[actor.cert_pem])
            self._record(state, "slo", method, decoded, request, None, 302, answer, ended)
            return _Answer(302, [("Location", url), ("Content-Type", "text/plain")], b"")
        signed = xml if key is None else sign(xml, actor.key_pem, actor.cert_pem)
        form = encode_post(signed, endpoint, kind="SAMLResponse", relay_state=decoded.relay_state)
        answer = decode_post(urlencode(form.fields), endpoint=endpoint, certs=[actor.cert_pem])
        self._record(state, "slo", method, decoded, request, None, 200, answer, ended)
        return _Answer(
            200, [("Content-Type", "text/html; charset=utf-8")], form.html.encode("utf-8")
        )

    @staticmethod
    def _end_sessions(state: ActorState, request: LogoutRequest) -> tuple[str, ...]:
        """Core 3.7.3.1: the sessions of that NameID with one of the SessionIndex values (all if none)."""
        ended = []
        for session in state.sessions:
            if not session.alive or not _same_name_id(session, request):
                continue
            if request.session_indexes and session.session_index not in request.session_indexes:
                continue
            session.ended_by = request.id
            ended.append(session.session_index or "")
        return tuple(ended)


def _cookie(environ: WSGIEnvironment) -> str:
    try:
        jar = SimpleCookie(str(environ.get("HTTP_COOKIE", "")))
    except CookieError:
        return ""
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else ""


def _issuer(xml: str) -> str | None:
    root = parse(xml, what="SAML message")
    issuer = root.find("{urn:oasis:names:tc:SAML:2.0:assertion}Issuer")
    return None if issuer is None else "".join(issuer.itertext())


def _message(decoded: Decoded, certs: Sequence[str]) -> Message | None:
    """The message read (None for the kinds the harness does not read, like AuthnRequest).

    Its ``signature`` is the one that counts for its binding: over HTTP-Redirect the query's.
    """
    root = parse(decoded.xml, what=decoded.kind)
    if root.tag == "{urn:oasis:names:tc:SAML:2.0:protocol}AuthnRequest":
        return None
    message = parse_message(root, certs=certs)
    if decoded.binding == "redirect":
        return dataclasses.replace(message, signature=decoded.signature_status)
    return message
