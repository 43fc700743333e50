"""Scenario files: loading, validation with file and line, and expansion of their parameter matrix."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from harness import steps, yamlsrc
from harness.errors import ConfigError

_PARAM = re.compile(r"\$\{([a-z_][a-z0-9_]*)\}")


@dataclass(frozen=True)
class Step:
    name: str
    args: dict[str, Any]
    line: int | None


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    profile: str
    requirements: tuple[str, ...]
    applies_to: tuple[str, ...]
    steps: tuple[Step, ...]
    file: str
    description: str = ""
    parameters: dict[str, list[Any]] = field(default_factory=dict)
    serial: bool = False
    callbacks: bool = False
    upstream: bool = False

    def cases(self) -> list[Case]:
        """One case per combination of parameter values (one case when there are none)."""
        names = list(self.parameters)
        combos = itertools.product(*(self.parameters[n] for n in names)) if names else [()]
        return [Case(self, dict(zip(names, values, strict=True))) for values in combos]


@dataclass(frozen=True, repr=False)
class Case:
    """A scenario with its parameters bound: what one pytest test runs."""

    scenario: Scenario
    params: dict[str, Any]

    def __repr__(self) -> str:  # reports show test parameters by their repr
        return self.id

    @property
    def id(self) -> str:
        if not self.params:
            return self.scenario.id
        return f"{self.scenario.id}[{'-'.join(str(v) for v in self.params.values())}]"

    def bound_steps(self) -> list[Step]:
        return [Step(s.name, _bind(s.args, self.params), s.line) for s in self.scenario.steps]


def _bind(value: Any, params: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: _bind(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [_bind(v, params) for v in value]
    if isinstance(value, str):
        whole = _PARAM.fullmatch(value)
        if whole:
            return params[whole.group(1)]
        return _PARAM.sub(lambda m: str(params[m.group(1)]), value)
    return value


def load(path: str | Path) -> Scenario:
    """Load and fully validate one scenario file (schema, step names, step arguments, parameters)."""
    registry = steps.load_builtin()
    doc = yamlsrc.load(path)
    yamlsrc.validate(doc, "scenario")
    data = doc.data
    parameters: dict[str, list[Any]] = data.get("parameters", {})
    parsed: list[Step] = []
    for i, item in enumerate(data["steps"]):
        (name, args), = item.items()
        where = ("steps", i, name)
        if name not in registry:
            known = ", ".join(sorted(registry))
            raise doc.error(("steps", i), f"unknown step {name!r} (known steps: {known})")
        args = args or {}
        for match in _PARAM.finditer(repr(args)):
            if match.group(1) not in parameters:
                raise doc.error(where, f"${{{match.group(1)}}} is not a parameter of this scenario")
        for values in _variants(parameters):
            _check_args(doc, where, registry[name], _bind(args, values))
        parsed.append(Step(name, args, doc.line_of(("steps", i))))
    return Scenario(
        id=data["id"],
        title=data["title"],
        profile=data["profile"],
        requirements=tuple(data["requirements"]),
        applies_to=tuple(data["applies_to"]),
        steps=tuple(parsed),
        file=doc.file,
        description=data.get("description", ""),
        parameters=parameters,
        serial=bool(data.get("serial", False)),
        callbacks=bool(data.get("callbacks", False)),
        upstream=bool(data.get("upstream", False)),
    )


def _variants(parameters: dict[str, list[Any]]) -> list[dict[str, Any]]:
    names = list(parameters)
    return [dict(zip(names, v, strict=True)) for v in itertools.product(*(parameters[n] for n in names))]


def _check_args(doc: yamlsrc.Document, where: yamlsrc.JsonPath, defn: steps.StepDef, args: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(defn.schema)
    for error in sorted(validator.iter_errors(args), key=lambda e: list(e.absolute_path)):
        path = (*where, *error.absolute_path)
        raise doc.error(path, f"step {defn.name}: {error.message}")


def load_all(paths: list[Path], known_requirements: set[str]) -> list[Scenario]:
    """Load every scenario; ids must be unique and every requirement must be in the catalog."""
    loaded: list[Scenario] = []
    by_id: dict[str, str] = {}
    for path in paths:
        scenario = load(path)
        if scenario.id in by_id:
            raise ConfigError(f"scenario id {scenario.id!r} is also used by {by_id[scenario.id]}", str(path), 1)
        by_id[scenario.id] = str(path)
        unknown = [r for r in scenario.requirements if r not in known_requirements]
        if unknown:
            raise ConfigError(f"requirement(s) not in the catalog: {', '.join(unknown)}", str(path))
        loaded.append(scenario)
    return loaded


def discover(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.yaml") if p.is_file())
