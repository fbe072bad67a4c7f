"""The assignment engine: snapshot + rule file + as_of -> plan, deterministically.

The hard rules win in the order docs/engine.md gives: only active owners own anything; named
accounts; manual pins; children follow an assigned parent; routing rows, first match; teams
keep eligible owners, place the pool and balance with the fewest moves.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from datetime import date

from rules.balancing import TeamLoad, TeamOutcome, Unit, assign_team
from rules.capacity import Rep, build_reps, minutes_per_account
from rules.changes import ChangeInputs, plan_changes
from rules.columns import AccountColumns
from rules.conditions import first_match, when_mask
from rules.context import OpenChange, PlanContext
from rules.domain import Account, Owner, Snapshot
from rules.loader import LoadedRules
from rules.plan import Assignment, Plan
from rules.reasons import ChangeReason, KeptReason, Outcome, Reason, Status, Why
from rules.reports import summarise
from rules.schema import RoutingRow, RuleFile
from rules.scoring import BANDS, INTENTS, Scores, score_accounts


@dataclass(slots=True)
class Decisions:
    """Per-account decisions in row order, filled step by step."""

    owner: list[str | None]
    outcome: list[Outcome]
    team: list[str | None]
    why: list[Why]
    head: list[int]  # row of the parent this account follows, or -1
    candidates: dict[int, list[tuple[str, float, str]]] = field(default_factory=dict)
    named: dict[int, int] = field(default_factory=dict)  # row -> named_accounts index
    named_owner_inactive: set[int] = field(default_factory=set)
    named_expired: set[int] = field(default_factory=set)


@dataclass(slots=True)
class World:
    """Lookups the steps share."""

    rule: RuleFile
    accounts: list[Account]
    row_of: dict[str, int]
    owners: dict[str, Owner]
    owner_by_email: dict[str, Owner]
    reps: list[Rep]
    rep_of: dict[str, Rep]
    scores: Scores
    routing: list[int]
    status: list[Status]
    minutes: list[int]
    departures: dict[str, date]  # owner id -> the day a rep still active in the CRM leaves


def plan_territories(
    loaded: LoadedRules,
    snapshot: Snapshot,
    as_of: date,
    context: PlanContext | None = None,
) -> Plan:
    """Return the plan for `snapshot` under `loaded` on `as_of`; same input, same plan."""
    context = context or PlanContext()
    rule = loaded.rule
    world = _world(rule, snapshot, as_of, context)
    n = len(world.accounts)
    decisions = Decisions(
        owner=[None] * n,
        outcome=[Outcome.ASSIGNED] * n,
        team=[None] * n,
        why=[Why.CONTINUITY] * n,  # every account's why is set by the step that decides it
        head=[-1] * n,
    )
    team_moves = _decide(world, decisions, context, as_of)
    changes = plan_changes(
        ChangeInputs(
            rule=rule,
            accounts=world.accounts,
            status=world.status,
            rep_of=world.rep_of,
            holding_owners=_holding_owner_ids(rule, world),
            routing=world.routing,
            decisions_owner=decisions.owner,
            decisions_outcome=decisions.outcome,
            head=decisions.head,
            named=decisions.named,
            named_owner_inactive=decisions.named_owner_inactive,
            named_expired=decisions.named_expired,
            context_new=context.new_accounts,
            open_changes=context.open_changes,
            change_counts=context.change_counts,
            departures=world.departures,
            as_of=as_of,
        )
    )
    assignments = _assignments(world, decisions, loaded, {c.account_id: c.reason for c in changes})
    return summarise(
        loaded=loaded,
        as_of=as_of,
        world_reps=world.reps,
        scores=world.scores,
        assignments=assignments,
        changes=changes,
        minutes=world.minutes,
        team_moves=team_moves,
        status=world.status,
    )


def _world(rule: RuleFile, snapshot: Snapshot, as_of: date, context: PlanContext) -> World:
    accounts = sorted(snapshot.accounts, key=lambda a: a.id)
    n = len(accounts)
    columns = AccountColumns.build(accounts, rule.regions)
    scores = score_accounts(rule, accounts, columns, as_of)
    routing = first_match([when_mask(row.when, columns, n) for row in rule.routing.rows], n)
    departures = {
        o.id: context.departures[o.id]
        for o in snapshot.owners
        if o.active and o.id in context.departures
    }
    # A rep who is leaving is planned as gone already: no new accounts, the book re-routed;
    # only the changes' dates remember the day.
    planned_owners = [
        dataclasses.replace(o, active=False) if o.id in departures else o for o in snapshot.owners
    ]
    owners = {o.id: o for o in planned_owners}
    reps = build_reps(rule, planned_owners, as_of)
    tier_minutes = {t: minutes_per_account(rule, t) for t in (1, 2, 3)}
    status = []
    for account in accounts:
        owner = owners.get(account.owner_id) if account.owner_id else None
        if owner is None:
            status.append(Status.ORPHANED)
        else:
            status.append(Status.ACTIVE if owner.active else Status.DEPARTED)
    return World(
        rule=rule,
        accounts=accounts,
        row_of={a.id: i for i, a in enumerate(accounts)},
        owners=owners,
        owner_by_email={o.email.lower(): o for o in planned_owners},
        reps=reps,
        rep_of={r.owner_id: r for r in reps},
        scores=scores,
        # The last row matches everything (checked at load), so every row index is >= 0.
        routing=[int(r) for r in routing],
        status=status,
        minutes=[tier_minutes[int(t)] for t in scores.tier],
        departures=departures,
    )


def _holding_owner_ids(rule: RuleFile, world: World) -> frozenset[str]:
    """Ids of the CRM owners routing rows name as `holding_owner`."""
    return frozenset(
        world.owner_by_email[email].id
        for row in rule.routing.rows
        if (email := row.assign.holding_owner) is not None and email in world.owner_by_email
    )


def _named_lookup(rule: RuleFile) -> dict[tuple[str, str], int]:
    lookup: dict[tuple[str, str], int] = {}
    for i, named in enumerate(rule.named_accounts):
        ref = named.account
        for kind, value in (("id", ref.id), ("domain", ref.domain), ("name", ref.name)):
            if value is not None:
                lookup.setdefault((kind, value if kind == "id" else value.casefold()), i)
    return lookup


def _named_for(lookup: dict[tuple[str, str], int], account: Account) -> int | None:
    for key in (
        ("id", account.id),
        ("domain", (account.domain or "").casefold()),
        ("name", account.name.casefold()),
    ):
        if key[1] and key in lookup:
            return lookup[key]
    return None


def _ultimate_parents(world: World) -> list[int]:
    """Row of each account's ultimate parent (itself when it has none); cycles are cut."""
    n = len(world.accounts)
    ultimate = [-1] * n
    for start in range(n):
        if ultimate[start] >= 0:
            continue
        chain: list[int] = []
        seen: set[int] = set()
        current = start
        while True:
            if ultimate[current] >= 0:
                top = ultimate[current]
                break
            chain.append(current)
            seen.add(current)
            parent_id = world.accounts[current].parent_id
            parent = world.row_of.get(parent_id, -1) if parent_id else -1
            if parent < 0 or parent in seen:
                top = current
                break
            current = parent
        for row in chain:
            ultimate[row] = top
    return ultimate


