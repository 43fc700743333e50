"""Signing in at an upstream SAML IdP as its SP: the IdP's metadata, the AuthnRequest, the Response, and the logout messages of a federated logout (SAML 2.0 Profiles §4.1 and §4.4, https://docs.oasis-open.org/security/saml/v2.0/saml-profiles-2.0-os.pdf)."""

import base64
import binascii
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from saml2 import md, saml, samlp, xmldsig  # type: ignore[import-untyped]

from mock_idp.config import SamlUpstream
from mock_idp.saml import bindings, messages, xmlsig
from mock_idp.saml.bindings import Received
from mock_idp.saml.credentials import Credentials
from mock_idp.upstream_http import UpstreamError, UpstreamHttp

MD = md.NAMESPACE
SAMLP = samlp.NAMESPACE
# SAML2int: time checks allow some clock skew.
CLOCK_SKEW = 60
T = TypeVar("T")


@dataclass(frozen=True)
class SpEndpoints:
    """The mock's own identity as the upstream's SP, fixed by its issuer URL."""

    entity_id: str
    acs_url: str
    slo_url: str


@dataclass(frozen=True)
class IdpMetadata:
    """What the mock uses of the upstream's metadata (SAML 2.0 Metadata §2.4.3)."""

    entity_id: str
    sso_url: str
    slo_url: str
    certs: tuple[str, ...]


@dataclass(frozen=True)
class SamlLogin:
    """What the upstream's verified assertion says, kept for the federated logout."""

    name_id: str
    name_id_format: str | None
    name_qualifier: str | None
    sp_name_qualifier: str | None
    # None when the AuthnStatement carried none (Auth0's "Unable to Logout" case).
    session_index: str | None
    attributes: dict[str, str]


