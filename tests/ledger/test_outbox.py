"""The outbox: a proposal keeps its row, approval is per share, claims never overlap."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event as sa_event

from rules.reasons import Share
from worker.ledger import Ledger, LedgerError
from worker.ledger.facts import bind_crm, bound_crm
from worker.ledger.outbox import (
    ChangeRow,
    NewChange,
    Outcome,
    approve,
    approve_changes,
    cancel_changes,
    claim,
    count_by_state,
    decline,
    finish,
    open_changes,
    promote_due,
    record_changes,
    select_changes,
)
from worker.ledger.runs import start_run
from worker.ledger.states import OPEN_STATES, ChangeState, RunKind

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
TODAY = NOW.date()


def make_change(
    account: str,
    *,
    to: str = "o-2",
    frm: str | None = "o-1",
    share: Share = Share.DISCRETIONARY,
    effective: date = TODAY,
    change_id: str | None = None,
) -> NewChange:
    return NewChange(
        change_id=change_id or f"c-{account}-{frm}-{to}",
        account_id=account,
        from_owner_id=frm,
        to_owner_id=to,
        reason="rebalance" if share is Share.DISCRETIONARY else "departed",
        share=share,
        routing_row="emea",
        routing_line=12,
        team="emea",
        rule_revision="r1",
        effective_date=effective,
    )


def new_run(ledger: Ledger) -> int:
    with ledger.write() as c:
        return start_run(c, kind=RunKind.PLAN, actor="test", source="ledger", now=NOW)


def test_the_same_proposal_keeps_its_row_and_a_different_one_supersedes(ledger: Ledger) -> None:
    first, second = new_run(ledger), new_run(ledger)
    with ledger.write() as c:
        record_changes(
            c, first, [make_change("a1"), make_change("a2")], now=NOW, cancel_unproposed=True
        )
    later = NOW + timedelta(days=1)
    with ledger.write() as c:
        recorded = record_changes(
            c,
            second,
            [make_change("a1"), make_change("a2", to="o-3")],
            now=later,
            cancel_unproposed=True,
        )
    assert recorded.kept == ("c-a1-o-1-o-2",)
    assert recorded.inserted == ("c-a2-o-1-o-3",)
    assert recorded.superseded == ("c-a2-o-1-o-2",)
    with ledger.read() as c:
        rows = {r.change_id: r for r in select_changes(c)}
    assert rows["c-a1-o-1-o-2"].run_id == first  # same row, same run, same date
    assert rows["c-a2-o-1-o-2"].state is ChangeState.SUPERSEDED
    assert rows["c-a2-o-1-o-3"].supersedes == "c-a2-o-1-o-2"


def test_an_open_change_no_plan_proposes_is_cancelled_but_never_one_being_applied(
    ledger: Ledger,
) -> None:
    run = new_run(ledger)
    with ledger.write() as c:
        record_changes(
            c, run, [make_change("a1"), make_change("a2")], now=NOW, cancel_unproposed=True
        )
        approve(c, run_id=run, who="t", now=NOW)
        promote_due(c, TODAY, now=NOW)
        claim(c, worker="w1", limit=1, lease=timedelta(minutes=5), now=NOW)  # takes a1
    with ledger.write() as c:
        recorded = record_changes(c, new_run_in(c), [], now=NOW, cancel_unproposed=True)
    assert recorded.cancelled == ("c-a2-o-1-o-2",)
    with ledger.read() as c:
        assert open_changes(c)["a1"].state is ChangeState.APPLYING


def new_run_in(connection) -> int:  # type: ignore[no-untyped-def]
    return start_run(connection, kind=RunKind.PLAN, actor="test", source="ledger", now=NOW)


def test_a_new_proposal_for_an_account_being_applied_waits_for_the_next_plan(
    ledger: Ledger,
) -> None:
    run = new_run(ledger)
    with ledger.write() as c:
        record_changes(c, run, [make_change("a1")], now=NOW, cancel_unproposed=True)
        approve(c, run_id=run, who="t", now=NOW)
        promote_due(c, TODAY, now=NOW)
        claim(c, worker="w1", limit=5, lease=timedelta(minutes=5), now=NOW)
    with ledger.write() as c:
        recorded = record_changes(
            c, new_run_in(c), [make_change("a1", to="o-9")], now=NOW, cancel_unproposed=True
        )
    assert recorded.deferred == ("a1",)
    assert recorded.inserted == ()


def test_a_change_whose_owner_was_written_is_neither_superseded_nor_cancelled_by_a_plan(
    ledger: Ledger,
) -> None:
    _due(ledger, 2)
    with ledger.write() as c:
        rows = claim(c, worker="w1", limit=5, lease=timedelta(minutes=5), now=NOW)
        # The owners were written; the note call failed as a whole: back to due, note pending.
        finish(
            c,
            "w1",
            [Outcome(r.change_id, ChangeState.DUE, owner_written=True) for r in rows],
            now=NOW,
        )
    with ledger.write() as c:
        another = record_changes(
            c, new_run_in(c), [make_change("a0000", to="o-9")], now=NOW, cancel_unproposed=True
        )
    assert (another.superseded, another.cancelled, another.inserted) == ((), (), ())
    assert sorted(another.deferred) == ["a0000", "a0001"]
    with ledger.read() as c:
        waiting = open_changes(c)
    assert {r.state for r in waiting.values()} == {ChangeState.DUE}
    assert all(r.owner_written_at == NOW and not r.replaceable for r in waiting.values())


def test_a_proposal_whose_row_was_finished_while_the_plan_ran_is_settled_not_inserted(
    ledger: Ledger,
) -> None:
    _due(ledger, 2)
    with ledger.write() as c:
        rows = claim(c, worker="w1", limit=5, lease=timedelta(minutes=5), now=NOW)
        finish(c, "w1", [Outcome(r.change_id, ChangeState.APPLIED) for r in rows], now=NOW)
    # A plan computed from the open changes read before the apply: a0000 kept, a0001 moved on.
    stale = [
        make_change("a0000"),
        replace(make_change("a0001", to="o-3"), supersedes="c-a0001-o-1-o-2"),
    ]
    with ledger.write() as c:
        recorded = record_changes(c, new_run_in(c), stale, now=NOW, cancel_unproposed=True)
    assert recorded.settled == ("c-a0000-o-1-o-2", "c-a0001-o-1-o-3")
    assert (recorded.inserted, recorded.kept, recorded.superseded) == ((), (), ())
    with ledger.read() as c:
        assert count_by_state(c) == {"applied": 2}


def test_approval_is_per_share_and_declined_changes_never_become_due(ledger: Ledger) -> None:
    run = new_run(ledger)
    proposals = [
        make_change("a1", share=Share.FORCED),
        make_change("a2"),
        make_change("a3"),
    ]
    with ledger.write() as c:
        record_changes(c, run, proposals, now=NOW, cancel_unproposed=True)
        assert approve(c, run_id=run, who="rail", now=NOW, share=Share.FORCED) == 1
        assert decline(c, run_id=run, who="dana", now=NOW) == 2
        assert promote_due(c, TODAY, now=NOW) == 1
    with ledger.read() as c:
        assert count_by_state(c, run) == {"due": 1, "declined": 2}


def test_only_changes_effective_by_today_become_due(ledger: Ledger) -> None:
    run = new_run(ledger)
    with ledger.write() as c:
        record_changes(
            c,
            run,
            [make_change("a1"), make_change("a2", effective=TODAY + timedelta(days=7))],
            now=NOW,
            cancel_unproposed=True,
        )
        approve(c, run_id=run, who="t", now=NOW)
        assert promote_due(c, TODAY, now=NOW) == 1
        assert promote_due(c, TODAY + timedelta(days=6), now=NOW) == 0
        assert promote_due(c, TODAY + timedelta(days=7), now=NOW) == 1


def _due(ledger: Ledger, n: int) -> None:
    run = new_run(ledger)
    with ledger.write() as c:
        record_changes(
            c, run, [make_change(f"a{i:04d}") for i in range(n)], now=NOW, cancel_unproposed=True
        )
        approve(c, run_id=run, who="t", now=NOW)
        promote_due(c, TODAY, now=NOW)


def test_concurrent_claimants_never_get_the_same_row(ledger: Ledger) -> None:
    _due(ledger, 300)
    claimed: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        mine: list[str] = []
        try:
            while True:
                with ledger.write() as c:
                    rows = claim(c, worker=name, limit=7, lease=timedelta(minutes=5), now=NOW)
                if not rows:
                    break
                mine.extend(r.change_id for r in rows)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        claimed[name] = mine

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    every = [cid for ids in claimed.values() for cid in ids]
    assert len(every) == 300
    assert len(set(every)) == 300


def test_an_expired_lease_is_claimed_again_and_the_first_worker_can_no_longer_finish(
    ledger: Ledger,
) -> None:
    _due(ledger, 1)
    with ledger.write() as c:
        (first,) = claim(c, worker="w1", limit=5, lease=timedelta(minutes=5), now=NOW)
    assert not first.claimed_before
    later = NOW + timedelta(minutes=6)
    with ledger.write() as c:
        assert claim(c, worker="w2", limit=5, lease=timedelta(minutes=5), now=NOW) == []
        (second,) = claim(c, worker="w2", limit=5, lease=timedelta(minutes=5), now=later)
    assert second.claimed_before
    with ledger.write() as c:
        lost = finish(c, "w1", [Outcome(first.change_id, ChangeState.APPLIED)], now=later)
        assert lost == [first.change_id]
        assert finish(c, "w2", [Outcome(second.change_id, ChangeState.APPLIED)], now=later) == []
    with ledger.read() as c:
        (row,) = select_changes(c)
    assert row.state is ChangeState.APPLIED
    assert (row.claims, row.attempts) == (2, 0)  # claimed twice; its record never failed


def test_a_ledger_belongs_to_one_crm_account(ledger: Ledger) -> None:
    with ledger.write() as c:
        assert bind_crm(c, "hubspot", "portal-1", now=NOW) is True
        assert bind_crm(c, "hubspot", "portal-1", now=NOW) is False
    with (
        pytest.raises(LedgerError, match="belongs to hubspot account portal-1"),
        ledger.write() as c,
    ):
        bind_crm(c, "hubspot", "portal-2", now=NOW)
    with ledger.read() as c:
        assert bound_crm(c) == ("hubspot", "portal-1")


def _statements_finishing(ledger: Ledger, outcomes: list[Outcome], worker: str) -> int:
    """How many statements `finish` sends for `outcomes` (an executemany counts once)."""
    sent: list[str] = []

    def count(*args: object) -> None:
        sent.append(str(args[2]))

    sa_event.listen(ledger.engine, "before_cursor_execute", count)
    try:
        with ledger.write() as c:
            assert finish(c, worker, outcomes, now=NOW) == []
    finally:
        sa_event.remove(ledger.engine, "before_cursor_execute", count)
    return len(sent)


def test_finishing_a_chunk_costs_the_same_statements_for_many_rows_as_for_few(
    ledger: Ledger,
) -> None:
    _due(ledger, 40)
    with ledger.write() as c:
        few = claim(c, worker="w1", limit=4, lease=timedelta(minutes=5), now=NOW)
        many = claim(c, worker="w2", limit=36, lease=timedelta(minutes=5), now=NOW)

    def outcomes(rows: list[ChangeRow]) -> list[Outcome]:
        # Each row its own outcome: applied with its note, back to due with an error, conflict.
        return [
            Outcome(r.change_id, ChangeState.APPLIED, note_id=f"note-{r.change_id}")
            if i % 3 == 0
            else Outcome(r.change_id, ChangeState.DUE, error={"class": "TransientError"})
            if i % 3 == 1
            else Outcome(r.change_id, ChangeState.CONFLICT, error={"code": "HAND_EDIT"})
            for i, r in enumerate(rows)
        ]

    assert _statements_finishing(ledger, outcomes(many), "w2") == _statements_finishing(
        ledger, outcomes(few), "w1"
    )
    with ledger.read() as c:
        rows = {r.change_id: r for r in select_changes(c)}
    for outcome in outcomes(few) + outcomes(many):
        row = rows[outcome.change_id]
        assert (row.state, row.error, row.note_id) == (
            outcome.state,
            outcome.error,
            outcome.note_id,
        )
        assert (row.applied_at is not None) == (outcome.state is ChangeState.APPLIED)
        assert row.lease_until is None


def test_a_claim_racing_a_plan_never_leaves_an_account_two_open_changes(ledger: Ledger) -> None:
    if ledger.is_sqlite:
        pytest.skip("SQLite runs one writer at a time: a claim cannot run inside a plan")
    _due(ledger, 1)  # a0000: o-1 -> o-2, due
    ran: list[bool] = []

    def claim_meanwhile(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        # Right after the plan read the open changes, a worker claims the due row.
        if ran or "FROM changes" not in statement or "state IN" not in statement:
            return
        ran.append(True)
        with ledger.write() as other:
            claim(other, worker="w1", limit=5, lease=timedelta(minutes=5), now=NOW)

    with ledger.write() as c:
        sa_event.listen(c, "after_cursor_execute", claim_meanwhile)
        record_changes(
            c, new_run_in(c), [make_change("a0000", to="o-3")], now=NOW, cancel_unproposed=True
        )
        sa_event.remove(c, "after_cursor_execute", claim_meanwhile)
    assert ran, "the plan read the open changes"
    with ledger.read() as c:
        open_rows = [r for r in select_changes(c, account_id="a0000") if r.state in OPEN_STATES]
    assert len(open_rows) == 1


@pytest.mark.parametrize("decision", ["approve", "approve_changes", "decline", "cancel_changes"])
def test_a_decision_on_many_changes_locks_them_in_change_id_order_before_updating(
    ledger: Ledger, decision: str
) -> None:
    if not ledger.is_postgresql:
        pytest.skip("SQLite runs one writer at a time: no row locks to order")
    run = new_run(ledger)
    with ledger.write() as c:  # rows stored in descending id order: an UPDATE meets them so
        proposals = [make_change(f"a{i:03d}") for i in range(30)][::-1]
        record_changes(c, run, proposals, now=NOW, cancel_unproposed=True)
    sent: list[str] = []

    def keep(*args: object) -> None:
        sent.append(str(args[2]))

    ids = [p.change_id for p in proposals]
    decide = {
        "approve": lambda c: approve(c, run_id=run, who="t", now=NOW),
        "approve_changes": lambda c: approve_changes(c, ids, who="t", now=NOW),
        "decline": lambda c: decline(c, run_id=run, who="t", now=NOW),
        "cancel_changes": lambda c: cancel_changes(c, ids, now=NOW),
    }[decision]
    sa_event.listen(ledger.engine, "before_cursor_execute", keep)
    try:
        with ledger.write() as c:
            decide(c)
    finally:
        sa_event.remove(ledger.engine, "before_cursor_execute", keep)
    first_update = next(i for i, s in enumerate(sent) if s.lstrip().startswith("UPDATE changes"))
    locks = [s for s in sent[:first_update] if "FOR UPDATE" in s]
    # Like a plan, a finish and a lease renewal: two of them queue instead of deadlocking.
    assert locks, f"{decision} updated rows it had not locked in change id order"
    assert all("ORDER BY changes.change_id" in s for s in locks)
