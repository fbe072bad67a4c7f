"""Departures: a rep's book moves when the CRM deactivates them, or on the day notice names.

A sync that sees an owner go inactive starts a departure run: a plan from the mirror that keeps
only forced changes (`departed`, `orphaned`, and the `hierarchy` changes that follow them),
effective at once, approved unless they exceed `changes.max_forced_share`. Notice given in
advance (`territory depart EMAIL --effective DATE`) reaches the engine through the plan
context, so the book is planned as `departed` effective that date and waits in the ledger.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from worker.context import WorkerContext
from worker.ledger import outbox as ob
from worker.ledger.outbox import ChangeRow, row_of
from worker.ledger.pins import (
    mark_departure_run,
    record_departure,
    scheduled_departures,
    settle_pending_departures,
)
from worker.ledger.runs import finish_run
from worker.ledger.states import ChangeState, RunKind, RunState
from worker.ledger.tables import changes, mirror_owners, runs
from worker.planning import PlanRun, plan_from_ledger


class DepartureError(Exception):
    """Notice cannot be recorded; the message says why."""


@dataclass(frozen=True, slots=True)
class Notice:
    """Notice recorded for one rep, and the departure run that planned their book."""

    owner_id: str
    email: str
    effective: date
    run: PlanRun


def give_notice(ctx: WorkerContext, email: str, effective: date) -> Notice:
    """Record that the rep with `email` leaves on `effective`, and plan their book for that day."""
    with ctx.ledger.read() as connection:
        found = connection.execute(
            sa.select(mirror_owners.c.owner_id, mirror_owners.c.active).where(
                sa.func.lower(mirror_owners.c.email) == email.strip().lower()
            )
        ).all()
    if not found:
        raise DepartureError(
            f"no owner with email {email!r} in the mirror: run `territory sync` first, or check "
            "the address"
        )
    if len(found) > 1:
        raise DepartureError(
            f"{len(found)} owners share the email {email!r}; resolve it in the CRM"
        )
    owner_id, active = found[0]
    if effective < ctx.today() and active:
        raise DepartureError(
            f"--effective {effective.isoformat()} is in the past; give today or a later day"
        )
    with ctx.ledger.write() as connection:
        record_departure(connection, owner_id, effective, who=ctx.actor, now=ctx.now())
    run = departure_run(ctx, [owner_id])
    return Notice(owner_id, email, effective, run)


def departure_run(ctx: WorkerContext, owner_ids: Sequence[str]) -> PlanRun:
    """Plan the forced changes now (departed reps' books, orphans and their children)."""
    result = plan_from_ledger(ctx, save=True, kind=RunKind.DEPARTURE, forced_only=True)
    assert result.run_id is not None
    summary = departure_summary(ctx, result, owner_ids)
    with ctx.ledger.write() as connection:
        summary["cancelled_change_ids"] = _cancel_moves_to_departed(
            connection, owner_ids, now=ctx.now()
        )
        mark_departure_run(connection, owner_ids, result.run_id)
        settle_pending_departures(connection, owner_ids, now=ctx.now())
        state = connection.scalar(sa.select(runs.c.state).where(runs.c.run_id == result.run_id))
        finish_run(
            connection, result.run_id, state=RunState(str(state)), now=ctx.now(), summary=summary
        )
    return result


def _cancel_moves_to_departed(
    connection: sa.Connection, owner_ids: Sequence[str], *, now: datetime
) -> list[str]:
    """Cancel the open changes that would hand one of `owner_ids` an account once they are
    gone: every one to a rep the CRM deactivated (the CRM refuses an inactive owner: HubSpot
    failed them with INVALID_OWNER_ID right after the departure run), and those effective on or
    after the notice day of a rep who has given notice. A departure run plans forced changes
    only, so it left a pending rebalance or release to the departed rep open; the next plan would
    cancel it, but the apply that follows a departure comes first."""
    if not owner_ids:
        return []
    wanted = list(owner_ids)
    inactive = set(
        connection.scalars(
            sa.select(mirror_owners.c.owner_id).where(
                mirror_owners.c.owner_id.in_(wanted), mirror_owners.c.active.is_(False)
            )
        )
    )
    leaving = {
        o: d.effective_date for o, d in scheduled_departures(connection).items() if o in wanted
    }
    leaving.update(dict.fromkeys(inactive, date.min))  # gone already: no move to them can land
    # Every open row locked at once, in change id order, as recording a plan locks them.
    ob.serialise_recorders(connection)
    doomed = [
        row.change_id
        for row in ob.open_changes(connection, lock=True).values()
        if row.to_owner_id in leaving
        and row.replaceable
        and row.effective_date >= leaving[row.to_owner_id]
    ]
    if not doomed:
        return []
    return sorted(r.change_id for r in ob.cancel_changes(connection, doomed, now=now).cancelled)


def departure_summary(
    ctx: WorkerContext, result: PlanRun, owner_ids: Sequence[str]
) -> dict[str, Any]:
    """What the alerts send: who left, how many accounts moved, to whom."""
    moves = Counter((c.from_owner_id, c.to_owner_id) for c in result.changes)
    with ctx.ledger.read() as connection:
        emails = dict(
            connection.execute(sa.select(mirror_owners.c.owner_id, mirror_owners.c.email)).all()
        )
    return {
        "departed": [{"owner_id": o, "email": emails.get(o)} for o in owner_ids],
        "accounts_moved": len(result.changes),
        # Its own new changes and the open ones of earlier runs it proposed again (they keep
        # their run): what `departure_report` follows.
        "change_ids": sorted(c.change_id for c in result.changes),
        "moves": [
            {
                "from_owner_id": frm,
                "from_email": emails.get(frm or ""),
                "to_owner_id": to,
                "to_email": emails.get(to or ""),
                "accounts": count,
            }
            for (frm, to), count in sorted(moves.items(), key=lambda kv: (-kv[1], str(kv[0])))
        ],
        # Only the shares this run's own changes wait in (it keeps forced changes only).
        "held_for_approval": sorted(
            str(s) for s in result.held if any(c.share is s for c in result.changes)
        ),
    }


def departure_report(
    connection: sa.Connection, summary: dict[str, Any] | None
) -> dict[str, Any] | None:
    """A departure run's stored summary with what became of its changes so far: their count by
    state and each conflict (an account edited by hand before the move: never overwritten),
    as `territory runs --json` shows it and the alerts send it."""
    if summary is None:
        return None
    if "change_ids" not in summary:
        # Recorded before summaries listed their changes: what became of them is unknown here
        # (`territory changes --run` lists the run's own).
        return {**summary, "outcome": None}
    rows = _changes_by_id(connection, summary["change_ids"])
    return {
        **summary,
        "outcome": {
            "changes_by_state": dict(sorted(Counter(str(r.state) for r in rows).items())),
            "conflicts": [
                {
                    "change_id": r.change_id,
                    "account_id": r.account_id,
                    "from_owner_id": r.from_owner_id,
                    "to_owner_id": r.to_owner_id,
                    "error": r.error,
                }
                for r in rows
                if r.state is ChangeState.CONFLICT
            ],
        },
    }


def _changes_by_id(connection: sa.Connection, change_ids: Sequence[str]) -> list[ChangeRow]:
    found: list[ChangeRow] = []
    for start in range(0, len(change_ids), 500):
        query = (
            sa.select(changes)
            .where(changes.c.change_id.in_(change_ids[start : start + 500]))
            .order_by(changes.c.change_id)
        )
        found.extend(row_of(r) for r in connection.execute(query))
    return found
