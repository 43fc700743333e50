"""The harness's exception tree: what can go wrong, and which result kind and exit code it maps to.

    HarnessError                 base of everything the harness raises on purpose
    ├── ConfigError              a target, scenario or expected-failures file is wrong (exit 2, "broken")
    ├── TargetUnreachable        the target did not answer within its bound (exit 3, "broken")
    ├── TargetError              the target answered something the harness cannot work with ("broken")
    └── NotApplicable            the scenario does not apply to this target ("skipped", with a reason)
    Violation (AssertionError)   a requirement was violated ("failed" for MUST/VENDOR, "warning" for SHOULD)

``Violation`` subclasses ``AssertionError`` so that pytest and Allure report it as a failure, and every
other harness error as "broken".
"""

from __future__ import annotations

from dataclasses import dataclass, field


class HarnessError(Exception):
    """Base class of the harness's own errors."""


class ConfigError(HarnessError):
    """A file given to the harness is wrong; says which file and line."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file or ""
        if self.file and self.line:
            where = f"{self.file}:{self.line}"
        return f"{where}: {self.message}" if where else self.message


class TargetUnreachable(HarnessError):
    """The target could not be reached (connection refused, timeout)."""


class TargetError(HarnessError):
    """The target answered, but not in a form the harness can use to go on (not a protocol verdict)."""


class NotApplicable(HarnessError):
    """The scenario does not apply to this target; the message is the reason shown for the skip."""


@dataclass
class Violation(AssertionError):
    """A requirement was violated: what was expected, what was seen, how to reproduce it.

    Checks raise it without ``requirement``; the ``check`` decorator fills it in.
    """

    expected: str
    seen: str
    requirement: str = ""
    reproduce: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        AssertionError.__init__(self, str(self))

    def __str__(self) -> str:
        return f"{self.requirement}: expected {self.expected}; seen {self.seen}"
