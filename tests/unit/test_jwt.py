"""Tests of harness.oidc.jwt: decoding malformed tokens, verification, forging, summaries."""

from __future__ import annotations

import base64
import json

import pytest
from joserfc.jwk import OctKey

from harness.errors import ConfigError, HarnessError
from harness.oidc.jwt import (
    MAX_TOKEN_BYTES,
    HarnessKeys,
    InvalidSignature,
    MalformedJwt,
    claims_summary,
    decode_unverified,
    resign_alg_none,
    resign_with,
    verify,
)

CLAIMS = {"iss": "https://op.example", "sub": "alice", "sid": "s-1", "aud": "rp"}


@pytest.fixture(scope="module")
def keys() -> HarnessKeys:
    return HarnessKeys()


@pytest.fixture(scope="module")
def other_keys() -> HarnessKeys:
    return HarnessKeys()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def seg(value: object) -> str:
    return b64(json.dumps(value).encode())


def test_errors_are_harness_errors() -> None:
    assert issubclass(MalformedJwt, HarnessError)
    assert issubclass(InvalidSignature, MalformedJwt)


def test_decode_unverified(keys: HarnessKeys) -> None:
    token = keys.sign(CLAIMS, header={"typ": "logout+jwt"})
    header, claims = decode_unverified(token)
    assert header == {"typ": "logout+jwt", "alg": "RS256", "kid": keys.rsa.kid}
    assert claims == CLAIMS


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("opaque-access-token", "not a JWT: 1 segment"),
        ("a.b", "not a JWT: 2 segments"),
        (f"{seg({'alg': 'RSA-OAEP'})}.a.b.c.d", "encrypted JWT"),
        ("!!!.e30.", "header is not base64url"),
        (f"{b64(b'<html>')}.e30.", "header is not JSON"),
        (f"{seg([1, 2])}.e30.", "header is not a JSON object"),
        (f"{seg({'typ': 'JWT'})}.e30.", "header has no 'alg'"),
        (f"{seg({'alg': 'RS256'})}.{b64(b'not json')}.", "claims are not JSON"),
        (f"{seg({'alg': 'RS256'})}.{seg('text')}.", "claims are not a JSON object"),
        (f"{seg({'alg': 'RS256'})}.e30.sig+nature", "signature is not base64url"),
        ("eyJ" + "a" * MAX_TOKEN_BYTES + ".e30.", "longer than 65536 bytes"),
    ],
)
def test_decode_rejects_malformed(token: str, reason: str) -> None:
    with pytest.raises(MalformedJwt, match=reason):
        decode_unverified(token)


def test_verify_good_tokens(keys: HarnessKeys) -> None:
    for alg in ("RS256", "PS256", "ES256"):
        token = keys.sign(CLAIMS, alg=alg)
        assert verify(token, keys.jwks(), algorithms=["RS256", "PS256", "ES256"]) == CLAIMS


def test_verify_without_kid_tries_each_key(keys: HarnessKeys) -> None:
    token = resign_with(keys.sign(CLAIMS), keys.ec, "ES256", header={"kid": None})
    assert "kid" not in decode_unverified(token)[0]
    assert verify(token, keys.jwks(), algorithms=["ES256"]) == CLAIMS


def test_verify_skips_unreadable_keys(keys: HarnessKeys) -> None:
    jwks = {"keys": [{"kty": "ML-DSA", "kid": "pq"}, {"kty": "RSA", "n": 1}, *keys.jwks()["keys"]]}
    assert verify(keys.sign(CLAIMS), jwks, algorithms=["RS256"]) == CLAIMS


def test_verify_refuses_alg_none(keys: HarnessKeys) -> None:
    forged = resign_alg_none(keys.sign(CLAIMS))
    with pytest.raises(InvalidSignature, match="alg 'none' is refused"):
        verify(forged, keys.jwks(), algorithms=["RS256", "none"])


