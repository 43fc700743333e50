"""The pytest front end: ``pytest --logout-target FILE`` runs the scenarios as ordinary parametrized tests.

One test per scenario case (``harness/pytest_scenarios.py``), so fixtures, ``-k``, ``-n`` (xdist),
JUnit and Allure keep working. The controller process starts the bundled mock once per run and
gathers every worker's results into ``summary.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import pytest

from harness import engine, expected, faults, launch, mockctl, plan, receiver, requirements
from harness import target as target_file
from harness.allure_sink import AllureSink, label
from harness.cli_logout import steps as cli_steps
from harness.errors import HarnessError
from harness.http import HttpPool, Timeouts
from harness.process import Announced
from harness.redact import REDACTOR
from harness.report import console, summary
from harness.results import ScenarioResult

SCENARIO_MODULE = Path(__file__).with_name("pytest_scenarios.py")
_ISSUER_ENV = "LOGOUT_CONFORMANCE_MOCK_ISSUER"
_UNREACHABLE_ENV = "LOGOUT_CONFORMANCE_UNREACHABLE"
_APP_ENV = "LOGOUT_CONFORMANCE_APP_URL"
_RP_APP_ENV = "LOGOUT_CONFORMANCE_RP_APP_URL"
_SPA_ENV = "LOGOUT_CONFORMANCE_SPA_URL"
_RECEIVER_ENV = "LOGOUT_CONFORMANCE_RECEIVER_URL"
_UPSTREAMS_ENV = "LOGOUT_CONFORMANCE_UPSTREAMS"
_LOCK_ENV = "LOGOUT_CONFORMANCE_SERIAL_LOCK"
_state = pytest.StashKey["_RunState"]()
RECEIVER_START_S = 10.0


class ScenarioBroken(HarnessError):
    """The harness could not run the scenario (the message says why)."""


class LogoutWarning(UserWarning):
    """A SHOULD requirement was violated (reported, not gating unless --logout-fail-on should)."""


class _RunState:
    def __init__(self, config: pytest.Config) -> None:
        opt = config.option
        self.target = target_file.load(opt.logout_target)
        self.plan = plan.load(Path(opt.logout_scenarios), opt.logout_profile or None)
        self.fail_on: Literal["must", "should"] = opt.logout_fail_on
        self.entries = expected.load(opt.logout_expected_failures) if opt.logout_expected_failures else []
        self.report_dir = Path(opt.logout_report_dir) if opt.logout_report_dir else None
        self.results: list[ScenarioResult] = []
        self.mock: Announced | None = None
        self.app: Announced | None = None
        self.rp_app: Announced | None = None
        self.spa: Announced | None = None
        self.receiver: receiver.CallbackReceiver | None = None
        self.chain: mockctl.Chain | None = None
        self.started = time.time()
        self.summary: dict[str, Any] | None = None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("logout-conformance", "logout conformance harness")
    group.addoption("--logout-target", metavar="FILE", help="target file describing the system under test")
    group.addoption("--logout-profile", action="append", default=[], metavar="P",
                    help="run only this profile (repeatable)")
    group.addoption("--logout-scenarios", metavar="DIR", default=str(plan.DEFAULT_SCENARIOS),
                    help="folder of scenario files (default: the bundled scenarios)")
    group.addoption("--logout-fail-on", choices=("must", "should"), default="must",
                    help="which violations fail a scenario: must (MUST and VENDOR) or should (also SHOULD)")
    group.addoption("--logout-expected-failures", metavar="FILE",
                    help="known deviations: reported, not failing, until they expire")
    group.addoption("--logout-mock-fault", action="append", default=[], metavar="NAME",
                    help="switch on a fault of the bundled mock IdP (repeatable)")
    group.addoption("--logout-report-dir", metavar="DIR", help="write summary.json here")


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    if not config.option.logout_target:
        return
    try:
        state = _RunState(config)
        state.target.require_secrets()
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[_state] = state
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        # no paths given: run the scenarios rather than whatever testpaths names
        config.args = [str(SCENARIO_MODULE)]
    if not _is_worker(config):
        # serial scenarios take this file's lock, whichever worker runs them
        handle, os.environ[_LOCK_ENV] = tempfile.mkstemp(prefix="logout-conformance-", suffix=".lock")
        os.close(handle)
        try:
            _start_parts(state, config.option.logout_mock_fault)
        except HarnessError as exc:
            pytest_unconfigure(config)
            raise pytest.UsageError(str(exc)) from None
    if state.target.is_mock and _RECEIVER_ENV in os.environ:
        state.target = state.target.rebased(os.environ[_RECEIVER_ENV])
    if state.target.is_mock:
        state.target = mockctl.with_issuer(state.target, os.environ[_ISSUER_ENV])
    if _UPSTREAMS_ENV in os.environ:
        state.target = mockctl.with_upstreams(state.target, json.loads(os.environ[_UPSTREAMS_ENV]))
    if _APP_ENV in os.environ:
        state.target = launch.with_app_url(state.target, os.environ[_APP_ENV])
    if _RP_APP_ENV in os.environ:
        state.target = launch.with_oidc_app_url(state.target, os.environ[_RP_APP_ENV])
    if _SPA_ENV in os.environ:
        state.target = launch.with_spa_url(state.target, os.environ[_SPA_ENV])
    for secret in state.target.secrets():
        if os.environ.get(secret.env):
            REDACTOR.add_secret(os.environ[secret.env])
    if not _is_worker(config):
        reason = engine.preflight(state.target)
        if reason:
            os.environ[_UNREACHABLE_ENV] = reason


def _start_parts(state: _RunState, requested: list[str]) -> None:
    """Start what the run needs, once, in the controller: the callback receiver, the mock, then the apps
    that trust it.

    Workers inherit the environment, so they reach the same processes.
    """
    owners = faults.split(requested)
    _check_fault_owners(state.target, owners)
    # the sample CLI runs in every worker's scenarios: its faults reach them through the environment
    os.environ[cli_steps.FAULTS_ENV] = ",".join(owners.get(faults.SAMPLE_CLI, []))
    wanted = [s for s in state.plan.scenarios if set(s.applies_to) & set(state.target.roles)]
    if any(s.callbacks for s in wanted) and state.target.callback_urls():
        _start_receiver(state)
    target = state.target
    if target.is_mock:
        if target.mock_upstreams and any(s.upstream for s in wanted):
            state.chain = mockctl.start_upstreams(target)
            os.environ[_UPSTREAMS_ENV] = json.dumps(state.chain.connections)
        state.mock = mockctl.start(target, [*(target.mock_faults or ()), *owners.get(faults.MOCK, [])],
                                   upstreams=state.chain.upstreams if state.chain else None)
        os.environ[_ISSUER_ENV] = state.mock.url
        if state.chain:
            with HttpPool(Timeouts(target.connect_timeout, target.read_timeout)) as pool:
                mockctl.join_chain(pool.client(), state.chain, state.mock.url, target)
    saml = target.saml
    app = saml.app if saml else None
    if saml is not None and app is not None and app.launch is not None and any("saml-sp" in s.applies_to for s in wanted):
        idp_metadata = f"{state.mock.url}/saml/metadata" if state.mock else (saml.idp.metadata_url or "")
        state.app = launch.start_app(target, owners.get(faults.SAMPLE_SAML_SP, []), idp_metadata)
        os.environ[_APP_ENV] = state.app.url
        if state.mock:
            resolved = launch.with_app_url(target, state.app.url)
            assert resolved.saml is not None and resolved.saml.app is not None
            with HttpPool(Timeouts(target.connect_timeout, target.read_timeout)) as pool:
                launch.register_at_mock(pool.client(), state.mock.url, resolved.saml.app.metadata_url)
    rp_app = target.oidc.app if target.oidc else None
    if rp_app is not None and rp_app.launch is not None and \
            any({"oidc-rp", "casdoor-receiver"} & set(s.applies_to) for s in wanted):
        assert target.oidc is not None
        issuer = state.mock.url if state.mock else target.oidc.issuer
        state.rp_app = launch.start_oidc_app(target, owners.get(faults.SAMPLE_OIDC_RP, []), issuer)
        os.environ[_RP_APP_ENV] = state.rp_app.url
        if state.mock:
            with HttpPool(Timeouts(target.connect_timeout, target.read_timeout)) as pool:
                launch.register_oidc_app_at_mock(pool.client(), state.mock.url,
                                                 launch.with_oidc_app_url(target, state.rp_app.url))
    spa = target.spa
    if spa is not None and spa.launch is not None and any("spa" in s.applies_to for s in wanted):
        issuer = state.mock.url if state.mock else (target.oidc.issuer if target.oidc else "")
        state.spa = launch.start_spa(target, owners.get(faults.SAMPLE_SPA, []), issuer)
        os.environ[_SPA_ENV] = state.spa.url
        if state.mock:
            with HttpPool(Timeouts(target.connect_timeout, target.read_timeout)) as pool:
                launch.register_spa_at_mock(pool.client(), state.mock.url, launch.with_spa_url(target, state.spa.url))


def _check_fault_owners(target: target_file.Target, owners: dict[str, list[str]]) -> None:
    if not target.is_mock and owners.get(faults.MOCK):
        raise HarnessError("--mock-fault: mock IdP faults need the bundled mock IdP in the target")
    saml_app = target.saml.app if target.saml else None
    if owners.get(faults.SAMPLE_SAML_SP) and (saml_app is None or saml_app.launch is None):
        raise HarnessError("--mock-fault: sample SP faults need a target that launches the sample SP app")
    rp_app = target.oidc.app if target.oidc else None
    if owners.get(faults.SAMPLE_OIDC_RP) and (rp_app is None or rp_app.launch is None):
        raise HarnessError("--mock-fault: sample RP faults need a target that launches the sample RP app")
    if owners.get(faults.SAMPLE_SPA) and (target.spa is None or target.spa.launch is None):
        raise HarnessError("--mock-fault: sample SPA faults need a target that launches the sample SPA")
    if owners.get(faults.SAMPLE_CLI) and (target.cli is None or
                                          not any("{faults}" in v for v in target.cli.env.values())):
        raise HarnessError("--mock-fault: sample CLI faults need a target whose cli.env passes {faults} to it")


def _start_receiver(state: _RunState) -> None:
    """The receiver listens at the target's callback_base; for the mock (configured by the harness) on any
    free port, the target's callback URLs moving with it, so that concurrent runs do not collide."""
    base = urlsplit(state.target.callback_base)
    host, port = base.hostname or "127.0.0.1", 0 if state.target.is_mock else (base.port or 80)
    state.receiver = receiver.CallbackReceiver(host, port, state.target.receiver_answers)
    url = state.receiver.start(RECEIVER_START_S)
    os.environ[_RECEIVER_ENV] = url
    if state.target.is_mock:
        state.target = state.target.rebased(url)


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_state, None)
    if state:
        for part in (state.spa, state.rp_app, state.app, state.mock, state.chain, state.receiver):
            if part:
                part.stop()
        state.spa = state.rp_app = state.app = state.mock = state.chain = state.receiver = None
    if not _is_worker(config) and os.environ.get(_LOCK_ENV):
        Path(os.environ[_LOCK_ENV]).unlink(missing_ok=True)
    for name in (_ISSUER_ENV, _APP_ENV, _RP_APP_ENV, _SPA_ENV, _RECEIVER_ENV, _UPSTREAMS_ENV, _UNREACHABLE_ENV,
                 _LOCK_ENV):
        os.environ.pop(name, None)
    os.environ.pop(cli_steps.FAULTS_ENV, None)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "logout_case" not in metafunc.fixturenames:
        return
    state = metafunc.config.stash.get(_state, None)
    if state is None:
        raise pytest.UsageError("scenarios need a target: pass --logout-target FILE")
    cases = state.plan.cases
    metafunc.parametrize("logout_case", cases, ids=[c.id for c in cases])


