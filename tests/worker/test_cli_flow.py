"""The ledger commands as a user lives them, against a CSV directory playing the CRM: sync,
activate, plan and record, dry run and apply (one note per change), re-plan, rollback, pause,
notice of a departure, approval over the rail, cancel, prune."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.worker.cli_ledger import Territory, copy_org, error_line
from worker.console import ExitCode

CHANGE_FIELDS = {
    "change_id",
    "run_id",
    "account_id",
    "from_owner_id",
    "to_owner_id",
    "reason",
    "effective_date",
    "state",
    "attempts",
    "error",
}

ACTIVE_GOLDEN_OWNERS = {"u01", "u02", "u03", "u04", "u05", "u06", "u07", "u09", "u10"}


def owners_in(org: Path) -> dict[str, str]:
    """account id -> owner id as the CSV CRM holds it now."""
    with (org / "companies.csv").open(encoding="utf-8", newline="") as stream:
        return {row["id"]: row["owner_id"] for row in csv.DictReader(stream)}


def notes_per_account(org: Path) -> Counter[str]:
    path = org / "notes.csv"
    if not path.exists():
        return Counter()
    with path.open(encoding="utf-8", newline="") as stream:
        return Counter(row["account_id"] for row in csv.DictReader(stream))


def newest_run(territory: Territory, kind: str) -> dict[str, Any]:
    return next(r for r in territory.json("runs", "--json") if r["kind"] == kind)


def planned(territory: Territory, org: Path, *extra: str) -> dict[str, Any]:
    """Sync the org, activate its rules, record a plan; return the plan run."""
    assert territory("sync", "--source", f"csv:{org}").exit_code == 0
    assert territory("activate", org / "rules.yaml").exit_code == 0
    result = territory("plan", "--source", "ledger", "--save", *extra)
    assert result.exit_code in (0, ExitCode.NEEDS_APPROVAL), result.output
    return newest_run(territory, "plan")


def test_a_sample_org_synced_activated_planned_and_applied_as_the_dry_run_said(
    territory: Territory, tmp_path: Path
) -> None:
    org = tmp_path / "sample"
    assert territory("sample", "--accounts", "300", "--reps", "8", "--out", org).exit_code == 0

    synced = territory("sync", "--source", f"csv:{org}")
    activated = territory("activate", org / "rules.yaml")
    plan = territory("plan", "--source", "ledger", "--save", "--format", "json")
    runs = territory.json("runs", "--json")
    dry = territory.json("apply", "--dry-run", "--json")
    real = territory.json("apply", "--json")

    assert synced.stdout.startswith(f"synced csv:{org} (run 1, full): 300 companies stored")
    assert "activated revision" in activated.stdout
    assert plan.exit_code == 0, plan.stderr
    assert plan.stdout.startswith("{")  # the plan document, alone on stdout
    assert "a full sync of" in plan.stderr  # the revision reads fields the first sync did not
    assert [r["kind"] for r in runs] == ["plan", "sync", "sync"]
    assert runs[0]["counts"]["new"] == runs[0]["counts"]["changes"] > 0
    assert runs[0]["rule_revision"] == "sample-20270104-s7"
    assert dry["dry_run"] is True
    assert real["dry_run"] is False
    assert dry.keys() == real.keys()
    assert [(c["change_id"], c["action"]) for c in dry["changes"]] == [
        (c["change_id"], c["action"]) for c in real["changes"]
    ]
    assert all(c.keys() == CHANGE_FIELDS | {"action"} for c in real["changes"])
    assert real["counts"] == {"applied": len(dry["changes"])}
    after = owners_in(org)
    assert all(after[c["account_id"]] == (c["to_owner_id"] or "") for c in real["changes"])
    assert notes_per_account(org) == Counter(c["account_id"] for c in real["changes"])


def test_after_apply_a_second_sync_and_plan_propose_nothing_new(
    territory: Territory, org: Path
) -> None:
    planned(territory, org)
    applied = territory.json("apply", "--json")["changes"]

    assert territory("sync").exit_code == 0
    again = territory("plan", "--source", "ledger", "--save")
    second = newest_run(territory, "plan")

    assert applied
    assert again.exit_code == 0
    assert second["counts"]["new"] == 0
    assert territory.json("apply", "--json")["changes"] == []
    assert max(notes_per_account(org).values()) == 1


def test_a_plan_right_after_apply_proposes_nothing_new_and_no_note_is_posted_twice(
    territory: Territory, org: Path
) -> None:
    planned(territory, org)
    applied = territory.json("apply", "--json")["changes"]

    territory("plan", "--source", "ledger", "--save")  # no sync in between

    assert applied
    assert newest_run(territory, "plan")["counts"]["new"] == 0
    assert territory.json("apply", "--json")["changes"] == []
    assert max(notes_per_account(org).values()) == 1


def test_changes_lists_each_change_with_the_documented_fields_and_filters(
    territory: Territory, org: Path
) -> None:
    run = planned(territory, org)
    territory("apply")

    every = territory.json("changes", "--json")
    applied = territory.json("changes", "--state", "applied", "--json")
    one_account = territory.json("changes", "--account", every[0]["account_id"], "--json")
    of_run = territory.json("changes", "--run", str(run["run_id"]), "--json", "--limit", "0")
    first_two = territory("changes", "--json", "--limit", "2")

    assert every
    assert all(row.keys() == CHANGE_FIELDS for row in every)
    assert {row["state"] for row in applied} == {"applied"}
    assert {row["account_id"] for row in one_account} == {every[0]["account_id"]}
    assert {row["run_id"] for row in of_run} == {run["run_id"]}
    assert len(of_run) == run["counts"]["changes"]
    assert [r["change_id"] for r in every[:2]] == [
        r["change_id"] for r in json.loads(first_two.stdout)
    ]
    assert "showing the first 2 changes" in first_two.stderr


def test_rollback_writes_the_run_back_as_a_run_of_its_own_and_the_next_plan_keeps_it(
    territory: Territory, org: Path
) -> None:
    before = owners_in(org)
    run = planned(territory, org)
    applied = territory.json("apply", "--json")["changes"]

    result = territory("rollback", str(run["run_id"]), "--as", "revops")
    back = newest_run(territory, "rollback")
    undo = territory.json("changes", "--run", str(back["run_id"]), "--json", "--limit", "0")
    undone = territory.json("apply", "--json")["changes"]
    territory("sync")
    territory("plan", "--source", "ledger", "--save")
    replan = newest_run(territory, "plan")
    proposed = territory.json("changes", "--run", str(replan["run_id"]), "--json", "--limit", "0")
    runs = {r["run_id"]: r for r in territory.json("runs", "--json")}
    restored = {c["account_id"] for c in undone if c["state"] == "applied"}

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"rolled back run {run['run_id']} as revops:")
    assert runs[run["run_id"]]["state"] == "rolled_back"
    assert back["actor"] == "revops"
    # Back to a rep who has left is a write the CRM refuses: those accounts keep their owner.
    left_behind = {
        c["account_id"]
        for c in applied
        if c["from_owner_id"] and c["from_owner_id"] not in ACTIVE_GOLDEN_OWNERS
    }
    assert left_behind
    assert f"{len(left_behind)} account(s) keep their new owner" in " ".join(result.stdout.split())
    assert {u["account_id"] for u in undo} == {c["account_id"] for c in applied} - left_behind
    assert not {u["change_id"] for u in undo} & {c["change_id"] for c in applied}
    assert restored
    assert {a: owners_in(org)[a] for a in restored} == {a: before[a] for a in restored}
    # Pinned to their previous owners: those still active keep them (an account rolled back to
    # no owner is forced to move again: only active owners own accounts).
    kept = {a for a in restored if before[a] and before[a] in ACTIVE_GOLDEN_OWNERS}
    assert kept
    assert not kept & {c["account_id"] for c in proposed}


def test_pause_stops_apply_until_resume(territory: Territory, org: Path) -> None:
    planned(territory, org)
    before = owners_in(org)

    paused = territory("pause", "--as", "alice")
    refused = territory("apply")
    dry = territory("apply", "--dry-run", "--json")
    territory("resume")
    applied = territory.json("apply", "--json")

    assert paused.exit_code == 0
    assert refused.exit_code == ExitCode.REFUSED
    assert "write-back is paused (alice at" in error_line(refused)
    assert owners_in(org) != before  # the later apply wrote
    assert dry.exit_code == 0
    assert "write-back is paused" in dry.stderr
    assert [c["change_id"] for c in applied["changes"]] == [
        c["change_id"] for c in json.loads(dry.stdout)["changes"]
    ]


def test_notice_a_week_ahead_moves_nothing_before_that_day_and_the_whole_book_on_it(
    territory: Territory, org: Path
) -> None:
    planned(territory, org)
    territory("apply")
    book = sorted(a for a, owner in owners_in(org).items() if owner == "u02")

    notice = territory("depart", "ben@example.com", "--effective", "2027-01-11", "--as", "hr")
    departure = newest_run(territory, "departure")
    territory.advance(days=6)
    territory("apply")
    on_the_eve = owners_in(org)
    territory.advance(days=1)
    territory("apply")
    on_the_day = owners_in(org)

    assert notice.exit_code == 0, notice.output
    assert "ben@example.com (owner u02) leaves on 2027-01-11" in notice.stdout
    assert departure["actor"] == "hr"
    assert book
    assert [on_the_eve[a] for a in book] == ["u02"] * len(book)
    assert "u02" not in on_the_day.values()


def test_a_rep_deactivated_in_the_crm_has_their_book_moved_by_the_next_sync(
    territory: Territory, org: Path
) -> None:
    planned(territory, org)
    territory("apply")
    owners = (org / "owners.csv").read_text(encoding="utf-8")
    (org / "owners.csv").write_text(
        owners.replace(
            "u03,chloe@example.com,Chloe,Chen,true", "u03,chloe@example.com,Chloe,Chen,false"
        ),
        encoding="utf-8",
    )

    synced = territory("sync")
    departure = newest_run(territory, "departure")
    moves = territory.json("changes", "--run", str(departure["run_id"]), "--json")
    # A rep gaining an account while out of office takes it on their return (docs/engine.md).
    territory.now = max(datetime.fromisoformat(f"{c['effective_date']}T09:00+00:00") for c in moves)
    territory("apply")
    summary = newest_run(territory, "departure")["summary"]

    assert synced.exit_code == 0, synced.output
    assert "1 owner(s) deactivated in the CRM: departure run" in synced.stdout
    assert moves
    # What the alerts will send: who left, the moves, and what became of them.
    assert summary["departed"] == [{"owner_id": "u03", "email": "chloe@example.com"}]
    assert {c["change_id"] for c in moves} <= set(summary["change_ids"])
    assert summary["outcome"]["changes_by_state"] == {"applied": len(summary["change_ids"])}
    assert summary["outcome"]["conflicts"] == []
    assert "u03" not in owners_in(org).values()


def over_the_rail(org: Path) -> None:
    rules = org / "rules.yaml"
    text = rules.read_text(encoding="utf-8")
    rules.write_text(
        text.replace("max_share_per_run: 0.25", "max_share_per_run: 0.01"), encoding="utf-8"
    )


def test_over_the_rail_forced_changes_apply_and_discretionary_ones_wait_for_approve(
    territory: Territory, org: Path
) -> None:
    over_the_rail(org)
    assert territory("sync", "--source", f"csv:{org}").exit_code == 0
    territory("activate", org / "rules.yaml")

    plan = territory("plan", "--source", "ledger", "--save")
    run = newest_run(territory, "plan")
    territory("apply")
    waiting = territory.json("changes", "--run", str(run["run_id"]), "--state", "planned", "--json")
    applied = territory.json("changes", "--run", str(run["run_id"]), "--state", "applied", "--json")
    approved = territory("approve", str(run["run_id"]), "--as", "alice")
    again = territory("approve", str(run["run_id"]))
    runs = {r["run_id"]: r for r in territory.json("runs", "--json")}

    assert plan.exit_code == ExitCode.NEEDS_APPROVAL
    assert f"wait for `territory approve {run['run_id']}`" in error_line(plan)
    assert "the forced changes go ahead" in error_line(plan)
    assert run["state"] == "needs_approval"
    assert waiting
    assert not {c["reason"] for c in waiting} & {"departed", "orphaned", "hierarchy"}
    assert applied  # the forced share went ahead
    assert approved.exit_code == 0
    assert approved.stdout.startswith(f"approved {len(waiting)} change(s) of run")
    assert runs[run["run_id"]]["state"] == "approved"
    assert again.exit_code == ExitCode.REFUSED
    assert "has no changes waiting for approval" in error_line(again)


def test_declined_changes_never_apply(territory: Territory, org: Path) -> None:
    over_the_rail(org)
    run = planned(territory, org)
    declined = territory("decline", str(run["run_id"]), "--as", "bob")
    territory.advance(days=90)
    territory("apply")

    rows = territory.json("changes", "--run", str(run["run_id"]), "--json")

    assert declined.exit_code == 0
    assert "they never apply" in declined.stdout
    assert {c["state"] for c in rows if c["reason"] in ("rule_change", "rebalance")} == {"declined"}


def test_a_plan_within_the_rail_has_nothing_to_approve(territory: Territory, org: Path) -> None:
    run = planned(territory, org)

    result = territory("approve", str(run["run_id"]))

    assert run["state"] == "done"
    assert result.exit_code == ExitCode.REFUSED
    assert "has no changes waiting for approval (state done)" in error_line(result)


def test_a_plan_over_the_rail_without_save_records_nothing(territory: Territory, org: Path) -> None:
    over_the_rail(org)
    territory("sync", "--source", f"csv:{org}")
    territory("activate", org / "rules.yaml")
    territory("sync", "--full")

    result = territory("plan", "--source", "ledger")

    assert result.exit_code == ExitCode.NEEDS_APPROVAL
    assert "Nothing was recorded" in error_line(result)
    assert [r["kind"] for r in territory.json("runs", "--json")] == ["sync", "sync"]


def test_cancel_takes_a_pending_change_and_refuses_an_applied_one(
    territory: Territory, org: Path
) -> None:
    planned(territory, org)
    pending = [c for c in territory.json("changes", "--json") if c["effective_date"] > "2027-01-04"]
    target = pending[0]

    cancelled = territory("cancel", target["change_id"], "--as", "carol")
    territory.advance(days=60)
    territory("apply")
    applied = territory.json("changes", "--state", "applied", "--json")
    refused = territory("cancel", applied[0]["change_id"])

    assert cancelled.exit_code == 0
    assert cancelled.stdout.startswith(f"cancelled change {target['change_id']}")
    assert target["change_id"] not in {c["change_id"] for c in applied}
    assert refused.exit_code == ExitCode.REFUSED
    assert "is applied: only planned, approved or due changes can be cancelled" in error_line(
        refused
    )


def test_a_ledger_bound_to_one_csv_directory_refuses_another(
    territory: Territory, org: Path, tmp_path: Path
) -> None:
    other = copy_org(tmp_path / "other")
    territory("sync", "--source", f"csv:{org}")

    result = territory("sync", "--source", f"csv:{other}")

    assert result.exit_code == ExitCode.REFUSED
    assert "this ledger belongs to csv account" in error_line(result)
    assert [r["kind"] for r in territory.json("runs", "--json")] == ["sync"]


def test_prune_removes_finished_rows_older_than_the_cut_off(
    territory: Territory, org: Path
) -> None:
    planned(territory, org)
    applied = territory.json("apply", "--json")["changes"]
    territory.advance(days=31)

    kept = territory("ledger", "prune", "--older-than", "60")
    pruned = territory("ledger", "prune", "--older-than", "30")

    assert kept.stdout.startswith("pruned rows older than 60 day(s): 0 change(s)")
    assert pruned.stdout.startswith(f"pruned rows older than 30 day(s): {len(applied)} change(s)")
    assert territory.json("changes", "--state", "applied", "--json") == []
