"""Starts the bundled mock IdP for a run: one process, configured from the target file, ready-line handshake."""

from __future__ import annotations

import json
import os
import secrets
import sys
from dataclasses import replace

from harness import process
from harness.errors import ConfigError, HarnessError
from harness.process import Announced
from harness.redact import REDACTOR
from harness.saml.sp import SpActor
from harness.target import Target, read_file

READY_PREFIX = "mock-idp listening on "
START_TIMEOUT_S = 15.0


def ensure_secrets(target: Target) -> None:
    """A mock has no secrets of its own: make up the ones the environment does not hold, for this run."""
    for secret in target.secrets():
        if not os.environ.get(secret.env):
            os.environ[secret.env] = secrets.token_urlsafe(24)
        REDACTOR.add_secret(os.environ[secret.env])


def mock_config_json(target: Target, faults: list[str]) -> str:
    """The mock's own configuration (mock_idp.config.MockConfig as JSON) derived from the target file."""
    people = target.oidc.users if target.oidc else target.saml.idp.users if target.saml else ()
    if not people:
        raise ConfigError("the mock IdP needs test users (oidc.users or saml.idp.users)", target.file)
    clients = [
        {
            "client_id": c.id,
            "client_secret": c.secret.value() if c.secret else "",
            "redirect_uris": [c.redirect_uri],
            "post_logout_redirect_uris": [c.post_logout_redirect_uri] if c.post_logout_redirect_uri else [],
            "backchannel_logout_uri": c.backchannel_logout_uri,
            "backchannel_logout_session_required": c.backchannel_logout_session_required,
            **({"allowed_logout_urls": c.allowed_logout_urls} if c.allowed_logout_urls else {}),
            "id_token_signed_response_alg": c.id_token_alg,
            "id_token_lifetime": c.id_token_lifetime if c.id_token_lifetime is not None else 300,
            "token_endpoint_auth_method": c.auth_method,
        }
        for c in ((*target.oidc.clients, *target.oidc.fan_out) if target.oidc else ())
    ]
    users = [
        {
            "username": u.username,
            "password": u.password.value() if u.password else "",
            "sub": u.username,
            "claims": {"name": u.username.title(), "email": f"{u.username}@example.test"},
        }
        for u in people
    ]
    key = target.mock_saml_key
    config: dict[str, object] = {
        "clients": clients, "users": users, "saml_sps": _saml_sps(target),
        "saml_key_pem": key.key_pem() if key else "", "saml_cert_pem": key.cert_pem() if key else "",
        "oidc_keys_pem": {alg: read_file(file) for alg, file in target.mock_oidc_keys.items()},
        "faults": sorted(set(faults))}
    if target.auth0 is not None:
        config["auth0"] = {"allowed_logout_urls": target.auth0.allowed_logout_urls}
    if target.casdoor is not None:
        config["casdoor"] = {"organization": target.casdoor.organization, "notification_receivers": [
            {"url": r.url, "client_id": r.client_id} for r in target.casdoor.receivers]}
    return json.dumps(config)


def _saml_sps(target: Target) -> list[dict[str, object]]:
    """The harness's SP actors, registered at the mock as they would be at any IdP under test."""
    if target.saml is None:
        return []
    sps = []
    for spec in target.saml.sps:
        actor = SpActor.at(target.callback_base, spec.name, "", spec.cert_pem())
        sps.append({"entity_id": actor.entity_id, "acs_url": actor.acs_url, "slo_url": actor.slo_url,
                    "slo_binding": "redirect", "cert_pem": actor.cert_pem,
                    "sign_logout": True, "validate_logout": True})
    return sps


def start(target: Target, faults: list[str], host: str = "127.0.0.1", port: int = 0) -> Announced:
    """Start ``python -m mock_idp`` and wait (bounded) for its ready line; the config goes on stdin."""
    ensure_secrets(target)
    try:
        return process.start([sys.executable, "-m", "mock_idp", "--host", host, "--port", str(port)],
                             READY_PREFIX, timeout=START_TIMEOUT_S, stdin=mock_config_json(target, faults))
    except HarnessError as exc:
        raise ConfigError(f"the mock IdP: {exc}") from None


def with_issuer(target: Target, url: str) -> Target:
    """The target as seen by the scenarios: its issuer is where the mock really listens."""
    url = url.rstrip("/")
    saml = target.saml
    if saml is not None:
        saml = replace(saml, idp=replace(saml.idp, metadata_url=f"{url}/saml/metadata",
                                         initiate_logout=f"{url}/saml/logout?ReturnTo={{return_to}}"))
    oidc = replace(target.oidc, issuer=url) if target.oidc else None
    return replace(target, oidc=oidc, saml=saml)
