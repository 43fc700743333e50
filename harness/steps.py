"""Step registry: the actions a scenario can take, each with a JSON Schema for its arguments."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.engine import Context
    from harness.http import HttpPool
    from harness.target import Target

StepFn = Callable[..., None]

#: modules whose import registers steps; the engine imports them without knowing what they speak
STEP_MODULES = ("harness.oidc.steps", "harness.oidc.rp_app_steps", "harness.oidc.backchannel_steps",
                "harness.oidc.frontchannel_steps", "harness.browser_app_steps",
                "harness.casdoor_steps", "harness.return_to_steps", "harness.federation_steps", "harness.saml.steps", "harness.saml.app_steps",
                "harness.cli_logout.steps", "harness.spa_steps")


@dataclass(frozen=True)
class StepDef:
    name: str
    fn: StepFn
    schema: dict[str, Any]
    title: str


REGISTRY: dict[str, StepDef] = {}
#: per target role, a quick probe that the target answers at all (raises TargetUnreachable if not)
PREFLIGHTS: dict[str, Callable[[Target, HttpPool], None]] = {}


def preflight(role: str) -> Callable[[Callable[[Target, HttpPool], None]], Callable[[Target, HttpPool], None]]:
    def decorate(fn: Callable[[Target, HttpPool], None]) -> Callable[[Target, HttpPool], None]:
        PREFLIGHTS[role] = fn
        return fn

    return decorate


def step(name: str, **properties: Any) -> Callable[[StepFn], StepFn]:
    """Register ``fn(ctx, **args)`` as step ``name``; ``properties`` are the JSON Schemas of its arguments.

    Arguments without a ``default`` in their schema are required.
    """

    def decorate(fn: Callable[..., None]) -> StepFn:
        required = [key for key, prop in properties.items() if "default" not in prop]
        schema = {"type": "object", "additionalProperties": False, "properties": properties, "required": required}
        title = (fn.__doc__ or name).strip().splitlines()[0]
        REGISTRY[name] = StepDef(name, fn, schema, title)
        return fn

    return decorate


def load_builtin() -> dict[str, StepDef]:
    for module in STEP_MODULES:
        importlib.import_module(module)
    return REGISTRY


def call(defn: StepDef, ctx: Context, args: dict[str, Any]) -> None:
    """Run a step with its schema defaults filled in."""
    full = {key: prop["default"] for key, prop in defn.schema["properties"].items() if "default" in prop}
    full.update(args)
    defn.fn(ctx, **full)
