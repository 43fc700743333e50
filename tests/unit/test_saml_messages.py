"""Tests of harness.saml.messages: build, sign, read, verify, and craft the bad messages attacks need.

python3-saml and pysaml2 read the messages as a cross-check; where they differ from the harness
(signature wrapping), the test says so.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from onelogin.saml2.logout_request import OneLogin_Saml2_Logout_Request  # type: ignore[import-untyped]
from onelogin.saml2.logout_response import OneLogin_Saml2_Logout_Response  # type: ignore[import-untyped]
from onelogin.saml2.utils import OneLogin_Saml2_Utils  # type: ignore[import-untyped]
from saml2 import samlp  # type: ignore[import-untyped]

from harness.saml import messages as m
from harness.saml.xml import MalformedMessage, parse

KEYS = Path(__file__).resolve().parents[2] / "fixtures" / "keys"
SP_KEY = (KEYS / "harness-sp1.key").read_text()
SP_CERT = (KEYS / "harness-sp1.crt").read_text()
OTHER_KEY = (KEYS / "harness-sp2.key").read_text()
OTHER_CERT = (KEYS / "harness-sp2.crt").read_text()
SP = "https://sp.example.org/saml/sp1/metadata"
IDP_SLO = "https://idp.example.org/saml/slo"
LATER = dt.datetime(2031, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
REQUEST_XPATH = "/samlp:LogoutRequest/ds:Signature"


def request_xml(**overrides: object) -> str:
    args: dict[str, object] = {
        "issuer": SP,
        "destination": IDP_SLO,
        "name_id": "alice",
        "name_id_format": m.NAMEID_TRANSIENT,
        "session_indexes": ["idx-1", "idx-2"],
        "not_on_or_after": LATER,
        "reason": m.REASON_USER,
        "id": "_req1",
        "nameid_sp_name_qualifier": SP,
    }
    args.update(overrides)
    return m.build_logout_request(**args)  # type: ignore[arg-type]


def test_build_and_read_logout_request() -> None:
    request = m.parse_logout_request(request_xml())
    assert request.id == "_req1"
    assert request.issuer == SP and request.issuer_format is None
    assert request.destination == IDP_SLO
    assert (request.name_id, request.name_id_format) == ("alice", m.NAMEID_TRANSIENT)
    assert request.sp_name_qualifier == SP and request.name_qualifier is None
    assert request.session_indexes == ("idx-1", "idx-2")
    assert request.not_on_or_after == LATER
    assert request.reason == m.REASON_USER
    assert request.id_count_check == 1
    assert request.signature.state == "absent" and str(request.signature) == "absent"
    assert request.issue_instant is not None and not request.name_id_has_comment


def test_new_ids_are_unique_and_xs_id() -> None:
    ids = {m.new_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(i[0] == "_" and len(i) == 41 for i in ids)


def test_saml_instant_is_utc_without_offset() -> None:
    moment = dt.datetime(2030, 5, 6, 7, 8, 9, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert m.saml_instant(moment) == "2030-05-06T05:08:09Z"


def test_python3_saml_reads_our_logout_request() -> None:
    xml = request_xml()
    assert OneLogin_Saml2_Logout_Request.get_id(xml) == "_req1"
    assert OneLogin_Saml2_Logout_Request.get_issuer(xml) == SP
    assert OneLogin_Saml2_Logout_Request.get_session_indexes(xml) == ["idx-1", "idx-2"]
    assert OneLogin_Saml2_Logout_Request.get_nameid_data(xml) == {
        "Value": "alice",
        "Format": m.NAMEID_TRANSIENT,
        "SPNameQualifier": SP,
    }


def test_pysaml2_reads_our_logout_request() -> None:
    request = samlp.logout_request_from_string(request_xml())
    assert request.name_id.text == "alice"
    assert [index.text for index in request.session_index] == ["idx-1", "idx-2"]
    assert request.issuer.text == SP and request.not_on_or_after == "2031-01-02T03:04:05Z"


def test_logout_response_round_trip() -> None:
    xml = m.build_logout_response(SP, IDP_SLO, "_req1", m.SUCCESS, m.PARTIAL_LOGOUT, id="_resp")
    response = m.parse_logout_response(xml)
    assert (response.id, response.in_response_to, response.destination) == (
        "_resp",
        "_req1",
        IDP_SLO,
    )
    assert (response.status_top, response.status_second) == (m.SUCCESS, m.PARTIAL_LOGOUT)
    assert response.issuer == SP
    reader = OneLogin_Saml2_Logout_Response.__new__(OneLogin_Saml2_Logout_Response)
    reader.document = parse(xml, what="t")
    assert reader.get_status() == m.SUCCESS and reader.get_in_response_to() == "_req1"


def test_sign_and_verify() -> None:
    signed = m.sign(request_xml(), SP_KEY, SP_CERT)
    request = m.parse_logout_request(signed, certs=[SP_CERT])
    assert request.signature == m.SignatureStatus("valid", "", m.RSA_SHA256)
    assert request.signature.valid and request.signature.present
    # the signature sits after Issuer, as the schema wants
    root = parse(signed, what="t")
    assert [child.tag.rsplit("}", 1)[1] for child in root][:3] == ["Issuer", "Signature", "NameID"]
    # python3-saml agrees
    assert OneLogin_Saml2_Utils.validate_sign(signed, SP_CERT, xpath=REQUEST_XPATH)


def test_any_of_several_certificates() -> None:
    signed = m.sign(request_xml(), SP_KEY, SP_CERT)
    assert m.parse_logout_request(signed, certs=[OTHER_CERT, SP_CERT]).signature.valid


def test_unchecked_without_certificates() -> None:
    signed = m.sign(request_xml(), SP_KEY, SP_CERT)
    status = m.parse_logout_request(signed).signature
    assert status.state == "unchecked" and status.present and not status.valid


def test_sha1_signature_is_valid_and_named() -> None:
    signed = m.sign(request_xml(), SP_KEY, SP_CERT, sig_alg=m.RSA_SHA1)
    status = m.parse_logout_request(signed, certs=[SP_CERT]).signature
    assert status.valid and status.algorithm == m.RSA_SHA1
    assert "xmldsig#sha1" in signed


def test_tampered_after_signing_is_invalid() -> None:
    signed = m.sign(request_xml(), SP_KEY, SP_CERT)
    for tampered in (
        m.tamper(signed),
        m.tamper(signed, name_id="bob"),
        m.tamper(signed, session_index="x"),
    ):
        status = m.parse_logout_request(tampered, certs=[SP_CERT]).signature
        assert status.state == "invalid"
        assert str(status) == (
            "invalid: does not verify with the expected certificate: changed after signing, "
            "or signed with another key"
        )
        assert not OneLogin_Saml2_Utils.validate_sign(tampered, SP_CERT, xpath=REQUEST_XPATH)
    assert m.parse_logout_request(m.tamper(signed, name_id="bob")).name_id == "bob"


def test_other_key_is_invalid_and_named() -> None:
    signed = m.sign(request_xml(), OTHER_KEY, OTHER_CERT)
    status = m.parse_logout_request(signed, certs=[SP_CERT]).signature
    assert status.state == "invalid"
    assert status.reason.startswith(
        "signed with another key: it verifies only with the certificate"
    )


def test_attacker_credentials_are_made_once_and_untrusted() -> None:
    key, cert = m.attacker_credentials()
    assert m.attacker_credentials() == (key, cert)
    assert "PRIVATE KEY" in key and "CERTIFICATE" in cert
    signed = m.sign(request_xml(), key, cert)
    status = m.parse_logout_request(signed, certs=[SP_CERT]).signature
    assert "CN=logout-conformance attacker" in status.reason
    assert m.parse_logout_request(signed, certs=[cert]).signature.valid


def test_unsigned_is_absent() -> None:
    assert m.parse_logout_request(request_xml(), certs=[SP_CERT]).signature == m.ABSENT


def test_signature_wrapping_is_invalid_where_python3_saml_accepts_it() -> None:
    signed = m.sign(request_xml(), SP_KEY, SP_CERT)
    forged = request_xml(name_id="bob", id="_forged", session_indexes=[])
    wrapped = m.wrap(signed, forged)
    request = m.parse_logout_request(wrapped, certs=[SP_CERT])
    assert request.name_id == "bob" and request.id == "_forged"
    assert request.signature.state == "invalid"
    assert request.signature.reason == (
        "the signature references #_req1, not the ID of the element it sits in (#_forged): "
        "signature wrapping"
    )
    # python3-saml's generic check finds "the" signature valid and would read NameID bob
    assert OneLogin_Saml2_Utils.validate_sign(wrapped, SP_CERT, xpath=REQUEST_XPATH)
    assert OneLogin_Saml2_Logout_Request.get_nameid(wrapped) == "bob"


def test_signature_wrapping_with_a_duplicated_id() -> None:
    signed = m.sign(request_xml(), SP_KEY, SP_CERT)
    wrapped = m.wrap(signed, request_xml(name_id="bob", id="_other"), same_id=True)
    status = m.parse_logout_request(wrapped, certs=[SP_CERT]).signature
    assert status.reason == "ID _req1 is declared 2 times in the document (SAML Core 1.3.4: once)"


def test_wrap_needs_a_signed_message() -> None:
    with pytest.raises(ValueError, match="no ds:Signature"):
        m.wrap(request_xml(), request_xml())


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda x: x.replace('URI="#_req1"', 'URI=""'),
            "the signature references the whole document (empty URI), not the ID",
        ),
        (lambda x: x.replace(' ID="_req1"', ""), "the signed element has no ID attribute"),
        (
            lambda x: x.replace(
                "</ds:Transforms>",
                '<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"/></ds:Transforms>',
            ),
            "unexpected transform 'http://www.w3.org/TR/1999/REC-xpath-19991116'",
        ),
        (
            lambda x: x.replace(
                "</ds:Signature>",
                '</ds:Signature><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/>',
                1,
            ),
            "2 ds:Signature elements on one element",
        ),
    ],
)
def test_signature_structure_is_checked(change: object, reason: str) -> None:
    signed = m.sign(request_xml(), SP_KEY, SP_CERT)
    xml = change(signed)  # type: ignore[operator]
    assert xml != signed
    status = m.parse_logout_request(xml, certs=[SP_CERT]).signature
    assert status.state == "invalid" and status.reason.startswith(reason)


def test_comment_in_name_id() -> None:
    signed = m.sign(request_xml(), SP_KEY, SP_CERT)
    injected = m.comment_in_name_id(signed, at=2)
    assert "al<!---->ice" in injected
    request = m.parse_logout_request(injected, certs=[SP_CERT])
    # XML's value is the whole text; exclusive C14N ignores comments, so the signature still holds
    assert request.name_id == "alice" and request.name_id_has_comment
    assert request.signature.valid
    # both libraries read the whole value too
    assert OneLogin_Saml2_Logout_Request.get_nameid(injected) == "alice"
    assert samlp.logout_request_from_string(injected).name_id.text == "alice"


def test_two_session_indexes_and_missing_identifier() -> None:
    two = m.parse_logout_request(request_xml(session_indexes=["a", "b"]))
    assert two.session_indexes == ("a", "b")
    root = parse(request_xml(), what="t")
    root.remove(root.find("{urn:oasis:names:tc:SAML:2.0:assertion}NameID"))
    request = m.parse_logout_request(root)
    assert request.id_count_check == 0 and request.name_id is None


def test_wrong_destination_and_issuer_can_be_built() -> None:
    request = m.parse_logout_request(
        request_xml(destination="https://evil.example/slo", issuer="x")
    )
    assert request.destination == "https://evil.example/slo" and request.issuer == "x"
    assert m.parse_logout_request(request_xml(destination=None)).destination is None


def test_authn_request() -> None:
    xml = m.build_authn_request(SP, "https://idp/sso", "https://sp/acs", id="_a", force_authn=True)
    root = parse(xml, what="t")
    assert root.get("AssertionConsumerServiceURL") == "https://sp/acs"
    assert root.get("ProtocolBinding") == "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
    assert root.get("ForceAuthn") == "true" and root.get("ID") == "_a"
    assert root.findtext("{urn:oasis:names:tc:SAML:2.0:assertion}Issuer") == SP


RESPONSE = """<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"
  xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_resp" Version="2.0"
  IssueInstant="2030-01-01T00:00:00Z" Destination="https://sp/acs" InResponseTo="_a">
 <saml:Issuer>https://idp</saml:Issuer>
 <samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>
 <saml:Assertion ID="_as" Version="2.0" IssueInstant="2030-01-01T00:00:00Z">
  <saml:Issuer>https://idp</saml:Issuer>
  <saml:Subject>
   <saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
     NameQualifier="https://idp" SPNameQualifier="https://sp">alice</saml:NameID>
   <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
    <saml:SubjectConfirmationData Recipient="https://sp/acs" NotOnOrAfter="2030-01-01T00:05:00.123456789Z"/>
   </saml:SubjectConfirmation>
  </saml:Subject>
  <saml:Conditions><saml:AudienceRestriction><saml:Audience>https://sp</saml:Audience>
  </saml:AudienceRestriction></saml:Conditions>
  <saml:AuthnStatement AuthnInstant="2030-01-01T00:00:00Z" SessionIndex="idx-9"
    SessionNotOnOrAfter="2030-01-01T08:00:00.5Z"/>
  AUTHN2
 </saml:Assertion>
