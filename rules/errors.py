"""Errors of the pure core: a rule file that is wrong, located at file:line:col."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Location:
    """A place in a rule file; line and column are 1-based."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class RuleIssue:
    """One located finding about a rule file: what is wrong, where, and what was expected."""

    location: Location
    path: str
    message: str
    severity: str = "error"  # error (nothing is applied), warning, or notice (for information)

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        prefix = _PREFIX.get(self.severity, "")
        return f"{self.location}: {prefix}{where}{self.message}"


_PREFIX = {"warning": "warning: ", "notice": "note: "}


class RuleError(Exception):
    """The rule file is wrong; nothing from it may be applied. Carries every issue found."""

    def __init__(self, issues: Iterable[RuleIssue]) -> None:
        self.issues: tuple[RuleIssue, ...] = tuple(
            sorted(issues, key=lambda i: (i.location.line, i.location.column, i.path))
        )
        super().__init__("\n".join(str(i) for i in self.issues))

    def __iter__(self) -> Iterator[RuleIssue]:
        return iter(self.issues)
