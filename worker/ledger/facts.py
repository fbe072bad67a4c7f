"""Facts about the ledger itself: the CRM account it belongs to, and the write-back switch."""

from __future__ import annotations

from datetime import datetime
from typing import Final

import sqlalchemy as sa

from worker.ledger.database import LedgerError
from worker.ledger.tables import ledger_facts

CRM_KIND: Final = "crm.kind"
CRM_ACCOUNT: Final = "crm.account"
PAUSED: Final = "writeback.paused"


def get_fact(connection: sa.Connection, key: str) -> str | None:
    """The value stored under `key`, or None."""
    query = sa.select(ledger_facts.c.value).where(ledger_facts.c.key == key)
    return connection.scalar(query)


def set_fact(connection: sa.Connection, key: str, value: str, *, now: datetime) -> None:
    """Store `value` under `key`."""
    updated = connection.execute(
        sa.update(ledger_facts).where(ledger_facts.c.key == key).values(value=value, updated_at=now)
    )
    if updated.rowcount == 0:
        connection.execute(sa.insert(ledger_facts).values(key=key, value=value, updated_at=now))


def delete_fact(connection: sa.Connection, key: str) -> None:
    """Remove `key`."""
    connection.execute(sa.delete(ledger_facts).where(ledger_facts.c.key == key))


def bind_crm(connection: sa.Connection, kind: str, account: str, *, now: datetime) -> bool:
    """Record the CRM account this ledger belongs to, or refuse another; True when first bound."""
    bound_kind, bound_account = get_fact(connection, CRM_KIND), get_fact(connection, CRM_ACCOUNT)
    if bound_kind is None:
        set_fact(connection, CRM_KIND, kind, now=now)
        set_fact(connection, CRM_ACCOUNT, account, now=now)
        return True
    if (bound_kind, bound_account) != (kind, account):
        raise LedgerError(
            f"this ledger belongs to {bound_kind} account {bound_account}, not {kind} account "
            f"{account}: point TERRITORY_DATABASE_URL at that CRM's own ledger (nothing was "
            "synced or written)"
        )
    return False


def bound_crm(connection: sa.Connection) -> tuple[str, str] | None:
    """(kind, account id) of the CRM this ledger belongs to, once a sync recorded it."""
    kind, account = get_fact(connection, CRM_KIND), get_fact(connection, CRM_ACCOUNT)
    return None if kind is None or account is None else (kind, account)


def is_paused(connection: sa.Connection) -> str | None:
    """Who paused write-back and when (as text), or None when it runs."""
    return get_fact(connection, PAUSED)
