"""Write-back: due owner changes reach the CRM once, with their amendment notes.

For each chunk of claimed changes (at most `TERRITORY_APPLY_CHUNK`, 200):

1. read the accounts' current owners and territory locks (one batch read per CRM batch);
2. compare before writing: an account whose `territory_lock` is set (in that read, or in the
   mirror) is never written: the change is a conflict; an owner already at the target is not
   written again; an owner that is neither the change's `from` nor its `to` was changed by
   hand: the change is a conflict, never overwritten, and the account is pinned as a manual
   choice;
3. write the rest, with the territory fields; a write whose outcome is unknown (the connection
   dropped after it was sent) is settled by reading the owner back, never by writing again;
4. post one amendment note per change that reached its target, after looking for the note of
   any change that was claimed before (its note may have landed already);
5. a change is `applied` only when its owner is at the target and its note exists.

The ledger transactions around this are short; the CRM is called outside them. A dry run reads
the CRM exactly as the real run would and reports each change's action, writing nothing.
"""

from __future__ import annotations

import enum
import os
import socket
import time
import uuid
import weakref
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa

from connectors.base import (
    HOLDING_OWNER_REQUIRED,
    Connector,
    OwnerState,
    OwnerWrite,
    WriteOutcome,
    WriteResult,
    note_marker,
    owners_in,
)
from connectors.errors import ConnectorError, TerminalError
from worker.amendments import amendment
from worker.context import WorkerContext
from worker.ledger import LedgerError
from worker.ledger import outbox as ob
from worker.ledger.facts import bound_crm, is_paused
from worker.ledger.mirror import record_owner_writes
from worker.ledger.outbox import ChangeRow, Outcome
from worker.ledger.pins import Pin, add_pins, record_written
from worker.ledger.states import ChangeState
from worker.ledger.tables import amendments, changes, mirror_companies, mirror_owners
from worker.planning import active_rules

Progress = Callable[[int], None]


class Action(enum.StrEnum):
    """What write-back does (or, in a dry run, would do) with one change."""

    WRITE = "write"  # the owner is `from`: write `to`
    AT_TARGET = "at_target"  # already `to`: no owner write, only the note
    CONFLICT = "conflict"  # neither: a hand edit, never overwritten
    MISSING = "missing"  # the CRM no longer has the account
    HOLDING_OWNER_REQUIRED = "holding_owner_required"  # Salesforce cannot clear an owner
    LOCKED = "locked"  # the account's territory_lock is set (CRM or mirror): never written


@dataclass(slots=True)
class ChangeReport:
    """One change as `territory apply --json` lists it."""

    change_id: str
    run_id: int
    account_id: str
    from_owner_id: str | None
    to_owner_id: str | None
    reason: str
    effective_date: date
    state: str
    attempts: int
    action: Action | None = None
    error: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "change_id": self.change_id,
            "run_id": self.run_id,
            "account_id": self.account_id,
            "from_owner_id": self.from_owner_id,
            "to_owner_id": self.to_owner_id,
            "reason": self.reason,
            "effective_date": self.effective_date.isoformat(),
            "action": None if self.action is None else str(self.action),
            "state": self.state,
            "attempts": self.attempts,
            "error": self.error,
        }


@dataclass(slots=True)
class ApplyReport:
    """What one apply did (or would do, in a dry run)."""

    dry_run: bool
    rows: list[ChangeReport] = field(default_factory=list)
    paused: bool = False
    stopped: dict[str, Any] | None = None  # the error that stopped the run early
    lost: int = 0  # rows whose lease expired mid-chunk (the reconciler finishes them)
    out_of_time: bool = False  # the budget ran out between chunks; due work may remain

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for row in self.rows:
            key = str(row.action) if self.dry_run else row.state
            found[key] = found.get(key, 0) + 1
        return dict(sorted(found.items()))

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "paused": self.paused,
            "stopped": self.stopped,
            "counts": self.counts(),
            "changes": [r.as_json() for r in self.rows],
        }


