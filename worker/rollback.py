"""Rolling a run back: its pending changes are cancelled and its applied ones are undone.

The undo is a run of its own: one new change per applied change, back to the previous owner,
with its own id (`change_id` counts the account's earlier changes, so a change, its rollback
and a redo never collide) and its own note, effective at once and approved by the person who
rolled back. The accounts are pinned to their previous owners for `changes.respect_manual_days`
so the next plan does not redo what was rolled back; so are the accounts whose pending changes
were cancelled, to the owner they have. An applied change whose previous owner is no longer
active is not undone (the CRM refuses an inactive owner): its account keeps the owner it has,
counted as `kept`. A change that failed after its owner was written (its note refused for good)
moved its account and is undone like an applied one; a run with a change whose owner was
written and whose note still waits is refused until `territory apply` posts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from rules.changes import change_id
from rules.reasons import Share
from worker.context import WorkerContext
from worker.ledger import outbox as ob
from worker.ledger.mirror import owners_of
from worker.ledger.pins import Pin, add_pins
from worker.ledger.runs import finish_run, get_run, set_run_state, start_run
from worker.ledger.states import REPLACEABLE_STATES, ChangeState, RunKind, RunState
from worker.ledger.tables import mirror_owners
from worker.planning import active_rules

ROLLBACK_REASON = "rollback"


class RollbackError(Exception):
    """The run cannot be rolled back now; the message says why."""


@dataclass(frozen=True, slots=True)
class RolledBack:
    """What rolling a run back did."""

    run_id: int
    rollback_run_id: int
    cancelled: int
    undone: int  # new changes back to the previous owners
    pinned: int
    kept: int = 0  # applied changes not undone: their previous owner is no longer active


def rollback_run(ctx: WorkerContext, run_id: int) -> RolledBack:
    """Cancel `run_id`'s pending changes and write its applied ones back, as a new run."""
    rules = active_rules(ctx)
    now, today = ctx.now(), ctx.today()
    with ctx.ledger.write() as connection:
        run = get_run(connection, run_id)
        if run is None:
            raise RollbackError(f"no run {run_id}: `territory runs` lists them")
        if run.kind is RunKind.SYNC:
            # A sync changes no owner: "rolling it back" recorded an empty run and marked it.
            raise RollbackError(
                f"run {run_id} is a sync: it changed no owner; roll back a plan, departure or "
                "rollback run (`territory runs` lists them)"
            )
        if run.state is RunState.ROLLED_BACK:
            # Its undo changes exist already: a second undo would only post notes again.
            raise RollbackError(f"run {run_id} was rolled back already")
        # Every open row locked at once, in change id order, as recording a plan locks them:
        # locking the run's rows first and the rest later could deadlock with a plan.
        ob.serialise_recorders(connection)
        ob.open_changes(connection, lock=True)
        rows = ob.select_changes(connection, run_id=run_id)
        busy = [r.change_id for r in rows if r.state is ChangeState.APPLYING]
        if busy:
            raise _busy(run_id, len(busy))
        # Its owner written, its note still to come: it counts as applied once the note lands.
        noting = [r for r in rows if r.state in REPLACEABLE_STATES and not r.replaceable]
        if noting:
            raise RollbackError(
                f"run {run_id} has {len(noting)} change(s) whose owner was written and whose "
                "amendment note waits (the CRM refused or missed it): `territory apply` posts "
                f"the notes; roll back once they are applied (`territory changes --run {run_id}` "
                "shows them)"
            )
        pending = [r for r in rows if r.replaceable]
        # A change that failed after its owner was written moved the account all the same
        # (its note was refused for good): it is undone like an applied one.
        applied = [
            r
            for r in rows
            if r.state is ChangeState.APPLIED
            or (r.state is ChangeState.FAILED and r.owner_written_at is not None)
        ]
        if not pending and not applied:
            raise RollbackError(
                f"run {run_id} has no change of its own pending or applied: nothing to roll "
                f"back (`territory changes --run {run_id}` lists its changes)"
            )
        cancelled = ob.cancel_changes(connection, [r.change_id for r in pending], now=now)
        if cancelled.refused or cancelled.unknown:
            # A worker claimed (or finished) some of them since they were read: the whole
            # rollback is undone with this transaction, and can be asked again.
            raise _busy(run_id, len(cancelled.refused) + len(cancelled.unknown))
        active = set(
            connection.execute(
                sa.select(mirror_owners.c.owner_id).where(mirror_owners.c.active.is_(True))
            ).scalars()
        )
        # Back to a rep who has left is a write every CRM refuses: that account stays put.
        kept = [r for r in applied if r.from_owner_id is not None and r.from_owner_id not in active]
        applied = [r for r in applied if r not in kept]
        back_run = start_run(
            connection,
            kind=RunKind.ROLLBACK,
            actor=ctx.actor,
            source="ledger",
            now=now,
            rule_revision=rules.revision.revision,
            rule_sha256=rules.revision.sha256,
            rule_revision_id=rules.revision.id,
            as_of=today,
            parent_run_id=run_id,
        )
        counts = ob.change_counts(connection)
        undo = [
            ob.NewChange(
                change_id=change_id(
                    r.account_id,
                    r.to_owner_id,
                    r.from_owner_id,
                    rules.revision.revision,
                    counts.get(r.account_id, 0),
                ),
                account_id=r.account_id,
                from_owner_id=r.to_owner_id,
                to_owner_id=r.from_owner_id,
                reason=ROLLBACK_REASON,
                share=Share.FORCED,
                routing_row=r.routing_row,
                routing_line=r.routing_line,
                team=r.team,
                rule_revision=rules.revision.revision,
                effective_date=today,
            )
            for r in applied
        ]
        # Open changes of these accounts (from later runs) give way to the rollback.
        recorded = ob.record_changes(connection, back_run, undo, now=now, cancel_unproposed=False)
        ob.approve(connection, run_id=back_run, who=ctx.actor, now=now)
        until = today + timedelta(days=max(rules.rule.changes.respect_manual_days, 1))
        # A cancelled change is rolled back too: its account keeps the owner it has.
        held = owners_of(connection, [r.account_id for r in pending])
        pinned = add_pins(
            connection,
            [Pin(r.account_id, r.from_owner_id, "rollback", until, r.change_id) for r in applied]
            + [
                Pin(r.account_id, held.get(r.account_id), "rollback", until, r.change_id)
                for r in pending
                if held.get(r.account_id) in active
            ],
            now=now,
        )
        finish_run(
            connection,
            back_run,
            state=RunState.DONE,
            now=now,
            counts={
                "changes": len(undo),
                "new": len(recorded.inserted),
                "rolled_back_run": run_id,
                "kept": len(kept),
            },
        )
        set_run_state(connection, run_id, RunState.ROLLED_BACK)
    return RolledBack(
        run_id, back_run, len(pending), len(recorded.inserted), pinned, kept=len(kept)
    )


def _busy(run_id: int, count: int) -> RollbackError:
    return RollbackError(
        f"run {run_id} has {count} change(s) being applied right now; roll back once they "
        f"finish (`territory changes --run {run_id}` shows them)"
    )