class SamlConnection:
    def __init__(
        self,
        upstream: SamlUpstream,
        sp: SpEndpoints,
        credentials: Credentials,
        http: UpstreamHttp,
    ) -> None:
        self.upstream = upstream
        self.sp = sp
        self.credentials = credentials
        self.http = http
        # Fetched on first use, so that the upstream may start after the mock; kept once read.
        self._metadata: IdpMetadata | None = None

    async def metadata(self) -> IdpMetadata:
        if self._metadata is None:
            self._metadata = read_idp_metadata(await self.http.get(self.upstream.metadata_url))
        return self._metadata

    async def verified(self, verify: Callable[[tuple[str, ...]], T]) -> T:
        """verify(the upstream's signing certificates); when no signature matches, once more with
        the metadata read again, as the upstream may have a new key since it was read."""
        try:
            return verify((await self.metadata()).certs)
        except xmlsig.SignatureError:
            self._metadata = None
            return verify((await self.metadata()).certs)

    async def authn_request(self, relay_state: str) -> tuple[str, str]:
        """A signed AuthnRequest over HTTP-Redirect: its ID and the URL to send the browser to."""
        metadata = await self.metadata()
        request_id = messages.new_id()
        request = samlp.AuthnRequest(
            id=request_id,
            version="2.0",
            issue_instant=messages.instant(time.time()),
            destination=metadata.sso_url,
            assertion_consumer_service_url=self.sp.acs_url,
            protocol_binding=bindings.POST,
            issuer=saml.Issuer(text=self.sp.entity_id, format=messages.ENTITY),
            name_id_policy=samlp.NameIDPolicy(format=messages.PERSISTENT, allow_create="true"),
        )
        url = bindings.redirect_url(
            metadata.sso_url,
            "SAMLRequest",
            messages.to_xml(request),
            relay_state,
            self.credentials.key,
        )
        return request_id, url

    async def read_response(self, received: Received, request_id: str) -> SamlLogin:
        """The login the upstream's Response asserts, once its signature and conditions hold
        (Profiles §4.1.4.3)."""
        metadata = await self.metadata()
        try:
            root = xmlsig.parse(received.xml)
            response = messages.read_message(samlp.response_from_string, received.xml, "Response")
        except (xmlsig.XmlError, messages.MessageError) as error:
            raise UpstreamError(str(error)) from error
        # A refusal carries no assertion: its status says why (Core §3.2.2.2).
        status = response.status.status_code if response.status is not None else None
        if status is None or status.value != messages.SUCCESS:
            codes = [code.value for code in (status, status and status.status_code) if code]
            raise UpstreamError(f"the upstream did not log the user in: {' '.join(codes)}")
        try:
            assertion_element = await self.verified(lambda certs: _verified_assertion(root, certs))
            assertion = messages.read_message(
                saml.assertion_from_string, xmlsig.serialize(assertion_element), "Assertion"
            )
        except (xmlsig.SignatureError, messages.MessageError) as error:
            raise UpstreamError(str(error)) from error
        checks = [
            (response.in_response_to == request_id, "InResponseTo is not the AuthnRequest's ID"),
            (response.destination in (None, self.sp.acs_url), "Destination is not the mock's ACS"),
            (_text(response.issuer) in (None, metadata.entity_id), "the Response's Issuer"),
            (_text(assertion.issuer) == metadata.entity_id, "the Assertion's Issuer"),
        ]
        for passed, failure in checks:
            if not passed:
                raise UpstreamError(f"the Response is not valid: {failure}")
        try:
            return self._login(assertion, request_id)
        except messages.MessageError as error:  # a malformed instant
            raise UpstreamError(str(error)) from error

    async def logout_request(
        self, login: SamlLogin, relay_state: str, *, session_index: bool
    ) -> tuple[str, str]:
        """A signed LogoutRequest over HTTP-Redirect for this login (Core §3.7.1): ID and URL."""
        metadata = await self.metadata()
        now = time.time()
        request_id = messages.new_id()
        indexes = [login.session_index] if login.session_index and session_index else []
        request = samlp.LogoutRequest(
            id=request_id,
            version="2.0",
            issue_instant=messages.instant(now),
            destination=metadata.slo_url,
            reason="urn:oasis:names:tc:SAML:2.0:logout:user",
            not_on_or_after=messages.instant(now + messages.MESSAGE_LIFETIME),
            issuer=saml.Issuer(text=self.sp.entity_id, format=messages.ENTITY),
            # Core §3.7.3.2: the NameID exactly as asserted, qualifiers and all.
            name_id=saml.NameID(
                text=login.name_id,
                format=login.name_id_format,
                name_qualifier=login.name_qualifier,
                sp_name_qualifier=login.sp_name_qualifier,
            ),
            session_index=[samlp.SessionIndex(text=index) for index in indexes],
        )
        url = bindings.redirect_url(
            metadata.slo_url,
            "SAMLRequest",
            messages.to_xml(request),
            relay_state,
            self.credentials.key,
        )
        return request_id, url

    async def read_logout_response(
        self, received: Received, request_id: str
    ) -> messages.LogoutResponse:
        """The upstream's LogoutResponse to that request, signed by it (Profiles §4.4.4.2)."""
        metadata = await self.metadata()
        try:
            root = xmlsig.parse(received.xml)
            response = messages.read_logout_response(received.xml)
            await self.verified(lambda certs: _verify(received, root, certs))
        except (xmlsig.XmlError, xmlsig.SignatureError, messages.MessageError) as error:
            raise UpstreamError(str(error)) from error
        if response.issuer != metadata.entity_id:
            raise UpstreamError("the LogoutResponse's Issuer is not the upstream")
        if response.in_response_to != request_id:
            raise UpstreamError("the LogoutResponse's InResponseTo is not the LogoutRequest's ID")
        if response.destination not in (None, self.sp.slo_url):
            raise UpstreamError("the LogoutResponse's Destination is not the mock's SLO endpoint")
        return response

    async def read_logout_request(self, received: Received) -> messages.LogoutRequest:
        """A LogoutRequest from the upstream (its logout, propagated), signed by it (§4.4.4.1)."""
        metadata = await self.metadata()
        try:
            root = xmlsig.parse(received.xml)
            request = messages.read_logout_request(received.xml)
            await self.verified(lambda certs: _verify(received, root, certs))
        except (xmlsig.XmlError, xmlsig.SignatureError, messages.MessageError) as error:
            raise UpstreamError(str(error)) from error
        if request.issuer != metadata.entity_id:
            raise UpstreamError("the LogoutRequest's Issuer is not the upstream")
        if request.destination not in (None, self.sp.slo_url):
            raise UpstreamError("the LogoutRequest's Destination is not the mock's SLO endpoint")
        expiry = request.not_on_or_after
        if expiry is not None and time.time() >= expiry + CLOCK_SKEW:
            raise UpstreamError("the LogoutRequest is past its NotOnOrAfter")
        if request.name_id is None:
            raise UpstreamError("the LogoutRequest names its principal by no plain NameID")
        return request

    async def logout_response(self, request_id: str, relay_state: str | None) -> str:
        """The signed Success LogoutResponse to the upstream's SLO endpoint, RelayState echoed."""
        metadata = await self.metadata()
        xml = messages.logout_response(
            issuer=self.sp.entity_id,
            destination=metadata.slo_url,
            in_response_to=request_id,
            status=messages.Status(messages.SUCCESS),
            now=time.time(),
        )
        return bindings.redirect_url(
            metadata.slo_url, "SAMLResponse", xml, relay_state, self.credentials.key
        )

    def names(self, login: SamlLogin, request: messages.LogoutRequest) -> bool:
        """Whether a LogoutRequest's NameID and SessionIndexes name this login (Core §3.7.3.2)."""
        name_id = request.name_id
        return (
            name_id is not None
            and name_id.value == login.name_id
            and name_id.format
            in (login.name_id_format or messages.UNSPECIFIED, messages.UNSPECIFIED)
            # No SessionIndex: every session of the principal.
            and (not request.session_indexes or login.session_index in request.session_indexes)
        )

    def _login(self, assertion: Any, request_id: str) -> SamlLogin:
        now = time.time()
        subject = assertion.subject
        name_id = subject.name_id if subject is not None else None
        if name_id is None or not (name_id.text or "").strip():
            raise UpstreamError("the Assertion names its subject by no plain NameID")
        # Profiles §4.1.4.3: a bearer confirmation for this ACS, this request, still valid.
        if not any(
            confirmation.method == saml.SCM_BEARER
            and (data := confirmation.subject_confirmation_data) is not None
            and data.recipient == self.sp.acs_url
            and data.in_response_to in (None, request_id)
            and data.not_on_or_after is not None
            and now < messages.read_instant(data.not_on_or_after) + CLOCK_SKEW
            for confirmation in subject.subject_confirmation
        ):
            raise UpstreamError("the Assertion has no bearer confirmation for the mock's ACS")
        conditions = assertion.conditions
        if conditions is not None:
            not_before, not_after = conditions.not_before, conditions.not_on_or_after
            if not_before and now < messages.read_instant(not_before) - CLOCK_SKEW:
                raise UpstreamError("the Assertion is not valid yet")
            if not_after and now >= messages.read_instant(not_after) + CLOCK_SKEW:
                raise UpstreamError("the Assertion has expired")
            # Core §2.5.1.4: every AudienceRestriction must name the mock.
            for restriction in conditions.audience_restriction:
                if self.sp.entity_id not in [_text(a) for a in restriction.audience]:
                    raise UpstreamError("the Assertion is for another audience")
        if not assertion.authn_statement:
            raise UpstreamError("the Assertion has no AuthnStatement")
        session_index = next(
            (s.session_index for s in assertion.authn_statement if s.session_index), None
        )
        attributes = {
            attribute.name: (attribute.attribute_value[0].text or "").strip()
            for statement in assertion.attribute_statement
            for attribute in statement.attribute
            if attribute.attribute_value
        }
        return SamlLogin(
            name_id.text.strip(),
            name_id.format,
            name_id.name_qualifier,
            name_id.sp_name_qualifier,
            session_index,
            attributes,
        )