def worker_token() -> str:
    """A claimant's identity: host, process and a random part (a new one per apply)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def apply_due(
    ctx: WorkerContext,
    *,
    run_id: int | None = None,
    dry_run: bool = False,
    max_chunks: int | None = None,
    expired_only: bool = False,
    budget_seconds: float | None = None,
    progress: Progress | None = None,
) -> ApplyReport:
    """Apply the changes due today (of one run, or all); `dry_run` only says what it would do.

    Claims no further chunk once `budget_seconds` have passed (`out_of_time`). A row this apply
    sends back to `due` (a transient failure) waits for the next apply: claimed again at once,
    it would spend every attempt within a second.
    """
    if not dry_run and _paused(ctx):
        # Before the CRM is asked anything: checking (or creating) the territory fields is a
        # call, and a paused ledger's worker would make it every relay.
        return ApplyReport(dry_run=False, paused=True)
    rules = active_rules(ctx)
    spec = ctx.source()
    connector = ctx.connector(spec, rules.rule)
    _require_same_crm(ctx, connector)
    if not dry_run:
        _require_fields(connector)
    job = _Job(ctx, connector, spec, rules.rule.changes.respect_manual_days)
    report = ApplyReport(dry_run=dry_run)
    if dry_run:
        with ctx.ledger.read() as connection:
            rows = _would_claim(connection, ctx.today(), ctx.now(), run_id, expired_only)
        for start in range(0, len(rows), ctx.settings.apply_chunk):
            chunk = rows[start : start + ctx.settings.apply_chunk]
            report.rows.extend(job.preview(chunk))
            if progress is not None:
                progress(len(chunk))
        return report
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    with ctx.ledger.write() as connection:
        ob.promote_due(connection, ctx.today(), now=ctx.now())
    chunks = 0
    sent_back: set[str] = set()
    while max_chunks is None or chunks < max_chunks:
        if chunks and deadline is not None and time.monotonic() > deadline:
            report.out_of_time = True
            break
        if _paused(ctx):
            report.paused = True
            break
        token = worker_token()
        with ctx.ledger.write() as connection:
            claimed = ob.claim(
                connection,
                worker=token,
                limit=ctx.settings.apply_chunk,
                lease=timedelta(seconds=ctx.settings.lease_seconds),
                now=ctx.now(),
                run_id=run_id,
                expired_only=expired_only,
                exclude=sent_back,
            )
        if not claimed:
            break
        chunks += 1
        first = len(report.rows)
        stopped = job.apply(claimed, token, report)
        sent_back.update(r.change_id for r in report.rows[first:] if r.state == ChangeState.DUE)
        if progress is not None:
            progress(len(claimed))
        if stopped is not None:
            report.stopped = stopped.to_json()
            break
    return report


def _paused(ctx: WorkerContext) -> bool:
    with ctx.ledger.read() as connection:
        return is_paused(connection) is not None


def _require_same_crm(ctx: WorkerContext, connector: Connector) -> None:
    with ctx.ledger.read() as connection:
        bound = bound_crm(connection)
    account = connector.account_id()
    if bound is not None and bound[1] != account:
        raise LedgerError(
            f"this ledger belongs to {bound[0]} account {bound[1]}, but the configured CRM is "
            f"account {account}: nothing was written"
        )


# Connectors (by identity, while they live) that found or created the territory fields: a
# worker task or a command checks them once, not once per chunk.
_FIELDS_READY: weakref.WeakValueDictionary[int, Connector] = weakref.WeakValueDictionary()


def _require_fields(connector: Connector) -> None:
    """Create the territory fields the owner writes carry, once per connector; TerminalError
    naming what is missing when they cannot be (nothing is written then)."""
    if _FIELDS_READY.get(id(connector)) is connector:
        return
    check = connector.ensure_fields()
    if not check.ok:
        raise TerminalError(
            f"the territory fields {', '.join(check.missing)} are missing in the CRM and "
            f"could not be created ({check.detail}): nothing was written",
            code="TERRITORY_FIELDS_MISSING",
        )
    _FIELDS_READY[id(connector)] = connector


def _would_claim(
    connection: sa.Connection, today: date, now: datetime, run_id: int | None, expired_only: bool
) -> list[ChangeRow]:
    """The rows a real apply would claim, in the order it would claim them."""
    c = changes.c
    expired = sa.and_(c.state == ChangeState.APPLYING, c.lease_until < now)
    due = sa.or_(
        c.state == ChangeState.DUE,
        sa.and_(c.state == ChangeState.APPROVED, c.effective_date <= today),
    )
    query = sa.select(changes).where(expired if expired_only else sa.or_(due, expired))
    if run_id is not None:
        query = query.where(c.run_id == run_id)
    query = query.order_by(c.effective_date, c.change_id)
    return [ob.row_of(r) for r in connection.execute(query)]


@dataclass(slots=True)
class _Verdict:
    """A claimed row on its way: the action decided, and how it ends."""

    row: ChangeRow
    action: Action | None = None
    current: str | None = None
    reached: bool = False  # the owner is at the target
    wrote: bool = False  # this apply wrote the owner
    state: ChangeState | None = None
    error: dict[str, Any] | None = None
    note_id: str | None = None
    note_found: bool = False
    attempt_failed: bool = False  # its own record failed this time (one attempt spent)
    # A write whose outcome is unknown and could not be read back: it may have landed, so the
    # row stays `applying` until its lease ends and the claim after it reads the owner again.
    unsettled: bool = False

    @property
    def attempts(self) -> int:
        """The row's attempts once this verdict is recorded."""
        return self.row.attempts + (1 if self.attempt_failed else 0)


