"""Test plans: which scenario cases a run executes, chosen by profile from the scenario folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness import requirements, scenario
from harness.errors import ConfigError
from harness.scenario import Case, Scenario

#: the scenario folder of a source checkout (scenarios are data next to the package)
DEFAULT_SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
DEFAULT_TARGET = Path(__file__).resolve().parents[1] / "fixtures" / "targets" / "mock.yaml"


@dataclass(frozen=True)
class Plan:
    scenarios: tuple[Scenario, ...]

    @property
    def cases(self) -> list[Case]:
        return [case for s in self.scenarios for case in s.cases()]

    @property
    def profiles(self) -> list[str]:
        return sorted({s.profile for s in self.scenarios})


def load(scenarios_dir: Path = DEFAULT_SCENARIOS, profiles: list[str] | None = None) -> Plan:
    """Every scenario under ``scenarios_dir``, restricted to ``profiles`` when given."""
    if not scenarios_dir.is_dir():
        raise ConfigError(f"scenario folder {scenarios_dir} does not exist")
    known = {r.id for r in requirements.all_requirements()}
    loaded = scenario.load_all(scenario.discover(scenarios_dir), known)
    available = sorted({s.profile for s in loaded})
    unknown = [p for p in profiles or [] if p not in available]
    if unknown:
        raise ConfigError(f"unknown profile(s) {', '.join(unknown)} (available: {', '.join(available)})")
    chosen = [s for s in loaded if not profiles or s.profile in profiles]
    return Plan(tuple(chosen))
