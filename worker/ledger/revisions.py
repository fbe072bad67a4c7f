"""Rule revisions: the worker plans from the active one, never from whatever YAML is on disk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from worker.ledger.tables import rule_revisions


@dataclass(frozen=True, slots=True)
class RuleRevision:
    """One activated rule file."""

    id: int
    revision: str
    sha256: str
    text: str
    path: str
    fields: tuple[str, ...]
    activated_by: str
    activated_at: datetime
    active: bool


def _revision(record: sa.Row[Any]) -> RuleRevision:
    m = record._mapping
    return RuleRevision(
        id=m["id"],
        revision=m["revision"],
        sha256=m["sha256"],
        text=m["text"],
        path=m["path"],
        fields=tuple(m["fields"] or ()),
        activated_by=m["activated_by"],
        activated_at=m["activated_at"],
        active=bool(m["active"]),
    )


def active_revision(connection: sa.Connection) -> RuleRevision | None:
    """The active rule revision, or None before the first `territory activate`."""
    query = sa.select(rule_revisions).where(rule_revisions.c.active.is_(True))
    found = connection.execute(query).first()
    return None if found is None else _revision(found)


def activate_revision(
    connection: sa.Connection,
    *,
    revision: str,
    sha256: str,
    text: str,
    path: str,
    fields: tuple[str, ...],
    who: str,
    now: datetime,
) -> int:
    """Record a rule file and make it the active revision; return its id."""
    connection.execute(
        sa.update(rule_revisions).where(rule_revisions.c.active.is_(True)).values(active=False)
    )
    result = connection.execute(
        sa.insert(rule_revisions).values(
            revision=revision,
            sha256=sha256,
            text=text,
            path=path,
            fields=list(fields),
            activated_by=who,
            activated_at=now,
            active=True,
        )
    )
    new_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
    assert isinstance(new_id, int)
    return new_id


def list_revisions(connection: sa.Connection) -> list[RuleRevision]:
    """Every activated revision, newest first."""
    query = sa.select(rule_revisions).order_by(rule_revisions.c.id.desc())
    return [_revision(r) for r in connection.execute(query)]
