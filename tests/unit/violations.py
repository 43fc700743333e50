"""Running a check that must fail: the violation it raises, naming its requirement, with what was
expected and what was seen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from harness.errors import Violation


def violated(requirement: str, check: Callable[..., Any], *args: Any, **kwargs: Any) -> Violation:
    """Run ``check``, expect a violation of ``requirement``, and return it."""
    with pytest.raises(Violation) as info:
        check(*args, **kwargs)
    assert info.value.requirement == requirement
    assert getattr(check, "requirement", None) == requirement
    assert info.value.expected and info.value.seen
    assert str(info.value).startswith(f"{requirement}: expected ")
    return info.value
