"""The engine: runs one scenario case step by step, records evidence and findings, and decides its status.

It knows no protocol: steps (registered by the protocol packages) do the talking and call checks
through ``Context.verify``; the engine turns what they raise into the five result kinds.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness import requirements, steps
from harness.errors import ConfigError, HarnessError, NotApplicable, TargetUnreachable, Violation
from harness.http import HttpPool, Recorder, Timeouts, recording
from harness.redact import REDACTOR
from harness.results import Finding, ScenarioResult, Status
from harness.scenario import Case
from harness.target import Target


class Sink(Protocol):
    """Where the engine reports as it goes (Allure under pytest); every method must be cheap."""

    def step(self, title: str) -> contextlib.AbstractContextManager[None]: ...

    def attach(self, name: str, body: str, mime: str) -> None: ...

    def attach_bytes(self, name: str, body: bytes, mime: str) -> None: ...


class NullSink:
    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[None]:
        yield

    def attach(self, name: str, body: str, mime: str) -> None:
        return None

    def attach_bytes(self, name: str, body: bytes, mime: str) -> None:
        return None


@dataclass
class Runtime:
    """What lives as long as a worker: the target, one HTTP pool, and caches the protocols keep."""

    target: Target
    http: HttpPool
    fail_on: str = "must"
    #: a file every worker of the run can lock: serial scenarios hold it while they run
    serial_lock: str | None = None
    cache: dict[str, Any] = field(default_factory=dict)
    #: what the protocols opened for the worker (a browser...), closed with the runtime
    closers: list[Callable[[], None]] = field(default_factory=list)

    @contextlib.contextmanager
    def exclusive(self, serial: bool) -> Iterator[None]:
        """Hold the run's serial lock for a serial scenario (they end every session of a principal,
        so two at once would end each other's); other scenarios pass straight through."""
        if not serial or not self.serial_lock:
            yield
            return
        with open(self.serial_lock, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the holder's scenario ends
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def cached(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]

    def close(self) -> None:
        while self.closers:
            self.closers.pop()()
        self.http.close()


class _Stop(AssertionError):
    """A gating violation ended the scenario; it is already recorded (an AssertionError, so that the
    step it ends is reported as failed, not broken)."""


@dataclass
class Context:
    """What a step sees: the runtime, the case's parameters, named values, and the verdict book."""

    runtime: Runtime
    case: Case
    sink: Sink
    recorder: Recorder
    vars: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    waited_s: float = 0.0
    #: wall-clock start of the scenario: calls from the target before it belong to other scenarios
    started_at: float = field(default_factory=time.time)
    #: called with the scenario's status once it is known (a browser attaching its trace on failure)
    finishers: list[Callable[[Status], None]] = field(default_factory=list)

    @property
    def target(self) -> Target:
        return self.runtime.target

    @property
    def params(self) -> dict[str, Any]:
        return self.case.params

    def verify(self, check: Callable[..., Any], *args: Any, go_on: bool = False, **kwargs: Any) -> Any:
        """Run a check; record its verdict. A MUST/VENDOR violation ends the scenario, a SHOULD one not;
        ``go_on`` records a MUST violation and carries on (one scenario judging many attempts)."""
        requirement = getattr(check, "requirement", "")
        level = requirements.get(requirement).level
        try:
            result = check(*args, **kwargs)
        except Violation as violation:
            if level == "MAY":  # allowed by the spec: worth a reader's attention, never a verdict
                self.note(f"{requirement} (MAY, information): expected {violation.expected}; seen {violation.seen}")
                self.findings.append(Finding(requirement, level, True))
                return None
            reproduce = violation.reproduce or self._reproduction()
            finding = Finding(requirement, level, False, REDACTOR.text(violation.expected),
                              REDACTOR.text(violation.seen), [REDACTOR.text(r) for r in reproduce])
            self.findings.append(finding)
            self.sink.attach(f"violation {requirement}", _describe(finding), "text/plain")
            if requirements.is_gating(level, "must") and not go_on:
                raise _Stop() from None
            return None
        self.findings.append(Finding(requirement, level, True))
        if isinstance(result, str) and result:
            self.note(result)
        return result

    def wait_for_clock(self, seconds: float, reason: str) -> None:
        """Wait for time itself to pass (a token's expiry): the one wait no event can end sooner."""
        self.waited_s += seconds
        self.note(f"waited {seconds:.2f} s for {reason}")
        time.sleep(seconds)

    def note(self, message: str) -> None:
        """Information for the report: allowed, but worth a reader's attention."""
        self.messages.append(REDACTOR.text(message))

    def attach(self, name: str, body: str, mime: str = "text/plain") -> None:
        self.sink.attach(name, REDACTOR.text(body), mime)

    def attach_bytes(self, name: str, body: bytes, mime: str) -> None:
        """Binary evidence (screenshots, redacted traces): redacted by whoever made it."""
        self.sink.attach_bytes(name, body, mime)

    def _reproduction(self) -> list[str]:
        last = self.recorder.exchanges[-1:] if self.recorder.exchanges else []
        return [exchange.curl() for exchange in last]


def _describe(finding: Finding) -> str:
    req = requirements.get(finding.requirement)
    lines = [f"{finding.requirement} ({finding.level}): {req.title}", req.link, "",
             f"expected: {finding.expected}", f"seen:     {finding.seen}"]
    if finding.reproduce:
        lines += ["", "reproduce:", *finding.reproduce]
    return "\n".join(lines)


def preflight(target: Target) -> str | None:
    """Probe the target once per run; the reason it cannot be reached, or None."""
    steps.load_builtin()
    pool = HttpPool(Timeouts(connect=target.connect_timeout, read=target.read_timeout))
    try:
        for role in target.roles:
            probe = steps.PREFLIGHTS.get(role)
            if probe:
                probe(target, pool)
    except TargetUnreachable as exc:
        return REDACTOR.text(str(exc))
    except HarnessError:
        return None  # it answers; each scenario reports what is wrong with the answer
    finally:
        pool.close()
    return None


def run(case: Case, runtime: Runtime, sink: Sink | None = None) -> ScenarioResult:
    """Run one case to its result; never raises for anything the target or the files do."""
    sink = sink or NullSink()
    scenario = case.scenario
    result = ScenarioResult(case.id, scenario.title, scenario.profile, "passed", list(scenario.requirements))
    matching = [role for role in scenario.applies_to if role in runtime.target.roles]
    started = time.perf_counter()
    if not matching:
        result.status = "skipped"
        result.messages.append(f"applies to {', '.join(scenario.applies_to)}; the target is {', '.join(runtime.target.roles)}")
        return result
    registry = steps.load_builtin()
    with runtime.exclusive(scenario.serial), recording() as recorder:
        ctx = Context(runtime, case, sink, recorder)
        try:
            for step in case.bound_steps():
                defn = registry[step.name]
                before = len(recorder.exchanges)
                with sink.step(f"{defn.title} ({step.name})"):
                    try:
                        steps.call(defn, ctx, step.args)
                    finally:
                        for exchange in recorder.exchanges[before:]:
                            sink.attach(f"{exchange.method} {exchange.url.split('?')[0]} -> {exchange.status}",
                                        f"{exchange.transcript()}\n\n# reproduce\n{exchange.curl()}", "text/plain")
        except _Stop:
            pass
        except NotApplicable as exc:
            result.status = "skipped"
            ctx.messages.append(str(exc))
        except TargetUnreachable as exc:
            _broken(result, ctx, "unreachable", str(exc))
        except ConfigError as exc:
            _broken(result, ctx, "config", str(exc))
        except HarnessError as exc:
            _broken(result, ctx, "error", str(exc))
        except Exception as exc:  # noqa: BLE001 -- a harness bug: one line for the reader, the traceback as evidence
            _broken(result, ctx, "error", f"internal error: {type(exc).__name__}: {exc}")
            sink.attach("traceback", REDACTOR.text(traceback.format_exc()), "text/plain")
    result.findings = ctx.findings
    result.http_exchanges = len(recorder.exchanges)
    result.http_wait_s = round(sum(e.elapsed_s for e in recorder.exchanges), 4)
    result.clock_wait_s = round(ctx.waited_s, 4)
    result.messages = ctx.messages
    result.duration_s = round(time.perf_counter() - started, 4)
    if result.status == "passed":
        result.status = _status(result.findings, runtime.fail_on)
    for finish in ctx.finishers:
        try:
            finish(result.status)
        except Exception as exc:  # noqa: BLE001 -- evidence lost is reported, the verdict stands
            result.messages.append(REDACTOR.text(f"could not keep the evidence: {type(exc).__name__}: {exc}"))
    return result


def _broken(result: ScenarioResult, ctx: Context, kind: str, message: str) -> None:
    result.status = "broken"
    result.broken_kind = kind  # type: ignore[assignment]
    ctx.messages.append(REDACTOR.text(message))


def _status(findings: list[Finding], fail_on: str) -> Status:
    violated = [f for f in findings if not f.passed]
    if any(requirements.is_gating(f.level, fail_on) for f in violated):
        return "failed"
    if violated:
        return "warning"
    return "passed"
