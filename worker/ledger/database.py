"""Opening the ledger: SQLite by default (embedded, WAL, busy timeout), PostgreSQL by URL.

Transactions are short and come in two kinds: `read()` (a snapshot, never blocks a writer) and
`write()` (on SQLite `BEGIN IMMEDIATE`, so two writers queue on the busy timeout instead of
failing when a read lock cannot be upgraded). Nothing talks to a CRM inside either.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry

DEFAULT_DATABASE_URL: Final = "sqlite:///territory.sqlite3"
SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
_IMMEDIATE: Final = "territory_immediate"


class LedgerError(Exception):
    """The ledger cannot be used as asked; the message says what to do (never a password)."""


@dataclass(frozen=True, slots=True)
class Ledger:
    """An open ledger database."""

    engine: sa.Engine
    url: str  # with any password masked, for messages

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read transaction."""
        with self.engine.connect() as connection, connection.begin():
            yield connection

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A write transaction (immediate on SQLite); commits on success, rolls back on error."""
        with (
            self.engine.connect().execution_options(**{_IMMEDIATE: True}) as connection,
            connection.begin(),
        ):
            yield connection

    def dispose(self) -> None:
        """Close every pooled connection (after a fork, or when done)."""
        self.engine.dispose()


def open_ledger(url: str | None = None, *, echo: bool = False) -> Ledger:
    """Open the ledger at `url` (default: `territory.sqlite3` in the working directory)."""
    raw = url or DEFAULT_DATABASE_URL
    try:
        parsed = make_url(raw)
    except ArgumentError:
        raise LedgerError(
            "TERRITORY_DATABASE_URL: expected sqlite:///PATH or postgresql://USER@HOST/DB"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
        engine = sa.create_engine(parsed, echo=echo, pool_pre_ping=True, future=True)
    elif backend == "sqlite":
        engine = _sqlite_engine(parsed, echo=echo)
    else:
        raise LedgerError(
            f"TERRITORY_DATABASE_URL: {backend!r} is not supported; use sqlite:///PATH "
            "(the embedded default) or postgresql://USER@HOST/DB"
        )
    return Ledger(engine=engine, url=parsed.render_as_string(hide_password=True))


def worker_lock_path(database: str) -> Path:
    """The file beside an SQLite ledger that its one `territory worker` holds locked."""
    return Path(database).expanduser().resolve().with_suffix(".worker-lock")


def _sqlite_engine(url: sa.URL, *, echo: bool) -> sa.Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        parent = Path(database).expanduser().resolve().parent
        if not parent.is_dir():
            raise LedgerError(f"ledger {database}: directory {parent} does not exist")
    engine = sa.create_engine(
        url, echo=echo, future=True, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: sqlite3.Connection, _: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy's `begin` event issue BEGIN itself (pysqlite's own is deferred and late).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def check_reachable(ledger: Ledger) -> None:
    """Raise LedgerError naming the database when it does not answer."""
    try:
        with ledger.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "no answer"
        raise LedgerError(f"ledger {ledger.url}: cannot connect ({reason})") from None


_UPSERT_PAGE: Final = 500


def upsert(
    connection: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """Insert `rows`, updating those whose `keys` exist (ON CONFLICT on both databases)."""
    if not rows:
        return
    dialect = connection.dialect.name
    insert_of = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = [c for c in rows[0] if c not in keys]
    for start in range(0, len(rows), _UPSERT_PAGE):
        statement = insert_of(table)
        statement = statement.on_conflict_do_update(
            index_elements=list(keys),
            set_={c: statement.excluded[c] for c in columns},
        )
        connection.execute(statement, list(rows[start : start + _UPSERT_PAGE]))
