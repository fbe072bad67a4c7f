"""A deterministic single-team balancing instance with a realistically skewed current book.

Books drift: a few reps hold far more than their share (Zipf-like), some accounts are
unowned (new or orphaned), a few reps ramp, a few carry named accounts, tier-1 accounts are
partly protected, and a few parents carry children that move with them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from rules.balancing import TeamLoad, Unit
from rules.capacity import Rep

MINUTES_PER_QUARTER = 60 * 5 * 60
MAX_ACCOUNTS = 400
TIER_MINUTES = (90, 45, 25)
INDUSTRIES = ("software", "fintech", "logistics", "health", "retail")


@dataclass(slots=True)
class TeamInstance:
    """Everything `assign_team` takes for one team."""

    reps: list[Rep]
    fixed: list[TeamLoad]
    units: list[Unit]
    tolerance: float = 0.10
    weight_potential: float = 0.5
    weight_effort: float = 0.5

    def copy(self) -> TeamInstance:
        """An independent copy: assign_team writes `work` into the units it is given."""
        return copy.deepcopy(self)

    @property
    def accounts(self) -> int:
        return sum(u.count for u in self.units) + sum(f.count for f in self.fixed)


def make_team_instance(
    units: int = 10_000,
    reps: int = 50,
    *,
    seed: int = 20270104,
    unowned_share: float = 0.08,
    zipf_exponent: float = 1.0,
    zipf_offset: float = 10.0,
    protected_tier1_share: float = 0.25,
) -> TeamInstance:
    """Build the instance from `seed` alone: same arguments, same instance."""
    rng = np.random.default_rng(seed)
    ramp = rng.choice([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.25], size=reps)
    team_reps = [
        Rep(
            owner_id=f"rep-{i:04d}",
            email=f"rep{i:04d}@example.com",
            team="bench",
            active=True,
            capacity_minutes=round(MINUTES_PER_QUARTER * float(ramp[i]), 6),
            max_accounts=max(1, int(MAX_ACCOUNTS * float(ramp[i]) + 1e-9)),
            ramp_share=float(ramp[i]),
            industries=frozenset({INDUSTRIES[i % len(INDUSTRIES)]}),
            quota=None,
            out_of_office_until=None,
        )
        for i in range(reps)
    ]
    # A handful of named accounts: load the team cannot move.
    fixed = [TeamLoad() for _ in range(reps)]
    for i in rng.choice(reps, size=max(1, reps // 10), replace=False):
        n_named = int(rng.integers(2, 8))
        fixed[int(i)] = TeamLoad(
            minutes=float(n_named * TIER_MINUTES[0]),
            potential=float(rng.uniform(70, 100, size=n_named).round(2).sum()),
            count=n_named,
        )
    # Zipf-like ownership over a shuffled rep order, so the heavy books are not the ramped ones.
    rank_weight = 1.0 / (np.arange(reps) + zipf_offset) ** zipf_exponent
    owner_weight = np.empty(reps)
    owner_weight[rng.permutation(reps)] = rank_weight / rank_weight.sum()
    potential = np.clip(rng.beta(2.0, 3.5, size=units) * 100, 1, 100).round(2)
    order = np.argsort(-potential, kind="stable")
    tier = np.empty(units, dtype=int)
    tier[order] = np.where(
        np.arange(units) < 0.2 * units, 1, np.where(np.arange(units) < 0.5 * units, 2, 3)
    )
    owner = rng.choice(reps, size=units, p=owner_weight)
    unowned = rng.random(units) < unowned_share
    children = np.where(rng.random(units) < 0.03, rng.integers(1, 5, size=units), 0)
    protected = (tier == 1) & (rng.random(units) < protected_tier1_share)
    industry = rng.integers(0, len(INDUSTRIES), size=units)
    team_units = []
    for k in range(units):
        extra = int(children[k])
        # Children are tier 3 accounts of modest potential that follow their parent.
        team_units.append(
            Unit(
                key=k,
                minutes=float(TIER_MINUTES[int(tier[k]) - 1] + extra * TIER_MINUTES[2]),
                potential=float(potential[k]) + 20.0 * extra,
                count=1 + extra,
                owner=None if unowned[k] else int(owner[k]),
                protected=bool(protected[k]) and not unowned[k],
                keep=False,
                industry=INDUSTRIES[int(industry[k])],
                prefer_affinity=False,
            )
        )
    return TeamInstance(reps=team_reps, fixed=fixed, units=team_units)
