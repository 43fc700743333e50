"""Registry of checks: small pure functions that raise a ``Violation`` naming their requirement."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from harness.errors import Violation

P = ParamSpec("P")
R = TypeVar("R")

#: every registered check, by requirement id (several checks may enforce one requirement)
REGISTRY: dict[str, list[Callable[..., object]]] = {}


def check(requirement: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Register a check for ``requirement``; violations it raises carry that id."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except Violation as violation:
                violation.requirement = violation.requirement or requirement
                raise

        wrapper.requirement = requirement  # type: ignore[attr-defined]
        REGISTRY.setdefault(requirement, []).append(wrapper)
        return wrapper

    return decorate
