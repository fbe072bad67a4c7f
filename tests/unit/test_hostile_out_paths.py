"""`plan --source ledger --out` never writes a file the embedded ledger lives by, even one that
is absent between commands: SQLite reads a `-journal` it finds as a hot journal (every command
then stopped with 'database is locked'), and a plan over the worker's lock file let a second
`territory worker` start on the same SQLite ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.cli_runs import run


@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("territory.sqlite3-journal", "the ledger's database (territory.sqlite3-journal)"),
        ("territory.sqlite3-wal", "the ledger's database (territory.sqlite3-wal)"),
        ("territory.worker-lock", "the ledger's worker lock (territory.worker-lock)"),
    ],
)
def test_plan_from_the_ledger_never_writes_the_ledgers_side_files_even_when_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, what: str
) -> None:
    database = tmp_path / "territory.sqlite3"
    monkeypatch.setenv("TERRITORY_DATABASE_URL", f"sqlite:///{database}")
    assert run("db", "upgrade").exit_code == 0
    (tmp_path / "link").symlink_to(tmp_path)

    for out in (tmp_path / name, tmp_path / "link" / name):
        (tmp_path / name).unlink(missing_ok=True)
        result = run("plan", "--source", "ledger", "--out", out)

        assert result.exit_code == 2, result.output
        assert f"{out}: is {what} this command reads" in result.stderr
        side_file = tmp_path / name  # SQLite itself may make it (the WAL): never the plan
        assert not side_file.exists() or not side_file.read_bytes().startswith(b"{")
    assert run("runs").exit_code == 0
