"""`--source csv:DIR`: companies.csv, owners.csv and optional activities.csv into a Snapshot.

The layout of the files is documented in docs/csv-format.md.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from connectors.files.activities import ACTIVITIES_FILE, read_activities
from connectors.files.cells import DateReader
from connectors.files.companies import COMPANIES_FILE, CompanyReader
from connectors.files.headers import CompanyColumns, company_columns
from connectors.files.hierarchy import link_parents
from connectors.files.issues import CsvLoadError, IssueLog, RowIssue
from connectors.files.owners import OWNERS_FILE, read_owners
from connectors.files.reading import Progress, open_table, refuse_rival_columns
from rules.domain import Snapshot
from rules.schema import RuleFile
from rules.values import UnmappedCount, ValueMapper

# Above this share of owner names matching no single owner, owners.csv is most likely not
# the same CRM's export: loading would turn a mistake into thousands of skipped accounts.
MAX_UNRESOLVED_OWNER_SHARE: Final = 0.05
# Above this share of a file's rows skipped, the file is broken rather than a few rows in it:
# planning the rest would move the missing companies' neighbours and say nothing about them.
MAX_SKIPPED_SHARE: Final = 0.01
_FILE_ORDER: Final = {OWNERS_FILE: 0, COMPANIES_FILE: 1, ACTIVITIES_FILE: 2}


@dataclass(slots=True)
class CsvLoad:
    """A loaded snapshot and what loading found.

    `issues` keeps the first 1000 issues per file (`issue_counts` counts them all); `skipped`
    and `rows_read` count data rows per file (a row read is kept or skipped); `unmapped` is per
    field, "country" included.
    """

    snapshot: Snapshot
    issues: list[RowIssue]
    skipped: dict[str, int]
    rows_read: dict[str, int]
    vocabulary: str | None
    unmapped: dict[str, UnmappedCount]
    columns: CompanyColumns  # which column of companies.csv feeds which field
    issue_counts: dict[str, int] = field(default_factory=dict)
    # Activity rows about companies that were not loaded: counted, not errors.
    unknown_activity_accounts: int = 0


def load_csv_directory(
    directory: Path,
    rule: RuleFile | None,
    *,
    strict: bool = False,
    date_format: str | None = None,
    timezone: str | None = None,
    progress: Progress | None = None,
    max_skipped_share: float = MAX_SKIPPED_SHARE,
) -> CsvLoad:
    """Load the org in `directory`; bad rows are reported and skipped (strict: refused).

    Raise CsvLoadError when a required file or column is missing, a header repeats a column,
    two owners share an email, more than 5% of owner names resolve to no single owner, more
    than `max_skipped_share` of any file's rows are skipped (SkippedRowsError), or in
    strict mode when any row has an error. `progress` is called with the number of rows read
    since its previous call.
    """
    _require_files(directory)
    with _cyclic_gc_paused():
        loaded = _load(
            directory,
            rule,
            strict=strict,
            date_format=date_format,
            timezone=timezone,
            progress=progress,
        )
    _refuse_skipped_share(loaded, max_skipped_share)
    return loaded


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cycle collector while a load builds a million acyclic objects.

    Accounts hold no reference cycles, yet each collection walks all of them: about a fifth of
    a large load's time. Reference counting still frees everything; the prior state returns.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _load(
    directory: Path,
    rule: RuleFile | None,
    *,
    strict: bool,
    date_format: str | None,
    timezone: str | None,
    progress: Progress | None,
) -> CsvLoad:
    try:
        dates = DateReader(date_format, timezone)
    except ValueError as exc:
        raise CsvLoadError(str(exc)) from None
    log = IssueLog()
    rows_read: dict[str, int] = {}
    skipped: dict[str, int] = {}

    with open_table(directory / OWNERS_FILE, log, progress) as table:
        owners = read_owners(table, log)
        rows_read[table.file], skipped[table.file] = table.read, table.skipped

    with open_table(directory / COMPANIES_FILE, log, progress) as table:
        mapping = rule.fields.get("csv", {}) if rule is not None else {}
        signal_names = frozenset(rule.intent.signals) if rule is not None else None
        columns = company_columns(table.headers, mapping, signal_names)
        refuse_rival_columns(
            table.file, columns.conflicts, choose=", or name one in the rule's fields: csv:"
        )
        for rule_field, header in columns.unknown_mappings:
            log.report_warning(
                table.file,
                1,
                header,
                f"the rule's fields.csv.{rule_field} names this column, which the file lacks",
            )
        mapper = ValueMapper(rule, columns.vocabulary)
        companies = CompanyReader(
            table, columns, owners=owners, mapper=mapper, dates=dates, log=log
        ).read()
        rows_read[table.file], skipped[table.file] = table.read, table.skipped
    owner_column = columns.index["owner_id"]
    _refuse_unresolved_owners(
        companies.owner_names,
        companies.owner_names_unresolved,
        columns.header(owner_column) if owner_column >= 0 else None,
        log,
    )
    parent_column = columns.index["parent_id"]
    skipped[COMPANIES_FILE] += link_parents(
        companies,
        by_name="parent_id" in columns.by_name,
        file=COMPANIES_FILE,
        column=columns.header(parent_column) if parent_column >= 0 else "parent_id",
        log=log,
    )

    snapshot = Snapshot(accounts=companies.accounts, owners=owners.owners)
    unknown = 0
    if (directory / ACTIVITIES_FILE).is_file():
        with open_table(directory / ACTIVITIES_FILE, log, progress) as table:
            unknown = read_activities(
                table,
                by_id=companies.by_id,
                owners=owners,
                dates=dates,
                log=log,
                owner_activity=snapshot.owner_activity,
            )
            rows_read[table.file], skipped[table.file] = table.read, table.skipped

    issues = sorted(log.issues, key=lambda i: (_FILE_ORDER.get(i.file, 3), i.row))
    if strict and log.error_total:
        raise CsvLoadError(
            f"{directory}: {log.error_total} row error(s) and strict mode is on; nothing was "
            "loaded (without --strict these rows are skipped)",
            issues,
        )
    unmapped = dict(mapper.counts)
    unmapped["country"] = companies.country
    return CsvLoad(
        snapshot=snapshot,
        issues=issues,
        skipped=skipped,
        rows_read=rows_read,
        vocabulary=columns.vocabulary,
        unmapped=unmapped,
        columns=columns,
        issue_counts=dict(log.counts),
        unknown_activity_accounts=unknown,
    )


class SkippedRowsError(CsvLoadError):
    """More than the allowed share of a file's rows were skipped; nothing was loaded."""


