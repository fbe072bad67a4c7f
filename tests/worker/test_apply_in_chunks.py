"""Applying chunk after chunk, as the worker's task does, repeats no work per chunk."""

from __future__ import annotations

import pytest

from rules.loader import LoadedRules
from tests.worker.conftest import Clock
from worker import planning
from worker.context import WorkerContext
from worker.planning import plan_from_ledger
from worker.steps import apply_step, sync_step


def test_applying_chunk_after_chunk_parses_the_active_revision_at_most_once(
    active: WorkerContext, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync_step(active, spec="hubspot", full=True)
    plan_from_ledger(active, save=True)
    clock.advance(days=60)  # past every notice period
    active.settings = active.settings.model_copy(update={"apply_chunk": 2})
    parsed: list[str] = []
    parse = planning.load_rules

    def counted(text: str, file: str) -> LoadedRules:
        parsed.append(file)
        return parse(text, file)

    monkeypatch.setattr(planning, "load_rules", counted)
    report, more = apply_step(active)
    assert not more
    assert len(report.rows) > 3 * 2, "the golden org's first plan fills several chunks"
    assert {r.state for r in report.rows} == {"applied"}
    assert len(parsed) <= 1
