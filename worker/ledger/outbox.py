"""Owner changes as an outbox: recorded from plans, approved per class, claimed, finished.

Every function takes an open connection (one short transaction, see `Ledger.write`); none
talks to a CRM. A worker claims due rows (`applying` with a lease), talks to the CRM outside any
transaction, then finishes each row it still holds. Rows whose lease expired are claimed again
(the reconciler's work), and the write-back path compares before it writes and looks for the
note before it posts, so a row applied twice has one effect.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa

from rules.reasons import Share
from worker.ledger.database import upsert
from worker.ledger.states import (
    OPEN_STATES,
    REPLACEABLE_STATES,
    ChangeState,
)
from worker.ledger.tables import change_counters, changes


@dataclass(frozen=True, slots=True)
class ChangeRow:
    """One change as the ledger holds it."""

    change_id: str
    run_id: int
    account_id: str
    from_owner_id: str | None
    to_owner_id: str | None
    reason: str
    share: Share
    routing_row: str | None
    routing_line: int | None
    team: str | None
    rule_revision: str
    effective_date: date
    state: ChangeState
    attempts: int  # failures of its own record (TERRITORY_MAX_ATTEMPTS of them fail it)
    error: dict[str, Any] | None
    note_id: str | None
    supersedes: str | None
    approved_by: str | None
    lease_until: datetime | None
    claimed_by: str | None
    created_at: datetime
    applied_at: datetime | None
    owner_written_at: datetime | None = None
    claims: int = 0  # how often a worker claimed it

    @property
    def replaceable(self) -> bool:
        """Open, held by no worker, and not yet at its target: a plan may supersede or cancel
        it, a person may cancel it. A row whose owner was written waits only for its note and
        is treated like one in `applying` (docs/worker.md, "Owner changes and their states")."""
        return self.state in REPLACEABLE_STATES and self.owner_written_at is None

    @property
    def claimed_before(self) -> bool:
        """For a row just claimed: another claim came first, so its write or note may have
        landed already (look before writing; look for the note before posting)."""
        return self.claims > 1


def row_of(record: sa.Row[Any]) -> ChangeRow:
    """A `changes` row as a ChangeRow."""
    m = record._mapping
    return ChangeRow(
        change_id=m["change_id"],
        run_id=m["run_id"],
        account_id=m["account_id"],
        from_owner_id=m["from_owner_id"],
        to_owner_id=m["to_owner_id"],
        reason=m["reason"],
        share=Share(m["share"]),
        routing_row=m["routing_row"],
        routing_line=m["routing_line"],
        team=m["team"],
        rule_revision=m["rule_revision"],
        effective_date=m["effective_date"],
        state=ChangeState(m["state"]),
        attempts=m["attempts"],
        error=m["error"],
        note_id=m["note_id"],
        supersedes=m["supersedes"],
        approved_by=m["approved_by"],
        lease_until=m["lease_until"],
        claimed_by=m["claimed_by"],
        created_at=m["created_at"],
        applied_at=m["applied_at"],
        owner_written_at=m["owner_written_at"],
        claims=m["claims"],
    )


@dataclass(frozen=True, slots=True)
class NewChange:
    """A change a plan proposes, as the ledger records it."""

    change_id: str
    account_id: str
    from_owner_id: str | None
    to_owner_id: str | None
    reason: str
    share: Share
    routing_row: str | None
    routing_line: int | None
    team: str | None
    rule_revision: str
    effective_date: date
    supersedes: str | None = None


@dataclass(frozen=True, slots=True)
class Recorded:
    """What recording a plan's changes did to the outbox."""

    inserted: tuple[str, ...] = ()  # change ids of new rows
    kept: tuple[str, ...] = ()  # the same proposal, already open: row, id and date kept
    superseded: tuple[str, ...] = ()
    cancelled: tuple[str, ...] = ()
    deferred: tuple[str, ...] = ()  # accounts whose open change a worker holds right now
    escalated: tuple[str, ...] = ()  # kept rows a forced cause now proposes (earlier date)
    # Proposals not recorded: a worker or a person finished their row (or the row they would
    # supersede) while the plan ran; the next plan starts from what happened.
    settled: tuple[str, ...] = ()


