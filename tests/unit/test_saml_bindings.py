"""Tests of harness.saml.bindings: HTTP-Redirect, HTTP-POST and SOAP round trips, signatures over
the query as received, and every broken encoding turned into a clear ``MalformedMessage``.

python3-saml decodes and verifies the harness's Redirect messages as a cross-check.
"""

from __future__ import annotations

import base64
import datetime as dt
import zlib
from pathlib import Path
from urllib.parse import parse_qsl, quote_plus, unquote_plus, urlencode, urlsplit

import pytest
from onelogin.saml2.auth import OneLogin_Saml2_Auth  # type: ignore[import-untyped]
from onelogin.saml2.utils import OneLogin_Saml2_Utils  # type: ignore[import-untyped]

from harness.saml import bindings as b
from harness.saml import messages as m
from harness.saml.xml import MalformedMessage

KEYS = Path(__file__).resolve().parents[2] / "fixtures" / "keys"
KEY = (KEYS / "harness-sp1.key").read_text()
CERT = (KEYS / "harness-sp1.crt").read_text()
OTHER_KEY = (KEYS / "harness-sp2.key").read_text()
OTHER_CERT = (KEYS / "harness-sp2.crt").read_text()
SLO = "https://idp.example.org/saml/slo"
RELAY = "https://sp.example.org/after?x=1&y=a b/é"


def request_xml() -> str:
    return m.build_logout_request(
        "https://sp.example.org/md",
        SLO,
        "alice",
        m.NAMEID_TRANSIENT,
        ["idx-1"],
        dt.datetime(2031, 1, 1, tzinfo=dt.UTC),
        id="_r1",
    )


def redirect(**kwargs: object) -> str:
    args: dict[str, object] = {"kind": "SAMLRequest", "relay_state": RELAY, "key_pem": KEY}
    args.update(kwargs)
    return b.encode_redirect(request_xml(), SLO, **args)  # type: ignore[arg-type]


def raw_url(**params: str) -> str:
    return f"{SLO}?{'&'.join(f'{k}={v}' for k, v in params.items())}"


def b64(data: bytes) -> str:
    return quote_plus(base64.b64encode(data).decode())


def deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


# HTTP-Redirect


def test_redirect_round_trip() -> None:
    url = redirect()
    assert url.startswith(SLO + "?SAMLRequest=")
    names = [part.split("=")[0] for part in urlsplit(url).query.split("&")]
    assert names == ["SAMLRequest", "RelayState", "SigAlg", "Signature"]
    decoded = b.decode_redirect(url, certs=[CERT])
    assert decoded.binding == "redirect" and decoded.kind == "SAMLRequest"
    assert decoded.relay_state == RELAY
    assert decoded.sig_alg == m.RSA_SHA256
    assert str(decoded.signature_status) == "valid"
    assert decoded.endpoint == SLO
    assert decoded.query_parts is not None and decoded.query_parts[0][0] == "SAMLRequest"
    assert m.parse_logout_request(decoded.xml).name_id == "alice"


def test_redirect_removes_an_enveloped_signature() -> None:
    signed = m.sign(request_xml(), KEY, CERT)
    decoded = b.decode_redirect(b.encode_redirect(signed, SLO, kind="SAMLRequest"))
    assert "Signature" not in decoded.xml


def test_redirect_unsigned_is_absent() -> None:
    decoded = b.decode_redirect(redirect(key_pem=None, relay_state=None), certs=[CERT])
    assert decoded.signature_status == m.ABSENT and decoded.relay_state is None
    assert decoded.sig_alg is None


def test_redirect_without_certificates_is_unchecked() -> None:
    assert b.decode_redirect(redirect()).signature_status.state == "unchecked"


def test_redirect_other_key_is_invalid() -> None:
    status = b.decode_redirect(redirect(key_pem=OTHER_KEY), certs=[CERT]).signature_status
    assert status.state == "invalid"
    assert status.reason.startswith("does not verify with the expected certificate")
    assert b.decode_redirect(
        redirect(key_pem=OTHER_KEY), certs=[CERT, OTHER_CERT]
    ).signature_status.valid


