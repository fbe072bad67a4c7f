"""Write-back under a CRM that refuses a whole call mid-run (an expired token or session).

A call refused as a whole refused none of its records: their changes wait for the next apply
instead of ending `failed`, so an owner written before the refusal still gets its note once the
token is fixed, and nothing is written or noted twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import pytest

from connectors.base import Note, OwnerWrite, WriteResult
from connectors.batching import BatchedWrite
from connectors.errors import TerminalError
from tests.worker.conftest import Clock
from tests.worker.fake_crm import FakeCrm
from worker.context import WorkerContext
from worker.ledger.outbox import select_changes
from worker.planning import plan_from_ledger
from worker.steps import sync_step
from worker.writeback import apply_due


def _expired() -> TerminalError:
    return TerminalError("the session id expired", status=401, code="INVALID_SESSION_ID")


class ExpiringCrm(FakeCrm):
    """A CRM whose token stops working for the calls named in `expired_for`."""

    expired_for: frozenset[str] = frozenset()

    def write_owners(self, writes: Sequence[OwnerWrite]) -> list[WriteResult]:
        if "write_owners" in self.expired_for:
            BatchedWrite([w.account_id for w in writes]).stop(_expired(), range(len(writes)))
        return super().write_owners(writes)

    def post_notes(self, notes: Sequence[Note]) -> list[WriteResult]:
        if "post_notes" in self.expired_for:
            BatchedWrite([n.account_id for n in notes]).stop(_expired(), range(len(notes)))
        return super().post_notes(notes)


@pytest.fixture
def expiring(crm: FakeCrm) -> ExpiringCrm:
    return ExpiringCrm(companies=crm.companies, owners=crm.owners)


@pytest.fixture
def on_expiring(active: WorkerContext, expiring: ExpiringCrm) -> WorkerContext:
    active.connector_factory = lambda spec, rule: expiring
    return active


def _states(ctx: WorkerContext) -> Counter[str]:
    with ctx.ledger.read() as connection:
        return Counter(str(r.state) for r in select_changes(connection))


@pytest.mark.parametrize("refused", ["write_owners", "post_notes"])
def test_a_call_refused_for_an_expired_token_fails_no_change_and_the_next_apply_finishes_once(
    on_expiring: WorkerContext, expiring: ExpiringCrm, clock: Clock, refused: str
) -> None:
    sync_step(on_expiring, spec="hubspot", full=True)
    plan_from_ledger(on_expiring, save=True)
    clock.advance(days=60)  # past every notice period
    expiring.expired_for = frozenset({refused})
    stopped = apply_due(on_expiring)
    assert stopped.stopped is not None
    assert stopped.stopped["code"] == "INVALID_SESSION_ID"
    assert _states(on_expiring)["failed"] == 0
    expiring.expired_for = frozenset()  # a person supplied a fresh token
    apply_due(on_expiring)
    settled = _states(on_expiring)
    assert settled["applied"] == sum(settled.values())
    assert set(expiring.owner_writes.values()) == {1}
    assert set(expiring.note_posts.values()) == {1}
    assert len(expiring.note_posts) == settled["applied"]
