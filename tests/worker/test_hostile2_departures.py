"""A departure run cancels the open changes that would hand the departed rep an account.

Before: the departure run (forced changes only) left a pending rebalance, release or rule change
*to* the departed rep open and approved; the apply that follows a departure then wrote an
inactive owner (HubSpot refused it with INVALID_OWNER_ID, the CSV source stored it), before any
plan could cancel it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from tests.worker.cli_ledger import Territory
from tests.worker.test_cli_flow import newest_run, owners_in, planned


def deactivate(org: Path, line: str) -> None:
    owners = (org / "owners.csv").read_text(encoding="utf-8")
    assert line + ",true" in owners
    (org / "owners.csv").write_text(owners.replace(line + ",true", line + ",false"), "utf-8")


def test_a_deactivated_rep_is_handed_no_account_by_a_change_planned_before_they_left(
    territory: Territory, org: Path
) -> None:
    planned(territory, org)
    territory("apply")
    to_eve = [
        c
        for c in territory.json("changes", "--state", "approved", "--json", "--limit", "0")
        if c["to_owner_id"] == "u05"
    ]
    deactivate(org, "u05,eve@example.com,Eve,Evans")

    synced = territory("sync")
    departure = newest_run(territory, "departure")
    states = {
        c["change_id"]: c["state"]
        for c in territory.json("changes", "--json", "--limit", "0")
        if c["to_owner_id"] == "u05"
    }
    # Past every effective date the departure and the earlier plan gave.
    territory.now = datetime.fromisoformat("2027-03-01T09:00+00:00")
    territory("apply")

    assert to_eve  # discretionary moves to u05, effective after the first apply
    assert synced.exit_code == 0, synced.output
    assert {c["change_id"]: states[c["change_id"]] for c in to_eve} == {
        c["change_id"]: "cancelled" for c in to_eve
    }
    assert departure["summary"]["cancelled_change_ids"] == sorted(c["change_id"] for c in to_eve)
    assert territory.json("changes", "--state", "failed", "--json") == []
    assert "u05" not in owners_in(org).values()


def test_notice_in_advance_cancels_the_moves_to_the_rep_effective_from_their_last_day(
    territory: Territory, org: Path
) -> None:
    planned(territory, org)
    territory("apply")
    to_eve = [
        c
        for c in territory.json("changes", "--state", "approved", "--json", "--limit", "0")
        if c["to_owner_id"] == "u05"
    ]
    last_day = min(c["effective_date"] for c in to_eve)

    noticed = territory("depart", "eve@example.com", "--effective", last_day)
    rows = territory.json("changes", "--json", "--limit", "0")
    states = {c["change_id"]: c["state"] for c in rows}

    assert noticed.exit_code == 0, noticed.output
    assert {states[c["change_id"]] for c in to_eve} == {"cancelled"}
