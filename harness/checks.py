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


def describe_body(body: object, content_type: str | None = None) -> str:
    """A short, secret-free description of a response body for a ``Violation.seen``.

    ``body`` is the parsed JSON (any JSON value), or None when the body was not JSON.
    """
    if body is None:
        kind = (content_type or "").split(";")[0].strip().lower()
        if "html" in kind:
            return f"an HTML page, content-type {kind}"
        if kind:
            return f"a body that is not JSON, content-type {kind}"
        return "a body that is not JSON, no content-type"
    if isinstance(body, dict):
        keys = ", ".join(sorted(str(k) for k in body)) or "none"
        return f"a JSON object with members: {keys}"
    kinds = {
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }
    return f"JSON {kinds.get(type(body), type(body).__name__)} instead of an object"


def error_suffix(body: object) -> str:
    """ " with error invalid_grant" for an OAuth error body, else "" (for ``seen`` texts)."""
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return f" with error {body['error'][:60]}"
    return ""
