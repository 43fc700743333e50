"""The requirement catalog: every normative statement the harness checks, loaded from ``harness/catalog``.

Each ``harness/catalog/*.yaml`` file holds the requirements of one spec (or vendor contract)::

    spec: OpenID Connect RP-Initiated Logout 1.0
    url: https://openid.net/specs/openid-connect-rpinitiated-1_0.html
    epic: OpenID Connect
    requirements:
      - id: OIDCRIL-2.1
        level: MUST                 # MUST | SHOULD | MAY | VENDOR
        title: short paraphrase, under 80 characters
        text: the spec's sentence(s), quoted
        link: https://...#section-anchor

The files are validated when first loaded; a mistake is a ``ConfigError`` naming file and line.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from harness import yamlsrc

__all__ = [
    "LEVELS",
    "PREFIX_LINKS",
    "Requirement",
    "UnknownRequirement",
    "all_requirements",
    "catalog_files",
    "get",
    "is_gating",
    "link_for",
    "load_catalog",
]

#: requirement levels: RFC 2119 keywords, and VENDOR for a vendor's documented contract
LEVELS = ("MUST", "SHOULD", "MAY", "VENDOR")
#: values of ``--fail-on``
FAIL_ON = ("must", "should")
MAX_TITLE = 80

#: the document of every id family, for ids that are not (or not yet) in the catalog; longest prefix wins
PREFIX_LINKS: dict[str, str] = {
    "OIDCRIL-": "https://openid.net/specs/openid-connect-rpinitiated-1_0.html",
    "OIDCBCL-": "https://openid.net/specs/openid-connect-backchannel-1_0.html",
    "OIDCFCL-": "https://openid.net/specs/openid-connect-frontchannel-1_0.html",
    "OIDCSM-": "https://openid.net/specs/openid-connect-session-1_0.html",
    "OIDCC-": "https://openid.net/specs/openid-connect-core-1_0.html",
    "RFC6749-": "https://www.rfc-editor.org/rfc/rfc6749",
    "RFC6750-": "https://www.rfc-editor.org/rfc/rfc6750",
    "RFC7009-": "https://www.rfc-editor.org/rfc/rfc7009",
    "RFC7662-": "https://www.rfc-editor.org/rfc/rfc7662",
    "SAMLProf-": "https://docs.oasis-open.org/security/saml/v2.0/saml-profiles-2.0-os.pdf",
    "SAMLCore-": "https://docs.oasis-open.org/security/saml/v2.0/saml-core-2.0-os.pdf",
    "SAMLBind-": "https://docs.oasis-open.org/security/saml/v2.0/saml-bindings-2.0-os.pdf",
    "AUTH0-": "https://auth0.com/docs/authenticate/login/logout",
    "CASDOOR-": "https://casdoor.org/docs/session/single-sign-out",
    "MSAL-": "https://learn.microsoft.com/en-us/entra/msal/javascript/browser/logout",
    "LOGOUT-TR-": "https://openid.net/specs/openid-connect-backchannel-1_0.html#BCActions",
    "LOGOUT-RT-": "https://cwe.mitre.org/data/definitions/601.html",
}

_ID = re.compile(r"^[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9][A-Za-z0-9._-]*$")
_RFC_SECTION = re.compile(r"^(\d+(?:\.\d+)*)(?:-|$)")
_FILE_KEYS = {"spec", "url", "epic", "requirements"}
_REQUIREMENT_KEYS = ("id", "level", "title", "text", "link")


@dataclass(frozen=True)
class Requirement:
    """One normative statement: stable id, level, paraphrase, quoted text and the section's link."""

    id: str
    level: str
    title: str
    text: str
    link: str
    spec: str
    spec_url: str
    epic: str