# The key of the one PostgreSQL advisory lock that recording a plan, a rollback or a
# departure's cancellations hold for their transaction.
_RECORDERS_LOCK: Final = 0x7465727269746F72  # "territor"


def serialise_recorders(connection: sa.Connection) -> None:
    """Take (on PostgreSQL) the lock every transaction that records or cancels open changes
    in bulk holds until it ends, before it reads them. Row locks alone are not enough: under
    READ COMMITTED a recorder that waited on a row lock reads with its old snapshot, misses
    the rows the other one inserted, and could give an account a second open change. SQLite
    runs one writer at a time already. Re-entrant within a transaction."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_RECORDERS_LOCK)))


def open_changes(connection: sa.Connection, *, lock: bool = False) -> dict[str, ChangeRow]:
    """The open change per account (at most one); `lock`: held until the transaction ends, so
    no claim takes one of them meanwhile (PostgreSQL; SQLite's writer holds the database)."""
    query = sa.select(changes).where(changes.c.state.in_(OPEN_STATES))
    if lock and connection.dialect.name == "postgresql":
        query = _locked_in_order(query)
    return {row.account_id: row for row in map(row_of, connection.execute(query))}


def change_counts(connection: sa.Connection) -> dict[str, int]:
    """How many changes each account has ever had (pruned rows included)."""
    query = sa.select(change_counters.c.account_id, change_counters.c.count)
    return dict(connection.execute(query).all())


def _count_new(connection: sa.Connection, account_ids: Sequence[str]) -> None:
    """Add one to each account's change counter."""
    counts = change_counts_of(connection, account_ids)
    rows = [{"account_id": a, "count": counts.get(a, 0) + 1} for a in account_ids]
    upsert(connection, change_counters, rows, ["account_id"])


def change_counts_of(connection: sa.Connection, account_ids: Sequence[str]) -> dict[str, int]:
    """The change counters of `account_ids`."""
    found: dict[str, int] = {}
    for chunk in _chunks(list(account_ids), 500):
        query = sa.select(change_counters.c.account_id, change_counters.c.count).where(
            change_counters.c.account_id.in_(chunk)
        )
        found.update(dict(connection.execute(query).all()))
    return found


def record_changes(
    connection: sa.Connection,
    run_id: int,
    proposed: Sequence[NewChange],
    *,
    now: datetime,
    cancel_unproposed: bool,
    initial_state: Mapping[str, ChangeState] | None = None,
) -> Recorded:
    """Record a plan's changes; the same proposal keeps its row (docs/engine.md, "Identity").

    A different proposal for an account supersedes its open row; with `cancel_unproposed`, an
    open row no proposal mentions is cancelled. A row in `applying` is never touched: a new
    proposal for its account waits for the next plan (`deferred`), and so does one whose owner
    was written while its note waits (`owner_written_at`): it is never superseded or cancelled.
    `initial_state` gives each new row's state by change id (default `planned`).

    The plan was computed from open changes read earlier: a proposal whose row (or the row it
    supersedes) has meanwhile reached a final state (applied by a worker, declined, cancelled)
    is not recorded (`settled`): its picture of the account is out of date.
    """
    serialise_recorders(connection)
    # Locked: a row a worker claimed after this read would get a second open change beside it.
    current = open_changes(connection, lock=True)
    finished = _finished_ids(
        connection, [i for c in proposed for i in (c.change_id, c.supersedes) if i is not None]
    )
    proposed_accounts = {c.account_id for c in proposed}
    inserted: list[str] = []
    kept: list[str] = []
    superseded: list[str] = []
    deferred: list[str] = []
    escalated: list[str] = []
    settled: list[str] = []
    rows: list[dict[str, Any]] = []
    states = initial_state or {}
    for change in proposed:
        if change.change_id in finished or change.supersedes in finished:
            settled.append(change.change_id)
            continue
        existing = current.get(change.account_id)
        if existing is not None and existing.change_id == change.change_id:
            kept.append(change.change_id)
            sooner = change.effective_date < existing.effective_date
            now_forced = change.share is Share.FORCED and existing.share is not Share.FORCED
            if (sooner or now_forced) and existing.replaceable:
                # A more urgent cause proposes the same move: it takes the earlier date, and a
                # forced cause (the owner left) takes the move out of a discretionary share
                # waiting for approval.
                if now_forced:
                    escalated.append(change.change_id)
                connection.execute(
                    sa.update(changes)
                    .where(changes.c.change_id == existing.change_id)
                    .values(
                        effective_date=min(change.effective_date, existing.effective_date),
                        reason=str(change.reason),
                        share=str(change.share),
                        updated_at=now,
                    )
                )
            continue
        if existing is not None and not existing.replaceable:
            deferred.append(change.account_id)
            continue
        if existing is not None:
            superseded.append(existing.change_id)
        inserted.append(change.change_id)
        rows.append(
            {
                "change_id": change.change_id,
                "run_id": run_id,
                "account_id": change.account_id,
                "from_owner_id": change.from_owner_id,
                "to_owner_id": change.to_owner_id,
                "reason": str(change.reason),
                "share": str(change.share),
                "routing_row": change.routing_row,
                "routing_line": change.routing_line,
                "team": change.team,
                "rule_revision": change.rule_revision,
                "effective_date": change.effective_date,
                "state": str(states.get(change.change_id, ChangeState.PLANNED)),
                "attempts": 0,
                "claims": 0,
                "supersedes": existing.change_id if existing is not None else change.supersedes,
                "created_at": now,
                "updated_at": now,
            }
        )
    # An owner-written row no plan proposes any more (the mirror shows its target) is not
    # cancelled: it waits for its note like a row in `applying`.
    deferred.extend(
        account_id
        for account_id, row in current.items()
        if cancel_unproposed
        and account_id not in proposed_accounts
        and row.state in REPLACEABLE_STATES
        and not row.replaceable
    )
    cancelled = (
        [
            row.change_id
            for account_id, row in current.items()
            if account_id not in proposed_accounts and row.replaceable
        ]
        if cancel_unproposed
        else []
    )
    _set_state(connection, superseded, ChangeState.SUPERSEDED, now, REPLACEABLE_STATES)
    _set_state(connection, cancelled, ChangeState.CANCELLED, now, REPLACEABLE_STATES)
    for chunk in _chunks(rows, 500):
        connection.execute(sa.insert(changes), chunk)
    _count_new(connection, [r["account_id"] for r in rows])
    return Recorded(
        inserted=tuple(inserted),
        kept=tuple(kept),
        superseded=tuple(superseded),
        cancelled=tuple(cancelled),
        deferred=tuple(deferred),
        escalated=tuple(escalated),
        settled=tuple(settled),
    )


def _finished_ids(connection: sa.Connection, change_ids: Sequence[str]) -> set[str]:
    """Those of `change_ids` whose rows exist in a final state."""
    found: set[str] = set()
    for chunk in _chunks(sorted(set(change_ids)), 500):
        query = sa.select(changes.c.change_id).where(
            changes.c.change_id.in_(chunk), changes.c.state.not_in(list(OPEN_STATES))
        )
        found.update(connection.scalars(query))
    return found


def approve(
    connection: sa.Connection,
    *,
    run_id: int,
    who: str,
    now: datetime,
    share: Share | None = None,
) -> int:
    """Approve the run's changes waiting in `planned` (of one share, or all); return how many."""
    condition = sa.and_(changes.c.run_id == run_id, changes.c.state == ChangeState.PLANNED)
    if share is not None:
        condition = sa.and_(condition, changes.c.share == share)
    result = connection.execute(
        sa.update(changes)
        .where(_in_lock_order(connection, condition))
        .values(state=ChangeState.APPROVED, approved_by=who, approved_at=now, updated_at=now)
    )
    return result.rowcount


def approve_changes(
    connection: sa.Connection, change_ids: Sequence[str], *, who: str, now: datetime
) -> int:
    """Approve these changes where they wait in `planned`; return how many."""
    condition = sa.and_(
        changes.c.change_id.in_(list(change_ids)), changes.c.state == ChangeState.PLANNED
    )
    result = connection.execute(
        sa.update(changes)
        .where(_in_lock_order(connection, condition))
        .values(state=ChangeState.APPROVED, approved_by=who, approved_at=now, updated_at=now)
    )
    return result.rowcount


def decline(connection: sa.Connection, *, run_id: int, who: str, now: datetime) -> int:
    """Decline the run's changes still waiting in `planned`; return how many."""
    condition = sa.and_(changes.c.run_id == run_id, changes.c.state == ChangeState.PLANNED)
    result = connection.execute(
        sa.update(changes)
        .where(_in_lock_order(connection, condition))
        .values(state=ChangeState.DECLINED, approved_by=who, approved_at=now, updated_at=now)
    )
    return result.rowcount


@dataclass(frozen=True, slots=True)
class Cancelled:
    """What cancelling changes did: the ids cancelled, and those that were not."""

    cancelled: tuple[ChangeRow, ...] = ()  # as they were before
    # Found but not cancellable (as they are now, locked): held by a worker, finished, or
    # waiting only for their note (`owner_written_at`).
    refused: tuple[ChangeRow, ...] = ()
    unknown: tuple[str, ...] = ()  # no such change


def cancel_changes(
    connection: sa.Connection, change_ids: Sequence[str], *, now: datetime
) -> Cancelled:
    """Cancel the changes that are planned, approved or due and whose owner was not written;
    say which were cancelled and which were refused, as the rows are now.

    The rows are locked in change id order first (PostgreSQL), so a claim racing this either
    took a row before (refused: it is `applying`) or skips it; the update is conditional and
    reports the rows it changed, so what is reported cancelled is cancelled.
    """
    wanted = sorted(set(change_ids))
    found: dict[str, ChangeRow] = {}
    done: set[str] = set()
    for chunk in _chunks(wanted, 500):
        query = sa.select(changes).where(changes.c.change_id.in_(chunk))
        if connection.dialect.name == "postgresql":
            query = _locked_in_order(query)
        rows = [row_of(r) for r in connection.execute(query)]
        found.update((r.change_id, r) for r in rows)
        cancellable = [r.change_id for r in rows if r.replaceable]
        if cancellable:
            done.update(
                connection.scalars(
                    sa.update(changes)
                    .where(
                        changes.c.change_id.in_(cancellable),
                        changes.c.state.in_(list(REPLACEABLE_STATES)),
                        changes.c.owner_written_at.is_(None),
                    )
                    .values(state=ChangeState.CANCELLED, updated_at=now, lease_until=None)
                    .returning(changes.c.change_id)
                )
            )
    return Cancelled(
        cancelled=tuple(found[i] for i in wanted if i in done),
        refused=tuple(found[i] for i in wanted if i in found and i not in done),
        unknown=tuple(i for i in wanted if i not in found),
    )


def cancel(connection: sa.Connection, change_id: str, *, now: datetime) -> ChangeRow | None:
    """Cancel one change if it can be (see `cancel_changes`, which says whether it was);
    return the row as it was before (None: unknown)."""
    result = cancel_changes(connection, [change_id], now=now)
    rows = result.cancelled or result.refused
    return rows[0] if rows else None


def promote_due(connection: sa.Connection, today: date, *, now: datetime) -> int:
    """Approved rows effective on or before `today` become due; return how many.

    On PostgreSQL rows a plan holds locked right now are left for the next call, never waited
    for (their plan may supersede them)."""
    ready = sa.and_(changes.c.state == ChangeState.APPROVED, changes.c.effective_date <= today)
    if connection.dialect.name == "postgresql":
        free = sa.select(changes.c.change_id).where(ready).with_for_update(skip_locked=True)
        ready = changes.c.change_id.in_(free.scalar_subquery())
    result = connection.execute(
        sa.update(changes).where(ready).values(state=ChangeState.DUE, updated_at=now)
    )
    return result.rowcount


def claim(
    connection: sa.Connection,
    *,
    worker: str,
    limit: int,
    lease: timedelta,
    now: datetime,
    run_id: int | None = None,
    expired_only: bool = False,
    exclude: Collection[str] = (),
) -> list[ChangeRow]:
    """Claim up to `limit` due rows (and rows whose lease expired) for `worker`, but none of
    `exclude`.

    PostgreSQL skips rows another transaction holds (`FOR UPDATE SKIP LOCKED`); SQLite runs one
    writer at a time, and the UPDATE is conditional on the state it read, so two claimants never
    get the same row either way.
    """
    expired = sa.and_(changes.c.state == ChangeState.APPLYING, changes.c.lease_until < now)
    eligible = expired if expired_only else sa.or_(changes.c.state == ChangeState.DUE, expired)
    query = sa.select(changes.c.change_id).where(eligible)
    if run_id is not None:
        query = query.where(changes.c.run_id == run_id)
    if exclude:
        query = query.where(changes.c.change_id.not_in(list(exclude)))
    query = query.order_by(changes.c.effective_date, changes.c.change_id).limit(limit)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(connection.scalars(query))
    if not ids:
        return []
    connection.execute(
        sa.update(changes)
        .where(changes.c.change_id.in_(ids), eligible)
        .values(
            state=ChangeState.APPLYING,
            lease_until=now + lease,
            claimed_by=worker,
            claims=changes.c.claims + 1,  # not an attempt: the claim may meet an outage
            updated_at=now,
        )
    )
    held = sa.select(changes).where(changes.c.change_id.in_(ids), changes.c.claimed_by == worker)
    claimed = [row_of(r) for r in connection.execute(held)]
    return sorted(claimed, key=lambda r: (r.effective_date, r.change_id))


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one claimed row ends (or goes back to `due` for another attempt)."""

    change_id: str
    state: ChangeState  # applied | conflict | failed | due | cancelled
    error: dict[str, Any] | None = None
    note_id: str | None = None
    owner_written: bool = False  # the owner is at the target (its note may still be missing)
    attempt_failed: bool = False  # its own record failed: one more attempt spent


def finish(
    connection: sa.Connection, worker: str, outcomes: Iterable[Outcome], *, now: datetime
) -> list[str]:
    """Record outcomes of rows `worker` still holds; return the ids it no longer held."""
    outcomes = list(outcomes)
    ids = [o.change_id for o in outcomes]
    held_by_worker = sa.and_(
        changes.c.state == ChangeState.APPLYING, changes.c.claimed_by == worker
    )
    held: set[str] = set()
    for chunk in _chunks(sorted(ids), 500):
        query = sa.select(changes.c.change_id).where(changes.c.change_id.in_(chunk), held_by_worker)
        if connection.dialect.name == "postgresql":
            # Locked until the update below: what is found held stays held (SQLite's writer
            # holds the database from BEGIN IMMEDIATE already).
            query = _locked_in_order(query)
        held.update(connection.scalars(query))
    rows = [
        {
            "finished_id": o.change_id,
            "finished_state": o.state,
            "finished_error": o.error,
            "finished_note": o.note_id,
            "finished_at": now if o.state == ChangeState.APPLIED else None,
            "finished_written": now if o.owner_written else None,
            "finished_failed": 1 if o.attempt_failed else 0,
        }
        for o in outcomes
        if o.change_id in held
    ]
    if rows:
        # One statement for the whole chunk (executemany), not one built per row: a chunk of
        # 200 changes spent more time building UPDATEs than the CRM took to write it.
        connection.execute(
            sa.update(changes)
            .where(changes.c.change_id == sa.bindparam("finished_id"), held_by_worker)
            .values(
                state=sa.bindparam("finished_state", type_=changes.c.state.type),
                updated_at=now,
                lease_until=None,
                error=sa.bindparam("finished_error", type_=changes.c.error.type),
                attempts=changes.c.attempts
                + sa.bindparam("finished_failed", type_=changes.c.attempts.type),
                # A note id or an applied time is kept unless this outcome brings one.
                note_id=sa.func.coalesce(
                    sa.bindparam("finished_note", type_=changes.c.note_id.type),
                    changes.c.note_id,
                ),
                applied_at=sa.func.coalesce(
                    sa.bindparam("finished_at", type_=changes.c.applied_at.type),
                    changes.c.applied_at,
                ),
                # Once written, for good: a later claim that only posts the note keeps it.
                owner_written_at=sa.func.coalesce(
                    changes.c.owner_written_at,
                    sa.bindparam("finished_written", type_=changes.c.owner_written_at.type),
                ),
            ),
            rows,
        )
    return [i for i in ids if i not in held]


def record_errors(
    connection: sa.Connection, worker: str, errors: Mapping[str, dict[str, Any]], *, now: datetime
) -> None:
    """Store the last error of rows `worker` still holds and leaves `applying` under their
    lease (state and lease untouched), so `territory changes` says why they wait."""
    if not errors:
        return
    connection.execute(
        sa.update(changes)
        .where(
            changes.c.change_id == sa.bindparam("errored_id"),
            changes.c.state == ChangeState.APPLYING,
            changes.c.claimed_by == worker,
        )
        .values(error=sa.bindparam("errored", type_=changes.c.error.type), updated_at=now),
        [{"errored_id": i, "errored": e} for i, e in sorted(errors.items())],
    )


def extend_lease(
    connection: sa.Connection, worker: str, change_ids: Sequence[str], *, until: datetime
) -> set[str]:
    """Push the lease of rows `worker` holds to `until`; return the ids it still held."""
    held_by_worker = sa.and_(
        changes.c.change_id.in_(list(change_ids)),
        changes.c.state == ChangeState.APPLYING,
        changes.c.claimed_by == worker,
    )
    held = sa.select(changes.c.change_id).where(held_by_worker)
    if connection.dialect.name == "postgresql":
        held = _locked_in_order(held)
    found = set(connection.scalars(held))
    connection.execute(
        sa.update(changes).where(changes.c.change_id.in_(found)).values(lease_until=until)
    )
    return found


def select_changes(
    connection: sa.Connection,
    *,
    state: ChangeState | None = None,
    account_id: str | None = None,
    run_id: int | None = None,
    limit: int | None = None,
) -> list[ChangeRow]:
    """Changes filtered by state, account and run, oldest first."""
    query = sa.select(changes)
    if state is not None:
        query = query.where(changes.c.state == state)
    if account_id is not None:
        query = query.where(changes.c.account_id == account_id)
    if run_id is not None:
        query = query.where(changes.c.run_id == run_id)
    query = query.order_by(changes.c.created_at, changes.c.change_id)
    if limit is not None:
        query = query.limit(limit)
    return [row_of(r) for r in connection.execute(query)]


def count_by_state(connection: sa.Connection, run_id: int | None = None) -> dict[str, int]:
    """Rows per state (of one run, or all)."""
    query = sa.select(changes.c.state, sa.func.count()).group_by(changes.c.state)
    if run_id is not None:
        query = query.where(changes.c.run_id == run_id)
    return dict(connection.execute(query).all())


def _locked_in_order(query: sa.Select[Any]) -> sa.Select[Any]:
    """`query` locking its rows in change id order: transactions that lock several open rows
    (a plan, a finish, a lease renewal) queue behind each other instead of deadlocking."""
    return query.order_by(changes.c.change_id).with_for_update()


def _in_lock_order(connection: sa.Connection, condition: sa.ColumnElement[bool]) -> Any:
    """`condition` for an UPDATE of several change rows, their locks taken first in change id
    order (PostgreSQL): an UPDATE alone locks rows in the order it finds them, and a plan
    locking the open rows in id order beside it could deadlock."""
    if connection.dialect.name != "postgresql":
        return condition
    query = _locked_in_order(sa.select(changes.c.change_id).where(condition))
    return sa.and_(changes.c.change_id.in_(list(connection.scalars(query))), condition)


def _set_state(
    connection: sa.Connection,
    change_ids: Sequence[str],
    state: ChangeState,
    now: datetime,
    allowed_from: Iterable[ChangeState],
) -> None:
    for chunk in _chunks(list(change_ids), 500):
        connection.execute(
            sa.update(changes)
            .where(
                changes.c.change_id.in_(chunk),
                changes.c.state.in_(list(allowed_from)),
                changes.c.owner_written_at.is_(None),  # the owner moved: only its note waits
            )
            .values(state=state, updated_at=now, lease_until=None)
        )


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
