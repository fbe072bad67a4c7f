"""Ledger migrations (Alembic, shipped in the package): `territory db upgrade` runs them."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from worker.ledger.database import Ledger, LedgerError

MIGRATIONS: Final = Path(__file__).with_name("migrations")


def _config(ledger: Ledger) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", ledger.url)
    return config


def _scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def head_revision() -> str:
    """The newest migration shipped with this version."""
    head = _scripts().get_current_head()
    assert head is not None, "the package ships at least one migration"
    return head


def current_revision(ledger: Ledger) -> str | None:
    """The migration the database is at (None: an empty database)."""
    with ledger.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(ledger: Ledger) -> tuple[str | None, str]:
    """Bring the ledger to the newest migration; return (before, after)."""
    before = current_revision(ledger)
    config = _config(ledger)
    with ledger.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return before, head_revision()


def require_current(ledger: Ledger) -> None:
    """Raise LedgerError unless the ledger is at the newest migration."""
    current, head = current_revision(ledger), head_revision()
    if current == head:
        return
    if current is None:
        raise LedgerError(
            f"ledger {ledger.url} is empty: run `territory db upgrade` first "
            "(or set TERRITORY_AUTO_MIGRATE=true)"
        )
    known = {script.revision for script in _scripts().walk_revisions()}
    if current not in known:
        raise LedgerError(
            f"ledger {ledger.url} is at migration {current}, newer than this version knows "
            f"(newest: {head}); upgrade territory-sync"
        )
    raise LedgerError(
        f"ledger {ledger.url} is at migration {current}, older than {head}: run "
        "`territory db upgrade` (or set TERRITORY_AUTO_MIGRATE=true)"
    )
