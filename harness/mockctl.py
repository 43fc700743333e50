"""Starts the bundled mock IdP for a run: one process, configured from the target file, ready-line handshake."""

from __future__ import annotations

import json
import os
import secrets
import selectors
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace

from harness.errors import ConfigError, HarnessError
from harness.redact import REDACTOR
from harness.target import Target

READY_PREFIX = "mock-idp listening on "
START_TIMEOUT_S = 15.0


@dataclass
class RunningMock:
    process: subprocess.Popen[str]
    url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def ensure_secrets(target: Target) -> None:
    """A mock has no secrets of its own: make up the ones the environment does not hold, for this run."""
    for secret in target.secrets():
        if not os.environ.get(secret.env):
            os.environ[secret.env] = secrets.token_urlsafe(24)
        REDACTOR.add_secret(os.environ[secret.env])


def mock_config_json(target: Target, faults: list[str]) -> str:
    """The mock's own configuration (mock_idp.config.MockConfig as JSON) derived from the target file."""
    if target.oidc is None:
        raise ConfigError("the mock IdP target needs an 'oidc' section", target.file)
    clients = [
        {
            "client_id": c.id,
            "client_secret": c.secret.value() if c.secret else "",
            "redirect_uris": [c.redirect_uri],
            "post_logout_redirect_uris": [c.post_logout_redirect_uri] if c.post_logout_redirect_uri else [],
            "backchannel_logout_uri": c.backchannel_logout_uri,
            "id_token_signed_response_alg": c.id_token_alg,
            "id_token_lifetime": c.id_token_lifetime if c.id_token_lifetime is not None else 300,
            "token_endpoint_auth_method": c.auth_method,
        }
        for c in target.oidc.clients
    ]
    users = [
        {
            "username": u.username,
            "password": u.password.value() if u.password else "",
            "sub": u.username,
            "claims": {"name": u.username.title(), "email": f"{u.username}@example.test"},
        }
        for u in target.oidc.users
    ]
    return json.dumps({"clients": clients, "users": users, "faults": sorted(set(faults))})


def start(target: Target, faults: list[str], host: str = "127.0.0.1", port: int = 0) -> RunningMock:
    """Start ``python -m mock_idp`` and wait (bounded) for its ready line; the config goes on stdin."""
    ensure_secrets(target)
    config = mock_config_json(target, faults)
    # stderr goes to a file so that a chatty mock can never block on a full pipe
    stderr_file = tempfile.TemporaryFile("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_idp", "--host", host, "--port", str(port)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr_file, text=True,
    )
    assert process.stdin and process.stdout
    process.stdin.write(config)
    process.stdin.close()
    deadline = time.monotonic() + START_TIMEOUT_S
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0:
            if not selector.select(timeout=left):
                break
            line = process.stdout.readline()
            if line.startswith(READY_PREFIX):
                return RunningMock(process, line[len(READY_PREFIX):].strip())
            if not line:  # the mock exited before it was ready
                process.wait(timeout=5)
                stderr_file.seek(0)
                message = stderr_file.read().strip().splitlines()
                raise ConfigError(f"the mock IdP did not start: {message[-1] if message else 'no message'}")
    RunningMock(process, "").stop()
    raise HarnessError(f"the mock IdP was not ready within {START_TIMEOUT_S:.0f} s")


def with_issuer(target: Target, url: str) -> Target:
    """The target as seen by the scenarios: its issuer is where the mock really listens."""
    assert target.oidc is not None
    return replace(target, oidc=replace(target.oidc, issuer=url.rstrip("/")))
