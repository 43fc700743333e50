"""SAML 2.0 Metadata: https://docs.oasis-open.org/security/saml/v2.0/saml-metadata-2.0-os.pdf

Reads an identity provider's metadata (entityID, SSO and SLO endpoints per binding, signing
certificates) from a URL or a file, hardened and bounded like every other XML the harness reads, and
writes the metadata of the harness's own SP actors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
from cryptography import x509
from lxml import etree  # type: ignore[import-untyped]

from harness.errors import TargetError
from harness.saml.bindings import BINDING_URIS, Binding
from harness.saml.messages import cert_body, cert_pem
from harness.saml.xml import DS, MD, MalformedMessage, parse, qname

__all__ = [
    "MAX_METADATA_BYTES",
    "Endpoint",
    "IdpMetadata",
    "fetch_idp_metadata",
    "fetch_sp_metadata",
    "parse_idp_metadata",
    "read_idp_metadata",
    "sp_metadata",
]

#: one entity's metadata is a few KiB; federation aggregates are not what the harness reads
MAX_METADATA_BYTES = 1024 * 1024
_PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"
_BY_URI = {uri: name for name, uri in BINDING_URIS.items()}
_SLO_BINDINGS: tuple[Binding, ...] = ("redirect", "post")
_Parsed = TypeVar("_Parsed")


@dataclass(frozen=True)
class Endpoint:
    """A metadata endpoint: where requests go, and where responses go when that differs."""

    location: str
    response_location: str | None = None

    @property
    def for_responses(self) -> str:
        return self.response_location or self.location


@dataclass(frozen=True)
class IdpMetadata:
    """What the harness needs from an IdP's metadata; endpoints keyed by binding short name."""

    entity_id: str
    sso: dict[Binding, Endpoint] = field(default_factory=dict)
    slo: dict[Binding, Endpoint] = field(default_factory=dict)
    signing_certs: tuple[str, ...] = ()

    def sso_endpoint(self, binding: Binding) -> Endpoint:
        return self._pick(self.sso, binding, "SingleSignOnService")

    def slo_endpoint(self, binding: Binding) -> Endpoint:
        return self._pick(self.slo, binding, "SingleLogoutService")

    def _pick(self, endpoints: dict[Binding, Endpoint], binding: Binding, what: str) -> Endpoint:
        found = endpoints.get(binding)
        if found is None:
            offered = ", ".join(sorted(endpoints)) or "none"
            raise TargetError(
                f"the IdP metadata of {self.entity_id} has no {what} for the {binding} binding "
                f"(it offers: {offered})"
            )
        return found


@dataclass(frozen=True)
class SpMetadata:
    """What an SP application publishes: its entityID, ACS and SLO endpoints, signing certificates."""

    entity_id: str
    acs: dict[Binding, Endpoint] = field(default_factory=dict)
    slo: dict[Binding, Endpoint] = field(default_factory=dict)
    signing_certs: tuple[str, ...] = ()


def parse_idp_metadata(data: bytes | str) -> IdpMetadata:
    """Read an ``EntityDescriptor`` (or the first IdP in an ``EntitiesDescriptor``) for SAML 2.0."""
    entity, role = _role(data, "IDPSSODescriptor", "IdP metadata")
    entity_id, certs = _identity(entity, role, "IdP metadata")
    return IdpMetadata(
        entity_id=entity_id,
        sso=_endpoints(role, "SingleSignOnService"),
        slo=_endpoints(role, "SingleLogoutService"),
        signing_certs=certs,
    )


def parse_sp_metadata(data: bytes | str) -> SpMetadata:
    """Read an SP's ``EntityDescriptor`` (or the first SP in an ``EntitiesDescriptor``) for SAML 2.0."""
    entity, role = _role(data, "SPSSODescriptor", "SP metadata")
    entity_id, certs = _identity(entity, role, "SP metadata")
    return SpMetadata(entity_id, _endpoints(role, "AssertionConsumerService"),
                      _endpoints(role, "SingleLogoutService"), certs)


def _role(data: bytes | str, tag: str, what: str) -> tuple[etree._Element, etree._Element]:
    root = parse(data, what=what, limit=MAX_METADATA_BYTES)
    if root.tag == qname(MD, "EntityDescriptor"):
        entities = [root]
    elif root.tag == qname(MD, "EntitiesDescriptor"):
        entities = root.findall(f".//{qname(MD, 'EntityDescriptor')}")
    else:
        raise MalformedMessage(f"{what}: the root is {root.tag}, not an md:EntityDescriptor")
    for entity in entities:
        for role in entity.findall(qname(MD, tag)):
            if _PROTOCOL in role.get("protocolSupportEnumeration", "").split():
                return entity, role
    raise MalformedMessage(f"{what}: no {tag} supporting the SAML 2.0 protocol")


