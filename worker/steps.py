"""The worker's steps as plain functions: the Celery tasks and the CLI both call these.

Each step takes a `WorkerContext` and ids or dates, talks to the ledger and the CRM, and returns
a typed result; none prints, exits or enqueues (the task layer decides what follows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from worker.context import WorkerContext
from worker.departures import departure_run
from worker.ledger.pins import pending_departures
from worker.ledger.revisions import active_revision
from worker.ledger.states import ChangeState
from worker.ledger.tables import changes
from worker.planning import (
    PlanningError,
    PlanRun,
    active_rules,
    plan_from_ledger,
    require_mirror_for,
)
from worker.sync import SyncResult, sync_mirror
from worker.writeback import ApplyReport, apply_due

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class SyncStep:
    """A sync, and the departure run it started when owners left."""

    sync: SyncResult
    departure: PlanRun | None = None
    departure_skipped: str | None = None  # why owners left but no departure run ran
    departed: tuple[str, ...] = ()  # owners whose books the departure run is for


def sync_step(
    ctx: WorkerContext,
    *,
    full: bool = False,
    spec: str | None = None,
    progress: Progress | None = None,
) -> SyncStep:
    """Sync the mirror; when it (or a sync that failed after seeing them) saw owners
    deactivated, run a departure run."""
    result = sync_mirror(ctx, spec or ctx.source(), full=full, progress=progress)
    with ctx.ledger.read() as connection:
        departed = pending_departures(connection)
        has_rules = active_revision(connection) is not None
    if not departed:
        return SyncStep(result)
    left = tuple(departed)
    if not has_rules:
        return SyncStep(result, departure_skipped="no rule revision is active yet", departed=left)
    try:
        return SyncStep(result, departure_run(ctx, departed), departed=left)
    except PlanningError as exc:
        return SyncStep(result, departure_skipped=str(exc), departed=left)


def plan_step(ctx: WorkerContext, *, progress: Progress | None = None) -> PlanRun:
    """Plan from the mirror and record the run; a full sync first when the rule needs one.

    PlanningError, with no CRM call, when no rule revision is active.
    """
    rules = active_rules(ctx)
    try:
        require_mirror_for(ctx, rules)
    except PlanningError:
        sync_mirror(ctx, ctx.source(), full=True, progress=progress)
    return plan_from_ledger(ctx, save=True)


def apply_step(
    ctx: WorkerContext,
    *,
    run_id: int | None = None,
    budget_seconds: float | None = None,
    expired_only: bool = False,
) -> tuple[ApplyReport, bool]:
    """Apply due changes chunk by chunk within `budget_seconds`; return (report, more due).

    With nothing waiting it returns at once, without opening the rules or the CRM.
    """
    waiting = has_expired_leases(ctx) if expired_only else has_due_work(ctx)
    if not waiting:
        return ApplyReport(dry_run=False), False
    report = apply_due(ctx, run_id=run_id, expired_only=expired_only, budget_seconds=budget_seconds)
    return report, report.out_of_time and has_due_work(ctx)


def has_due_work(ctx: WorkerContext) -> bool:
    """True when due changes (or expired leases) wait in the ledger."""
    today, now = ctx.today(), ctx.now()
    c = changes.c
    query = (
        sa.select(c.change_id)
        .where(
            sa.or_(
                c.state == ChangeState.DUE,
                sa.and_(c.state == ChangeState.APPROVED, c.effective_date <= today),
                sa.and_(c.state == ChangeState.APPLYING, c.lease_until < now),
            )
        )
        .limit(1)
    )
    with ctx.ledger.read() as connection:
        return connection.scalar(query) is not None


def has_expired_leases(ctx: WorkerContext) -> bool:
    """True when changes whose worker lease expired wait for the reconciler."""
    c = changes.c
    query = (
        sa.select(c.change_id)
        .where(c.state == ChangeState.APPLYING, c.lease_until < ctx.now())
        .limit(1)
    )
    with ctx.ledger.read() as connection:
        return connection.scalar(query) is not None
