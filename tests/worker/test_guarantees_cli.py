"""The same promises through the `territory` commands, with a CSV directory as the CRM:
`plan --source ledger` syncs in full first when the active revision reads a field the mirror
lacks, `plan --save` over `max_forced_share` holds the forced changes until `approve`, and
`ledger prune --older-than` forgets the email and name of owners gone that long."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.worker.cli_ledger import Territory, error_line
from worker.console import ExitCode
from worker.ledger import open_ledger
from worker.ledger.tables import mirror_owners

FORCED = {"departed", "orphaned", "hierarchy", "new"}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def sync_runs(territory: Territory) -> list[dict[str, Any]]:
    return [r for r in territory.json("runs", "--json") if r["kind"] == "sync"]


def test_plan_from_the_ledger_syncs_in_full_first_when_the_revision_reads_a_new_field(
    territory: Territory, org: Path
) -> None:
    assert territory("sync", "--source", f"csv:{org}").exit_code == 0
    assert territory("activate", org / "rules.yaml").exit_code == 0
    assert territory("plan", "--source", "ledger").exit_code == 0  # the first: in full
    synced = len(sync_runs(territory))
    assert territory("plan", "--source", "ledger").exit_code == 0
    assert len(sync_runs(territory)) == synced  # nothing missing: no sync before that plan
    # The next revision maps a CRM field the mirror was not synced with.
    edit(
        org / "rules.yaml", "\nregions:", "\nfields:\n  csv:\n    lifecycle: lifecycle\n\nregions:"
    )
    assert territory("activate", org / "rules.yaml").exit_code == 0

    result = territory("plan", "--source", "ledger")

    assert result.exit_code == 0, result.output
    assert "the mirror lacks fields rule revision" in result.stderr
    assert "a full sync of csv:" in result.stderr
    runs = sync_runs(territory)
    assert len(runs) == synced + 1
    assert runs[0]["counts"]["mode"] == "full"
    assert territory("plan", "--source", "ledger").exit_code == 0
    assert len(sync_runs(territory)) == synced + 1  # synced now


def test_plan_save_over_max_forced_share_holds_the_forced_changes_until_approved(
    territory: Territory, org: Path
) -> None:
    edit(org / "rules.yaml", "max_forced_share: 0.60", "max_forced_share: 0.01")
    assert territory("sync", "--source", f"csv:{org}").exit_code == 0
    assert territory("activate", org / "rules.yaml").exit_code == 0

    plan = territory("plan", "--source", "ledger", "--save")
    run = next(r for r in territory.json("runs", "--json") if r["kind"] == "plan")
    territory.advance(days=60)
    applied = territory("apply")
    rows = territory.json("changes", "--run", str(run["run_id"]), "--json")

    assert plan.exit_code == ExitCode.NEEDS_APPROVAL
    assert f"territory approve {run['run_id']}" in error_line(plan)
    assert applied.exit_code == 0, applied.output
    forced = [c for c in rows if c["reason"] in FORCED]
    assert forced
    assert {c["state"] for c in forced} == {"planned"}
    assert "applied" in {c["state"] for c in rows}  # the discretionary share went ahead

    assert territory("approve", str(run["run_id"]), "--as", "alice").exit_code == 0
    territory("apply")
    rows = territory.json("changes", "--run", str(run["run_id"]), "--json")
    assert {c["state"] for c in rows if c["reason"] in FORCED} == {"applied"}


def test_ledger_prune_forgets_the_email_and_name_of_owners_gone_longer_than_older_than(
    territory: Territory, org: Path
) -> None:
    assert territory("sync", "--source", f"csv:{org}").exit_code == 0
    owners_csv = org / "owners.csv"
    with owners_csv.open(encoding="utf-8", newline="") as stream:
        owners = list(csv.DictReader(stream))
    gone_at_first = {o["id"] for o in owners if o["active"] != "true"}
    leaver = next(o for o in owners if o["active"] == "true")
    leaver["active"] = "false"
    with owners_csv.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(owners[0]))
        writer.writeheader()
        writer.writerows(owners)
    territory.advance(days=10)
    assert territory("sync", "--source", f"csv:{org}").exit_code == 0
    territory.advance(days=25)  # the first inactive owners: 35 days; the leaver: 25

    kept = territory("ledger", "prune", "--older-than", "30")
    territory.advance(days=10)
    pruned = territory("ledger", "prune", "--older-than", "30")

    assert kept.exit_code == pruned.exit_code == 0
    assert kept.stdout.rstrip().endswith(
        f"forgot the email and name of {len(gone_at_first)} departed owner(s)"
    )
    assert pruned.stdout.rstrip().endswith("forgot the email and name of 1 departed owner(s)")
    ledger = open_ledger(f"sqlite:///{territory.ledger_path}")
    try:
        with ledger.read() as connection:
            people = {
                r.owner_id: (r.email, r.first_name, r.last_name)
                for r in connection.execute(sa.select(mirror_owners))
            }
    finally:
        ledger.dispose()
    for owner in owners:
        if owner["id"] in gone_at_first | {leaver["id"]}:
            assert people[owner["id"]] == (None, None, None)
        else:
            assert people[owner["id"]] == (owner["email"], owner["first_name"], owner["last_name"])
