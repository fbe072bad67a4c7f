"""What docs/engine.md promises for an org, derived from its inputs without the engine's helpers.

Capacities come from the rule's working days, focus hours, ramp rows and roles; honoured
named accounts and pins from `named_accounts`, `as_of` and the owners' `active` flags;
families from the snapshot's `parent_id`s; balance indexes from the planned books. The
property tests hold the plan to these.

Why a team misses its band (`balance_cause`), in this order, the first that holds wins:

1. `pinned_load_outside_band`: load balancing may not move already takes some rep above the
   band on its own. That load is named and pinned accounts (with the children that follow
   them) and accounts kept by their eligible owner that are protected (`balance.protect`) or
   routed by a `keep_owner` row. It is measured with the balance index itself (potential and
   effort) against everything the team was asked to hold, including accounts then left over
   capacity: when only the missing capacity lifts the pinned share, the cause is step 2.
   A rep left below the band because the work is pinned elsewhere is not this cause unless
   that pinned work is also above the band (then moving whole accounts is what fails).
2. `demand_exceeds_capacity`: the team left accounts that a row routed to it unassigned.
3. An exact check (a MILP solved by HiGHS) of the accounts balancing may move, whole, each
   with the children that follow it, onto the team's active reps within both budgets:
   no placement reaches the band -> `account_exceeds_band`; one does, but only with more
   moves (accounts leaving their eligible owner) than the team's budget -> `move_budget`;
   one does within the budget -> the team should have been within its band (no cause fits:
   `REACHABLE`).
   When HiGHS runs out of time the verdict is `UNDECIDED`.

The engine's precedence (`rules/reports.py::_infeasible_cause`, `docs/engine.md`) is the
same order, but it tells step 3's causes apart by where its greedy balancer stopped: out of
budget while a further move would still *improve* the team (`move_budget`), or stuck.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from rules.plan import Assignment, Plan
from tests.engine.factories import Org

# Reported floats are rounded to 6 places; band checks allow for that.
SLACK = 1e-6
MILP_SECONDS = 5.0
HIGHS_INFEASIBLE = 2  # scipy.optimize.milp status
# What `balance_cause` says when no cause fits: the solver ran out of time, or the band was
# reachable within the move budget (the team should have been inside it).
UNDECIDED = "undecided"
REACHABLE = "the band is reachable"


@dataclass(frozen=True, slots=True)
class RepFacts:
    owner_id: str
    team: str
    active: bool
    capacity_minutes: float
    max_accounts: int
    out_of_office_until: date | None


def rep_facts(org: Org) -> dict[str, RepFacts]:
    """Team members that resolve to an owner; budgets scaled by the first running ramp row.

    `max_accounts` is at least 1: the engine lets a rep on day one of a ramp hold one account.
    """
    capacity = org.data["capacity"]
    full_minutes = capacity["working_days_per_quarter"] * capacity["focus_hours_per_day"] * 60
    by_email = {o.email.lower(): o for o in org.owners}
    facts: dict[str, RepFacts] = {}
    for team in org.data["teams"]:
        for member in team["members"]:
            owner = by_email.get(member["email"])
            if owner is None:
                continue
            share = 1.0
            if member.get("start_date") is not None:
                days = (org.as_of - member["start_date"]).days
                share = next((r["share"] for r in capacity["ramp"] if days < r["until_day"]), 1.0)
            role_max = capacity["roles"][member.get("role", team["role"])]["max_accounts"]
            away = member.get("out_of_office_until")
            facts[owner.id] = RepFacts(
                owner_id=owner.id,
                team=team["id"],
                active=owner.active,
                capacity_minutes=full_minutes * share,
                max_accounts=max(1, math.floor(role_max * share + 1e-9)),
                out_of_office_until=away if away is not None and away > org.as_of else None,
            )
    return facts


def honoured_named(org: Org) -> dict[str, str]:
    """Account id -> named owner id, for entries not expired whose owner is active."""
    by_email = {o.email.lower(): o for o in org.owners}
    by_key = {("id", a.id): a.id for a in org.accounts}
    by_key |= {("domain", a.domain): a.id for a in org.accounts if a.domain}
    honoured: dict[str, str] = {}
    for entry in org.data["named_accounts"]:
        ((kind, value),) = entry["account"].items()
        account_id = by_key.get((kind, value))
        owner = by_email.get(entry["owner"])
        if account_id and owner is not None and owner.active and org.as_of <= entry["expires"]:
            honoured[account_id] = owner.id
    return honoured


def honoured_pins(org: Org) -> dict[str, str]:
    """Account id -> pinned owner id, for active owners and accounts not named (named wins)."""
    active = {o.id for o in org.owners if o.active}
    named = honoured_named(org)
    return {a: o for a, o in org.pinned.items() if o in active and a not in named}


def ultimate_parents(org: Org) -> dict[str, str]:
    """Account id -> the top of its parent chain within the snapshot (itself when none)."""
    parent = {a.id: a.parent_id for a in org.accounts}
    top: dict[str, str] = {}
    for account_id in parent:
        current = account_id
        seen = {current}
        while (up := parent.get(current)) is not None and up in parent and up not in seen:
            current = up
            seen.add(up)
        top[account_id] = current
    return top


def tier_minutes(org: Org, tier: int) -> int:
    return int(org.data["capacity"]["minutes_per_account"][f"tier{tier}"])


def routing_row(org: Org, row_id: str | None) -> dict[str, Any] | None:
    return next((r for r in org.data["routing"]["rows"] if r["id"] == row_id), None)


def books(plan: Plan) -> dict[str, list[Assignment]]:
    """Owner id -> the accounts planned to them with outcome `assigned` (what load counts)."""
    out: dict[str, list[Assignment]] = {}
    for a in plan.assignments:
        if a.owner_id is not None and a.outcome == "assigned":
            out.setdefault(a.owner_id, []).append(a)
    return out


def followers(org: Org, plan: Plan) -> dict[str, str]:
    """Child id -> ultimate parent id, for children rule 4 (docs/engine.md) makes follow the parent:
    the parent's outcome is `assigned`, the child is neither named nor pinned, and its row
    does not override the hierarchy."""
    if not org.data["hierarchy"]["children_follow_parent"]:
        return {}
    settled_first = honoured_named(org) | honoured_pins(org)
    out: dict[str, str] = {}
    for child, top in ultimate_parents(org).items():
        planned, parent = plan.assignment(child), plan.assignment(top)
        assert planned is not None
        assert parent is not None
        row = routing_row(org, planned.routing_row)
        if (
            child != top
            and child not in settled_first
            and parent.outcome == "assigned"
            and not (row is not None and row.get("overrides_hierarchy"))
        ):
            out[child] = top
    return out


def following(org: Org, plan: Plan) -> dict[str, str]:
    """The children of `followers` that the plan gives their parent's owner."""
    owner = {a.account_id: (a.owner_id, a.outcome) for a in plan.assignments}
    return {c: top for c, top in followers(org, plan).items() if owner[c] == owner[top]}


