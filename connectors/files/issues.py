"""What loading CSV files found wrong: located row issues, a capped log of them, the refusal."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

# A file with a systematic problem yields one issue per row; a million of them would cost
# more memory than the accounts. Keep the first ones (enough to fix the file), count the rest.
MAX_STORED_ISSUES_PER_FILE: Final = 1000
# An error's text lists this many issues; `CsvLoadError.issues` keeps them all.
SHOWN_IN_MESSAGE: Final = 20


@dataclass(frozen=True, slots=True)
class RowIssue:
    """One problem with a row of a CSV file; `row` is the line number (the header is row 1).

    "error" rows are skipped; "warning" rows are kept (with the offending value cleared).
    """

    file: str
    row: int
    column: str | None
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        where = f"{self.column}: " if self.column else ""
        return f"{self.file}:row {self.row}: {prefix}{where}{self.message}"


class CsvLoadError(Exception):
    """The CSV source cannot be used as it is; nothing was loaded. Carries the issues found."""

    def __init__(self, message: str, issues: Iterable[RowIssue] = ()) -> None:
        self.issues: tuple[RowIssue, ...] = tuple(issues)
        self.message = message
        lines = [message, *(str(issue) for issue in self.issues[:SHOWN_IN_MESSAGE])]
        if len(self.issues) > SHOWN_IN_MESSAGE:
            lines.append(f"… and {len(self.issues) - SHOWN_IN_MESSAGE} more")
        super().__init__("\n".join(lines))


@dataclass(slots=True)
class IssueLog:
    """Row issues of every file: the first ones stored, all of them counted."""

    issues: list[RowIssue] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    def add(self, issue: RowIssue) -> None:
        """Record `issue`; it is stored only while its file has fewer than the cap."""
        if self.counts[issue.file] < MAX_STORED_ISSUES_PER_FILE:
            self.issues.append(issue)
        self.counts[issue.file] += 1
        if issue.severity == "error":
            self.errors[issue.file] += 1

    def report_error(self, file: str, row: int, column: str | None, message: str) -> None:
        """Record an error: the row it names is skipped."""
        self.add(RowIssue(file, row, column, message))

    def report_warning(self, file: str, row: int, column: str | None, message: str) -> None:
        """Record a warning: the row it names is kept."""
        self.add(RowIssue(file, row, column, message, severity="warning"))

    @property
    def error_total(self) -> int:
        return sum(self.errors.values())
