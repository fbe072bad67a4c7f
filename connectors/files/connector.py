"""A CSV directory behind the connector protocol: a file-based CRM for dry runs and tests.

Reads come from `load_csv_directory` (loaded once, on first use). An export carries no modified
dates, so an incremental read is a full read, and nothing is ever archived. Writes change
`owner_id` cells in `companies.csv` (replaced atomically: a crash leaves the old file or the
new one, never half of one) and append notes to `notes.csv`. There is no API, so no budget.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Final

from connectors.base import BudgetReport, FieldCheck, Note, OwnerWrite, WriteResult
from connectors.errors import ConflictError, TerminalError
from connectors.files.companies import COMPANIES_FILE
from connectors.files.csv_source import CsvLoad, load_csv_directory
from connectors.files.headers import company_columns
from rules.domain import Account, Owner
from rules.schema import RuleFile

NOTES_FILE: Final = "notes.csv"
NOTE_COLUMNS: Final = ("account_id", "marker", "timestamp", "body")


class CsvConnector:
    """The org in a CSV directory, read and written through the connector protocol."""

    name = "csv"

    def __init__(self, directory: Path, rule: RuleFile | None = None) -> None:
        self.directory = directory
        self.rule = rule
        self._load: CsvLoad | None = None
        self._by_id: dict[str, Account] = {}
        self._owners: dict[str, Owner] = {}

    @property
    def load(self) -> CsvLoad:
        """The directory as loaded (row issues, unmapped values and all)."""
        if self._load is None:
            self._load = load_csv_directory(self.directory, self.rule)
            self._by_id = {a.id: a for a in self._load.snapshot.accounts}
            self._owners = {o.id: o for o in self._load.snapshot.owners}
        return self._load

    # ---- reads ------------------------------------------------------------------------------

    def iter_companies(self, *, since: datetime | None = None) -> Iterator[Account]:
        del since  # an export has no modified dates: every read is a full read
        return iter(self.load.snapshot.accounts)

    def iter_archived_company_ids(self) -> Iterator[str]:
        return iter(())

    def iter_owners(self) -> Iterator[Owner]:
        return iter(self.load.snapshot.owners)

    def iter_owner_activity(
        self, account_ids: Iterable[str] | None = None
    ) -> Iterator[tuple[str, str, datetime]]:
        wanted = None if account_ids is None else set(account_ids)
        for (account, owner), at in sorted(self.load.snapshot.owner_activity.items()):
            if wanted is None or account in wanted:
                yield account, owner, at

    def read_owners(self, account_ids: Sequence[str]) -> dict[str, str | None]:
        self.load  # noqa: B018 - load on first use
        return {i: self._by_id[i].owner_id for i in account_ids if i in self._by_id}

    # ---- writes -----------------------------------------------------------------------------

    def write_owners(self, writes: Sequence[OwnerWrite]) -> list[WriteResult]:
        """Set owners; a write naming an unknown company or owner fails alone."""
        self.load  # noqa: B018 - load on first use
        results: list[WriteResult] = []
        changed: dict[str, str] = {}
        for write in writes:
            if write.account_id not in self._by_id:
                error = TerminalError(f"no company {write.account_id!r}", code="NOT_FOUND")
            elif write.owner_id not in self._owners:
                error = TerminalError(f"no owner {write.owner_id!r}", code="INVALID_OWNER")
            else:
                changed[write.account_id] = write.owner_id
                results.append(WriteResult(write.account_id, ok=True))
                continue
            results.append(WriteResult(write.account_id, ok=False, error=error))
        if changed:
            self._rewrite_owners(changed)
            for account_id, owner_id in changed.items():
                self._by_id[account_id].owner_id = owner_id
        return results

    def _rewrite_owners(self, changed: dict[str, str]) -> None:
        path = self.directory / COMPANIES_FILE
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
        mapping = self.rule.fields.get("csv", {}) if self.rule is not None else {}
        columns = company_columns(rows[0], mapping, None)
        id_col, owner_col = columns.index["id"], columns.index["owner_id"]
        if owner_col < 0:
            raise ConflictError(f"{path}: has no owner column to write")
        by_name = "owner_id" in columns.by_name
        for row in rows[1:]:
            owner = changed.get(row[id_col].strip()) if id_col < len(row) else None
            if owner is not None:
                row[owner_col] = self._owners[owner].full_name if by_name else owner
        _replace(path, rows)

    def find_notes(self, account_ids: Sequence[str], markers: Iterable[str]) -> dict[str, str]:
        wanted, accounts = set(markers), set(account_ids)
        found: dict[str, str] = {}
        for number, row in enumerate(self._notes(), start=2):
            if row.get("marker") in wanted and row.get("account_id") in accounts:
                found.setdefault(row["marker"], f"{NOTES_FILE}:{number}")
        return found

    def _notes(self) -> Iterator[dict[str, str]]:
        path = self.directory / NOTES_FILE
        if not path.is_file():
            return
        with path.open(newline="", encoding="utf-8") as handle:
            yield from csv.DictReader(handle)

    def post_notes(self, notes: Sequence[Note]) -> list[WriteResult]:
        path = self.directory / NOTES_FILE
        existing = sum(1 for _ in self._notes())
        rows = [
            [n.account_id, n.marker, n.timestamp.isoformat(), n.body]
            for n in notes
            if n.account_id in self._known_ids()
        ]
        new_file = not path.is_file()
        with path.open("a", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            if new_file:
                writer.writerow(NOTE_COLUMNS)
            writer.writerows(rows)
        results: list[WriteResult] = []
        line = existing + 2
        for note in notes:
            if note.account_id in self._known_ids():
                results.append(
                    WriteResult(note.account_id, ok=True, record_id=f"{NOTES_FILE}:{line}")
                )
                line += 1
            else:
                error = TerminalError(f"no company {note.account_id!r}", code="NOT_FOUND")
                results.append(WriteResult(note.account_id, ok=False, error=error))
        return results

    def _known_ids(self) -> dict[str, Account]:
        self.load  # noqa: B018 - load on first use
        return self._by_id

    def ensure_fields(self, *, create: bool = True) -> FieldCheck:
        del create  # a CSV file takes any column: nothing to create
        return FieldCheck(detail="a CSV directory needs no fields created")

    def budget(self) -> BudgetReport:
        return BudgetReport()


def _replace(path: Path, rows: list[list[str]]) -> None:
    """Write `rows` to a temporary file beside `path`, then rename it over `path`."""
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed before the rename
        "w", newline="", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False
    )
    try:
        with handle:
            csv.writer(handle).writerows(rows)
            handle.flush()
            os.fsync(handle.fileno())
        Path(handle.name).replace(path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
