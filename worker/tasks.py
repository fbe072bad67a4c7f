"""Celery tasks: thin, named, ids in, JSON only, no results kept.

Each task counts its delivery in the ledger, runs one step from `worker.steps`, and decides
what follows: an apply after a plan or a departure, another apply chunk while due work remains.
A delivery that ends in this process (done, failed or retried) forgets its count; only
deliveries whose worker died keep counting, and a message delivered more than
`TERRITORY_MAX_DELIVERIES` times is parked as poison, never run again. Only transient CRM
errors are retried, a bounded number of times, with a countdown under half the visibility
timeout. A step that cannot run until a person acts (the ledger never synced, no active rule
revision, another CRM account) logs why and returns. The ledger is the source of truth:
`territory.relay` re-enqueues due work from it, so a broker that lost its queue loses only time.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

from celery import Task
from celery.signals import worker_process_init

from connectors.errors import ConnectorError, error_from_json
from connectors.retry import RetryPolicy
from worker.celery_app import app, max_countdown_seconds, task_budget_seconds
from worker.context import WorkerContext, open_context
from worker.ledger import LedgerError
from worker.ledger.deliveries import count_delivery, forget_delivery, park
from worker.planning import PlanningError
from worker.settings import load_settings
from worker.steps import apply_step, has_due_work, has_expired_leases, plan_step, sync_step

log = logging.getLogger("territory.tasks")
T = TypeVar("T")
MAX_RETRIES: Final = 5
# Backoff for task retries after transient CRM errors (the HTTP layer already retried).
TASK_RETRY: Final = RetryPolicy(
    attempts=MAX_RETRIES + 1, max_seconds=3600.0, first_wait=5.0, max_wait=300.0
)

_context: WorkerContext | None = None


def context() -> WorkerContext:
    """This process's context (built on first use, after the fork)."""
    global _context  # noqa: PLW0603 - one context per worker process
    if _context is None:
        _context = open_context(load_settings(), actor=f"worker@{socket.gethostname()}")
    return _context


@worker_process_init.connect
def _forget_parent_context(**_: Any) -> None:
    # A forked child must not share the parent's database connections.
    global _context  # noqa: PLW0603 - one context per worker process
    if _context is not None:
        _context.ledger.dispose()
    _context = None


def _run(task: Task[Any, Any], step: Callable[[WorkerContext], T]) -> T | None:
    """Count the delivery, park poison, run `step`; None when parked or waiting for a person.

    A transient CRM error is retried (bounded); any other error fails the task.
    """
    ctx = context()
    key = f"{task.name}:{task.request.id}"
    with ctx.ledger.write() as connection:
        count = count_delivery(connection, key, now=ctx.now())
        if count > ctx.settings.max_deliveries:
            park(
                connection,
                key,
                {"class": "Poison", "message": f"delivered {count} times; parked, not run again"},
            )
            log.error("task %s parked after %d deliveries", key, count)
            return None
    ctx.forget_connectors()  # a fresh rate budget: an allowance spent yesterday is not today's
    try:
        return step(ctx)
    except (LedgerError, PlanningError) as exc:
        log.error("task %s did nothing: %s", key, exc)  # noqa: TRY400 - the message says all
        return None
    except ConnectorError as exc:
        raise _retry_or_fail(task, ctx, key, exc) from exc
    finally:
        # This delivery ended here, whatever its outcome: it was no poison.
        with ctx.ledger.write() as connection:
            forget_delivery(connection, key)


def _retry_or_fail(
    task: Task[Any, Any], ctx: WorkerContext, key: str, error: ConnectorError
) -> BaseException:
    """The exception that ends the task: a retry after a transient error, else the error."""
    retries = task.request.retries
    wait = TASK_RETRY.retry_after(error, attempt=retries + 1) if error.retryable else None
    if wait is None or retries >= MAX_RETRIES:
        log.error("task %s failed: %s", key, error.to_json())
        return error
    countdown = min(wait, max_countdown_seconds(ctx.settings))
    log.warning("task %s retries in %.1f s: %s", key, countdown, error.to_json())
    return task.retry(exc=error, countdown=countdown, max_retries=MAX_RETRIES)


def _retry_stopped(task: Task[Any, Any], stopped: Mapping[str, Any] | None) -> None:
    """Retry an apply that a transient CRM error stopped early (its rows wait in `due`)."""
    if stopped is None or not stopped.get("retryable"):
        return
    ctx = context()
    raise _retry_or_fail(task, ctx, f"{task.name}:{task.request.id}", error_from_json(stopped))


@app.task(name="territory.sync", bind=True, ignore_result=True)
def sync(self: Task[Any, Any], full: bool = False) -> None:
    """Sync the mirror; owners that left start a departure run, then an apply."""
    result = _run(self, lambda ctx: sync_step(ctx, full=full))
    if result is not None and result.departure is not None:
        apply_due.delay()


@app.task(name="territory.plan", bind=True, ignore_result=True)
def plan(self: Task[Any, Any]) -> None:
    """Plan from the mirror under the active revision and record the run; then apply."""
    if _run(self, plan_step) is not None:
        apply_due.delay()


@app.task(name="territory.depart", bind=True, ignore_result=True)
def depart(self: Task[Any, Any], owner_ids: list[str]) -> None:
    """A departure run for `owner_ids`; then apply."""
    from worker.departures import departure_run  # noqa: PLC0415 - the task's own step

    if _run(self, lambda ctx: departure_run(ctx, owner_ids)) is not None:
        apply_due.delay()


@app.task(name="territory.apply_due", bind=True, ignore_result=True)
def apply_due(self: Task[Any, Any], run_id: int | None = None) -> None:
    """Apply due changes for an eighth of the visibility timeout at most; re-enqueue if more."""
    outcome = _run(
        self,
        lambda ctx: apply_step(
            ctx, run_id=run_id, budget_seconds=task_budget_seconds(ctx.settings) / 2
        ),
    )
    if outcome is None:
        return
    report, more = outcome
    _retry_stopped(self, report.stopped)
    if more:
        apply_due.delay(run_id)


@app.task(name="territory.reconcile", bind=True, ignore_result=True)
def reconcile(self: Task[Any, Any]) -> None:
    """Finish changes whose worker lease expired (a worker died mid-apply)."""
    outcome = _run(
        self,
        lambda ctx: apply_step(
            ctx, expired_only=True, budget_seconds=task_budget_seconds(ctx.settings) / 2
        ),
    )
    if outcome is None:
        return
    report, more = outcome
    _retry_stopped(self, report.stopped)
    if more:
        reconcile.delay()


@app.task(name="territory.relay", bind=True, ignore_result=True)
def relay(self: Task[Any, Any]) -> None:
    """Re-enqueue what the ledger says is waiting: due changes, expired leases."""

    def step(ctx: WorkerContext) -> tuple[bool, bool]:
        return has_due_work(ctx), has_expired_leases(ctx)

    found = _run(self, step)
    if found is None:
        return
    due, expired = found
    if due:
        apply_due.delay()
    if expired:
        reconcile.delay()
