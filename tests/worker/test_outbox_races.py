"""Write-back and people racing a plan: what each was told is what the ledger holds."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event

from tests.worker.conftest import Clock
from tests.worker.fake_crm import FakeCrm
from tests.worker.test_writeback import synced_and_planned
from worker import planning
from worker.approvals import DecisionError, cancel_change
from worker.context import WorkerContext
from worker.ledger import outbox as ob
from worker.ledger.outbox import ChangeRow, select_changes
from worker.ledger.states import OPEN_STATES, ChangeState
from worker.writeback import apply_due


def test_a_plan_recorded_after_an_apply_finished_its_rows_counts_them_settled(
    active: WorkerContext, crm: FakeCrm, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced_and_planned(active)
    clock.advance(days=60)
    plan = planning.plan_territories
    applied: list[str] = []

    def applied_meanwhile(*args: object, **kwargs: object) -> object:
        # The nightly plan read the open changes; a worker applies them while it computes.
        result = plan(*args, **kwargs)  # type: ignore[arg-type]
        applied.extend(r.change_id for r in apply_due(active).rows if r.state == "applied")
        return result

    monkeypatch.setattr(planning, "plan_territories", applied_meanwhile)
    run = planning.plan_from_ledger(active, save=True)
    assert applied, "the worker applied changes while the plan computed"
    assert run.recorded is not None
    proposed = {c.change_id: c for c in run.changes}
    assert set(applied) & set(proposed) <= set(run.recorded.settled)
    assert run.recorded.settled
    with active.ledger.read() as connection:
        final = {r.change_id for r in select_changes(connection) if r.state not in OPEN_STATES}
    for settled in run.recorded.settled:  # its row, or the row it superseded, was finished
        assert {settled, proposed[settled].supersedes} & final
    assert run.counts["settled"] == len(run.recorded.settled)
    with active.ledger.read() as connection:
        rows = select_changes(connection)
    assert Counter(r.change_id for r in rows).most_common(1)[0][1] == 1
    assert {r.state for r in rows if r.change_id in applied} == {ChangeState.APPLIED}
    assert set(crm.owner_writes.values()) == {1}


def test_cancel_racing_a_claim_says_what_the_ledger_holds(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    if not active.ledger.is_postgresql:
        pytest.skip("SQLite runs one writer at a time: a claim cannot run inside a cancel")
    synced_and_planned(active)
    clock.advance(days=60)
    with active.ledger.write() as connection:
        ob.promote_due(connection, active.today(), now=active.now())
        target = select_changes(connection, state=ChangeState.DUE)[0]
    claimed: list[str] = []

    def claim_first(conn: object, cursor: object, statement: str, *rest: object) -> None:
        # A worker claims every due row just before the cancel's UPDATE runs.
        if statement.startswith("UPDATE changes") and not claimed:
            claimed.append(statement)
            with active.ledger.write() as other:
                ob.claim(
                    other, worker="w", limit=500, lease=timedelta(seconds=60), now=active.now()
                )

    sa_event.listen(active.ledger.engine, "before_cursor_execute", claim_first)
    try:
        outcome: ChangeRow | DecisionError = cancel_change(active, target.change_id)
    except DecisionError as exc:
        outcome = exc
    finally:
        sa_event.remove(active.ledger.engine, "before_cursor_execute", claim_first)
    assert claimed
    with active.ledger.read() as connection:
        (row,) = [r for r in select_changes(connection) if r.change_id == target.change_id]
    if isinstance(outcome, DecisionError):
        assert row.state is ChangeState.APPLYING
        assert "applying" in str(outcome)
    else:
        assert row.state is ChangeState.CANCELLED, f"told cancelled, but the row is {row.state}"


def test_cancelling_changes_reports_each_one_cancelled_refused_or_unknown(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    synced_and_planned(active)
    clock.advance(days=60)
    with active.ledger.write() as connection:
        ob.promote_due(connection, active.today(), now=active.now())
        due = [r.change_id for r in select_changes(connection, state=ChangeState.DUE)]
        (held,) = ob.claim(
            connection, worker="w", limit=1, lease=timedelta(seconds=60), now=active.now()
        )
        result = ob.cancel_changes(connection, [*due[::-1], "no-such-change"], now=active.now())
    assert [r.change_id for r in result.refused] == [held.change_id]
    assert result.refused[0].state is ChangeState.APPLYING
    assert result.unknown == ("no-such-change",)
    assert {r.change_id for r in result.cancelled} == set(due) - {held.change_id}
    with active.ledger.read() as connection:
        assert {r.state for r in select_changes(connection) if r.change_id in due} == {
            ChangeState.CANCELLED,
            ChangeState.APPLYING,
        }
