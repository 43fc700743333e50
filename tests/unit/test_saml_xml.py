"""Tests of harness.saml.xml: hardened parsing refuses DTDs, entities, oversized and broken input."""

from __future__ import annotations

import socket

import pytest

from harness.errors import HarnessError
from harness.saml import xml

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<lolz>&lol3;</lolz>"""

XXE_FILE = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&x;</samlp:LogoutRequest>"""

XXE_NETWORK = """<?xml version="1.0"?>
<!DOCTYPE r SYSTEM "http://203.0.113.1/evil.dtd">
<r/>"""


def test_parse_returns_the_root() -> None:
    root = xml.parse(b"<a xmlns='urn:x'><b>1</b></a>", what="test")
    assert root.tag == "{urn:x}a"
    assert root.findtext("{urn:x}b") == "1"


def test_malformed_message_is_a_harness_error() -> None:
    assert issubclass(xml.MalformedMessage, HarnessError)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (BILLION_LAUGHS, "LogoutRequest: XML has a DOCTYPE (DTDs are refused)"),
        (XXE_FILE, "LogoutRequest: XML has a DOCTYPE (DTDs are refused)"),
        (XXE_NETWORK, "LogoutRequest: XML has a DOCTYPE (DTDs are refused)"),
        (
            "<r><!ENTITY x 'y'></r>",
            "LogoutRequest: XML has a ENTITY declaration (DTDs are refused)",
        ),
    ],
)
def test_dtds_and_entities_are_refused(data: str, reason: str) -> None:
    with pytest.raises(xml.MalformedMessage) as info:
        xml.parse(data, what="LogoutRequest")
    assert str(info.value) == reason


def test_doctype_in_utf16_is_refused_after_parsing() -> None:
    data = "<?xml version='1.0' encoding='UTF-16'?><!DOCTYPE r><r/>".encode("utf-16")
    with pytest.raises(xml.MalformedMessage, match="DOCTYPE"):
        xml.parse(data, what="m")


def test_no_network_access(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the parser tried to open a connection")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    with pytest.raises(xml.MalformedMessage):
        xml.parse(XXE_NETWORK, what="m")
    # a namespace URL is a name, never fetched
    assert xml.parse("<a xmlns='http://203.0.113.1/ns'/>", what="m") is not None


def test_undefined_entity_is_not_resolved() -> None:
    with pytest.raises(xml.MalformedMessage, match="malformed XML: Entity 'x' not defined"):
        xml.parse("<a>&x;</a>", what="m")


def test_too_large() -> None:
    data = "<a>" + "x" * xml.MAX_MESSAGE_BYTES + "</a>"
    with pytest.raises(xml.MalformedMessage) as info:
        xml.parse(data, what="LogoutRequest")
    assert str(info.value) == (
        f"LogoutRequest: message larger than {xml.MAX_MESSAGE_BYTES} bytes ({len(data)} bytes)"
    )
    assert xml.parse(data, what="metadata", limit=len(data)) is not None


@pytest.mark.parametrize(
    ("data", "start"),
    [
        ("<samlp:LogoutRequest xmlns:samlp='urn:x'><a>", "m: truncated XML: Premature end of data"),
        ("<a", "m: truncated XML: Couldn't find end of Start Tag a"),
        ("", "m: empty message (no XML at all)"),
        ("  \n ", "m: empty message (no XML at all)"),
        ("<a></b>", "m: malformed XML: Opening and ending tag mismatch"),
        ("<a/><b/>", "m: malformed XML: Extra content at the end of the document"),
    ],
)
def test_broken_xml(data: str, start: str) -> None:
    with pytest.raises(xml.MalformedMessage) as info:
        xml.parse(data, what="m")
    assert str(info.value).startswith(start)
    assert "line 1" in str(info.value) or "empty" in str(info.value)


def test_comments_are_kept() -> None:
    root = xml.parse("<a>al<!---->ice</a>", what="m")
    assert root.text == "al"
    assert "".join(root.itertext()) == "alice"


def test_pretty_indents_a_copy() -> None:
    root = xml.parse("<a><b>x</b><c/></a>", what="m")
    assert xml.pretty(root) == "<a>\n  <b>x</b>\n  <c/>\n</a>"
    assert root.text is None  # the element itself is untouched


def test_namespaces() -> None:
    assert xml.NS["samlp"] == xml.SAMLP == "urn:oasis:names:tc:SAML:2.0:protocol"
    assert xml.qname(xml.SAML, "NameID") == "{urn:oasis:names:tc:SAML:2.0:assertion}NameID"
    assert set(xml.NS) == {"samlp", "saml", "ds", "md", "soap"}


def test_bomb_in_utf16_is_named_as_one() -> None:
    # the byte scan cannot see a UTF-16 DTD: libxml2 stops the expansion, the reason says what it was
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    data = (f"<?xml version='1.0' encoding='UTF-16'?><!DOCTYPE r [<!ENTITY l0 'lol'>{laughs}]><r>&l9;</r>"
            .encode("utf-16"))
    with pytest.raises(xml.MalformedMessage, match=r"^m: entity expansion refused, an XML bomb \(DTDs are refused\)"):
        xml.parse(data, what="m")
