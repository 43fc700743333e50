"""The OP's signing keys, made fresh at start, and their JWK Set (RFC 7517, https://www.rfc-editor.org/rfc/rfc7517)."""

from typing import Any

from joserfc.jwk import ECKey, KeyParameters, RSAKey

SigningKey = RSAKey | ECKey


class SigningKeys:
    """One RS256 (RSA 2048) and one ES256 (P-256) key, each with a kid from its thumbprint.

    Made fresh unless given as PEM (``pems``, by alg): a harness that must sign as this OP shares them.
    """

    def __init__(self, pems: dict[str, str] | None = None) -> None:
        pems = pems or {}
        # A fresh key's thumbprint kid differs per run, so a hint from an earlier run can't match by accident.
        self.by_alg: dict[str, SigningKey] = {
            "RS256": _load(RSAKey, pems["RS256"], "RS256") if pems.get("RS256")
            else RSAKey.generate_key(2048, _params("RS256"), private=True, auto_kid=True),
            "ES256": _load(ECKey, pems["ES256"], "ES256") if pems.get("ES256")
            else ECKey.generate_key("P-256", _params("ES256"), private=True, auto_kid=True),
        }

    def for_alg(self, alg: str) -> SigningKey:
        return self.by_alg[alg]

    def find(self, alg: str, kid: str | None) -> SigningKey | None:
        """The key that may have made a signature with this header, if it is one of ours."""
        key = self.by_alg.get(alg)
        if key is None or (kid is not None and kid != key.kid):
            return None
        return key

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        return {"keys": [key.as_dict(private=False) for key in self.by_alg.values()]}


def _load(kind: type[RSAKey] | type[ECKey], pem: str, alg: str) -> SigningKey:
    key = kind.import_key(pem, _params(alg))
    key.ensure_kid()
    return key


def _params(alg: str) -> KeyParameters:
    return {"use": "sig", "alg": alg}