@pytest.mark.parametrize("parameter", ["SAMLRequest", "RelayState", "SigAlg"])
def test_redirect_tampered_parameter_is_invalid(parameter: str) -> None:
    url = redirect()
    parts = dict(part.split("=", 1) for part in urlsplit(url).query.split("&"))
    if parameter == "SAMLRequest":
        other = b.encode_redirect(request_xml().replace("alice", "bob"), SLO, kind="SAMLRequest")
        parts[parameter] = urlsplit(other).query.split("=", 1)[1]
    elif parameter == "RelayState":
        parts[parameter] = "elsewhere"
    else:
        parts[parameter] = quote_plus(m.RSA_SHA1)
    status = b.verify_redirect("&".join(f"{k}={v}" for k, v in parts.items()), [CERT])
    assert status.state == "invalid"


def test_redirect_sha1_downgrade_is_valid_and_named() -> None:
    decoded = b.decode_redirect(redirect(sig_alg=m.RSA_SHA1), certs=[CERT])
    assert decoded.signature_status.valid and decoded.signature_status.algorithm == m.RSA_SHA1


def test_redirect_signature_is_over_the_query_as_received() -> None:
    url = redirect(lowercase_escapes=True)
    assert "%2f" in url or "%2b" in url
    assert b.decode_redirect(url, certs=[CERT]).signature_status.valid
    # parameter order in the URL does not matter: the signed string has a fixed order
    query = urlsplit(url).query.split("&")
    shuffled = f"{SLO}?{'&'.join(reversed(query))}"
    assert b.decode_redirect(shuffled, certs=[CERT]).signature_status.valid


def test_python3_saml_re_encodes_unless_told_to_use_the_query() -> None:
    """python3-saml by default rebuilds the signed string by URL-encoding the decoded values again
    (upper-case escapes), so a valid signature over lower-case escapes fails unless
    ``validate_signature_from_qs`` is set."""
    url = redirect(lowercase_escapes=True)
    query = urlsplit(url).query
    values = dict(parse_qsl(query))
    signature = OneLogin_Saml2_Utils.b64decode(values["Signature"])
    rebuilt = OneLogin_Saml2_Auth._build_sign_query(
        values["SAMLRequest"], values["RelayState"], values["SigAlg"], "SAMLRequest"
    )
    assert not OneLogin_Saml2_Utils.validate_binary_sign(rebuilt, signature, CERT, m.RSA_SHA256)
    as_received = OneLogin_Saml2_Auth._build_sign_query_from_qs(query, "SAMLRequest")
    assert OneLogin_Saml2_Utils.validate_binary_sign(as_received, signature, CERT, m.RSA_SHA256)


def test_python3_saml_reads_and_verifies_our_redirect() -> None:
    query = urlsplit(redirect()).query
    values = dict(parse_qsl(query))
    xml = OneLogin_Saml2_Utils.decode_base64_and_inflate(values["SAMLRequest"])
    assert b"alice" in xml
    rebuilt = OneLogin_Saml2_Auth._build_sign_query(
        values["SAMLRequest"], values["RelayState"], values["SigAlg"], "SAMLRequest"
    )
    signature = OneLogin_Saml2_Utils.b64decode(values["Signature"])
    assert OneLogin_Saml2_Utils.validate_binary_sign(rebuilt, signature, CERT, m.RSA_SHA256)


def test_python3_saml_redirect_is_read_by_the_harness() -> None:
    encoded = OneLogin_Saml2_Utils.deflate_and_base64_encode(request_xml())
    signed = OneLogin_Saml2_Auth._build_sign_query(encoded, "rs", m.RSA_SHA256, "SAMLRequest")
    signature = OneLogin_Saml2_Utils.sign_binary(signed, KEY)
    url = f"{SLO}?{signed}&Signature={quote_plus(base64.b64encode(signature).decode())}"
    decoded = b.decode_redirect(url, certs=[CERT])
    assert decoded.signature_status.valid and decoded.relay_state == "rs"


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"SAMLRequest": "%%%not-base64"}, "SAMLRequest is not valid base64"),
        (
            {"SAMLRequest": b64(b"this is not deflate at all")},
            "SAMLRequest is not valid DEFLATE data",
        ),
        (
            {"SAMLRequest": b64(deflate(b"<a>" * 50)[:-6])},
            "SAMLRequest is not valid DEFLATE data (the stream is cut short)",
        ),
        (
            {"SAMLRequest": b64(deflate(b"<a><b>"))},
            "SAMLRequest: truncated XML: Premature end of data",
        ),
        (
            {"SAMLRequest": b64(deflate(b"<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>"))},
            "SAMLRequest: XML has a DOCTYPE (DTDs are refused)",
        ),
        ({"RelayState": "x"}, "the URL carries no SAMLRequest or SAMLResponse parameter"),
        (
            {"SAMLRequest": b64(deflate(b"<a/>")), "SAMLResponse": b64(deflate(b"<a/>"))},
            "the URL carries both SAMLRequest and SAMLResponse",
        ),
    ],
)
def test_redirect_bad_input(params: dict[str, str], reason: str) -> None:
    with pytest.raises(MalformedMessage) as info:
        b.decode_redirect(raw_url(**params))
    assert str(info.value).startswith(reason)


