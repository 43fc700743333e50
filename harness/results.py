"""What a run found: per-scenario results, per-requirement verdicts, and the exit code they give."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["passed", "failed", "warning", "skipped", "broken"]
#: why a scenario is broken; decides the exit code (config: 2, unreachable: 3, error: 2)
BrokenKind = Literal["config", "unreachable", "error"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


@dataclass
class Finding:
    """One verdict on one requirement, from one check call in a scenario."""

    requirement: str
    level: str
    passed: bool
    expected: str = ""
    seen: str = ""
    reproduce: list[str] = field(default_factory=list)


@dataclass
class ExpectedFailure:
    """An entry of an expected-failures file that matched this scenario."""

    id: str
    reason: str
    expires: str | None = None
    expired: bool = False


@dataclass
class ScenarioResult:
    """The outcome of one scenario (one variant of it, when it has parameters)."""

    id: str
    title: str
    profile: str
    status: Status
    requirements: list[str]
    findings: list[Finding] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    http_exchanges: int = 0
    http_wait_s: float = 0.0
    clock_wait_s: float = 0.0
    broken_kind: BrokenKind | None = None
    expected_failure: ExpectedFailure | None = None

    @property
    def failed_requirements(self) -> list[str]:
        """Requirements violated here (MUST/VENDOR and SHOULD alike), in the order they were found."""
        seen: dict[str, None] = {}
        for finding in self.findings:
            if not finding.passed:
                seen.setdefault(finding.requirement)
        return list(seen)

    @property
    def gating(self) -> bool:
        """Whether this result fails the run (an expected, unexpired failure does not)."""
        if self.status != "failed":
            return False
        return self.expected_failure is None or self.expected_failure.expired

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["failed_requirements"] = self.failed_requirements
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScenarioResult:
        data = dict(data)
        data.pop("failed_requirements", None)
        data["findings"] = [Finding(**f) for f in data.get("findings", [])]
        if data.get("expected_failure"):
            data["expected_failure"] = ExpectedFailure(**data["expected_failure"])
        return cls(**data)


def exit_code(results: list[ScenarioResult]) -> int:
    """0 nothing failed, 1 a requirement failed, 2 config or scenario error, 3 target unreachable.

    Unreachable wins over everything (nothing else can be trusted), then config errors, then failures.
    """
    kinds = {r.broken_kind for r in results if r.status == "broken"}
    if "unreachable" in kinds:
        return EXIT_UNREACHABLE
    if kinds & {"config", "error"}:
        return EXIT_USAGE
    if any(r.gating for r in results):
        return EXIT_FAILED
    return EXIT_OK
