"""A target that misbehaves gives the DESIGN exit code, one clear line per scenario, no traceback, no hang.

Each test points the CLI at a local server that fails in one way, with the target's timeouts set
small (1 s), and bounds the run's wall time: the harness must give up within its own bounds.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from .conftest import (
    FakeOpBehaviour,
    Hold,
    StartFakeOp,
    Timed,
    load_summary,
    op_env,
    op_target,
    output,
    run_suite,
)

#: starting the CLI (imports, scenario loading) takes about a second; a run that wants more than
#: this on top of its target's bounds is waiting for something it should not
STARTUP_S = 6.0
EXIT_USAGE, EXIT_UNREACHABLE = 2, 3


def assert_clean(text: str) -> None:
    """No traceback reached the user: only the harness's own words."""
    assert "Traceback" not in text, text
    assert "internal error" not in text, text


def assert_each_broken(summary: dict[str, Any], text: str, kind: str, phrase: str) -> list[dict[str, Any]]:
    """Every scenario that ran is broken of ``kind``, says ``phrase``, and has its own line on the console."""
    ran = [s for s in summary["scenarios"] if s["status"] != "skipped"]
    assert ran, "no scenario ran"
    for scenario in ran:
        assert scenario["status"] == "broken", scenario
        assert scenario["broken_kind"] == kind, scenario
        assert any(phrase in message for message in scenario["messages"]), scenario["messages"]
        # the final table names each broken scenario on a line of its own
        assert any(line.startswith("BROKEN") and scenario["id"] in line for line in text.splitlines()), (
            f"no BROKEN line for {scenario['id']} in:\n{text}")
    assert phrase in text
    return ran


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then closed: connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_closed_port_is_unreachable_quickly(tmp_path: Path) -> None:
    target = op_target(tmp_path / "target.yaml", f"http://127.0.0.1:{closed_port()}")
    with Timed() as timed:
        proc = run_suite(tmp_path / "report", "--target", target, env=op_env())
    text = output(proc)
    assert proc.returncode == EXIT_UNREACHABLE, text
    assert_clean(text)
    # connection refused is immediate: nothing should wait for the 1 s connect bound, let alone per case
    assert timed.seconds < STARTUP_S, f"took {timed.seconds:.1f} s"
    assert_each_broken(load_summary(tmp_path / "report"), text, "unreachable", "cannot connect")


def test_silent_server_is_unreachable_within_its_bounds(tmp_path: Path, silent_server: str) -> None:
    target = op_target(tmp_path / "target.yaml", silent_server, connect=1, read=1)
    with Timed() as timed:
        proc = run_suite(tmp_path / "report", "--target", target, env=op_env())
    text = output(proc)
    assert proc.returncode == EXIT_UNREACHABLE, text
    assert_clean(text)
    # one probe waits out the 1 s read bound; the scenarios do not each wait again
    assert timed.seconds < 1 + 1 + STARTUP_S, f"took {timed.seconds:.1f} s"
    assert_each_broken(load_summary(tmp_path / "report"), text, "unreachable", "no answer")


def test_html_discovery_document_breaks_every_scenario(tmp_path: Path, fake_op: StartFakeOp) -> None:
    issuer = fake_op(FakeOpBehaviour(discovery_html=True))
    target = op_target(tmp_path / "target.yaml", issuer)
    with Timed() as timed:
        proc = run_suite(tmp_path / "report", "--target", target, env=op_env())
    text = output(proc)
    assert proc.returncode == EXIT_USAGE, text
    assert_clean(text)
    assert timed.seconds < 20, f"took {timed.seconds:.1f} s"
    summary = load_summary(tmp_path / "report")
    assert_each_broken(summary, text, "error", "is not JSON")
    # and the message says what came instead, so the reader can tell a login page from a proxy error
    assert all("text/html" in " ".join(s["messages"]) for s in summary["scenarios"] if s["status"] == "broken")


