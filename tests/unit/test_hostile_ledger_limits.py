"""A `--limit` larger than any ledger means "all": one past SQL's 64-bit limit was an
internal error ("Python int too large to convert to SQLite INTEGER")."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.cli_runs import run

HUGE = str(10**20)


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    database = tmp_path / "ledger.sqlite3"
    monkeypatch.setenv("TERRITORY_DATABASE_URL", f"sqlite:///{database}")
    upgraded = run("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    return database


@pytest.mark.usefixtures("ledger")
@pytest.mark.parametrize("command", ["runs", "changes"])
def test_a_limit_past_64_bits_lists_everything(command: str) -> None:
    result = run(command, "--limit", HUGE)

    assert result.exit_code == 0, result.output
    assert "internal error" not in result.output
