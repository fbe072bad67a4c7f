"""The mirror's promises: the first sync is the baseline (no hand edits, no drift, nothing new),
a full sync repairs drift and counts it in its run, a revision that reads a field the mirror
lacks forces a full sync before any plan, and `ledger prune` forgets owners gone long enough."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.worker.conftest import Clock
from tests.worker.fake_crm import FakeCrm
from worker.activation import activate
from worker.context import WorkerContext
from worker.ledger.mirror import stream_state
from worker.ledger.runs import get_run
from worker.ledger.states import RunKind
from worker.ledger.tables import mirror_companies, mirror_owners, pins, runs
from worker.planning import (
    PlanningError,
    active_rules,
    new_accounts,
    plan_from_ledger,
)
from worker.prune import prune
from worker.steps import plan_step, sync_step
from worker.sync_fields import COMPANIES_STREAM, read_signature

# The golden rule maps no CRM fields; this revision reads industry from another HubSpot field.
OTHER_FIELD = "fields:\n  hubspot:\n    industry: industry_v2\n\nregions:"


@dataclass
class TickingClock:
    """A clock that moves one second each time it is read, as a real one would."""

    now: datetime

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def pinned(ctx: WorkerContext) -> dict[str, str | None]:
    with ctx.ledger.read() as connection:
        return {r.account_id: r.owner_id for r in connection.execute(sa.select(pins))}


def mirrored_owners(ctx: WorkerContext) -> dict[str, str | None]:
    with ctx.ledger.read() as connection:
        query = sa.select(mirror_companies.c.account_id, mirror_companies.c.owner_id)
        return dict(connection.execute(query).all())


def sync_runs(ctx: WorkerContext) -> list[dict[str, object]]:
    with ctx.ledger.read() as connection:
        query = sa.select(runs.c.run_id).where(runs.c.kind == RunKind.SYNC).order_by(runs.c.run_id)
        found = [get_run(connection, run_id) for run_id in connection.scalars(query)]
    return [r.counts for r in found if r is not None]


def test_the_first_sync_is_the_baseline_pins_nothing_and_finds_nothing_new(
    active: WorkerContext, crm: FakeCrm
) -> None:
    active.clock = TickingClock(datetime(2027, 1, 4, 9, 0, tzinfo=UTC))
    owned = [a for a, acc in sorted(crm.companies.items()) if acc.owner_id is not None]
    unowned = [a for a, acc in sorted(crm.companies.items()) if acc.owner_id is None]
    assert owned, "the golden org has owned companies"
    assert unowned, "and unowned ones"
    assert active_rules(active).rule.changes.respect_manual_days > 0  # hand edits would pin

    first = sync_step(active, spec="hubspot").sync  # never synced: a full sync

    assert first.mode == "full"
    assert (first.hand_edits, first.drift_repaired) == (0, 0)
    assert first.new == len(crm.companies)  # new to the mirror, not new accounts
    assert pinned(active) == {}
    with active.ledger.read() as connection:
        assert new_accounts(connection, {}) == frozenset()
    # The mechanism is live: a hand edit after the baseline pins.
    edited = owned[0]
    crm.hand_edit(edited, next(o for o in crm.owners if o != crm.companies[edited].owner_id))
    second = sync_step(active, spec="hubspot").sync
    assert second.hand_edits == 1
    assert pinned(active) == {edited: crm.companies[edited].owner_id}


def first_seen(ctx: WorkerContext) -> dict[str, datetime]:
    with ctx.ledger.read() as connection:
        query = sa.select(mirror_companies.c.account_id, mirror_companies.c.first_seen_at)
        return dict(connection.execute(query).all())


def test_companies_of_the_baseline_stay_not_new_after_later_syncs(
    active: WorkerContext, crm: FakeCrm
) -> None:
    active.clock = TickingClock(datetime(2027, 1, 4, 9, 0, tzinfo=UTC))
    unowned = sorted(a for a, acc in crm.companies.items() if acc.owner_id is None)
    sync_step(active, spec="hubspot")
    baseline = first_seen(active)
    created = dataclasses.replace(crm.companies[unowned[0]], id="C-AFTER-BASELINE")
    crm.companies[created.id] = created

    sync_step(active, spec="hubspot")

    assert {a: t for a, t in first_seen(active).items() if a in baseline} == baseline
    with active.ledger.read() as connection:
        assert new_accounts(connection, {}) == frozenset({created.id})


def test_a_full_sync_repairs_drift_and_counts_it_in_its_run(
    active: WorkerContext, crm: FakeCrm
) -> None:
    sync_step(active, spec="hubspot", full=True)
    ids = sorted(crm.companies)
    missed, stale = ids[0], ids[1]
    wrong_owner = next(o for o in sorted(crm.owners) if o != crm.companies[stale].owner_id)
    with active.ledger.write() as connection:
        ghost = dict(
            connection.execute(
                sa.select(mirror_companies).where(mirror_companies.c.account_id == ids[2])
            )
            .one()
            ._mapping
        )
        # The mirror missed a company, holds a stale owner, and one the CRM no longer has.
        connection.execute(
            sa.delete(mirror_companies).where(mirror_companies.c.account_id == missed)
        )
        connection.execute(
            sa.update(mirror_companies)
            .where(mirror_companies.c.account_id == stale)
            .values(owner_id=wrong_owner)
        )
        connection.execute(sa.insert(mirror_companies).values({**ghost, "account_id": "GHOST"}))

    repaired = sync_step(active, spec="hubspot", full=True).sync

    assert repaired.mode == "full"
    assert repaired.drift_repaired == 3
    assert sync_runs(active)[-1]["drift_repaired"] == 3  # recorded with the run
    assert mirrored_owners(active) == {a: acc.owner_id for a, acc in crm.companies.items()}
    # Nothing drifted since: the next full sync repairs nothing.
    assert sync_step(active, spec="hubspot", full=True).sync.drift_repaired == 0


def test_a_revision_reading_a_field_the_mirror_lacks_gets_a_full_sync_before_its_plan(
    active: WorkerContext, crm: FakeCrm, golden_rules_text: str
) -> None:
    sync_step(active, spec="hubspot", full=True)
    plan_step(active)  # the mirror has what the golden rule reads: no sync
    assert len(sync_runs(active)) == 1
    reads_more = golden_rules_text.replace("\nregions:", "\n" + OTHER_FIELD, 1)
    assert reads_more != golden_rules_text
    activate(active, "rules.yaml", reads_more)
    with pytest.raises(PlanningError, match="sync --source hubspot --full"):
        plan_from_ledger(active)  # never a plan on a column of nulls
    reads = crm.calls["companies"]

    run = plan_step(active)

    assert crm.calls["companies"] == reads + 1
    assert [c["mode"] for c in sync_runs(active)] == ["full", "full"]
    with active.ledger.read() as connection:
        fields = stream_state(connection, COMPANIES_STREAM).fields
    assert tuple(fields or ()) == read_signature(active_rules(active).rule, "hubspot")
    assert run.run_id is not None
    assert run.rules.revision.text == reads_more
    plan_step(active)  # synced now: the next plan needs no full sync
    assert crm.calls["companies"] == reads + 1


def test_prune_forgets_the_email_and_name_of_owners_gone_longer_than_the_cut_off(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    sync_step(active, spec="hubspot", full=True)
    long_gone, recently_gone = sorted(o for o, owner in crm.owners.items() if owner.active)[:2]
    gone_before = {o for o, owner in crm.owners.items() if not owner.active}
    assert gone_before, "the golden org has an owner inactive at the first sync"
    crm.deactivate(long_gone)
    sync_step(active, spec="hubspot")
    clock.advance(days=20)
    crm.deactivate(recently_gone)
    sync_step(active, spec="hubspot")
    clock.advance(days=15)  # long_gone left 35 days ago, recently_gone 15 days ago

    pruned = prune(active, 30)

    with active.ledger.read() as connection:
        people = {
            r.owner_id: (r.email, r.first_name, r.last_name, r.active)
            for r in connection.execute(sa.select(mirror_owners))
        }
    assert pruned.owners_forgotten == len(gone_before) + 1
    for forgotten in (long_gone, *gone_before):
        assert people[forgotten] == (None, None, None, False)
    gone = crm.owners[recently_gone]
    assert people[recently_gone] == (gone.email, gone.first_name, gone.last_name, False)
    for owner_id, owner in crm.owners.items():
        if owner_id not in {long_gone, recently_gone, *gone_before}:
            assert people[owner_id][0] == owner.email  # nobody else forgotten
    assert prune(active, 30).owners_forgotten == 0  # once
    clock.advance(days=16)
    assert prune(active, 30).owners_forgotten == 1  # recently_gone's turn came
