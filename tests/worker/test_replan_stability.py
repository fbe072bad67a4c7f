"""A daily re-plan keeps pending moves: same ids, same dates, nothing superseded for nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sandbox.sample import write_sample
from tests.worker.conftest import Clock
from worker.activation import activate
from worker.context import WorkerContext
from worker.ledger import Ledger
from worker.planning import plan_from_ledger
from worker.settings import Settings
from worker.steps import sync_step
from worker.writeback import apply_due


def test_replanning_a_sample_org_daily_keeps_every_pending_change(
    ledger: Ledger, tmp_path: Path
) -> None:
    org = tmp_path / "org"
    write_sample(org, accounts=300, reps=8, seed=7, flavour="canonical")
    clock = Clock(datetime(2027, 1, 4, 9, 0, tzinfo=UTC))
    ctx = WorkerContext(settings=Settings(database_url=None), ledger=ledger, actor="t", clock=clock)
    activate(ctx, "rules.yaml", (org / "rules.yaml").read_text(encoding="utf-8"))
    spec = f"csv:{org}"
    sync_step(ctx, spec=spec, full=True)
    first = plan_from_ledger(ctx, save=True)
    apply_due(ctx)  # the forced changes go at once; the rest wait for their notice
    pending = {c.change_id: c.effective_date for c in first.changes}
    for _ in range(3):
        clock.advance(days=1)
        ctx.forget_connectors()  # a new day, a new worker process
        sync_step(ctx, spec=spec)
        again = plan_from_ledger(ctx, save=True)
        assert again.recorded is not None
        assert again.recorded.superseded == ()
        for change in again.changes:
            if change.change_id in pending:
                assert change.effective_date == pending[change.change_id]