def no_room_with_parent(org: Org, plan: Plan, child: str) -> bool:
    """Whether a child of a named or pinned parent would take the parent's rep over a budget.

    The exception is the named (or pinned) account, not its family: children follow it while
    the rep has room, counted over what is settled before routing (named and pinned accounts
    and the children following them)."""
    top = ultimate_parents(org)[child]
    settled = honoured_named(org) | honoured_pins(org)
    parent = plan.assignment(top)
    assert parent is not None
    rep = rep_facts(org).get(parent.owner_id or "")
    if top not in settled or rep is None:
        return False
    along = following(org, plan)
    held = [
        a
        for a in books(plan).get(rep.owner_id, [])
        if a.account_id in settled or along.get(a.account_id) in settled
    ]
    planned = plan.assignment(child)
    assert planned is not None
    return (
        sum(tier_minutes(org, a.tier) for a in held) + tier_minutes(org, planned.tier)
        > rep.capacity_minutes + SLACK
        or len(held) + 1 > rep.max_accounts
    )


# --- balance -----------------------------------------------------------------------------------


@dataclass(slots=True)
class TeamBalance:
    """A team's active members, their capacity shares and balance indexes."""

    weights: tuple[float, float]
    share: dict[str, float]
    total_potential: float
    total_minutes: float
    index: dict[str, float] = field(default_factory=dict)

    def within(self, tolerance: float) -> bool:
        return all(abs(i - 1) <= tolerance + SLACK for i in self.index.values())

    def work(self, potential: float, minutes: float) -> float:
        """Share of the team's work: (wp·P/ΣP + we·E/ΣE) / (wp + we)."""
        wp, we = self.weights
        p = potential / self.total_potential if self.total_potential else 0.0
        e = minutes / self.total_minutes if self.total_minutes else 0.0
        return (wp * p + we * e) / (wp + we)

    def work_of(self, accounts: list[Assignment], org: Org) -> float:
        return self.work(
            sum(a.potential for a in accounts), sum(tier_minutes(org, a.tier) for a in accounts)
        )


