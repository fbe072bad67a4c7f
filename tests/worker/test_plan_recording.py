"""Recording a plan in the ledger costs work in proportion to its changes, not their square."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from worker.context import WorkerContext
from worker.ledger import outbox as ob
from worker.planning import plan_from_ledger
from worker.steps import sync_step


class ScannedIds(tuple[str, ...]):
    """Change ids that count how often they are scanned."""

    scans = 0

    def __iter__(self) -> Iterator[str]:
        type(self).scans += 1
        return super().__iter__()


def test_a_saved_plan_scans_its_inserted_changes_once_not_once_per_change(
    active: WorkerContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync_step(active, spec="hubspot", full=True)
    monkeypatch.setattr(ScannedIds, "scans", 0)
    record = ob.record_changes

    def counted(*args: Any, **options: Any) -> ob.Recorded:
        recorded = record(*args, **options)
        return dataclasses.replace(recorded, inserted=ScannedIds(recorded.inserted))

    monkeypatch.setattr(ob, "record_changes", counted)
    run = plan_from_ledger(active, save=True)
    assert len(run.changes) > 3, "the golden org's first plan has changes"
    assert run.recorded is not None
    assert len(run.recorded.inserted) == len(run.changes)
    assert ScannedIds.scans <= 2
