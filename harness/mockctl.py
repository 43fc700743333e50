"""Starts the bundled mock IdP for a run: one process, configured from the target file, ready-line handshake."""

from __future__ import annotations

import json
import os
import secrets
import sys
from dataclasses import dataclass, field, replace

import httpx

from harness import process
from harness.errors import ConfigError, HarnessError, TargetError
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


def mock_config_json(target: Target, faults: list[str], upstreams: list[dict[str, str]] | None = None) -> str:
    """The mock's own configuration (mock_idp.config.MockConfig as JSON) derived from the target file;
    ``upstreams`` chains it to upstream IdPs (connections)."""
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
            **({"frontchannel_logout_uri": c.frontchannel_logout_uri} if c.frontchannel_logout_uri else {}),
            **({"frontchannel_logout_session_required": True} if c.frontchannel_logout_session_required else {}),
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
        "faults": sorted(set(faults)), "login_page": target.mock_login_page}
    if upstreams:
        config["upstreams"] = upstreams
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


def start(target: Target, faults: list[str], host: str = "127.0.0.1", port: int = 0,
          upstreams: list[dict[str, str]] | None = None) -> Announced:
    """Start ``python -m mock_idp`` and wait (bounded) for its ready line; the config goes on stdin."""
    ensure_secrets(target)
    return _start(mock_config_json(target, faults, upstreams), host, port)


def _start(config: str, host: str, port: int) -> Announced:
    try:
        return process.start([sys.executable, "-m", "mock_idp", "--host", host, "--port", str(port)],
                             READY_PREFIX, timeout=START_TIMEOUT_S, stdin=config)
    except HarnessError as exc:
        raise ConfigError(f"the mock IdP: {exc}") from None


#: the harness's client at every upstream, for prompt=none probes of the upstream session
PROBE_CLIENT = "harness-probe"
#: the downstream mock's client at every OIDC upstream
DOWNSTREAM_CLIENT = "downstream"


@dataclass
class Chain:
    """Upstream mocks, by connection name, and what the downstream and the harness need to use them."""

    processes: list[Announced] = field(default_factory=list)
    #: connection name -> {"kind", "url"}, for the workers (JSON in the environment)
    connections: dict[str, dict[str, str]] = field(default_factory=dict)
    #: the downstream's config entries
    upstreams: list[dict[str, str]] = field(default_factory=list)
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    def stop(self) -> None:
        for upstream in self.processes:
            upstream.stop()


def start_upstreams(target: Target) -> Chain:
    """Start the upstream mocks (one per set of faults) on localhost: another host name than the
    downstream's 127.0.0.1, so that their session cookies never overwrite each other's in a browser."""
    ensure_secrets(target)
    chain = Chain()
    REDACTOR.add_secret(chain.secret)
    base = json.loads(mock_config_json(target, []))
    # an upstream is another IdP: keys of its own, no vendor dialects, no connections of its own
    for key in ("casdoor", "auth0", "upstreams", "oidc_keys_pem", "saml_key_pem", "saml_cert_pem"):
        base.pop(key, None)
    by_faults: dict[tuple[str, ...], str] = {}
    try:
        for upstream in target.mock_upstreams:
            if upstream.faults not in by_faults:
                announced = _start(json.dumps({**base, "faults": sorted(upstream.faults)}), "localhost", 0)
                chain.processes.append(announced)
                by_faults[upstream.faults] = announced.url.rstrip("/")
            url = by_faults[upstream.faults]
            chain.connections[upstream.name] = {"kind": upstream.kind, "url": url}
            chain.upstreams.append({"name": upstream.name, "kind": "oidc", "issuer": url,
                                    "client_id": DOWNSTREAM_CLIENT, "client_secret": chain.secret}
                                   if upstream.kind == "oidc" else
                                   {"name": upstream.name, "kind": "saml", "metadata_url": f"{url}/saml/metadata"})
    except HarnessError:
        chain.stop()
        raise
    return chain


def join_chain(client: httpx.Client, chain: Chain, downstream: str, target: Target) -> None:
    """Register the downstream (as OIDC client and SAML SP) and the harness's probe client at every upstream."""
    downstream = downstream.rstrip("/")
    key = target.mock_saml_key
    cert = key.cert_pem() if key else ""
    # the probe only sends prompt=none requests and never redeems a code: its secret is never used
    probe_secret = secrets.token_urlsafe(24)
    for url in sorted({c["url"] for c in chain.connections.values()}):
        bodies = [
            ("oidc/clients", {"client_id": DOWNSTREAM_CLIENT, "client_secret": chain.secret,
                              "redirect_uris": [f"{downstream}/upstream/oidc/callback"],
                              "post_logout_redirect_uris": [f"{downstream}/upstream/oidc/logged-out"]}),
            ("oidc/clients", {"client_id": PROBE_CLIENT, "client_secret": probe_secret,
                              "redirect_uris": [f"{target.callback_base}/cb/{PROBE_CLIENT}"]}),
            ("saml/sps", {"entity_id": f"{downstream}/upstream/saml/metadata",
                          "acs_url": f"{downstream}/upstream/saml/acs", "slo_url": f"{downstream}/logout",
                          "cert_pem": cert, "slo_binding": "redirect"}),
        ]
        for hook, body in bodies:
            done = client.post(f"{url}/_mock/{hook}", json=body)
            if done.status_code != 201:
                raise TargetError(f"the upstream mock at {url} refused {hook}: HTTP {done.status_code} "
                                  f"{done.text[:200]}")


def with_issuer(target: Target, url: str) -> Target:
    """The target as seen by the scenarios: its issuer is where the mock really listens."""
    url = url.rstrip("/")
    saml = target.saml
    if saml is not None:
        saml = replace(saml, idp=replace(saml.idp, metadata_url=f"{url}/saml/metadata",
                                         initiate_logout=f"{url}/saml/logout?ReturnTo={{return_to}}"))
    oidc = replace(target.oidc, issuer=url) if target.oidc else None
    return replace(target, oidc=oidc, saml=saml)


def with_upstreams(target: Target, connections: dict[str, dict[str, str]]) -> Target:
    """The target as the scenarios see it: each upstream connection with the URL its mock listens on."""
    return replace(target, mock_upstreams=tuple(replace(u, url=connections[u.name]["url"])
                                                for u in target.mock_upstreams if u.name in connections))
