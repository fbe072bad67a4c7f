"""What the ledger tells the engine about people: reps leaving on a known day, hand-kept owners.

`PlanContext.departures` maps an owner id to the day that rep leaves; `PlanContext.pinned` maps
an account id to the owner kept by hand. Unless a test says otherwise, team `sales` is o1, o2
and o3 with a balanced catch-all row and every account is a fit-A, hot NA prospect; `as_of`
is 2027-01-15.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from rules.domain import Owner
from rules.plan import Plan, RepSummary
from tests.engine.factories import (
    AS_OF,
    make_account,
    make_accounts,
    make_owner,
    plan,
    rules,
    team,
)

LEAVES = AS_OF + timedelta(days=7)
SALES = rules(teams=[team("sales", "o1", "o2", "o3")])


def owners(*ids: str, inactive: tuple[str, ...] = ()) -> list[Owner]:
    return [make_owner(i, active=i not in inactive) for i in ids]


def rep(result: Plan, owner_id: str) -> RepSummary:
    return next(r for r in result.reps if r.owner_id == owner_id)


def owner_of(result: Plan) -> dict[str, str | None]:
    return {a.account_id: a.owner_id for a in result.assignments}


# --- departures ------------------------------------------------------------------------------


def test_a_rep_leaving_on_a_known_day_hands_the_book_over_on_that_day_as_departed() -> None:
    book = [*make_accounts("a", 6, owner_id="o3"), *make_accounts("b", 6, owner_id="o1")]
    result = plan(SALES, book, owners("o1", "o2", "o3"), departures={"o3": LEAVES})

    moved = [c for c in result.changes if c.from_owner_id == "o3"]
    assert len(moved) == 6
    assert {(c.reason, c.effective_date, c.share) for c in moved} == {
        ("departed", LEAVES, "forced")
    }
    assert "o3" not in owner_of(result).values()
    assert rep(result, "o3").accounts == 0
    assert next(t for t in result.teams if t.team == "sales").within_tolerance


def test_a_leaving_rep_is_no_candidate_for_new_accounts() -> None:
    result = plan(
        SALES, make_accounts("a", 6, owner_id=None), owners("o1", "o2", "o3"),
        departures={"o1": LEAVES, "o2": LEAVES},
    )  # fmt: skip

    assert set(owner_of(result).values()) == {"o3"}
    assert {c.effective_date for c in result.changes} == {AS_OF}  # orphans move at once


def test_a_departure_day_already_past_moves_the_book_at_once() -> None:
    book = make_accounts("a", 2, owner_id="o3")
    result = plan(
        SALES, book, owners("o1", "o2", "o3"), departures={"o3": AS_OF - timedelta(days=3)}
    )

    assert {(c.reason, c.effective_date) for c in result.changes} == {("departed", AS_OF)}


def test_a_rep_already_inactive_moves_at_once_whatever_day_was_given() -> None:
    book = make_accounts("a", 2, owner_id="o3")
    result = plan(
        SALES, book, owners("o1", "o2", "o3", inactive=("o3",)), departures={"o3": LEAVES}
    )

    assert {(c.reason, c.effective_date) for c in result.changes} == {("departed", AS_OF)}


def test_a_child_following_a_leaving_reps_account_moves_on_its_parents_day() -> None:
    loaded = rules(teams=[team("sales", "o1", "o3"), team("east", "o2")])
    accounts = [
        make_account("p001", owner_id="o3"),
        make_account("c001", owner_id="o2", parent_id="p001"),  # an east rep's child account
    ]
    result = plan(loaded, accounts, owners("o1", "o2", "o3"), departures={"o3": LEAVES})

    assert [(c.account_id, c.reason, c.to_owner_id, c.effective_date) for c in result.changes] == [
        ("c001", "hierarchy", "o1", LEAVES),
        ("p001", "departed", "o1", LEAVES),
    ]


def test_a_leaving_reps_named_and_pinned_accounts_route_like_the_rest_of_the_book() -> None:
    loaded = rules(
        teams=[team("sales", "o1", "o2", "o3")],
        named_accounts=[{"account": {"id": "a001"}, "owner": "o3@example.com",
                         "approved_by": "cro@example.com", "expires": "2027-06-30"}],
    )  # fmt: skip
    book = make_accounts("a", 2, owner_id="o3")
    result = plan(
        loaded, book, owners("o1", "o2", "o3"), departures={"o3": LEAVES}, pinned={"a002": "o3"}
    )

    assert {c.account_id: (c.reason, c.effective_date) for c in result.changes} == {
        "a001": ("departed", LEAVES),
        "a002": ("departed", LEAVES),
    }
    assert "o3" not in owner_of(result).values()


# --- pins --------------------------------------------------------------------------------------


def test_pinned_accounts_are_kept_even_over_capacity_and_count_toward_load() -> None:
    loaded = rules(teams=[team("sales", "o1", "o2")], roles={"ae": 2})
    kept = make_accounts("k", 4, owner_id="o1")
    accounts = [*kept, *make_accounts("n", 2, owner_id=None)]
    result = plan(loaded, accounts, owners("o1", "o2"), pinned={a.id: "o1" for a in kept})

    planned = owner_of(result)
    assert [planned[a.id] for a in kept] == ["o1"] * 4
    assert (planned["n001"], planned["n002"]) == ("o2", "o2")  # o1 is full: pins count
    summary = rep(result, "o1")
    assert (summary.accounts, summary.max_accounts, summary.pinned_accounts) == (4, 2, 4)
    minutes = sum(90 if a.tier == 1 else 45 if a.tier == 2 else 25 for a in result.assignments
                  if a.owner_id == "o1")  # fmt: skip
    assert summary.load_minutes == minutes
    assert {a.why for a in result.assignments if a.account_id.startswith("k")} == {"pinned"}
    assert [c.account_id for c in result.changes] == ["n001", "n002"]


def test_a_locked_account_keeps_its_owner_as_a_pin_from_any_source() -> None:
    book = make_accounts("a", 6, owner_id="o1")
    locked = {a.id for a in book[:4]}
    unlocked = plan(SALES, book, owners("o1", "o2", "o3"))
    assert {c.account_id for c in unlocked.changes} & locked  # balancing would move some

    result = plan(
        SALES, [replace(a, locked=a.id in locked) for a in book], owners("o1", "o2", "o3")
    )

    assert {a.owner_id for a in result.assignments if a.account_id in locked} == {"o1"}
    assert {a.why for a in result.assignments if a.account_id in locked} == {"pinned"}
    assert not {c.account_id for c in result.changes} & locked
    assert rep(result, "o1").pinned_accounts == 4


def test_a_lock_on_an_inactive_owners_account_keeps_nothing() -> None:
    account = replace(make_account("a001", owner_id="o3"), locked=True)
    result = plan(SALES, [account], owners("o1", "o2", "o3", inactive=("o3",)))

    (change,) = result.changes
    assert (change.reason, change.to_owner_id in ("o1", "o2")) == ("departed", True)


def test_a_pin_to_an_inactive_owner_is_not_kept() -> None:
    result = plan(
        SALES, [make_account("a001", owner_id="o3")], owners("o1", "o2", "o3", inactive=("o3",)),
        pinned={"a001": "o3"},
    )  # fmt: skip

    (change,) = result.changes
    assert (change.reason, change.to_owner_id in ("o1", "o2")) == ("departed", True)
