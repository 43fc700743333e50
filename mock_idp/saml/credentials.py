"""The IdP's signing key and self-signed certificate, made fresh at start and kept in memory (SAML 2.0 Metadata §2.4.1.1, https://docs.oasis-open.org/security/saml/v2.0/saml-metadata-2.0-os.pdf)."""

import base64
import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

CERT_LIFETIME = datetime.timedelta(days=365)


class Credentials:
    """An RSA key and a certificate for it, given or made up (RSA 2048); nothing is written to disk."""

    def __init__(self, key_pem: str = "", cert_pem: str = "",
                 common_name: str = "mock-idp.logout-conformance.test") -> None:
        if key_pem and cert_pem:
            key = serialization.load_pem_private_key(key_pem.encode(), password=None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise ValueError("the mock IdP's SAML key must be an RSA key")
            self.key = key
            self.cert = x509.load_pem_x509_certificate(cert_pem.encode())
        else:
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
            now = datetime.datetime.now(datetime.UTC)
            self.cert = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(self.key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + CERT_LIFETIME)
                .sign(self.key, hashes.SHA256())
            )
        self.key_pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self.cert_pem = self.cert.public_bytes(serialization.Encoding.PEM)
        # The base64 DER that ds:X509Certificate carries.
        self.cert_b64 = base64.b64encode(
            self.cert.public_bytes(serialization.Encoding.DER)
        ).decode()
