"""Write-back and people racing a plan: what each was told is what the ledger holds."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import event as sa_event

from rules.reasons import Share
from tests.worker.conftest import Clock
from tests.worker.fake_crm import FakeCrm
from tests.worker.test_writeback import synced_and_planned
from worker import planning
from worker.approvals import DecisionError, cancel_change
from worker.context import WorkerContext
from worker.ledger import outbox as ob
from worker.ledger.outbox import ChangeRow, select_changes
from worker.ledger.runs import start_run
from worker.ledger.states import OPEN_STATES, ChangeState, RunKind
from worker.planning import plan_from_ledger
from worker.steps import sync_step
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


def test_two_plans_recording_at_once_never_give_an_account_two_open_changes(
    active: WorkerContext, crm: FakeCrm
) -> None:
    """PostgreSQL: the second recorder waits for the first to commit and then sees its rows
    (before, it waited on row locks, read with its old snapshot, and recorded a second open
    change for the account the first had just given one)."""
    if not active.ledger.is_postgresql:
        pytest.skip("SQLite runs one writer at a time: two recorders never overlap")
    sync_step(active, spec="hubspot", full=True)
    plan_from_ledger(active, save=True)  # open rows exist: both recorders lock them
    with active.ledger.read() as connection:
        open_accounts = {r.account_id for r in select_changes(connection) if r.state in OPEN_STATES}
    account = next(a for a in sorted(crm.companies) if a not in open_accounts)

    def proposal(change_id: str, to: str) -> ob.NewChange:
        return ob.NewChange(
            change_id=change_id,
            account_id=account,
            from_owner_id=None,
            to_owner_id=to,
            reason="rebalance",
            share=Share.DISCRETIONARY,
            routing_row=None,
            routing_line=None,
            team=None,
            rule_revision="r",
            effective_date=date(2027, 1, 4),
        )

    def record(actor: str, change: ob.NewChange) -> None:
        with active.ledger.write() as connection:
            run = start_run(
                connection, kind=RunKind.PLAN, actor=actor, source="ledger", now=active.now()
            )
            ob.record_changes(connection, run, [change], now=active.now(), cancel_unproposed=False)

    first_recorded = threading.Event()
    errors: list[BaseException] = []

    def second() -> None:
        try:
            first_recorded.wait(10)
            record("b", proposal("b" * 24, "u2"))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    with active.ledger.write() as connection:
        run = start_run(connection, kind=RunKind.PLAN, actor="a", source="ledger", now=active.now())
        ob.record_changes(
            connection, run, [proposal("a" * 24, "u1")], now=active.now(), cancel_unproposed=False
        )
        first_recorded.set()
        time.sleep(1.0)  # the second recorder now waits for this transaction
    thread.join(10)

    assert not errors, errors
    with active.ledger.read() as connection:
        open_rows = [
            r for r in select_changes(connection, account_id=account) if r.state in OPEN_STATES
        ]
    assert [(r.change_id, r.to_owner_id) for r in open_rows] == [("b" * 24, "u2")]
