"""Tests of harness.casdoor: signing against an independent HMAC, each check passes a good notification
and fails a deviant one with its requirement, each forged variant has the defect it claims."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac

from harness import casdoor, requirements
from harness.errors import Violation
from harness.redact import mask

SECRET = "client-secret-5f2c9a7e1b"
TOKENS = ["access-token-one-9d8c7b6a", "access-token-two-1a2b3c4d"]
SESSIONS = ["session-cookie-aaa111", "session-cookie-bbb222"]
NOW = 1_699_900_000

#: the example of the Casdoor documentation, whose signed string is known
DOC_EXAMPLE = {
    "owner": "org-name",
    "name": "username",
    "displayName": "John Doe",
    "email": "user@example.com",
    "phone": "+1234567890",
    "id": "user-id",
    "event": "sso-logout",
    "sessionIds": ["session-123", "session-456"],
    "accessTokenHashes": ["hash-abc", "hash-def"],
    "nonce": "random-nonce-xyz",
    "timestamp": 1699900000,
    "signature": "hmac-sha256-signature",
}
DOC_SIGNED = (
    "org-name|username|random-nonce-xyz|1699900000|session-123,session-456|hash-abc,hash-def"
)


def independent_hmac(message: str, secret: str) -> str:
    mac = crypto_hmac.HMAC(secret.encode(), hashes.SHA256())
    mac.update(message.encode())
    return mac.finalize().hex()


def independent_sha256(text: str) -> str:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(text.encode())
    return digest.finalize().hex()


def good(**overrides: Any) -> dict[str, Any]:
    payload = casdoor.build(
        "acme",
        "alice",
        "user-42",
        SESSIONS,
        [casdoor.token_hash(t) for t in TOKENS],
        SECRET,
        display_name="Alice",
        email="alice@example.com",
        phone="+100",
        nonce="nonce-1",
        timestamp=NOW,
    )
    payload.update(overrides)
    return payload


def violated(requirement: str, check: Callable[..., Any], *args: Any, **kwargs: Any) -> Violation:
    """Run ``check``, expect a violation of ``requirement``: no secret, HMAC or token in its text."""
    with pytest.raises(Violation) as info:
        check(*args, **kwargs)
    violation = info.value
    assert violation.requirement == requirement
    assert getattr(check, "requirement", None) == requirement
    assert violation.expected and violation.seen
    text = str(violation)
    assert SECRET not in text
    assert casdoor.sign(good(), SECRET) not in text
    for secret in [*TOKENS, *SESSIONS]:
        assert secret not in text
    return violation


# signing


def test_signed_string_of_the_documented_example() -> None:
    assert casdoor.signed_string(DOC_EXAMPLE) == DOC_SIGNED


def test_sign_matches_an_independent_hmac() -> None:
    assert casdoor.sign(DOC_EXAMPLE, SECRET) == independent_hmac(DOC_SIGNED, SECRET)
    assert casdoor.sign(DOC_EXAMPLE, SECRET).islower()


def test_token_hash() -> None:
    # FIPS 180-2 test vector
    assert casdoor.token_hash("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    assert casdoor.token_hash(TOKENS[0]) == independent_sha256(TOKENS[0])


def test_empty_lists_and_absent_fields_sign_as_empty() -> None:
    payload = {**DOC_EXAMPLE, "sessionIds": [], "accessTokenHashes": []}
    del payload["nonce"]
    assert casdoor.signed_string(payload) == "org-name|username||1699900000||"


def test_build() -> None:
    payload = good()
    assert list(payload) == list(DOC_EXAMPLE)
    assert payload["event"] == "sso-logout"
    assert payload["signature"] == independent_hmac(
        f"acme|alice|nonce-1|{NOW}|{','.join(SESSIONS)}|"
        + ",".join(independent_sha256(t) for t in TOKENS),
        SECRET,
    )


def test_build_makes_a_fresh_nonce_and_timestamp() -> None:
    one = casdoor.build("o", "n", "i", [], [], SECRET, display_name="", email="", phone="")
    two = casdoor.build("o", "n", "i", [], [], SECRET, display_name="", email="", phone="")
    assert one["nonce"] != two["nonce"] and len(one["nonce"]) >= 16
    assert isinstance(one["timestamp"], int)
    casdoor.fresh(one, one["timestamp"])


# the judge: a good notification passes every check


def test_good_notification_passes_every_check() -> None:
    payload = casdoor.schema(casdoor.encode(good()))
    assert payload == good()
    casdoor.signature(payload, SECRET)
    casdoor.fresh(payload, NOW + 10)
    seen = {"nonce-0"}
    casdoor.unique_nonce(payload, seen)
    seen.add(payload["nonce"])
    assert seen == {"nonce-0", "nonce-1"}
    casdoor.sessions(payload, set(SESSIONS))
    casdoor.token_hashes(payload, list(reversed(TOKENS)))


def test_the_documented_example_has_the_documented_shape() -> None:
    assert casdoor.schema(json.dumps(DOC_EXAMPLE)) == DOC_EXAMPLE


def test_checks_are_registered_under_their_requirements() -> None:
    for check, rid in [
        (casdoor.schema, "CASDOOR-notify-schema"),
        (casdoor.signature, "CASDOOR-notify-signature"),
        (casdoor.fresh, "CASDOOR-notify-timestamp"),
        (casdoor.unique_nonce, "CASDOOR-notify-nonce"),
        (casdoor.sessions, "CASDOOR-notify-sessions"),
        (casdoor.token_hashes, "CASDOOR-notify-token-hashes"),
    ]:
        assert getattr(check, "requirement", None) == rid
        assert requirements.get(rid).id == rid


# CASDOOR-notify-schema


def _without(name: str) -> dict[str, Any]:
    payload = good()
    del payload[name]
    return payload


@pytest.mark.parametrize(
    ("body", "seen"),
    [
        ("owner=acme&name=alice", "a body that is not JSON (21 characters)"),
        ("", "a body that is not JSON (0 characters)"),
        ("[1, 2]", "JSON an array instead of an object"),
        (json.dumps(_without("nonce")), "no field nonce"),
        (json.dumps({"owner": "acme"}), "no field name, displayName, email, phone, id, event"),
        (json.dumps({**good(), "admin": True}), "unexpected field 'admin'"),
        (json.dumps(good(timestamp=str(NOW))), "timestamp is a string, not an integer"),
        (
            json.dumps(good(timestamp=float(NOW))),
            "timestamp is a number with a fraction, not an integer",
        ),
        (json.dumps(good(timestamp=True)), "timestamp is a boolean, not an integer"),
        (json.dumps(good(sessionIds="a,b")), "sessionIds is a string, not an array"),
        (json.dumps(good(sessionIds=["a", 7])), "sessionIds[1] is an integer, not a string"),
        (json.dumps(good(accessTokenHashes=None)), "accessTokenHashes is null, not an array"),
        (json.dumps(good(email=["x"])), "email is an array, not a string"),
        (json.dumps(good(event="logout")), "event is 'logout', not 'sso-logout'"),
    ],
)
def test_schema_violations_name_the_field(body: str, seen: str) -> None:
    v = violated("CASDOOR-notify-schema", casdoor.schema, body)
    assert seen in v.seen


def test_schema_lists_every_problem() -> None:
    body = json.dumps({**_without("phone"), "admin": True, "timestamp": "1"})
    v = violated("CASDOOR-notify-schema", casdoor.schema, body)
    assert v.seen == (
        "no field phone; unexpected field 'admin'; timestamp is a string, not an integer"
    )


# CASDOOR-notify-signature


def test_signature_mismatch_says_what_was_signed_without_the_secret() -> None:
    payload = good(signature="0" * 64)
    v = violated("CASDOOR-notify-signature", casdoor.signature, payload, SECRET)
    assert v.seen == "a signature of 64 characters that does not match"
    masked = ",".join(mask(s) for s in SESSIONS)
    assert f"'acme|alice|nonce-1|{NOW}|{masked}|" in v.expected


def test_signature_covers_every_signed_field() -> None:
    for name, value in [
        ("owner", "evil"),
        ("name", "bob"),
        ("nonce", "nonce-2"),
        ("timestamp", NOW + 1),
        ("sessionIds", SESSIONS[:1]),
        ("accessTokenHashes", []),
    ]:
        violated("CASDOOR-notify-signature", casdoor.signature, good(**{name: value}), SECRET)
    # the unsigned fields are not covered, as documented
    casdoor.signature(good(email="other@example.com"), SECRET)


@pytest.mark.parametrize(
    ("encode", "seen"),
    [
        (lambda d: d.hex().upper(), "in upper-case hex"),
        (lambda d: base64.b64encode(d).decode(), "base64- instead of hex-encoded"),
        (lambda d: base64.urlsafe_b64encode(d).decode().rstrip("="), "base64- instead of hex"),
    ],
)
def test_signature_slips_are_named(encode: Callable[[bytes], str], seen: str) -> None:
    digest = bytes.fromhex(casdoor.sign(good(), SECRET))
    payload = good(signature=encode(digest))
    v = violated("CASDOOR-notify-signature", casdoor.signature, payload, SECRET)
    assert seen in v.seen


@pytest.mark.parametrize("value", [None, "", 42])
def test_signature_absent_or_not_a_string(value: object) -> None:
    v = violated("CASDOOR-notify-signature", casdoor.signature, good(signature=value), SECRET)
    assert v.seen == f"signature is {value!r}"


def test_signature_with_another_secret() -> None:
    v = violated("CASDOOR-notify-signature", casdoor.signature, good(), "another-secret")
    assert "another-secret" not in str(v)


def test_signature_of_non_ascii_text_is_compared_not_crashed() -> None:
    violated("CASDOOR-notify-signature", casdoor.signature, good(signature="é" * 64), SECRET)


# CASDOOR-notify-timestamp


@pytest.mark.parametrize("now", [NOW, NOW + 300, NOW - 60])
def test_fresh(now: int) -> None:
    casdoor.fresh(good(), now)


@pytest.mark.parametrize(
    ("timestamp", "now", "seen"),
    [
        (NOW, NOW + 301, f"timestamp {NOW}, 301 s before the harness clock"),
        (NOW, NOW - 61, f"timestamp {NOW}, 61 s after the harness clock"),
        (NOW * 1000, NOW, f"timestamp {NOW * 1000}, which looks like milliseconds"),
        (str(NOW), NOW, f"timestamp is '{NOW}'"),
        (True, NOW, "timestamp is True"),
        (None, NOW, "timestamp is None"),
    ],
)
def test_not_fresh(timestamp: object, now: int, seen: str) -> None:
    v = violated("CASDOOR-notify-timestamp", casdoor.fresh, good(timestamp=timestamp), now)
    assert v.seen == seen


def test_fresh_bounds_are_parameters() -> None:
    casdoor.fresh(good(), NOW + 500, max_age=600)
    violated("CASDOOR-notify-timestamp", casdoor.fresh, good(), NOW - 10, max_future=5)


# CASDOOR-notify-nonce


def test_nonce_seen_before() -> None:
    v = violated("CASDOOR-notify-nonce", casdoor.unique_nonce, good(), {"nonce-1", "nonce-0"})
    assert v.seen == "nonce 'nonce-1' again, seen in one of 2 earlier notifications"


@pytest.mark.parametrize("value", ["", None, 12])
def test_nonce_absent(value: object) -> None:
    v = violated("CASDOOR-notify-nonce", casdoor.unique_nonce, good(nonce=value), set())
    assert v.seen == f"nonce is {value!r}"


# CASDOOR-notify-sessions


def test_sessions_missing_and_extra_are_masked() -> None:
    payload = good(sessionIds=[SESSIONS[0], "session-cookie-zzz999"])
    v = violated("CASDOOR-notify-sessions", casdoor.sessions, payload, set(SESSIONS))
    assert v.seen == (
        f"missing {mask(SESSIONS[1])}; "
        f"extra {mask('session-cookie-zzz999')} (a session that did not end)"
    )
    assert "session-cookie-zzz999" not in str(v)


def test_sessions_only_missing() -> None:
    v = violated("CASDOOR-notify-sessions", casdoor.sessions, good(sessionIds=[]), {SESSIONS[0]})
    assert v.seen == f"missing {mask(SESSIONS[0])}"


def test_sessions_not_a_list() -> None:
    v = violated("CASDOOR-notify-sessions", casdoor.sessions, good(sessionIds="a"), {"a"})
    assert v.seen == "sessionIds is not an array of strings"


# CASDOOR-notify-token-hashes


def test_token_hashes_missing_and_extra_by_short_hash() -> None:
    stranger = casdoor.token_hash("a-token-of-another-user")
    payload = good(accessTokenHashes=[casdoor.token_hash(TOKENS[0]), stranger])
    v = violated("CASDOOR-notify-token-hashes", casdoor.token_hashes, payload, TOKENS)
    missing = casdoor.token_hash(TOKENS[1])[:8]
    assert v.seen == f"missing sha256:{missing}; extra sha256:{stranger[:8]}"
    # the short hash is what a report shows of the token itself
    assert f"sha256:{missing}" in mask(TOKENS[1])


def test_token_hashes_slips_are_named_without_the_token() -> None:
    payload = good(
        accessTokenHashes=[TOKENS[0], casdoor.token_hash(TOKENS[1]).upper(), "hash-abc"]
    )
    v = violated("CASDOOR-notify-token-hashes", casdoor.token_hashes, payload, TOKENS)
    assert f"{mask(TOKENS[0])} (a token in clear, not its hash)" in v.seen
    assert f"sha256:{casdoor.token_hash(TOKENS[1])[:8]} in upper-case hex" in v.seen
    assert f"{mask('hash-abc')} (not a lowercase hex SHA-256)" in v.seen


def test_token_hashes_not_a_list() -> None:
    payload = good(accessTokenHashes=[1])
    v = violated("CASDOOR-notify-token-hashes", casdoor.token_hashes, payload, TOKENS)
    assert v.seen == "accessTokenHashes is not an array of strings"


# the sender's variants


def test_variants_name_catalog_requirements() -> None:
    assert set(casdoor.VARIANTS) == {
        "bad-signature",
        "wrong-secret",
        "stale",
        "future",
        "missing-field",
        "extra-field",
        "wrong-type",
        "not-json",
    }
    for variant in casdoor.VARIANTS.values():
        assert variant.requirement.startswith("CASDOOR-receiver-")
        assert requirements.get(variant.requirement).id == variant.requirement
        assert variant.description
        assert "reject" in variant.acceptable
    assert casdoor.VARIANTS["future"].acceptable == ("accept", "reject")


def forged(name: str) -> str:
    return casdoor.VARIANTS[name](good(), SECRET)


def test_bad_signature_flips_one_hex_digit() -> None:
    payload = json.loads(forged("bad-signature"))
    sent, right = payload["signature"], casdoor.sign(good(), SECRET)
    assert len(sent) == len(right) == 64
    assert sum(a != b for a, b in zip(sent, right, strict=True)) == 1
    assert {k: v for k, v in payload.items() if k != "signature"} == {
        k: v for k, v in good().items() if k != "signature"
    }
    violated("CASDOOR-notify-signature", casdoor.signature, payload, SECRET)


def test_wrong_secret_is_well_formed_but_not_ours() -> None:
    payload = casdoor.schema(forged("wrong-secret"))
    assert len(payload["signature"]) == 64 and payload["signature"] != good()["signature"]
    violated("CASDOOR-notify-signature", casdoor.signature, payload, SECRET)


@pytest.mark.parametrize(("name", "shift"), [("stale", -3600), ("future", 3600)])
def test_stale_and_future_are_correctly_signed(name: str, shift: int) -> None:
    payload = casdoor.schema(forged(name))
    assert payload["timestamp"] == NOW + shift
    casdoor.signature(payload, SECRET)
    violated("CASDOOR-notify-timestamp", casdoor.fresh, payload, NOW)


def test_missing_field_is_signed_over_what_remains() -> None:
    body = forged("missing-field")
    payload = json.loads(body)
    assert "nonce" not in payload and set(payload) == set(good()) - {"nonce"}
    assert payload["signature"] == independent_hmac(
        casdoor.signed_string(good()).replace("|nonce-1|", "||"), SECRET
    )
    casdoor.signature(payload, SECRET)
    v = violated("CASDOOR-notify-schema", casdoor.schema, body)
    assert v.seen == "no field nonce"


def test_extra_field_keeps_a_valid_signature() -> None:
    body = forged("extra-field")
    payload = json.loads(body)
    assert payload["admin"] is True
    casdoor.signature(payload, SECRET)
    v = violated("CASDOOR-notify-schema", casdoor.schema, body)
    assert v.seen == "unexpected field 'admin'"


def test_wrong_type_signs_the_same_string() -> None:
    body = forged("wrong-type")
    payload = json.loads(body)
    assert payload["timestamp"] == str(NOW)
    assert payload["sessionIds"] == ",".join(SESSIONS)
    assert casdoor.signed_string(payload) == casdoor.signed_string(good())
    casdoor.signature(payload, SECRET)
    v = violated("CASDOOR-notify-schema", casdoor.schema, body)
    assert v.seen == "sessionIds is a string, not an array; timestamp is a string, not an integer"


def test_not_json() -> None:
    body = forged("not-json")
    with pytest.raises(ValueError):
        json.loads(body)
    violated("CASDOOR-notify-schema", casdoor.schema, body)


def test_variants_do_not_change_the_valid_payload() -> None:
    payload = good()
    for variant in casdoor.VARIANTS.values():
        variant(payload, SECRET)
    assert payload == good()
