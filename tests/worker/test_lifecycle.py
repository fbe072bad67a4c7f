"""A change's life in the ledger: re-planning, approval by share, departures, rollback, leases."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from connectors.errors import TerminalError
from rules.reasons import Share
from tests.worker.conftest import Clock
from tests.worker.fake_crm import FakeCrm
from worker.approvals import approve_run, decline_run
from worker.context import WorkerContext
from worker.departures import give_notice
from worker.ledger import LedgerError
from worker.ledger import outbox as ob
from worker.ledger.outbox import select_changes
from worker.ledger.states import ChangeState
from worker.ledger.tables import pins
from worker.planning import plan_from_ledger
from worker.rollback import RollbackError, rollback_run
from worker.steps import apply_step, sync_step
from worker.writeback import apply_due, worker_token


def busiest_rep(ctx: WorkerContext) -> str:
    """The team member with the most accounts in the plan (not a holding owner)."""
    reps = plan_from_ledger(ctx).plan.reps
    return max((r for r in reps if r.active), key=lambda r: (r.accounts, r.owner_id)).owner_id


def a_rep_with_their_book_applied(ctx: WorkerContext, crm: FakeCrm) -> tuple[str, list[str]]:
    """The first plan applied; the busiest rep and the accounts they own now."""
    sync_step(ctx, spec="hubspot", full=True)
    plan_from_ledger(ctx, save=True)
    apply_due(ctx)
    rep = busiest_rep(ctx)
    return rep, [a for a, acc in crm.companies.items() if acc.owner_id == rep]


def rows(ctx: WorkerContext) -> list[ob.ChangeRow]:
    with ctx.ledger.read() as connection:
        return select_changes(connection)


def test_replanning_keeps_a_pending_change_id_and_date_and_cancels_one_no_longer_proposed(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    sync_step(active, spec="hubspot", full=True)
    first = plan_from_ledger(active, save=True)
    pending = {r.account_id: r for r in rows(active) if r.effective_date > active.today()}
    assert pending, "the golden org's first plan has changes with notice"
    clock.advance(days=1)
    account, row = min(pending.items())
    # The rep the change leaves the account with takes it by hand: that proposal is moot.
    crm.hand_edit(account, row.to_owner_id)
    sync_step(active, spec="hubspot")
    second = plan_from_ledger(active, save=True)
    after = {r.change_id: r for r in rows(active)}
    assert first.run_id != second.run_id
    others = {r.change_id: r for a, r in pending.items() if a != account}
    assert others, "more than one change waits for its notice"
    # The next day's plan proposes every other pending move again: each keeps its row, id,
    # date and run, and stays open.
    assert set(others) <= {c.change_id for c in second.changes}
    assert second.recorded is not None
    assert set(others) <= set(second.recorded.kept)
    for change_id, kept in others.items():
        assert after[change_id].effective_date == kept.effective_date
        assert after[change_id].run_id == first.run_id
        assert after[change_id].state is kept.state
    assert after[row.change_id].state is ChangeState.CANCELLED
    assert row.change_id in second.recorded.cancelled


def test_over_the_rail_forced_changes_apply_and_discretionary_ones_wait_for_approval(
    active: WorkerContext, crm: FakeCrm, clock: Clock, golden_rules_text: str
) -> None:
    from worker.activation import activate  # noqa: PLC0415

    strict = golden_rules_text.replace("max_share_per_run: 0.25", "max_share_per_run: 0.01")
    assert strict != golden_rules_text
    activate(active, "rules.yaml", strict)
    sync_step(active, spec="hubspot", full=True)
    run = plan_from_ledger(active, save=True)
    assert Share.DISCRETIONARY in run.held
    clock.advance(days=60)
    apply_due(active)
    by_share = Counter((str(r.share), str(r.state)) for r in rows(active))
    assert by_share[("discretionary", "planned")] > 0
    assert by_share[("discretionary", "applied")] == 0
    assert by_share[("forced", "planned")] == 0
    assert run.run_id is not None
    decided = approve_run(active, run.run_id)
    assert decided.changes == by_share[("discretionary", "planned")]
    apply_due(active)
    assert {str(r.state) for r in rows(active) if r.share is Share.DISCRETIONARY} == {"applied"}


def test_declined_changes_never_apply(
    active: WorkerContext, crm: FakeCrm, clock: Clock, golden_rules_text: str
) -> None:
    from worker.activation import activate  # noqa: PLC0415

    activate(
        active,
        "r.yaml",
        golden_rules_text.replace("max_share_per_run: 0.25", "max_share_per_run: 0.01"),
    )
    sync_step(active, spec="hubspot", full=True)
    run = plan_from_ledger(active, save=True)
    assert run.run_id is not None
    decline_run(active, run.run_id)
    clock.advance(days=60)
    apply_due(active)
    declined = [r for r in rows(active) if r.state is ChangeState.DECLINED]
    assert declined
    assert all(crm.owner_writes[r.account_id] == 0 for r in declined)


def test_a_rep_deactivated_in_the_crm_has_their_book_moved_within_one_sync_with_notes(
    active: WorkerContext, crm: FakeCrm
) -> None:
    leaver, book = a_rep_with_their_book_applied(active, crm)
    assert book
    crm.deactivate(leaver)
    step = sync_step(active, spec="hubspot")
    assert step.sync.departed == [leaver]
    assert step.departure is not None
    apply_due(active)
    assert all(crm.companies[a].owner_id != leaver for a in book)
    moved = [r for r in rows(active) if r.account_id in book and r.reason == "departed"]
    assert moved
    assert all(r.state is ChangeState.APPLIED for r in moved)
    assert all(crm.note_posts[f"territory-sync:{r.change_id}"] == 1 for r in moved)


def test_a_held_discretionary_move_whose_owner_then_leaves_goes_ahead_with_the_departure(
    active: WorkerContext, crm: FakeCrm, golden_rules_text: str
) -> None:
    from worker.activation import activate  # noqa: PLC0415

    strict = golden_rules_text.replace("max_share_per_run: 0.25", "max_share_per_run: 0.01")
    activate(active, "rules.yaml", strict)
    sync_step(active, spec="hubspot", full=True)
    plan_from_ledger(active, save=True)
    held = [r for r in rows(active) if r.state is ChangeState.PLANNED and r.from_owner_id]
    assert held, "the strict rail holds discretionary moves away from active reps"
    leaver = held[0].from_owner_id
    assert leaver is not None
    crm.deactivate(leaver)
    assert sync_step(active, spec="hubspot").departure is not None
    apply_due(active)
    after = {r.change_id: r for r in rows(active)}
    forced_now = [after[r.change_id] for r in held if r.from_owner_id == leaver]
    assert {(str(r.share), str(r.state)) for r in forced_now} == {("forced", "applied")}


def test_a_departure_seen_by_a_sync_that_then_failed_starts_its_run_on_the_next_sync(
    active: WorkerContext, crm: FakeCrm
) -> None:
    leaver, book = a_rep_with_their_book_applied(active, crm)
    crm.deactivate(leaver)
    crm.fail_company_pages = TerminalError("the token was revoked", status=401)
    with pytest.raises(TerminalError):
        sync_step(active, spec="hubspot")  # the owners were stored, the companies were not
    crm.fail_company_pages = None
    step = sync_step(active, spec="hubspot")
    assert step.departure is not None
    assert step.departed == (leaver,)
    apply_due(active)
    assert all(crm.companies[a].owner_id != leaver for a in book)
    assert sync_step(active, spec="hubspot").departure is None  # one run per departure


def test_notice_a_week_ahead_moves_nothing_before_that_day_and_everything_on_it(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    leaver, book = a_rep_with_their_book_applied(active, crm)
    day = active.today() + timedelta(days=7)
    notice = give_notice(active, crm.owners[leaver].email, day)
    assert {c.effective_date for c in notice.run.changes if c.from_owner_id == leaver} == {day}
    for _ in range(6):
        clock.advance(days=1)
        apply_due(active)
        assert all(crm.companies[a].owner_id == leaver for a in book)
    clock.advance(days=1)
    apply_due(active)
    assert all(crm.companies[a].owner_id != leaver for a in book)


def test_a_rollback_restores_the_owners_with_new_ids_and_the_next_plan_leaves_them(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    planned_on = active.today()
    sync_step(active, spec="hubspot", full=True)
    run = plan_from_ledger(active, save=True)
    assert run.run_id is not None
    before = {a: acc.owner_id for a, acc in crm.companies.items()}
    clock.advance(days=60)
    apply_due(active)
    applied = [r for r in rows(active) if r.state is ChangeState.APPLIED]
    assert applied
    after = {a: acc.owner_id for a, acc in crm.companies.items()}
    gone = {o for o, owner in crm.owners.items() if not owner.active}
    left_behind = {r.account_id for r in applied if r.from_owner_id in gone}
    assert left_behind  # the run moved a departed rep's book: that part stays put
    back = rollback_run(active, run.run_id)
    assert (back.undone, back.kept) == (len(applied) - len(left_behind), len(left_behind))
    apply_due(active)
    assert {a: acc.owner_id for a, acc in crm.companies.items()} == {
        a: after[a] if a in left_behind else owner for a, owner in before.items()
    }
    ids = [r.change_id for r in rows(active)]
    assert len(ids) == len(set(ids))
    sync_step(active, spec="hubspot")
    again = plan_from_ledger(active, save=True, as_of=planned_on)
    # Only rule 1 moves a rolled-back account again: its previous owner is gone.
    kept_back = [r for r in applied if r.share is Share.DISCRETIONARY]
    assert kept_back
    assert not {c.account_id for c in again.changes} & {r.account_id for r in kept_back}
    # Once the pins lapse, the same moves are proposed again: a redo, with ids of its own.
    with active.ledger.write() as connection:
        connection.execute(sa.delete(pins))
    redo = plan_from_ledger(active, save=True, as_of=planned_on)
    redone = {c.account_id: c.change_id for c in redo.changes}
    earlier = {r.change_id for r in rows(active) if r.account_id in redone} - set(redone.values())
    again_moved = [r for r in kept_back if r.account_id in redone]
    assert again_moved  # (the quarter's move budget, spent once already, may hold some back)
    assert not set(redone.values()) & {r.change_id for r in applied}
    assert len(earlier) >= 2 * len(again_moved)  # each: its first change and its rollback


def test_a_run_rolled_back_once_is_not_rolled_back_again(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    sync_step(active, spec="hubspot", full=True)
    run = plan_from_ledger(active, save=True)
    assert run.run_id is not None
    clock.advance(days=60)
    apply_due(active)
    rollback_run(active, run.run_id)
    apply_due(active)
    notes = sum(crm.note_posts.values())
    with pytest.raises(RollbackError, match="rolled back already"):
        rollback_run(active, run.run_id)
    apply_due(active)
    assert sum(crm.note_posts.values()) == notes


@pytest.mark.parametrize("with_owner", [True, False])
def test_a_locked_account_is_never_moved(
    active: WorkerContext, crm: FakeCrm, clock: Clock, with_owner: bool
) -> None:
    sync_step(active, spec="hubspot", full=True)
    proposed = plan_from_ledger(active).changes
    target = next(c for c in proposed if (c.from_owner_id is not None) == with_owner)
    crm.lock(target.account_id)
    sync_step(active, spec="hubspot")
    assert target.account_id not in {
        c.account_id for c in plan_from_ledger(active, save=True).changes
    }
    clock.advance(days=60)
    apply_due(active)
    assert crm.owner_writes[target.account_id] == 0


def test_a_ledger_pointed_at_a_different_portal_is_refused(
    active: WorkerContext, crm: FakeCrm
) -> None:
    sync_step(active, spec="hubspot", full=True)
    crm.portal = "portal-2"
    with pytest.raises(LedgerError, match="belongs to hubspot account portal-1"):
        sync_step(active, spec="hubspot")
    with pytest.raises(LedgerError, match="portal-1"):
        apply_due(active)


def test_a_worker_that_died_mid_apply_is_finished_by_the_reconciler_without_a_second_write(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    sync_step(active, spec="hubspot", full=True)
    plan_from_ledger(active, save=True)
    clock.advance(days=60)
    with active.ledger.write() as connection:
        ob.promote_due(connection, active.today(), now=active.now())
        claimed = ob.claim(
            connection,
            worker=worker_token(),
            limit=200,
            lease=timedelta(minutes=1),
            now=active.now(),
        )
    # The dead worker got as far as writing the owners; its notes and ledger update never came.
    from connectors.base import OwnerWrite  # noqa: PLC0415

    crm.write_owners([OwnerWrite(r.account_id, r.to_owner_id) for r in claimed])
    assert apply_due(active).rows == []  # leases still held: nobody touches them
    clock.advance(minutes=2)
    report, _ = apply_step(active, expired_only=True)
    assert {r.state for r in report.rows} == {"applied"}
    assert set(crm.owner_writes.values()) == {1}
    assert set(crm.note_posts.values()) == {1}


def test_two_appliers_side_by_side_never_apply_a_change_twice(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    sync_step(active, spec="hubspot", full=True)
    plan_from_ledger(active, save=True)
    clock.advance(days=60)
    active.settings = active.settings.model_copy(update={"apply_chunk": 3})
    errors: list[BaseException] = []

    def run() -> None:
        try:
            apply_due(active)
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert set(crm.owner_writes.values()) <= {1}
    assert set(crm.note_posts.values()) == {1}
