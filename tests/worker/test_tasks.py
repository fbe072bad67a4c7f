"""The Celery tasks' own rules, in this process: what counts as a redelivery, what is retried
and for how long, what waits for a person, and what a task with nothing to do touches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn

import pytest
from celery.exceptions import Retry

import worker.tasks as tasks
from connectors.errors import RateLimitedError, TerminalError, TransientError
from tests.worker.conftest import Clock
from tests.worker.fake_crm import FakeCrm
from worker.context import WorkerContext
from worker.ledger.deliveries import parked
from worker.ledger.tables import deliveries
from worker.planning import PlanningError, plan_from_ledger
from worker.steps import apply_step, plan_step, sync_step


@dataclass
class Request:
    id: str = "message-1"
    retries: int = 0


@dataclass
class StubTask:
    """The parts of a bound Celery task `_run` uses; `retry` records its countdown."""

    name: str = "territory.sync"
    request: Request = field(default_factory=Request)
    countdowns: list[float] = field(default_factory=list)

    def retry(self, *, exc: BaseException, countdown: float, max_retries: int) -> NoReturn:
        assert max_retries == tasks.MAX_RETRIES
        self.countdowns.append(countdown)
        raise Retry(exc=exc, when=countdown)


@pytest.fixture
def in_worker(active: WorkerContext) -> Iterator[WorkerContext]:
    """The tasks run with `active` as their process's context."""
    tasks._context = active
    yield active
    tasks._context = None


def delivery_rows(ctx: WorkerContext) -> int:
    with ctx.ledger.read() as connection:
        return len(connection.execute(deliveries.select()).all())


def fail_transiently(_: WorkerContext) -> NoReturn:
    raise TransientError("service unavailable", status=503)


def test_a_task_retried_after_transient_errors_is_retried_to_its_limit_and_never_parked(
    in_worker: WorkerContext,
) -> None:
    # A short visibility timeout: the backoff's later waits are longer than half of it.
    in_worker.settings = in_worker.settings.model_copy(update={"visibility_timeout_seconds": 60})
    half = in_worker.settings.visibility_timeout_seconds / 2
    error = TransientError("service unavailable", status=503)
    unclamped = [
        tasks.TASK_RETRY.retry_after(error, attempt=n + 1) for n in range(tasks.MAX_RETRIES)
    ]
    assert any(wait is not None and wait > half for wait in unclamped)
    task = StubTask()
    for retries in range(tasks.MAX_RETRIES):
        task.request.retries = retries
        with pytest.raises(Retry):
            tasks._run(task, fail_transiently)  # type: ignore[arg-type]
        assert delivery_rows(in_worker) == 0  # this delivery ended: it counts for nothing
    task.request.retries = tasks.MAX_RETRIES
    with pytest.raises(TransientError):
        tasks._run(task, fail_transiently)  # type: ignore[arg-type]

    with in_worker.ledger.read() as connection:
        assert parked(connection) == []
    assert len(task.countdowns) == tasks.MAX_RETRIES
    assert all(0 < c <= half for c in task.countdowns)
    assert max(task.countdowns) == half  # the clamp, not the backoff, set the longest wait


def test_a_crm_asking_to_wait_longer_than_the_visibility_timeout_is_retried_within_half_of_it(
    in_worker: WorkerContext,
) -> None:
    in_worker.settings = in_worker.settings.model_copy(update={"visibility_timeout_seconds": 120})
    task = StubTask()

    def rate_limited(_: WorkerContext) -> NoReturn:
        raise RateLimitedError("burst limit spent", wait_seconds=1800)

    with pytest.raises(Retry):
        tasks._run(task, rate_limited)  # type: ignore[arg-type]
    # Redelivered by the broker before a longer countdown ended, the task would run twice.
    assert task.countdowns == [60.0]


def test_a_terminal_crm_error_fails_the_task_without_a_retry(in_worker: WorkerContext) -> None:
    task = StubTask()

    def refused(_: WorkerContext) -> NoReturn:
        raise TerminalError("the private app lacks scope crm.objects.companies.write", status=403)

    with pytest.raises(TerminalError):
        tasks._run(task, refused)  # type: ignore[arg-type]
    assert task.countdowns == []
    assert delivery_rows(in_worker) == 0


def test_a_task_that_needs_a_person_logs_why_and_returns(
    in_worker: WorkerContext, caplog: pytest.LogCaptureFixture
) -> None:
    def no_revision(_: WorkerContext) -> NoReturn:
        raise PlanningError("no rule revision is active: run `territory activate RULES.yaml`")

    assert tasks._run(StubTask(name="territory.plan"), no_revision) is None  # type: ignore[arg-type]
    assert "territory activate RULES.yaml" in caplog.text
    assert delivery_rows(in_worker) == 0


def test_an_apply_with_nothing_due_touches_neither_the_rules_nor_the_crm(
    ctx: WorkerContext, crm: FakeCrm
) -> None:
    report, more = apply_step(ctx)  # no revision active, never synced: nothing can be due

    assert report.rows == []
    assert more is False
    assert sum(crm.calls.values()) == 0


def test_a_nightly_plan_with_no_active_revision_reads_nothing_from_the_crm(
    ctx: WorkerContext, crm: FakeCrm
) -> None:
    sync_step(ctx, spec="hubspot", full=True)  # synced, but no revision activated yet
    crm.calls.clear()

    with pytest.raises(PlanningError, match="no rule revision is active"):
        plan_step(ctx)

    assert sum(crm.calls.values()) == 0


def test_an_apply_stopped_by_a_transient_crm_error_is_retried(
    in_worker: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    sync_step(in_worker, spec="hubspot", full=True)
    plan_from_ledger(in_worker, save=True)
    clock.advance(days=60)  # past every notice period
    crm.fail_reads = 10**6  # every owner read answers 503

    def applied(**kwargs: Any) -> None:
        tasks.apply_due.run(**kwargs)

    # Called directly (no broker), Celery's retry raises the error it would retry after.
    with pytest.raises(TransientError):
        applied()
    assert crm.calls["read_owners"] == 1
    assert crm.owner_writes.total() == 0
