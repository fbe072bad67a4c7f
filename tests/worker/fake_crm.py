"""An in-memory CRM behind the connector protocol, with faults a test switches on.

It keeps the counts the exactly-once promises are checked against: owner writes per record and
notes per marker. It is a test double of the protocol (the write-back code cannot tell it from
a connector); the sandbox over HTTP covers the real clients.
"""

from __future__ import annotations

import copy
import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from connectors.base import (
    BudgetReport,
    CompanyPage,
    FieldCheck,
    Note,
    OwnerState,
    OwnerWrite,
    WriteOutcome,
    WriteResult,
    note_marker,
)
from connectors.errors import ConnectorError, TerminalError, TransientError
from rules.domain import Account, Owner


@dataclass
class FakeCrm:
    """Companies, owners and notes in memory."""

    companies: dict[str, Account]
    owners: dict[str, Owner]
    portal: str = "portal-1"
    name: str = "hubspot"
    notes: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # marker -> id, acct, body
    owner_writes: Counter[str] = field(default_factory=Counter)
    note_posts: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    # Faults
    drop_after_write: set[str] = field(default_factory=set)  # lands, but the answer is lost
    refuse_write: dict[str, ConnectorError] = field(default_factory=dict)
    drop_after_note: set[str] = field(default_factory=set)
    fail_reads: int = 0  # the next N owner reads fail with a 503
    fail_company_pages: ConnectorError | None = None  # every company read fails with it
    page_size: int = 1000
    # Owner writes or notes per batch call: a `write_owners` or `post_notes` call counts (in
    # `calls`) one call per batch, as a real connector makes them.
    write_batch_size: int = 1000
    # Called with the endpoint ("write_owners", "post_notes") before each batch is applied: a
    # test makes a call slow (moves its clock) or lets another worker act meanwhile.
    before_batch: Callable[[str], None] | None = None

    @classmethod
    def from_snapshot(
        cls, accounts: Iterable[Account], owners: Iterable[Owner], **kw: object
    ) -> FakeCrm:
        return cls(
            companies={a.id: copy.copy(a) for a in accounts},
            owners={o.id: o for o in owners},
            **kw,  # type: ignore[arg-type]
        )

    # ---- what a person does in the CRM ------------------------------------------------------

    def hand_edit(self, account_id: str, owner_id: str | None) -> None:
        self.companies[account_id].owner_id = owner_id

    def deactivate(self, owner_id: str) -> None:
        self.owners[owner_id] = dataclasses.replace(self.owners[owner_id], active=False)

    def lock(self, account_id: str) -> None:
        self.companies[account_id].locked = True

    # ---- the protocol -----------------------------------------------------------------------

    @property
    def clears_owner(self) -> bool:
        return self.name != "salesforce"

    def account_id(self) -> str:
        return self.portal

    def iter_company_pages(
        self, *, since: datetime | None = None, resume: str | None = None
    ) -> Iterator[CompanyPage]:
        del since  # every read is a full read here
        self.calls["companies"] += 1
        if self.fail_company_pages is not None:
            raise self.fail_company_pages
        ids = sorted(self.companies)
        start = 0 if resume is None else ids.index(resume) + 1
        while start < len(ids):
            chunk = ids[start : start + self.page_size]
            start += len(chunk)
            yield CompanyPage(
                [copy.copy(self.companies[i]) for i in chunk],
                chunk[-1] if start < len(ids) else None,
            )

    def iter_companies(self, *, since: datetime | None = None) -> Iterator[Account]:
        for page in self.iter_company_pages(since=since):
            yield from page.accounts

    def iter_archived_company_ids(self, *, since: datetime | None = None) -> Iterator[str]:
        return iter(())

    def iter_owners(self) -> Iterator[Owner]:
        return iter(list(self.owners.values()))

    def iter_owner_activity(
        self, account_ids: Iterable[str] | None = None, *, since: datetime | None = None
    ) -> Iterator[tuple[str, str, datetime]]:
        return iter(())

    def read_owners(self, account_ids: Sequence[str]) -> dict[str, str | None]:
        self.calls["read_owners"] += 1
        if self.fail_reads > 0:
            self.fail_reads -= 1
            raise TransientError("service unavailable", status=503)
        return {i: self.companies[i].owner_id for i in account_ids if i in self.companies}

    def read_owner_states(self, account_ids: Sequence[str]) -> dict[str, OwnerState]:
        # The owners come from `read_owners` (counted, faulted and patched there, as one read),
        # the locks ride along as a real connector's do in the same call.
        owners = self.read_owners(account_ids)
        return {i: OwnerState(o, self.companies[i].locked) for i, o in owners.items()}

    def _batches(self, endpoint: str, count: int) -> Iterator[range]:
        """The positions of each batch of a call of `count` inputs, counted as one call each."""
        for start in range(0, count, self.write_batch_size):
            self.calls[endpoint] += 1
            if self.before_batch is not None:
                self.before_batch(endpoint)
            yield range(start, min(count, start + self.write_batch_size))

    def write_owners(self, writes: Sequence[OwnerWrite]) -> list[WriteResult]:
        return [
            self._write_owner(writes[p])
            for batch in self._batches("write_owners", len(writes))
            for p in batch
        ]

    def _write_owner(self, write: OwnerWrite) -> WriteResult:
        refused = self.refuse_write.get(write.account_id)
        if refused is not None:
            return WriteResult(write.account_id, WriteOutcome.FAILED, refused)
        if write.account_id not in self.companies:
            error = TerminalError("no such company", status=404)
            return WriteResult(write.account_id, WriteOutcome.FAILED, error)
        self.companies[write.account_id].owner_id = write.owner_id or None
        self.owner_writes[write.account_id] += 1
        if write.account_id in self.drop_after_write:
            self.drop_after_write.discard(write.account_id)
            error = TransientError("connection dropped after sending")
            return WriteResult(write.account_id, WriteOutcome.UNKNOWN, error)
        return WriteResult(write.account_id, WriteOutcome.APPLIED)

    def find_notes(self, account_ids: Sequence[str], markers: Iterable[str]) -> dict[str, str]:
        self.calls["find_notes"] += 1
        accounts = set(account_ids)
        return {
            m: self.notes[m][0] for m in markers if m in self.notes and self.notes[m][1] in accounts
        }

    def post_notes(self, notes: Sequence[Note]) -> list[WriteResult]:
        return [
            self._post_note(notes[p])
            for batch in self._batches("post_notes", len(notes))
            for p in batch
        ]

    def _post_note(self, note: Note) -> WriteResult:
        assert note_marker(note.change_id) in note.body
        note_id = f"n{len(self.notes) + 1}"
        self.notes[note.marker] = (note_id, note.account_id, note.body)
        self.note_posts[note.marker] += 1
        if note.account_id in self.drop_after_note:
            self.drop_after_note.discard(note.account_id)
            error = TransientError("connection dropped after sending")
            return WriteResult(note.account_id, WriteOutcome.UNKNOWN, error)
        return WriteResult(note.account_id, WriteOutcome.APPLIED, record_id=note_id)

    def ensure_fields(self, *, create: bool = True) -> FieldCheck:
        return FieldCheck()

    def budget(self) -> BudgetReport:
        return BudgetReport(calls=sum(self.calls.values()))
