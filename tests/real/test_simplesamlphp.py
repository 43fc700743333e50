"""SimpleSAMLphp 1.19 (Debian) as a real SAML target, as IdP and as SP, validating logout signatures
and in its defaults: what the harness finds in each, asserted scenario by scenario.

The findings were checked by hand against SimpleSAMLphp's behaviour (fixtures/real/simplesamlphp/README.md):
they are the product's, not the harness's. A change here means SimpleSAMLphp or a check changed.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import process

pytestmark = pytest.mark.real

ROOT = Path(__file__).resolve().parents[2]
SSP = ROOT / "fixtures" / "real" / "simplesamlphp"
CLI = [str(Path(sys.executable).with_name("logout-conformance"))]

#: both configurations: Destination unchecked (MUST), replays accepted (SHOULD), SessionIndex and
#: NameID not matched to sessions (SHOULD at the IdP), participants' bad answers not caught (MUST)
IDP_COMMON = {
    "saml-slo-idp/wrong-destination": ("failed", ["SAMLCore-3.2.1-destination"]),
    "saml-slo-idp/replayed-request": ("warning", ["SAMLSec-replay"]),
    "saml-slo-idp/session-index-scope[unknown-index]": ("warning", ["SAMLCore-3.7.3.2-sessions"]),
    "saml-slo-idp/session-index-scope[other-user]": ("warning", ["SAMLCore-3.7.3.2-sessions"]),
    "saml-slo-idp/soap-logout": ("skipped", []),
    # a participant's untrustworthy Success: taken as is, or (validating, unsigned) the chain stops
    # and the initiator never gets its LogoutResponse
    "saml-slo-idp/partial-logout[unsigned]": ("failed", ["SAMLCore-3.7.3.2-status"]),
    "saml-slo-idp/partial-logout[wrong-in-response-to]": ("failed", ["SAMLCore-3.7.3.2-status"]),
}
#: with validation off (its default), unsigned, foreign-key and tampered LogoutRequests are obeyed
#: and its own logout messages go out unsigned
IDP_DEFAULTS = {
    **IDP_COMMON,
    **{f"saml-slo-idp/forged-logout-request[{sig}-{binding}]": ("failed", ["SAMLCore-3.7.3.2-auth"])
       for sig in ("none", "other-key", "tampered") for binding in ("redirect", "post")},
    "saml-slo-idp/idp-initiated-logout": ("failed", ["SAMLProf-4.4.4.1-signed"]),
    "saml-slo-idp/partial-logout[responder]": ("failed", ["SAMLProf-4.4.4.2-signed"]),
    "saml-slo-idp/sp-initiated-logout[redirect]": ("failed", ["SAMLProf-4.4.4.1-signed"]),
    "saml-slo-idp/sp-initiated-logout[post]": ("failed", ["SAMLProf-4.4.4.1-signed"]),
}
#: the SP ends the session of the browser that brings the request, not the one it names, and does
#: not apply a logout to a later assertion
SP_COMMON = {
    "saml-slo-sp/idp-initiated-logout[redirect]": ("failed", ["SAMLCore-3.7.3.1-sessions"]),
    "saml-slo-sp/idp-initiated-logout[post]": ("failed", ["SAMLCore-3.7.3.1-sessions"]),
    "saml-slo-sp/logout-before-login": ("failed", ["SAMLCore-3.7.3.1-later"]),
    "saml-slo-sp/replayed-request": ("warning", ["SAMLSec-replay"]),
    "saml-slo-sp/session-index-scope[no-index]": ("failed", ["SAMLCore-3.7.3.1-sessions"]),
    "saml-slo-sp/session-index-scope[two-first-valid]": ("failed", ["SAMLCore-3.7.3.1-sessions"]),
    "saml-slo-sp/session-index-scope[two-second-valid]": ("failed", ["SAMLCore-3.7.3.1-sessions"]),
}
SP_DEFAULTS = {
    **SP_COMMON,
    **{f"saml-slo-sp/forged-logout-request[{sig}-{binding}]": ("failed", ["SAMLCore-3.7.3.1-auth"])
       for sig in ("none", "other-key", "tampered") for binding in ("redirect", "post")},
    "saml-slo-sp/idp-initiated-logout[redirect]": ("failed", ["SAMLProf-4.4.4.2-signed"]),
    "saml-slo-sp/idp-initiated-logout[post]": ("failed", ["SAMLProf-4.4.4.2-signed"]),
    "saml-slo-sp/sp-initiated-logout": ("failed", ["SAMLProf-4.4.4.1-signed"]),
    "saml-slo-sp/signature-wrapping": ("failed", ["SAMLCore-3.7.3.1-auth"]),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    if not Path("/usr/share/simplesamlphp/www").is_dir():
        pytest.fail("SimpleSAMLphp is not installed: run make setup")
    return {**os.environ, "SSP_ADMIN_PASSWORD": secrets.token_hex(12), "SSP_SECRET_SALT": secrets.token_hex(12),
            "SSP_ALICE_PASSWORD": secrets.token_hex(8), "SSP_BOB_PASSWORD": secrets.token_hex(8)}


@pytest.fixture
def idp(env: dict[str, str], request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    run_env = {**env, "SSP_MODE": "idp", "SSP_VALIDATE": request.param, "SSP_PORT": str(_free_port())}
    started = process.start([str(SSP / "start")], "simplesamlphp listening on ", timeout=30, env=run_env)
    try:
        yield run_env
    finally:
        started.stop()


def _findings(run_env: dict[str, str], target: str, profile: str, report: Path) -> dict[str, tuple[str, list[str]]]:
    done = subprocess.run([*CLI, "run", "--target", str(SSP / target), "--profile", profile, "--no-html",
                           "--workers", "0", "--report-dir", str(report)],
                          env=run_env, capture_output=True, text=True, timeout=300, cwd=ROOT, check=False)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    summary = json.loads((report / "summary.json").read_text())
    return {s["id"]: (s["status"], s["failed_requirements"]) for s in summary["scenarios"] if s["status"] != "passed"}


@pytest.mark.parametrize(("idp", "expected"), [("1", IDP_COMMON), ("0", IDP_DEFAULTS)],
                         ids=["validating", "defaults"], indirect=["idp"])
def test_simplesamlphp_as_idp(idp: dict[str, str], expected: dict[str, tuple[str, list[str]]],
                              tmp_path: Path) -> None:
    assert _findings(idp, "target-idp.yaml", "saml-slo-idp", tmp_path) == expected


@pytest.mark.parametrize(("validate", "expected"), [("1", SP_COMMON), ("0", SP_DEFAULTS)],
                         ids=["validating", "defaults"])
def test_simplesamlphp_as_sp(env: dict[str, str], validate: str, expected: dict[str, tuple[str, list[str]]],
                             tmp_path: Path) -> None:
    run_env = {**env, "SSP_VALIDATE": validate, "SSP_SP_PORT": str(_free_port())}
    assert _findings(run_env, "target-sp.yaml", "saml-slo-sp", tmp_path) == expected


@pytest.mark.parametrize("idp", ["1"], ids=["validating"], indirect=True)
def test_simplesamlphp_return_to_is_checked_against_trusted_domains(idp: dict[str, str], tmp_path: Path) -> None:
    """IdP-initiated logout's ReturnTo: every open-redirect attempt refused (trusted.url.domains), the
    trusted one followed; the OIDC and Auth0 parameters are not applicable to it."""
    not_passed = _findings(idp, "target-idp.yaml", "return-to", tmp_path)
    assert "return-to/corpus[app-return]" not in not_passed, not_passed
    assert {status for status, _ in not_passed.values()} == {"skipped"}, not_passed
