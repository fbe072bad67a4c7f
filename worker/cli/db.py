"""`territory db upgrade`: bring the ledger's tables to this version's schema."""

from __future__ import annotations

from worker.cli.command_group import CommandGroup
from worker.cli.terminal import out

commands = CommandGroup(
    name="db",
    help="The ledger's database (TERRITORY_DATABASE_URL; default sqlite:///territory.sqlite3).",
)


@commands.command()
def upgrade() -> None:
    """Run the ledger's migrations up to this version's schema; safe to run again.

    Creates an embedded SQLite ledger that does not exist yet. Run it after installing a new
    version, before `territory worker` (or set TERRITORY_AUTO_MIGRATE=true). Exit 0 done, 2 a
    bad setting, 4 the database refuses or does not answer.
    """
    from worker.cli.service_calls import service_errors
    from worker.context import migrate_ledger
    from worker.ledger import open_ledger
    from worker.settings import load_settings

    with service_errors():
        settings = load_settings()
        url = settings.database_url.get_secret_value() if settings.database_url else None
        ledger = open_ledger(url)
        try:
            before, after = migrate_ledger(ledger)
        finally:
            ledger.dispose()
    start = "an empty database" if before is None else f"migration {before}"
    done = (
        f"already at migration {after}" if before == after else f"upgraded from {start} to {after}"
    )
    out.print(f"ledger {ledger.url}: {done}", highlight=False, soft_wrap=True, markup=False)
