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
from worker.planning import PlanRun, plan_from_ledger
from worker.steps import sync_step


def with_rail(ctx: WorkerContext, rules_text: str, share: float) -> None:
    """Activate the golden rule with `changes.max_share_per_run` at `share`."""
    text = rules_text.replace("max_share_per_run: 0.25", f"max_share_per_run: {share}")
    activate(ctx, "r.yaml", text)


def run_held_by_a_strict_rail(ctx: WorkerContext, rules_text: str) -> int:
    """Sync the golden org and save a plan whose discretionary moves wait for approval."""
    with_rail(ctx, rules_text, 0.01)
    sync_step(ctx, spec="hubspot", full=True)
    run = plan_from_ledger(ctx, save=True)
    assert run.run_id is not None
    return run.run_id


def next_nights_plan(ctx: WorkerContext, clock: Clock, rules_text: str) -> PlanRun:
    """The rail lifted: without the pins, every declined move would go ahead."""
    with_rail(ctx, rules_text, 1.0)
    clock.advance(days=1)
    sync_step(ctx, spec="hubspot")
    return plan_from_ledger(ctx, save=True)


def test_the_next_plan_does_not_propose_a_declined_move_again(
    active: WorkerContext, clock: Clock, golden_rules_text: str
) -> None:
    run_id = run_held_by_a_strict_rail(active, golden_rules_text)
    decline_run(active, run_id)
    with active.ledger.read() as connection:
        declined = select_changes(connection, run_id=run_id, state=ChangeState.DECLINED)
    assert declined

    again = next_nights_plan(active, clock, golden_rules_text)

    moved_again = {c.account_id for c in again.changes if c.reason not in ("departed", "orphaned")}
    assert not moved_again & {r.account_id for r in declined}


def test_declining_keeps_a_hand_edit_made_since_the_plan(
    active: WorkerContext, crm: FakeCrm, clock: Clock, golden_rules_text: str
) -> None:
    """A person moves an account by hand to a third rep, then declines the run: the hand-edit
    pin stays (the decline pinned the plan's stale `from` in its place, and the next plan
    moved the account away from the person's choice)."""
    run_id = run_held_by_a_strict_rail(active, golden_rules_text)
    with active.ledger.read() as connection:
        change = next(
            r
            for r in select_changes(connection, run_id=run_id, state=ChangeState.PLANNED)
            if r.from_owner_id and r.to_owner_id
        )
    third = next(
        o.id
        for o in crm.owners.values()
        if o.active and o.id not in (change.from_owner_id, change.to_owner_id)
    )
    crm.hand_edit(change.account_id, third)
    sync_step(active, spec="hubspot")

    decline_run(active, run_id)

    with active.ledger.read() as connection:
        pin = active_pins(connection, active.today())[change.account_id]
    assert (pin.owner_id, pin.cause) == (third, "hand_edit")
    again = next_nights_plan(active, clock, golden_rules_text)
    assert not [c for c in again.changes if c.account_id == change.account_id]