class _Settler:
    """Settles accounts whose owner is decided before routing (named, pinned, their children)."""

    def __init__(self, world: World, decisions: Decisions) -> None:
        self.world = world
        self.decisions = decisions
        self.settled = [False] * len(world.accounts)
        self.fixed: dict[str, TeamLoad] = {}

    def hold(self, i: int, owner_id: str, why: Why) -> None:
        """Give row `i` to `owner_id` for a reason balancing may not undo."""
        self.decisions.owner[i] = owner_id
        self.decisions.why[i] = why
        rep = self.world.rep_of.get(owner_id)
        self.decisions.team[i] = rep.team if rep else None
        load = self.fixed.setdefault(owner_id, TeamLoad())
        load.minutes += self.world.minutes[i]
        load.potential += float(self.world.scores.potential[i])
        load.count += 1
        self.settled[i] = True

    def named_and_pinned(self, context: PlanContext, as_of: date) -> None:
        """Rules 2 and 3: named accounts until expiry, then manual pins and locked accounts,
        for active owners."""
        world, decisions = self.world, self.decisions
        named_accounts = world.rule.named_accounts
        lookup = _named_lookup(world.rule)
        for i, account in enumerate(world.accounts):
            named_index = _named_for(lookup, account) if lookup else None
            if named_index is not None:
                named = named_accounts[named_index]
                owner = world.owner_by_email.get(named.owner)
                if as_of > named.expires:
                    if owner is not None and account.owner_id == owner.id:
                        decisions.named_expired.add(i)
                elif owner is not None and owner.active:
                    decisions.named[i] = named_index
                    self.hold(i, owner.id, Why.NAMED)
                    continue
                else:
                    decisions.named_owner_inactive.add(i)
            pinned = context.pinned.get(account.id)
            if pinned is None and account.locked:
                # The CRM's territory_lock is a person's word, whichever source was read.
                pinned = account.owner_id
            if pinned is not None and pinned in world.owners and world.owners[pinned].active:
                self.hold(i, pinned, Why.PINNED)

    def followers(self) -> dict[int, list[int]]:
        """Rule 4: children of an assigned ultimate parent follow it; return them by parent."""
        world, decisions = self.world, self.decisions
        rows = world.rule.routing.rows
        n = len(world.accounts)
        if not world.rule.hierarchy.children_follow_parent:
            return {}
        ultimate = _ultimate_parents(world)
        followers: dict[int, list[int]] = {}
        for i in range(n):
            top = ultimate[i]
            top_assigned = (
                self.settled[top] or rows[world.routing[top]].assign.outcome is Outcome.ASSIGNED
            )
            if (
                top != i
                and not self.settled[i]
                and not rows[world.routing[i]].overrides_hierarchy
                and top_assigned
            ):
                followers.setdefault(top, []).append(i)
                decisions.head[i] = top
        for top in sorted(followers):
            owner_id = decisions.owner[top]
            if not self.settled[top] or owner_id is None:
                continue
            # The exception is the named (or pinned) account, not its family: children follow
            # while the rep has room in both budgets, highest potential first; the rest route
            # on their own rows.
            children = sorted(followers[top], key=lambda c: (-float(world.scores.potential[c]), c))
            staying = []
            for child in children:
                if self._has_room(owner_id, child):
                    self.hold(child, owner_id, Why.HIERARCHY)
                    staying.append(child)
                else:
                    decisions.head[child] = -1
            followers[top] = staying
        return followers

    def _has_room(self, owner_id: str, row: int) -> bool:
        rep = self.world.rep_of.get(owner_id)
        if rep is None:
            return True  # an owner outside every team has no budget to keep
        load = self.fixed.get(owner_id, TeamLoad())
        return (
            load.minutes + self.world.minutes[row] <= rep.capacity_minutes + 1e-9
            and load.count + 1 <= rep.max_accounts
        )


