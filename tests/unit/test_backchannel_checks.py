"""Tests of harness.oidc.backchannel: each check passes a conformant logout token or delivery and
fails a crafted deviant one, naming its requirement. Tokens are signed by joserfc with keys made
for the test (RS256 and ES256); only ``alg: none`` is assembled by hand."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from joserfc import jwe, jws
from joserfc.jwk import ECKey, Key, RSAKey
from joserfc.registry import HeaderParameter

from harness import requirements
from harness.errors import TargetError, Violation
from harness.oidc import backchannel as bcl

ISSUER = "https://op.example.com"
CLIENT = "rp1"
SUB = "user-1"
SID = "08a5019c-17e1-4977-8f42-65a12843ea02"
NOW = 1_700_000_000.0
EVENT = "http://schemas.openid.net/event/backchannel-logout"


def claims(**changes: Any) -> dict[str, Any]:
    """Conformant logout token claims; a ``None`` value removes a claim."""
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT,
        "iat": NOW,
        "exp": NOW + 120,
        "jti": "bWJq",
        "sub": SUB,
        "sid": SID,
        "events": {EVENT: {}},
    }
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


class Op:
    """An OP's signing keys: an RSA and an EC key, and the JWKS it publishes."""

    def __init__(self) -> None:
        self.rsa = RSAKey.generate_key(2048, parameters={"use": "sig"}, auto_kid=True)
        self.ec = ECKey.generate_key("P-256", parameters={"use": "sig"}, auto_kid=True)

    def key(self, alg: str) -> Key:
        return self.rsa if alg == "RS256" else self.ec

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.rsa.as_dict(private=False), self.ec.as_dict(private=False)]}

    def sign(
        self,
        payload: Mapping[str, Any],
        alg: str = "RS256",
        header: Mapping[str, Any] | None = None,
        key: Key | None = None,
    ) -> str:
        key = key or self.key(alg)
        protected = {"typ": "logout+jwt", "alg": alg, "kid": key.kid, **(header or {})}
        protected = {name: value for name, value in protected.items() if value is not None}
        # the crit test needs its extension known to joserfc, or it would refuse to sign
        registry = jws.JWSRegistry(
            header_registry={"urn:example:bound": HeaderParameter("test extension", "int")},
            algorithms=[alg],
        )
        return jws.serialize_compact(
            protected, json.dumps(dict(payload)).encode(), key, registry=registry
        )


@pytest.fixture(scope="module")
def op() -> Op:
    return Op()


@pytest.fixture(scope="module")
def stranger() -> Op:
    return Op()


def b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def violated(
    requirement: str, check: Callable[..., Any], *args: Any, **kwargs: Any
) -> Violation:
    """Run ``check``, expect a violation of ``requirement``, and return it."""
    with pytest.raises(Violation) as info:
        check(*args, **kwargs)
    assert info.value.requirement == requirement
    assert getattr(check, "requirement", None) == requirement
    assert info.value.expected and info.value.seen
    assert str(info.value).startswith(f"{requirement}: expected ")
    return info.value