def _identity(entity: etree._Element, role: etree._Element, what: str) -> tuple[str, tuple[str, ...]]:
    entity_id = entity.get("entityID")
    if not entity_id:
        raise MalformedMessage(f"{what}: the EntityDescriptor has no entityID")
    certs = []
    for descriptor in role.findall(qname(MD, "KeyDescriptor")):
        if descriptor.get("use", "signing") != "signing":
            continue  # no use attribute means the key serves both purposes
        for body in descriptor.iterfind(f".//{qname(DS, 'X509Certificate')}"):
            if body.text and body.text.strip():
                certs.append(_readable(cert_pem(body.text)))
    return str(entity_id), tuple(certs)


def _readable(pem: str) -> str:
    """The certificate, once it is known to load: a broken one fails here, not mid-exchange."""
    try:
        x509.load_pem_x509_certificate(pem.encode("ascii"))
    except ValueError:
        raise MalformedMessage("metadata: a signing certificate cannot be read") from None
    return pem


def _endpoints(role: etree._Element, tag: str) -> dict[Binding, Endpoint]:
    found: dict[Binding, Endpoint] = {}
    for node in role.findall(qname(MD, tag)):
        binding = _BY_URI.get(node.get("Binding", ""))
        location = node.get("Location")
        # of several endpoints for one binding, the first is the one used
        if binding is not None and location and binding not in found:
            found[binding] = Endpoint(str(location), node.get("ResponseLocation"))
    return found


def fetch_idp_metadata(client: httpx.Client, url: str) -> IdpMetadata:
    """GET the IdP metadata at ``url`` (the client's transport bounds time and size)."""
    return _fetch(client, url, "IdP metadata", parse_idp_metadata)


def fetch_sp_metadata(client: httpx.Client, url: str) -> SpMetadata:
    """GET an SP application's metadata at ``url`` (the client's transport bounds time and size)."""
    return _fetch(client, url, "SP metadata", parse_sp_metadata)


def _fetch(client: httpx.Client, url: str, what: str, parse: Callable[[bytes], _Parsed]) -> _Parsed:
    """Metadata read from ``url``; what is wrong with the answer is a ``TargetError`` naming the URL."""
    response = client.get(url)
    if response.status_code != 200:
        raise TargetError(f"{what} at {url} answered HTTP {response.status_code}")
    try:
        return parse(response.content)
    except MalformedMessage as exc:
        # the Content-Type tells a login page or a proxy's error page from metadata gone wrong
        kind = response.headers.get("content-type", "no Content-Type").partition(";")[0]
        raise TargetError(f"{what} at {url} ({kind}) cannot be used: {exc}") from None


def read_idp_metadata(path: str | Path) -> IdpMetadata:
    """Read IdP metadata from a file, refusing files larger than ``MAX_METADATA_BYTES``."""
    with Path(path).open("rb") as handle:
        data = handle.read(MAX_METADATA_BYTES + 1)
    return parse_idp_metadata(data)


def sp_metadata(entity_id: str, acs_url: str, slo_url: str, cert: str) -> str:
    """Metadata for one of the harness's SP actors: ACS over HTTP-POST, SLO over Redirect and POST,
    one signing certificate, and the promise to sign requests and want signed assertions."""
    entity = etree.Element(qname(MD, "EntityDescriptor"), nsmap={"md": MD, "ds": DS})
    entity.set("entityID", entity_id)
    role = etree.SubElement(entity, qname(MD, "SPSSODescriptor"))
    role.set("protocolSupportEnumeration", _PROTOCOL)
    role.set("AuthnRequestsSigned", "true")
    role.set("WantAssertionsSigned", "true")
    key = etree.SubElement(role, qname(MD, "KeyDescriptor"), use="signing")
    data = etree.SubElement(etree.SubElement(key, qname(DS, "KeyInfo")), qname(DS, "X509Data"))
    etree.SubElement(data, qname(DS, "X509Certificate")).text = cert_body(cert)
    for binding in _SLO_BINDINGS:
        etree.SubElement(
            role,
            qname(MD, "SingleLogoutService"),
            Binding=BINDING_URIS[binding],
            Location=slo_url,
        )
    etree.SubElement(
        role,
        qname(MD, "AssertionConsumerService"),
        Binding=BINDING_URIS["post"],
        Location=acs_url,
        index="0",
        isDefault="true",
    )
    return str(etree.tostring(entity, encoding="unicode"))