def _decide(
    world: World, decisions: Decisions, context: PlanContext, as_of: date
) -> dict[str, TeamOutcome]:
    """Fill `decisions`; return what each team's balancing reports."""
    settler = _Settler(world, decisions)
    settler.named_and_pinned(context, as_of)
    followers = settler.followers()
    # Rules 5 and 6: routing rows, first match.
    rows = world.rule.routing.rows
    units_by_team: dict[str, list[Unit]] = {}
    keeps: dict[int, str] = {}  # row -> the owner balancing counts it with
    for i in range(len(world.accounts)):
        if settler.settled[i] or decisions.head[i] >= 0:
            continue
        row = rows[world.routing[i]]
        if row.assign.outcome is not Outcome.ASSIGNED:
            _park(world, decisions, i, row)
            continue
        team = row.assign.team
        assert team is not None
        owner = _balancing_owner(world, context, team, i)
        unit = _unit(world, row, team, i, followers.get(i, ()), owner)
        units_by_team.setdefault(team, []).append(unit)
        if owner is not None:
            keeps[i] = owner
    return _assign_teams(world, decisions, units_by_team, settler.fixed, followers, keeps, context)


def _balancing_owner(world: World, context: PlanContext, team: str, i: int) -> str | None:
    """The owner balancing keeps row `i` with, if any: its eligible owner in `team`, or the
    target of a pending move there (a move the ledger holds counts as made, so a daily re-plan
    keeps it instead of re-deciding it, and keeps its id and date)."""
    account = world.accounts[i]
    pending = context.open_changes.get(account.id)
    if pending is not None and pending.from_owner_id == account.owner_id:
        target = world.rep_of.get(pending.to_owner_id or "")
        if target is not None and target.active and target.team == team:
            return target.owner_id
    rep = world.rep_of.get(account.owner_id or "")
    if rep is not None and rep.active and rep.team == team:
        return rep.owner_id
    return None