@pytest.fixture(scope="session")
def logout_runtime(pytestconfig: pytest.Config) -> Iterator[engine.Runtime]:
    """One runtime per worker: the target, one HTTP pool, the protocols' caches."""
    state = pytestconfig.stash[_state]
    target = state.target
    pool = HttpPool(Timeouts(connect=target.connect_timeout, read=target.read_timeout))
    runtime = engine.Runtime(target, pool, state.fail_on, serial_lock=os.environ.get(_LOCK_ENV))
    yield runtime
    runtime.close()


def run_case(request: pytest.FixtureRequest, case: Any, runtime: engine.Runtime) -> None:
    """Body of every scenario test: run it, hand the result to the controller, map it to a pytest outcome."""
    __tracebackhide__ = True
    state = request.config.stash[_state]
    label(case)
    unreachable = os.environ.get(_UNREACHABLE_ENV)
    if unreachable:
        result = ScenarioResult(case.id, case.scenario.title, case.scenario.profile, "broken",
                                list(case.scenario.requirements), messages=[unreachable],
                                broken_kind="unreachable")
    else:
        result = engine.run(case, runtime, AllureSink())
    expected.apply([result], state.entries, dt.date.today())
    request.node.user_properties.append(("logout_result", json.dumps(result.to_dict())))
    _outcome(result)


