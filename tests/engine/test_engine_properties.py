"""Invariants of the assignment engine over random orgs (`factories.orgs`).

Each property holds the plan to what docs/engine.md promises, re-derived from the org's inputs in
`expectations` (see its docstring for how a team's balance cause is derived and how that
compares with the engine's precedence).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rules.context import OpenChange
from rules.domain import Account, Owner
from rules.plan import Plan, plan_document
from rules.reasons import NOTICE_REASONS, InfeasibleCause
from tests.engine.expectations import (
    REACHABLE,
    UNDECIDED,
    balance_cause,
    books,
    followers,
    honoured_named,
    honoured_pins,
    left_over_units,
    no_room_with_parent,
    rep_facts,
    team_balance,
    tier_minutes,
    ultimate_parents,
)
from tests.engine.factories import (
    Org,
    applied,
    days_ago,
    make_account,
    make_accounts,
    make_org,
    make_owner,
    member,
    named,
    orgs,
    row,
    team,
)

# derandomize: CI runs the same examples every time (a fixed seed derived from each test), so
# a red run is reproducible and the suite's time is steady; explore with --hypothesis-seed.
SETTINGS = settings(
    max_examples=50,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# For properties that the hand-made examples in other files pin down case by case.
FEWER = settings(SETTINGS, max_examples=20)


def document(plan: Plan) -> str:
    return json.dumps(plan_document(plan))


# --- explicit examples: cases the engine once got wrong, and ones it still does ------------


def _owners(*ids: str) -> list[Owner]:
    return [make_owner(i) for i in ids]


def _ramping(owner_id: str) -> dict[str, Any]:
    """A member 40 days into the job: half capacity (a third of a team with one full rep)."""
    return member(owner_id, start_date=days_ago(40))


# Three children of a named parent, whose rep's role holds two accounts: one may follow.
CHILDREN_OF_NAMED_PARENT = make_org(
    [
        make_account("p001", owner_id=None),
        *(make_account(f"c{k:03d}", owner_id=None, parent_id="p001") for k in (1, 2, 3)),
    ],
    _owners("o1", "o2"),
    roles={"ae": 2},
    named_accounts=[named("p001", "o1")],
)
# 20 accounts, 15% a quarter: 3 moves; west is balanced, east needs every one of them.
EAST = [f"Company a{k:03d}" for k in range(1, 11)]
QUARTER_BUDGET_ACROSS_TEAMS = make_org(
    [
        *make_accounts("a", 10, owner_id="o1"),
        *(make_account(f"b{k:03d}", owner_id="o3" if k % 2 else "o4") for k in range(1, 11)),
    ],
    _owners("o1", "o2", "o3", "o4"),
    teams=[team("east", "o1", "o2"), team("west", "o3", "o4")],
    rows=[row("east", when={"name": {"in": EAST}}, team="east"), row("west", team="west")],
    max_moves=0.15,
)
# Two new accounts, a ramping rep and a full one: the small account on the ramping rep is
# the one placement in the band (a swap of the greedy's first placement).
SWAP_NEEDED = make_org(
    [
        make_account("a001", owner_id=None),
        make_account("a002", owner_id=None, employees=60, annual_revenue=None, signals=()),
    ],
    _owners("o1", "o2"),
    teams=[team("sales", _ramping("o1"), "o2")],
    minutes=(25, 25, 25),
    tolerance=0.2,
)
# Four new accounts (potential 6, 6, 35, 55; equal minutes): the band holds only with both
# small ones on the ramping rep, two accounts traded for one. Still missed: reported as
# account_exceeds_band.
EXCHANGE_NEEDED = make_org(
    [
        make_account("s001", owner_id=None, employees=5),
        make_account("s002", owner_id=None, employees=5),
        make_account("m001", owner_id=None, employees=34),
        make_account("l001", owner_id=None, employees=54),
    ],
    _owners("o1", "o2"),
    teams=[team("sales", _ramping("o1"), "o2")],
    minutes=(25, 25, 25),
    factors={"employees": {"weight": 1, "scale": "linear", "range": [0, 99]}},
    roles={"ae": 4},
)
# Three equal accounts, two equal reps: a third or two thirds, never half. No number of moves
# reaches the band; reported as move_budget.
UNREACHABLE_BY_MOVES = make_org(
    make_accounts("a", 3, owner_id="o1"),
    _owners("o1", "o2"),
    minutes=(25, 25, 25),
    max_moves=0.0,
)
# o1 (a quarter of a 60-minute day) cannot keep its 25-minute customer: the surplus goes to
# o2 and is balanced like any account. Reported as pinned_load_outside_band.
KEEP_OWNER_SURPLUS = make_org(
    [make_account("a001", owner_id="o1")],
    _owners("o1", "o2"),
    teams=[team("sales", member("o1", start_date=days_ago(10)), "o2")],
    working_days=1,
    focus_hours=1,
    rows=[row("customers", team="sales", strategy="keep_owner")],
)
# The team's one account is pinned to o1; its index 1.25 is inside 1 ± 0.3, o2's 0 is not.
# Nothing is routed to the team, and such a team is reported as pinned_load_outside_band.
PINNED_INSIDE_THE_BAND = make_org(
    [make_account("a001", owner_id=None)],
    _owners("o1", "o2"),
    pinned={"a001": "o1"},
    teams=[team("sales", "o1", member("o2", start_date=days_ago(10)))],
    tolerance=0.3,
)


# A team of o00 (full) and o07 (first day: 30 minutes, one account) among many customers it
# has no room for. The plan leaves o07 at 0.47 with c00026; re-planning the applied plan
# swaps c00026 for o00's c00037 (o07 1.30, o00 0.92): a swap the first plan missed because
# its search looked at the pool-placed tier-1 c00024 (no room on o07) and gave up; applied,
# c00024 is protected and out of the search.
def _customer(
    account_id: str,
    owner_id: str | None,
    employees: int | None = None,
    revenue: float | None = None,
) -> Account:
    return make_account(
        account_id,
        owner_id=owner_id,
        employees=employees,
        annual_revenue=revenue,
        lifecycle="customer",
        signals=(),
    )


def _prospect(account_id: str, employees: int) -> Account:
    return make_account(
        account_id, owner_id="o00", employees=employees, annual_revenue=None, signals=()
    )


SWAP_MISSED_UNTIL_APPLIED = make_org(
    [
        _customer("c00008", "ghost", 322),
        _customer("c00010", None, 201, 3e6),
        _customer("c00018", "o06", None, 5e8),
        _customer("c00022", "o04"),
        _prospect("c00023", 1569),
        _customer("c00024", "o08", 2505, 5e8),
        _customer("c00025", "o08", 51460),
        _customer("c00026", "o07"),
        _customer("c00027", "o05", 7388, 5e8),
        _prospect("c00034", 51308),
        _prospect("c00035", 859),
        _customer("c00037", "o00", 47845),
        _customer("c00038", "o02", 9199),
        _customer("c00039", "o08"),
    ],
    [
        make_owner(o, active=o in ("o00", "o01", "o02", "o07"))
        for o in ("o00", "o01", "o02", "o04", "o05", "o06", "o07", "o08")
    ],
    teams=[
        team("t0", "o00", "o05", "o06", member("o07", start_date=days_ago(0)), "o08"),
        team("t1", "o01"),
        team("t2", "o02"),
    ],
    rows=[
        row("customers", when={"lifecycle": {"eq": "customer"}}, team="t0"),
        row("out-of-scope", when={"fit": {"eq": "D"}}, unassigned=True),
        row("cold-watchlist", when={"intent": {"eq": "cold"}}, watchlist=True, team="t2"),
        row("na", when={"region": {"eq": "NA"}}, team="t1"),
        row("catch-all", team="t2"),
    ],
    roles={"ae": 3},
    working_days=1,
    focus_hours=2,
    protect_tiers=[1],
    notice_days=0,
    effective_from=days_ago(0),
)


# Team t1 (o01, and o06 at half capacity) takes eight accounts. Placing largest first, the
# small c09447 finds no room and is left over capacity; balancing then moves new accounts
# around, and o01 ends with 145 of 180 minutes: room for c09447's 25, never offered again.
# Re-planning the applied plan assigns it.
def _small_prospect(
    account_id: str, owner_id: str | None, employees: int, parent_id: str | None = None
) -> Account:
    return make_account(
        account_id,
        owner_id=owner_id,
        employees=employees,
        annual_revenue=None,
        parent_id=parent_id,
        signals=(),
    )


OVER_CAPACITY_WITH_ROOM_LEFT = make_org(
    [
        _small_prospect("c09349", "o02", 568),
        _small_prospect("c09384", "o01", 1518),
        _small_prospect("c09412", "o02", 2263),
        _customer("c09440", "o03", 49550, 5e8),
        _small_prospect("c09447", "o00", 229),
        _small_prospect("c09482", "o03", 1649),
        _small_prospect("c09489", "o04", 5920, parent_id="c09349"),
        _small_prospect("c09496", "o04", 25947),
        _small_prospect("c09524", None, 39105),
    ],
    [
        make_owner(o, active=o not in ("o02", "o05"))
        for o in ("o00", "o01", "o02", "o03", "o04", "o05", "o06")
    ],
    teams=[
        team("t0", member("o00", start_date=days_ago(149)), "o03", "o05"),
        team("t1", "o01", "o02", member("o06", start_date=days_ago(70))),
    ],
    rows=[
        row("customers", when={"lifecycle": {"eq": "customer"}}, team="t0"),
        row("everyone", team="t1"),
    ],
    roles={"ae": 35},
    working_days=3,
    focus_hours=1,
    max_moves=0.0,
)


# --- properties ------------------------------------------------------------------------------


@SETTINGS
@given(orgs(), st.integers(0, 2**32))
def test_same_input_gives_byte_identical_plans_whatever_the_row_order(org: Org, seed: int) -> None:
    first = document(org.plan())
    assert document(org.plan()) == first
    assert document(org.plan(seed=seed)) == first


@SETTINGS
@given(orgs())
def test_every_account_has_exactly_one_assignment_sorted_by_id(org: Org) -> None:
    result = org.plan()
    assert [a.account_id for a in result.assignments] == sorted(a.id for a in org.accounts)
    # The changes are exactly the accounts whose planned owner differs from the CRM's.
    crm_owner = {a.id: a.owner_id for a in org.accounts}
    planned = {a.account_id: a.owner_id for a in result.assignments}
    assert [(c.account_id, c.from_owner_id, c.to_owner_id) for c in result.changes] == [
        (a, crm_owner[a], planned[a]) for a in sorted(planned) if planned[a] != crm_owner[a]
    ]


@SETTINGS
@given(orgs())
@example(CHILDREN_OF_NAMED_PARENT)
def test_no_active_rep_above_either_budget_except_through_named_and_pinned_accounts(
    org: Org,
) -> None:
    result = org.plan()
    exempt = honoured_named(org) | honoured_pins(org)
    book = books(result)
    reported = {r.owner_id: r for r in result.reps}
    for rep in rep_facts(org).values():
        if not rep.active:
            continue
        held = book.get(rep.owner_id, [])
        rest = [a for a in held if a.account_id not in exempt]
        assert sum(tier_minutes(org, a.tier) for a in rest) <= rep.capacity_minutes, rep
        assert len(rest) <= rep.max_accounts, rep
        # Named and pinned accounts above capacity are reported on the rep.
        summary = reported[rep.owner_id]
        assert summary.named_accounts == sum(
            1 for a in held if honoured_named(org).get(a.account_id) == rep.owner_id
        )
        assert summary.pinned_accounts == sum(
            1 for a in held if honoured_pins(org).get(a.account_id) == rep.owner_id
        )
        assert (summary.accounts, summary.load_minutes) == (
            len(held),
            sum(tier_minutes(org, a.tier) for a in held),
        )


@SETTINGS
@given(orgs())
@example(OVER_CAPACITY_WITH_ROOM_LEFT)
def test_accounts_are_left_over_capacity_only_when_no_rep_of_the_team_has_room(
    org: Org,
) -> None:
    result = org.plan()
    book = books(result)
    for team_id in sorted({t["id"] for t in org.data["teams"]}):
        members = [f for f in rep_facts(org).values() if f.team == team_id and f.active]
        for unit in left_over_units(org, result, team_id):
            minutes = sum(tier_minutes(org, a.tier) for a in unit)
            for rep in members:
                held = book.get(rep.owner_id, [])
                load = sum(tier_minutes(org, a.tier) for a in held)
                assert (
                    load + minutes > rep.capacity_minutes
                    or len(held) + len(unit) > rep.max_accounts
                ), (team_id, [a.account_id for a in unit], rep)


@SETTINGS
@given(orgs())
@example(SWAP_NEEDED)
@example(UNREACHABLE_BY_MOVES)
@example(KEEP_OWNER_SURPLUS)
@example(PINNED_INSIDE_THE_BAND)
def test_every_team_is_within_tolerance_or_reports_the_cause(org: Org) -> None:
    result = org.plan()
    tolerance = org.data["balance"]["tolerance"]
    for summary in result.teams:
        within = team_balance(org, result, summary.team).within(tolerance)
        assert summary.within_tolerance == within, summary
        if within:
            assert summary.infeasible_reason is None
            continue
        expected = balance_cause(org, result, summary.team)
        if expected == UNDECIDED:  # the exact check ran out of time
            assert summary.infeasible_reason in ("move_budget", "account_exceeds_band")
        elif expected == "move_budget" or expected.startswith(REACHABLE):
            # Whole accounts can reach the band, with more moves or even within the budget:
            # the next property holds the balancer to that.
            assert summary.infeasible_reason in set(InfeasibleCause), summary
        else:
            assert summary.infeasible_reason == expected, summary


@SETTINGS
@given(orgs())
@example(EXCHANGE_NEEDED)
def test_a_band_whole_accounts_can_reach_is_reached_or_blamed_on_the_move_budget(
    org: Org,
) -> None:
    result = org.plan()
    for summary in result.teams:
        if summary.within_tolerance:
            continue
        cause = balance_cause(org, result, summary.team)
        assert not cause.startswith(REACHABLE), f"{summary}, but {cause}"
        if cause == "move_budget":
            assert summary.infeasible_reason == "move_budget", summary


@SETTINGS
@given(orgs())
@example(QUARTER_BUDGET_ACROSS_TEAMS)
@example(SWAP_MISSED_UNTIL_APPLIED)
@example(OVER_CAPACITY_WITH_ROOM_LEFT)
def test_replanning_the_applied_plan_changes_nothing(org: Org) -> None:
    result = org.plan()
    spent = sum(t.moves for t in result.teams)
    after = Org(
        data=org.data,
        loaded=org.loaded,
        accounts=applied(org.accounts, result),
        owners=org.owners,
        as_of=org.as_of,
        pinned=org.pinned,
        moves_this_quarter=org.moves_this_quarter + spent,
    )
    assert after.plan().changes == []


@SETTINGS
@given(orgs())
def test_named_accounts_go_to_their_active_owner_until_expiry(org: Org) -> None:
    result = org.plan()
    for account_id, owner_id in honoured_named(org).items():
        assignment = result.assignment(account_id)
        assert assignment is not None
        assert (assignment.owner_id, assignment.outcome) == (owner_id, "assigned")


@SETTINGS
@given(orgs())
def test_inactive_owners_end_with_no_accounts(org: Org) -> None:
    result = org.plan()
    inactive = {o.id for o in org.owners if not o.active}
    assert [a for a in result.assignments if a.owner_id in inactive] == []
    assert all(r.accounts == 0 for r in result.reps if not r.active)


@SETTINGS
@given(orgs())
def test_children_follow_an_assigned_parent_unless_their_row_overrides_hierarchy(
    org: Org,
) -> None:
    result = org.plan()
    for child, parent_id in followers(org, result).items():
        planned, parent = result.assignment(child), result.assignment(parent_id)
        assert planned is not None
        assert parent is not None
        follows = (planned.owner_id, planned.outcome) == (parent.owner_id, "assigned")
        # A named or pinned parent's rep keeps its children only while it has room.
        assert follows or no_room_with_parent(org, result, child), child


@SETTINGS
@given(orgs())
def test_no_change_for_an_out_of_office_rep_takes_effect_before_the_return(org: Org) -> None:
    away = {f.owner_id: f.out_of_office_until for f in rep_facts(org).values()}
    for change in org.plan().changes:
        # A rep who left (or an owner nobody knows) holds nothing back: only the gaining rep.
        gone = change.reason in ("departed", "orphaned", "new")
        for owner_id in (None if gone else change.from_owner_id, change.to_owner_id):
            back = away.get(owner_id or "")
            if back is not None:
                assert change.effective_date >= back, change


@SETTINGS
@given(orgs())
def test_changes_take_effect_after_notice_when_discretionary_and_at_once_when_forced(
    org: Org,
) -> None:
    result = org.plan()
    away = {f.owner_id: f.out_of_office_until for f in rep_facts(org).values()}
    notice = org.as_of + timedelta(days=org.data["changes"]["notice_days"])
    discretionary = max(notice, org.data["effective_from"])
    top = ultimate_parents(org)
    dates = {c.account_id: c.effective_date for c in result.changes}
    for change in result.changes:
        if change.reason in NOTICE_REASONS:
            base = discretionary
        elif change.reason == "hierarchy":
            base = dates.get(top[change.account_id], discretionary)
        else:
            base = org.as_of
        losing = None if change.reason in ("departed", "orphaned", "new") else change.from_owner_id
        returns = [away.get(o or "") for o in (losing, change.to_owner_id)]
        expected = max([base, *(r for r in returns if r is not None)])
        assert change.effective_date == expected, change


@FEWER
@given(orgs())
def test_every_change_counts_in_exactly_one_approval_share(org: Org) -> None:
    result = org.plan()
    summary = plan_document(result)["summary"]
    assert summary["forced_changes"] + summary["discretionary_changes"] == summary["changes"]
    top = ultimate_parents(org)
    shares = {c.account_id: c.share for c in result.changes}
    for change in result.changes:
        assert change.forced != change.discretionary, change
        if change.reason == "hierarchy":
            assert change.share == shares.get(top[change.account_id], "discretionary"), change


@FEWER
@given(orgs(), st.integers(0, 11), st.integers(-5, 40))
def test_a_leaving_rep_ends_with_no_accounts_and_hands_the_book_over_on_the_day(
    org: Org, which: int, days: int
) -> None:
    leaving = org.owners[which % len(org.owners)]
    day = org.as_of + timedelta(days=days)
    result = org.plan(departures={leaving.id: day})
    assert [a.account_id for a in result.assignments if a.owner_id == leaving.id] == []
    away = {f.owner_id: f.out_of_office_until for f in rep_facts(org).values()}
    # An owner already inactive has left: the day given no longer matters.
    base = max(org.as_of, day) if leaving.active else org.as_of
    for change in result.changes:
        if change.from_owner_id != leaving.id:
            continue
        assert change.reason == "departed", change
        losing = None if change.reason in ("departed", "orphaned", "new") else change.from_owner_id
        returns = [away.get(o or "") for o in (losing, change.to_owner_id)]
        assert change.effective_date == max([base, *(r for r in returns if r is not None)])


@SETTINGS
@given(orgs())
def test_an_open_change_with_the_same_proposal_keeps_its_id_and_date_unless_due_sooner(
    org: Org,
) -> None:
    first = org.plan()
    ledger_date = org.as_of + timedelta(days=3)
    open_changes = {
        c.account_id: OpenChange(
            f"ledger-{c.account_id}", c.from_owner_id, c.to_owner_id, ledger_date
        )
        for c in first.changes
    }
    again = org.plan(open_changes=open_changes)
    # A cause that is due sooner (a departure behind a pending rebalance) brings the date
    # forward; nothing pushes a pending change back.
    assert [(c.account_id, c.change_id, c.effective_date, c.supersedes) for c in again.changes] == [
        (c.account_id, f"ledger-{c.account_id}", min(ledger_date, c.effective_date), None)
        for c in first.changes
    ]


@SETTINGS
@given(orgs())
def test_a_different_proposal_supersedes_the_open_change(org: Org) -> None:
    first = org.plan()
    open_changes = {
        c.account_id: OpenChange(
            f"ledger-{c.account_id}", c.from_owner_id, "someone-else", org.as_of
        )
        for c in first.changes
    }
    again = org.plan(open_changes=open_changes)
    assert [(c.change_id, c.effective_date, c.supersedes) for c in again.changes] == [
        (c.change_id, c.effective_date, f"ledger-{c.account_id}") for c in first.changes
    ]


@SETTINGS
@given(orgs())
def test_change_ids_are_unique_and_depend_on_earlier_changes_of_the_account(org: Org) -> None:
    first = org.plan()
    ids = [c.change_id for c in first.changes]
    assert len(set(ids)) == len(ids)
    counts = Counter({c.account_id: 1 for c in first.changes})
    again = org.plan(change_counts=dict(counts))
    assert [c.account_id for c in again.changes] == [c.account_id for c in first.changes]
    assert all(
        a.change_id != b.change_id for a, b in zip(again.changes, first.changes, strict=True)
    )
