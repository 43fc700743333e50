"""Tests of harness.requirements: the shipped catalog, its validation, look-ups, links and gating."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import harness.app_session
import harness.casdoor
import harness.cli_logout.checks
import harness.federation
import harness.oidc.backchannel
import harness.oidc.backchannel_rp
import harness.oidc.rpinitiated
import harness.return_to
import harness.rfc7009
import harness.rfc7662
import harness.spa
import harness.token_rejection
from harness import requirements
from harness.checks import REGISTRY
from harness.errors import ConfigError

CHECK_MODULES = (
    harness.oidc.rpinitiated,
    harness.rfc7009,
    harness.rfc7662,
    harness.token_rejection,
    harness.oidc.backchannel,
    harness.oidc.backchannel_rp,
    harness.casdoor,
    harness.cli_logout.checks,
    harness.return_to,
    harness.federation,
    harness.spa,
)

#: the levels chosen from each spec's words (see the catalog files for the quoted text)
LEVELS = {
    "MSAL-logout-cache": "VENDOR",
    "MSAL-logout-account": "VENDOR",
    "MSAL-logout-all": "VENDOR",
    "MSAL-logout-server": "VENDOR",
    "MSAL-logout-hint": "VENDOR",
    "MSAL-logout-return": "VENDOR",
    "MSAL-logout-popup": "VENDOR",
    "MSAL-logout-best-effort": "VENDOR",
    "MSAL-logout-interrupted": "MAY",
    "AUTH0-logout-session": "VENDOR",
    "AUTH0-returnTo-allowlist": "VENDOR",
    "AUTH0-returnTo-followed": "VENDOR",
    "AUTH0-returnTo-lists": "VENDOR",
    "AUTH0-returnTo-wildcard": "VENDOR",
    "AUTH0-returnTo-query": "VENDOR",
    "AUTH0-federated": "VENDOR",
    "AUTH0-federated-return": "VENDOR",
    "AUTH0-saml-session-index": "VENDOR",
    "LOGOUT-RT-offsite": "MUST",
    "LOGOUT-RT-followed": "SHOULD",
    "CASDOOR-sso-logout-api": "VENDOR",
    "CASDOOR-logoutAll": "VENDOR",
    "CASDOOR-notify-sent": "VENDOR",
    "CASDOOR-notify-schema": "VENDOR",
    "CASDOOR-notify-signature": "VENDOR",
    "CASDOOR-notify-timestamp": "VENDOR",
    "CASDOOR-notify-nonce": "VENDOR",
    "CASDOOR-notify-sessions": "VENDOR",
    "CASDOOR-notify-token-hashes": "VENDOR",
    "CASDOOR-tokens-invalid": "VENDOR",
    "CASDOOR-receiver-signature": "VENDOR",
    "CASDOOR-receiver-timestamp": "VENDOR",
    "CASDOOR-receiver-replay": "VENDOR",
    "CASDOOR-receiver-schema": "VENDOR",
    "CASDOOR-receiver-precision": "VENDOR",
    "OIDCBCL-2.1-metadata": "SHOULD",
    "OIDCBCL-2.1-session-sid": "MUST",
    "OIDCBCL-2.4-iss": "MUST",
    "OIDCBCL-2.4-aud": "MUST",
    "OIDCBCL-2.4-iat": "MUST",
    "OIDCBCL-2.4-exp": "MUST",
    "OIDCBCL-2.4-exp-short": "MAY",
    "OIDCBCL-2.4-jti": "MUST",
    "OIDCBCL-2.4-events": "MUST",
    "OIDCBCL-2.4-events-empty": "SHOULD",
    "OIDCBCL-2.4-sub-sid": "MUST",
    "OIDCBCL-2.4-sid": "MUST",
    "OIDCBCL-2.4-nonce": "MUST",
    "OIDCBCL-2.4-signed": "MUST",
    "OIDCBCL-2.4-typ": "SHOULD",
    "OIDCBCL-2.3-recipients": "SHOULD",
    "OIDCBCL-2.5-sent": "MUST",
    "OIDCBCL-2.5-request": "MUST",
    "OIDCBCL-2.8-retry": "SHOULD",
    "OIDCBCL-2.6-signature": "MUST",
    "OIDCBCL-2.6-claims": "MUST",
    "OIDCBCL-2.6-sub-sid": "MUST",
    "OIDCBCL-2.6-events": "MUST",
    "OIDCBCL-2.6-nonce": "MUST",
    "OIDCBCL-2.6-jti": "SHOULD",
    "OIDCBCL-2.6-replay": "MAY",
    "OIDCBCL-2.7-ends-session": "MUST",
    "OIDCBCL-2.7-precision": "SHOULD",
    "OIDCBCL-2.8-status": "MUST",
    "OIDCBCL-2.8-cache": "SHOULD",
    "RFC7515-4.1.11": "MUST",
    "OIDCRIL-2.1": "MUST",
    "OIDCRIL-2-methods": "MUST",
    "OIDCRIL-2-client-id": "MUST",
    "OIDCRIL-2-confirm": "MUST",
    "OIDCRIL-2-logout": "MUST",
    "OIDCRIL-2-uri-needs-hint": "MUST",
    "OIDCRIL-2-not-logged-in": "SHOULD",
    "OIDCRIL-3-exact": "MUST",
    "OIDCRIL-3-redirect": "SHOULD",
    "OIDCRIL-3-state": "MUST",
    "OIDCRIL-4-hint": "MUST",
    "OIDCRIL-4-expired": "SHOULD",
    "RFC7009-2.1-refresh": "MUST",
    "RFC7009-2.1-access": "SHOULD",
    "RFC7009-2.1-grant": "SHOULD",
    "RFC7009-2.1-hint": "MUST",
    "RFC7009-2.1-client": "MUST",
    "RFC7009-2.2-unknown": "SHOULD",
    "RFC7662-2.1-auth": "MUST",
    "RFC7662-2.2-inactive": "MUST",
    "RFC7662-2.2-no-details": "SHOULD",
    "LOGOUT-TR-refresh": "SHOULD",
    "LOGOUT-TR-introspect": "SHOULD",
    "LOGOUT-TR-userinfo": "SHOULD",
    "LOGOUT-TR-precision": "SHOULD",
    "SFCLI-local-removed": "VENDOR",
    "SFCLI-revoke": "VENDOR",
    "SFCLI-list": "VENDOR",
    "SFCLI-display-fails": "VENDOR",
    "SFCLI-all": "VENDOR",
    "SFCLI-force-local": "VENDOR",
    "ATMOS-chain": "VENDOR",
    "ATMOS-provider": "VENDOR",
    "ATMOS-dry-run": "VENDOR",
    "ATMOS-dry-run-list": "VENDOR",
    "ATMOS-best-effort": "VENDOR",
    "ATMOS-browser-reminder": "VENDOR",
    "LOGOUT-CLI-untouched": "MUST",
    "LOGOUT-CLI-no-secrets": "MUST",
    "LOGOUT-CLI-repeat": "MUST",
    "LOGOUT-CLI-exit": "MUST",
    "LOGOUT-CLI-exit-partial": "SHOULD",
}


def test_catalog_levels() -> None:
    for rid, level in LEVELS.items():
        assert requirements.get(rid).level == level, rid


def test_catalog_entries_are_complete() -> None:
    everything = requirements.all_requirements()
    assert len({r.id for r in everything}) == len(everything)
    for req in everything:
        assert req.level in requirements.LEVELS
        assert 0 < len(req.title) < requirements.MAX_TITLE
        assert req.text and req.spec and req.epic
        assert req.link.startswith("https://") and req.spec_url.startswith("https://")
        assert "\n" not in req.text


def test_should_entries_quote_a_should_or_say_why() -> None:
    """A SHOULD taken from a keyword-less sentence says so; a MUST entry quotes a MUST or says why."""
    for rid in LEVELS:
        req = requirements.get(rid)
        if req.level == "SHOULD":
            assert (
                "SHOULD" in req.text or "RECOMMENDED" in req.text or "Harness note" in req.text
            ), rid
        if req.level == "MUST":
            # RFC 2119: REQUIRED means MUST
            assert "MUST" in req.text or "REQUIRED" in req.text or "Harness note" in req.text, rid


def test_rpinitiated_links_point_at_sections() -> None:
    base = "https://openid.net/specs/openid-connect-rpinitiated-1_0.html#"
    anchors = {"OPMetadata", "RPLogout", "RedirectionAfterLogout", "ValidationAndErrorHandling"}
    for req in requirements.all_requirements():
        if req.id.startswith("OIDCRIL-"):
            assert req.link.startswith(base) and req.link[len(base) :] in anchors, req.id
        if req.id.startswith(("RFC7009-", "RFC7662-")):
            assert req.link.startswith(req.spec_url + "#section-"), req.id


def test_every_registered_check_names_a_catalog_requirement() -> None:
    assert REGISTRY
    for rid, checks in REGISTRY.items():
        assert requirements.get(rid).id == rid, [c.__qualname__ for c in checks]


def test_every_catalog_requirement_of_these_specs_has_a_check() -> None:
    for rid in LEVELS:
        assert REGISTRY.get(rid), f"{rid} has no check"


def test_check_modules_open_with_title_and_url() -> None:
    for module in CHECK_MODULES:
        first = (module.__doc__ or "").splitlines()[0]
        assert "https://" in first, module.__name__


def test_requirement_is_frozen() -> None:
    req = requirements.get("OIDCRIL-3-exact")
    with pytest.raises(dataclasses.FrozenInstanceError):
        req.level = "SHOULD"  # type: ignore[misc]
    assert req.spec == "OpenID Connect RP-Initiated Logout 1.0"
    assert req.spec_url == "https://openid.net/specs/openid-connect-rpinitiated-1_0.html"
    assert req.epic == "OpenID Connect"


def test_unknown_id_suggests_the_closest() -> None:
    with pytest.raises(KeyError) as info:
        requirements.get("OIDCRIL-3-exakt")
    assert (
        str(info.value) == "unknown requirement 'OIDCRIL-3-exakt' (did you mean 'OIDCRIL-3-exact'?)"
    )
    with pytest.raises(requirements.UnknownRequirement) as info:
        requirements.get("ZZZ")
    assert str(info.value) == "unknown requirement 'ZZZ'"


def test_link_for() -> None:
    assert requirements.link_for("OIDCRIL-3-exact") == requirements.get("OIDCRIL-3-exact").link
    assert (
        requirements.link_for("RFC7009-2.2.1-503")
        == "https://www.rfc-editor.org/rfc/rfc7009#section-2.2.1"
    )
    assert requirements.link_for("RFC7662-4") == "https://www.rfc-editor.org/rfc/rfc7662#section-4"
    assert (
        requirements.link_for("OIDCBCL-2.4")
        == "https://openid.net/specs/openid-connect-backchannel-1_0.html"
    )
    assert requirements.link_for(
        "SAMLProf-4.4.3.1",
    ).startswith("https://docs.oasis-open.org/")
    for prefix in ("OIDCFCL-", "SAMLCore-", "SAMLBind-", "AUTH0-", "CASDOOR-", "MSAL-"):
        assert (requirements.link_for(prefix + "x") or "").startswith("https://"), prefix
    assert requirements.link_for("NOPE-1") is None


@pytest.mark.parametrize(
    ("level", "fail_on", "gates"),
    [
        ("MUST", "must", True),
        ("MUST", "should", True),
        ("VENDOR", "must", True),
        ("VENDOR", "should", True),
        ("SHOULD", "must", False),
        ("SHOULD", "should", True),
        ("MAY", "must", False),
        ("MAY", "should", False),
        ("should", "should", True),
    ],
)
def test_is_gating(level: str, fail_on: str, gates: bool) -> None:
    assert requirements.is_gating(level, fail_on) is gates


def test_is_gating_refuses_unknown_values() -> None:
    with pytest.raises(ValueError, match="fail_on"):
        requirements.is_gating("MUST", "may")
    with pytest.raises(ValueError, match="level"):
        requirements.is_gating("OPTIONAL", "must")


# validation of catalog files

GOOD = """\
spec: Example spec
url: https://example.org/spec
epic: Example
requirements:
  - id: EX-1
    level: MUST
    title: the first rule
    text: It MUST work.
    link: https://example.org/spec#one
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_catalog(tmp_path: Path) -> None:
    catalog = requirements.load_catalog([write(tmp_path, "a.yaml", GOOD)])
    assert catalog["EX-1"] == requirements.Requirement(
        "EX-1",
        "MUST",
        "the first rule",
        "It MUST work.",
        "https://example.org/spec#one",
        "Example spec",
        "https://example.org/spec",
        "Example",
    )


