"""Rolling back a run whose owners were written but whose amendment notes did not land.

Before: a run whose notes waited (the notes endpoint answering 503) was refused as having
changes "being applied right now" though nothing ran, with no word of what to do; and a run
whose notes had failed for good (their owners written in the CRM, the changes `failed`) was
refused as having "nothing to roll back", leaving every account it moved with its new owner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from connectors.base import Note, WriteOutcome, WriteResult
from connectors.errors import ConnectorError, TerminalError, TransientError
from tests.worker.conftest import Clock
from tests.worker.fake_crm import FakeCrm
from worker.context import WorkerContext
from worker.ledger.outbox import select_changes
from worker.ledger.states import ChangeState
from worker.planning import plan_from_ledger
from worker.rollback import RollbackError, rollback_run
from worker.steps import sync_step
from worker.writeback import apply_due


@dataclass
class NotesDownCrm(FakeCrm):
    """A CRM whose notes endpoint refuses every note with `note_error` while it is set."""

    note_error: ConnectorError | None = field(default=None)

    def post_notes(self, notes: Sequence[Note]) -> list[WriteResult]:
        if self.note_error is None:
            return super().post_notes(notes)
        return [WriteResult(n.account_id, WriteOutcome.FAILED, self.note_error) for n in notes]


@pytest.fixture
def notes_down(crm: FakeCrm) -> NotesDownCrm:
    return NotesDownCrm(companies=crm.companies, owners=crm.owners)


@pytest.fixture
def on_notes_down(active: WorkerContext, notes_down: NotesDownCrm) -> WorkerContext:
    active.connector_factory = lambda spec, rule: notes_down
    return active


def _applied_run(ctx: WorkerContext, crm: NotesDownCrm, clock: Clock, error: ConnectorError) -> int:
    """Sync, plan and apply with the notes refused by `error`: every owner written, no note."""
    sync_step(ctx, spec="hubspot", full=True)
    run_id = plan_from_ledger(ctx, save=True).run_id
    assert run_id is not None
    clock.advance(days=60)  # past every notice period
    crm.note_error = error
    apply_due(ctx)
    return run_id


def test_a_run_whose_notes_wait_is_refused_saying_the_notes_wait_and_what_posts_them(
    on_notes_down: WorkerContext, notes_down: NotesDownCrm, clock: Clock
) -> None:
    outage = TransientError("Bad gateway or service unavailable", status=503)
    run_id = _applied_run(on_notes_down, notes_down, clock, outage)
    with on_notes_down.ledger.read() as connection:
        waiting = select_changes(connection, run_id=run_id)
    assert waiting
    assert all(r.state is ChangeState.DUE and r.owner_written_at is not None for r in waiting)

    with pytest.raises(RollbackError) as refused:
        rollback_run(on_notes_down, run_id)

    message = str(refused.value)
    assert "being applied right now" not in message
    assert f"{len(waiting)} change(s)" in message
    assert "note waits" in message
    assert "`territory apply`" in message


def test_a_change_whose_owner_was_written_and_whose_note_failed_for_good_is_undone(
    on_notes_down: WorkerContext, notes_down: NotesDownCrm, clock: Clock
) -> None:
    refused = TerminalError("note body refused", status=400, code="VALIDATION_ERROR")
    before = {a: c.owner_id for a, c in notes_down.companies.items()}
    run_id = _applied_run(on_notes_down, notes_down, clock, refused)
    with on_notes_down.ledger.read() as connection:
        rows = select_changes(connection, run_id=run_id)
    moved = {r.account_id for r in rows if r.owner_written_at is not None}
    assert moved
    assert all(r.state is ChangeState.FAILED for r in rows if r.account_id in moved)
    assert {a for a in moved if notes_down.companies[a].owner_id != before[a]} == moved

    done = rollback_run(on_notes_down, run_id)
    notes_down.note_error = None
    apply_due(on_notes_down)

    assert done.undone + done.kept == len(moved)
    assert done.undone > 0
    back = {a for a in moved if notes_down.companies[a].owner_id == before[a]}
    assert len(back) == done.undone
