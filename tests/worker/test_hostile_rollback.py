"""`territory rollback RUN` undoes what RUN did and nothing else, and does not set up the next
plan to redo it. Before: a sync run "rolled back" recorded an empty rollback run and marked the
sync `rolled_back`; the pending changes a rollback cancelled were proposed again, with new ids,
by the next plan; and an account whose previous owner had left was written back to that owner,
which HubSpot and Salesforce refuse (the change failed with VALIDATION_ERROR)."""

from __future__ import annotations

from pathlib import Path

from tests.worker.cli_ledger import Territory, error_line
from tests.worker.test_cli_flow import ACTIVE_GOLDEN_OWNERS, newest_run, planned
from worker.console import ExitCode


def test_a_sync_run_has_nothing_to_roll_back_and_is_left_as_it_was(
    territory: Territory, org: Path
) -> None:
    planned(territory, org)
    sync = newest_run(territory, "sync")
    before = territory.json("runs", "--json")

    result = territory("rollback", str(sync["run_id"]))

    assert result.exit_code == ExitCode.REFUSED, result.output
    assert f"run {sync['run_id']} is a sync" in error_line(result)
    assert territory.json("runs", "--json") == before


def test_a_plan_that_only_kept_open_changes_has_nothing_of_its_own_to_roll_back(
    territory: Territory, org: Path
) -> None:
    planned(territory, org)
    territory("plan", "--source", "ledger", "--save")
    again = newest_run(territory, "plan")
    before = territory.json("runs", "--json")

    result = territory("rollback", str(again["run_id"]))

    assert again["counts"]["new"] == 0
    assert result.exit_code == ExitCode.REFUSED, result.output
    assert "nothing to roll back" in error_line(result)
    assert territory.json("runs", "--json") == before


def test_after_a_rollback_the_next_plan_does_not_redo_the_changes_it_cancelled(
    territory: Territory, org: Path
) -> None:
    run = planned(territory, org)
    territory.json("apply", "--json")
    waiting = territory.json(
        "changes", "--run", str(run["run_id"]), "--state", "approved", "--json"
    )

    result = territory("rollback", str(run["run_id"]))
    territory.json("apply", "--json")
    territory("sync")
    territory("plan", "--source", "ledger", "--save")
    replan = newest_run(territory, "plan")
    proposed = territory.json("changes", "--run", str(replan["run_id"]), "--json", "--limit", "0")

    assert waiting  # future-dated changes the rollback cancels
    assert result.exit_code == 0, result.output
    assert f"{len(waiting)} pending change(s) cancelled" in result.stdout
    redone = {c["account_id"] for c in proposed} & {c["account_id"] for c in waiting}
    moved_from_active = {
        c["account_id"] for c in waiting if c["from_owner_id"] in ACTIVE_GOLDEN_OWNERS
    }
    assert moved_from_active
    assert not redone & moved_from_active
