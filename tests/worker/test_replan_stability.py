"""A daily re-plan keeps pending moves: same ids, same dates, same rows; nothing superseded or
cancelled for nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sandbox.sample import write_sample
from tests.worker.conftest import Clock
from worker.activation import activate
from worker.context import WorkerContext
from worker.ledger import Ledger
from worker.ledger.outbox import select_changes
from worker.ledger.states import OPEN_STATES, ChangeState
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
    plan_from_ledger(ctx, save=True)
    apply_due(ctx)  # the forced changes go at once; the rest wait for their notice
    waiting = open_rows(ctx)
    assert len(waiting) >= 2, "the sample's first plan leaves moves waiting for their notice"
    assert all(day > ctx.today() for _, day, _ in waiting.values())
    for _ in range(3):
        clock.advance(days=1)
        ctx.forget_connectors()  # a new day, a new worker process
        sync_step(ctx, spec=spec)
        again = plan_from_ledger(ctx, save=True)
        assert again.recorded is not None
        assert again.recorded.superseded == ()
        assert again.recorded.cancelled == ()
        # Every move waiting yesterday was proposed again and kept: same row, id, account,
        # date and state. (A day can add moves of its own: an intent signal going cold.)
        assert set(waiting) <= set(again.recorded.kept)
        now_open = open_rows(ctx)
        assert {i: now_open.get(i) for i in waiting} == waiting
        waiting = now_open


def open_rows(ctx: WorkerContext) -> dict[str, tuple[str, date, ChangeState]]:
    """change id -> (account, effective date, state) of every open change."""
    with ctx.ledger.read() as connection:
        return {
            r.change_id: (r.account_id, r.effective_date, r.state)
            for r in select_changes(connection)
            if r.state in OPEN_STATES
        }
