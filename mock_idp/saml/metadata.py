"""The IdP's SAML metadata: its key and endpoints (SAML 2.0 Metadata §2.4.3, https://docs.oasis-open.org/security/saml/v2.0/saml-metadata-2.0-os.pdf)."""

from saml2 import md, xmldsig  # type: ignore[import-untyped]
from starlette.requests import Request
from starlette.responses import Response

from mock_idp.saml import bindings
from mock_idp.saml.idp import SamlIdp
from mock_idp.saml.messages import NAMEID_FORMATS


def metadata_xml(idp: SamlIdp) -> bytes:
    key = md.KeyDescriptor(
        use="signing",
        key_info=xmldsig.KeyInfo(
            x509_data=[
                xmldsig.X509Data(
                    x509_certificate=xmldsig.X509Certificate(text=idp.credentials.cert_b64)
                )
            ]
        ),
    )
    front_channel = (bindings.REDIRECT, bindings.POST)
    descriptor = md.IDPSSODescriptor(
        protocol_support_enumeration="urn:oasis:names:tc:SAML:2.0:protocol",
        want_authn_requests_signed="false",
        key_descriptor=[key],
        single_logout_service=[
            *(md.SingleLogoutService(binding=b, location=idp.slo_url) for b in front_channel),
            md.SingleLogoutService(binding=bindings.SOAP, location=idp.soap_url),
        ],
        name_id_format=[md.NameIDFormat(text=name_format) for name_format in NAMEID_FORMATS],
        single_sign_on_service=[
            md.SingleSignOnService(binding=b, location=idp.sso_url) for b in front_channel
        ],
    )
    entity = md.EntityDescriptor(entity_id=idp.entity_id, idpsso_descriptor=[descriptor])
    xml: bytes = entity.to_string(nspair={"md": md.NAMESPACE, "ds": xmldsig.NAMESPACE})
    return xml


class MetadataEndpoint:
    def __init__(self, idp: SamlIdp) -> None:
        self.xml = metadata_xml(idp)

    async def metadata(self, request: Request) -> Response:
        return Response(self.xml, media_type="application/samlmetadata+xml")