@dataclass(slots=True)
class _Job:
    """Applies chunks through one connector."""

    ctx: WorkerContext
    connector: Connector
    spec: str
    respect_manual_days: int

    def preview(self, rows: Sequence[ChangeRow]) -> list[ChangeReport]:
        """What a real apply would do with `rows`, from the CRM's current owners and locks."""
        locked = self._locked(rows)
        states = self.connector.read_owner_states(
            [r.account_id for r in rows if r.change_id not in locked]
        )
        locked |= _locked_in(rows, states)
        owners = owners_in(states)
        reports = []
        for row in rows:
            verdict = self._decide(row, owners, locked)
            report = _report(row, verdict.action, str(row.state))
            reports.append(report)
        return reports

    def _locked(self, rows: Sequence[ChangeRow]) -> set[str]:
        """The change ids of `rows` whose account the mirror shows locked (`territory_lock`
        set in the CRM since the plan), but not those whose owner was written already: their
        move happened before the lock, and only their note waits."""
        accounts = {r.account_id for r in rows if _lock_decides(r)}
        if not accounts:
            return set()
        with self.ctx.ledger.read() as connection:
            query = sa.select(mirror_companies.c.account_id).where(
                mirror_companies.c.account_id.in_(sorted(accounts)),
                mirror_companies.c.locked.is_(True),
            )
            found = set(connection.scalars(query))
        return {r.change_id for r in rows if r.account_id in found and _lock_decides(r)}

    def _decide(
        self, row: ChangeRow, owners: Mapping[str, str | None], locked: Collection[str] = ()
    ) -> _Verdict:
        verdict = _Verdict(row)
        if row.change_id in locked and not (
            row.claimed_before and owners.get(row.account_id, _ABSENT) == row.to_owner_id
        ):
            # A person's word in the CRM: never written, whatever the owner is now (a write of
            # an earlier claim that landed before the lock only waits for its note).
            verdict.action = Action.LOCKED
            return verdict
        if row.account_id not in owners:
            verdict.action = Action.MISSING
            return verdict
        current = owners[row.account_id]
        verdict.current = current
        if current == row.to_owner_id:
            verdict.action = Action.AT_TARGET
        elif row.owner_written_at is not None:
            # Written once already; changed by hand since: never written twice.
            verdict.action = Action.CONFLICT
        elif current == row.from_owner_id:
            # Salesforce requires an owner on every account: such a change needs the routing
            # row's `holding_owner`.
            if row.to_owner_id is None and not self.connector.clears_owner:
                verdict.action = Action.HOLDING_OWNER_REQUIRED
            else:
                verdict.action = Action.WRITE
        else:
            verdict.action = Action.CONFLICT
        return verdict

    def apply(
        self, rows: Sequence[ChangeRow], token: str, report: ApplyReport
    ) -> ConnectorError | None:
        """Apply claimed rows and finish them in the ledger; return an error that stops the run."""
        verdicts = {r.change_id: _Verdict(r) for r in rows}
        stop: ConnectorError | None = None
        locked = self._locked(rows)
        for change_id in locked:
            verdicts[change_id] = self._decide(verdicts[change_id].row, {}, locked)
            self._settle_without_write(verdicts[change_id])
        to_read = [r for r in rows if r.change_id not in locked]
        try:
            states = (
                self.connector.read_owner_states([r.account_id for r in to_read]) if to_read else {}
            )
        except ConnectorError as exc:
            for change_id in verdicts.keys() - locked:
                verdict = verdicts[change_id]
                if verdict.row.claimed_before and verdict.row.owner_written_at is None:
                    # An earlier claim may have written it (a lost answer, a crash): in `due`
                    # a plan could cancel a write that landed. It stays `applying` until its
                    # lease ends, and the claim after it reads the owner again.
                    verdict.unsettled = True
                    verdict.error = exc.to_json()
                else:
                    self._wait(verdict, exc)
            stop = exc
        else:
            # A lock set in the CRM since the last sync counts as one the mirror shows.
            locked_now = _locked_in(to_read, states)
            owners = owners_in(states)
            for row in to_read:
                decided = self._decide(row, owners, locked_now)
                verdicts[row.change_id] = decided
                self._settle_without_write(decided)
            # Before each call that changes the CRM (each batch of writes, each of notes), the
            # lease is renewed and the rows another claimant took after ours expired are left
            # alone: it reads, writes and posts for them (see `_next_slice`).
            held = dict(verdicts)
            stop = self._write(token, held)
            stop = self._notes(token, held) or stop
        self._finish(token, verdicts, report)
        return stop

    def _settle_without_write(self, verdict: _Verdict) -> None:
        if verdict.action is Action.AT_TARGET:
            verdict.reached = True
        elif verdict.action is Action.CONFLICT:
            verdict.state = ChangeState.CONFLICT
            message = (
                f"the owner is {verdict.current or 'empty'}: changed by hand after this change "
                "wrote it, not written again"
                if verdict.row.owner_written_at is not None
                else f"the owner is {verdict.current or 'empty'}, neither the change's "
                "previous nor its new owner: changed by hand, not overwritten"
            )
            verdict.error = {"class": "Conflict", "code": "HAND_EDIT", "message": message}
        elif verdict.action is Action.LOCKED:
            verdict.state = ChangeState.CONFLICT
            verdict.error = {
                "class": "Conflict",
                "code": "LOCKED",
                "message": "the account's territory_lock is set in the CRM: not written; the "
                "account stays with its owner while it is locked",
            }
        elif verdict.action is Action.MISSING:
            verdict.state = ChangeState.FAILED
            verdict.error = {
                "class": "TerminalError",
                "code": "ACCOUNT_NOT_FOUND",
                "message": "the CRM no longer has this account",
            }
        elif verdict.action is Action.HOLDING_OWNER_REQUIRED:
            verdict.state = ChangeState.FAILED
            verdict.error = {
                "class": "TerminalError",
                "code": HOLDING_OWNER_REQUIRED,
                "message": "Salesforce requires an owner on every account: give the routing "
                "row a holding_owner; nothing was sent",
            }

    def _next_slice(
        self, token: str, held: dict[str, _Verdict], pending: Sequence[_Verdict]
    ) -> tuple[list[_Verdict], list[_Verdict]]:
        """Renew the lease of every row of `held`, dropping from it those `token` no longer
        holds; return the next batch of `pending` still held (the connector's
        `write_batch_size`, so a slice is one batch call and batches stay full) and the rest.

        One call may take minutes (retries, timeouts) and a chunk makes several: renewed once
        per phase, the lease could run out between two calls and another claimant write or
        post for the same rows while this one still did."""
        self._renew(token, held)
        still = [v for v in pending if v.row.change_id in held]
        size = max(1, self.connector.write_batch_size)
        return still[:size], still[size:]

    def _write(self, token: str, held: dict[str, _Verdict]) -> ConnectorError | None:
        todo = [v for v in held.values() if v.action is Action.WRITE]
        if not todo:
            return None
        now = self.ctx.now()
        stop: ConnectorError | None = None
        unknown: list[tuple[_Verdict, ConnectorError | None]] = []
        pending: list[_Verdict] = todo
        while pending and stop is None:
            part, pending = self._next_slice(token, held, pending)
            if not part:
                break
            try:
                results: Sequence[WriteResult] = self.connector.write_owners(
                    [_owner_write(v.row, now) for v in part]
                )
            except ConnectorError as exc:
                results = exc.results
                stop = exc
            for verdict, result in zip(part, results, strict=False):
                if result.outcome is WriteOutcome.APPLIED:
                    verdict.reached = verdict.wrote = True
                elif result.outcome is WriteOutcome.UNKNOWN:
                    unknown.append((verdict, result.error or stop))
                elif result.outcome is WriteOutcome.NOT_SENT:
                    self._wait(verdict, stop)
                else:
                    self._failed(verdict, result.error, stop)
            for verdict in part[len(results) :]:  # a connector that answered short: never sent
                self._wait(verdict, stop)
        for verdict in pending:  # never sent: the run stopped before their batch
            if verdict.row.change_id in held:
                self._wait(verdict, stop)
        if unknown:
            stop = self._read_back(unknown, stop) or stop
        return stop

    def _read_back(
        self, unknown: Sequence[tuple[_Verdict, ConnectorError | None]], stop: ConnectorError | None
    ) -> ConnectorError | None:
        """Settle writes whose outcome is unknown by reading the owner back: one that did not
        land on an account locked meanwhile is never written again (LOCKED)."""
        try:
            states = self.connector.read_owner_states([v.row.account_id for v, _ in unknown])
        except ConnectorError as exc:
            # Back to `due`, a plan could cancel a write that landed (the mirror's next sync
            # shows the new owner, so nothing proposes it): left `applying` instead, the claim
            # after its lease reads the owner back.
            for verdict, _ in unknown:
                verdict.unsettled = True
                verdict.error = exc.to_json()
            return exc
        owners = owners_in(states)
        for verdict, error in unknown:
            current = owners.get(verdict.row.account_id)
            state = states.get(verdict.row.account_id)
            if verdict.row.account_id not in owners:
                verdict.action = Action.MISSING  # deleted since the write was sent
                self._settle_without_write(verdict)
            elif current == verdict.row.to_owner_id:
                verdict.reached = verdict.wrote = True
            elif state is not None and state.locked:
                verdict.current = current
                verdict.action = Action.LOCKED
                self._settle_without_write(verdict)
            elif current == verdict.row.from_owner_id:
                self._not_landed(verdict, error, stop)  # the next claim writes it
            else:
                verdict.current = current
                verdict.action = Action.CONFLICT
                self._settle_without_write(verdict)
        return None

    def _notes(self, token: str, held: dict[str, _Verdict]) -> ConnectorError | None:
        self._renew(token, held)  # before the lookups too: they may take as long as a post
        reached = [v for v in held.values() if v.reached and v.state is None]
        if not reached:
            return None
        looked = [v for v in reached if v.row.claimed_before]
        try:
            found = self._find(looked)
        except ConnectorError as exc:
            for verdict in reached:
                self._wait(verdict, exc)
            return exc
        for verdict in looked:
            note_id = found.get(note_marker(verdict.row.change_id))
            if note_id is not None:
                verdict.note_id, verdict.note_found = note_id, True
        to_post = [v for v in reached if v.note_id is None]
        if not to_post:
            return None
        names = self._owner_names([v.row for v in to_post])
        now = self.ctx.now()
        stop: ConnectorError | None = None
        unknown: list[tuple[_Verdict, ConnectorError | None]] = []
        pending: list[_Verdict] = to_post
        while pending and stop is None:
            part, pending = self._next_slice(token, held, pending)
            if not part:
                break
            try:
                results: Sequence[WriteResult] = self.connector.post_notes(
                    [amendment(v.row, names, now) for v in part]
                )
            except ConnectorError as exc:
                results = exc.results
                stop = exc
            for verdict, result in zip(part, results, strict=False):
                if result.outcome is WriteOutcome.APPLIED and result.record_id:
                    verdict.note_id = result.record_id
                elif result.outcome is WriteOutcome.UNKNOWN:
                    unknown.append((verdict, result.error or stop))
                elif result.outcome in (WriteOutcome.NOT_SENT, WriteOutcome.APPLIED):
                    self._wait(verdict, stop)
                else:
                    self._failed(verdict, result.error, stop)
            for verdict in part[len(results) :]:
                self._wait(verdict, stop)
        for verdict in pending:  # never posted: the run stopped before their batch
            if verdict.row.change_id in held:
                self._wait(verdict, stop)
        if unknown:
            try:
                found = self._find([v for v, _ in unknown])
            except ConnectorError as exc:
                # Whether they landed is still unknown: the next claim looks before posting.
                for verdict, _ in unknown:
                    self._wait(verdict, exc)
                return stop or exc
            for verdict, error in unknown:
                note_id = found.get(note_marker(verdict.row.change_id))
                if note_id is None:
                    self._not_landed(verdict, error, stop)  # post it on the next claim
                else:
                    verdict.note_id, verdict.note_found = note_id, True
        return stop

    def _find(self, verdicts: Sequence[_Verdict]) -> dict[str, str]:
        if not verdicts:
            return {}
        return self.connector.find_notes(
            [v.row.account_id for v in verdicts], [note_marker(v.row.change_id) for v in verdicts]
        )

    def _owner_names(self, rows: Sequence[ChangeRow]) -> dict[str, str]:
        ids = sorted({o for r in rows for o in (r.from_owner_id, r.to_owner_id) if o})
        with self.ctx.ledger.read() as connection:
            query = sa.select(
                mirror_owners.c.owner_id, mirror_owners.c.first_name, mirror_owners.c.last_name
            ).where(mirror_owners.c.owner_id.in_(ids))
            return {
                o: f"{first or ''} {last or ''}".strip()
                for o, first, last in connection.execute(query)
            }

    def _not_landed(
        self, verdict: _Verdict, error: ConnectorError | None, stop: ConnectorError | None
    ) -> None:
        """A write or note whose outcome was unknown did not land: its own failure spends an
        attempt; a call that failed as a whole (`stop`, an outage) spends none."""
        if stop is not None and error is stop:
            self._wait(verdict, error)
        else:
            self._retry_later(verdict, error)

    def _retry_later(self, verdict: _Verdict, error: ConnectorError | None) -> None:
        """Back to `due` for another claim after a failure of this change's own record;
        failed once the attempts are spent. Only such failures count: a claim that met an
        outage spent none, so the first own failure after a long outage does not fail it."""
        if verdict.state is not None:
            return
        verdict.attempt_failed = True
        spent = verdict.attempts >= self.ctx.settings.max_attempts
        self._end(
            verdict, error, ChangeState.FAILED if spent and error is not None else ChangeState.DUE
        )

    def _wait(self, verdict: _Verdict, error: ConnectorError | None) -> None:
        """Back to `due` after a call failed as a whole (a read, a refused or unsent batch):
        the record was not at fault, so no attempt is spent. A revoked token, a spent daily
        allowance or an outage leaves the changes waiting for a person, never failed."""
        self._end(verdict, error, ChangeState.DUE)

    def _end(self, verdict: _Verdict, error: ConnectorError | None, state: ChangeState) -> None:
        if verdict.state is None:
            verdict.state = state
            verdict.error = error.to_json() if error is not None else None

    def _failed(
        self, verdict: _Verdict, error: ConnectorError | None, stop: ConnectorError | None
    ) -> None:
        # A call refused as a whole (`stop`: an expired token, a missing scope) refused none of
        # its records: the change waits for the next apply, so an owner written before the
        # refusal still gets its note once a person fixed the cause.
        if error is not None and error is stop:
            self._wait(verdict, error)
            return
        if error is not None and error.retryable:
            self._retry_later(verdict, error)
            return
        if verdict.state is not None:
            return
        verdict.attempt_failed = True
        verdict.state = ChangeState.FAILED
        verdict.error = (
            error.to_json()
            if error is not None
            else {"class": "TerminalError", "message": "the CRM refused the record"}
        )

    def _renew(self, token: str, held: dict[str, _Verdict]) -> None:
        """Renew the lease of the rows of `held`; drop from it those `token` no longer holds
        (another claimant took them after our lease ran out)."""
        if held:
            kept = self._still_held(token, held)
            for change_id in held.keys() - kept.keys():
                del held[change_id]

    def _still_held(self, token: str, verdicts: Mapping[str, _Verdict]) -> dict[str, _Verdict]:
        """The verdicts whose rows `token` still holds, their lease renewed."""
        until = self.ctx.now() + timedelta(seconds=self.ctx.settings.lease_seconds)
        with self.ctx.ledger.write() as connection:
            held = ob.extend_lease(connection, token, list(verdicts), until=until)
        return {i: v for i, v in verdicts.items() if i in held}

    def _finish(self, token: str, verdicts: Mapping[str, _Verdict], report: ApplyReport) -> None:
        now = self.ctx.now()
        outcomes: list[Outcome] = []
        written: dict[str, tuple[str | None, str]] = {}
        pins: list[Pin] = []
        notes: list[dict[str, Any]] = []
        for verdict in verdicts.values():
            row = verdict.row
            if verdict.unsettled:
                continue  # stays `applying` under its lease (see `_Verdict.unsettled`)
            if verdict.state is None and verdict.reached and verdict.note_id is not None:
                verdict.state = ChangeState.APPLIED
                written[row.account_id] = (row.to_owner_id, row.change_id)
                notes.append(
                    {
                        "change_id": row.change_id,
                        "account_id": row.account_id,
                        "note_id": verdict.note_id,
                        "found": verdict.note_found,
                        "posted_at": now,
                    }
                )
            elif verdict.state is None:
                verdict.state = ChangeState.DUE
            elif verdict.reached and verdict.wrote:
                written[row.account_id] = (row.to_owner_id, row.change_id)
            # A hand edit is pinned for respect_manual_days; a locked account is pinned by its
            # lock (the plan keeps every account the mirror shows locked, and the mirror learns
            # below a lock the read found) while it holds.
            hand_edit = verdict.action is not Action.LOCKED
            if verdict.state is ChangeState.CONFLICT and hand_edit and self.respect_manual_days > 0:
                until = self.ctx.today() + timedelta(days=self.respect_manual_days)
                pins.append(Pin(row.account_id, verdict.current, "conflict", until, row.change_id))
            outcomes.append(
                Outcome(
                    row.change_id,
                    verdict.state,
                    verdict.error,
                    verdict.note_id,
                    # Recorded even when the note failed: the mirror shows the new owner now,
                    # and a row waiting only for its note must not be cancelled by a plan.
                    owner_written=verdict.reached,
                    attempt_failed=verdict.attempt_failed,
                )
            )
        with self.ctx.ledger.write() as connection:
            lost = set(ob.finish(connection, token, outcomes, now=now))
            ob.record_errors(
                connection,
                token,
                {i: v.error for i, v in verdicts.items() if v.unsettled and v.error is not None},
                now=now,
            )
            kept = [n for n in notes if n["change_id"] not in lost]
            if kept:
                done = set(
                    connection.scalars(
                        sa.select(amendments.c.change_id).where(
                            amendments.c.change_id.in_([n["change_id"] for n in kept])
                        )
                    )
                )
                fresh = [n for n in kept if n["change_id"] not in done]
                if fresh:
                    connection.execute(sa.insert(amendments), fresh)
            kept_writes = {a: w for a, w in written.items() if w[1] not in lost}
            record_written(connection, kept_writes, now=now)
            record_owner_writes(connection, {a: owner for a, (owner, _) in kept_writes.items()})
            add_pins(connection, [p for p in pins if p.change_id not in lost], now=now)
            _mirror_locks(
                connection,
                {
                    v.row.account_id
                    for v in verdicts.values()
                    if v.action is Action.LOCKED and v.row.change_id not in lost
                },
            )
        report.lost += len(lost)
        for verdict in verdicts.values():
            if verdict.row.change_id in lost:
                continue
            if verdict.unsettled:
                verdict.state = ChangeState.APPLYING
            report.rows.append(
                _report(
                    verdict.row,
                    verdict.action,
                    str(verdict.state),
                    verdict.error,
                    attempts=verdict.attempts,
                )
            )