def test_id_token_that_is_not_a_jwt(tmp_path: Path, fake_op: StartFakeOp) -> None:
    issuer = fake_op(FakeOpBehaviour(id_token="not-a-jwt"))
    target = op_target(tmp_path / "target.yaml", issuer)
    proc = run_suite(tmp_path / "report", "--target", target, env=op_env())
    text = output(proc)
    assert proc.returncode == EXIT_USAGE, text
    assert_clean(text)
    summary = load_summary(tmp_path / "report")
    broken = [s for s in summary["scenarios"] if s["status"] == "broken"]
    # every scenario that logs in breaks on the token; discovery-metadata does not log in
    assert len(broken) >= 20, [(s["id"], s["status"]) for s in summary["scenarios"]]
    for scenario in broken:
        assert scenario["broken_kind"] == "error", scenario
        assert any("id_token" in m and "not a valid JWT" in m for m in scenario["messages"]), scenario["messages"]
        assert any(line.startswith("BROKEN") and scenario["id"] in line for line in text.splitlines())
    assert not any(s["status"] == "failed" for s in summary["scenarios"]), "a broken token is not a verdict"


def test_end_session_that_never_answers(tmp_path: Path, fake_op: StartFakeOp, hold: Hold) -> None:
    issuer = fake_op(FakeOpBehaviour(end_session=hold.forever))
    target = op_target(tmp_path / "target.yaml", issuer, connect=1, read=1)
    with Timed() as timed:
        proc = run_suite(tmp_path / "report", "--target", target, "-k", "full-logout", env=op_env())
    text = output(proc)
    assert proc.returncode == EXIT_UNREACHABLE, text
    assert_clean(text)
    summary = load_summary(tmp_path / "report")
    ran = assert_each_broken(summary, text, "unreachable", "no answer from")
    assert {s["id"] for s in ran} == {"oidc-rp-initiated/full-logout[GET]", "oidc-rp-initiated/full-logout[POST]"}
    assert all("/end-session" in " ".join(s["messages"]) for s in ran)
    # each of the two cases waits out one 1 s read bound, no more
    assert timed.seconds < 2 * 1 + STARTUP_S, f"took {timed.seconds:.1f} s"


def test_unusable_jwks_breaks_the_back_channel_scenarios(tmp_path: Path, fake_op: StartFakeOp) -> None:
    """A JWKS that is not JSON: no logout token could be verified, so each scenario says why it broke."""
    issuer = fake_op(FakeOpBehaviour(jwks="malformed"))
    target = op_target(tmp_path / "target.yaml", issuer, backchannel=True,
                       callback_base=f"http://127.0.0.1:{closed_port()}")
    with Timed() as timed:
        proc = run_suite(tmp_path / "report", "--target", target, "--profile", "oidc-backchannel-op", env=op_env())
    text = output(proc)
    assert proc.returncode == EXIT_USAGE, text
    assert_clean(text)
    assert timed.seconds < 20, f"took {timed.seconds:.1f} s"
    summary = load_summary(tmp_path / "report")
    broken = [s for s in summary["scenarios"] if s["status"] == "broken"]
    assert broken and not any(s["status"] == "failed" for s in summary["scenarios"])
    assert all(any("JWKS" in m and "not JSON" in m for m in s["messages"]) for s in broken), broken


def test_unreachable_jwks_is_an_unreachable_target(tmp_path: Path, fake_op: StartFakeOp) -> None:
    issuer = fake_op(FakeOpBehaviour(jwks="closed"))
    target = op_target(tmp_path / "target.yaml", issuer, backchannel=True,
                       callback_base=f"http://127.0.0.1:{closed_port()}")
    with Timed() as timed:
        proc = run_suite(tmp_path / "report", "--target", target, "--profile", "oidc-backchannel-op",
                         "-k", "logout-token", env=op_env())
    text = output(proc)
    assert proc.returncode == EXIT_UNREACHABLE, text
    assert_clean(text)
    assert timed.seconds < 20, f"took {timed.seconds:.1f} s"
    summary = load_summary(tmp_path / "report")
    assert_each_broken(summary, text, "unreachable", "/jwks")
