"""Tests of harness.oidc.logout_token: each variant has the one property it claims, checked by decoding
it with joserfc and harness.oidc.jwt; the good ones verify with the OP's public JWKS."""

from __future__ import annotations

import json
from typing import Any

import pytest
from joserfc import jws
from joserfc.errors import ExceededSizeError, UnsupportedHeaderError
from joserfc.jwk import ECKey, KeySet, RSAKey
from joserfc.registry import HeaderParameter

from harness import requirements
from harness.errors import ConfigError
from harness.oidc import logout_token as lt
from harness.oidc.backchannel import BACKCHANNEL_EVENT
from harness.oidc.jwt import HarnessKeys, InvalidSignature, MalformedJwt, decode_unverified, verify

ISSUER = "https://op.example/realms/test"
CLIENT = "rp-client"
SUB = "alice"
SID = "sid-7"
NOW = 1_800_000_000


@pytest.fixture(scope="module")
def rsa() -> RSAKey:
    return RSAKey.generate_key(2048, {"use": "sig", "alg": "RS256"}, private=True, auto_kid=True)


@pytest.fixture(scope="module")
def ec() -> ECKey:
    return ECKey.generate_key("P-256", {"use": "sig", "alg": "ES256"}, private=True, auto_kid=True)


@pytest.fixture(scope="module")
def jwks(rsa: RSAKey, ec: ECKey) -> dict[str, Any]:
    return {"keys": [rsa.as_dict(private=False), ec.as_dict(private=False)]}


@pytest.fixture
def craft(rsa: RSAKey, ec: ECKey) -> Any:
    def make(variant: str, **overrides: Any) -> str:
        args: dict[str, Any] = {
            "issuer": ISSUER,
            "client_id": CLIENT,
            "sub": SUB,
            "sid": SID,
            "key": rsa,
            "alg": "RS256",
            "other_alg_key": ec,
            "now": NOW,
        }
        return lt.craft(variant, **(args | overrides))

    return make


GOOD_CLAIMS = {
    "iss": ISSUER,
    "aud": CLIENT,
    "iat": NOW,
    "exp": NOW + 120,
    "events": {BACKCHANNEL_EVENT: {}},
    "sub": SUB,
    "sid": SID,
}


def claims_of(token: str, jwks: dict[str, Any], alg: str = "RS256") -> dict[str, Any]:
    """The claims of a token whose signature is the OP's: the defect is elsewhere."""
    claims = verify(token, jwks, algorithms=[alg])
    assert isinstance(claims.pop("jti", None), str) or "jti" not in claims
    return claims


def test_the_table_names_catalog_requirements() -> None:
    assert list(lt.VARIANTS) == list(lt.ACCEPTABLE) == list(lt.DESCRIPTIONS)
    assert len(lt.VARIANTS) == 22
    for name, rid in lt.VARIANTS.items():
        assert requirements.get(rid).id == rid, name
        assert lt.DESCRIPTIONS[name]


def test_which_variants_are_meant_to_be_accepted() -> None:
    accepted = {name for name in lt.VARIANTS if lt.meant_to_be_accepted(name)}
    assert accepted == {"valid", "sub-only", "sid-only"}
    either = {"huge", "event-not-object"}
    assert all(lt.ACCEPTABLE[name] == ("accept", "reject") for name in either)
    for name in set(lt.VARIANTS) - accepted - either:
        assert lt.ACCEPTABLE[name] == ("reject",), name


def test_valid(craft: Any, rsa: RSAKey, jwks: dict[str, Any]) -> None:
    token = craft("valid")
    header, _ = decode_unverified(token)
    assert header == {"typ": "logout+jwt", "alg": "RS256", "kid": rsa.kid}
    claims = verify(token, jwks, algorithms=["RS256"])
    jti = claims.pop("jti")
    assert claims == GOOD_CLAIMS
    assert isinstance(jti, str) and len(jti) >= 16
    # joserfc agrees, with the public keys only
    public = KeySet.import_key_set(jwks)
    assert jws.deserialize_compact(token, public, algorithms=["RS256"]).protected["typ"] == lt.TYP


def test_every_token_has_its_own_jti(craft: Any) -> None:
    jtis = {decode_unverified(craft("valid"))[1]["jti"] for _ in range(5)}
    assert len(jtis) == 5


def test_now_defaults_to_the_clock(rsa: RSAKey, ec: ECKey) -> None:
    token = lt.craft("valid", issuer=ISSUER, client_id=CLIENT, sub=SUB, sid=SID, key=rsa,
                     alg="RS256", other_alg_key=ec)
    claims = decode_unverified(token)[1]
    assert claims["iat"] > NOW - 10**8 and claims["exp"] == claims["iat"] + 120