def read_idp_metadata(data: bytes) -> IdpMetadata:
    """The IdP's entityID, HTTP-Redirect endpoints and signing certificates."""
    try:
        root = xmlsig.parse(data)
    except xmlsig.XmlError as error:
        raise UpstreamError(f"the upstream's metadata: {error}") from error
    entities = (
        [root]
        if root.tag == f"{{{MD}}}EntityDescriptor"
        else root.findall(f"{{{MD}}}EntityDescriptor")
    )
    found = [
        (entity, descriptor)
        for entity in entities
        for descriptor in entity.findall(f"{{{MD}}}IDPSSODescriptor")
    ]
    if not found:
        raise UpstreamError("the upstream's metadata describes no SAML IdP")
    entity, descriptor = found[0]

    def redirect_location(service: str) -> str | None:
        for endpoint in descriptor.findall(f"{{{MD}}}{service}"):
            if endpoint.get("Binding") == bindings.REDIRECT and endpoint.get("Location"):
                return str(endpoint.get("Location"))
        return None

    sso_url = redirect_location("SingleSignOnService")
    if sso_url is None or not entity.get("entityID"):
        raise UpstreamError("the upstream's metadata has no entityID or HTTP-Redirect SSO endpoint")
    certs = tuple(
        _pem(element.text or "")
        for key in descriptor.findall(f"{{{MD}}}KeyDescriptor")
        if key.get("use") in (None, "signing")
        for element in key.iterfind(f".//{{{xmlsig.DS}}}X509Certificate")
    )
    if not certs:
        raise UpstreamError("the upstream's metadata has no signing certificate")
    # Auth0: "If a logout URL is not configured, Auth0 will use the SAML login URL."
    slo_url = redirect_location("SingleLogoutService") or sso_url
    return IdpMetadata(str(entity.get("entityID")), sso_url, slo_url, certs)


