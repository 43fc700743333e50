"""Parts of a target the harness starts for a run (an SP or RP app under test), and how they join the mock."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from urllib.parse import urljoin

import httpx

from harness import process
from harness.errors import ConfigError, HarnessError, TargetError
from harness.process import Announced
from harness.saml.metadata import fetch_sp_metadata
from harness.target import Launch, Target


def _start(launch: Launch, values: dict[str, str], what: str) -> Announced:
    """Start an app; ``{python}`` (the harness's interpreter) and the given values fill its command and env."""
    values = {**values, "python": sys.executable}
    env = {**os.environ, **{k: v.format_map(values) for k, v in launch.env.items()}}
    command = [part.format_map(values) for part in launch.command]
    try:
        return process.start(command, launch.ready, timeout=launch.timeout, env=env, cwd=launch.cwd)
    except HarnessError as exc:
        raise ConfigError(f"{what}: {exc}") from None


def start_app(target: Target, faults: list[str], idp_metadata_url: str) -> Announced:
    """Start the SP app the target file describes, with ``{idp_metadata_url}`` and ``{faults}``."""
    assert target.saml is not None and target.saml.app is not None and target.saml.app.launch is not None
    values = {"idp_metadata_url": idp_metadata_url, "faults": ",".join(faults)}
    return _start(target.saml.app.launch, values, f"the SP app of {target.file}")


def start_oidc_app(target: Target, faults: list[str], issuer: str) -> Announced:
    """Start the RP app the target file describes, with ``{issuer}``, ``{client_id}``, ``{client_secret}``
    and ``{faults}`` (the secret goes to the app's environment only)."""
    assert target.oidc is not None and target.oidc.app is not None
    app = target.oidc.app
    assert app.launch is not None
    values = {"issuer": issuer, "client_id": app.client_id, "faults": ",".join(faults),
              "client_secret": app.secret.value() if app.secret else ""}
    return _start(app.launch, values, f"the RP app of {target.file}")


def _absolute(base: str, value: str | None) -> str | None:
    return urljoin(base.rstrip("/") + "/", value.lstrip("/")) if value and value.startswith("/") else value


def with_oidc_app_url(target: Target, url: str) -> Target:
    """The target with the RP app's paths resolved against the URL it announced."""
    assert target.oidc is not None and target.oidc.app is not None
    app = target.oidc.app
    resolved = replace(app, login_url=_absolute(url, app.login_url) or "",
                       protected_url=_absolute(url, app.protected_url) or "",
                       redirect_uri=_absolute(url, app.redirect_uri) or "",
                       backchannel_logout_uri=_absolute(url, app.backchannel_logout_uri),
                       frontchannel_logout_uri=_absolute(url, app.frontchannel_logout_uri),
                       logout_url=_absolute(url, app.logout_url))
    casdoor = target.casdoor
    if casdoor is not None:
        casdoor = replace(casdoor, webhook_url=_absolute(url, casdoor.webhook_url))
    return replace(target, oidc=replace(target.oidc, app=resolved), casdoor=casdoor)


def register_oidc_app_at_mock(client: httpx.Client, mock_url: str, target: Target) -> None:
    """Tell the mock OP about the RP app (its URLs are only known once it runs)."""
    assert target.oidc is not None and target.oidc.app is not None
    app = target.oidc.app
    body = {"client_id": app.client_id, "client_secret": app.secret.value() if app.secret else "",
            "redirect_uris": [app.redirect_uri], "backchannel_logout_uri": app.backchannel_logout_uri,
            "backchannel_logout_session_required": True}
    if app.frontchannel_logout_uri:
        body |= {"frontchannel_logout_uri": app.frontchannel_logout_uri,
                 "frontchannel_logout_session_required": True}
    done = client.post(f"{mock_url.rstrip('/')}/_mock/oidc/clients", json=body)
    if done.status_code != 201:
        raise TargetError(f"the mock OP refused to register the RP app: HTTP {done.status_code} {done.text[:200]}")


def with_app_url(target: Target, url: str) -> Target:
    """The target with the app's paths resolved against the URL it announced."""
    assert target.saml is not None and target.saml.app is not None
    app = target.saml.app
    resolved = replace(app, metadata_url=_absolute(url, app.metadata_url) or "",
                       login_url=_absolute(url, app.login_url) or "",
                       protected_url=_absolute(url, app.protected_url) or "", logout_url=_absolute(url, app.logout_url))
    return replace(target, saml=replace(target.saml, app=resolved))


def register_at_mock(client: httpx.Client, mock_url: str, app_metadata_url: str) -> None:
    """Tell the mock IdP about the app (its metadata is only known once it runs)."""
    sp = fetch_sp_metadata(client, app_metadata_url)
    slo = sp.slo.get("redirect") or sp.slo.get("post")
    acs = sp.acs.get("post")
    if acs is None or slo is None or not sp.signing_certs:
        raise TargetError(f"the SP app's metadata at {app_metadata_url} lacks a POST ACS, an SLO endpoint "
                          "or a signing certificate")
    body = {"entity_id": sp.entity_id, "acs_url": acs.location, "slo_url": slo.location,
            "slo_binding": "redirect" if "redirect" in sp.slo else "post", "cert_pem": sp.signing_certs[0],
            "sign_logout": True, "validate_logout": True}
    done = client.post(f"{mock_url.rstrip('/')}/_mock/saml/sps", json=body)
    if done.status_code != 201:
        raise TargetError(f"the mock IdP refused to register the SP app: HTTP {done.status_code} {done.text[:200]}")


def start_spa(target: Target, faults: list[str], issuer: str) -> Announced:
    """Start the SPA the target file describes, with ``{issuer}``, ``{client_id}`` and ``{faults}`` (a public
    client: no secret)."""
    spa = target.spa
    assert spa is not None and spa.launch is not None
    values = {"issuer": issuer, "client_id": spa.client_id, "faults": ",".join(faults)}
    return _start(spa.launch, values, f"the SPA of {target.file}")


def with_spa_url(target: Target, url: str) -> Target:
    """The target with the SPA's paths resolved against the URL it announced."""
    assert target.spa is not None
    spa = target.spa
    resolved = replace(spa, url=_absolute(url, spa.url) or "", redirect_uri=_absolute(url, spa.redirect_uri) or "",
                       post_logout_redirect_uri=_absolute(url, spa.post_logout_redirect_uri) or "",
                       popup_redirect_uri=_absolute(url, spa.popup_redirect_uri),
                       main_window_redirect_uri=_absolute(url, spa.main_window_redirect_uri))
    return replace(target, spa=resolved)


def register_spa_at_mock(client: httpx.Client, mock_url: str, target: Target) -> None:
    """Tell the mock OP about the SPA, a public client (PKCE, no secret), once its URLs are known."""
    assert target.spa is not None
    spa = target.spa
    post_logout = [uri for uri in (spa.post_logout_redirect_uri, spa.popup_redirect_uri) if uri]
    body = {"client_id": spa.client_id, "token_endpoint_auth_method": "none", "redirect_uris": [spa.redirect_uri],
            "post_logout_redirect_uris": post_logout}
    done = client.post(f"{mock_url.rstrip('/')}/_mock/oidc/clients", json=body)
    if done.status_code != 201:
        raise TargetError(f"the mock OP refused to register the SPA: HTTP {done.status_code} {done.text[:200]}")