# variants whose signature is the OP's: exactly one claim or header differs from the good token

CLAIM_DEFECTS: dict[str, dict[str, Any]] = {
    # variant: the claims that differ from GOOD_CLAIMS (None: absent)
    "sub-only": {"sid": None},
    "sid-only": {"sub": None},
    "wrong-iss": {"iss": ISSUER + "/attacker"},
    "wrong-aud": {"aud": CLIENT + "-attacker"},
    "expired": {"iat": NOW - 3600 - 120, "exp": NOW - 3600},
    "no-exp": {"exp": None},
    "no-iat": {"iat": None},
    "no-events": {"events": None},
    "wrong-event": {
        "events": {"https://schemas.openid.net/secevent/risc/event-type/sessions-revoked": {}}
    },
    "event-not-object": {"events": {BACKCHANNEL_EVENT: True}},
    "no-sub-no-sid": {"sub": None, "sid": None},
}


@pytest.mark.parametrize("variant", sorted(CLAIM_DEFECTS))
def test_claim_variants_differ_in_one_claim(variant: str, craft: Any, jwks: dict[str, Any]) -> None:
    token = craft(variant)
    assert decode_unverified(token)[0]["typ"] == "logout+jwt"
    expected = {**GOOD_CLAIMS, **CLAIM_DEFECTS[variant]}
    assert claims_of(token, jwks) == {k: v for k, v in expected.items() if v is not None}


def test_expired_is_past_any_leeway(craft: Any) -> None:
    claims = decode_unverified(craft("expired"))[1]
    assert claims["iat"] < claims["exp"] <= NOW - 3600


def test_wrong_aud_contains_the_client_id(craft: Any) -> None:
    aud = decode_unverified(craft("wrong-aud"))[1]["aud"]
    assert CLIENT in aud and aud != CLIENT


def test_nonce(craft: Any, jwks: dict[str, Any]) -> None:
    claims = claims_of(craft("nonce"), jwks)
    assert isinstance(claims.pop("nonce"), str)
    assert claims == GOOD_CLAIMS


def test_no_jti(craft: Any, jwks: dict[str, Any]) -> None:
    claims = verify(craft("no-jti"), jwks, algorithms=["RS256"])
    assert claims == GOOD_CLAIMS


def test_id_token(craft: Any, jwks: dict[str, Any]) -> None:
    token = craft("id-token")
    assert decode_unverified(token)[0]["typ"] == "JWT"
    claims = verify(token, jwks, algorithms=["RS256"])
    assert "events" not in claims
    assert isinstance(claims.pop("nonce"), str)
    assert claims == {"iss": ISSUER, "sub": SUB, "aud": CLIENT, "exp": NOW + 120, "iat": NOW,
                      "auth_time": NOW, "sid": SID}


def test_crit(craft: Any, rsa: RSAKey, jwks: dict[str, Any]) -> None:
    token = craft("crit")
    header, claims = decode_unverified(token)
    assert header["crit"] == [lt.CRIT_HEADER] and lt.CRIT_HEADER in header
    assert {k: v for k, v in claims.items() if k != "jti"} == GOOD_CLAIMS
    # a recipient that does not understand the extension refuses it
    with pytest.raises(UnsupportedHeaderError):
        jws.deserialize_compact(token, rsa, algorithms=["RS256"])
    with pytest.raises(InvalidSignature):
        verify(token, jwks, algorithms=["RS256"])
    # and that is the only defect: one that understands it accepts the OP's signature
    knowing = jws.JWSRegistry(
        header_registry={lt.CRIT_HEADER: HeaderParameter("test", "str")}, algorithms=["RS256"]
    )
    jws.deserialize_compact(token, rsa, registry=knowing)


def test_huge(craft: Any, rsa: RSAKey) -> None:
    token = craft("huge")
    assert len(token) > 100 * 1024
    with pytest.raises(MalformedJwt, match="longer than"):
        decode_unverified(token)
    # joserfc's default bounds refuse it cleanly: one way an RP may answer
    with pytest.raises(ExceededSizeError):
        jws.deserialize_compact(token, rsa, algorithms=["RS256"])

    class Roomy(jws.JWSRegistry):
        max_payload_length = 256 * 1024

    # otherwise valid: an RP that takes large tokens verifies it
    obj = jws.deserialize_compact(token, rsa, registry=Roomy(algorithms=["RS256"]))
    assert obj.protected["typ"] == "logout+jwt"
    claims = json.loads(obj.payload)
    assert len(claims.pop("padding")) == 100 * 1024
    claims.pop("jti")
    assert claims == GOOD_CLAIMS


