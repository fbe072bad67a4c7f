"""Driving the `territory` CLI against a ledger: a SQLite file, a clock the test moves, and a
CSV org (a copy of tests/golden/org) as the CRM."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

import worker.cli.service_calls as service_calls
from worker.cli import app
from worker.context import WorkerContext

GOLDEN_ORG = Path(__file__).resolve().parents[1] / "golden" / "org"
START = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)  # the golden org's as-of day


@dataclass
class Territory:
    """`territory ARGS` in this process, against one ledger, at the test's clock."""

    ledger_path: Path
    now: datetime = START

    def __call__(self, *args: str | Path, env: dict[str, str] | None = None) -> Result:
        result = CliRunner().invoke(app, [str(a) for a in args], env=env)
        # Every outcome is an exit status: an exception here would be a traceback for a user.
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            f"{args}: {result.exception!r}\n{result.output}"
        )
        return result

    def json(self, *args: str | Path) -> Any:
        """Run a command that prints JSON; it must succeed and print nothing else on stdout."""
        result = self(*args)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def clock(self) -> datetime:
        return self.now


def territory_at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Territory:
    """A `Territory` whose ledger is `tmp_path/ledger.sqlite3` and whose clock the test moves."""
    ledger_path = tmp_path / "ledger.sqlite3"
    cli = Territory(ledger_path)
    monkeypatch.setenv("TERRITORY_DATABASE_URL", f"sqlite:///{ledger_path}")
    opened = service_calls.open_context

    def at_test_clock(*args: Any, **kwargs: Any) -> WorkerContext:
        return opened(*args, clock=cli.clock, **kwargs)

    monkeypatch.setattr(service_calls, "open_context", at_test_clock)
    return cli


def copy_org(target: Path) -> Path:
    """A writable copy of the golden org: the CSV CRM a test syncs from and writes to."""
    shutil.copytree(GOLDEN_ORG, target, dirs_exist_ok=True)
    return target


def error_line(result: Result) -> str:
    """The one error line a failed command printed on stderr."""
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]