def test_redirect_zlib_wrapped_says_so() -> None:
    with pytest.raises(MalformedMessage) as info:
        b.decode_redirect(raw_url(SAMLRequest=b64(zlib.compress(b"<a/>"))))
    assert str(info.value).startswith("SAMLRequest is not valid DEFLATE data")
    assert str(info.value).endswith("(it has a zlib header: the binding wants raw DEFLATE)")


def test_redirect_deflate_bomb_is_refused() -> None:
    bomb = deflate(b"<a>" + b" " * (50 * 1024 * 1024) + b"</a>")  # 50 MiB in about 50 KiB
    assert len(bomb) < 100 * 1024
    with pytest.raises(MalformedMessage) as info:
        b.decode_redirect(raw_url(SAMLRequest=b64(bomb)))
    assert str(info.value) == (
        f"SAMLRequest inflates to more than {b.MAX_INFLATED_BYTES} bytes (refused: a DEFLATE bomb?)"
    )


def test_redirect_duplicated_parameter() -> None:
    url = redirect()
    duplicated = url + "&RelayState=other"
    with pytest.raises(MalformedMessage, match="query parameter RelayState appears 2 times"):
        b.decode_redirect(duplicated)
    status = b.verify_redirect(urlsplit(duplicated).query, [CERT])
    assert str(status) == "invalid: query parameter RelayState appears 2 times"


def test_redirect_signature_problems() -> None:
    query = urlsplit(redirect()).query
    parts = dict(part.split("=", 1) for part in query.split("&"))
    without_alg = "&".join(f"{k}={v}" for k, v in parts.items() if k != "SigAlg")
    assert (
        str(b.verify_redirect(without_alg, [CERT]))
        == "invalid: a Signature parameter without SigAlg"
    )
    odd = {**parts, "SigAlg": quote_plus("http://example.org/rot13")}
    status = b.verify_redirect("&".join(f"{k}={v}" for k, v in odd.items()), [CERT])
    assert str(status) == "invalid: unsupported SigAlg 'http://example.org/rot13'"
    broken = {**parts, "Signature": "@@@"}
    status = b.verify_redirect("&".join(f"{k}={v}" for k, v in broken.items()), [CERT])
    assert status.reason.startswith("Signature is not valid base64")
    with pytest.raises(ValueError, match="unsupported SigAlg"):
        b.encode_redirect(request_xml(), SLO, kind="SAMLRequest", key_pem=KEY, sig_alg="x")


def test_redirect_to_an_endpoint_with_a_query() -> None:
    url = b.encode_redirect(request_xml(), SLO + "?tenant=a", kind="SAMLRequest", key_pem=KEY)
    assert url.startswith(SLO + "?tenant=a&SAMLRequest=")
    assert b.decode_redirect(url, certs=[CERT]).signature_status.valid


# HTTP-POST


