"""The one test function every scenario case runs through (collected by the plugin, not by name patterns)."""

from __future__ import annotations

import pytest

from harness.engine import Runtime
from harness.pytest_plugin import run_case
from harness.scenario import Case


def test_scenario(request: pytest.FixtureRequest, logout_case: Case, logout_runtime: Runtime) -> None:
    __tracebackhide__ = True
    run_case(request, logout_case, logout_runtime)