def _park(world: World, decisions: Decisions, i: int, row: RoutingRow) -> None:
    """Watchlist/unassigned: no owner write unless a holding owner; inactive owners never keep."""
    holding = row.assign.holding_owner
    holder = world.owner_by_email.get(holding) if holding else None
    current = world.accounts[i].owner_id
    if holder is not None and holder.active:
        decisions.owner[i] = holder.id
    else:
        decisions.owner[i] = current if world.status[i] is Status.ACTIVE else None
    outcome = row.assign.outcome
    decisions.outcome[i] = outcome
    decisions.team[i] = row.assign.team
    decisions.why[i] = Why.WATCHLIST if outcome is Outcome.WATCHLIST else Why.UNASSIGNED


def _unit(
    world: World,
    row: RoutingRow,
    team: str,
    i: int,
    children: list[int] | tuple[()],
    owner: str | None,
) -> Unit:
    account = world.accounts[i]
    eligible = owner is not None
    protect = world.rule.balance.protect
    tier = int(world.scores.tier[i])
    potential = float(world.scores.potential[i]) + sum(
        float(world.scores.potential[c]) for c in children
    )
    return Unit(
        key=i,
        minutes=world.minutes[i] + sum(world.minutes[c] for c in children),
        potential=potential,
        count=1 + len(children),
        owner=-1 if eligible else None,  # resolved to the team's rep index later
        protected=eligible and (tier in protect.tiers or row.id in protect.routing_rows),
        keep=eligible and row.assign.strategy == "keep_owner",
        industry=(account.industry or "").casefold() or None,
        prefer_affinity=row.assign.prefer == "affinity",
    )


