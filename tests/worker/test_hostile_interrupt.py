"""A sync stopped part-way by Ctrl-C (or anything else that is not a CRM error) is recorded as
`failed` with why, and keeps its pages: the next sync resumes. Before, its run stayed `running`
forever, as if the sync were still under way."""

from __future__ import annotations

from pathlib import Path

import pytest

import worker.sync
from tests.worker.cli_ledger import Territory, copy_org
from worker.console import ExitCode


def test_a_sync_interrupted_part_way_is_recorded_failed_and_the_next_one_finishes(
    territory: Territory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = copy_org(tmp_path / "org")

    def stopped(*_: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(worker.sync, "_sync_archived", stopped)
        first = territory("sync", "--source", f"csv:{org}")
    again = territory("sync")
    runs = territory.json("runs", "--json")

    assert first.exit_code == ExitCode.INTERRUPTED, first.output
    assert again.exit_code == 0, again.output
    assert [(r["kind"], r["state"]) for r in runs] == [("sync", "done"), ("sync", "failed")]
    assert runs[1]["error"]["class"] == "Interrupted"
    assert "the next sync resumes" in runs[1]["error"]["message"]
    assert runs[1]["finished_at"] is not None
