"""Fixtures shared by the ledger and worker suites: a ledger on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres_server import postgres_server, throwaway_database
from worker.ledger import Ledger, open_ledger
from worker.ledger.migrations import upgrade


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """One private PostgreSQL server per test process."""
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_template(postgres_admin_url: str) -> Iterator[str]:
    """A migrated ledger that each test's database is copied from (faster than migrating)."""
    with throwaway_database(postgres_admin_url) as url:
        template = open_ledger(url)
        upgrade(template)
        template.dispose()
        yield url.rsplit("/", 1)[1]


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty ledger database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
        return
    admin = request.getfixturevalue("postgres_admin_url")
    template = request.getfixturevalue("postgres_template")
    with throwaway_database(admin, template) as url:
        yield url


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    """A migrated ledger."""
    opened = open_ledger(ledger_url)
    upgrade(opened)
    try:
        yield opened
    finally:
        opened.dispose()
