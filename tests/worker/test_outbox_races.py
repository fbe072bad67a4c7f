"""Write-back and people racing a plan: what each was told is what the ledger holds."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.worker.conftest import Clock
from tests.worker.fake_crm import FakeCrm
from tests.worker.test_writeback import synced_and_planned
from worker import planning
from worker.context import WorkerContext
from worker.ledger.outbox import select_changes
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
