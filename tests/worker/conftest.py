"""Worker fixtures: a ledger (SQLite and PostgreSQL), a clock tests move, an in-memory CRM."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.files import load_csv_directory
from rules.loader import load_rules
from tests.worker.cli_ledger import Territory, copy_org, territory_at
from tests.worker.fake_crm import FakeCrm
from worker.activation import activate
from worker.context import WorkerContext
from worker.ledger import Ledger
from worker.settings import Settings

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "org"


@dataclass
class Clock:
    """A clock tests move by hand."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2027, 1, 4, 9, 0, tzinfo=UTC))


@pytest.fixture
def golden_rules_text() -> str:
    return (GOLDEN / "rules.yaml").read_text(encoding="utf-8")


@pytest.fixture
def crm(golden_rules_text: str) -> FakeCrm:
    loaded = load_rules(golden_rules_text, "rules.yaml")
    org = load_csv_directory(GOLDEN, loaded.rule)
    return FakeCrm.from_snapshot(org.snapshot.accounts, org.snapshot.owners)


@pytest.fixture
def ctx(ledger: Ledger, clock: Clock, crm: FakeCrm) -> WorkerContext:
    settings = Settings(database_url=None, lease_seconds=60, max_attempts=3)
    return WorkerContext(
        settings=settings,
        ledger=ledger,
        actor="tester@host",
        clock=clock,
        sleep=lambda _: None,
        connector_factory=lambda spec, rule: crm,
    )


@pytest.fixture
def active(ctx: WorkerContext, golden_rules_text: str) -> WorkerContext:
    """A context whose ledger holds the golden rules as its active revision."""
    activate(ctx, "rules.yaml", golden_rules_text)
    return ctx


# The `territory` command in-process on a ledger of its own, and the golden org as CSV: the
# CLI tests' two fixtures.
@pytest.fixture
def territory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Territory:
    return territory_at(tmp_path, monkeypatch)


@pytest.fixture
def org(tmp_path: Path) -> Path:
    return copy_org(tmp_path / "org")
