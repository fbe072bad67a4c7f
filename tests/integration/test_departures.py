"""A rep deactivated in the CRM: the next sync sees it and their book moves, with notes."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from tests.integration.conftest import Deployment, assert_applied_exactly_once, install
from tests.integration.org import holding_rep, owner_ids, team_members
from tests.integration.processes import wait_until
from worker.ledger.states import ChangeState, RunKind
from worker.ledger.tables import runs

SYNC_SECONDS = 6


def test_a_rep_deactivated_in_the_crm_has_their_book_moved_within_one_sync_cycle_with_notes(
    deployment: Deployment, sample_org: Callable[[int], Path]
) -> None:
    deployment.configure(sync_every_minutes=str(SYNC_SECONDS / 60))
    org = sample_org(300)
    installed = install(deployment, org)
    deployment.beat()
    deployment.worker()
    first = len(installed.due_changes())
    wait_until(lambda: deployment.states()[ChangeState.APPLIED] == first, 90, deployment.explain)
    ids = owner_ids(org)
    sellers = {
        ids[email]
        for team, emails in team_members(org / "rules.yaml").items()
        for email in emails
        if team != "sdr-pool" and email != holding_rep(org / "rules.yaml")
    }
    books = Counter(
        a.owner_id for a in installed.crm.connector().iter_companies() if a.owner_id in sellers
    )
    rep, _ = books.most_common(1)[0]
    book = [a.id for a in installed.crm.connector().iter_companies() if a.owner_id == rep]

    installed.crm.deactivate(rep)
    deactivated = time.monotonic()
    took = wait_until(
        lambda: rep not in installed.crm.owners_of(book).values(),
        2 * SYNC_SECONDS + 30,
        deployment.explain,
        every=0.5,
    )
    wait_until(
        lambda: deployment.states()[ChangeState.APPLIED] == len(installed.due_changes()),
        30,
        deployment.explain,
    )

    with deployment.ledger.read() as connection:
        departure = connection.execute(
            sa.select(runs.c.run_id, runs.c.started_at).where(runs.c.kind == RunKind.DEPARTURE)
        ).one()
        syncs_before = connection.scalars(
            sa.select(runs.c.started_at).where(
                runs.c.kind == RunKind.SYNC,
                runs.c.actor.like("worker@%"),
                runs.c.started_at < departure.started_at,
            )
        ).all()
    moved = [c for c in installed.due_changes() if c.run_id == departure.run_id]
    assert sorted(c.account_id for c in moved) == sorted(book)
    assert {c.from_owner_id for c in moved} == {rep}
    assert {c.reason for c in moved} <= {"departed", "hierarchy"}
    # The first sync that ran after the deactivation started the departure run.
    started = time.time() - (time.monotonic() - deactivated)
    assert sum(at.timestamp() > started for at in syncs_before) <= 1
    assert took <= SYNC_SECONDS + 20
    assert_applied_exactly_once(installed)
