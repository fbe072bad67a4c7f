"""Reps and their two budgets (minutes per quarter, max accounts), both scaled by ramp."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from rules.domain import Owner
from rules.schema import Capacity, Member, RuleFile, Team

TIER_NAMES = {1: "tier1", 2: "tier2", 3: "tier3"}


@dataclass(frozen=True, slots=True)
class Rep:
    """A team member resolved to a CRM owner, with ramp-scaled budgets."""

    owner_id: str
    email: str
    team: str
    active: bool
    capacity_minutes: float
    max_accounts: int
    ramp_share: float
    industries: frozenset[str]
    quota: float | None
    out_of_office_until: date | None


def ramp_share(capacity: Capacity, member: Member, as_of: date) -> float:
    """Share of full capacity for `member` on `as_of`: the first ramp row still running."""
    if member.start_date is None:
        return 1.0
    days = (as_of - member.start_date).days
    for row in capacity.ramp:
        if days < row.until_day:
            return row.share
    return 1.0


def minutes_per_account(rule: RuleFile, tier: int) -> int:
    """Quarterly minutes one account of `tier` costs its rep."""
    return int(getattr(rule.capacity.minutes_per_account, TIER_NAMES[tier]))


def build_reps(rule: RuleFile, owners: Sequence[Owner], as_of: date) -> list[Rep]:
    """Every team member that resolves to a CRM owner by email, sorted by owner id."""
    by_email = {o.email.lower(): o for o in owners}
    reps: list[Rep] = []
    for team in rule.teams:
        for member in team.members:
            owner = by_email.get(member.email)
            if owner is None:
                continue
            reps.append(_rep(rule, team, member, owner, as_of))
    return sorted(reps, key=lambda r: r.owner_id)


def _rep(rule: RuleFile, team: Team, member: Member, owner: Owner, as_of: date) -> Rep:
    share = ramp_share(rule.capacity, member, as_of)
    role = rule.capacity.roles[member.role or team.role]
    return Rep(
        owner_id=owner.id,
        email=member.email,
        team=team.id,
        active=owner.active,
        capacity_minutes=round(rule.capacity.minutes_per_quarter * share, 6),
        # At least one account: a rep on day one of a ramp can still take a named account.
        max_accounts=max(1, math.floor(role.max_accounts * share + 1e-9)),
        ramp_share=share,
        industries=frozenset(i.casefold() for i in member.industries),
        quota=member.quota,
        out_of_office_until=(
            member.out_of_office_until
            if member.out_of_office_until is not None and member.out_of_office_until > as_of
            else None
        ),
    )
