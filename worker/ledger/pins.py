"""What the next plan must respect: pins, the owners we wrote, and notice given of departures."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

import sqlalchemy as sa

from worker.ledger.facts import get_fact, set_fact
from worker.ledger.tables import departures, mirror_owners, pins, written_owners

# Owners a sync saw deactivated whose departure run has not been recorded yet.
PENDING_DEPARTURES: Final = "departures.pending"


@dataclass(frozen=True, slots=True)
class Pin:
    """An account kept with `owner_id` until `until` (inclusive)."""

    account_id: str
    owner_id: str | None
    cause: str  # hand_edit | conflict | rollback | declined
    until: date
    change_id: str | None = None


def add_pins(connection: sa.Connection, new: Iterable[Pin], *, now: datetime) -> int:
    """Pin accounts (a later pin of an account replaces its earlier one); return how many."""
    wanted = sorted(new, key=lambda p: p.account_id)  # account order, as every writer goes
    rows = [
        {
            "account_id": p.account_id,
            "owner_id": p.owner_id,
            "cause": p.cause,
            "until": p.until,
            "change_id": p.change_id,
            "created_at": now,
        }
        for p in wanted
    ]
    if not rows:
        return 0
    ids = [p.account_id for p in wanted]
    for start in range(0, len(ids), 500):
        connection.execute(sa.delete(pins).where(pins.c.account_id.in_(ids[start : start + 500])))
    connection.execute(sa.insert(pins), rows)
    return len(rows)


def active_pins(connection: sa.Connection, today: date) -> dict[str, Pin]:
    """Pins still in force on `today`, by account."""
    query = sa.select(pins).where(pins.c.until >= today)
    return {
        r.account_id: Pin(r.account_id, r.owner_id, r.cause, r.until, r.change_id)
        for r in connection.execute(query)
    }


def record_written(
    connection: sa.Connection, written: Mapping[str, tuple[str | None, str]], *, now: datetime
) -> None:
    """Remember the owner this service set per account: {account: (owner, change id)}."""
    if not written:
        return
    ids = sorted(written)  # account order, as every writer takes rows
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        connection.execute(sa.delete(written_owners).where(written_owners.c.account_id.in_(chunk)))
    connection.execute(
        sa.insert(written_owners),
        [
            {"account_id": a, "owner_id": owner, "change_id": change, "written_at": now}
            for a, (owner, change) in written.items()
        ],
    )


def written_owner_of(
    connection: sa.Connection, account_ids: Iterable[str]
) -> dict[str, str | None]:
    """The owner this service last wrote, for those of `account_ids` it ever wrote."""
    found: dict[str, str | None] = {}
    ids = list(account_ids)
    for start in range(0, len(ids), 500):
        query = sa.select(written_owners.c.account_id, written_owners.c.owner_id).where(
            written_owners.c.account_id.in_(ids[start : start + 500])
        )
        found.update(dict(connection.execute(query).all()))
    return found


@dataclass(frozen=True, slots=True)
class Departure:
    """Notice that a rep leaves on `effective_date`."""

    owner_id: str
    effective_date: date
    recorded_by: str
    recorded_at: datetime
    run_id: int | None


def record_departure(
    connection: sa.Connection, owner_id: str, effective: date, *, who: str, now: datetime
) -> None:
    """Record (or move) the day a rep leaves."""
    connection.execute(sa.delete(departures).where(departures.c.owner_id == owner_id))
    connection.execute(
        sa.insert(departures).values(
            owner_id=owner_id, effective_date=effective, recorded_by=who, recorded_at=now
        )
    )


def scheduled_departures(connection: sa.Connection) -> dict[str, Departure]:
    """Every departure notice, by owner id."""
    return {
        r.owner_id: Departure(r.owner_id, r.effective_date, r.recorded_by, r.recorded_at, r.run_id)
        for r in connection.execute(sa.select(departures))
    }


def mark_departure_run(connection: sa.Connection, owner_ids: Iterable[str], run_id: int) -> None:
    """Link notices to the departure run that moved the books."""
    ids = list(owner_ids)
    if ids:
        connection.execute(
            sa.update(departures).where(departures.c.owner_id.in_(ids)).values(run_id=run_id)
        )


def add_pending_departures(
    connection: sa.Connection, owner_ids: Iterable[str], *, now: datetime
) -> None:
    """Remember owners seen deactivated until a departure run moves their books."""
    pending = set(_pending(connection))
    added = pending | set(owner_ids)
    if added != pending:
        set_fact(connection, PENDING_DEPARTURES, json.dumps(sorted(added)), now=now)


def pending_departures(connection: sa.Connection) -> list[str]:
    """Owners seen deactivated, still inactive, whose departure run has not been recorded."""
    pending = _pending(connection)
    if not pending:
        return []
    inactive = sa.select(mirror_owners.c.owner_id).where(
        mirror_owners.c.owner_id.in_(pending), mirror_owners.c.active.is_(False)
    )
    return sorted(connection.scalars(inactive))


def settle_pending_departures(
    connection: sa.Connection, owner_ids: Iterable[str], *, now: datetime
) -> None:
    """Forget `owner_ids` as pending: their departure run is recorded."""
    pending = set(_pending(connection))
    left = pending - set(owner_ids)
    if left != pending:
        set_fact(connection, PENDING_DEPARTURES, json.dumps(sorted(left)), now=now)


def _pending(connection: sa.Connection) -> list[str]:
    text = get_fact(connection, PENDING_DEPARTURES)
    return list(json.loads(text)) if text else []