def test_post_round_trip_from_form_body_and_page() -> None:
    signed = m.sign(request_xml(), KEY, CERT)
    form = b.encode_post(signed, SLO, kind="SAMLRequest", relay_state=RELAY)
    assert form.action == SLO and [name for name, _ in form.fields] == ["SAMLRequest", "RelayState"]
    assert 'method="post"' in form.html and "submit()" in form.html
    from_body = b.decode_post(urlencode(form.fields), endpoint=SLO, certs=[CERT])
    from_page = b.decode_post_page(form.html, page_url="https://sp.example.org/x", certs=[CERT])
    for decoded in (from_body, from_page):
        assert decoded.binding == "post" and decoded.kind == "SAMLRequest"
        assert decoded.relay_state == RELAY and decoded.endpoint == SLO
        assert decoded.signature_status.valid and decoded.sig_alg == m.RSA_SHA256
        assert decoded.query_parts is None
        assert decoded.xml == signed


def test_post_unsigned_tampered_other_key() -> None:
    def status(xml: str) -> str:
        form = b.encode_post(xml, SLO, kind="SAMLRequest")
        return str(b.decode_post(urlencode(form.fields), certs=[CERT]).signature_status)

    assert status(request_xml()) == "absent"
    assert status(m.tamper(m.sign(request_xml(), KEY, CERT))).startswith("invalid: does not verify")
    assert status(m.sign(request_xml(), OTHER_KEY, OTHER_CERT)).startswith(
        "invalid: signed with another key"
    )


def test_post_base64_with_line_breaks_is_read() -> None:
    encoded = base64.encodebytes(request_xml().encode()).decode()
    assert "\n" in encoded
    decoded = b.decode_post(urlencode({"SAMLRequest": encoded}))
    assert "alice" in decoded.xml


def test_post_page_with_relative_action_and_entities() -> None:
    encoded = base64.b64encode(request_xml().encode()).decode()
    page = (
        '<html><body><form method="POST" action="../slo?x=1&amp;y=2">'
        f'<input type="hidden" name="SAMLRequest" value="{encoded}">'
        '<input type="hidden" name="RelayState" value="a&amp;b"></form></body></html>'
    )
    decoded = b.decode_post_page(page, page_url="https://idp.example.org/saml/logout/page")
    assert decoded.endpoint == "https://idp.example.org/saml/slo?x=1&y=2"
    assert decoded.relay_state == "a&b"


def test_post_page_without_a_saml_form() -> None:
    page = '<form action="/login"><input name="username"></form>'
    assert b.find_post_form(page, "https://idp/") is None
    with pytest.raises(MalformedMessage, match="holds no form with SAMLRequest or SAMLResponse"):
        b.decode_post_page(page, page_url="https://idp/")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("SAMLRequest=%%%", "SAMLRequest is not valid base64"),
        ("RelayState=x", "the form carries no SAMLRequest or SAMLResponse field"),
        (
            "SAMLRequest=PGEvPg%3D%3D&SAMLRequest=PGEvPg%3D%3D",
            "form field SAMLRequest appears 2 times",
        ),
        (
            "SAMLResponse=" + quote_plus(base64.b64encode(b"<a><b>").decode()),
            "SAMLResponse: truncated XML",
        ),
        ("&".join(f"f{i}=1" for i in range(30)), "form body cannot be read"),
    ],
)
def test_post_bad_input(body: str, reason: str) -> None:
    with pytest.raises(MalformedMessage) as info:
        b.decode_post(body)
    assert str(info.value).startswith(reason)


def test_post_huge_body_is_refused() -> None:
    with pytest.raises(MalformedMessage, match="form body larger than"):
        b.decode_post("SAMLRequest=" + "A" * (b.MAX_FORM_BYTES + 1))


def test_post_huge_message_is_refused() -> None:
    huge = base64.b64encode(b"<a>" + b"x" * (300 * 1024) + b"</a>").decode()
    with pytest.raises(MalformedMessage, match="message larger than"):
        b.decode_post(urlencode({"SAMLRequest": huge}))


# SOAP


