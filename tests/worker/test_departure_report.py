"""A departure run's summary, as the alerts will send it: who left, how many accounts moved and
to whom, and once applied, what became of each move (a hand edit is a conflict, named)."""

from __future__ import annotations

from tests.worker.fake_crm import FakeCrm
from tests.worker.test_lifecycle import a_rep_with_their_book_applied
from worker.context import WorkerContext
from worker.departures import departure_report
from worker.ledger.outbox import select_changes
from worker.ledger.runs import get_run
from worker.steps import sync_step
from worker.writeback import apply_due


def test_a_departure_run_reports_who_left_the_moves_and_each_conflict_after_apply(
    active: WorkerContext, crm: FakeCrm
) -> None:
    leaver, _ = a_rep_with_their_book_applied(active, crm)
    crm.deactivate(leaver)
    step = sync_step(active, spec="hubspot")
    assert step.departure is not None
    run_id = step.departure.run_id
    assert run_id is not None
    with active.ledger.read() as connection:
        run = get_run(connection, run_id)
        assert run is not None
        assert run.summary is not None
        ids = set(run.summary["change_ids"])
        moves = [r for r in select_changes(connection) if r.change_id in ids]
    # Its own changes, and open ones of earlier runs it proposed again (kept with their run).
    assert {r.run_id for r in moves} - {run_id}
    # A manager hands one account to a rep of their choosing before the move is applied.
    edited = min((r for r in moves if r.from_owner_id == leaver), key=lambda r: r.account_id)
    chosen = next(
        o
        for o, owner in sorted(crm.owners.items())
        if owner.active and o not in (edited.from_owner_id, edited.to_owner_id)
    )
    crm.hand_edit(edited.account_id, chosen)
    apply_due(active)

    with active.ledger.read() as connection:
        run = get_run(connection, run_id)
        assert run is not None
        report = departure_report(connection, run.summary)

    assert report is not None
    assert report["departed"] == [{"owner_id": leaver, "email": crm.owners[leaver].email}]
    assert report["accounts_moved"] == len(moves)
    assert sum(m["accounts"] for m in report["moves"]) == len(moves)
    assert leaver in {m["from_owner_id"] for m in report["moves"]}
    assert report["held_for_approval"] == []
    by_state = report["outcome"]["changes_by_state"]
    assert sum(by_state.values()) == len(moves)
    assert by_state["conflict"] == 1
    # The leaver's book moves at once: all of it applied but the account edited by hand.
    assert by_state["applied"] >= sum(r.from_owner_id == leaver for r in moves) - 1
    (conflict,) = report["outcome"]["conflicts"]
    assert (conflict["change_id"], conflict["account_id"]) == (
        edited.change_id,
        edited.account_id,
    )
    assert crm.companies[edited.account_id].owner_id == chosen  # never overwritten


def test_a_summary_recorded_before_it_listed_its_changes_has_no_outcome(
    active: WorkerContext,
) -> None:
    old = {"departed": [], "accounts_moved": 3, "moves": [], "held_for_approval": []}
    with active.ledger.read() as connection:
        assert departure_report(connection, old) == {**old, "outcome": None}
