"""A declined move stays declined: its account is pinned to the owner it keeps for
`changes.respect_manual_days`, so the next nightly plan does not propose it again under a new
id (where the share then fell under the rail, it went ahead without anyone approving it)."""

from __future__ import annotations

from tests.worker.conftest import Clock
from tests.worker.fake_crm import FakeCrm
from worker.activation import activate
from worker.approvals import decline_run
from worker.context import WorkerContext
from worker.ledger.outbox import select_changes
from worker.ledger.pins import active_pins
from worker.ledger.states import ChangeState
from worker.planning import plan_from_ledger
from worker.steps import sync_step


def test_the_next_plan_does_not_propose_a_declined_move_again(
    active: WorkerContext, crm: FakeCrm, clock: Clock, golden_rules_text: str
) -> None:
    activate(
        active,
        "r.yaml",
        golden_rules_text.replace("max_share_per_run: 0.25", "max_share_per_run: 0.01"),
    )
    sync_step(active, spec="hubspot", full=True)
    run = plan_from_ledger(active, save=True)
    assert run.run_id is not None
    decline_run(active, run.run_id)
    with active.ledger.read() as connection:
        declined = select_changes(connection, run_id=run.run_id, state=ChangeState.DECLINED)
    assert declined
    # The next night the rail is lifted: without the pins, every declined move would go ahead.
    activate(
        active,
        "r.yaml",
        golden_rules_text.replace("max_share_per_run: 0.25", "max_share_per_run: 1.0"),
    )
    clock.advance(days=1)
    sync_step(active, spec="hubspot")

    again = plan_from_ledger(active, save=True)

    moved_again = {c.account_id for c in again.changes if c.reason not in ("departed", "orphaned")}
    assert not moved_again & {r.account_id for r in declined}


def test_declining_keeps_a_hand_edit_made_since_the_plan(
    active: WorkerContext, crm: FakeCrm, clock: Clock, golden_rules_text: str
) -> None:
    """A person moves an account by hand to a third rep, then declines the run: the hand-edit
    pin stays (the decline pinned the plan's stale `from` in its place, and the next plan
    moved the account away from the person's choice)."""
    activate(
        active,
        "r.yaml",
        golden_rules_text.replace("max_share_per_run: 0.25", "max_share_per_run: 0.01"),
    )
    sync_step(active, spec="hubspot", full=True)
    run = plan_from_ledger(active, save=True)
    assert run.run_id is not None
    with active.ledger.read() as connection:
        change = next(
            r
            for r in select_changes(connection, run_id=run.run_id, state=ChangeState.PLANNED)
            if r.from_owner_id and r.to_owner_id
        )
    third = next(
        o.id
        for o in crm.owners.values()
        if o.active and o.id not in (change.from_owner_id, change.to_owner_id)
    )
    crm.hand_edit(change.account_id, third)
    sync_step(active, spec="hubspot")

    decline_run(active, run.run_id)

    with active.ledger.read() as connection:
        pin = active_pins(connection, active.today())[change.account_id]
    assert (pin.owner_id, pin.cause) == (third, "hand_edit")
    activate(
        active,
        "r.yaml",
        golden_rules_text.replace("max_share_per_run: 0.25", "max_share_per_run: 1.0"),
    )
    clock.advance(days=1)
    sync_step(active, spec="hubspot")
    again = plan_from_ledger(active, save=True)
    assert not [c for c in again.changes if c.account_id == change.account_id]