def test_soap_round_trip() -> None:
    signed = m.sign(request_xml(), KEY, CERT)
    envelope = b.soap_wrap(signed)
    assert "Envelope" in envelope and "Body" in envelope
    decoded = b.decode_soap(envelope, certs=[CERT])
    assert decoded.binding == "soap" and decoded.kind == "SAMLRequest"
    assert decoded.signature_status.valid and decoded.relay_state is None
    response = b.decode_soap(b.soap_wrap(m.build_logout_response("x", None, "_r1", m.SUCCESS)))
    assert response.kind == "SAMLResponse" and response.signature_status == m.ABSENT
    assert m.parse_logout_request(b.soap_unwrap(envelope)).id == "_r1"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("<a/>", "expected a SOAP 1.1 Envelope"),
        (
            '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"/>',
            "the SOAP Body holds 0 elements",
        ),
        (
            (
                '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><x/>'
                "</s:Body></s:Envelope>"
            ),
            "the SOAP Body holds x, not a SAML protocol message",
        ),
        (
            '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>',
            "SOAP envelope: truncated XML",
        ),
    ],
)
def test_soap_bad_input(data: str, reason: str) -> None:
    with pytest.raises(MalformedMessage) as info:
        b.decode_soap(data)
    assert str(info.value).startswith(reason)


def test_binding_uris() -> None:
    assert b.BINDING_URIS["redirect"].endswith("HTTP-Redirect")
    assert b.BINDING_URIS["post"].endswith("HTTP-POST")
    assert b.BINDING_URIS["soap"].endswith(":SOAP")
    assert unquote_plus(quote_plus(RELAY)) == RELAY


# python3-saml as the SP receiving the harness's HTTP-Redirect LogoutRequests

IDP_KEY = (KEYS / "simplesamlphp-idp.key").read_text()
IDP_CERT = (KEYS / "simplesamlphp-idp.crt").read_text()
SP_SLO = "https://sp.example.org/slo"


def python3_saml_sp(url: str) -> tuple[OneLogin_Saml2_Auth, list[str]]:
    settings = {
        "strict": True,
        "sp": {
            "entityId": "https://sp.example.org/md",
            "assertionConsumerService": {"url": "https://sp.example.org/acs"},
            "singleLogoutService": {"url": SP_SLO},
        },
        "idp": {
            "entityId": "https://idp.example.org/md",
            "singleSignOnService": {"url": "https://idp.example.org/sso"},
            "singleLogoutService": {"url": SLO},
            "x509cert": IDP_CERT,
        },
    }
    query = urlsplit(url).query
    request_data = {
        "https": "on",
        "http_host": "sp.example.org",
        "script_name": "/slo",
        "get_data": dict(parse_qsl(query)),
        "query_string": query,
        "validate_signature_from_qs": True,
    }
    return OneLogin_Saml2_Auth(request_data, settings), []


def idp_request(name_id: str = "alice", *, signed: bool = True) -> str:
    xml = m.build_logout_request(
        "https://idp.example.org/md", SP_SLO, name_id, m.NAMEID_TRANSIENT, ["idx-1"], None
    )
    key = IDP_KEY if signed else None
    return b.encode_redirect(xml, SP_SLO, kind="SAMLRequest", relay_state="rs", key_pem=key)


def test_python3_saml_processes_our_logout_request() -> None:
    auth, ended = python3_saml_sp(idp_request())
    answer = auth.process_slo(delete_session_cb=lambda: ended.append("session"))
    assert auth.get_errors() == [] and ended == ["session"]
    decoded = b.decode_redirect(answer)
    assert decoded.kind == "SAMLResponse" and decoded.relay_state == "rs"
    assert m.parse_logout_response(decoded.xml).status_top == m.SUCCESS


def test_python3_saml_rejects_our_forged_logout_request() -> None:
    forged = b.encode_redirect(
        m.build_logout_request("https://idp.example.org/md", SP_SLO, "alice", None, [], None),
        SP_SLO,
        kind="SAMLRequest",
        key_pem=KEY,  # a key the SP does not trust for the IdP
    )
    auth, ended = python3_saml_sp(forged)
    auth.process_slo(delete_session_cb=lambda: ended.append("session"))
    assert "invalid_logout_request_signature" in auth.get_errors() and ended == []


def test_python3_saml_facts_the_harness_must_not_assume_away() -> None:
    """python3-saml 1.16, default security settings: an unsigned LogoutRequest is accepted, and the
    local session ends whatever NameID the request names (it does not match it to the session)."""
    for url in (idp_request(signed=False), idp_request("somebody-else")):
        auth, ended = python3_saml_sp(url)
        auth.process_slo(delete_session_cb=lambda ended=ended: ended.append("session"))
        assert auth.get_errors() == [] and ended == ["session"]