def _outcome(result: ScenarioResult) -> None:
    __tracebackhide__ = True
    lines = [*(f"{f.requirement}: expected {f.expected}; seen {f.seen}" for f in result.findings if not f.passed),
             *result.messages]
    text = "\n".join(lines)
    if result.status == "skipped":
        pytest.skip(text or "not applicable")
    if result.status == "broken":
        raise ScenarioBroken(text)
    if result.status == "warning":
        warnings.warn(LogoutWarning(f"{result.id}: {text}"), stacklevel=1)
    if result.status == "failed":
        if result.expected_failure and not result.expected_failure.expired:
            pytest.xfail(f"expected failure ({result.expected_failure.reason}): {text}")
        pytest.fail(text, pytrace=False)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for name, value in report.user_properties:
        if name == "logout_result" and report.when == "call":
            _CONTROLLER_RESULTS.append(ScenarioResult.from_dict(json.loads(str(value))))


# filled on the controller only (xdist relays the workers' reports to it)
_CONTROLLER_RESULTS: list[ScenarioResult] = []


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    state = config.stash.get(_state, None)
    if state is None or _is_worker(config):
        return
    results = list(_CONTROLLER_RESULTS)
    _CONTROLLER_RESULTS.clear()
    outcome = expected.apply(results, state.entries, dt.date.today())
    state.summary = summary.build(
        results,
        target_name=state.target.name,
        target_file=state.target.file,
        started_at=dt.datetime.fromtimestamp(state.started, dt.UTC).isoformat(),
        duration_s=round(time.time() - state.started, 3),
        fail_on=state.fail_on,
        requirement_info=_requirement_info,
        expected=outcome,
    )
    if state.report_dir:
        state.report_dir.mkdir(parents=True, exist_ok=True)
        summary.write(state.summary, state.report_dir / "summary.json")


def _requirement_info(requirement_id: str) -> tuple[str, str, str]:
    req = requirements.get(requirement_id)
    return req.level, req.title, req.link


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(_state, None)
    if state and state.summary:
        terminalreporter.write_line("")
        for line in console.final_table(state.summary).splitlines():
            terminalreporter.write_line(line)
