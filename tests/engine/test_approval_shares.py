"""Every owner change counts toward exactly one approval share, forced or discretionary.

Moves to or from a holding owner are discretionary unless their cause is forced (an ineligible
owner); a hierarchy change counts in its parent's share; named-account changes are forced.
Unless a test says otherwise, team `sales` is o1 and o2 and every account is a fit-A, hot NA
prospect (tests/engine/factories.py).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rules.plan import Change, Plan
from rules.reasons import SHARE_OF_REASON, ChangeReason, Share, change_share
from tests.engine.factories import (
    AS_OF,
    make_account,
    make_accounts,
    make_owner,
    named,
    plan,
    row,
    rule_text,
    rules,
    team,
)
from worker.cli import app

# The reasons whose share depends on the change's cause rather than on the reason alone.
CAUSE_DECIDES = {ChangeReason.HIERARCHY, ChangeReason.UNASSIGNED}


def the_change(result: Plan, account_id: str) -> Change:
    return next(c for c in result.changes if c.account_id == account_id)


@pytest.mark.parametrize("reason", list(ChangeReason))
def test_every_change_reason_counts_in_exactly_one_share_whatever_its_cause(
    reason: ChangeReason,
) -> None:
    shares = {change_share(reason, forced_cause=cause) for cause in (True, False)}

    assert shares <= set(Share)
    if reason in CAUSE_DECIDES:
        assert shares == set(Share)
        assert SHARE_OF_REASON[reason] is None
    else:
        assert len(shares) == 1


def test_named_and_owner_status_reasons_are_forced_and_notice_reasons_discretionary() -> None:
    forced = {r for r in ChangeReason if SHARE_OF_REASON[r] is Share.FORCED}
    discretionary = {r for r in ChangeReason if SHARE_OF_REASON[r] is Share.DISCRETIONARY}

    assert forced == {"new", "orphaned", "departed", "ineligible_owner"} | {
        "named_account",
        "named_owner_inactive",
    }
    assert discretionary == {"rebalance", "rule_change", "named_expired", "released"}


PARKING = [
    row("parked", when={"name": {"in": ["Company a001", "Company a002"]}}, watchlist=True,
        team="sales", holding_owner="q1"),
    row("everyone", team="sales"),
]  # fmt: skip


def test_parking_eligible_owners_accounts_on_a_holding_owner_is_discretionary() -> None:
    book = [make_account(f"a{k:03d}", owner_id="o1" if k % 2 else "o2") for k in range(1, 11)]
    result = plan(rules(rows=PARKING), book, [make_owner(o) for o in ("o1", "o2", "q1")])

    assert [(c.account_id, c.reason, c.share) for c in result.changes] == [
        ("a001", "unassigned", "discretionary"),
        ("a002", "unassigned", "discretionary"),
    ]
    assert result.movement_share == 0.2
    assert result.approval["needs_approval"] is True  # above max_share_per_run 0.10


def test_parking_an_ineligible_owners_account_is_forced() -> None:
    accounts = [make_account("a001", owner_id="o9"), *make_accounts("b", 9, owner_id="o1")]
    owners = [make_owner(o) for o in ("o1", "o2", "q1", "o9")]  # o9 is in no team
    result = plan(rules(rows=PARKING), accounts, owners)

    change = the_change(result, "a001")
    assert (change.reason, change.to_owner_id, change.share) == ("unassigned", "q1", "forced")


def test_an_account_released_from_its_holding_owner_is_discretionary_and_at_once() -> None:
    # Warm again, the account leaves the watchlist's holding owner for a rep.
    accounts = [make_account("a001", owner_id="q1"), *make_accounts("b", 4, owner_id="o1")]
    loaded = rules(
        rows=[
            row("cold", when={"intent": {"eq": "cold"}}, watchlist=True, team="sales",
                holding_owner="q1"),
            row("everyone", team="sales"),
        ]
    )  # fmt: skip
    result = plan(loaded, accounts, [make_owner(o) for o in ("o1", "o2", "q1")])

    change = the_change(result, "a001")
    assert (change.reason, change.share, change.effective_date) == (
        "released",
        "discretionary",
        AS_OF,
    )
    assert change.to_owner_id in ("o1", "o2")


def test_a_hierarchy_change_counts_in_its_parents_share() -> None:
    loaded = rules(teams=[team("sales", "o1"), team("east", "o2")])
    owners = [make_owner("o1"), make_owner("o2"), make_owner("o3", active=False)]
    accounts = [
        make_account("p001", owner_id="o3"),  # departed: forced
        make_account("c001", owner_id="o2", parent_id="p001"),
        make_account("p002", owner_id="o2"),  # its owner sells in east now: rule_change
        make_account("c002", owner_id="o1", parent_id="p002"),
    ]
    result = plan(loaded, accounts, owners)

    assert [(c.account_id, c.reason, c.share) for c in result.changes] == [
        ("c001", "hierarchy", "forced"),
        ("p001", "departed", "forced"),
        ("p002", "rule_change", "discretionary"),
    ]
    # c002 already has o1, where p002 goes: no change.


def test_named_account_and_named_owner_inactive_changes_are_forced() -> None:
    loaded = rules(
        teams=[team("sales", "o1"), team("east", "o2")],
        named_accounts=[named("a001", "o1"), named("a002", "o3")],
    )
    owners = [make_owner("o1"), make_owner("o2"), make_owner("o3", active=False)]
    accounts = [make_account("a001", owner_id="o2"), make_account("a002", owner_id="o2")]
    result = plan(loaded, accounts, owners)

    assert [(c.account_id, c.reason, c.share) for c in result.changes] == [
        ("a001", "named_account", "forced"),
        ("a002", "named_owner_inactive", "forced"),
    ]


# --- through the CLI -----------------------------------------------------------------------


def write_org(directory: Path, rule: str, owner_of: dict[str, str]) -> None:
    """A CSV org: companies a001.. owned as `owner_of` says, owners o1, o2 and q1."""
    directory.mkdir()
    (directory / "rules.yaml").write_text(rule, encoding="utf-8")
    with (directory / "companies.csv").open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["id", "name", "owner_id", "industry", "employees", "annual_revenue",
                         "country", "lifecycle", "signal_funding"])  # fmt: skip
        for account_id, owner in owner_of.items():
            writer.writerow([account_id, f"Company {account_id}", owner, "software", 900,
                             10_000_000, "US", "prospect", "2027-01-10"])  # fmt: skip
    with (directory / "owners.csv").open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["id", "email", "first_name", "last_name", "active"])
        for owner in ("o1", "o2", "q1"):
            writer.writerow([owner, f"{owner}@example.com", owner, "Rep", "true"])


def territory_plan(org: Path, rule_file: Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        ["plan", "--rules", str(rule_file), "--source", f"csv:{org}", "--as-of", str(AS_OF)],
    )
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.stderr


def test_a_rule_edit_parking_a_fifth_of_the_accounts_on_a_holding_owner_stops_the_plan(
    tmp_path: Path,
) -> None:
    org = tmp_path / "org"
    settled = {f"a{k:03d}": "o1" if k % 2 else "o2" for k in range(1, 11)}
    write_org(org, rule_text(max_share_per_run=0.10), settled)
    edited = tmp_path / "parking.yaml"
    edited.write_text(rule_text(rows=PARKING, max_share_per_run=0.10), encoding="utf-8")

    before, _ = territory_plan(org, org / "rules.yaml")
    after, message = territory_plan(org, edited)

    assert before == 0
    assert after == 3
    assert "discretionary changes are 20.0% of accounts (2)" in message
