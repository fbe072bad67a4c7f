"""Opening what the user points at: rule files and `--source` specs, with clear errors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from connectors.files import CsvLoad, CsvLoadError, load_csv_directory
from rules.data_checks import check_rule_against_data
from rules.domain import Snapshot
from rules.errors import RuleError
from rules.loader import LoadedRules, load_rules
from worker.console import fail, progress_bar

EXIT_INVALID = 2
# Row issues printed before the rest are only counted.
SHOWN_ROW_ISSUES = 50


class SourceError(Exception):
    """The `--source` could not be read; the message says what and where."""


def read_text(path: Path, console: Console, what: str) -> str:
    """Return the UTF-8 text of `path`, or exit 2 naming the problem."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(console, f"{path}: no such {what}", EXIT_INVALID)
    except IsADirectoryError:
        fail(console, f"{path}: is a directory; expected a {what}", EXIT_INVALID)
    except UnicodeDecodeError as exc:
        fail(console, f"{path}: not UTF-8 text (byte {exc.start}); expected a {what}", EXIT_INVALID)
    except OSError as exc:
        fail(console, f"{path}: cannot read: {exc.strerror}", EXIT_INVALID)


def load_rule_file(path: Path, console: Console) -> LoadedRules:
    """Load and validate a rule file, or print every located issue and exit 2."""
    text = read_text(path, console, "rule file")
    try:
        return load_rules(text, str(path))
    except RuleError as exc:
        for issue in exc.issues:
            console.print(str(issue), highlight=False, soft_wrap=True, markup=False)
        fail(console, f"{path}: {len(exc.issues)} problem(s); nothing was applied", EXIT_INVALID)


@dataclass(slots=True)
class LoadedSource:
    """A snapshot plus what loading it found: bad rows, unmapped values, rule warnings."""

    snapshot: Snapshot
    csv: CsvLoad
    loaded_rules: LoadedRules

    def report(self, console: Console) -> int:
        """Print row issues and rule warnings; return how many warnings there were."""
        for issue in self.csv.issues[:SHOWN_ROW_ISSUES]:
            console.print(str(issue), highlight=False, soft_wrap=True, markup=False)
        hidden = sum(self.csv.issue_counts.values()) - min(len(self.csv.issues), SHOWN_ROW_ISSUES)
        if hidden > 0:
            console.print(f"… and {hidden:,} more row issue(s)", highlight=False)
        warnings = check_rule_against_data(
            self.loaded_rules.rule, self.snapshot, self.loaded_rules.locate, self.csv.unmapped
        )
        for warning in warnings:
            console.print(str(warning), highlight=False, soft_wrap=True, markup=False)
        return (
            len(warnings)
            + sum(1 for i in self.csv.issues if i.severity == "warning")
            + sum(self.csv.skipped.values())
        )

    def summary_line(self) -> str:
        accounts = len(self.snapshot.accounts)
        owners = len(self.snapshot.owners)
        skipped = sum(self.csv.skipped.values())
        return (
            f"source: {accounts:,} companies, {owners:,} owners loaded; {skipped:,} row(s) skipped"
        )


def load_source(
    spec: str,
    loaded: LoadedRules,
    *,
    strict: bool,
    date_format: str | None,
    timezone: str | None,
    console: Console,
) -> LoadedSource:
    """Load the org that `spec` names (csv:DIR) for `loaded`'s rule file."""
    kind, _, target = spec.partition(":")
    if kind != "csv" or not target:
        raise SourceError(f"--source: expected csv:DIR, got {spec!r}")
    directory = Path(target)
    if not directory.is_dir():
        raise SourceError(f"--source {spec}: {directory} is not a directory")
    try:
        with progress_bar(console, "Loading CSV", total=None) as advance:
            csv = load_csv_directory(
                directory,
                loaded.rule,
                strict=strict,
                date_format=date_format,
                timezone=timezone,
                progress=advance,
            )
    except CsvLoadError as exc:
        raise SourceError(str(exc)) from None
    return LoadedSource(snapshot=csv.snapshot, csv=csv, loaded_rules=loaded)