class UnknownRequirement(KeyError):
    """An id that is not in the catalog; the message suggests the closest known id."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown requirement"


def catalog_files() -> list[Path]:
    """The catalog files shipped in the package, in name order."""
    folder = resources.files("harness").joinpath("catalog")
    if not folder.is_dir():
        return []
    return sorted(
        (Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith((".yaml", ".yml"))),
        key=lambda path: path.name,
    )


def load_catalog(files: Iterable[str | Path]) -> dict[str, Requirement]:
    """Read and validate catalog files; ids must be unique across all of them."""
    catalog: dict[str, Requirement] = {}
    where: dict[str, str] = {}
    for file in files:
        doc = yamlsrc.load(file)
        for requirement, path in _requirements_of(doc):
            if requirement.id in catalog:
                raise doc.error(
                    (*path, "id"),
                    f"duplicate requirement id {requirement.id!r} "
                    f"(already defined at {where[requirement.id]})",
                )
            catalog[requirement.id] = requirement
            where[requirement.id] = f"{doc.file}:{doc.line_of((*path, 'id'))}"
    return catalog


def _requirements_of(doc: yamlsrc.Document) -> list[tuple[Requirement, yamlsrc.JsonPath]]:
    data = doc.data
    if not isinstance(data, dict):
        raise doc.error((), "a catalog file is a mapping with spec, url, epic and requirements")
    extra = sorted(set(data) - _FILE_KEYS)
    if extra:
        raise doc.error(
            (extra[0],), f"unknown key {extra[0]!r} (allowed: {', '.join(sorted(_FILE_KEYS))})"
        )
    spec = _text(doc, data, "spec", ())
    url = _text(doc, data, "url", ())
    _https(doc, url, ("url",))
    epic = _text(doc, data, "epic", ())
    entries = data.get("requirements")
    if not isinstance(entries, list) or not entries:
        raise doc.error(("requirements",), "requirements must be a non-empty list")
    found = []
    for index, entry in enumerate(entries):
        path: yamlsrc.JsonPath = ("requirements", index)
        if not isinstance(entry, dict):
            raise doc.error(
                path, "each requirement is a mapping with id, level, title, text and link"
            )
        unknown = sorted(set(entry) - set(_REQUIREMENT_KEYS))
        if unknown:
            raise doc.error(
                (*path, unknown[0]),
                f"unknown key {unknown[0]!r} (allowed: {', '.join(_REQUIREMENT_KEYS)})",
            )
        rid, level, title, text, link = (_text(doc, entry, key, path) for key in _REQUIREMENT_KEYS)
        if not _ID.match(rid):
            raise doc.error(
                (*path, "id"), f"requirement id {rid!r} is not of the form PREFIX-section-name"
            )
        if level not in LEVELS:
            raise doc.error(
                (*path, "level"), f"{rid}: level {level!r} is not one of {', '.join(LEVELS)}"
            )
        if len(title) >= MAX_TITLE:
            raise doc.error(
                (*path, "title"),
                f"{rid}: title is {len(title)} characters, keep it under {MAX_TITLE}",
            )
        _https(doc, link, (*path, "link"))
        found.append(
            (Requirement(rid, level, title, " ".join(text.split()), link, spec, url, epic), path)
        )
    return found


def _text(doc: yamlsrc.Document, mapping: dict[str, Any], key: str, path: yamlsrc.JsonPath) -> str:
    value = mapping.get(key)
    if not isinstance(value, str) or not value.strip():
        raise doc.error(
            (*path, key) if key in mapping else path, f"{key} must be a non-empty string"
        )
    return value.strip()


def _https(doc: yamlsrc.Document, url: str, path: yamlsrc.JsonPath) -> None:
    if not url.startswith("https://") or " " in url:
        raise doc.error(path, f"{path[-1]} must be an https URL, not {url!r}")


@cache
def _catalog() -> dict[str, Requirement]:
    return load_catalog(catalog_files())


def all_requirements() -> list[Requirement]:
    """Every requirement of the catalog, file by file in file order."""
    return list(_catalog().values())


def get(requirement_id: str) -> Requirement:
    """The requirement with this id; ``UnknownRequirement`` (a ``KeyError``) says which ids are close."""
    catalog = _catalog()
    try:
        return catalog[requirement_id]
    except KeyError:
        pass
    close = difflib.get_close_matches(requirement_id, list(catalog), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise UnknownRequirement(f"unknown requirement {requirement_id!r}{hint}")


def link_for(requirement_id: str) -> str | None:
    """The section link of a catalog id, else the document of its id family (with the RFC section)."""
    known = _catalog().get(requirement_id)
    if known is not None:
        return known.link
    for prefix in sorted(PREFIX_LINKS, key=len, reverse=True):
        if requirement_id.startswith(prefix):
            url = PREFIX_LINKS[prefix]
            section = _RFC_SECTION.match(requirement_id[len(prefix) :])
            if prefix.startswith("RFC") and section:
                url += f"#section-{section.group(1)}"
            return url
    return None


def is_gating(level: str, fail_on: str) -> bool:
    """Whether a violation at ``level`` fails the run under ``--fail-on fail_on`` ("must" or "should").

    MUST and VENDOR always gate; SHOULD gates only with "should"; MAY never does.
    """
    if fail_on not in FAIL_ON:
        raise ValueError(f"fail_on must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")
    normalized = level.upper()
    if normalized not in LEVELS:
        raise ValueError(f"unknown requirement level {level!r} (known: {', '.join(LEVELS)})")
    if normalized in ("MUST", "VENDOR"):
        return True
    if normalized == "SHOULD":
        return fail_on == "should"
    return False
