"""Write-back from the ledger: every change lands once, with its note, or says why not."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from connectors.base import Note, OwnerWrite, WriteOutcome, WriteResult
from connectors.errors import BudgetExhaustedError, ConnectorError, TerminalError, TransientError
from tests.worker.conftest import Clock
from tests.worker.fake_crm import FakeCrm
from worker.approvals import DecisionError, cancel_change, pause
from worker.context import WorkerContext
from worker.ledger import outbox as ob
from worker.ledger.outbox import select_changes
from worker.ledger.states import ChangeState
from worker.planning import plan_from_ledger
from worker.steps import apply_step, sync_step
from worker.writeback import Action, apply_due


def states(ctx: WorkerContext) -> Counter[str]:
    with ctx.ledger.read() as connection:
        return Counter(str(r.state) for r in select_changes(connection))


def _state_of(active: WorkerContext, change_id: str) -> ob.ChangeRow:
    """One change as the ledger holds it now."""
    with active.ledger.read() as connection:
        (row,) = [r for r in select_changes(connection) if r.change_id == change_id]
    return row


def synced_and_planned(ctx: WorkerContext) -> int:
    sync_step(ctx, spec="hubspot", full=True)
    run = plan_from_ledger(ctx, save=True)
    assert run.run_id is not None
    return run.run_id


def test_every_due_change_lands_once_with_one_note_and_the_next_plan_is_settled(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    planned_on = active.today()
    synced_and_planned(active)
    clock.advance(days=60)  # past every notice period
    report = apply_due(active)
    assert report.stopped is None
    applied = [r for r in report.rows if r.state == "applied"]
    assert applied, "the golden org's first plan has changes"
    assert set(crm.owner_writes.values()) == {1}
    assert set(crm.note_posts.values()) == {1}
    assert len(crm.note_posts) == len(applied)
    sync_step(active, spec="hubspot")
    again = plan_from_ledger(active, save=True, as_of=planned_on)  # the same world as the first
    assert again.changes == ()


def test_a_hand_edit_between_plan_and_apply_is_a_conflict_never_overwritten_and_stays_pinned(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    synced_and_planned(active)
    with active.ledger.read() as connection:
        first = select_changes(connection)[0]
    someone_else = next(o for o in crm.owners if o not in (first.from_owner_id, first.to_owner_id))
    crm.hand_edit(first.account_id, someone_else)
    clock.advance(days=60)
    report = apply_due(active)
    row = next(r for r in report.rows if r.change_id == first.change_id)
    assert row.state == "conflict"
    assert row.action is Action.CONFLICT
    assert crm.companies[first.account_id].owner_id == someone_else
    assert crm.owner_writes[first.account_id] == 0
    sync_step(active, spec="hubspot")
    later = plan_from_ledger(active, save=True)
    assert first.account_id not in {c.account_id for c in later.changes}


def test_a_write_whose_answer_was_lost_is_read_back_not_written_again(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    synced_and_planned(active)
    clock.advance(days=60)
    with active.ledger.read() as connection:
        target = select_changes(connection)[0]
    crm.drop_after_write.add(target.account_id)
    apply_due(active)
    assert crm.owner_writes[target.account_id] == 1
    row = _state_of(active, target.change_id)
    assert row.state is ChangeState.APPLIED


def test_a_note_whose_answer_was_lost_is_found_not_posted_twice(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    synced_and_planned(active)
    clock.advance(days=60)
    with active.ledger.read() as connection:
        target = select_changes(connection)[0]
    crm.drop_after_note.add(target.account_id)
    apply_due(active)
    assert crm.note_posts[f"territory-sync:{target.change_id}"] == 1
    assert states(active)["applied"] == sum(states(active).values())


def test_a_dry_run_lists_what_the_real_run_then_does(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    synced_and_planned(active)
    clock.advance(days=60)
    someone = next(iter(crm.companies))
    crm.hand_edit(someone, None)
    dry = apply_due(active, dry_run=True)
    assert sum(crm.owner_writes.values()) == 0
    real = apply_due(active)
    assert [(r.change_id, r.action) for r in dry.rows] == [
        (r.change_id, r.action)
        for r in sorted(real.rows, key=lambda r: (r.effective_date, r.change_id))
    ]


def test_nothing_applies_before_its_effective_date(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    synced_and_planned(active)
    with active.ledger.read() as connection:
        rows = select_changes(connection)
    first_day = min(r.effective_date for r in rows)
    apply_due(active)
    applied_now = {r.change_id for r in rows if r.effective_date <= active.today()}
    assert states(active)["applied"] == len(applied_now)
    later = [r for r in rows if r.effective_date > first_day]
    if later:
        assert all(
            crm.owner_writes[r.account_id] == 0 for r in later if r.change_id not in applied_now
        )


@pytest.mark.parametrize("crm_name", ["salesforce"])
def test_salesforce_cannot_clear_an_owner_the_change_fails_holding_owner_required(
    active: WorkerContext, crm: FakeCrm, clock: Clock, crm_name: str
) -> None:
    synced_and_planned(active)
    crm.name = crm_name
    clock.advance(days=60)
    report = apply_due(active)
    cleared = [r for r in report.rows if r.to_owner_id is None]
    for row in cleared:
        assert row.action is Action.HOLDING_OWNER_REQUIRED
        assert row.state == "failed"
        assert crm.owner_writes[row.account_id] == 0


def test_accounts_without_an_owner_at_the_baseline_sync_are_orphaned_not_new(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    def ticking() -> datetime:  # time passes while the sync runs, as it does
        clock.advance(seconds=1)
        return clock.now

    active.clock = ticking
    sync_step(active, spec="hubspot", full=True)
    reasons = {str(c.reason) for c in plan_from_ledger(active).changes}
    assert "orphaned" in reasons
    assert "new" not in reasons


def _another_worker_takes_over_during(
    call: str, active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    """The first call `call` of this apply outlives its lease; another apply claims the rows
    and finishes them before that call returns."""
    original = getattr(crm, call)
    taken_over: list[bool] = []

    def slow(*args: object) -> object:
        if not taken_over:
            taken_over.append(True)
            clock.advance(seconds=active.settings.lease_seconds + 1)
            apply_due(active)
        return original(*args)

    setattr(crm, call, slow)


@pytest.mark.parametrize(
    ("during", "writes_per_record"),
    # A write already on its way when the lease ran out lands beside the new holder's (the
    # same owner, twice); nothing after it does: no second note.
    [("read_owners", 1), ("write_owners", 2)],
)
def test_a_lease_lost_mid_chunk_leaves_the_rest_to_the_new_holder(
    active: WorkerContext, crm: FakeCrm, clock: Clock, during: str, writes_per_record: int
) -> None:
    synced_and_planned(active)
    clock.advance(days=60)
    _another_worker_takes_over_during(during, active, crm, clock)
    report = apply_due(active, max_chunks=1)
    assert report.lost > 0
    assert set(crm.owner_writes.values()) == {writes_per_record}
    assert set(crm.note_posts.values()) == {1}


@pytest.mark.parametrize("through", ["command", "task step"])
def test_a_record_refused_for_now_waits_for_the_next_apply_instead_of_spending_its_attempts(
    active: WorkerContext, crm: FakeCrm, clock: Clock, through: str
) -> None:
    synced_and_planned(active)
    clock.advance(days=60)
    with active.ledger.read() as connection:
        target = select_changes(connection)[0]
    # Salesforce's per-record UNABLE_TO_LOCK_ROW: the rest of the batch was written.
    crm.refuse_write[target.account_id] = TransientError("row locked", code="UNABLE_TO_LOCK_ROW")

    def attempt() -> ob.ChangeRow:
        if through == "command":
            apply_due(active)
        else:
            apply_step(active)
        with active.ledger.read() as connection:
            (row,) = select_changes(connection, account_id=target.account_id)[-1:]
        return row

    first = attempt()
    assert (first.state, first.attempts) == (ChangeState.DUE, 1)
    assert first.error is not None
    assert first.error["code"] == "UNABLE_TO_LOCK_ROW"
    del crm.refuse_write[target.account_id]
    second = attempt()
    assert (second.state, second.attempts, second.claims) == (ChangeState.APPLIED, 1, 2)
    assert crm.owner_writes[target.account_id] == 1


def test_a_paused_apply_asks_the_crm_nothing(
    active: WorkerContext, crm: FakeCrm, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced_and_planned(active)
    clock.advance(days=60)
    pause(active)
    calls_before = sum(crm.calls.values())
    asked: list[str] = []
    for method in ("account_id", "ensure_fields", "read_owners", "read_owner_states"):
        monkeypatch.setattr(crm, method, lambda *a, name=method, **kw: asked.append(name))
    report = apply_due(active)
    assert report.paused
    assert report.rows == []
    assert asked == []
    assert sum(crm.calls.values()) == calls_before


@pytest.mark.parametrize(
    "refusal",
    [
        TerminalError("the token was revoked", status=401),
        BudgetExhaustedError("the daily allowance is spent"),
        TransientError("service unavailable", status=503),
    ],
    ids=["revoked token", "daily allowance spent", "outage"],
)
def test_owner_reads_refused_as_a_whole_fail_no_change_however_often_apply_runs(
    active: WorkerContext, crm: FakeCrm, clock: Clock, refusal: ConnectorError
) -> None:
    synced_and_planned(active)
    clock.advance(days=60)
    read = crm.read_owners

    def refused(account_ids: Sequence[str]) -> dict[str, str | None]:
        raise refusal

    crm.read_owners = refused  # type: ignore[method-assign]  # the CRM refuses every read
    for _ in range(active.settings.max_attempts + 2):
        assert apply_due(active).stopped is not None
        # A row claimed before stays `applying` under its lease when the read fails (an
        # earlier claim may have written it): the next claim comes after the lease.
        clock.advance(seconds=active.settings.lease_seconds + 1)
    assert states(active)["failed"] == 0
    crm.read_owners = read  # type: ignore[method-assign]  # a person fixed the cause
    apply_due(active)
    assert states(active)["applied"] == sum(states(active).values())
    assert set(crm.owner_writes.values()) == {1}


def _notes_refused_once(crm: FakeCrm) -> None:
    """The next note call fails as a whole (a 503 after the owners were written)."""
    post = crm.post_notes

    def refused(notes: Sequence[Note]) -> list[WriteResult]:
        crm.post_notes = post  # type: ignore[method-assign]  # only this once
        raise TransientError("service unavailable", status=503)

    crm.post_notes = refused  # type: ignore[method-assign]


def test_an_owner_written_whose_note_failed_is_never_cancelled_and_gets_its_note(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    synced_and_planned(active)
    clock.advance(days=60)
    _notes_refused_once(crm)
    apply_due(active)
    written = {a for a, n in crm.owner_writes.items() if n}
    assert written, "the owners were written before the note call failed"
    with active.ledger.read() as connection:
        waiting = select_changes(connection, state=ChangeState.DUE)
    assert {r.account_id for r in waiting} == written
    assert all(r.owner_written_at is not None for r in waiting)
    sync_step(active, spec="hubspot")  # the mirror now shows the new owners
    again = plan_from_ledger(active, save=True)
    assert again.recorded is not None
    assert again.recorded.cancelled == ()
    assert set(again.recorded.deferred) >= written
    apply_due(active)
    noted = {account for (_note, account, _body) in crm.notes.values()}
    assert written <= noted
    assert set(crm.owner_writes.values()) == {1}
    assert set(crm.note_posts.values()) == {1}
    with active.ledger.read() as connection:
        now = {r.change_id: r.state for r in select_changes(connection)}
    assert {now[r.change_id] for r in waiting} == {ChangeState.APPLIED}


def test_cancel_refuses_a_change_whose_owner_is_written_and_whose_note_waits(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    synced_and_planned(active)
    clock.advance(days=60)
    _notes_refused_once(crm)
    apply_due(active)
    with active.ledger.read() as connection:
        waiting = select_changes(connection, state=ChangeState.DUE)[0]
    with pytest.raises(DecisionError, match=r"owner was written.*amendment note"):
        cancel_change(active, waiting.change_id)
    row = _state_of(active, waiting.change_id)
    assert row.state is ChangeState.DUE


def test_after_a_long_outage_the_first_failure_of_a_record_spends_one_attempt(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    synced_and_planned(active)
    clock.advance(days=60)
    crm.fail_reads = active.settings.max_attempts + 1  # every claim meets the outage
    for _ in range(active.settings.max_attempts + 1):
        apply_due(active)
        clock.advance(seconds=active.settings.lease_seconds + 1)  # see the test above
    with active.ledger.read() as connection:
        first = select_changes(connection)[0]
    assert first.claims == active.settings.max_attempts + 1
    assert first.attempts == 0
    crm.refuse_write[first.account_id] = TransientError("row locked", code="UNABLE_TO_LOCK_ROW")
    report = apply_due(active)
    (row,) = [r for r in report.rows if r.change_id == first.change_id]
    assert (row.state, row.attempts) == ("due", 1)
    del crm.refuse_write[first.account_id]
    apply_due(active)
    assert states(active)["applied"] == sum(states(active).values())


def test_a_lock_set_after_the_plan_is_never_written_and_the_account_stays_pinned(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    synced_and_planned(active)
    with active.ledger.read() as connection:
        first = select_changes(connection)[0]
    owner = crm.companies[first.account_id].owner_id
    crm.lock(first.account_id)  # a person locks the account in the CRM
    sync_step(active, spec="hubspot")  # the mirror knows it is locked
    clock.advance(days=60)
    dry = apply_due(active, dry_run=True)
    report = apply_due(active)
    assert crm.owner_writes[first.account_id] == 0, "a locked account was moved"
    assert str(next(r for r in dry.rows if r.change_id == first.change_id).action) == "locked"
    row = next(r for r in report.rows if r.change_id == first.change_id)
    assert (str(row.action), row.state) == ("locked", "conflict")
    assert row.error is not None
    assert row.error["code"] == "LOCKED"
    assert crm.companies[first.account_id].owner_id == owner
    sync_step(active, spec="hubspot")
    later = plan_from_ledger(active, save=True)
    assert first.account_id not in {c.account_id for c in later.changes}


def test_a_lock_set_in_the_crm_after_the_last_sync_is_read_before_writing_and_never_written(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    synced_and_planned(active)
    with active.ledger.read() as connection:
        first = select_changes(connection)[0]
    owner = crm.companies[first.account_id].owner_id
    crm.lock(first.account_id)  # a person locks the account; no sync before the apply
    clock.advance(days=60)
    reads_before = crm.calls["read_owners"]
    dry = apply_due(active, dry_run=True)
    assert crm.calls["read_owners"] == reads_before + 1, "the lock came in the owner read"
    report = apply_due(active)
    assert crm.owner_writes[first.account_id] == 0, "a locked account was moved"
    assert crm.companies[first.account_id].owner_id == owner
    assert str(next(r for r in dry.rows if r.change_id == first.change_id).action) == "locked"
    row = next(r for r in report.rows if r.change_id == first.change_id)
    assert (str(row.action), row.state) == ("locked", "conflict")
    assert row.error is not None
    assert row.error["code"] == "LOCKED"
    assert {r.state for r in report.rows if r.change_id != first.change_id} == {"applied"}
    # A plan made before the next sync keeps the account too: the read taught the mirror.
    later = plan_from_ledger(active, save=True)
    assert first.account_id not in {c.account_id for c in later.changes}


def test_a_write_whose_answer_was_lost_and_did_not_land_on_an_account_locked_since_is_locked(
    active: WorkerContext, crm: FakeCrm, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced_and_planned(active)
    clock.advance(days=60)
    with active.ledger.read() as connection:
        target = select_changes(connection)[0]
    write = crm.write_owners

    def lost_then_locked(writes: Sequence[OwnerWrite]) -> list[WriteResult]:
        # The write to `target` never lands, its answer is lost, and a person locks it.
        kept = [w for w in writes if w.account_id != target.account_id]
        results = {r.account_id: r for r in write(kept)}
        crm.lock(target.account_id)
        lost = WriteResult(target.account_id, WriteOutcome.UNKNOWN, TransientError("dropped"))
        return [results.get(w.account_id, lost) for w in writes]

    monkeypatch.setattr(crm, "write_owners", lost_then_locked)
    report = apply_due(active)
    row = next(r for r in report.rows if r.change_id == target.change_id)
    assert (str(row.action), row.state) == ("locked", "conflict")
    assert crm.owner_writes[target.account_id] == 0
    apply_due(active)
    assert crm.owner_writes[target.account_id] == 0


def test_an_owner_written_whose_note_waits_is_never_written_again_over_a_hand_edit(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    synced_and_planned(active)
    clock.advance(days=60)
    _notes_refused_once(crm)
    apply_due(active)
    with active.ledger.read() as connection:
        waiting = [
            r
            for r in select_changes(connection, state=ChangeState.DUE)
            if r.owner_written_at is not None and r.from_owner_id is not None
        ]
    assert waiting
    row = waiting[0]
    crm.hand_edit(row.account_id, row.from_owner_id)  # a person undoes the move by hand

    apply_due(active)

    assert crm.companies[row.account_id].owner_id == row.from_owner_id
    assert crm.owner_writes[row.account_id] == 1
    with active.ledger.read() as connection:
        (after,) = select_changes(connection, account_id=row.account_id, state=ChangeState.CONFLICT)
    assert after.change_id == row.change_id
    assert after.error is not None
    assert after.error["code"] == "HAND_EDIT"
    assert "after this change wrote it" in after.error["message"]


def _write_lost_and_read_back_failing(active: WorkerContext, crm: FakeCrm) -> ob.ChangeRow:
    """A change whose write lands but whose answer is lost, and whose read-back fails: the
    apply leaves it `applying`. Returns the change; owner reads keep failing until
    `del crm.read_owners`."""
    with active.ledger.read() as connection:
        target = next(r for r in select_changes(connection) if r.to_owner_id)
    crm.drop_after_write.add(target.account_id)
    read = crm.read_owners
    reads = Counter[str]()

    def read_back_fails(account_ids: Sequence[str]) -> dict[str, str | None]:
        reads["n"] += 1
        if reads["n"] >= 2:  # the read-back after the unknown write
            raise TransientError("service unavailable", status=503)
        return read(account_ids)

    crm.read_owners = read_back_fails  # type: ignore[method-assign]
    apply_due(active)
    return target


def test_a_write_whose_answer_was_lost_and_could_not_be_read_back_waits_for_its_lease(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    synced_and_planned(active)
    clock.advance(days=60)
    target = _write_lost_and_read_back_failing(active, crm)
    del crm.read_owners  # the CRM answers reads again
    # The write landed; neither a sync nor a plan before the lease ends may drop the change.
    sync_step(active, spec="hubspot")
    plan_from_ledger(active, save=True)
    held = _state_of(active, target.change_id)
    assert held.state is ChangeState.APPLYING

    clock.advance(seconds=active.settings.lease_seconds + 1)
    apply_due(active)

    done = _state_of(active, target.change_id)
    assert done.state is ChangeState.APPLIED
    assert crm.owner_writes[target.account_id] == 1
    assert crm.note_posts[f"territory-sync:{target.change_id}"] == 1


SMALL_BATCH = 10  # owner writes or notes per CRM call in the tests below: a chunk makes several


def test_the_lease_is_renewed_before_every_batch_so_no_claimant_takes_rows_mid_apply(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    synced_and_planned(active)
    clock.advance(days=60)
    crm.write_batch_size = SMALL_BATCH
    lease = timedelta(seconds=active.settings.lease_seconds)
    taken: list[str] = []
    batches: Counter[str] = Counter()

    def another_worker_looks_then_the_call_outlasts_the_lease(endpoint: str) -> None:
        batches[endpoint] += 1
        with active.ledger.write() as connection:  # the reconciler: rows whose lease expired
            claimed = ob.claim(
                connection,
                worker="reconciler",
                limit=1000,
                lease=lease,
                now=clock(),
                expired_only=True,
            )
        taken.extend(r.change_id for r in claimed)
        clock.advance(seconds=lease.total_seconds() + 1)

    crm.before_batch = another_worker_looks_then_the_call_outlasts_the_lease
    report = apply_due(active)

    assert batches["write_owners"] > 1  # several calls per phase
    assert batches["post_notes"] > 1
    assert taken == []
    assert report.lost == 0
    assert report.rows
    assert {r.state for r in report.rows} == {"applied"}
    assert set(crm.owner_writes.values()) == {1}
    assert set(crm.note_posts.values()) == {1}


def test_batches_after_a_lease_lost_inside_one_are_left_to_the_new_holder(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    synced_and_planned(active)
    clock.advance(days=60)
    crm.write_batch_size = SMALL_BATCH
    first_batch: list[str] = []
    original = crm.write_owners

    def write_owners(writes: Sequence[OwnerWrite]) -> list[WriteResult]:
        if not first_batch:  # this call outlives the lease; another apply takes every row over
            first_batch.extend(w.account_id for w in writes)
            clock.advance(seconds=active.settings.lease_seconds + 1)
            apply_due(active)
        return original(writes)

    crm.write_owners = write_owners  # type: ignore[method-assign]
    report = apply_due(active, max_chunks=1)

    assert report.lost > 0
    assert len(first_batch) == SMALL_BATCH
    # The batch on its way when the lease ran out lands beside the new holder's (the same owner,
    # twice); the batches after it are not sent, and no note is posted twice.
    assert {a: n for a, n in crm.owner_writes.items() if n > 1} == dict.fromkeys(first_batch, 2)
    assert set(crm.note_posts.values()) == {1}


def test_batching_by_the_connector_size_adds_no_call(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    synced_and_planned(active)
    clock.advance(days=60)
    crm.write_batch_size = SMALL_BATCH
    report = apply_due(active)

    applied = [r for r in report.rows if r.state == "applied"]
    assert len(applied) > 2 * SMALL_BATCH
    assert len(report.rows) <= active.settings.apply_chunk  # one chunk: one read, full batches
    written = sum(crm.owner_writes.values())
    assert crm.calls == Counter(
        companies=1,
        read_owners=1,
        write_owners=math.ceil(written / SMALL_BATCH),
        post_notes=math.ceil(len(applied) / SMALL_BATCH),
    )


@pytest.mark.parametrize("lookup_fails", [False, True], ids=["lookup answers", "lookup fails"])
def test_a_notes_outage_fails_no_change_however_often_apply_runs(
    active: WorkerContext, crm: FakeCrm, clock: Clock, lookup_fails: bool
) -> None:
    """Every note call fails as a whole after it was sent (its outcome unknown), and the look
    for the notes finds none or fails too: an outage of the CRM, not of a record. The owners
    stay written, no attempt is spent, and the notes follow once the outage ends."""
    synced_and_planned(active)
    clock.advance(days=60)
    post, find = crm.post_notes, crm.find_notes

    def outage(notes: Sequence[Note]) -> list[WriteResult]:
        error = TransientError("service unavailable", status=503)
        error.results = tuple(
            WriteResult(n.account_id, WriteOutcome.UNKNOWN, error=error) for n in notes
        )
        raise error

    def lookup_outage(account_ids: Sequence[str], markers: Sequence[str]) -> dict[str, str]:
        raise TransientError("service unavailable", status=503)

    crm.post_notes = outage  # type: ignore[method-assign]
    if lookup_fails:
        crm.find_notes = lookup_outage  # type: ignore[method-assign]
    for _ in range(active.settings.max_attempts + 2):
        apply_due(active)
    assert states(active)["failed"] == 0
    crm.post_notes, crm.find_notes = post, find  # type: ignore[method-assign]
    apply_due(active)

    assert set(states(active)) == {"applied"}
    assert set(crm.owner_writes.values()) == {1}
    assert set(crm.note_posts.values()) == {1}


def test_a_record_the_crm_keeps_refusing_for_a_while_fails_after_max_attempts(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    """Its own record failing (a row lock Salesforce keeps) spends one attempt per apply; the
    other changes of the same batches apply."""
    synced_and_planned(active)
    clock.advance(days=60)
    with active.ledger.read() as connection:
        stuck = select_changes(connection)[0]
    crm.refuse_write[stuck.account_id] = TransientError("row locked", code="UNABLE_TO_LOCK_ROW")

    for _ in range(active.settings.max_attempts):
        apply_due(active)

    row = _state_of(active, stuck.change_id)
    assert (row.state, row.attempts) == (ChangeState.FAILED, active.settings.max_attempts)
    assert row.error is not None
    assert row.error["code"] == "UNABLE_TO_LOCK_ROW"
    assert states(active)["applied"] == sum(states(active).values()) - 1


def test_a_lost_write_stays_protected_while_the_outage_outlasts_its_lease(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    """The claim after the lease meets the same outage on its first read: the row stays
    `applying` (in `due`, a sync and plan cancelled it: the owner moved, no note ever)."""
    synced_and_planned(active)
    clock.advance(days=60)
    target = _write_lost_and_read_back_failing(active, crm)
    clock.advance(seconds=active.settings.lease_seconds + 1)
    apply_due(active)  # the reconciler's claim: its owner read fails too
    held = _state_of(active, target.change_id)
    assert held.state is ChangeState.APPLYING
    assert held.error is not None  # `territory changes` says why it waits
    assert held.error["status"] == 503
    del crm.read_owners  # the outage is over
    sync_step(active, spec="hubspot")
    plan_from_ledger(active, save=True)

    clock.advance(seconds=active.settings.lease_seconds + 1)
    apply_due(active)

    assert _state_of(active, target.change_id).state is ChangeState.APPLIED
    assert crm.owner_writes[target.account_id] == 1
    assert crm.note_posts[f"territory-sync:{target.change_id}"] == 1


def test_a_write_that_landed_before_a_lock_gets_its_note_not_a_locked_conflict(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    synced_and_planned(active)
    clock.advance(days=60)
    target = _write_lost_and_read_back_failing(active, crm)
    del crm.read_owners  # the CRM answers reads again
    crm.lock(target.account_id)  # a person locks it after this service moved it
    clock.advance(seconds=active.settings.lease_seconds + 1)

    apply_due(active)

    assert _state_of(active, target.change_id).state is ChangeState.APPLIED
    assert crm.companies[target.account_id].owner_id == target.to_owner_id
    assert crm.owner_writes[target.account_id] == 1
    assert crm.note_posts[f"territory-sync:{target.change_id}"] == 1