def sp_metadata_xml(sp: SpEndpoints, credentials: Credentials) -> bytes:
    """The mock's SP metadata towards its upstreams (SAML 2.0 Metadata §2.4.4)."""
    key = md.KeyDescriptor(
        use="signing",
        key_info=xmldsig.KeyInfo(
            x509_data=[
                xmldsig.X509Data(
                    x509_certificate=xmldsig.X509Certificate(text=credentials.cert_b64)
                )
            ]
        ),
    )
    descriptor = md.SPSSODescriptor(
        protocol_support_enumeration="urn:oasis:names:tc:SAML:2.0:protocol",
        authn_requests_signed="true",
        want_assertions_signed="true",
        key_descriptor=[key],
        single_logout_service=[
            md.SingleLogoutService(binding=bindings.REDIRECT, location=sp.slo_url)
        ],
        name_id_format=[md.NameIDFormat(text=messages.PERSISTENT)],
        assertion_consumer_service=[
            md.AssertionConsumerService(
                binding=bindings.POST, location=sp.acs_url, index="0", is_default="true"
            )
        ],
    )
    entity = md.EntityDescriptor(entity_id=sp.entity_id, spsso_descriptor=[descriptor])
    xml: bytes = entity.to_string(nspair={"md": MD, "ds": xmldsig.NAMESPACE})
    return xml


def _verified_assertion(root: xmlsig.Element, certs: tuple[str, ...]) -> xmlsig.Element:
    """The one Assertion, signed itself or inside a signed Response, by one of these keys."""
    if root.tag != f"{{{SAMLP}}}Response":
        raise messages.MessageError("the message is not a Response")
    assertions = root.findall(f"{{{xmlsig.SAML}}}Assertion")
    if len(assertions) != 1 or root.find(f"{{{xmlsig.SAML}}}EncryptedAssertion") is not None:
        raise messages.MessageError("the Response must carry exactly one plain Assertion")
    signed = [element for element in (root, assertions[0]) if xmlsig.is_signed(element)]
    if not signed:
        raise xmlsig.SignatureError("neither the Response nor its Assertion is signed")
    for element in signed:
        _verify_xml(element, certs)
    return assertions[0]


def _verify(received: Received, root: xmlsig.Element, certs: tuple[str, ...]) -> None:
    """Raise SignatureError unless the binding's signature is by one of the upstream's keys."""
    if received.binding != "redirect":
        _verify_xml(root, certs)
        return
    if received.signature is None:
        raise xmlsig.SignatureError("the message is not signed")
    for cert in certs:
        try:
            bindings.verify_redirect(received, cert)
            return
        except xmlsig.SignatureError:
            continue
    raise xmlsig.SignatureError("the query signature is not the upstream's")


def _verify_xml(element: xmlsig.Element, certs: tuple[str, ...]) -> None:
    for cert in certs:
        try:
            xmlsig.verify(element, cert)
            return
        except xmlsig.SignatureError:
            continue
    raise xmlsig.SignatureError("the XML signature is not the upstream's")


def _pem(text: str) -> str:
    try:
        der = base64.b64decode("".join(text.split()), validate=True)
        cert = x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError) as error:
        raise UpstreamError("the upstream's metadata has a malformed certificate") from error
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _text(element: Any) -> str | None:
    if element is None or element.text is None:
        return None
    text: str = element.text.strip()
    return text
