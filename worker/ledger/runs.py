"""Runs: who did what, when, from which rule revision and source, with what counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from worker.ledger.states import RunKind, RunState
from worker.ledger.tables import runs


@dataclass(frozen=True, slots=True)
class Run:
    """One run as the ledger holds it."""

    run_id: int
    kind: RunKind
    state: RunState
    actor: str
    source: str
    rule_revision_id: int | None
    rule_revision: str | None
    rule_sha256: str | None
    as_of: date | None
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, Any]
    summary: dict[str, Any] | None
    error: dict[str, Any] | None
    parent_run_id: int | None


def _run(record: sa.Row[Any]) -> Run:
    m = record._mapping
    return Run(
        run_id=m["run_id"],
        kind=RunKind(m["kind"]),
        state=RunState(m["state"]),
        actor=m["actor"],
        source=m["source"],
        rule_revision_id=m["rule_revision_id"],
        rule_revision=m["rule_revision"],
        rule_sha256=m["rule_sha256"],
        as_of=m["as_of"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        counts=dict(m["counts"] or {}),
        summary=m["summary"],
        error=m["error"],
        parent_run_id=m["parent_run_id"],
    )


def start_run(
    connection: sa.Connection,
    *,
    kind: RunKind,
    actor: str,
    source: str,
    now: datetime,
    rule_revision_id: int | None = None,
    rule_revision: str | None = None,
    rule_sha256: str | None = None,
    as_of: date | None = None,
    parent_run_id: int | None = None,
) -> int:
    """Record a new run in state `running`; return its id."""
    result = connection.execute(
        sa.insert(runs).values(
            kind=kind,
            state=RunState.RUNNING,
            actor=actor,
            source=source,
            rule_revision_id=rule_revision_id,
            rule_revision=rule_revision,
            rule_sha256=rule_sha256,
            as_of=as_of,
            started_at=now,
            counts={},
            parent_run_id=parent_run_id,
        )
    )
    run_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
    assert isinstance(run_id, int)
    return run_id


def finish_run(
    connection: sa.Connection,
    run_id: int,
    *,
    state: RunState,
    now: datetime,
    counts: dict[str, Any] | None = None,
    summary: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
) -> None:
    """Set a run's final (or waiting) state, its counts, summary and error."""
    values: dict[str, Any] = {"state": state, "finished_at": now}
    if counts is not None:
        values["counts"] = counts
    if summary is not None:
        values["summary"] = summary
    if error is not None:
        values["error"] = error
    connection.execute(sa.update(runs).where(runs.c.run_id == run_id).values(**values))


def set_run_state(connection: sa.Connection, run_id: int, state: RunState) -> None:
    """Change a run's state only (approval, decline, rollback)."""
    connection.execute(sa.update(runs).where(runs.c.run_id == run_id).values(state=state))


def get_run(connection: sa.Connection, run_id: int) -> Run | None:
    """The run with `run_id`, or None."""
    found = connection.execute(sa.select(runs).where(runs.c.run_id == run_id)).first()
    return None if found is None else _run(found)


def list_runs(
    connection: sa.Connection, *, limit: int = 50, kind: RunKind | None = None
) -> list[Run]:
    """The newest runs first."""
    query = sa.select(runs).order_by(runs.c.run_id.desc()).limit(limit)
    if kind is not None:
        query = query.where(runs.c.kind == kind)
    return [_run(r) for r in connection.execute(query)]
