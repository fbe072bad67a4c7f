"""Rollback beside a worker: rollback locks every open row (in change id order, as a plan does)
before it reads its run's changes, so a worker claiming meanwhile skips them; before, a claim
between the read and the cancel left the run reported rolled back while the claimed changes
went on to apply and were never undone."""

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
from worker.rollback import rollback_run
from worker.writeback import apply_due


def test_a_claim_racing_a_rollback_takes_none_of_its_changes(
    active: WorkerContext, crm: FakeCrm, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not active.ledger.is_postgresql:
        pytest.skip("SQLite takes its write lock before rollback reads: no claim can race it")
    run_id = synced_and_planned(active)
    clock.advance(days=60)
    with active.ledger.write() as connection:
        assert ob.promote_due(connection, active.today(), now=active.now())
    cancel_changes = ob.cancel_changes
    claimed: list[ob.ChangeRow] = []

    def claimed_meanwhile(
        connection: sa.Connection, change_ids: Sequence[str], *, now: datetime
    ) -> ob.Cancelled:
        with active.ledger.write() as other:  # a worker claims between the read and the cancel
            claimed.extend(
                ob.claim(other, worker="w", limit=500, lease=timedelta(seconds=60), now=now)
            )
        return cancel_changes(connection, change_ids, now=now)

    monkeypatch.setattr(ob, "cancel_changes", claimed_meanwhile)
    back = rollback_run(active, run_id)
    monkeypatch.setattr(ob, "cancel_changes", cancel_changes)
    clock.advance(minutes=2)
    apply_due(active)

    assert claimed == []
    assert back.cancelled > 0
    with active.ledger.read() as connection:
        run = get_run(connection, run_id)
        assert run is not None
        assert run.state is RunState.ROLLED_BACK
        assert {r.state for r in ob.select_changes(connection, run_id=run_id)} == {
            ChangeState.CANCELLED
        }
    assert not any(crm.owner_writes.values())
