"""The shipped migrations build exactly the tables the code declares, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from tests.support.postgres_server import throwaway_database
from worker.ledger import Ledger, open_ledger
from worker.ledger.migrations import MIGRATIONS, upgrade
from worker.ledger.outbox import select_changes
from worker.ledger.runs import start_run
from worker.ledger.states import RunKind
from worker.ledger.tables import changes, metadata, written_owners


def test_the_migrated_ledger_matches_the_declared_tables_column_for_column(ledger: Ledger) -> None:
    with ledger.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        assert compare_metadata(context, metadata) == []


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    """A ledger with no migration run yet (not copied from the migrated template)."""
    if request.param == "sqlite":
        opened = open_ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
        yield opened
        opened.dispose()
        return
    with throwaway_database(request.getfixturevalue("postgres_admin_url")) as url:
        opened = open_ledger(url)
        yield opened
        opened.dispose()


def test_0002_carries_a_0001_ledgers_changes_over_to_the_new_meanings(
    empty_ledger: Ledger,
) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with empty_ledger.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    now = datetime(2027, 1, 4, 9, tzinfo=UTC)
    old_changes = sa.table(
        "changes",
        *[
            sa.column(c.name, c.type)
            for c in changes.columns
            if c.name not in ("claims", "owner_written_at")
        ],
    )

    def row(change_id: str, state: str, attempts: int, error: object) -> dict[str, object]:
        return {
            "change_id": change_id,
            "run_id": run_id,
            "account_id": f"A-{change_id}",
            "from_owner_id": "u1",
            "to_owner_id": "u2",
            "reason": "rebalance",
            "share": "discretionary",
            "rule_revision": "r1",
            "effective_date": now.date(),
            "state": state,
            "attempts": attempts,
            "error": error,
            "created_at": now,
            "updated_at": now,
        }

    with empty_ledger.write() as connection:
        run_id = start_run(connection, kind=RunKind.PLAN, actor="t", source="ledger", now=now)
        outage = {"class": "TransientError", "message": "service unavailable"}
        connection.execute(
            sa.insert(old_changes),
            [
                row("note-waits", "due", 5, outage),  # owner written, the note call failed
                row("outage", "due", 7, outage),  # claimed 7 times through an outage
                row("applied", "applied", 1, None),
                row("failed", "failed", 8, {"class": "TerminalError", "message": "refused"}),
                row("note-refused", "failed", 8, {"class": "TerminalError", "message": "no"}),
            ],
        )
        connection.execute(
            sa.insert(written_owners),
            [
                {
                    "account_id": "A-note-waits",
                    "owner_id": "u2",
                    "change_id": "note-waits",
                    "written_at": now,
                },
                {
                    "account_id": "A-note-refused",
                    "owner_id": "u2",
                    "change_id": "note-refused",
                    "written_at": now,
                },
            ],
        )

    upgrade(empty_ledger)

    with empty_ledger.read() as connection:
        found = {r.change_id: r for r in select_changes(connection)}
    assert {i: (r.claims, r.attempts) for i, r in found.items()} == {
        "note-waits": (5, 0),
        "outage": (7, 0),
        "applied": (1, 0),
        "failed": (8, 8),
        "note-refused": (8, 8),
    }
    assert found["note-waits"].owner_written_at == now
    assert found["outage"].owner_written_at is None
    # Its owner moved though its note was refused for good: rollback undoes it like an applied.
    assert found["note-refused"].owner_written_at == now
    assert not found["note-waits"].replaceable  # a plan never drops it: its note follows
