"""Parts of a target the harness starts for a run (an SP app under test), and how they join the mock."""

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
from harness.target import Target


def start_app(target: Target, faults: list[str], idp_metadata_url: str) -> Announced:
    """Start the SP app the target file describes; ``{idp_metadata_url}``, ``{faults}`` and
    ``{python}`` (the harness's interpreter) in its command and environment take this run's values."""
    assert target.saml is not None and target.saml.app is not None and target.saml.app.launch is not None
    launch = target.saml.app.launch
    values = {"idp_metadata_url": idp_metadata_url, "faults": ",".join(faults), "python": sys.executable}
    env = {**os.environ, **{k: v.format_map(values) for k, v in launch.env.items()}}
    command = [part.format_map(values) for part in launch.command]
    try:
        return process.start(command, launch.ready, timeout=launch.timeout, env=env, cwd=launch.cwd)
    except HarnessError as exc:
        raise ConfigError(f"the SP app of {target.file}: {exc}") from None


def with_app_url(target: Target, url: str) -> Target:
    """The target with the app's paths resolved against the URL it announced."""
    assert target.saml is not None and target.saml.app is not None
    app = target.saml.app
    base = url.rstrip("/") + "/"

    def absolute(value: str | None) -> str | None:
        return urljoin(base, value.lstrip("/")) if value and value.startswith("/") else value

    resolved = replace(app, metadata_url=absolute(app.metadata_url) or "", login_url=absolute(app.login_url) or "",
                       protected_url=absolute(app.protected_url) or "", logout_url=absolute(app.logout_url))
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