def test_duplicate_id_across_files(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", GOOD)
    b = write(tmp_path, "b.yaml", GOOD)
    with pytest.raises(ConfigError) as info:
        requirements.load_catalog([a, b])
    assert info.value.file == str(b) and info.value.line == 5
    assert "duplicate requirement id 'EX-1'" in str(info.value) and f"{a}:5" in str(info.value)


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        (
            "level: MUST",
            "level: MUSTN'T",
            6,
            'level "MUSTN\'T" is not one of MUST, SHOULD, MAY, VENDOR',
        ),
        ("level: MUST", "level: must", 6, "level 'must' is not one of"),
        ("title: the first rule", "title: " + "x" * 80, 7, "title is 80 characters"),
        (
            "link: https://example.org/spec#one",
            "link: http://example.org/spec#one",
            9,
            "must be an https URL",
        ),
        ("id: EX-1", "id: EX 1", 5, "is not of the form"),
        (
            "    text: It MUST work.\n",
            "    text: It MUST work.\n    txt: typo\n",
            9,
            "unknown key 'txt'",
        ),
        ("    text: It MUST work.\n", "", 5, "text must be a non-empty string"),
        ("epic: Example\n", "", 1, "epic must be a non-empty string"),
        ("epic: Example\n", "epic: Example\nextra: 1\n", 4, "unknown key 'extra'"),
    ],
)
def test_invalid_catalog(tmp_path: Path, old: str, new: str, line: int, message: str) -> None:
    assert old in GOOD
    path = write(tmp_path, "bad.yaml", GOOD.replace(old, new))
    with pytest.raises(ConfigError) as info:
        requirements.load_catalog([path])
    assert message in str(info.value)
    assert info.value.file == str(path) and info.value.line == line


def test_empty_requirements(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", GOOD.split("requirements:")[0] + "requirements: []\n")
    with pytest.raises(ConfigError, match="non-empty list"):
        requirements.load_catalog([path])


def test_shipped_files_are_the_catalog() -> None:
    names = {path.name for path in requirements.catalog_files()}
    assert {
        "oidc-rpinitiated.yaml",
        "rfc7009.yaml",
        "rfc7662.yaml",
        "token-rejection.yaml",
    } <= names
