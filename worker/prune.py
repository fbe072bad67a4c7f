"""`territory ledger prune`: old rows go, and so does the personal data of owners long gone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from worker.context import WorkerContext
from worker.ledger.states import FINAL_STATES
from worker.ledger.tables import amendments, changes, deliveries, mirror_owners, runs


@dataclass(frozen=True, slots=True)
class Pruned:
    """How many rows each kind lost."""

    changes: int
    runs: int
    amendments: int
    deliveries: int
    owners_forgotten: int  # email and name removed


def prune(ctx: WorkerContext, older_than_days: int) -> Pruned:
    """Delete finished changes and runs older than the cut-off; forget owners gone that long."""
    if older_than_days < 1:
        raise ValueError("--older-than must be at least 1 day")
    cutoff = ctx.now() - timedelta(days=older_than_days)
    with ctx.ledger.write() as connection:
        old = sa.select(changes.c.change_id).where(
            changes.c.state.in_([str(s) for s in FINAL_STATES]), changes.c.updated_at < cutoff
        )
        gone_amendments = connection.execute(
            sa.delete(amendments).where(amendments.c.change_id.in_(old))
        ).rowcount
        gone_changes = connection.execute(
            sa.delete(changes).where(
                changes.c.state.in_([str(s) for s in FINAL_STATES]), changes.c.updated_at < cutoff
            )
        ).rowcount
        referenced = sa.select(changes.c.run_id).distinct()
        gone_runs = connection.execute(
            sa.delete(runs).where(
                runs.c.started_at < cutoff,
                runs.c.run_id.not_in(referenced),
                runs.c.finished_at.is_not(None),
            )
        ).rowcount
        gone_deliveries = connection.execute(
            sa.delete(deliveries).where(deliveries.c.last_at < cutoff)
        ).rowcount
        forgotten = connection.execute(
            sa.update(mirror_owners)
            .where(
                mirror_owners.c.active.is_(False),
                mirror_owners.c.deactivated_at < cutoff,
                mirror_owners.c.email.is_not(None),
            )
            .values(email=None, first_name=None, last_name=None)
        ).rowcount
    return Pruned(gone_changes, gone_runs, gone_amendments, gone_deliveries, forgotten)
