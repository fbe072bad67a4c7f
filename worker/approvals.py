"""A person's decisions on the outbox: approve or decline a run, cancel a change, pause all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from worker.context import WorkerContext
from worker.ledger import outbox as ob
from worker.ledger.facts import PAUSED, delete_fact, is_paused, set_fact
from worker.ledger.mirror import owners_of
from worker.ledger.outbox import ChangeRow
from worker.ledger.pins import Pin, active_pins, add_pins
from worker.ledger.runs import Run, get_run, set_run_state
from worker.ledger.states import REPLACEABLE_STATES, ChangeState, RunState
from worker.planning import active_rules


class DecisionError(Exception):
    """The decision cannot be taken; the message says why and what to do instead."""


@dataclass(frozen=True, slots=True)
class Decided:
    """A run's approval or decline: how many changes it moved."""

    run: Run
    changes: int


def _run_waiting(ctx: WorkerContext, run_id: int, verb: str) -> Run:
    with ctx.ledger.read() as connection:
        run = get_run(connection, run_id)
        waiting = ob.count_by_state(connection, run_id).get(ChangeState.PLANNED, 0)
    if run is None:
        raise DecisionError(f"no run {run_id}: `territory runs` lists them")
    if waiting == 0:
        raise DecisionError(
            f"run {run_id} has no changes waiting for approval (state {run.state}); "
            f"nothing to {verb}"
        )
    return run


def approve_run(ctx: WorkerContext, run_id: int) -> Decided:
    """Approve every change of `run_id` waiting for approval; recorded with who and when."""
    run = _run_waiting(ctx, run_id, "approve")
    with ctx.ledger.write() as connection:
        count = ob.approve(connection, run_id=run_id, who=ctx.actor, now=ctx.now())
        set_run_state(connection, run_id, RunState.APPROVED)
    return Decided(run, count)


def decline_run(ctx: WorkerContext, run_id: int) -> Decided:
    """Decline every change of `run_id` waiting for approval: they never apply, and their
    accounts are pinned to the owners they keep for `changes.respect_manual_days`, so the next
    plan does not propose the declined moves again (a forced cause still moves them)."""
    run = _run_waiting(ctx, run_id, "decline")
    days = active_rules(ctx).rule.changes.respect_manual_days
    now = ctx.now()
    until = ctx.today() + timedelta(days=max(days, 1))
    with ctx.ledger.write() as connection:
        count = ob.decline(connection, run_id=run_id, who=ctx.actor, now=now)
        declined = ob.select_changes(connection, run_id=run_id, state=ChangeState.DECLINED)
        # To the owner each account has now (a person may have moved it by hand since the
        # plan), and never in place of a pin a person's edit or a conflict set.
        pinned = active_pins(connection, ctx.today())
        owners = owners_of(connection, [r.account_id for r in declined])
        add_pins(
            connection,
            [
                Pin(r.account_id, owners.get(r.account_id), "declined", until, r.change_id)
                for r in declined
                if r.account_id in owners and r.account_id not in pinned
            ],
            now=now,
        )
        set_run_state(connection, run_id, RunState.DECLINED)
    return Decided(run, count)


def cancel_change(ctx: WorkerContext, change_id: str) -> ChangeRow:
    """Cancel one open change no worker holds; return it as it was.

    DecisionError unless the ledger cancelled it: judged by the rows the conditional update
    changed, not by a state read before (a worker may claim the row in between)."""
    with ctx.ledger.write() as connection:
        result = ob.cancel_changes(connection, [change_id], now=ctx.now())
    if result.cancelled:
        return result.cancelled[0]
    if not result.refused:
        raise DecisionError(f"no change {change_id}: `territory changes` lists them")
    (row,) = result.refused
    if row.state in REPLACEABLE_STATES and row.owner_written_at is not None:
        raise DecisionError(
            f"change {change_id} cannot be cancelled: its owner was written to the CRM "
            f"({row.owner_written_at:%Y-%m-%d %H:%M} UTC) and only its amendment note waits; "
            "`territory apply` posts the note (to undo the move, roll back its run once it is "
            "applied)"
        )
    if row.state in REPLACEABLE_STATES:  # pragma: no cover - the row is locked meanwhile
        raise DecisionError(f"change {change_id} changed while it was cancelled: try again")
    raise DecisionError(
        f"change {change_id} is {row.state}: only planned, approved or due changes can be cancelled"
    )


def pause(ctx: WorkerContext) -> str | None:
    """Stop all write-back (workers stop between batches); return the earlier pause, if any."""
    with ctx.ledger.write() as connection:
        earlier = is_paused(connection)
        if earlier is None:
            set_fact(connection, PAUSED, f"{ctx.actor} at {ctx.now().isoformat()}", now=ctx.now())
    return earlier


def resume(ctx: WorkerContext) -> str | None:
    """Let write-back run again; return who had paused it (None: it was running)."""
    with ctx.ledger.write() as connection:
        earlier = is_paused(connection)
        delete_fact(connection, PAUSED)
    return earlier