def _assign_teams(
    world: World,
    decisions: Decisions,
    units_by_team: dict[str, list[Unit]],
    fixed: dict[str, TeamLoad],
    followers: dict[int, list[int]],
    keeps: dict[int, str],
    context: PlanContext,
) -> dict[str, TeamOutcome]:
    rule = world.rule
    total = len(world.accounts)
    budget_total = max(
        0,
        math.floor(rule.balance.max_moves_per_quarter * total + 1e-9) - context.moves_this_quarter,
    )
    report: dict[str, TeamOutcome] = {}
    # One budget for the quarter, spent team by team in id order: what a team leaves unused
    # stays for the next, and a re-plan after applying sees exactly what remains.
    budget_left = budget_total
    for team in sorted(units_by_team):
        units = units_by_team[team]
        reps = [r for r in world.reps if r.team == team and r.active]
        position = {r.owner_id: k for k, r in enumerate(reps)}
        for unit in units:
            if unit.owner == -1:
                unit.owner = position[keeps[unit.key]]
        budget = budget_left
        result = assign_team(
            reps,
            [fixed.get(r.owner_id, TeamLoad()) for r in reps],
            units,
            tolerance=rule.balance.tolerance,
            weight_potential=rule.balance.index.potential,
            weight_effort=rule.balance.index.effort,
            move_budget=budget,
        )
        budget_left = max(0, budget_left - result.moves)
        report[team] = TeamOutcome(
            moves=result.moves,
            move_budget=budget,
            budget_exhausted=result.budget_exhausted,
            pinned_outside_band=result.pinned_outside_band,
        )
        for unit in units:
            target = result.placement.get(unit.key)
            members = [unit.key, *followers.get(unit.key, ())]
            if target is None:
                for row in members:
                    current = world.accounts[row].owner_id
                    decisions.owner[row] = current if world.status[row] is Status.ACTIVE else None
                    decisions.outcome[row] = Outcome.UNASSIGNED
                    decisions.team[row] = team
                    decisions.why[row] = Why.OVER_CAPACITY
                continue
            owner_id = reps[target].owner_id
            for row in members:
                decisions.owner[row] = owner_id
                decisions.team[row] = team
                decisions.why[row] = Why.HIERARCHY if row != unit.key else result.why[unit.key]
            if unit.key in result.candidates:
                decisions.candidates[unit.key] = [
                    (reps[c.rep].owner_id, c.index, c.role) for c in result.candidates[unit.key]
                ]
    return report


def _assignments(
    world: World, decisions: Decisions, loaded: LoadedRules, reasons: dict[str, ChangeReason]
) -> list[Assignment]:
    """One assignment per account, in id order, with the fields its trace is rendered from."""
    scores = world.scores
    rows = world.rule.routing.rows
    row_lines = [loaded.routing_row_line(row.id) for row in rows]
    fit_lines = loaded.fit_row_lines
    fit_rows = scores.fit_row.tolist()
    fit_bands = [BANDS[b] for b in scores.fit.tolist()]
    intents = [INTENTS[t] for t in scores.intent.tolist()]
    tiers = scores.tier.tolist()
    potentials = scores.potential.tolist()
    accounts = world.accounts
    whys, owners, outcomes, teams = (
        decisions.why,
        decisions.owner,
        decisions.outcome,
        decisions.team,
    )
    heads, named, candidates = decisions.head, decisions.named, decisions.candidates
    routing, status, signals = world.routing, world.status, scores.signal
    kept_reason = _KEPT_REASON
    out: list[Assignment] = []
    append = out.append
    # Positional arguments, in Assignment's field order: a million keyword calls cost seconds.
    for i, account in enumerate(accounts):
        why = whys[i]
        fit_row = fit_rows[i]
        row = routing[i]
        head = heads[i]
        append(
            Assignment(
                account,
                owners[i],
                outcomes[i],
                None if why in (Why.NAMED, Why.PINNED) else rows[row].id,
                teams[i],
                fit_bands[i],
                intents[i],
                tiers[i],
                potentials[i],
                reasons.get(account.id) or kept_reason.get(why, KeptReason.CONTINUITY),
                why,
                status[i],
                fit_row if fit_row >= 0 else None,
                fit_lines[fit_row] if fit_row >= 0 else None,
                signals[i],
                row_lines[row],
                accounts[head].id if head >= 0 else None,
                named.get(i),
                candidates.get(i),
            )
        )
    return out


# The reason an assignment states when its owner does not change.
_KEPT_REASON: dict[Why, Reason] = {
    Why.NAMED: ChangeReason.NAMED_ACCOUNT,
    Why.PINNED: KeptReason.PINNED,
    Why.HIERARCHY: ChangeReason.HIERARCHY,
    Why.WATCHLIST: KeptReason.WATCHLIST,
    Why.UNASSIGNED: ChangeReason.UNASSIGNED,
    Why.OVER_CAPACITY: KeptReason.OVER_CAPACITY,
}


__all__ = ["OpenChange", "PlanContext", "plan_territories"]
