"""Delivery counters: a task message redelivered too often is parked, not run again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from worker.ledger.tables import deliveries


def count_delivery(connection: sa.Connection, task_key: str, *, now: datetime) -> int:
    """Count one more delivery of `task_key`; return the count (1 on the first).

    One statement (INSERT ... ON CONFLICT DO UPDATE ... RETURNING), so a message redelivered
    while its first delivery still runs waits on the row instead of failing to insert it.
    """
    insert_of = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = insert_of(deliveries).values(
        task_key=task_key, count=1, first_at=now, last_at=now, parked=False
    )
    upsert = statement.on_conflict_do_update(
        index_elements=[deliveries.c.task_key],
        set_={"count": deliveries.c.count + 1, "last_at": statement.excluded.last_at},
    ).returning(deliveries.c.count)
    return int(connection.execute(upsert).scalar_one())


def park(connection: sa.Connection, task_key: str, error: dict[str, Any]) -> None:
    """Mark `task_key` as poison: it is acknowledged and never run again."""
    connection.execute(
        sa.update(deliveries)
        .where(deliveries.c.task_key == task_key)
        .values(parked=True, error=error)
    )


def parked(connection: sa.Connection) -> list[dict[str, Any]]:
    """Parked task messages, newest first."""
    query = (
        sa.select(deliveries)
        .where(deliveries.c.parked.is_(True))
        .order_by(deliveries.c.last_at.desc())
    )
    return [dict(r._mapping) for r in connection.execute(query)]


def forget_delivery(connection: sa.Connection, task_key: str) -> None:
    """Drop the counter of a task that finished: only messages in flight need one."""
    connection.execute(sa.delete(deliveries).where(deliveries.c.task_key == task_key))
