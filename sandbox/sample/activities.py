"""The sample's activities: who touched which company when, one chunk of rows at a time.

Recency follows how the settled plan has the company worked: tier-1 accounts are touched
within weeks, tier 3 less, parked accounts (watchlist, out of scope) rarely; customers often.
Most touches are the owner's, some another rep's (off-territory work). The events leave their
marks: the deactivated rep's book went quiet when they left, neglected tier-1 accounts are
months stale, new companies are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt

from sandbox.sample.columns import Ints, csv_rows, draw_codes
from sandbox.sample.events import Events
from sandbox.sample.org import Org
from sandbox.sample.settle import ASSIGNED, Settled
from sandbox.sample.vocab import ACTIVITY_TYPES, ACTIVITY_WEIGHTS, ObjectArray

ACTIVITY_COLUMNS: Final = ("account_id", "owner_id", "type", "occurred_at")

# Recency classes, and per class: share touched at all, the window "recent" means in days,
# the share of touched companies touched within it, and the mean of extra touches.
CUSTOMER, TIER1, TIER2, TIER3, PARKED, NEGLECTED, NEW = range(7)
_TOUCHED: Final = (0.95, 0.98, 0.92, 0.85, 0.45, 0.8, 0.0)
_WINDOW: Final = (30, 30, 60, 90, 90, 0, 0)
_RECENT: Final = (0.7, 0.93, 0.75, 0.6, 0.25, 0.0, 0.0)
_EXTRA: Final = (2.5, 2.2, 1.6, 1.2, 0.8, 1.0, 0.0)
NEGLECTED_AGE: Final = (45, 240)  # days since a neglected account's last touch
_MAX_AGE_DAYS: Final = 4000  # dates are spelled from a table this long
_OWNER_SHARE: Final = 0.8  # of touches on a person's account, the owner's own


@dataclass(frozen=True, slots=True)
class Touches:
    """One chunk's activity rows (CSV, no header), their count, and each company's latest."""

    rows: str
    count: int
    last_touch: ObjectArray  # ISO instant, "" for untouched companies


class ActivityFactory:
    """Draws activities for one org and as_of; each chunk has its own random stream."""

    def __init__(self, org: Org, as_of: date, seed: int, others: Ints) -> None:
        """`others` are the owner indices who work other reps' accounts now and then."""
        self._org = org
        self._seed = seed
        self._others = others
        # Activities happen before as_of: age d is the day d + 1 days earlier.
        self._days = np.array(
            [(as_of - timedelta(days=d + 1)).isoformat() + "T" for d in range(_MAX_AGE_DAYS)],
            dtype=object,
        )
        self._times = np.array(
            [f"{m // 60:02d}:{m % 60:02d}:00Z" for m in range(0, 24 * 60, 5)], dtype=object
        )
        self._owner_ids = np.array([owner.id for owner in org.owners], dtype=object)

    def chunk(
        self, number: int, ids: ObjectArray, owner: Ints, recency: Ints, quiet_days: Ints
    ) -> Touches:
        """Touches on companies `ids`: `owner` after the events (-1: none), recency class,
        and days since the latest touch may be no fewer than `quiet_days`."""
        rng = np.random.default_rng([self._seed, 2, number])
        count = len(ids)
        touched = rng.random(count) < np.take(_TOUCHED, recency)
        window = np.take(_WINDOW, recency).astype(np.float64)
        recent = rng.random(count) < np.take(_RECENT, recency)
        last_age = np.where(
            recent,
            rng.uniform(0, 1, count) * window,
            window + np.minimum(rng.exponential(150, count), 1500),
        )
        last_age = np.where(recency == NEGLECTED, rng.uniform(*NEGLECTED_AGE, count), last_age)
        last_age = np.maximum(last_age, quiet_days)
        per_account = np.where(touched, 1 + rng.poisson(np.take(_EXTRA, recency)), 0)

        account = np.repeat(np.arange(count), per_account)
        total = len(account)
        first = np.zeros(total, dtype=bool)
        starts = np.cumsum(per_account) - per_account
        first[starts[per_account > 0]] = True
        # Older touches lie at least a day apart, so the first row is the company's latest.
        gaps = np.where(first, 0.0, 1.0 + rng.exponential(21, total))
        cumulative = np.cumsum(gaps)
        age = last_age[account] + cumulative - np.repeat(cumulative[first], per_account[touched])
        day = np.minimum(age.astype(np.int64), _MAX_AGE_DAYS - 1)
        slot = rng.integers(7 * 12, 19 * 12, total)  # five-minute slots in working hours
        occurred = self._days[day] + self._times[slot]

        person = (owner >= 0) & self._org.is_person[np.maximum(owner, 0)]
        by_owner = person[account] & (rng.random(total) < _OWNER_SHARE)
        other_rep = self._others[rng.integers(0, len(self._others), total)]
        actor = np.where(by_owner, owner[account], other_rep)
        kind = np.array(ACTIVITY_TYPES, dtype=object)[
            draw_codes(rng, np.cumsum(ACTIVITY_WEIGHTS), total)
        ]

        last_touch = np.full(count, "", dtype=object)
        last_touch[touched] = occurred[first]
        rows = csv_rows([ids[account], self._owner_ids[actor], kind, occurred])
        return Touches(rows, total, last_touch)


def recency_classes(customer: npt.NDArray[np.bool_], settled: Settled, events: Events) -> Ints:
    """Each company's recency class: how the settled plan has it worked, then the events."""
    worked = settled.outcome == ASSIGNED
    # TIER1..TIER3 are 1..3, so a worked company's class is its tier.
    recency = np.where(worked, np.clip(settled.tier, TIER1, TIER3), PARKED).astype(np.int64)
    recency[worked & customer] = CUSTOMER
    recency[events.neglected] = NEGLECTED
    recency[events.new] = NEW
    return recency


def quiet_days(count: int, events: Events) -> Ints:
    """Days each company has been untouched at least: the deactivated rep's book since they left."""
    quiet = np.zeros(count, dtype=np.int64)
    quiet[events.departed] = events.departed_days
    return quiet