# variants whose signature is not acceptable


def test_alg_none(craft: Any, rsa: RSAKey, jwks: dict[str, Any]) -> None:
    token = craft("alg-none")
    assert token.endswith(".")
    header, claims = decode_unverified(token)
    assert header == {"typ": "logout+jwt", "alg": "none", "kid": rsa.kid}
    assert {k: v for k, v in claims.items() if k != "jti"} == GOOD_CLAIMS
    with pytest.raises(InvalidSignature, match="alg 'none'"):
        verify(token, jwks, algorithms=["RS256"])


def test_wrong_key(craft: Any, rsa: RSAKey, jwks: dict[str, Any]) -> None:
    token = craft("wrong-key")
    header, claims = decode_unverified(token)
    assert header == {"typ": "logout+jwt", "alg": "RS256", "kid": rsa.kid}
    assert {k: v for k, v in claims.items() if k != "jti"} == GOOD_CLAIMS
    with pytest.raises(InvalidSignature, match="does not verify with the key with kid"):
        verify(token, jwks, algorithms=["RS256"])


def test_alg_swap(craft: Any, ec: ECKey, jwks: dict[str, Any]) -> None:
    token = craft("alg-swap")
    header, _ = decode_unverified(token)
    assert header == {"typ": "logout+jwt", "alg": "ES256", "kid": ec.kid}
    with pytest.raises(InvalidSignature, match="'ES256' is not among the accepted RS256"):
        verify(token, jwks, algorithms=["RS256"])
    # signed by the OP's own ES256 key: only the alg is wrong
    assert claims_of(token, jwks, alg="ES256") == GOOD_CLAIMS


def test_alg_swap_the_other_way(craft: Any, rsa: RSAKey, ec: ECKey, jwks: dict[str, Any]) -> None:
    token = craft("alg-swap", key=ec, alg="ES256", other_alg_key=rsa)
    assert decode_unverified(token)[0]["alg"] == "RS256"
    assert claims_of(token, jwks, alg="RS256") == GOOD_CLAIMS
    valid = craft("valid", key=ec, alg="ES256", other_alg_key=rsa)
    assert decode_unverified(valid)[0] == {"typ": "logout+jwt", "alg": "ES256", "kid": ec.kid}


def test_alg_swap_needs_another_alg(craft: Any, rsa: RSAKey) -> None:
    keys = HarnessKeys()  # keys without an alg parameter
    with pytest.raises(ConfigError, match="another alg than RS256"):
        craft("alg-swap", other_alg_key=keys.ec)
    with pytest.raises(ConfigError, match="another alg than RS256"):
        craft("alg-swap", other_alg_key=rsa)
    token = craft("alg-swap", other_alg_key=keys.ec, other_alg="ES256")
    assert verify(token, keys.jwks(), algorithms=["ES256"])["sid"] == SID


def test_unknown_kid(craft: Any, rsa: RSAKey, ec: ECKey, jwks: dict[str, Any]) -> None:
    token = craft("unknown-kid")
    header, _ = decode_unverified(token)
    assert header["alg"] == "RS256" and header["kid"] not in {rsa.kid, ec.kid}
    with pytest.raises(InvalidSignature, match="no key with kid"):
        verify(token, jwks, algorithms=["RS256"])


def test_attacker_key_for_an_ec_op(
    craft: Any, rsa: RSAKey, ec: ECKey, jwks: dict[str, Any]
) -> None:
    for variant in ("wrong-key", "unknown-kid"):
        token = craft(variant, key=ec, alg="ES256", other_alg_key=rsa)
        assert decode_unverified(token)[0]["alg"] == "ES256"
        with pytest.raises(InvalidSignature):
            verify(token, jwks, algorithms=["ES256"])


def test_not_a_jwt(craft: Any) -> None:
    token = craft("not-a-jwt")
    assert token.count(".") == 1
    with pytest.raises(MalformedJwt, match="2 segments"):
        decode_unverified(token)


def test_unknown_variant(craft: Any) -> None:
    with pytest.raises(ConfigError, match="unknown logout token variant 'valid2'"):
        craft("valid2")


def test_wrong_key_type_for_alg_is_a_config_error(craft: Any, ec: ECKey) -> None:
    with pytest.raises(ConfigError, match="cannot sign with RS256 and a EC key"):
        craft("valid", key=ec)


def test_every_variant_can_be_crafted_for_both_algs(craft: Any, rsa: RSAKey, ec: ECKey) -> None:
    for name in lt.VARIANTS:
        assert craft(name)
        assert craft(name, key=ec, alg="ES256", other_alg_key=rsa)
