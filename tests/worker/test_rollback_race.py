"""Rollback beside a worker: a claim between rollback reading a run's changes and cancelling
them refuses the whole rollback (nothing recorded, the run not marked), never a rollback that
reports success while the claimed changes go on to apply and are never undone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.worker.conftest import Clock
from tests.worker.fake_crm import FakeCrm
from tests.worker.test_writeback import synced_and_planned
from worker.context import WorkerContext
from worker.ledger import outbox as ob
from worker.ledger.runs import get_run
from worker.ledger.states import ChangeState, RunState
from worker.rollback import RollbackError, rollback_run
from worker.writeback import apply_due


def test_a_claim_racing_a_rollback_refuses_it_and_the_rollback_works_once_applied(
    active: WorkerContext, crm: FakeCrm, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not active.ledger.is_postgresql:
        pytest.skip("SQLite takes its write lock before rollback reads: no claim can race it")
    run_id = synced_and_planned(active)
    clock.advance(days=60)
    with active.ledger.write() as connection:
        assert ob.promote_due(connection, active.today(), now=active.now())
    cancel_changes = ob.cancel_changes

    def claimed_meanwhile(
        connection: sa.Connection, change_ids: Sequence[str], *, now: datetime
    ) -> ob.Cancelled:
        with active.ledger.write() as other:  # a worker claims between the read and the cancel
            ob.claim(other, worker="w", limit=500, lease=timedelta(seconds=60), now=now)
        return cancel_changes(connection, change_ids, now=now)

    monkeypatch.setattr(ob, "cancel_changes", claimed_meanwhile)
    with pytest.raises(RollbackError, match="being applied right now"):
        rollback_run(active, run_id)
    monkeypatch.setattr(ob, "cancel_changes", cancel_changes)

    with active.ledger.read() as connection:
        run = get_run(connection, run_id)
        assert run is not None
        assert run.state is not RunState.ROLLED_BACK
        assert {r.state for r in ob.select_changes(connection, run_id=run_id)} == {
            ChangeState.APPLYING
        }
    clock.advance(minutes=2)  # the claim's lease expires: the reconciler's path applies them
    apply_due(active)
    back = rollback_run(active, run_id)
    apply_due(active)

    with active.ledger.read() as connection:
        applied = [
            r
            for r in ob.select_changes(connection, run_id=run_id)
            if r.state is ChangeState.APPLIED
        ]
        undo = ob.select_changes(connection, run_id=back.rollback_run_id)
    assert applied
    assert back.undone + back.kept == len(applied)
    assert {r.state for r in undo} == {ChangeState.APPLIED}
