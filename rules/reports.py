"""Coverage map (per rep), team balance verdicts and the gap analysis of a plan."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from rules.balancing import TeamOutcome
from rules.capacity import Rep
from rules.loader import LoadedRules
from rules.plan import Assignment, Change, Plan, RepSummary, TeamSummary, rounded
from rules.reasons import InfeasibleCause, Outcome, Status, Why
from rules.schema import RuleFile, Team
from rules.scoring import Scores

BAND_SLACK = 1e-6


def summarise(
    *,
    loaded: LoadedRules,
    as_of: date,
    world_reps: Sequence[Rep],
    scores: Scores,
    assignments: list[Assignment],
    changes: list[Change],
    minutes: Sequence[int],
    team_moves: Mapping[str, TeamOutcome],
    status: Sequence[Status],
) -> Plan:
    """Assemble the plan: rep summaries, team verdicts, gap, approval state."""
    rule = loaded.rule
    reps = _rep_summaries(rule, world_reps, assignments, minutes)
    teams = _team_summaries(rule, reps, assignments, team_moves)
    cutoffs = scores.cutoffs
    plan = Plan(
        as_of=as_of,
        rule={"version": rule.version, "revision": rule.revision, "sha256": loaded.sha256},
        tier_cutoffs={
            "ranked_accounts": cutoffs.ranked,
            "tier1": {
                "accounts": cutoffs.tier1_count,
                "min_potential": cutoffs.tier1_min_potential,
            },
            "tier2": {
                "accounts": cutoffs.tier2_count,
                "min_potential": cutoffs.tier2_min_potential,
            },
        },
        assignments=assignments,
        changes=changes,
        reps=reps,
        teams=teams,
        gap=_gap(rule, world_reps, assignments, minutes, status),
    )
    plan.approval = {
        "max_share_per_run": rule.changes.max_share_per_run,
        "max_forced_share": rule.changes.max_forced_share,
        "needs_approval": plan.movement_share > rule.changes.max_share_per_run + 1e-12
        or plan.forced_share > rule.changes.max_forced_share + 1e-12,
    }
    return plan


def _rep_summaries(
    rule: RuleFile, reps: Sequence[Rep], assignments: list[Assignment], minutes: Sequence[int]
) -> list[RepSummary]:
    by_owner = {
        r.owner_id: RepSummary(
            owner_id=r.owner_id,
            email=r.email,
            team=r.team,
            active=r.active,
            accounts=0,
            max_accounts=r.max_accounts,
            load_minutes=0.0,
            capacity_minutes=r.capacity_minutes,
            potential=0.0,
            index=None,
            by_tier={"1": 0, "2": 0, "3": 0},
            by_intent={"hot": 0, "warm": 0, "cold": 0},
            quota=r.quota,
            out_of_office_until=r.out_of_office_until,
        )
        for r in reps
    }
    for row, a in enumerate(assignments):
        summary = by_owner.get(a.owner_id or "")
        if summary is None or a.outcome is not Outcome.ASSIGNED:
            continue
        summary.accounts += 1
        summary.load_minutes += minutes[row]
        summary.potential += a.potential
        summary.by_tier[str(a.tier)] += 1
        summary.by_intent[a.intent] += 1
        if a.why is Why.NAMED:
            summary.named_accounts += 1
        elif a.why is Why.PINNED:
            summary.pinned_accounts += 1
    weights = rule.balance.index
    total_weight = weights.potential + weights.effort
    for team in rule.teams:
        members = [s for s in by_owner.values() if s.team == team.id and s.active]
        total_p = sum(s.potential for s in members)
        total_e = sum(s.load_minutes for s in members)
        total_c = sum(s.capacity_minutes for s in members)
        for s in members:
            work = (
                weights.potential * (s.potential / total_p if total_p else 0.0)
                + weights.effort * (s.load_minutes / total_e if total_e else 0.0)
            ) / total_weight
            s.index = work / (s.capacity_minutes / total_c) if total_c else None
    return sorted(by_owner.values(), key=lambda s: s.owner_id)


def _team_summaries(
    rule: RuleFile,
    reps: list[RepSummary],
    assignments: list[Assignment],
    team_moves: Mapping[str, TeamOutcome],
) -> list[TeamSummary]:
    tolerance = rule.balance.tolerance
    over_capacity = Counter(a.team for a in assignments if a.why is Why.OVER_CAPACITY)
    out: list[TeamSummary] = []
    for team in sorted(rule.teams, key=lambda t: t.id):
        members = [r for r in reps if r.team == team.id and r.active]
        # A team with nobody to work its accounts is never within its band, even an empty one.
        within = bool(members) and (
            all(r.index is not None and abs(r.index - 1) <= tolerance + BAND_SLACK for r in members)
            if any(r.accounts for r in members)
            else True
        )
        outcome = team_moves.get(team.id)
        cause = None
        if not within:
            cause = _infeasible_cause(outcome, over_capacity[team.id], members, tolerance)
        out.append(
            TeamSummary(
                team=team.id,
                tolerance=tolerance,
                within_tolerance=within,
                infeasible_reason=cause,
                moves=outcome.moves if outcome else 0,
                move_budget=outcome.move_budget if outcome else 0,
                pipeline=_pipeline(team, members),
            )
        )
    return out


def _infeasible_cause(
    outcome: TeamOutcome | None, over_capacity: int, members: list[RepSummary], tolerance: float
) -> InfeasibleCause:
    """The one cause a team misses its band, in a fixed order of precedence."""
    if not members:
        return InfeasibleCause.NO_ACTIVE_MEMBERS
    if outcome is None:
        # Nothing was routed to the team: all its work is named or pinned and none can move.
        above = any(r.index is not None and r.index > 1 + tolerance + BAND_SLACK for r in members)
        return (
            InfeasibleCause.PINNED_LOAD_OUTSIDE_BAND
            if above
            else InfeasibleCause.ACCOUNT_EXCEEDS_BAND
        )
    if outcome.pinned_outside_band:
        return InfeasibleCause.PINNED_LOAD_OUTSIDE_BAND
    if over_capacity:
        return InfeasibleCause.DEMAND_EXCEEDS_CAPACITY
    if outcome.budget_exhausted:
        return InfeasibleCause.MOVE_BUDGET
    return InfeasibleCause.ACCOUNT_EXCEEDS_BAND


def _pipeline(team: Team, members: list[RepSummary]) -> dict[str, Any] | None:
    """Quota / deal size / win rate / conversion = accounts to work, set against the plan."""
    if team.pipeline is None:
        return None
    p = team.pipeline
    quota = sum(r.quota or 0.0 for r in members)
    deals = quota / p.avg_deal_size
    opportunities = deals / p.win_rate
    accounts_year = opportunities / p.account_to_opportunity
    planned = sum(r.accounts for r in members)
    # Each planned account is worked once a quarter: four chances a year to open an opportunity.
    implied_pipeline = planned * 4 * p.account_to_opportunity * p.avg_deal_size
    return {
        "quota": rounded(quota),
        "deals": rounded(deals),
        "opportunities": rounded(opportunities),
        "accounts_per_year": rounded(accounts_year),
        "accounts_per_quarter": rounded(accounts_year / 4),
        "accounts_planned": planned,
        "implied_pipeline": rounded(implied_pipeline),
        "implied_bookings": rounded(implied_pipeline * p.win_rate),
        # Without an active rep no quota is worked, whatever the arithmetic says.
        "pencils_out": bool(members) and planned >= accounts_year / 4 - 1e-9,
    }


def _gap(
    rule: RuleFile,
    reps: Sequence[Rep],
    assignments: list[Assignment],
    minutes: Sequence[int],
    status: Sequence[Status],
) -> dict[str, Any]:
    """Accounts without real coverage, by band, and the hires the working gap implies."""
    bands = ("A", "B", "C", "D")
    by_band: dict[str, dict[str, int]] = {
        b: {"over_capacity": 0, "unassigned": 0, "watchlist": 0, "without_owner": 0} for b in bands
    }
    hot_warm_ab_over = 0
    gap_minutes: Counter[str] = Counter()
    watchlist_by_team: Counter[str] = Counter()
    orphaned_before = sum(1 for s in status if s is not Status.ACTIVE)
    for row, a in enumerate(assignments):
        entry = by_band[a.fit_band]
        if a.why is Why.OVER_CAPACITY:
            entry["over_capacity"] += 1
            if a.fit_band in ("A", "B") and a.intent in ("hot", "warm"):
                hot_warm_ab_over += 1
            gap_minutes[a.team or ""] += minutes[row]
        elif a.outcome is Outcome.UNASSIGNED:
            entry["unassigned"] += 1
        elif a.outcome is Outcome.WATCHLIST:
            entry["watchlist"] += 1
            watchlist_by_team[a.team or ""] += 1
        if a.owner_id is None:
            entry["without_owner"] += 1
    full_capacity = rule.capacity.minutes_per_quarter
    reps_needed = {
        team: math.ceil(m / full_capacity) for team, m in sorted(gap_minutes.items()) if m
    }
    return {
        "hot_warm_ab_over_capacity": hot_warm_ab_over,
        "over_capacity": sum(e["over_capacity"] for e in by_band.values()),
        "unassigned": sum(e["unassigned"] for e in by_band.values()),
        "watchlist": sum(e["watchlist"] for e in by_band.values()),
        "watchlist_by_team": dict(sorted(watchlist_by_team.items())),
        "orphaned_before_plan": orphaned_before,
        "without_owner_after_plan": sum(e["without_owner"] for e in by_band.values()),
        "reps_needed": {"total": sum(reps_needed.values()), "by_team": reps_needed},
        "by_band": by_band,
    }
