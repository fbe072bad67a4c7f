"""Write-back's promises at the worker's level: the due day is the calendar day in
TERRITORY_TIMEZONE, forced changes over `max_forced_share` wait for approval, and a pause
stops a running apply before its next chunk."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

import pytest

from connectors.base import OwnerWrite, WriteResult
from rules.reasons import Share
from tests.worker.conftest import Clock
from tests.worker.fake_crm import FakeCrm
from worker.activation import activate
from worker.approvals import approve_run, pause, resume
from worker.context import WorkerContext
from worker.ledger import outbox as ob
from worker.ledger.outbox import select_changes
from worker.ledger.states import ChangeState
from worker.planning import plan_from_ledger
from worker.steps import apply_step, plan_step, sync_step


def rows(ctx: WorkerContext) -> list[ob.ChangeRow]:
    with ctx.ledger.read() as connection:
        return select_changes(connection)


def states(ctx: WorkerContext, change_ids: Sequence[str]) -> set[ChangeState]:
    wanted = set(change_ids)
    return {r.state for r in rows(ctx) if r.change_id in wanted}


@pytest.mark.parametrize(
    ("instant", "not_due_in", "due_in"),
    [
        # 20:00 UTC the day before: already the day itself in Auckland (UTC+13 in summer).
        (time(20, 0), "UTC", "Pacific/Auckland"),
        # 05:00 UTC on the day: still the day before in Honolulu (UTC-10).
        (time(5, 0), "Pacific/Honolulu", "UTC"),
    ],
)
def test_a_change_is_due_on_its_effective_day_in_territory_timezone(
    active: WorkerContext,
    crm: FakeCrm,
    clock: Clock,
    instant: time,
    not_due_in: str,
    due_in: str,
) -> None:
    sync_step(active, spec="hubspot", full=True)
    plan_from_ledger(active, save=True)
    apply_step(active)  # what is due at once goes now
    pending = [r for r in rows(active) if r.state is ChangeState.APPROVED]
    assert pending, "the golden org's first plan has changes with notice"
    day = min(r.effective_date for r in pending)
    on_day = [r for r in pending if r.effective_date == day]
    clock.now = datetime.combine(day - timedelta(days=1 if instant.hour >= 12 else 0), instant, UTC)

    active.settings = active.settings.model_copy(update={"timezone": not_due_in})
    assert active.today() == day - timedelta(days=1)
    apply_step(active)
    assert states(active, [r.change_id for r in on_day]) == {ChangeState.APPROVED}
    assert all(crm.owner_writes[r.account_id] == 0 for r in on_day)

    active.settings = active.settings.model_copy(update={"timezone": due_in})
    assert active.today() == day
    apply_step(active)
    assert states(active, [r.change_id for r in on_day]) == {ChangeState.APPLIED}
    later = [r for r in pending if r.effective_date > day]
    assert all(crm.owner_writes[r.account_id] == 0 for r in later)


def test_forced_changes_over_max_forced_share_wait_for_approval_in_the_worker(
    active: WorkerContext, crm: FakeCrm, clock: Clock, golden_rules_text: str
) -> None:
    strict = golden_rules_text.replace("max_forced_share: 0.60", "max_forced_share: 0.01")
    assert strict != golden_rules_text
    activate(active, "rules.yaml", strict)
    sync_step(active, spec="hubspot", full=True)

    run = plan_step(active)  # the nightly plan task's step

    assert run.held == frozenset({Share.FORCED})  # discretionary moves are within their rail
    assert run.run_id is not None
    forced = [r.change_id for r in rows(active) if r.share is Share.FORCED]
    discretionary = [r.change_id for r in rows(active) if r.share is Share.DISCRETIONARY]
    assert forced, "the golden org's first plan has forced changes (a departed rep, orphans)"
    assert discretionary
    clock.advance(days=60)  # past every notice period
    apply_step(active)  # the apply the plan task enqueues next
    assert states(active, forced) == {ChangeState.PLANNED}
    assert states(active, discretionary) == {ChangeState.APPLIED}  # the apply did run
    forced_accounts = {r.account_id for r in rows(active) if r.share is Share.FORCED}
    assert all(crm.owner_writes[a] == 0 for a in forced_accounts)

    approve_run(active, run.run_id)
    apply_step(active)
    assert states(active, forced) == {ChangeState.APPLIED}


def test_a_pause_during_a_running_apply_stops_it_before_the_next_chunk(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    sync_step(active, spec="hubspot", full=True)
    plan_from_ledger(active, save=True)
    clock.advance(days=60)
    active.settings = active.settings.model_copy(update={"apply_chunk": 3})
    write = crm.write_owners
    calls: list[int] = []

    def paused_by_a_person_meanwhile(writes: Sequence[OwnerWrite]) -> list[WriteResult]:
        calls.append(len(writes))
        if len(calls) == 1:
            pause(active)  # `territory pause` while the first chunk is with the CRM
        return write(writes)

    crm.write_owners = paused_by_a_person_meanwhile  # type: ignore[method-assign]

    report, _ = apply_step(active)

    assert report.paused
    assert len(calls) == 1
    assert len(report.rows) <= 3  # the chunk under way finished, no other was claimed
    assert {r.state for r in report.rows} == {"applied"}
    waiting = [r for r in rows(active) if r.state in (ChangeState.DUE, ChangeState.APPROVED)]
    assert len(waiting) > 3, "several chunks' worth were due"
    assert all(crm.owner_writes[r.account_id] == 0 for r in waiting)
    assert apply_step(active)[0].paused  # and stays stopped
    assert len(calls) == 1

    resume(active)
    apply_step(active)
    assert {r.change_id for r in waiting} <= {
        r.change_id for r in rows(active) if r.state is ChangeState.APPLIED
    }
    assert set(crm.owner_writes.values()) == {1}
