"""The embedded ledger's promises: WAL (a reader never waits on a writer) and a busy timeout (a
second writer waits its turn instead of failing with 'database is locked')."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from worker.ledger import Ledger, open_ledger
from worker.ledger.database import SQLITE_BUSY_TIMEOUT_MS
from worker.ledger.migrations import upgrade
from worker.ledger.tables import ledger_facts as facts

HOLD_SECONDS = 0.5


def a_fact(key: str) -> dict[str, object]:
    return {"key": key, "value": "v", "updated_at": datetime(2027, 1, 4, tzinfo=UTC)}


def test_every_sqlite_connection_runs_in_wal_mode_with_the_busy_timeout(tmp_path: Path) -> None:
    ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    upgrade(ledger)
    try:
        for transaction in (ledger.read, ledger.write):
            with transaction() as connection:
                mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
                timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
                assert (mode, timeout) == ("wal", SQLITE_BUSY_TIMEOUT_MS)
        assert SQLITE_BUSY_TIMEOUT_MS >= 5_000
    finally:
        ledger.dispose()


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> Iterator[Ledger]:
    ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    upgrade(ledger)
    yield ledger
    ledger.dispose()


def test_a_second_sqlite_writer_waits_for_the_first_instead_of_failing(
    sqlite_ledger: Ledger,
) -> None:
    holding = threading.Event()
    errors: list[BaseException] = []
    waited: list[float] = []

    def first_writer() -> None:
        with sqlite_ledger.write() as connection:
            connection.execute(sa.insert(facts).values(a_fact("first")))
            holding.set()
            time.sleep(HOLD_SECONDS)

    def second_writer() -> None:
        started = time.monotonic()
        try:
            with sqlite_ledger.write() as connection:
                connection.execute(sa.insert(facts).values(a_fact("second")))
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)
        waited.append(time.monotonic() - started)

    first = threading.Thread(target=first_writer)
    first.start()
    assert holding.wait(5)
    second = threading.Thread(target=second_writer)
    second.start()
    first.join()
    second.join()
    assert errors == []  # not 'database is locked'
    assert waited[0] >= HOLD_SECONDS / 2  # it waited its turn
    with sqlite_ledger.read() as connection:
        assert set(connection.scalars(sa.select(facts.c.key))) == {"first", "second"}


def test_an_open_sqlite_read_never_holds_up_a_writer(sqlite_ledger: Ledger) -> None:
    with sqlite_ledger.write() as connection:
        connection.execute(sa.insert(facts).values(a_fact("before")))
    reading = threading.Event()
    done = threading.Event()

    def reader() -> None:
        with sqlite_ledger.read() as connection:
            assert connection.scalars(sa.select(facts.c.key)).all() == ["before"]
            reading.set()
            done.wait(HOLD_SECONDS * 4)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        assert reading.wait(5)
        started = time.monotonic()
        with sqlite_ledger.write() as connection:
            connection.execute(sa.insert(facts).values(a_fact("during")))
        took = time.monotonic() - started
    finally:
        done.set()
        thread.join()
    # With a rollback journal the commit would wait for the reader to finish (WAL: it never does).
    assert took < HOLD_SECONDS
