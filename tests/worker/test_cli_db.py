"""`territory db upgrade` and `territory ledger prune` on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres_server import throwaway_database
from tests.worker.cli_ledger import Territory, error_line
from worker.console import ExitCode
from worker.ledger.migrations import head_revision


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_ledger(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """TERRITORY_DATABASE_URL set to a database with no tables yet, on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
        monkeypatch.setenv("TERRITORY_DATABASE_URL", url)
        yield url
        return
    with throwaway_database(request.getfixturevalue("postgres_admin_url")) as url:
        monkeypatch.setenv("TERRITORY_DATABASE_URL", url)
        yield url


def test_db_upgrade_migrates_an_empty_ledger_once_and_then_finds_it_current(
    empty_ledger: str, tmp_path: Path
) -> None:
    territory = Territory(tmp_path / "unused")

    first = territory("db", "upgrade")
    second = territory("db", "upgrade")

    assert first.exit_code == second.exit_code == 0
    assert first.stdout.endswith(f"upgraded from an empty database to {head_revision()}\n")
    assert second.stdout.endswith(f"already at migration {head_revision()}\n")
    assert territory.json("runs", "--json") == []


def test_a_postgresql_ledger_not_migrated_yet_says_to_run_db_upgrade(
    postgres_admin_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    territory = Territory(tmp_path / "unused")
    with throwaway_database(postgres_admin_url) as url:
        monkeypatch.setenv("TERRITORY_DATABASE_URL", url)

        result = territory("runs")

    assert result.exit_code == ExitCode.REFUSED
    assert "is empty: run `territory db upgrade` first" in error_line(result)


def test_ledger_prune_on_an_empty_ledger_removes_nothing(empty_ledger: str, tmp_path: Path) -> None:
    territory = Territory(tmp_path / "unused")
    territory("db", "upgrade")

    result = territory("ledger", "prune", "--older-than", "30")

    assert result.exit_code == 0
    assert result.stdout.startswith("pruned rows older than 30 day(s): 0 change(s)")
