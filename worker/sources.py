"""Opening what the user points at: rule files and `--source` specs, with clear errors."""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from connectors.errors import ConnectorError
from connectors.files import CsvLoad, CsvLoadError, SkippedRowsError, load_csv_directory
from connectors.files.issues import RowIssue
from connectors.records import ChecksRuleFields, source_fields
from connectors.snapshot import pull_snapshot
from rules.data_checks import check_rows_without_an_owner, check_rule_against_data
from rules.domain import Snapshot
from rules.errors import RuleError, RuleIssue
from rules.loader import LoadedRules, load_rules
from rules.readable_fields import Locate, SourceFields, check_empty_fields, check_readable
from rules.values import UnmappedCount
from rules.yaml_source import MAX_CHARS
from worker.console import ExitCode, fail, progress_bar
from worker.crm import CRM_KINDS, CrmKind, CrmSettingsError, open_connector
from worker.settings import SettingsError, load_settings

EXIT_INVALID = 2
# Row issues printed before the rest are only counted.
SHOWN_ROW_ISSUES = 50


class SourceError(Exception):
    """The `--source` could not be read; the message says what and where."""


class CrmReadError(SourceError):
    """The CRM did not answer in time (exit 5, not 2: nothing the user gave is wrong)."""


def crm_error(error: ConnectorError, message: str) -> SourceError:
    """A CRM that kept failing (retryable) is a CrmReadError; one that refused (a bad token,
    a missing scope) is a SourceError: a person must fix the settings."""
    return CrmReadError(message) if error.retryable else SourceError(message)


def source_exit_code(error: SourceError) -> ExitCode:
    """5 when the CRM failed, 2 when what the user gave is wrong."""
    return ExitCode.CRM_FAILED if isinstance(error, CrmReadError) else ExitCode.INVALID