</samlp:Response>"""


def signed_response(second_statement: str = "") -> str:
    """The Response with its assertion signed, then the Response signed too."""
    text = RESPONSE.replace("AUTHN2", second_statement)
    root = parse(text, what="t")
    assertion = root.find("{urn:oasis:names:tc:SAML:2.0:assertion}Assertion")
    from lxml import etree  # type: ignore[import-untyped]

    signed_assertion = parse(
        m.sign(etree.tostring(assertion, encoding="unicode"), SP_KEY, SP_CERT), what="t"
    )
    root.replace(assertion, signed_assertion)
    return m.sign(etree.tostring(root, encoding="unicode"), SP_KEY, SP_CERT)


def test_login_response() -> None:
    response = m.parse_response(signed_response(), certs=[SP_CERT])
    assert (response.id, response.issuer, response.destination, response.in_response_to) == (
        "_resp",
        "https://idp",
        "https://sp/acs",
        "_a",
    )
    assert response.status_top == m.SUCCESS and response.signature.valid
    assertion = response.assertion
    assert assertion is not None and assertion.signature.valid
    assert (assertion.name_id, assertion.name_id_format) == ("alice", m.NAMEID_PERSISTENT)
    assert (assertion.name_qualifier, assertion.sp_name_qualifier) == ("https://idp", "https://sp")
    assert assertion.session_index == "idx-9" and assertion.authn_session_indexes == ("idx-9",)
    assert assertion.session_not_on_or_after == dt.datetime(
        2030, 1, 1, 8, 0, 0, 500000, tzinfo=dt.UTC
    )
    assert assertion.audience == ("https://sp",) and assertion.recipient == "https://sp/acs"


def test_login_response_statement_without_session_index() -> None:
    response = m.parse_response(
        signed_response('<saml:AuthnStatement AuthnInstant="2030-01-01T00:00:00Z"/>')
    )
    assert response.assertion is not None
    assert response.assertion.authn_session_indexes == ("idx-9", None)


def test_login_response_tampered_assertion() -> None:
    text = signed_response().replace(">alice<", ">bob<")
    response = m.parse_response(text, certs=[SP_CERT])
    assert response.signature.state == "invalid"
    assert response.assertion is not None and response.assertion.signature.state == "invalid"


def test_parse_message_dispatches() -> None:
    assert isinstance(m.parse_message(request_xml()), m.LogoutRequest)
    assert isinstance(
        m.parse_message(m.build_logout_response(SP, None, None, m.SUCCESS)), m.LogoutResponse
    )
    assert isinstance(m.parse_message(RESPONSE.replace("AUTHN2", "")), m.Response)
    with pytest.raises(
        MalformedMessage,
        match="expected a LogoutRequest, LogoutResponse or Response, got AuthnRequest",
    ):
        m.parse_message(m.build_authn_request(SP, "https://i", "https://a"))


def test_wrong_root_is_malformed() -> None:
    with pytest.raises(
        MalformedMessage, match="expected a samlp:LogoutRequest, got LogoutResponse"
    ):
        m.parse_logout_request(m.build_logout_response(SP, None, None, m.SUCCESS))
    with pytest.raises(
        MalformedMessage, match="expected a samlp:LogoutResponse, got x in namespace"
    ):
        m.parse_logout_response("<x/>")


def test_bad_time_is_malformed() -> None:
    with pytest.raises(MalformedMessage, match="NotOnOrAfter 'tomorrow' is not an xs:dateTime"):
        m.parse_logout_request(request_xml().replace("2031-01-02T03:04:05Z", "tomorrow"))


def test_zone_less_time_is_read_as_utc() -> None:
    request = m.parse_logout_request(
        request_xml().replace("2031-01-02T03:04:05Z", "2031-01-02T03:04:05")
    )
    assert request.not_on_or_after == LATER


def test_certificate_pem_round_trip() -> None:
    body = m.cert_body(SP_CERT)
    assert "-" not in body and "\n" not in body
    assert m.cert_body(m.cert_pem(body)) == body
    assert m.cert_pem(" ".join([body[:10], body[10:]])) == m.cert_pem(body)
