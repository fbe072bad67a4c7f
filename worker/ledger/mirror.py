"""The CRM mirror: companies, owners and owner activity as the last syncs saw them.

A daily plan of a million accounts reads the mirror instead of pulling the CRM again; syncs keep
it current page by page, so a sync that fails part-way keeps what it stored. Rows are built
straight from result tuples (no ORM objects): the snapshot of a million companies is read in
one pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from rules.domain import Account, Owner, Snapshot
from worker.ledger.database import upsert
from worker.ledger.tables import mirror_activity, mirror_companies, mirror_owners, sync_state

_PAGE = 500


@dataclass(frozen=True, slots=True)
class OwnerMove:
    """A company whose owner differs from what the mirror held (a hand edit or ours)."""

    account_id: str
    before: str | None
    after: str | None


def store_companies(
    connection: sa.Connection,
    accounts: Sequence[Account],
    *,
    now: datetime,
    generation: int,
) -> tuple[list[OwnerMove], int]:
    """Store a page of companies; return owner moves seen and how many were new to the mirror."""
    ids = [a.id for a in accounts]
    before: dict[str, str | None] = {}
    for start in range(0, len(ids), _PAGE):
        query = sa.select(mirror_companies.c.account_id, mirror_companies.c.owner_id).where(
            mirror_companies.c.account_id.in_(ids[start : start + _PAGE])
        )
        before.update(dict(connection.execute(query).all()))
    moves = [
        OwnerMove(a.id, before[a.id], a.owner_id)
        for a in accounts
        if a.id in before and before[a.id] != a.owner_id
    ]
    rows = [_company_row(a, now, generation) for a in accounts]
    new = [r for r in rows if r["account_id"] not in before]
    old = [r for r in rows if r["account_id"] in before]
    if old:
        # first_seen_at stays what the first sync that saw the company recorded.
        columns = [k for k in old[0] if k not in ("account_id", "first_seen_at")]
        statement = (
            sa.update(mirror_companies)
            .where(mirror_companies.c.account_id == sa.bindparam("key"))
            .values({c: sa.bindparam(c) for c in columns})
        )
        # Only the listed columns as parameters: SQLAlchemy sets every parameter named like a
        # column, so the whole row would overwrite first_seen_at.
        connection.execute(
            statement,
            [
                {"key": r["account_id"], **{c: r[c] for c in columns}}
                for r in sorted(old, key=lambda r: str(r["account_id"]))
            ],
        )
    if new:
        connection.execute(sa.insert(mirror_companies), new)
    return moves, len(new)


def _company_row(account: Account, now: datetime, generation: int) -> dict[str, Any]:
    return {
        "account_id": account.id,
        "name": account.name,
        "domain": account.domain,
        "owner_id": account.owner_id,
        "industry": account.industry,
        "employees": account.employees,
        "annual_revenue": account.annual_revenue,
        "country": account.country,
        "lifecycle": account.lifecycle,
        "parent_id": account.parent_id,
        "last_activity_at": account.last_activity_at,
        "signals": (
            orjson.dumps([[name, day.isoformat()] for name, day in account.signals]).decode()
            if account.signals
            else None
        ),
        "extra": orjson.dumps(account.extra).decode() if account.extra else None,
        "locked": account.locked,
        "first_seen_at": now,
        "synced_at": now,
        "sync_generation": generation,
    }


def record_owner_writes(connection: sa.Connection, owners: Mapping[str, str | None]) -> None:
    """Set the mirrored owner of accounts write-back saw reach their target owner.

    The CRM holds that owner now; a plan made before the next sync must start from it, or it
    would propose the applied change again (and apply it again, with a second note).
    """
    if not owners:
        return
    statement = (
        sa.update(mirror_companies)
        .where(mirror_companies.c.account_id == sa.bindparam("key"))
        .values(owner_id=sa.bindparam("new_owner"))
    )
    # In account order, as a sync's pages store them: two transactions updating the same
    # rows in different orders can deadlock on PostgreSQL.
    connection.execute(statement, [{"key": a, "new_owner": owners[a]} for a in sorted(owners)])


def owners_of(connection: sa.Connection, account_ids: list[str]) -> dict[str, str | None]:
    """The mirror's owner of each of `account_ids`."""
    found: dict[str, str | None] = {}
    for start in range(0, len(account_ids), 500):
        query = sa.select(mirror_companies.c.account_id, mirror_companies.c.owner_id).where(
            mirror_companies.c.account_id.in_(account_ids[start : start + 500])
        )
        found.update({row[0]: row[1] for row in connection.execute(query)})
    return found


def remove_companies(connection: sa.Connection, account_ids: Iterable[str]) -> int:
    """Forget companies the CRM archived or deleted; return how many the mirror held."""
    ids = list(account_ids)
    removed = 0
    for start in range(0, len(ids), _PAGE):
        chunk = ids[start : start + _PAGE]
        result = connection.execute(
            sa.delete(mirror_companies).where(mirror_companies.c.account_id.in_(chunk))
        )
        connection.execute(
            sa.delete(mirror_activity).where(mirror_activity.c.account_id.in_(chunk))
        )
        removed += result.rowcount
    return removed


def remove_unseen(connection: sa.Connection, generation: int) -> list[str]:
    """After a full sync of `generation`: drop companies it did not see; return their ids."""
    query = sa.select(mirror_companies.c.account_id).where(
        mirror_companies.c.sync_generation < generation
    )
    gone = list(connection.scalars(query))
    remove_companies(connection, gone)
    return gone


