"""`territory apply` says why each conflict happened: an account locked in the CRM
(`territory_lock`) is not "an owner changed by hand", which it called every conflict."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.worker.cli_ledger import Territory
from tests.worker.test_cli_flow import planned


def lock_in_csv(org: Path, account_id: str) -> None:
    path = org / "companies.csv"
    with path.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    fields = [*rows[0].keys(), "territory_lock"]
    for row in rows:
        row["territory_lock"] = "true" if row["id"] == account_id else ""
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def test_a_lock_set_after_the_plan_is_reported_as_a_lock_not_a_hand_edit(
    territory: Territory, org: Path
) -> None:
    planned(territory, org)
    due = territory.json("apply", "--dry-run", "--json")["changes"]
    lock_in_csv(org, due[0]["account_id"])

    result = territory("apply")
    conflicts = territory.json("changes", "--state", "conflict", "--json")

    assert result.exit_code == 0, result.output
    assert [c["error"]["code"] for c in conflicts] == ["LOCKED"]
    assert "1 conflict(s): 1 account(s) locked in the CRM (territory_lock)" in result.stderr
    assert "changed by hand" not in result.stderr
