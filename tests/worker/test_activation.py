"""Activating a revision: validated against what the bound CRM can read, recorded once."""

from __future__ import annotations

import csv
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rules.errors import RuleError
from tests.worker.conftest import GOLDEN, Clock
from worker.activation import activate
from worker.context import WorkerContext
from worker.ledger import Ledger
from worker.ledger.revisions import list_revisions
from worker.settings import Settings
from worker.steps import sync_step


def csv_context(ledger: Ledger, org: Path) -> tuple[WorkerContext, str]:
    ctx = WorkerContext(
        settings=Settings(database_url=None),
        ledger=ledger,
        actor="t",
        clock=Clock(datetime(2027, 1, 4, 9, 0, tzinfo=UTC)),
    )
    spec = f"csv:{org}"
    sync_step(ctx, spec=spec, full=True)
    return ctx, spec


def drop_column(path: Path, column: str) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    fields = [f for f in rows[0] if f != column]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def test_a_revision_whose_rows_test_a_field_the_crm_cannot_feed_is_refused_unrecorded(
    ledger: Ledger, tmp_path: Path
) -> None:
    org = tmp_path / "org"
    shutil.copytree(GOLDEN, org)
    drop_column(org / "companies.csv", "employees")
    ctx, _ = csv_context(ledger, org)
    with pytest.raises(RuleError) as refused:
        activate(ctx, "rules.yaml", (GOLDEN / "rules.yaml").read_text(encoding="utf-8"))
    assert any("employees" in str(issue) for issue in refused.value.issues)
    with ledger.read() as connection:
        assert list_revisions(connection) == []


def test_the_same_file_activated_twice_is_recorded_once(ledger: Ledger, tmp_path: Path) -> None:
    org = tmp_path / "org"
    shutil.copytree(GOLDEN, org)
    ctx, _ = csv_context(ledger, org)
    text = (GOLDEN / "rules.yaml").read_text(encoding="utf-8")
    first = activate(ctx, "rules.yaml", text)
    second = activate(ctx, "rules.yaml", text)
    assert first.revision_id is not None
    assert second.unchanged
    assert second.revision_id is None
    with ledger.read() as connection:
        assert len(list_revisions(connection)) == 1
