"""TERRITORY_AUTO_MIGRATE=true migrates the ledger when the worker starts; without it a ledger
behind this version's migrations is refused at start, clearly, and left as it was.

The ledger here is an empty PostgreSQL database: an embedded SQLite ledger that does not exist
yet is always created (zero set-up), so only a server database can be behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery

import worker.celery_app as celery_app
import worker.tasks as tasks
from tests.support.postgres_server import throwaway_database
from tests.worker.cli_ledger import Territory, error_line
from worker.console import ExitCode
from worker.ledger import LedgerError, open_ledger
from worker.ledger.migrations import current_revision, head_revision


@pytest.fixture
def empty_postgres(postgres_admin_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """TERRITORY_DATABASE_URL set to a PostgreSQL database no migration has run on."""
    monkeypatch.delenv("TERRITORY_AUTO_MIGRATE", raising=False)
    with throwaway_database(postgres_admin_url) as url:
        monkeypatch.setenv("TERRITORY_DATABASE_URL", url)
        yield url


@pytest.fixture
def celery_started(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """`territory worker` configures a Celery app of its own and records instead of starting."""
    started: list[list[str]] = []
    fresh = Celery("territory-startup-test")
    monkeypatch.setattr(fresh, "worker_main", lambda argv: started.append(list(argv)))
    monkeypatch.setattr(celery_app, "app", fresh)
    monkeypatch.setenv("TERRITORY_REDIS_URL", "redis://127.0.0.1:6379/15")
    return started


def revision_of(url: str) -> str | None:
    ledger = open_ledger(url)
    try:
        return current_revision(ledger)
    finally:
        ledger.dispose()


def test_the_worker_migrates_the_ledger_at_start_with_auto_migrate(
    empty_postgres: str,
    celery_started: list[list[str]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("TERRITORY_AUTO_MIGRATE", "true")

    result = Territory(tmp_path / "unused")("worker")

    assert result.exit_code == 0, result.output
    assert revision_of(empty_postgres) == head_revision()
    assert len(celery_started) == 1  # and only then does Celery start


def test_without_auto_migrate_the_worker_refuses_a_ledger_behind_and_leaves_it(
    empty_postgres: str, celery_started: list[list[str]], tmp_path: Path
) -> None:
    result = Territory(tmp_path / "unused")("worker")

    assert result.exit_code == ExitCode.REFUSED
    line = error_line(result)
    assert line.startswith("error: ledger postgresql")
    assert line.endswith(
        " is empty: run `territory db upgrade` first (or set TERRITORY_AUTO_MIGRATE=true)"
    )
    assert celery_started == []
    assert revision_of(empty_postgres) is None


@pytest.mark.parametrize("auto_migrate", [True, False])
def test_a_worker_process_builds_its_context_the_same_way(
    empty_postgres: str, monkeypatch: pytest.MonkeyPatch, auto_migrate: bool
) -> None:
    # The forked pool process opens its own context on its first task.
    if auto_migrate:
        monkeypatch.setenv("TERRITORY_AUTO_MIGRATE", "true")
    monkeypatch.setattr(tasks, "_context", None)
    if auto_migrate:
        tasks.context().ledger.dispose()
        assert revision_of(empty_postgres) == head_revision()
    else:
        with pytest.raises(LedgerError, match=r"TERRITORY_AUTO_MIGRATE=true"):
            tasks.context()
        assert revision_of(empty_postgres) is None
