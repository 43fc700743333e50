"""Tests of harness.saml.metadata: reading IdP metadata (hardened, bounded) and writing SP metadata.

python3-saml's metadata parser and schema validation, and pysaml2's reader, cross-check the harness.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser  # type: ignore[import-untyped]
from onelogin.saml2.settings import OneLogin_Saml2_Settings  # type: ignore[import-untyped]
from saml2 import md  # type: ignore[import-untyped]

from harness.errors import TargetError
from harness.saml import metadata
from harness.saml.messages import cert_body
from harness.saml.xml import MalformedMessage

KEYS = Path(__file__).resolve().parents[2] / "fixtures" / "keys"
CERT = (KEYS / "simplesamlphp-idp.crt").read_text()
OTHER = (KEYS / "harness-sp3.crt").read_text()
SP_CERT = (KEYS / "harness-sp1.crt").read_text()

REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
SOAP = "urn:oasis:names:tc:SAML:2.0:bindings:SOAP"


def idp_xml(entity_id: str = "https://idp.example.org/md", extra: str = "") -> str:
    return f"""<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
    xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity_id}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>
      {cert_body(CERT)}
    </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>
      {cert_body(SP_CERT)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:KeyDescriptor><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert_body(OTHER)}
    </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleLogoutService Binding="{REDIRECT}" Location="https://idp.example.org/slo"
      ResponseLocation="https://idp.example.org/slo/response"/>
    <md:SingleLogoutService Binding="{POST}" Location="https://idp.example.org/slo-post"/>
    <md:SingleLogoutService Binding="{POST}" Location="https://idp.example.org/second"/>
    <md:SingleLogoutService Binding="{SOAP}" Location="https://idp.example.org/slo-soap"/>
    <md:SingleSignOnService Binding="{REDIRECT}" Location="https://idp.example.org/sso"/>
    <md:SingleSignOnService Binding="urn:example:unknown" Location="https://idp.example.org/x"/>
    {extra}
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"""


def test_parse_idp_metadata() -> None:
    idp = metadata.parse_idp_metadata(idp_xml())
    assert idp.entity_id == "https://idp.example.org/md"
    assert idp.sso_endpoint("redirect") == metadata.Endpoint("https://idp.example.org/sso")
    slo = idp.slo_endpoint("redirect")
    assert slo.location == "https://idp.example.org/slo"
    assert slo.for_responses == "https://idp.example.org/slo/response"
    # the first endpoint of a binding wins
    assert idp.slo_endpoint("post").for_responses == "https://idp.example.org/slo-post"
    assert idp.slo_endpoint("soap").location == "https://idp.example.org/slo-soap"
    # signing certificates: use="signing" and no use; not use="encryption"
    assert [cert_body(c) for c in idp.signing_certs] == [cert_body(CERT), cert_body(OTHER)]


def test_python3_saml_reads_the_same_metadata_but_ignores_response_location() -> None:
    parsed = OneLogin_Saml2_IdPMetadataParser.parse(idp_xml())["idp"]
    idp = metadata.parse_idp_metadata(idp_xml())
    assert parsed["entityId"] == idp.entity_id
    assert parsed["singleLogoutService"]["url"] == idp.slo_endpoint("redirect").location
    # python3-saml 1.16 drops ResponseLocation: it would send LogoutResponses to Location
    assert "responseUrl" not in parsed["singleLogoutService"]
    assert parsed["singleSignOnService"]["url"] == idp.sso_endpoint("redirect").location


def test_missing_endpoint_is_a_clear_target_error() -> None:
    idp = metadata.parse_idp_metadata(idp_xml())
    with pytest.raises(TargetError) as info:
        idp.sso_endpoint("post")
    assert str(info.value) == (
        "the IdP metadata of https://idp.example.org/md has no SingleSignOnService for the post "
        "binding (it offers: redirect)"
    )


def test_entities_descriptor_takes_the_first_saml2_idp() -> None:
    sp_only = metadata.sp_metadata("https://sp", "https://sp/acs", "https://sp/slo", SP_CERT)
    aggregate = (
        '<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">'
        + sp_only
        + idp_xml("https://first")
        + idp_xml("https://second")
        + "</md:EntitiesDescriptor>"
    )
    assert metadata.parse_idp_metadata(aggregate).entity_id == "https://first"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("<x/>", "IdP metadata: the root is x, not an md:EntityDescriptor"),
        (
            metadata.sp_metadata("https://sp", "https://sp/acs", "https://sp/slo", SP_CERT),
            "IdP metadata: no IDPSSODescriptor supporting the SAML 2.0 protocol",
        ),
        (idp_xml(entity_id=""), "IdP metadata: the EntityDescriptor has no entityID"),
        ("<!DOCTYPE x><x/>", "IdP metadata: XML has a DOCTYPE (DTDs are refused)"),
        (idp_xml()[:300], "IdP metadata: truncated XML"),
    ],
)
def test_bad_idp_metadata(data: str, reason: str) -> None:
    with pytest.raises(MalformedMessage) as info:
        metadata.parse_idp_metadata(data)
    assert str(info.value).startswith(reason)


def test_read_from_a_file_is_bounded(tmp_path: Path) -> None:
    good = tmp_path / "idp.xml"
    good.write_text(idp_xml())
    assert metadata.read_idp_metadata(good).entity_id == "https://idp.example.org/md"
    huge = tmp_path / "huge.xml"
    huge.write_text(idp_xml(extra="<!--" + "x" * metadata.MAX_METADATA_BYTES + "-->"))
    with pytest.raises(MalformedMessage, match="message larger than"):
        metadata.read_idp_metadata(huge)


def test_fetch_over_http() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/md":
            return httpx.Response(200, text=idp_xml())
        if request.url.path == "/broken":
            return httpx.Response(200, text="<html>login</html")
        return httpx.Response(404, text="no")

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        assert metadata.fetch_idp_metadata(client, "https://idp/md").entity_id.endswith("/md")
        with pytest.raises(TargetError, match="IdP metadata at https://idp/gone answered HTTP 404"):
            metadata.fetch_idp_metadata(client, "https://idp/gone")
        with pytest.raises(TargetError, match="cannot be used: IdP metadata: "):
            metadata.fetch_idp_metadata(client, "https://idp/broken")


def test_sp_metadata_is_schema_valid_and_readable() -> None:
    xml = metadata.sp_metadata(
        "https://h.example.org/saml/sp1/metadata",
        "https://h.example.org/saml/sp1/acs",
        "https://h.example.org/saml/sp1/slo",
        SP_CERT,
    )
    settings = OneLogin_Saml2_Settings(
        {
            "sp": {
                "entityId": "https://h.example.org/saml/sp1/metadata",
                "assertionConsumerService": {"url": "https://h.example.org/saml/sp1/acs"},
            }
        },
        sp_validation_only=True,
    )
    assert settings.validate_metadata(xml) == []
    entity = md.entity_descriptor_from_string(xml)
    role = entity.spsso_descriptor[0]
    assert entity.entity_id == "https://h.example.org/saml/sp1/metadata"
    assert role.authn_requests_signed == "true" and role.want_assertions_signed == "true"
    assert {(s.binding, s.location) for s in role.single_logout_service} == {
        (REDIRECT, "https://h.example.org/saml/sp1/slo"),
        (POST, "https://h.example.org/saml/sp1/slo"),
    }
    acs = role.assertion_consumer_service[0]
    assert (acs.binding, acs.location, acs.is_default) == (
        POST,
        "https://h.example.org/saml/sp1/acs",
        "true",
    )
    assert role.key_descriptor[0].use == "signing"
    body = role.key_descriptor[0].key_info.x509_data[0].x509_certificate.text
    assert body == cert_body(SP_CERT)
    assert "PRIVATE" not in xml


def test_unreadable_signing_certificate_is_refused_when_read() -> None:
    broken = idp_xml().replace(cert_body(CERT), "QUJD" * 20)
    with pytest.raises(MalformedMessage, match="a signing certificate cannot be read"):
        metadata.parse_idp_metadata(broken)
