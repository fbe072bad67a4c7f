"""What every step of the worker needs: settings, the ledger, a clock, who acts, a connector.

The CLI and the Celery tasks build one `WorkerContext` and call the same step functions with
it (`worker.sync`, `worker.planning`, `worker.writeback`, ...). Tests build one with a fixed
clock. Nothing here reads the environment: `worker.settings` does.
"""

from __future__ import annotations

import getpass
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from alembic.util import CommandError

from connectors.base import Connector
from rules.schema import RuleFile
from worker.crm import CRM_KINDS, open_connector
from worker.ledger import Ledger, LedgerError, open_ledger
from worker.ledger.facts import bound_crm
from worker.ledger.migrations import current_revision, require_current, upgrade
from worker.settings import Settings

Clock = Callable[[], datetime]
ConnectorFactory = Callable[[str, RuleFile | None], Connector]
CSV_PREFIX: Final = "csv:"


class SourceSpecError(ValueError):
    """A source spec that names no CRM this worker can open."""


def system_clock() -> datetime:
    """Now, aware, in UTC."""
    return datetime.now(UTC)


# The ledger's columns for who acted (worker/ledger/tables.py) hold this many characters.
ACTOR_MAX_CHARS: Final = 200


def default_actor() -> str:
    """Who runs a command: the login name at this host, as one line of printable text that
    the ledger's columns hold (LOGNAME and the host name come from the environment)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    name = "".join(c if c.isprintable() else "?" for c in f"{user}@{socket.gethostname()}")
    return name[:ACTOR_MAX_CHARS]


def open_source(spec: str, settings: Settings, rule: RuleFile | None) -> Connector:
    """The connector for a source spec: hubspot, salesforce, or csv:DIR (a file-based CRM)."""
    if spec in CRM_KINDS:
        return open_connector(spec, settings, rule)
    if spec.startswith(CSV_PREFIX) and len(spec) > len(CSV_PREFIX):
        from connectors.files.connector import CsvConnector  # noqa: PLC0415 - CSV only

        directory = Path(spec[len(CSV_PREFIX) :])
        if not directory.is_dir():
            raise SourceSpecError(f"--source {spec}: {directory} is not a directory")
        return CsvConnector(directory, rule)
    raise SourceSpecError(f"--source: expected hubspot, salesforce or csv:DIR, got {spec!r}")


@dataclass(slots=True)
class WorkerContext:
    """Settings, the ledger, the clock and the actor for one command or task."""

    settings: Settings
    ledger: Ledger
    actor: str
    clock: Clock = system_clock
    sleep: Callable[[float], None] = time.sleep
    connector_factory: ConnectorFactory | None = None
    _connectors: dict[tuple[str, str], Connector] = field(default_factory=dict, repr=False)

    def now(self) -> datetime:
        """The current instant (aware, UTC)."""
        instant = self.clock()
        if instant.tzinfo is None:
            raise ValueError("the worker's clock must return aware datetimes")
        return instant

    def today(self) -> date:
        """Today's calendar day in TERRITORY_TIMEZONE: what decides a change is due."""
        return self.now().astimezone(ZoneInfo(self.settings.timezone)).date()

    def source(self) -> str:
        """The CRM this ledger syncs with: the bound one, else TERRITORY_CRM's."""
        with self.ledger.read() as connection:
            bound = bound_crm(connection)
        if bound is not None:
            return bound[0] if bound[0] in CRM_KINDS else f"{CSV_PREFIX}{bound[1]}"
        raise LedgerError(
            "the ledger has not been synced with a CRM yet: run `territory sync --source "
            "hubspot` (or salesforce) first"
        )

    def forget_connectors(self) -> None:
        """Drop the connectors opened so far: each task starts with a fresh rate budget."""
        self._connectors.clear()

    def connector(self, spec: str, rule: RuleFile | None) -> Connector:
        """The connector for `spec` with `rule`'s field map, opened once per context."""
        key = (spec, rule.revision if rule else "")
        if key not in self._connectors:
            factory = self.connector_factory or (lambda s, r: open_source(s, self.settings, r))
            self._connectors[key] = factory(spec, rule)
        return self._connectors[key]


def migrate_ledger(ledger: Ledger) -> tuple[str | None, str]:
    """Run the ledger's migrations; a ledger a newer version migrated is refused (LedgerError),
    where Alembic's own error ("Can't locate revision") was an internal error."""
    try:
        return upgrade(ledger)
    except CommandError:
        require_current(ledger)  # says "newer than this version knows" when it is
        raise


def open_context(
    settings: Settings,
    *,
    actor: str | None = None,
    clock: Clock = system_clock,
    migrate: bool | None = None,
    connector_factory: ConnectorFactory | None = None,
) -> WorkerContext:
    """Open the ledger the settings name (migrating it when asked) and build the context."""
    url = settings.database_url.get_secret_value() if settings.database_url else None
    ledger = open_ledger(url)
    wanted = settings.auto_migrate if migrate is None else migrate
    # An embedded ledger that does not exist yet is simply created: zero set-up.
    if wanted or (ledger.is_sqlite and current_revision(ledger) is None):
        migrate_ledger(ledger)
    else:
        require_current(ledger)
    return WorkerContext(
        settings=settings,
        ledger=ledger,
        actor=actor or default_actor(),
        clock=clock,
        connector_factory=connector_factory,
    )
