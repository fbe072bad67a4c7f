"""A plan made between an apply and the next sync starts from the owners the apply wrote."""

from __future__ import annotations

from collections import Counter

from tests.worker.fake_crm import FakeCrm
from worker.context import WorkerContext
from worker.planning import plan_from_ledger
from worker.steps import sync_step
from worker.writeback import apply_due


def test_a_plan_before_the_next_sync_proposes_no_applied_change_again(
    active: WorkerContext, crm: FakeCrm
) -> None:
    sync_step(active, spec="hubspot", full=True)
    plan_from_ledger(active, save=True)
    applied = [r for r in apply_due(active).rows if r.state == "applied"]

    replanned = plan_from_ledger(active, save=True)
    again = apply_due(active)

    assert applied
    assert replanned.recorded is not None
    assert replanned.recorded.inserted == ()
    assert again.rows == []
    assert max(Counter(account for _, account, _ in crm.notes.values()).values()) == 1