def store_owners(connection: sa.Connection, owners: Sequence[Owner], *, now: datetime) -> list[str]:
    """Store owners; return ids of owners active in the mirror and now inactive (departures)."""
    known = {
        owner_id: (bool(active), at)
        for owner_id, active, at in connection.execute(
            sa.select(
                mirror_owners.c.owner_id, mirror_owners.c.active, mirror_owners.c.deactivated_at
            )
        )
    }
    departed = [o.id for o in owners if o.id in known and known[o.id][0] and not o.active]
    rows = [
        {
            "owner_id": o.id,
            "email": o.email,
            "first_name": o.first_name,
            "last_name": o.last_name,
            "active": o.active,
            "deactivated_at": None if o.active else (known.get(o.id, (True, None))[1] or now),
            "synced_at": now,
        }
        for o in owners
    ]
    upsert(connection, mirror_owners, rows, ["owner_id"])
    return departed


def latest_touches(
    touches: Iterable[tuple[str, str, datetime]],
) -> dict[tuple[str, str], datetime]:
    """The latest touch per (account, owner) among `touches`."""
    latest: dict[tuple[str, str], datetime] = {}
    for account_id, owner_id, at in touches:
        key = (account_id, owner_id)
        if key not in latest or at > latest[key]:
            latest[key] = at
    return latest


def store_activity(connection: sa.Connection, latest: Mapping[tuple[str, str], datetime]) -> int:
    """Keep the latest touch per (account, owner); return how many pairs were written."""
    if not latest:
        return 0
    stored = {
        (a, o): at
        for a, o, at in connection.execute(
            sa.select(
                mirror_activity.c.account_id,
                mirror_activity.c.owner_id,
                mirror_activity.c.last_at,
            )
        )
    }
    rows = [
        {"account_id": a, "owner_id": o, "last_at": at}
        for (a, o), at in latest.items()
        if (a, o) not in stored or at > stored[(a, o)]
    ]
    upsert(connection, mirror_activity, rows, ["account_id", "owner_id"])
    return len(rows)


def load_snapshot(connection: sa.Connection, *, with_activity: bool = True) -> Snapshot:
    """The mirror as the engine's Snapshot (accounts sorted by id)."""
    c = mirror_companies.c
    query = sa.select(
        c.account_id,
        c.name,
        c.domain,
        c.owner_id,
        c.industry,
        c.employees,
        c.annual_revenue,
        c.country,
        c.lifecycle,
        c.parent_id,
        c.last_activity_at,
        c.signals,
        c.extra,
        c.locked,
    ).order_by(c.account_id)
    accounts = list(_accounts(connection.execute(query)))
    owners = [
        Owner(
            id=r.owner_id,
            email=r.email or "",
            first_name=r.first_name or "",
            last_name=r.last_name or "",
            active=bool(r.active),
        )
        for r in connection.execute(sa.select(mirror_owners).order_by(mirror_owners.c.owner_id))
    ]
    activity: dict[tuple[str, str], datetime] = {}
    if with_activity:
        activity = {
            (a, o): at
            for a, o, at in connection.execute(
                sa.select(
                    mirror_activity.c.account_id,
                    mirror_activity.c.owner_id,
                    mirror_activity.c.last_at,
                )
            )
        }
    return Snapshot(accounts=accounts, owners=owners, owner_activity=activity)


def _accounts(rows: Iterable[Any]) -> Iterator[Account]:
    for (
        account_id,
        name,
        domain,
        owner_id,
        industry,
        employees,
        revenue,
        country,
        lifecycle,
        parent_id,
        last_activity_at,
        signals,
        extra,
        locked,
    ) in rows:
        yield Account(
            id=account_id,
            name=name,
            domain=domain,
            owner_id=owner_id,
            industry=industry,
            employees=employees,
            annual_revenue=revenue,
            country=country,
            lifecycle=lifecycle,
            parent_id=parent_id,
            last_activity_at=last_activity_at,
            signals=(
                tuple((n, date.fromisoformat(d)) for n, d in orjson.loads(signals))
                if signals
                else ()
            ),
            extra=orjson.loads(extra) if extra else None,
            locked=bool(locked),
        )


def company_count(connection: sa.Connection) -> int:
    """How many companies the mirror holds."""
    return int(connection.scalar(sa.select(sa.func.count()).select_from(mirror_companies)) or 0)


@dataclass(frozen=True, slots=True)
class StreamState:
    """A sync stream's cursor, the resume point of an unfinished sync, and the mirror's fields."""

    stream: str
    cursor: str | None
    resume: str | None
    run_id: int | None
    fields: tuple[str, ...] | None
    generation: int


def stream_state(connection: sa.Connection, stream: str) -> StreamState:
    """The state of `stream` (empty before its first sync)."""
    found = connection.execute(sa.select(sync_state).where(sync_state.c.stream == stream)).first()
    if found is None:
        return StreamState(stream, None, None, None, None, 0)
    return StreamState(
        stream=found.stream,
        cursor=found.cursor,
        resume=found.resume,
        run_id=found.run_id,
        fields=None if found.fields is None else tuple(found.fields),
        generation=found.generation,
    )


def save_stream_state(connection: sa.Connection, state: StreamState, *, now: datetime) -> None:
    """Store `state` for its stream."""
    upsert(
        connection,
        sync_state,
        [
            {
                "stream": state.stream,
                "cursor": state.cursor,
                "resume": state.resume,
                "run_id": state.run_id,
                "fields": None if state.fields is None else list(state.fields),
                "generation": state.generation,
                "updated_at": now,
            }
        ],
        ["stream"],
    )
