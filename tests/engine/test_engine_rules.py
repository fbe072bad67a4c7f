"""The engine's rules, one behaviour per test, on small hand-made orgs.

Unless a test says otherwise: `as_of` is 2027-01-15, the rule's `effective_from` is
2027-01-01 with 30 days' notice (discretionary changes take effect 2027-02-14), team `sales`
is o1 and o2 with a balanced catch-all row, and every account is a fit-A, hot NA prospect.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from rules.domain import Owner
from rules.plan import Assignment, Plan, RepSummary, TeamSummary, plan_document
from tests.engine.factories import (
    AS_OF,
    days_ago,
    edited_example,
    load,
    make_account,
    make_accounts,
    make_owner,
    member,
    named,
    plan,
    row,
    rules,
    signal,
    team,
)
from worker.plan_views import balance_section

NOTICE_DATE = AS_OF + timedelta(days=30)


def owners(*ids: str, inactive: tuple[str, ...] = ()) -> list[Owner]:
    return [make_owner(i, active=i not in inactive) for i in ids]


def owner_of(result: Plan) -> dict[str, str | None]:
    return {a.account_id: a.owner_id for a in result.assignments}


def assignment(result: Plan, account_id: str) -> Assignment:
    found = result.assignment(account_id)
    assert found is not None, account_id
    return found


def rep(result: Plan, owner_id: str) -> RepSummary:
    return next(r for r in result.reps if r.owner_id == owner_id)


def index_of(result: Plan, owner_id: str) -> float:
    index = rep(result, owner_id).index
    assert index is not None
    return index


def team_summary(result: Plan, team_id: str = "sales") -> TeamSummary:
    return next(t for t in result.teams if t.team == team_id)


def change_reasons(result: Plan) -> dict[str, str]:
    return {c.account_id: c.reason for c in result.changes}


# --- only active owners own anything (rule 1) --------------------------------------------------


def test_departed_rep_book_moves_to_team_within_tolerance() -> None:
    book = make_accounts("a", 12, owner_id="o3")
    loaded = rules(teams=[team("sales", "o1", "o2", "o3")])
    result = plan(loaded, book, owners("o1", "o2", "o3", inactive=("o3",)))

    assert set(owner_of(result).values()) == {"o1", "o2"}
    assert {c.reason for c in result.changes} == {"departed"}
    assert {c.effective_date for c in result.changes} == {AS_OF}
    assert team_summary(result).within_tolerance
    assert all(abs(index_of(result, o) - 1) <= 0.10 for o in ("o1", "o2"))
    assert rep(result, "o3").accounts == 0


def test_orphaned_account_is_assigned_at_once() -> None:
    accounts = [
        make_account("a001", owner_id=None),
        make_account("a002", owner_id="ghost"),  # an owner the CRM no longer lists
        make_account("a003", owner_id=None),
    ]
    result = plan(rules(), accounts, owners("o1", "o2"), new_accounts=frozenset({"a003"}))

    assert all(owner in ("o1", "o2") for owner in owner_of(result).values())
    assert change_reasons(result) == {"a001": "orphaned", "a002": "orphaned", "a003": "new"}
    assert {c.effective_date for c in result.changes} == {AS_OF}


def test_active_owner_outside_every_team_loses_the_account_at_once() -> None:
    result = plan(rules(), [make_account("a001", owner_id="o9")], owners("o1", "o2", "o9"))

    (change,) = result.changes
    assert (change.from_owner_id, change.reason, change.effective_date) == (
        "o9",
        "ineligible_owner",
        AS_OF,
    )
    assert change.to_owner_id in ("o1", "o2")


def test_inactive_owner_watchlist_account_is_cleared_without_a_holding_owner() -> None:
    loaded = rules(
        rows=[
            row("cold", when={"intent": {"eq": "cold"}}, watchlist=True, team="sales"),
            row("everyone", team="sales"),
        ]
    )
    accounts = [
        make_account("a001", owner_id="o3", signals=()),  # departed owner: cleared
        make_account("a002", owner_id="o1", signals=()),  # active owner: kept, no write
    ]
    result = plan(loaded, accounts, owners("o1", "o2", "o3", inactive=("o3",)))

    assert owner_of(result) == {"a001": None, "a002": "o1"}
    assert [a.outcome for a in result.assignments] == ["watchlist", "watchlist"]
    assert change_reasons(result) == {"a001": "departed"}
    assert rep(result, "o1").accounts == 0  # watchlist accounts count toward no rep


# --- named accounts (rule 2) ---------------------------------------------------------------


def test_named_account_honoured_above_capacity_and_reported() -> None:
    loaded = rules(
        teams=[team("sales", "o1")],
        roles={"ae": 1},
        named_accounts=[named("a001", "o1"), named("a002", "o1")],
    )
    accounts = [
        make_account("a001", owner_id=None),
        make_account("a002", owner_id="o1"),
        make_account("a003", owner_id="o1"),  # named accounts take the room: over capacity
    ]
    result = plan(loaded, accounts, owners("o1"))

    assert owner_of(result) == {"a001": "o1", "a002": "o1", "a003": "o1"}
    # An orphaned account's change says so first; the trace says why it went to o1.
    assert [a.reason for a in result.assignments] == [
        "orphaned",
        "named_account",
        "over_capacity",
    ]
    assert [(a.routing_row, a.trace["why"]) for a in result.assignments[:2]] == [
        (None, "named"),
        (None, "named"),
    ]
    summary = rep(result, "o1")
    assert (summary.accounts, summary.max_accounts, summary.named_accounts) == (2, 1, 2)


def test_named_account_can_be_named_by_id_until_its_expiry_day() -> None:
    loaded = rules(named_accounts=[named("a001", "o2", expires=AS_OF, by="id")])
    result = plan(loaded, [make_account("a001", owner_id="o1")], owners("o1", "o2"))

    assert owner_of(result) == {"a001": "o2"}
    assert change_reasons(result) == {"a001": "named_account"}
    assert result.changes[0].effective_date == AS_OF


def test_named_owner_inactive_routes_normally() -> None:
    loaded = rules(
        teams=[team("sales", "o1", "o2"), team("east", "o4")],
        named_accounts=[named("a001", "o3")],
    )
    accounts = [make_account("a001", owner_id="o4")]  # o4 sells in another team
    result = plan(loaded, accounts, owners("o1", "o2", "o3", "o4", inactive=("o3",)))

    planned = assignment(result, "a001")
    assert (planned.owner_id in ("o1", "o2"), planned.routing_row) == (True, "everyone")
    assert change_reasons(result) == {"a001": "named_owner_inactive"}


def test_expired_named_account_moves_after_notice() -> None:
    loaded = rules(
        teams=[team("sales", "o1"), team("east", "o2")],
        named_accounts=[named("a001", "o2", expires=AS_OF - timedelta(days=1))],
    )
    result = plan(loaded, [make_account("a001", owner_id="o2")], owners("o1", "o2"))

    (change,) = result.changes
    assert (change.to_owner_id, change.reason, change.effective_date) == (
        "o1",
        "named_expired",
        NOTICE_DATE,
    )


# --- pins (rule 3) -----------------------------------------------------------------------------


def test_pinned_account_stays_and_counts_toward_load() -> None:
    loaded = rules(roles={"ae": 3})
    accounts = [make_account("a001", owner_id="o1"), *make_accounts("b", 4, owner_id=None)]
    result = plan(loaded, accounts, owners("o1", "o2"), pinned={"a001": "o1"})

    assert assignment(result, "a001").owner_id == "o1"
    assert rep(result, "o1").pinned_accounts == 1
    assert rep(result, "o1").accounts <= 3
    assert sum(1 for owner in owner_of(result).values() if owner == "o1") <= 3


# --- hierarchy (rule 4) ------------------------------------------------------------------------


def test_child_follows_parent_owner() -> None:
    accounts = [
        make_account("p001", owner_id="o1"),
        make_account("c001", owner_id="o2", parent_id="p001"),
        make_account("c002", owner_id="o2", parent_id="c001"),  # a grandchild follows too
    ]
    result = plan(rules(max_moves=0.0), accounts, owners("o1", "o2"))

    assert owner_of(result) == {"c001": "o1", "c002": "o1", "p001": "o1"}
    assert change_reasons(result) == {"c001": "hierarchy", "c002": "hierarchy"}
    assert assignment(result, "c002").trace["parent"] == "p001"


def test_hierarchy_change_takes_its_parents_date() -> None:
    loaded = rules(teams=[team("sales", "o1", "o2"), team("east", "o3")])
    accounts = [
        make_account("p001", owner_id="o3"),  # its owner now sells in another team
        make_account("c001", owner_id="o2", parent_id="p001"),
    ]
    result = plan(loaded, accounts, owners("o1", "o2", "o3"))

    child, parent = result.changes
    assert (child.account_id, parent.account_id) == ("c001", "p001")
    assert parent.reason == "rule_change"
    assert (child.reason, child.to_owner_id) == ("hierarchy", parent.to_owner_id)
    assert child.effective_date == parent.effective_date == NOTICE_DATE


def test_a_child_joining_a_parent_that_stays_put_gets_the_notice_of_a_discretionary_move() -> None:
    accounts = [
        make_account("p001", owner_id="o1"),  # keeps its owner: no change, no date
        make_account("c001", owner_id="o2", parent_id="p001"),
    ]
    result = plan(rules(max_moves=0.0), accounts, owners("o1", "o2"))

    (child,) = result.changes
    assert (child.account_id, child.reason, child.share) == ("c001", "hierarchy", "discretionary")
    assert child.effective_date == NOTICE_DATE


def test_customer_row_overrides_hierarchy() -> None:
    loaded = rules(
        teams=[team("sales", "o1"), team("am", "o5")],
        rows=[
            row(
                "customers",
                when={"lifecycle": {"eq": "customer"}},
                team="am",
                strategy="keep_owner",
                overrides_hierarchy=True,
            ),
            row("everyone", team="sales"),
        ],
    )
    accounts = [
        make_account("p001", owner_id="o1"),
        make_account("c001", owner_id=None, parent_id="p001", lifecycle="customer"),
        make_account("c002", owner_id=None, parent_id="p001"),
    ]
    result = plan(loaded, accounts, owners("o1", "o5"))

    assert owner_of(result) == {"c001": "o5", "c002": "o1", "p001": "o1"}
    assert assignment(result, "c001").routing_row == "customers"


def test_children_route_on_their_own_when_the_parent_is_not_assigned() -> None:
    loaded = rules(
        rows=[
            row("small", when={"employees": {"lt": 100}}, unassigned=True),
            row("everyone", team="sales"),
        ]
    )
    accounts = [
        make_account("p001", owner_id=None, employees=50),
        make_account("c001", owner_id=None, parent_id="p001"),
    ]
    result = plan(loaded, accounts, owners("o1", "o2"))

    assert assignment(result, "p001").outcome == "unassigned"
    child = assignment(result, "c001")
    assert (child.outcome, child.routing_row, child.owner_id in ("o1", "o2")) == (
        "assigned",
        "everyone",
        True,
    )


# --- routing rows and strategies (rules 5 and 6) -----------------------------------------------


def test_cold_account_goes_to_watchlist_holding_owner() -> None:
    loaded = rules(
        teams=[team("sales", "o1"), team("sdr", "o2")],
        rows=[
            row(
                "cold-watchlist",
                when={"intent": {"eq": "cold"}},
                watchlist=True,
                team="sdr",
                holding_owner="queue",
            ),
            row("everyone", team="sales"),
        ],
    )
    accounts = [
        make_account("a001", owner_id="o1", signals=()),
        make_account("a002", owner_id="o1", signals=[signal(days_old=200)]),
        make_account("a003", owner_id="o1"),
    ]
    result = plan(loaded, accounts, owners("o1", "o2", "queue"))

    cold = [assignment(result, "a001"), assignment(result, "a002")]
    assert [(a.owner_id, a.outcome, a.team, a.intent) for a in cold] == [
        ("queue", "watchlist", "sdr", "cold"),
        ("queue", "watchlist", "sdr", "cold"),
    ]
    assert (rep(result, "o1").accounts, rep(result, "o2").accounts) == (1, 0)
    assert result.gap["watchlist_by_team"] == {"sdr": 2}


def test_full_team_leaves_rest_unassigned_over_capacity() -> None:
    loaded = rules(teams=[team("sales", "o1"), team("east", "o9")], roles={"ae": 3})
    accounts = [
        *make_accounts("a", 3, owner_id=None),
        make_account("a004", owner_id="ghost"),  # its owner left the CRM: cleared
        make_account("b001", owner_id="o9", employees=250),  # small: placed last
    ]
    result = plan(loaded, accounts, owners("o1", "o9"))

    over = [a for a in result.assignments if a.trace["why"] == "over_capacity"]
    assert all((a.outcome, a.team) == ("unassigned", "sales") for a in over)
    # Left over capacity, an account keeps its CRM owner when that owner is active.
    assert {a.account_id: a.owner_id for a in over} == {"a004": None, "b001": "o9"}
    assert rep(result, "o1").accounts == 3
    assert result.gap["over_capacity"] == 2  # counted by decision, whatever the change reason
    assert result.gap["reps_needed"]["by_team"] == {"sales": 1}


def test_ramping_rep_gets_proportionally_less() -> None:
    loaded = rules(
        teams=[team("sales", "o1", member("o2", start_date=days_ago(40)))], roles={"ae": 100}
    )
    result = plan(loaded, make_accounts("a", 30, owner_id=None), owners("o1", "o2"))

    full, ramping = rep(result, "o1"), rep(result, "o2")
    assert (full.capacity_minutes, ramping.capacity_minutes) == (18_000, 9_000)
    assert (full.max_accounts, ramping.max_accounts) == (100, 50)
    assert team_summary(result).within_tolerance
    # Half the capacity, about half the work: the index compares work share to capacity share.
    assert ramping.load_minutes / full.load_minutes == pytest.approx(0.5, abs=0.1)
    assert ramping.potential / full.potential == pytest.approx(0.5, abs=0.1)


def test_keep_owner_keeps_up_to_capacity_and_balances_surplus() -> None:
    loaded = rules(rows=[row("customers", team="sales", strategy="keep_owner")], roles={"ae": 5})
    # Distinct potentials: more employees, more potential.
    book = [make_account(f"a{k:03d}", owner_id="o1", employees=300 + 100 * k) for k in range(1, 9)]
    result = plan(loaded, book, owners("o1", "o2"))

    # The three lowest-potential accounts are the surplus; o1 keeps the rest.
    assert owner_of(result) == {
        **{f"a{k:03d}": "o2" for k in (1, 2, 3)},
        **{f"a{k:03d}": "o1" for k in (4, 5, 6, 7, 8)},
    }
    assert change_reasons(result) == {"a001": "rebalance", "a002": "rebalance", "a003": "rebalance"}


def test_balanced_strategy_keeps_owners_while_the_band_allows() -> None:
    # Tiers 1, 1, 2, 2, 3...: odd ids to o1 and even ids to o2 make two equal books.
    accounts = [make_account(f"a{k:03d}", owner_id="o1" if k % 2 else "o2") for k in range(1, 11)]
    result = plan(rules(tier_shares=(0.2, 0.2)), accounts, owners("o1", "o2"))

    assert team_summary(result).within_tolerance
    assert result.changes == []


def test_protected_tier1_accounts_never_move_for_balance() -> None:
    loaded = rules(protect_tiers=[1])
    result = plan(loaded, make_accounts("a", 10, owner_id="o1"), owners("o1", "o2"))

    tier1 = [a for a in result.assignments if a.tier == 1]
    assert len(tier1) == 2
    assert {a.owner_id for a in tier1} == {"o1"}
    assert any(a.owner_id == "o2" for a in result.assignments)  # the rest did balance
    assert team_summary(result).within_tolerance


def test_move_budget_limits_balancing_and_is_reported() -> None:
    loaded = rules(max_moves=0.1)
    book = make_accounts("a", 20, owner_id="o1")
    result = plan(loaded, book, owners("o1", "o2"))

    summary = team_summary(result)
    assert (summary.moves, summary.move_budget) == (2, 2)
    assert [c.reason for c in result.changes] == ["rebalance", "rebalance"]
    assert (summary.within_tolerance, summary.infeasible_reason) == (False, "move_budget")

    spent = plan(loaded, book, owners("o1", "o2"), moves_this_quarter=2)
    assert spent.changes == []
    assert team_summary(spent).infeasible_reason == "move_budget"


def test_affinity_prefers_the_rep_of_the_accounts_industry_within_the_band() -> None:
    loaded = rules(
        teams=[team("sales", "o1", member("o2", industries=["fintech"]))],
        rows=[row("everyone", team="sales", prefer="affinity")],
    )
    accounts = [
        make_account("a001", owner_id=None, industry="fintech"),
        *(make_account(f"a{k:03d}", owner_id=None) for k in range(2, 11)),
    ]
    result = plan(loaded, accounts, owners("o1", "o2"))

    fintech = assignment(result, "a001")
    assert (fintech.owner_id, fintech.trace["why"]) == ("o2", "affinity")
    assert team_summary(result).within_tolerance


# --- change dates, identity and approval -------------------------------------------------------


def test_out_of_office_rep_change_waits_for_return() -> None:
    back = AS_OF + timedelta(days=10)
    loaded = rules(
        teams=[team("sales", member("o1", out_of_office_until=back)), team("east", "o2")]
    )
    accounts = [
        make_account("a001", owner_id=None),  # forced, to o1: waits for o1's return
        make_account("a002", owner_id="o2"),  # discretionary: notice ends after the return
    ]
    result = plan(loaded, accounts, owners("o1", "o2"))

    assert {c.account_id: (c.reason, c.effective_date) for c in result.changes} == {
        "a001": ("orphaned", back),
        "a002": ("rule_change", NOTICE_DATE),
    }
    assert rep(result, "o1").out_of_office_until == back


def test_out_of_office_return_already_past_delays_nothing() -> None:
    loaded = rules(teams=[team("sales", member("o1", out_of_office_until=AS_OF))])
    result = plan(loaded, [make_account("a001", owner_id=None)], owners("o1"))

    assert result.changes[0].effective_date == AS_OF


def test_discretionary_change_never_takes_effect_before_effective_from() -> None:
    late_start = AS_OF + timedelta(days=60)
    loaded = rules(teams=[team("sales", "o1"), team("east", "o2")], effective_from=late_start)
    accounts = [make_account("a001", owner_id="o2"), make_account("a002", owner_id=None)]
    result = plan(loaded, accounts, owners("o1", "o2"))

    assert {c.account_id: (c.reason, c.effective_date) for c in result.changes} == {
        "a001": ("rule_change", late_start),
        "a002": ("orphaned", AS_OF),  # forced changes do not wait
    }


def test_change_id_changes_with_revision_and_earlier_changes_only() -> None:
    accounts = [make_account("a001", owner_id=None)]

    def change_id(**kwargs: object) -> str:
        revision = str(kwargs.pop("revision", "r1"))
        result = plan(
            rules(teams=[team("sales", "o1")], revision=revision), accounts, owners("o1"), **kwargs
        )
        return result.changes[0].change_id

    first = change_id()
    assert change_id() == first
    assert change_id(as_of=AS_OF + timedelta(days=1)) == first
    assert change_id(revision="r2") != first
    assert change_id(change_counts={"a001": 1}) != first


def test_approval_shares() -> None:
    loaded = rules(
        teams=[team("sales", "o1"), team("east", "o2")],
        max_share_per_run=0.25,
        max_forced_share=0.30,
    )
    accounts = [
        *make_accounts("f", 3, owner_id=None),  # forced: orphaned
        *make_accounts("d", 2, owner_id="o2"),  # discretionary: rule_change
        *make_accounts("k", 5, owner_id="o1"),  # kept
    ]
    result = plan(loaded, accounts, owners("o1", "o2"))

    assert (result.forced_share, result.movement_share) == (0.3, 0.2)
    assert result.approval["needs_approval"] is False  # at the limits, not above them

    stricter = rules(
        teams=[team("sales", "o1"), team("east", "o2")],
        max_share_per_run=0.1,
        max_forced_share=0.30,
    )
    assert plan(stricter, accounts, owners("o1", "o2")).approval["needs_approval"] is True


# --- scoring -----------------------------------------------------------------------------------


def test_tier_cutoffs_rank_by_potential_then_id() -> None:
    # Ten A-C accounts, potentials rising with employees; b-accounts tie on potential.
    accounts = [
        *(make_account(f"a{k:03d}", employees=100 * k + 200) for k in range(1, 9)),
        make_account("b002", employees=5000),
        make_account("b001", employees=5000),
        make_account("d001", employees=5),  # fit D: never ranked, always tier 3
    ]
    result = plan(rules(), accounts, owners("o1", "o2"))

    tiers = {a.account_id: a.tier for a in result.assignments}
    assert tiers["d001"] == 3
    assert [k for k, t in sorted(tiers.items()) if t == 1] == ["b001", "b002"]
    assert [k for k, t in sorted(tiers.items()) if t == 2] == ["a006", "a007", "a008"]
    cutoffs = result.tier_cutoffs
    assert (cutoffs["ranked_accounts"], cutoffs["tier1"]["accounts"]) == (10, 2)
    assert cutoffs["tier2"]["accounts"] == 3
    assert cutoffs["tier1"]["min_potential"] == assignment(result, "b001").potential
    assert cutoffs["tier2"]["min_potential"] == assignment(result, "a006").potential


def test_tier_tie_breaks_on_id() -> None:
    result = plan(rules(), make_accounts("a", 5), owners("o1", "o2"))

    assert [a.tier for a in result.assignments] == [1, 2, 3, 3, 3]


@pytest.mark.parametrize(
    ("days_old", "employees", "intent"),
    [
        (0, 900, "hot"),
        (30, 900, "hot"),
        (31, 900, "warm"),
        (90, 900, "warm"),
        (91, 900, "cold"),
        (5, 30_000, "cold"),  # fit C: never hot or warm
        (5, 10_000, "hot"),  # fit B (too many employees for A)
        (-1, 900, "cold"),  # dated after as_of: has not happened yet
    ],
)
def test_intent_hot_warm_cold_only_for_fit_ab(days_old: int, employees: int, intent: str) -> None:
    account = make_account("a001", employees=employees, signals=[signal(days_old=days_old)])
    result = plan(rules(), [account], owners("o1", "o2"))

    assert assignment(result, "a001").intent == intent


def test_intent_counts_only_the_rules_signals_and_the_latest_one() -> None:
    accounts = [
        make_account("a001", signals=[("newsletter", days_ago(1))]),
        make_account("a002", signals=[signal("hiring", days_old=100), signal("rfp", days_old=10)]),
    ]
    result = plan(rules(), accounts, owners("o1", "o2"))

    assert [a.intent for a in result.assignments] == ["cold", "hot"]
    assert assignment(result, "a002").trace["signal"] == ["rfp", days_ago(10).isoformat()]


@pytest.mark.parametrize(
    ("employees", "potential"),
    [(10, 1.0), (100_000, 100.0), (1_000, 50.5), (5, 1.0), (10_000_000, 100.0), (None, 1.0)],
)
def test_potential_log_scale_factor(employees: int | None, potential: float) -> None:
    loaded = rules(factors={"employees": {"weight": 1, "scale": "log", "range": [10, 100_000]}})
    result = plan(loaded, [make_account("a001", employees=employees)], owners("o1", "o2"))

    assert assignment(result, "a001").potential == potential


def test_potential_weights_value_tables() -> None:
    loaded = rules(
        factors={
            "fit": {"weight": 1, "values": {"A": 1.0, "B": 0.5}},
            "intent": {"weight": 3, "values": {"hot": 1.0}},
        }
    )
    accounts = [
        make_account("a001"),  # A, hot: (1·1 + 3·1) / 4 = 1
        make_account("a002", employees=10_000),  # B, hot: (0.5 + 3) / 4 = 0.875
        make_account("a003", signals=()),  # A, cold: 1 / 4
    ]
    result = plan(loaded, accounts, owners("o1", "o2"))

    assert [a.potential for a in result.assignments] == [100.0, 87.62, 25.75]


def test_fit_first_matching_row_wins_and_unmatched_is_d() -> None:
    accounts = [
        make_account("a001"),  # A
        make_account("a002", industry="retail"),  # B: not an A industry
        make_account("a003", country="BR"),  # C: outside every region
        make_account("a004", employees=10),  # D: too small for any row
        make_account("a005", industry=None),  # B: a missing industry fails `in`
    ]
    result = plan(rules(), accounts, owners("o1", "o2"))

    assert [a.fit_band for a in result.assignments] == ["A", "B", "C", "D", "B"]


def test_missing_value_makes_condition_false() -> None:
    loaded = rules(
        teams=[team("small", "o1"), team("other", "o2"), team("unknown", "o3")],
        rows=[
            row("small", when={"employees": {"lt": 100}}, team="small"),
            row("not-small", when={"employees": {"gte": 100}}, team="other"),
            row("no-industry", when={"industry": {"exists": False}}, team="unknown"),
            row("everyone", team="other"),
        ],
    )
    accounts = [
        make_account("a001", employees=None, industry="software"),  # neither lt nor gte
        make_account("a002", employees=None, industry=None),
        make_account("a003", employees=99),
    ]
    result = plan(loaded, accounts, owners("o1", "o2", "o3"))

    assert [a.routing_row for a in result.assignments] == ["everyone", "no-industry", "small"]


def test_conditions_between_is_inclusive_and_text_matches_case_insensitively() -> None:
    loaded = rules(
        teams=[team("mid", "o1"), team("other", "o2")],
        rows=[
            row(
                "mid",
                when={"employees": {"between": [200, 300]}, "industry": {"in": ["Software"]}},
                team="mid",
            ),
            row("everyone", team="other"),
        ],
    )
    accounts = [
        make_account("a001", employees=200, industry="SOFTWARE"),
        make_account("a002", employees=300, industry="software"),
        make_account("a003", employees=301, industry="software"),
        make_account("a004", employees=250, industry="retail"),
    ]
    result = plan(loaded, accounts, owners("o1", "o2"))

    assert [a.routing_row for a in result.assignments] == ["mid", "mid", "everyone", "everyone"]


def test_reference_rule_file_plans_a_small_org() -> None:
    loaded = load(edited_example(("expires: 2027-06-30", "expires: 2027-03-31")))
    people = [
        make_owner(o, f"{o}@example.com") for o in ("ana", "ben", "chloe", "dmitri", "eve", "gus")
    ] + [make_owner("finn", "finn@example.com"), make_owner("queue", "territory-queue@example.com")]
    accounts = [
        make_account("a001", domain="bigbank.example", employees=3000, owner_id=None),
        make_account("a002", country="GB", owner_id=None),
        make_account("a003", lifecycle="customer", owner_id=None),
        make_account("a004", signals=(), owner_id=None),
        make_account("a005", employees=5, owner_id=None),
    ]
    result = plan(loaded, accounts, people, as_of=date(2027, 1, 15))

    assert [(a.owner_id, a.routing_row, a.outcome) for a in result.assignments] == [
        ("ana", None, "assigned"),  # named
        ("chloe", "emea", "assigned"),  # dmitri is out of office, but still a candidate
        ("eve", "customers", "assigned"),
        ("queue", "cold-watchlist", "watchlist"),
        (None, "out-of-scope", "unassigned"),
    ]


# --- why a team misses its band ----------------------------------------------------------------


def test_team_full_of_work_reports_demand_exceeds_capacity() -> None:
    # Equal minutes, but o2's role holds one account: the fair split is out of reach.
    loaded = rules(
        teams=[team("sales", "o1", member("o2", role="small"), role="big")],
        roles={"big": 3, "small": 1},
    )
    result = plan(loaded, make_accounts("a", 6, owner_id=None), owners("o1", "o2"))

    summary = team_summary(result)
    assert sum(1 for a in result.assignments if a.reason == "over_capacity") == 2
    assert (summary.within_tolerance, summary.infeasible_reason) == (
        False,
        "demand_exceeds_capacity",
    )


def test_named_load_above_the_band_reports_pinned_load_outside_band() -> None:
    loaded = rules(named_accounts=[named(f"a{k:03d}", "o1") for k in range(1, 5)])
    result = plan(loaded, make_accounts("a", 6, owner_id=None), owners("o1", "o2"))

    assert team_summary(result).infeasible_reason == "pinned_load_outside_band"


def test_single_account_larger_than_the_band_reports_account_exceeds_band() -> None:
    result = plan(rules(), [make_account("a001", owner_id=None)], owners("o1", "o2"))

    assert team_summary(result).infeasible_reason == "account_exceeds_band"


def test_team_whose_reps_are_all_inactive_is_outside_its_band_for_want_of_members() -> None:
    loaded = rules(teams=[team("sales", "o1", "o2"), team("east", "o3")])
    result = plan(
        loaded,
        make_accounts("a", 4, owner_id=None),
        owners("o1", "o2", "o3", inactive=("o1", "o2")),
    )

    sales = team_summary(result)
    assert (sales.within_tolerance, sales.infeasible_reason) == (False, "no_active_members")
    assert {a.reason for a in result.assignments} == {"over_capacity"}
    east = team_summary(result, "east")  # its rep is active; nothing is routed to it
    assert (east.within_tolerance, east.infeasible_reason) == (True, None)


def plan_with_every_rep_inactive() -> Plan:
    people = [
        make_owner(o, f"{o}@example.com", active=False)
        for o in ("ana", "ben", "chloe", "dmitri", "eve", "gus", "finn")
    ]
    accounts = [
        make_account("a001", owner_id="ana"),
        make_account("a002", country="GB", owner_id="chloe"),
        make_account("a003", lifecycle="customer", owner_id="eve"),
        make_account("a004", owner_id="finn", country="BR"),
    ]
    return plan(load(edited_example()), accounts, people)


def test_with_every_rep_inactive_no_team_is_within_its_band_and_no_quota_pencils_out() -> None:
    result = plan_with_every_rep_inactive()

    pipelines = [t.pipeline for t in result.teams if t.pipeline is not None]
    assert len(pipelines) == 2
    assert not any(p["pencils_out"] for p in pipelines)
    assert [(t.team, t.within_tolerance, t.infeasible_reason) for t in result.teams] == [
        ("account-management", False, "no_active_members"),
        ("emea-midmarket", False, "no_active_members"),
        ("na-enterprise", False, "no_active_members"),
        ("sdr-pool", False, "no_active_members"),
    ]


def test_with_every_rep_inactive_the_plan_tables_show_no_team_within_and_no_quota_met() -> None:
    balance = balance_section(plan_document(plan_with_every_rep_inactive()))

    verdicts = {row[0]: (row[3], row[-1]) for row in balance.rows}
    assert verdicts == {
        "account-management": ("outside ±10%: no_active_members", "-"),
        "emea-midmarket": ("outside ±10%: no_active_members", "no"),
        "na-enterprise": ("outside ±10%: no_active_members", "no"),
        "sdr-pool": ("outside ±10%: no_active_members", "-"),
    }
    assert balance.notes == ["no_active_members: no member of the team is an active CRM owner."]


def test_pinned_load_is_measured_with_the_balance_index() -> None:
    # o1's two named accounts are small in potential: by the index (potential and effort)
    # they are 1.08 of o1's fair share, inside the band, though they are half the team's
    # minutes. One move (a001 to o3) would reach the band; the budget allows none.
    loaded = rules(
        teams=[team("sales", "o1", "o2", "o3")],
        minutes=(25, 25, 25),
        max_moves=0.0,
        named_accounts=[named("n001", "o1"), named("n002", "o1")],
    )
    small = {"employees": 60, "annual_revenue": None, "signals": ()}
    accounts = [
        make_account("n001", **small),
        make_account("n002", **small),
        make_account("a001", owner_id="o1"),
        make_account("b001", owner_id=None),
    ]
    result = plan(loaded, accounts, owners("o1", "o2", "o3"))

    assert team_summary(result).infeasible_reason == "move_budget"


def test_kept_keep_owner_load_above_the_band_reports_pinned_load_outside_band() -> None:
    loaded = rules(rows=[row("customers", team="sales", strategy="keep_owner")])
    result = plan(loaded, make_accounts("a", 6, owner_id="o1"), owners("o1", "o2"))

    assert owner_of(result) == {f"a{k:03d}": "o1" for k in range(1, 7)}  # kept: not moved
    assert team_summary(result).infeasible_reason == "pinned_load_outside_band"


def test_protected_load_above_the_band_reports_pinned_load_outside_band() -> None:
    loaded = rules(protect_tiers=[1], tier_shares=(0.5, 0.3))
    result = plan(loaded, make_accounts("a", 10, owner_id="o1"), owners("o1", "o2"))

    # Five protected tier-1 accounts alone are 1.21 of o1's fair share.
    assert {a.owner_id for a in result.assignments if a.tier == 1} == {"o1"}
    assert team_summary(result).infeasible_reason == "pinned_load_outside_band"


def test_balancer_reaches_a_band_that_needs_two_accounts_swapped() -> None:
    # o1 ramps (a third of the team's capacity). Both accounts are new, so placing them costs
    # no move: the small one on o1 (index 1.08) and the large one on o2 (0.96) is in the band.
    loaded = rules(
        teams=[team("sales", member("o1", start_date=days_ago(40)), "o2")],
        minutes=(25, 25, 25),
        tolerance=0.2,
    )
    accounts = [
        make_account("a001", owner_id=None),
        make_account("a002", owner_id=None, employees=60, annual_revenue=None, signals=()),
    ]
    result = plan(loaded, accounts, owners("o1", "o2"))

    assert team_summary(result).within_tolerance
    assert owner_of(result) == {"a001": "o2", "a002": "o1"}


def test_band_no_number_of_moves_reaches_reports_account_exceeds_band() -> None:
    # Three equal accounts, two equal reps: a rep holds a third or two thirds of the work,
    # never the half (± 10%) the band asks. The budget allows no move, but more would not help.
    loaded = rules(minutes=(25, 25, 25), max_moves=0.0)
    result = plan(loaded, make_accounts("a", 3, owner_id="o1"), owners("o1", "o2"))

    assert team_summary(result).infeasible_reason == "account_exceeds_band"


def test_children_of_a_named_account_follow_it_while_the_rep_has_room() -> None:
    # The exception is the named account, not its family: o1 holds two accounts, so one child
    # follows and the others route on their own row.
    loaded = rules(roles={"ae": 2}, named_accounts=[named("p001", "o1")])
    accounts = [
        make_account("p001", owner_id=None),
        *(make_account(f"c{k:03d}", owner_id=None, parent_id="p001") for k in (1, 2, 3)),
    ]
    result = plan(loaded, accounts, owners("o1", "o2"))

    assert (rep(result, "o1").accounts, rep(result, "o1").named_accounts) == (2, 1)
    assert [a.account_id for a in result.assignments if a.why == "hierarchy"] == ["c001"]
    assert {a.owner_id for a in result.assignments if a.account_id in ("c002", "c003")} == {"o2"}


def test_move_budget_is_the_quarters_not_a_fixed_share_per_team() -> None:
    # 20 accounts and 15% a quarter: 3 moves. West is balanced; east needs every move.
    east = [f"Company a{k:03d}" for k in range(1, 11)]
    loaded = rules(
        teams=[team("east", "o1", "o2"), team("west", "o3", "o4")],
        rows=[row("east", when={"name": {"in": east}}, team="east"), row("west", team="west")],
        max_moves=0.15,
    )
    accounts = [
        *make_accounts("a", 10, owner_id="o1"),
        *(make_account(f"b{k:03d}", owner_id="o3" if k % 2 else "o4") for k in range(1, 11)),
    ]
    result = plan(loaded, accounts, owners("o1", "o2", "o3", "o4"))

    assert (team_summary(result, "east").moves, team_summary(result, "west").moves) == (3, 0)
    spent = plan(
        loaded,
        [replace(a, owner_id=owner_of(result)[a.id]) for a in accounts],
        owners("o1", "o2", "o3", "o4"),
        moves_this_quarter=3,
    )
    assert spent.changes == []  # the quarter's budget is spent


def test_balancer_reaches_a_band_that_needs_two_accounts_traded_for_one() -> None:
    # New accounts of potential 6, 6, 35 and 55 with equal minutes. o1 ramps (a third of the
    # capacity): only the two small ones together put it in the band (0.93; o2 1.04).
    loaded = rules(
        teams=[team("sales", member("o1", start_date=days_ago(40)), "o2")],
        minutes=(25, 25, 25),
        factors={"employees": {"weight": 1, "scale": "linear", "range": [0, 99]}},
        roles={"ae": 4},
    )
    accounts = [
        make_account("s001", owner_id=None, employees=5),
        make_account("s002", owner_id=None, employees=5),
        make_account("m001", owner_id=None, employees=34),
        make_account("l001", owner_id=None, employees=54),
    ]
    result = plan(loaded, accounts, owners("o1", "o2"))

    assert team_summary(result).within_tolerance
    assert owner_of(result) == {"l001": "o2", "m001": "o2", "s001": "o1", "s002": "o1"}


def test_keep_owner_surplus_on_another_rep_is_not_pinned_load() -> None:
    # o1 (a quarter of a 60-minute day) cannot keep its 25-minute customer; the surplus is
    # balanced in the team like any account, and one account cannot sit inside the band.
    loaded = rules(
        teams=[team("sales", member("o1", start_date=days_ago(10)), "o2")],
        working_days=1,
        focus_hours=1,
        rows=[row("customers", team="sales", strategy="keep_owner")],
    )
    result = plan(loaded, [make_account("a001", owner_id="o1")], owners("o1", "o2"))

    assert owner_of(result) == {"a001": "o2"}
    assert team_summary(result).infeasible_reason == "account_exceeds_band"


def test_pinned_load_inside_the_band_is_not_the_cause() -> None:
    # The team's one account is pinned to o1 (index 1.25, inside 1 ± 0.3); o2 has nothing.
    loaded = rules(
        teams=[team("sales", "o1", member("o2", start_date=days_ago(10)))], tolerance=0.3
    )
    result = plan(loaded, [make_account("a001")], owners("o1", "o2"), pinned={"a001": "o1"})

    assert index_of(result, "o1") == pytest.approx(1.25)
    assert team_summary(result).infeasible_reason == "account_exceeds_band"