def team_balance(
    org: Org, plan: Plan, team: str, *, also: Iterable[Assignment] = ()
) -> TeamBalance:
    """Index = (wp·P_r/ΣP + we·E_r/ΣE) / (C_r/ΣC) over the team's active members; `also`
    adds accounts to the totals ΣP and ΣE that no member holds."""
    members = [f for f in rep_facts(org).values() if f.team == team and f.active]
    book = books(plan)
    weights = org.data["balance"]["index"]
    total_c = sum(m.capacity_minutes for m in members)
    held = [a for m in members for a in book.get(m.owner_id, [])]
    counted = held + list(also)
    balance = TeamBalance(
        weights=(weights["potential"], weights["effort"]),
        share={m.owner_id: m.capacity_minutes / total_c for m in members},
        total_potential=sum(a.potential for a in counted),
        total_minutes=sum(tier_minutes(org, a.tier) for a in counted),
    )
    if held:
        for m in members:
            work = balance.work_of(book.get(m.owner_id, []), org)
            balance.index[m.owner_id] = work / balance.share[m.owner_id]
    return balance


@dataclass(slots=True)
class Unit:
    """An account with the children that follow it, as balancing sees it."""

    accounts: list[Assignment]
    holder: str
    home: str | None  # the eligible CRM owner, whom the unit may stay with for free
    movable: bool


def team_units(org: Org, plan: Plan, team: str) -> list[Unit]:
    """Every account on the team's active members' books, grouped into units."""
    facts = rep_facts(org)
    members = {f.owner_id for f in facts.values() if f.team == team and f.active}
    fixed = honoured_named(org) | honoured_pins(org)
    heads = following(org, plan)
    crm_owner = {a.id: a.owner_id for a in org.accounts}
    protect = org.data["balance"]["protect"]
    book = books(plan)
    grouped: dict[str, list[Assignment]] = {}
    for owner_id in sorted(members):
        for a in book.get(owner_id, []):
            grouped.setdefault(heads.get(a.account_id, a.account_id), []).append(a)
    units = []
    for head_id, accounts in sorted(grouped.items()):
        head = plan.assignment(head_id)
        assert head is not None
        assert head.owner_id is not None
        row = routing_row(org, head.routing_row)
        owner = crm_owner[head_id]
        eligible = owner in members and row is not None and row["assign"].get("team") == team
        kept_for_good = (
            eligible
            and owner == head.owner_id
            and row is not None
            and (
                head.tier in protect["tiers"]
                or row["id"] in protect["routing_rows"]
                or row["assign"].get("strategy") == "keep_owner"
            )
        )
        units.append(
            Unit(
                accounts=accounts,
                holder=head.owner_id,
                home=owner if eligible else None,
                movable=head_id not in fixed and not kept_for_good,
            )
        )
    return units


@dataclass(frozen=True, slots=True)
class Reachable:
    """The exact check's verdict: can whole units reach the band, and in how few moves."""

    decided: bool
    feasible: bool = False
    moves: int | None = None  # fewest moves found (the minimum when `optimal`)
    optimal: bool = False


def band_reachable(org: Org, plan: Plan, team: str, units: list[Unit]) -> Reachable:
    """Place the movable units on the team's active reps within both budgets and the band,
    with the fewest moves."""
    facts = rep_facts(org)
    balance = team_balance(org, plan, team)
    tolerance = org.data["balance"]["tolerance"]
    reps = sorted(balance.share)
    moving = [u for u in units if u.movable]
    staying = [u for u in units if not u.movable]
    size = len(moving) * len(reps)

    def var(u: int, r: int) -> int:
        return u * len(reps) + r

    rows: list[np.ndarray] = []
    low: list[float] = []
    high: list[float] = []
    for u in range(len(moving)):
        line = np.zeros(size)
        line[[var(u, r) for r in range(len(reps))]] = 1
        rows.append(line)
        low.append(1)
        high.append(1)
    for r, owner_id in enumerate(reps):
        kept = [a for unit in staying if unit.holder == owner_id for a in unit.accounts]
        rep = facts[owner_id]
        share = balance.share[owner_id]
        work, minutes, count = np.zeros(size), np.zeros(size), np.zeros(size)
        for u, unit in enumerate(moving):
            work[var(u, r)] = balance.work_of(unit.accounts, org)
            minutes[var(u, r)] = sum(tier_minutes(org, a.tier) for a in unit.accounts)
            count[var(u, r)] = len(unit.accounts)
        fixed_work = balance.work_of(kept, org)
        rows += [work, minutes, count]
        low += [(1 - tolerance) * share - fixed_work, -np.inf, -np.inf]
        high += [
            (1 + tolerance) * share - fixed_work,
            max(0.0, rep.capacity_minutes - sum(tier_minutes(org, a.tier) for a in kept)),
            max(0, rep.max_accounts - len(kept)),
        ]
    # Minimise moves: every account of a unit that leaves its eligible owner is one.
    cost = np.zeros(size)
    for u, unit in enumerate(moving):
        if unit.home in reps:
            cost[var(u, reps.index(unit.home))] = -len(unit.accounts)
    stays_free = -cost.sum()
    if size == 0:
        # Nothing may move: the band is reachable only where the plan already is.
        return Reachable(decided=True, feasible=balance.within(tolerance), moves=0, optimal=True)
    result = milp(
        cost,
        integrality=np.ones(size),
        bounds=Bounds(0, 1),
        constraints=LinearConstraint(np.array(rows), low, high),
        options={"time_limit": MILP_SECONDS},
    )
    if result.status == HIGHS_INFEASIBLE:
        return Reachable(decided=True, feasible=False)
    if result.x is None:
        return Reachable(decided=False)
    moves = round(stays_free + float(cost @ np.round(result.x)))
    x = np.round(result.x).reshape(-1, len(reps))
    if not _verified(org, plan, team, (staying, moving, reps, x)):
        return Reachable(decided=False)
    return Reachable(decided=True, feasible=True, moves=moves, optimal=result.status == 0)