def test_verify_refuses_unaccepted_alg(keys: HarnessKeys) -> None:
    with pytest.raises(InvalidSignature, match="alg 'ES256' is not among the accepted RS256"):
        verify(keys.sign(CLAIMS, alg="ES256"), keys.jwks(), algorithms=["RS256"])


def test_verify_unknown_kid(keys: HarnessKeys, other_keys: HarnessKeys) -> None:
    token = other_keys.sign(CLAIMS)
    with pytest.raises(InvalidSignature, match=f"no key with kid '{other_keys.rsa.kid}'"):
        verify(token, keys.jwks(), algorithms=["RS256"])


def test_verify_signed_by_someone_else_with_the_right_kid(
    keys: HarnessKeys, other_keys: HarnessKeys
) -> None:
    forged = resign_with(keys.sign(CLAIMS), other_keys.rsa, "RS256")
    assert decode_unverified(forged)[0]["kid"] == keys.rsa.kid
    with pytest.raises(InvalidSignature, match="does not verify with the key with kid"):
        verify(forged, keys.jwks(), algorithms=["RS256"])


def test_verify_tampered_claims(keys: HarnessKeys) -> None:
    header, _, signature = keys.sign(CLAIMS).split(".")
    tampered = f"{header}.{seg({**CLAIMS, 'sub': 'mallory'})}.{signature}"
    with pytest.raises(InvalidSignature):
        verify(tampered, keys.jwks(), algorithms=["RS256"])


def test_verify_with_unusable_jwks(keys: HarnessKeys) -> None:
    token = keys.sign(CLAIMS)
    with pytest.raises(InvalidSignature, match="no 'keys' list"):
        verify(token, {"keys": "x"}, algorithms=["RS256"])
    with pytest.raises(InvalidSignature, match="no usable key"):
        verify(token, {"keys": [{"kty": "nope"}]}, algorithms=["RS256"])


def test_resign_alg_none_keeps_header_and_claims(keys: HarnessKeys) -> None:
    token = keys.sign(CLAIMS, header={"typ": "logout+jwt"})
    forged = resign_alg_none(token)
    assert forged.endswith(".")
    assert forged.split(".")[1] == token.split(".")[1]
    header, claims = decode_unverified(forged)
    assert header == {"typ": "logout+jwt", "alg": "none", "kid": keys.rsa.kid}
    assert claims == CLAIMS


def test_resign_with_hmac(keys: HarnessKeys) -> None:
    secret = OctKey.import_key(b"k" * 32)
    forged = resign_with(keys.sign(CLAIMS), secret, "HS256")
    assert decode_unverified(forged)[0]["alg"] == "HS256"
    with pytest.raises(InvalidSignature):
        verify(forged, keys.jwks(), algorithms=["HS256"])


def test_resign_with_wrong_key_type_is_a_config_error(keys: HarnessKeys) -> None:
    with pytest.raises(ConfigError, match="cannot sign with ES256 and a RSA key"):
        resign_with(keys.sign(CLAIMS), keys.rsa, "ES256")


def test_key_for_unknown_alg(keys: HarnessKeys) -> None:
    with pytest.raises(ConfigError, match="no key for alg 'EdDSA'"):
        keys.key_for("EdDSA")


def test_jwks_is_public(keys: HarnessKeys) -> None:
    jwks = keys.jwks()
    assert [k["kty"] for k in jwks["keys"]] == ["RSA", "EC"]
    for key in jwks["keys"]:
        assert "d" not in key and key["use"] == "sig" and key["kid"]


def test_claims_summary(keys: HarnessKeys) -> None:
    token = keys.sign(CLAIMS)
    summary = claims_summary(token)
    assert json.loads(summary) == {
        "header": {"typ": "JWT", "alg": "RS256", "kid": keys.rsa.kid},
        "claims": CLAIMS,
    }
    assert token.split(".")[2] not in summary
    assert claims_summary("garbage") == "(not a decodable JWT: not a JWT: 1 segment)"