CHECKS = [
    bcl.logout_request,
    bcl.signed,
    bcl.issuer,
    bcl.audience,
    bcl.issued_at,
    bcl.expires,
    bcl.short_lived,
    bcl.token_id,
    bcl.events,
    bcl.events_empty,
    bcl.subject_or_session,
    bcl.session_id,
    bcl.no_nonce,
    bcl.typed,
    bcl.metadata,
    bcl.id_token_sid,
    bcl.delivered,
    bcl.recipients,
    bcl.retries,
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_checks_cite_catalog_requirements(check: Callable[..., Any]) -> None:
    requirement = getattr(check, "requirement", "")
    assert requirement.startswith("OIDCBCL-")
    assert requirements.get(requirement).id == requirement


# the request: OIDCBCL-2.5-request


def test_logout_request() -> None:
    body = "logout_token=a.b.c&extra=1"
    form = "application/x-www-form-urlencoded; charset=UTF-8"
    assert bcl.logout_request("POST", form, body).token == "a.b.c"


@pytest.mark.parametrize(
    ("method", "content_type", "body", "seen"),
    [
        ("GET", "application/x-www-form-urlencoded", "logout_token=a.b.c", "a GET request"),
        ("post", "application/x-www-form-urlencoded", "logout_token=a.b.c", "a post request"),
        ("POST", "application/json", '{"logout_token": "a.b.c"}', "content-type application/json"),
        ("POST", None, "logout_token=a.b.c", "content-type none"),
        (
            "POST",
            "application/x-www-form-urlencoded",
            "id_token=a.b.c&state=1",
            "no logout_token parameter; parameters: id_token, state",
        ),
        ("POST", "application/x-www-form-urlencoded", "", "parameters: none"),
        (
            "POST",
            "application/x-www-form-urlencoded",
            "logout_token=a.b.c&logout_token=d.e.f",
            "2 logout_token parameters",
        ),
        ("POST", "application/x-www-form-urlencoded", "logout_token=", "an empty logout_token"),
    ],
)
def test_logout_request_violations(
    method: str, content_type: str | None, body: str, seen: str
) -> None:
    v = violated("OIDCBCL-2.5-request", bcl.logout_request, method, content_type, body)
    assert seen in v.seen
    assert "a.b.c" not in v.seen


def test_peek_claims(op: Op) -> None:
    token = op.sign(claims())
    assert bcl.peek_claims(f"logout_token={token}") == claims()
    assert bcl.peek_claims("logout_token=opaque") is None
    assert bcl.peek_claims(f"logout_token={token}&logout_token={token}") is None


# the signature: OIDCBCL-2.4-signed


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_signed(op: Op, alg: str) -> None:
    token = op.sign(claims(), alg)
    header, got = bcl.signed(token, op.jwks(), alg)
    assert got == claims()
    assert header["alg"] == alg and header["kid"] == op.key(alg).kid


def test_signed_without_kid(op: Op) -> None:
    token = op.sign(claims(), "ES256", header={"kid": None})
    assert bcl.signed(token, op.jwks(), "ES256")[1] == claims()


def test_alg_none(op: Op) -> None:
    token = f"{b64({'alg': 'none', 'typ': 'logout+jwt'})}.{b64(claims())}."
    v = violated("OIDCBCL-2.4-signed", bcl.signed, token, op.jwks(), "RS256")
    assert v.seen == "alg none: the token is not signed"
    token = f"{b64({'alg': 'None'})}.{b64(claims())}."
    violated("OIDCBCL-2.4-signed", bcl.signed, token, op.jwks(), "RS256")


def test_not_the_clients_alg(op: Op) -> None:
    token = op.sign(claims(), "ES256")
    v = violated("OIDCBCL-2.4-signed", bcl.signed, token, op.jwks(), "RS256")
    assert v.seen == "alg 'ES256', not the client's ID token alg"
    assert "RS256" in v.expected


def test_signed_by_someone_else(op: Op, stranger: Op) -> None:
    # the OP's kid on a signature by another key: only the signature itself can tell
    forged = op.sign(claims(), "RS256", header={"kid": op.rsa.kid}, key=stranger.rsa)
    v = violated("OIDCBCL-2.4-signed", bcl.signed, forged, op.jwks(), "RS256")
    assert "does not verify with the key with kid" in v.seen
    unknown = stranger.sign(claims(), "ES256")
    v = violated("OIDCBCL-2.4-signed", bcl.signed, unknown, op.jwks(), "ES256")
    assert f"no key with kid {stranger.ec.kid!r}" in v.seen
    no_kid = op.sign(claims(), "ES256", header={"kid": None}, key=stranger.ec)
    v = violated("OIDCBCL-2.4-signed", bcl.signed, no_kid, op.jwks(), "ES256")
    assert "does not verify with any of the 2 keys" in v.seen


def test_crit_header(op: Op) -> None:
    token = op.sign(claims(), header={"crit": ["urn:example:bound"], "urn:example:bound": 1})
    v = violated("OIDCBCL-2.4-signed", bcl.signed, token, op.jwks(), "RS256")
    assert "crit an array of 1" in v.seen
    assert "critical extensions" in v.expected


def test_not_a_jwt(op: Op) -> None:
    v = violated("OIDCBCL-2.4-signed", bcl.signed, "opaque-token", op.jwks(), "RS256")
    assert v.seen == "not a JWT: 1 segment: 'opaque-token'"
    long_text = "x" * 500
    v = violated("OIDCBCL-2.4-signed", bcl.signed, long_text, op.jwks(), "RS256")
    assert v.seen.endswith(repr("x" * 80) + "…")
    v = violated("OIDCBCL-2.4-signed", bcl.signed, "a.b.c.d.e", op.jwks(), "RS256")
    assert "5 segments" in v.seen


def test_encrypted_token_is_not_a_verdict(op: Op) -> None:
    client_key = RSAKey.generate_key(2048, parameters={"use": "enc"})
    token = jwe.encrypt_compact(
        {"alg": "RSA-OAEP", "enc": "A256GCM", "cty": "JWT"}, op.sign(claims()).encode(), client_key
    )
    with pytest.raises(TargetError, match="encrypted"):
        bcl.signed(token, op.jwks(), "RS256")


# the claims: OIDCBCL-2.4-*


def test_issuer() -> None:
    assert bcl.issuer(claims(), ISSUER) is None
    v = violated("OIDCBCL-2.4-iss", bcl.issuer, claims(iss=ISSUER + "/"), ISSUER)
    assert v.seen == f"iss {ISSUER + '/'!r}"
    v = violated("OIDCBCL-2.4-iss", bcl.issuer, claims(iss=None), ISSUER)
    assert v.seen == "no iss claim"


@pytest.mark.parametrize("aud", [CLIENT, [CLIENT], ["other", CLIENT]])
def test_audience(aud: object) -> None:
    assert bcl.audience(claims(aud=aud), CLIENT) is None


@pytest.mark.parametrize(
    ("aud", "seen"),
    [
        ("rp2", "aud 'rp2'"),
        (["rp2", 3], "aud is an array of 'rp2', 3"),
        ([], "aud is an array of nothing"),
        (None, "no aud claim"),
        ({"rp1": True}, "aud an object with members rp1"),
    ],
)
def test_wrong_audience(aud: object, seen: str) -> None:
    v = violated("OIDCBCL-2.4-aud", bcl.audience, claims(aud=aud), CLIENT)
    assert v.seen == seen


def test_issued_at() -> None:
    assert bcl.issued_at(claims(), NOW, 5) is None
    assert bcl.issued_at(claims(iat=int(NOW) + 5), NOW, 5) is None
    v = violated("OIDCBCL-2.4-iat", bcl.issued_at, claims(iat=NOW + 60), NOW, 5)
    assert v.seen == f"iat {NOW + 60:.0f}, 60 s in the future"


@pytest.mark.parametrize(
    ("iat", "seen"),
    [
        (None, "no iat claim"),
        ("1700000000", "iat is '1700000000', not a number"),
        (True, "iat is true, not a number"),
        (float("nan"), "iat is nan, not a number"),
    ],
)
def test_issued_at_not_a_number(iat: object, seen: str) -> None:
    v = violated("OIDCBCL-2.4-iat", bcl.issued_at, claims(iat=iat), NOW, 5)
    assert v.seen == seen


def test_expires() -> None:
    assert bcl.expires(claims()) is None
    assert bcl.expires(claims(), NOW + 10, 5) is None
    v = violated("OIDCBCL-2.4-exp", bcl.expires, claims(exp=None))
    assert v.seen == "no exp claim"
    v = violated("OIDCBCL-2.4-exp", bcl.expires, claims(exp=NOW))
    assert v.seen == f"exp {NOW:.0f}, not after iat {NOW:.0f}"
    v = violated("OIDCBCL-2.4-exp", bcl.expires, claims(exp=[NOW]))
    assert v.seen == "exp is an array of 1, not a number"
    v = violated("OIDCBCL-2.4-exp", bcl.expires, claims(), NOW + 300, 5)
    assert v.seen == f"exp {NOW + 120:.0f}: expired 180 s before it arrived"


def test_short_lived() -> None:
    assert bcl.short_lived(claims()) is None
    v = violated("OIDCBCL-2.4-exp-short", bcl.short_lived, claims(exp=NOW + 3600))
    assert v.seen == "a lifetime of 3600 s"
    assert requirements.get("OIDCBCL-2.4-exp-short").level == "MAY"


def test_token_id() -> None:
    assert bcl.token_id(claims(), {}) is None
    assert bcl.token_id(claims(), {"other": claims(jti="other")}) is None
    # the identical token again is a resend, not a second token with the same jti
    assert bcl.token_id(claims(), {"bWJq": claims()}) is None


@pytest.mark.parametrize(
    ("jti", "seen"),
    [(None, "no jti claim"), ("", "jti ''"), (42, "jti 42")],
)
def test_token_id_missing(jti: object, seen: str) -> None:
    v = violated("OIDCBCL-2.4-jti", bcl.token_id, claims(jti=jti), {})
    assert v.seen == seen


def test_token_id_reused() -> None:
    earlier = claims(aud="rp2", sid="another")
    v = violated("OIDCBCL-2.4-jti", bcl.token_id, claims(), {"bWJq": earlier})
    assert v.seen == "jti 'bWJq' already carried by another token (differing in aud, sid)"


@pytest.mark.parametrize("value", [{}, {"reason": "admin"}])
def test_events(value: dict[str, Any]) -> None:
    assert bcl.events(claims(events={EVENT: value, "urn:other": 1})) is None


@pytest.mark.parametrize(
    ("events", "seen"),
    [
        (None, "no events claim"),
        ([EVENT], "events is an array of 1"),
        ({"http://schemas.openid.net/event/backchannel-logout/": {}}, "events is an object"),
        ({EVENT: []}, "the member's value is an array of 0"),
        ({EVENT: "logout"}, "the member's value is 'logout'"),
    ],
)
def test_events_violations(events: object, seen: str) -> None:
    v = violated("OIDCBCL-2.4-events", bcl.events, claims(events=events))
    assert v.seen.startswith(seen)


def test_events_empty() -> None:
    assert bcl.events_empty(claims()) is None
    v = violated("OIDCBCL-2.4-events-empty", bcl.events_empty, claims(events={EVENT: {"a": 1}}))
    assert v.seen == "its value is an object with members a"
    violated("OIDCBCL-2.4-events-empty", bcl.events_empty, claims(events=None))


@pytest.mark.parametrize(
    ("sub", "sid", "expected_sub"),
    [(SUB, SID, SUB), (SUB, None, SUB), (None, SID, SUB), ("pairwise-x", SID, None)],
)
def test_subject_or_session(sub: str | None, sid: str | None, expected_sub: str | None) -> None:
    assert bcl.subject_or_session(claims(sub=sub, sid=sid), expected_sub) is None


@pytest.mark.parametrize(
    ("sub", "sid", "seen"),
    [
        (None, None, "neither sub nor sid"),
        ("user-2", SID, "sub 'user-2'"),
        ("", SID, "sub ''"),
        (SUB, 7, "sid 7"),
    ],
)
def test_subject_or_session_violations(sub: object, sid: object, seen: str) -> None:
    v = violated("OIDCBCL-2.4-sub-sid", bcl.subject_or_session, claims(sub=sub, sid=sid), SUB)
    assert v.seen == seen


def test_session_id() -> None:
    assert bcl.session_id(claims(), SID, True) is None
    assert bcl.session_id(claims(sid=None), SID, False) is None
    note = bcl.session_id(claims(), None, False)
    assert note and "ID token had none" in note
    v = violated("OIDCBCL-2.4-sid", bcl.session_id, claims(sid=None), SID, True)
    assert "backchannel_logout_session_required" in v.seen
    v = violated("OIDCBCL-2.4-sid", bcl.session_id, claims(sid="other"), SID, False)
    assert v.seen == "sid 'other'" and SID in v.expected
    violated("OIDCBCL-2.4-sid", bcl.session_id, claims(sid=["x"]), SID, False)


def test_no_nonce() -> None:
    assert bcl.no_nonce(claims()) is None
    v = violated("OIDCBCL-2.4-nonce", bcl.no_nonce, claims(nonce="n-0S6_WzA2Mj"))
    assert v.seen == "nonce 'n-0S6_WzA2Mj'"


@pytest.mark.parametrize("typ", ["logout+jwt", "Logout+JWT", "application/logout+jwt"])
def test_typed(typ: str) -> None:
    assert bcl.typed({"alg": "RS256", "typ": typ}) is None


@pytest.mark.parametrize(
    ("header", "seen"),
    [
        ({"alg": "RS256", "typ": "JWT"}, "typ 'JWT'"),
        ({"alg": "RS256"}, "no typ header"),
        ({"alg": "RS256", "typ": ["logout+jwt"]}, "typ an array of 1"),
        ({"alg": "RS256", "typ": "secevent+jwt"}, "typ 'secevent+jwt'"),
    ],
)
def test_not_typed(header: dict[str, Any], seen: str) -> None:
    v = violated("OIDCBCL-2.4-typ", bcl.typed, header)
    assert v.seen == seen


# all of them in order


class Book:
    """A stand-in for Context.verify: runs the check, keeps its id, stops on a MUST failure."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.notes: list[str] = []
        self.failed: list[str] = []

    def __call__(self, check: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        requirement = getattr(check, "requirement", "")
        self.ran.append(requirement)
        try:
            result = check(*args, **kwargs)
        except Violation:
            self.failed.append(requirement)
            if requirements.get(requirement).level == "MUST":
                raise
            return None
        if isinstance(result, str):
            self.notes.append(result)
        return result


def verify_all(book: Book, token: str, op: Op, **changes: Any) -> dict[str, Any] | None:
    arguments: dict[str, Any] = {
        "jwks": op.jwks(),
        "alg": "ES256",
        "op_issuer": ISSUER,
        "client_id": CLIENT,
        "now": NOW + 1,
        "skew": 5.0,
        "seen_jtis": {},
        "sub": SUB,
        "id_token_sid": SID,
        "sid_required": True,
    }
    arguments.update(changes)
    return bcl.verify_token(book, token, **arguments)


def test_verify_token(op: Op) -> None:
    book = Book()
    assert verify_all(book, op.sign(claims(), "ES256"), op) == claims()
    assert book.ran == [
        "OIDCBCL-2.4-signed",
        "OIDCBCL-2.4-events",
        "OIDCBCL-2.4-iss",
        "OIDCBCL-2.4-aud",
        "OIDCBCL-2.4-iat",
        "OIDCBCL-2.4-exp",
        "OIDCBCL-2.4-jti",
        "OIDCBCL-2.4-sub-sid",
        "OIDCBCL-2.4-sid",
        "OIDCBCL-2.4-nonce",
        "OIDCBCL-2.4-events-empty",
        "OIDCBCL-2.4-typ",
        "OIDCBCL-2.4-exp-short",
    ]
    assert book.failed == [] and book.notes == []


def test_verify_token_stops_at_a_must(op: Op) -> None:
    book = Book()
    with pytest.raises(Violation) as info:
        verify_all(book, op.sign(claims(nonce="n"), "ES256"), op)
    assert info.value.requirement == "OIDCBCL-2.4-nonce"
    assert book.ran[-1] == "OIDCBCL-2.4-nonce" and "OIDCBCL-2.4-typ" not in book.ran


def test_verify_token_goes_on_after_a_should(op: Op) -> None:
    book = Book()
    token = op.sign(claims(events={EVENT: {"x": 1}}, exp=NOW + 600), "ES256", header={"typ": "JWT"})
    assert verify_all(book, token, op) is not None
    assert book.failed == ["OIDCBCL-2.4-events-empty", "OIDCBCL-2.4-typ", "OIDCBCL-2.4-exp-short"]


def test_verify_token_without_a_verdict(op: Op) -> None:
    def unsure(check: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return None  # a verify that records a failure without stopping

    assert bcl.verify_token(
        unsure,
        op.sign(claims()),
        jwks=op.jwks(),
        alg="RS256",
        op_issuer=ISSUER,
        client_id=CLIENT,
        now=time.time(),
        skew=5,
        seen_jtis={},
        sub=None,
        id_token_sid=None,
        sid_required=False,
    ) is None


# discovery: OIDCBCL-2.1-*


def test_metadata() -> None:
    supported = {"backchannel_logout_supported": True, "backchannel_logout_session_supported": True}
    assert bcl.metadata(supported, True) is None
    assert bcl.metadata({}, False) is None
    assert bcl.metadata({"backchannel_logout_supported": False}, False) is None


@pytest.mark.parametrize(
    ("doc", "sends", "seen"),
    [
        ({}, True, "backchannel_logout_supported absent (false by default), yet logout tokens arrived"),
        ({"backchannel_logout_supported": False}, True, "backchannel_logout_supported false, yet"),
        ({"backchannel_logout_supported": "true"}, False, "backchannel_logout_supported is 'true'"),
        (
            {"backchannel_logout_supported": True, "backchannel_logout_session_supported": 1},
            True,
            "backchannel_logout_session_supported is 1",
        ),
    ],
)
def test_metadata_violations(doc: dict[str, Any], sends: bool, seen: str) -> None:
    v = violated("OIDCBCL-2.1-metadata", bcl.metadata, doc, sends)
    assert v.seen.startswith(seen)


def test_id_token_sid() -> None:
    supported = {"backchannel_logout_session_supported": True}
    assert bcl.id_token_sid(supported, {"sub": SUB, "sid": SID}) is None
    assert bcl.id_token_sid({}, {"sub": SUB}) is None
    v = violated("OIDCBCL-2.1-session-sid", bcl.id_token_sid, supported, {"sub": SUB})
    assert v.seen == "an ID token without sid"
    v = violated("OIDCBCL-2.1-session-sid", bcl.id_token_sid, supported, {"sid": ""})
    assert v.seen == "sid ''"


# delivery: OIDCBCL-2.5-sent, OIDCBCL-2.3-recipients, OIDCBCL-2.8-retry


def test_delivered() -> None:
    assert bcl.delivered(["rp1", "rp2"], {"rp2", "rp1"}) is None
    v = violated("OIDCBCL-2.5-sent", bcl.delivered, ["rp1", "rp2", "rp3"], ["rp2"], within=5)
    assert v.seen == "nothing reached 2 of them within 5 s: rp1, rp3"
    assert "3 clients" in v.expected
    fan_out = [f"fan-{n:04d}" for n in range(2000)]
    v = violated("OIDCBCL-2.5-sent", bcl.delivered, fan_out, fan_out[:1985])
    assert v.seen.startswith("nothing reached 15 of them: fan-1985, ")
    assert v.seen.endswith("fan-1994 and 5 more")


def test_recipients() -> None:
    assert bcl.recipients(["rp1"], ["rp1", "rp2"]) is None
    v = violated("OIDCBCL-2.3-recipients", bcl.recipients, ["rp1", "rp3", "rp3"], ["rp1"])
    assert v.seen == "logout tokens for 1 other client(s): rp3"


def test_retries() -> None:
    assert bcl.retries([(NOW, 200)], 0.5) is None
    note = bcl.retries([(NOW + 1.5, 200), (NOW, 500), (NOW + 0.5, 503)], 0.5)
    assert note == "3 attempts, gaps 500, 1000 ms, statuses 500, 503, 200"


@pytest.mark.parametrize("success", [200, 204])
def test_resend_after_success(success: int) -> None:
    v = violated("OIDCBCL-2.8-retry", bcl.retries, [(NOW, success), (NOW + 5, 200)], 0.5)
    assert v.seen == (
        f"attempt 2 after attempt 1 was answered {success} "
        f"(2 attempts, gaps 5000 ms, statuses {success}, 200)"
    )


def test_resend_too_soon() -> None:
    attempts = [(NOW, 500), (NOW + 1, 500), (NOW + 1.1, 200)]
    v = violated("OIDCBCL-2.8-retry", bcl.retries, attempts, 0.5)
    assert v.seen.startswith("attempt 3 came 100 ms after attempt 2 (3 attempts")
    assert "500 ms" in v.expected


def test_attempts_summary() -> None:
    assert bcl.attempts_summary([(NOW, 500)]) == "1 attempt, status 500"
    assert bcl.attempts_summary([(NOW, 500), (NOW + 0.25, 400)]) == (
        "2 attempts, gaps 250 ms, statuses 500, 400"
    )