def _owner_write(row: ChangeRow, now: datetime) -> OwnerWrite:
    """The write that moves `row`'s account to its new owner, with the territory fields."""
    return OwnerWrite(
        account_id=row.account_id,
        owner_id=row.to_owner_id,
        fields={
            "territory": row.team or "",
            "rule_revision": row.rule_revision,
            "effective_date": row.effective_date.isoformat(),
            "assigned_at": now.isoformat(),
        },
    )


_ABSENT: Final = object()  # an account the owner read did not find


def _lock_decides(row: ChangeRow) -> bool:
    """Whether a lock alone settles `row` without reading its owner: not when its owner was
    written already, nor when an earlier claim may have written it (its note must follow)."""
    return row.owner_written_at is None and not row.claimed_before


def _locked_in(rows: Sequence[ChangeRow], states: Mapping[str, OwnerState]) -> set[str]:
    """The change ids of `rows` whose account `states` shows locked, as `_Job._locked` picks
    them from the mirror: not those whose owner was written already (only their note waits)."""
    return {
        r.change_id
        for r in rows
        if r.owner_written_at is None
        and (state := states.get(r.account_id)) is not None
        and state.locked
    }


def _mirror_locks(connection: sa.Connection, account_ids: Collection[str]) -> None:
    """Mark `account_ids` locked in the mirror: the CRM said so in the read before writing, so
    a plan made before the next sync keeps them with their owners too."""
    if account_ids:
        connection.execute(
            sa.update(mirror_companies)
            .where(mirror_companies.c.account_id.in_(sorted(account_ids)))
            .values(locked=True)
        )


def _report(
    row: ChangeRow,
    action: Action | None,
    state: str,
    error: dict[str, Any] | None = None,
    *,
    attempts: int | None = None,
) -> ChangeReport:
    return ChangeReport(
        change_id=row.change_id,
        run_id=row.run_id,
        account_id=row.account_id,
        from_owner_id=row.from_owner_id,
        to_owner_id=row.to_owner_id,
        reason=row.reason,
        effective_date=row.effective_date,
        state=state,
        attempts=row.attempts if attempts is None else attempts,
        action=action,
        error=error if error is not None else row.error,
    )
