"""Tests of the SAML checks: each passes a conformant observation and fails a deviant one with the
right requirement id; the SAML catalog has exactly the contract's ids, each with a check."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from harness import requirements
from harness.checks import REGISTRY
from harness.errors import Violation
from harness.saml import binding_rules, core, profiles, security
from harness.saml import messages as m
from harness.saml.bindings import Decoded

from .violations import violated as any_violation

NOW = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC)
SP = "https://sp.example.org/md"

#: the contract's ids and the levels chosen from the spec words (see the catalog files for why)
LEVELS = {
    "SAMLCore-3.2.1-destination": "MUST",
    "SAMLCore-3.2.2-inresponseto": "MUST",
    "SAMLCore-3.2.2.2-status": "MUST",
    "SAMLCore-3.7.1-nameid": "MUST",
    "SAMLCore-3.7.1-notonorafter": "MAY",
    "SAMLCore-3.7.3.1-auth": "MUST",
    "SAMLCore-3.7.3.1-sessions": "MUST",
    "SAMLCore-3.7.3.1-later": "MUST",
    "SAMLCore-3.7.3.2-auth": "MUST",
    "SAMLCore-3.7.3.2-sessions": "SHOULD",
    "SAMLCore-3.7.3.2-propagate": "SHOULD",
    "SAMLCore-3.7.3.2-status": "MUST",
    "SAMLProf-4.1.4.2-sessionindex": "MUST",
    "SAMLProf-4.4.3.3-notonorafter": "MUST",
    "SAMLProf-4.4.4.1-issuer": "MUST",
    "SAMLProf-4.4.4.1-signed": "MUST",
    "SAMLProf-4.4.4.1-nameid": "MUST",
    "SAMLProf-4.4.4.1-sessionindex": "MUST",
    "SAMLProf-4.4.4.2-signed": "MUST",
    "SAMLBind-3.4.3-relaystate": "MUST",
    "SAMLBind-3.5.3-relaystate": "MUST",
    "SAMLBind-3.4.6-errors": "MUST",
    "SAMLSec-replay": "SHOULD",
    "SAML2INT-SDP-SP34": "MUST",
}
SAML_PREFIXES = ("SAMLCore-", "SAMLProf-", "SAMLBind-", "SAMLSec-", "SAML2INT-")
MODULES = (core, profiles, binding_rules, security)


def violated(requirement: str, check: Callable[..., Any], *args: Any, **kwargs: Any) -> Violation:
    """Run ``check``, expect a violation of ``requirement``, and return it; no private key in its text."""
    violation = any_violation(requirement, check, *args, **kwargs)
    assert "PRIVATE" not in str(violation)
    return violation


def request(**changes: Any) -> m.LogoutRequest:
    base = m.LogoutRequest(
        id="_r1",
        issuer=SP,
        issuer_format=None,
        destination="https://idp.example.org/slo",
        name_id="alice",
        name_id_format=m.NAMEID_TRANSIENT,
        sp_name_qualifier=SP,
        session_indexes=("idx-1",),
        not_on_or_after=NOW + dt.timedelta(minutes=5),
        reason=None,
        id_count_check=1,
        signature=m.SignatureStatus("valid", "", m.RSA_SHA256),
    )
    return dataclasses.replace(base, **changes)


def response(**changes: Any) -> m.LogoutResponse:
    base = m.LogoutResponse(
        id="_p1",
        issuer="https://idp.example.org/md",
        destination=f"{SP}/slo",
        in_response_to="_r1",
        status_top=m.SUCCESS,
        status_second=None,
        signature=m.SignatureStatus("valid"),
    )
    return dataclasses.replace(base, **changes)


def assertion(**changes: Any) -> m.Assertion:
    base = m.Assertion(
        id="_a",
        issuer="https://idp.example.org/md",
        name_id="alice",
        name_id_format=m.NAMEID_TRANSIENT,
        session_index="idx-1",
        session_not_on_or_after=None,
        signature=m.SignatureStatus("valid"),
        audience=(SP,),
        recipient=f"{SP}/acs",
        sp_name_qualifier=SP,
        authn_session_indexes=("idx-1",),
    )
    return dataclasses.replace(base, **changes)


def decoded(binding: str = "redirect", state: str = "valid", reason: str = "") -> Decoded:
    return Decoded(
        binding=binding,  # type: ignore[arg-type]
        kind="SAMLRequest",
        xml="<x/>",
        relay_state=None,
        sig_alg=m.RSA_SHA256 if state != "absent" else None,
        signature_status=m.SignatureStatus(state, reason),  # type: ignore[arg-type]
        query_parts=[] if binding == "redirect" else None,
    )


# catalog


def test_saml_catalog_has_the_contract_ids_and_levels() -> None:
    saml = {r.id: r for r in requirements.all_requirements() if r.id.startswith(SAML_PREFIXES)}
    assert set(saml) == set(LEVELS)
    for rid, level in LEVELS.items():
        req = saml[rid]
        assert req.level == level, rid
        assert req.epic == "SAML 2.0"
        if level == "MUST":
            assert "MUST" in req.text, rid
        if level in ("SHOULD", "MAY"):
            assert level in req.text or "Harness note" in req.text, rid
        assert req.link.startswith(("https://docs.oasis-open.org/", "https://kantarainitiative."))


def test_every_saml_requirement_has_a_check_and_every_check_a_requirement() -> None:
    for rid in LEVELS:
        assert REGISTRY.get(rid), f"{rid} has no check"
    for rid in REGISTRY:
        assert requirements.get(rid).id == rid


def test_check_modules_open_with_title_and_url() -> None:
    for module in MODULES:
        first = (module.__doc__ or "").splitlines()[0]
        assert "https://" in first, module.__name__


def test_saml_catalog_files_are_shipped() -> None:
    names = {path.name for path in requirements.catalog_files()}
    assert {
        "saml-core.yaml",
        "saml-profiles.yaml",
        "saml-bindings.yaml",
        "saml-security.yaml",
        "saml2int.yaml",
    } <= names


# core: Destination


def test_same_location() -> None:
    assert core.same_location("HTTPS://IdP.example.org:443/slo", "https://idp.example.org/slo")
    assert not core.same_location("https://idp.example.org/slo/", "https://idp.example.org/slo")
    assert not core.same_location("https://idp.example.org/slo?a=1", "https://idp.example.org/slo")
    assert not core.same_location(None, "https://x")
    assert not core.same_location("https://x:bad/", "https://x/")


def test_destination_honoured() -> None:
    assert core.destination_honoured("https://idp/slo", "https://idp/slo", True) is not None
    assert core.destination_honoured(None, "https://idp/slo", True) is not None
    assert core.destination_honoured("https://evil/slo", "https://idp/slo", False) is None
    v = violated(
        "SAMLCore-3.2.1-destination",
        core.destination_honoured,
        "https://evil/slo",
        "https://idp/slo",
        True,
    )
    assert "'https://evil/slo' is not where it arrived" in v.expected
    assert v.seen == "the target acted on it"


def test_destination_matches() -> None:
    core.destination_matches(request(), "https://idp.example.org/slo")
    core.destination_matches(request(destination=None), "https://anywhere")
    v = violated(
        "SAMLCore-3.2.1-destination",
        core.destination_matches,
        request(),
        "https://idp.example.org/other",
    )
    assert v.seen == "Destination 'https://idp.example.org/slo'"


def test_in_response_to_matches() -> None:
    core.in_response_to_matches(response(), "_r1")
    v = violated("SAMLCore-3.2.2-inresponseto", core.in_response_to_matches, response(), "_other")
    assert v.seen == "InResponseTo '_r1'"
    v = violated(
        "SAMLCore-3.2.2-inresponseto",
        core.in_response_to_matches,
        response(in_response_to=None),
        "_r1",
    )
    assert v.seen == "no InResponseTo"


@pytest.mark.parametrize("top", [m.SUCCESS, m.REQUESTER, m.RESPONDER, m.VERSION_MISMATCH])
def test_top_level_status_passes(top: str) -> None:
    core.top_level_status(response(status_top=top))


@pytest.mark.parametrize(
    ("top", "seen"),
    [
        (
            m.PARTIAL_LOGOUT,
            "top-level StatusCode 'urn:oasis:names:tc:SAML:2.0:status:PartialLogout'",
        ),
        (None, "no StatusCode"),
    ],
)
def test_top_level_status_fails(top: str | None, seen: str) -> None:
    v = violated("SAMLCore-3.2.2.2-status", core.top_level_status, response(status_top=top))
    assert v.seen == seen
    assert (
        v.expected == "a top-level StatusCode among Requester, Responder, Success, VersionMismatch"
    )


def test_single_identifier() -> None:
    core.single_identifier(request())
    for count in (0, 2):
        v = violated("SAMLCore-3.7.1-nameid", core.single_identifier, request(id_count_check=count))
        assert v.seen == f"{count} of them"


def test_expired_request_not_acted_on() -> None:
    expired = request(not_on_or_after=NOW - dt.timedelta(minutes=1))
    assert core.expired_request_not_acted_on(request(), True, NOW) is not None  # not expired
    assert core.expired_request_not_acted_on(request(not_on_or_after=None), True, NOW) is not None
    assert core.expired_request_not_acted_on(expired, False, NOW) is None
    v = violated(
        "SAMLCore-3.7.1-notonorafter", core.expired_request_not_acted_on, expired, True, NOW
    )
    assert v.seen == "the target acted on one that had expired 60 s before it arrived"


def test_authentication_checks() -> None:
    core.participant_authenticates(False, "unsigned")
    core.request_authenticated(False, "signed with another key")
    v = violated("SAMLCore-3.7.3.1-auth", core.participant_authenticates, True, "unsigned")
    assert v.expected == "a LogoutRequest that is unsigned refused by the SP"
    v = violated(
        "SAMLCore-3.7.3.2-auth", core.request_authenticated, True, "signed with another key"
    )
    assert v.seen == "the IdP accepted it and acted on it"


@pytest.mark.parametrize(
    ("check", "rid"),
    [
        (core.sessions_ended, "SAMLCore-3.7.3.1-sessions"),
        (core.authority_sessions_ended, "SAMLCore-3.7.3.2-sessions"),
    ],
)
def test_sessions_ended(check: Callable[..., None], rid: str) -> None:
    check({"A"}, {"A"}, {"B"})
    check(set(), set(), {"A", "B"})  # unknown SessionIndex: nothing ends
    v = violated(rid, check, {"A"}, set(), {"A", "B"})
    assert v.seen == "still alive: A"
    v = violated(rid, check, {"A"}, {"A", "B"}, set())
    assert v.seen == "ended though not named: B"
    v = violated(rid, check, set(), {"A"}, {"B"})
    assert v.expected == "exactly these sessions ended: none"


def test_later_assertion_refused() -> None:
    core.later_assertion_refused(request(), False, NOW)
    core.later_assertion_refused(request(), True, NOW + dt.timedelta(hours=1))  # request expired
    v = violated("SAMLCore-3.7.3.1-later", core.later_assertion_refused, request(), True, NOW)
    assert "'alice' (SessionIndex idx-1)" in v.expected
    v = violated(
        "SAMLCore-3.7.3.1-later",
        core.later_assertion_refused,
        request(not_on_or_after=None, session_indexes=()),
        True,
        NOW,
    )
    assert "SessionIndex any" in v.expected


def test_propagation() -> None:
    core.participant_notified("sp2", request())
    v = violated("SAMLCore-3.7.3.2-propagate", core.participant_notified, "sp2", None)
    assert v.seen == "none reached sp2"
    core.initiator_not_notified("sp1", None)
    v = violated("SAMLCore-3.7.3.2-propagate", core.initiator_not_notified, "sp1", request())
    assert v.seen == "the IdP sent sp1 LogoutRequest '_r1'"


def test_logout_status() -> None:
    core.logout_status(response(), True, [])
    core.logout_status(response(status_second=m.PARTIAL_LOGOUT), True, ["sp2"])
    core.logout_status(response(status_top=m.RESPONDER), False, [])
    v = violated(
        "SAMLCore-3.7.3.2-status", core.logout_status, response(status_top=m.RESPONDER), True, []
    )
    assert "Responder" in v.seen
    v = violated("SAMLCore-3.7.3.2-status", core.logout_status, response(), False, [])
    assert v.seen == "top-level StatusCode Success"
    v = violated("SAMLCore-3.7.3.2-status", core.logout_status, response(), True, ["sp2"])
    assert v.expected == "second-level StatusCode PartialLogout (sp2 did not log out)"
    assert v.seen == "second-level StatusCode none"


# profiles


def test_session_index_in_assertion() -> None:
    profiles.session_index_in_assertion(assertion())
    v = violated(
        "SAMLProf-4.1.4.2-sessionindex",
        profiles.session_index_in_assertion,
        assertion(session_index=None, authn_session_indexes=(None,)),
    )
    assert v.seen == "1 of 1 AuthnStatement(s) without one"
    v = violated(
        "SAMLProf-4.1.4.2-sessionindex",
        profiles.session_index_in_assertion,
        assertion(authn_session_indexes=()),
    )
    assert v.seen == "no AuthnStatement"


def test_propagated_request_expires() -> None:
    profiles.propagated_request_expires(request())
    v = violated(
        "SAMLProf-4.4.3.3-notonorafter",
        profiles.propagated_request_expires,
        request(not_on_or_after=None),
    )
    assert v.seen == "LogoutRequest '_r1' without NotOnOrAfter"


def test_issuer_present() -> None:
    profiles.issuer_present(request())
    profiles.issuer_present(request(issuer_format=m.NAMEID_ENTITY), expected=SP)
    assert (
        violated("SAMLProf-4.4.4.1-issuer", profiles.issuer_present, request(issuer=None)).seen
        == "none"
    )
    v = violated(
        "SAMLProf-4.4.4.1-issuer",
        profiles.issuer_present,
        request(issuer_format=m.NAMEID_TRANSIENT),
    )
    assert v.seen == f"Format {m.NAMEID_TRANSIENT!r}"
    v = violated(
        "SAMLProf-4.4.4.1-issuer", profiles.issuer_present, request(), expected="https://other"
    )
    assert v.seen == f"Issuer {SP!r}"


@pytest.mark.parametrize(
    ("check", "rid", "what"),
    [
        (profiles.request_signed, "SAMLProf-4.4.4.1-signed", "LogoutRequest"),
        (profiles.response_signed, "SAMLProf-4.4.4.2-signed", "LogoutResponse"),
    ],
)
def test_signed(check: Callable[[Decoded], None], rid: str, what: str) -> None:
    check(decoded("redirect"))
    check(decoded("post"))
    check(decoded("soap", "absent"))  # the back channel may rely on its own authentication
    v = violated(rid, check, decoded("redirect", "absent"))
    assert (
        v.expected
        == f"a {what} over HTTP-Redirect signed with a query signature (SigAlg, Signature)"
    )
    assert v.seen == "no signature"
    v = violated(rid, check, decoded("post", "invalid", "signed with another key"))
    assert v.seen == "an invalid signature: signed with another key"
    with pytest.raises(ValueError, match="check the signature"):
        check(decoded("post", "unchecked"))


def test_name_id_matches() -> None:
    profiles.name_id_matches(request(), assertion())
    # an absent Format is unspecified on both sides
    profiles.name_id_matches(
        request(name_id_format=None), assertion(name_id_format=m.NAMEID_UNSPECIFIED)
    )
    v = violated(
        "SAMLProf-4.4.4.1-nameid", profiles.name_id_matches, request(name_id="bob"), assertion()
    )
    assert v.expected == "the NameID exactly as in the login assertion: value 'alice'"
    assert v.seen == "value 'bob'"
    v = violated(
        "SAMLProf-4.4.4.1-nameid",
        profiles.name_id_matches,
        request(name_id_format=m.NAMEID_PERSISTENT, sp_name_qualifier=None),
        assertion(),
    )
    assert v.seen == f"Format {m.NAMEID_PERSISTENT!r}; SPNameQualifier none"


def test_session_index_sent() -> None:
    profiles.session_index_sent(request())
    v = violated(
        "SAMLProf-4.4.4.1-sessionindex", profiles.session_index_sent, request(session_indexes=())
    )
    assert v.seen.startswith("none")


# bindings


@pytest.mark.parametrize(
    ("echo", "rid"),
    [
        (binding_rules.relay_state_echoed, "SAMLBind-3.4.3-relaystate"),
        (binding_rules.relay_state_echoed_post, "SAMLBind-3.5.3-relaystate"),
    ],
)
def test_relay_state_echoed(echo: Callable[..., None], rid: str) -> None:
    echo("abc", "abc")
    echo(None, None)
    echo(None, "made-up")  # nothing was sent, nothing had to come back
    assert violated(rid, echo, "abc", None).seen == "no RelayState"
    assert violated(rid, echo, "a b", "a+b").seen == "RelayState 'a+b'"


@pytest.mark.parametrize(
    ("size", "rid"),
    [
        (binding_rules.relay_state_size, "SAMLBind-3.4.3-relaystate"),
        (binding_rules.relay_state_size_post, "SAMLBind-3.5.3-relaystate"),
    ],
)
def test_relay_state_size(size: Callable[..., None], rid: str) -> None:
    size(None)
    size("x" * 80)
    size("é" * 40)  # 80 bytes
    assert violated(rid, size, "é" * 41).seen == "82 bytes"


def test_no_http_error_for_saml_error() -> None:
    binding_rules.no_http_error_for_saml_error(200, decoded())
    binding_rules.no_http_error_for_saml_error(302, None)
    v = violated("SAMLBind-3.4.6-errors", binding_rules.no_http_error_for_saml_error, 500, None)
    assert v.seen == "HTTP 500 with no SAML response"
    v = violated(
        "SAMLBind-3.4.6-errors", binding_rules.no_http_error_for_saml_error, 400, decoded("post")
    )
    assert v.seen == "HTTP 400 carrying a SAMLRequest over HTTP-post"


# security


def test_replay_not_acted_on() -> None:
    security.replay_not_acted_on("_r1", False)
    v = violated("SAMLSec-replay", security.replay_not_acted_on, "_r1", True)
    assert "(ID _r1)" in v.expected


def test_local_session_ended_first() -> None:
    security.local_session_ended_first(False)
    v = violated("SAML2INT-SDP-SP34", security.local_session_ended_first, True)
    assert "still alive" in v.seen


def test_response_returned_passes_with_a_response_and_fails_without() -> None:
    from harness.saml import core
    from harness.saml.messages import LogoutResponse

    core.response_returned(object.__new__(LogoutResponse), "")
    with pytest.raises(Violation) as caught:
        core.response_returned(None, "the exchange ended on HTTP 200 (text/html) at http://idp/slo")
    assert caught.value.requirement == "SAMLCore-3.7.3.2-status"
    assert "text/html" in caught.value.seen