def read_text(path: Path, console: Console, what: str) -> str:
    """Return the UTF-8 text of `path`, or exit 2 naming the problem.

    Only a regular file is read (a FIFO would block, /dev/zero never ends), and at most
    four bytes per character the rule loader accepts: a larger file is refused unread.
    """
    limit = MAX_CHARS * 4
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            fail(console, f"{path}: not a regular file; expected a {what}", EXIT_INVALID)
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)
    except FileNotFoundError:
        fail(console, f"{path}: no such {what}", EXIT_INVALID)
    except IsADirectoryError:
        fail(console, f"{path}: is a directory; expected a {what}", EXIT_INVALID)
    except OSError as exc:
        fail(console, f"{path}: cannot read: {exc.strerror}", EXIT_INVALID)
    if len(raw) > limit:
        fail(
            console,
            f"{path}: larger than {limit:,} bytes; expected a {what} of at most "
            f"{MAX_CHARS:,} characters",
            EXIT_INVALID,
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        fail(
            console,
            f"{path}:{line}:{column}: byte 0x{raw[exc.start]:02X} is not UTF-8; expected a "
            f"{what} saved as UTF-8",
            EXIT_INVALID,
        )


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
    loaded_rules: LoadedRules
    origin: str  # "CSV", "HubSpot", "Salesforce"
    issues: list[RowIssue] = field(default_factory=list)
    issue_total: int = 0
    skipped: int = 0
    unmapped: dict[str, UnmappedCount] = field(default_factory=dict)
    # What was read, per file (CSV) or record kind (CRM): (rows read, rows skipped).
    read: dict[str, tuple[int, int]] = field(default_factory=dict)
    # Which source field feeds each rule field, and the warnings about those it cannot read.
    fields: SourceFields | None = None
    field_warnings: list[RuleIssue] = field(default_factory=list)
    # False for a CRM that requires an owner on every account (connectors' `clears_owner`).
    clears_owner: bool = True
    # CRM field -> values the connector could not read (a number out of range, a date that is
    # none), each read as empty: the CSV source's bad cells, for a CRM.
    unreadable: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_csv(
        cls, csv: CsvLoad, loaded: LoadedRules, fields: SourceFields, warnings: list[RuleIssue]
    ) -> LoadedSource:
        return cls(
            snapshot=csv.snapshot,
            loaded_rules=loaded,
            origin="CSV",
            issues=csv.issues,
            issue_total=sum(csv.issue_counts.values()),
            skipped=sum(csv.skipped.values()),
            unmapped=csv.unmapped,
            read={name: (n, csv.skipped[name]) for name, n in csv.rows_read.items()},
            fields=fields,
            field_warnings=warnings,
        )

    def report(self, console: Console) -> int:
        """Print rows read and kept, row issues and rule warnings; return the warning count."""
        console.print(self.read_line(), highlight=False, soft_wrap=True, markup=False)
        for issue in self.issues[:SHOWN_ROW_ISSUES]:
            console.print(str(issue), highlight=False, soft_wrap=True, markup=False)
        hidden = self.issue_total - min(len(self.issues), SHOWN_ROW_ISSUES)
        if hidden > 0:
            console.print(f"… and {hidden:,} more row issue(s)", highlight=False)
        rule, locate = self.loaded_rules.rule, self.loaded_rules.locate
        warnings = [
            *self.field_warnings,
            *check_rule_against_data(rule, self.snapshot, locate, self.unmapped),
        ]
        if not self.clears_owner:
            warnings += check_rows_without_an_owner(rule, locate, self.origin)
        if self.fields is not None:
            accounts = self.snapshot.accounts
            warnings += check_empty_fields(
                rule, self.fields, accounts, locate_key(self.loaded_rules)
            )
        for warning in warnings:
            console.print(str(warning), highlight=False, soft_wrap=True, markup=False)
        for crm_field, count in sorted(self.unreadable.items()):
            console.print(
                f"warning: {self.origin} field {crm_field}: {count:,} value(s) could not be read "
                "(a number out of range or no number, a date that is none) and count as empty",
                highlight=False,
                soft_wrap=True,
                markup=False,
            )
        return (
            len(warnings)
            + len(self.unreadable)
            + sum(1 for i in self.issues if i.severity == "warning")
            + self.skipped
        )

    def read_line(self) -> str:
        """Per file, the rows read beside the rows kept: "companies.csv 2,000 read, 1,999 kept"."""
        counts = "; ".join(
            f"{name} {read:,} read, {read - skipped:,} kept"
            for name, (read, skipped) in self.read.items()
        )
        return f"read from {self.origin}: {counts}"

    def summary_line(self) -> str:
        accounts = len(self.snapshot.accounts)
        owners = len(self.snapshot.owners)
        read = sum(n for n, _ in self.read.values())
        return (
            f"source: {accounts:,} companies, {owners:,} owners loaded from {self.origin}; "
            f"{read:,} row(s) read, {read - self.skipped:,} kept, {self.skipped:,} skipped"
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
    """Load the org that `spec` names (csv:DIR, hubspot or salesforce) for `loaded`'s rules."""
    if spec in CRM_KINDS:
        return _load_crm(spec, loaded, strict=strict, console=console)
    kind, _, target = spec.partition(":")
    if kind != "csv" or not target:
        raise SourceError(f"--source: expected csv:DIR, hubspot or salesforce, got {spec!r}")
    directory = Path(target)
    if not directory.is_dir():
        raise SourceError(f"--source {spec}: {directory} is not a directory")
    try:
        max_skipped_share = load_settings().csv_max_skipped_share
    except SettingsError as exc:
        raise SourceError(f"--source {spec}: {exc}") from None
    try:
        with progress_bar(console, "Loading CSV", total=None) as advance:
            csv = load_csv_directory(
                directory,
                loaded.rule,
                strict=strict,
                date_format=date_format,
                timezone=timezone,
                progress=advance,
                max_skipped_share=max_skipped_share,
            )
    except SkippedRowsError as exc:
        raise SourceError(
            f"{exc}\nFix the rows above, or allow a larger share with "
            f"TERRITORY_CSV_MAX_SKIPPED_SHARE (now {max_skipped_share:g})"
        ) from None
    except CsvLoadError as exc:
        raise SourceError(str(exc)) from None
    fields = csv.columns.source_fields()
    warnings = _readable_or_refuse(loaded, fields, f"--source {spec}", console)
    return LoadedSource.from_csv(csv, loaded, fields, warnings)


def locate_key(loaded: LoadedRules) -> Locate:
    """Locate a path at its key: `when: {industry: ...}` at `industry`, a list item at itself."""
    return lambda path: loaded.document.locate(path, key=True)


def _readable_or_refuse(
    loaded: LoadedRules, fields: SourceFields, what: str, console: Console
) -> list[RuleIssue]:
    """The warnings about rule fields `fields` cannot read; SourceError, after printing every
    issue, when a row tests one or intent is used and no signal can be read."""
    issues = check_readable(loaded.rule, fields, locate_key(loaded))
    errors = sum(1 for issue in issues if issue.severity == "error")
    if not errors:
        return issues
    for issue in issues:
        console.print(str(issue), highlight=False, soft_wrap=True, markup=False)
    raise SourceError(
        f"{what}: {errors} problem(s) reading the fields the rules use (above): every account "
        "would lack them, so nothing was planned; add or fix the `fields:` lines they name"
    )


_ORIGIN = {"hubspot": "HubSpot", "salesforce": "Salesforce"}


def _load_crm(
    kind: CrmKind, loaded: LoadedRules, *, strict: bool, console: Console
) -> LoadedSource:
    """Pull the org through a CRM connector configured from TERRITORY_* settings."""
    try:
        connector = open_connector(kind, load_settings(), loaded.rule)
    except (SettingsError, CrmSettingsError, ValueError) as exc:
        raise SourceError(f"--source {kind}: {exc}") from None
    if not isinstance(connector, ChecksRuleFields):
        raise TypeError(f"the {kind} connector cannot say which fields it reads")
    try:
        fields = source_fields(connector)
    except ConnectorError as exc:
        raise crm_error(
            exc, f"--source {kind}: cannot read which fields {_ORIGIN[kind]} has: {exc}"
        ) from None
    field_warnings = _readable_or_refuse(loaded, fields, f"--source {kind}", console)
    # Salesforce refuses a query that names a field it lacks; HubSpot would ignore it.
    connector.builder.skip(fields.missing)
    try:
        with progress_bar(console, f"Reading {_ORIGIN[kind]}", total=None) as advance:
            pulled = pull_snapshot(connector, progress=advance)
    except ConnectorError as exc:
        raise crm_error(exc, f"--source {kind}: {exc}") from None
    errors = sum(1 for i in pulled.issues if i.severity == "error")
    if strict and errors:
        raise SourceError(
            f"--source {kind}: {errors} record error(s) and strict mode is on; nothing was "
            "planned (without --strict these records are skipped)"
        )
    unmapped = dict(connector.builder.mapper.counts)
    budget = connector.budget()
    console.print(
        f"{_ORIGIN[kind]}: {budget.calls:,} API call(s), {budget.rate_limited:,} rate-limited",
        highlight=False,
    )
    return LoadedSource(
        snapshot=pulled.snapshot,
        loaded_rules=loaded,
        origin=_ORIGIN[kind],
        issues=pulled.issues,
        issue_total=len(pulled.issues),
        skipped=pulled.skipped,
        unmapped=unmapped,
        read={"companies": (len(pulled.snapshot.accounts) + pulled.skipped, pulled.skipped)},
        fields=fields,
        field_warnings=field_warnings,
        clears_owner=connector.clears_owner,
        unreadable=dict(connector.builder.problems),
    )