def _refuse_skipped_share(loaded: CsvLoad, max_share: float) -> None:
    over = [
        (file, loaded.skipped[file], read)
        for file, read in loaded.rows_read.items()
        if read and loaded.skipped[file] > max_share * read
    ]
    if not over:
        return
    counts = "; ".join(
        f"{file}: {skipped:,} of {read:,} rows ({skipped / read:.1%})"
        for file, skipped, read in over
    )
    files = {file for file, _, _ in over}
    raise SkippedRowsError(
        f"{counts} skipped for errors, above the {max_share * 100:g}% allowed; a file this broken "
        "would silently shrink the plan, so nothing was loaded",
        [issue for issue in loaded.issues if issue.file in files and issue.severity == "error"],
    )


def _require_files(directory: Path) -> None:
    # Something else of a file's name (a FIFO, a directory, a broken link) is refused by name:
    # an activities.csv that is no file was passed over, and the org loaded without activity.
    odd = [
        name
        for name in (COMPANIES_FILE, OWNERS_FILE, ACTIVITIES_FILE)
        if os.path.lexists(directory / name) and not (directory / name).is_file()
    ]
    if odd:
        raise CsvLoadError(
            f"{directory}: {', '.join(odd)} is not a regular file; a CSV source reads "
            "regular files only, see docs/csv-format.md"
        )
    missing = [name for name in (COMPANIES_FILE, OWNERS_FILE) if not (directory / name).is_file()]
    if missing:
        raise CsvLoadError(
            f"{directory}: missing {', '.join(missing)}; a CSV source needs {COMPANIES_FILE} "
            f"and {OWNERS_FILE} (and may have {ACTIVITIES_FILE}), see docs/csv-format.md"
        )


def _refuse_unresolved_owners(
    named: int, unresolved: int, owner_column: str | None, log: IssueLog
) -> None:
    if named and unresolved / named > MAX_UNRESOLVED_OWNER_SHARE:
        owner_issues = [
            i for i in log.issues if i.file == COMPANIES_FILE and i.column == owner_column
        ]
        raise CsvLoadError(
            f"{COMPANIES_FILE}: {unresolved} of {named} owner names ({unresolved / named:.1%}) "
            f"match no single owner in {OWNERS_FILE} by email or by first and last name; "
            f"above {MAX_UNRESOLVED_OWNER_SHARE:.0%} the files are most likely not from the "
            "same CRM, so nothing was loaded",
            owner_issues,
        )
