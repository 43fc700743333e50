"""Hardened XML for SAML messages (https://www.w3.org/TR/xml/): no DTDs, no entities, no network, bounded.

Everything a target sends is parsed here. A DOCTYPE is refused outright (billion laughs, external
entities), and so is input over a size bound; what cannot be parsed becomes a ``MalformedMessage``
with one reason a reader can act on.
"""

from __future__ import annotations

import copy

from lxml import etree  # type: ignore[import-untyped]

from harness.errors import HarnessError

__all__ = [
    "DS",
    "MAX_MESSAGE_BYTES",
    "MD",
    "NS",
    "SAML",
    "SAMLP",
    "SOAP",
    "MalformedMessage",
    "parse",
    "pretty",
    "qname",
]

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
#: prefixes for XPath queries and for the messages the harness builds
NS = {"samlp": SAMLP, "saml": SAML, "ds": DS, "md": MD, "soap": SOAP}

#: a logout message is a few KiB; anything near this bound is an attack or a mistake
MAX_MESSAGE_BYTES = 256 * 1024

# markup that only a DTD brings; refused before the parser sees it (ASCII-compatible encodings),
# and a parsed document type is refused after (UTF-16 and other encodings the scan cannot read)
_DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")


class MalformedMessage(HarnessError):
    """A SAML message (or its encoding) that cannot be read; the message says why, in one line."""


def _parser() -> etree.XMLParser:
    # a parser per call: lxml parsers keep state and are not safe to share between threads
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        dtd_validation=False,
        load_dtd=False,
        huge_tree=False,
        remove_comments=False,  # comments stay visible: NameID comment injection is evidence
    )


def parse(data: bytes | str, *, what: str, limit: int = MAX_MESSAGE_BYTES) -> etree._Element:
    """Parse one XML document and return its root element; ``what`` names it in errors.

    Refuses a DOCTYPE or ENTITY declaration, input over ``limit`` bytes, and anything lxml cannot
    parse ("truncated XML: ..." when the input stops early).
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > limit:
        raise MalformedMessage(f"{what}: message larger than {limit} bytes ({len(raw)} bytes)")
    for marker in _DTD_MARKERS:
        if marker in raw:
            kind = "DOCTYPE" if marker == b"<!DOCTYPE" else "ENTITY declaration"
            raise MalformedMessage(f"{what}: XML has a {kind} (DTDs are refused)")
    try:
        root = etree.fromstring(raw, _parser())
    except etree.XMLSyntaxError as exc:
        raise MalformedMessage(f"{what}: {_syntax_reason(exc, raw)}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise MalformedMessage(f"{what}: XML has a DOCTYPE (DTDs are refused)")
    return root


def _syntax_reason(exc: etree.XMLSyntaxError, raw: bytes) -> str:
    if not raw.strip():
        return "empty message (no XML at all)"
    message = " ".join((exc.msg or str(exc)).split())  # one line: libxml2 puts newlines in some
    if exc.code in (etree.ErrorTypes.ERR_RESOURCE_LIMIT, etree.ErrorTypes.ERR_ENTITY_LOOP):
        # a DTD the byte scan could not see (UTF-16...) whose entities libxml2 stopped expanding
        return f"entity expansion refused, an XML bomb (DTDs are refused): {message}"
    lines = raw.split(b"\n")
    end = (len(lines), len(lines[-1]) + 1)
    line, column = exc.position if exc.position else (0, 0)
    # an error where the input stops means the input was cut, not that it was badly formed
    # (unless the last thing there closes the wrong tag)
    if (line, column) >= end and exc.code != etree.ErrorTypes.ERR_TAG_NAME_MISMATCH:
        return f"truncated XML: {message}"
    return f"malformed XML: {message}"


def qname(namespace: str, local: str) -> str:
    """Clark notation, ``{namespace}local``, as lxml names elements."""
    return f"{{{namespace}}}{local}"


def pretty(el: etree._Element) -> str:
    """The element indented for a report (a copy: the element itself, maybe signed, is untouched)."""
    twin = copy.deepcopy(el)
    etree.indent(twin, space="  ")  # rewrites whitespace-only text only: values stay as they were
    return str(etree.tostring(twin, encoding="unicode"))
