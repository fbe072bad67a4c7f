"""A CSV directory behind the connector protocol: a file-based CRM for dry runs and tests.

Reads come from `load_csv_directory` (loaded once, on first use), as one page of companies. An
export carries no modified dates, so an incremental read is a full read, and nothing is ever
archived. The account a ledger binds to is the directory's resolved path. Writes change
`owner_id` cells in `companies.csv` (an empty cell for no owner; the file is replaced
atomically, once per batch: a crash leaves the old file or the new one, never half of one) and
append notes to `notes.csv`, with the outcomes of `connectors.base`: a write naming an unknown
company or owner fails alone; a file that cannot be written stops the run (a TerminalError
carrying every input's outcome). A batch is the whole call unless `write_batch_size` says
otherwise. There is no API, so no budget.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Final

from connectors.base import (
    BudgetReport,
    CompanyPage,
    FieldCheck,
    Note,
    OwnerState,
    OwnerWrite,
    WriteOutcome,
    WriteResult,
)
from connectors.batching import BatchedWrite, in_batches
from connectors.errors import ConflictError, ConnectorError, TerminalError
from connectors.files.companies import COMPANIES_FILE
from connectors.files.csv_source import CsvLoad, load_csv_directory
from connectors.files.headers import company_columns
from rules.domain import Account, Owner
from rules.schema import RuleFile

NOTES_FILE: Final = "notes.csv"
NOTE_COLUMNS: Final = ("account_id", "marker", "timestamp", "body")
# The batch size a connector without `write_batch_size` reports: any chunk is one batch.
WHOLE_CALL: Final = 1_000_000


class CsvConnector:
    """The org in a CSV directory, read and written through the connector protocol."""

    name = "csv"
    clears_owner = True  # an empty owner_id cell is an account without an owner

    def __init__(
        self,
        directory: Path,
        rule: RuleFile | None = None,
        *,
        write_batch_size: int | None = None,
    ) -> None:
        self.directory = directory
        self.rule = rule
        self._write_batch_size = write_batch_size
        self._load: CsvLoad | None = None
        self._by_id: dict[str, Account] = {}
        self._owners: dict[str, Owner] = {}

    @property
    def write_batch_size(self) -> int:
        """Writes or notes per batch (each batch replaces or appends to its file once): the
        `write_batch_size` given, or the whole call."""
        return self._write_batch_size or WHOLE_CALL

    @property
    def load(self) -> CsvLoad:
        """The directory as loaded (row issues, unmapped values and all)."""
        if self._load is None:
            self._load = load_csv_directory(self.directory, self.rule)
            self._by_id = {a.id: a for a in self._load.snapshot.accounts}
            self._owners = {o.id: o for o in self._load.snapshot.owners}
        return self._load

    # ---- reads ------------------------------------------------------------------------------

    def account_id(self) -> str:
        return str(self.directory.resolve())

    def iter_company_pages(
        self, *, since: datetime | None = None, resume: str | None = None
    ) -> Iterator[CompanyPage]:
        """The whole file as one page (an export has no modified dates: every read is full)."""
        del since
        if resume is not None:
            raise TerminalError(
                f"a CSV directory is read in one page: no page follows {resume!r}", code="RESUME"
            )
        yield CompanyPage(list(self.load.snapshot.accounts), None)

    def iter_companies(self, *, since: datetime | None = None) -> Iterator[Account]:
        del since  # an export has no modified dates: every read is a full read
        return iter(self.load.snapshot.accounts)

    def iter_archived_company_ids(self, *, since: datetime | None = None) -> Iterator[str]:
        del since
        return iter(())

    def iter_owners(self) -> Iterator[Owner]:
        return iter(self.load.snapshot.owners)

    def iter_owner_activity(
        self, account_ids: Iterable[str] | None = None, *, since: datetime | None = None
    ) -> Iterator[tuple[str, str, datetime]]:
        wanted = None if account_ids is None else set(account_ids)
        for (account, owner), at in sorted(self.load.snapshot.owner_activity.items()):
            if (wanted is None or account in wanted) and (since is None or at >= since):
                yield account, owner, at

    def read_owners(self, account_ids: Sequence[str]) -> dict[str, str | None]:
        self.load  # noqa: B018 - load on first use
        return {i: self._by_id[i].owner_id for i in account_ids if i in self._by_id}

    def read_owner_states(self, account_ids: Sequence[str]) -> dict[str, OwnerState]:
        """Owner and `territory_lock` cell per company, as the file holds them now."""
        self.load  # noqa: B018 - load on first use
        return {
            i: OwnerState(self._by_id[i].owner_id, self._by_id[i].locked)
            for i in account_ids
            if i in self._by_id
        }

    # ---- writes -----------------------------------------------------------------------------

    def write_owners(self, writes: Sequence[OwnerWrite]) -> list[WriteResult]:
        """Set owners (None empties the cell); a write naming an unknown company or owner
        fails alone."""
        self.load  # noqa: B018 - load on first use
        run = BatchedWrite([w.account_id for w in writes])
        valid: list[int] = []
        for position, write in enumerate(writes):
            if write.account_id not in self._by_id:
                error = TerminalError(f"no company {write.account_id!r}", code="NOT_FOUND")
            elif write.owner_id is not None and write.owner_id not in self._owners:
                error = TerminalError(f"no owner {write.owner_id!r}", code="INVALID_OWNER")
            else:
                valid.append(position)
                continue
            run.sent([position], 1)
            run.refuse(position, error)
        for batch in self._batches(valid):
            changed = {writes[p].account_id: writes[p].owner_id for p in batch}
            try:
                self._rewrite_owners(changed)
            except (ConnectorError, OSError) as failure:
                run.stop(_file_error(failure, COMPANIES_FILE), batch)
            for account_id, owner_id in changed.items():
                self._by_id[account_id].owner_id = owner_id
            run.sent(batch, 1)
            for position in batch:
                run.settle(position, WriteOutcome.APPLIED)
        return run.results()

    def _batches(self, positions: list[int]) -> list[list[int]]:
        return list(in_batches(positions, self._write_batch_size or max(1, len(positions))))

    def _rewrite_owners(self, changed: dict[str, str | None]) -> None:
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
            account_id = row[id_col].strip() if id_col < len(row) else ""
            if account_id not in changed:
                continue
            owner = changed[account_id]
            if owner is None:
                row[owner_col] = ""
            else:
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
        """Append notes to notes.csv; a note on an unknown company fails alone."""
        run = BatchedWrite([n.account_id for n in notes])
        known: list[int] = []
        for position, note in enumerate(notes):
            if note.account_id in self._known_ids():
                known.append(position)
            else:
                run.sent([position], 1)
                run.refuse(
                    position, TerminalError(f"no company {note.account_id!r}", code="NOT_FOUND")
                )
        line = sum(1 for _ in self._notes()) + 2  # the header, then one line per note
        for batch in self._batches(known):
            self._append_notes([notes[p] for p in batch], batch, run)
            run.sent(batch, 1)
            for position in batch:
                run.settle(position, WriteOutcome.APPLIED, record_id=f"{NOTES_FILE}:{line}")
                line += 1
        return run.results()

    def _append_notes(self, notes: list[Note], batch: list[int], run: BatchedWrite) -> None:
        """Append `notes`; a failure stops the run with them failed when the file is as it
        was, unknown when some rows may have been written."""
        path = self.directory / NOTES_FILE
        size = path.stat().st_size if path.is_file() else None
        rows = [[n.account_id, n.marker, n.timestamp.isoformat(), n.body] for n in notes]
        try:
            _append(path, rows)
        except OSError as failure:
            unchanged = (path.stat().st_size if path.is_file() else None) == size
            outcome = WriteOutcome.FAILED if unchanged else WriteOutcome.UNKNOWN
            run.stop(_file_error(failure, NOTES_FILE), batch, outcome=outcome)

    def _known_ids(self) -> dict[str, Account]:
        self.load  # noqa: B018 - load on first use
        return self._by_id

    def ensure_fields(self, *, create: bool = True) -> FieldCheck:
        del create  # a CSV file takes any column: nothing to create
        return FieldCheck(detail="a CSV directory needs no fields created")

    def budget(self) -> BudgetReport:
        return BudgetReport()


def _file_error(failure: ConnectorError | OSError, name: str) -> ConnectorError:
    """A file the run cannot write, as the connector error that stops it."""
    if isinstance(failure, ConnectorError):
        return failure
    return TerminalError(f"cannot write {name}: {failure.strerror or failure}", code="FILE")


def _append(path: Path, rows: list[list[str]]) -> None:
    """Append `rows` to the notes file at `path`, creating it with its header."""
    new_file = not path.is_file()
    with path.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if new_file:
            writer.writerow(NOTE_COLUMNS)
        writer.writerows(rows)


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