def _verified(
    org: Org,
    plan: Plan,
    team: str,
    placement: tuple[list[Unit], list[Unit], list[str], np.ndarray],
) -> bool:
    """Recompute the solver's placement in plain floats: the band must really hold."""
    staying, moving, reps, x = placement
    balance = team_balance(org, plan, team)
    tolerance = org.data["balance"]["tolerance"]
    carried: dict[str, list[Assignment]] = {r: [] for r in reps}
    for unit in staying:
        carried[unit.holder] += unit.accounts
    for i, unit in enumerate(moving):
        carried[reps[int(np.argmax(x[i]))]] += unit.accounts
    return all(
        abs(balance.work_of(carried[r], org) / balance.share[r] - 1) <= tolerance for r in reps
    )


def left_over_capacity(org: Org, plan: Plan, team: str) -> list[Assignment]:
    """Accounts a row routed to `team`, with the children that would follow them, that were
    planned `unassigned`: the team had no room for them."""
    left: set[str] = set()
    for a in plan.assignments:
        row = routing_row(org, a.routing_row)
        if (
            a.outcome == "unassigned"
            and a.team == team
            and row is not None
            and row["assign"].get("team") == team
            and not row["assign"].get("unassigned")
            and not row["assign"].get("watchlist")
        ):
            left.add(a.account_id)
    top = ultimate_parents(org)
    settled_first = honoured_named(org) | honoured_pins(org)
    follow = org.data["hierarchy"]["children_follow_parent"]

    def with_parent(a: Assignment) -> bool:
        row = routing_row(org, a.routing_row)
        return (
            follow
            and top[a.account_id] in left
            and a.account_id not in settled_first
            and not (row is not None and row.get("overrides_hierarchy"))
        )

    return [
        a
        for a in plan.assignments
        if a.outcome == "unassigned" and a.team == team and (a.account_id in left or with_parent(a))
    ]


def left_over_units(org: Org, plan: Plan, team: str) -> list[list[Assignment]]:
    """`left_over_capacity`, grouped into units: an account with the children following it."""
    top = ultimate_parents(org)
    accounts = left_over_capacity(org, plan, team)
    ids = {a.account_id for a in accounts}
    units: dict[str, list[Assignment]] = {}
    for a in accounts:
        head = top[a.account_id] if top[a.account_id] in ids else a.account_id
        units.setdefault(head, []).append(a)
    return list(units.values())


def balance_cause(org: Org, plan: Plan, team: str) -> str:
    """The cause a team misses its band, derived as the module docstring says."""
    tolerance = org.data["balance"]["tolerance"]
    units = team_units(org, plan, team)
    unplaced = left_over_capacity(org, plan, team)
    # Immovable work against everything the team was asked to hold, placed or not: had the
    # team had room for all of it, would that work alone still be above the band?
    demand = team_balance(org, plan, team, also=unplaced)
    for owner_id, share in demand.share.items():
        held = [a for u in units if u.holder == owner_id and not u.movable for a in u.accounts]
        if demand.work_of(held, org) / share > 1 + tolerance + SLACK:
            return "pinned_load_outside_band"
    if unplaced:
        return "demand_exceeds_capacity"
    reachable = band_reachable(org, plan, team, units)
    if not reachable.decided:
        return UNDECIDED
    if not reachable.feasible:
        return "account_exceeds_band"
    budget = next(t.move_budget for t in plan.teams if t.team == team)
    assert reachable.moves is not None
    if reachable.moves > budget:
        return "move_budget" if reachable.optimal else UNDECIDED
    return f"{REACHABLE} in {reachable.moves} moves within a budget of {budget}"
