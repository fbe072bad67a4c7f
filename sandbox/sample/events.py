"""What happened since the org's last plan: the events a RevOps lead lives with.

Each event leaves a mark in the files that the first plan acts on, and nothing else does
(the settled org plans to no change at all):

- one rep was deactivated in the CRM, still holding their book (changes: `departed`);
- companies were created since, and nobody owns them yet (`orphaned`);
- hand edits: a rep took a watchlist account (`unassigned`), a rep of another team took an
  account (`rule_change`), an owner in no team took one (`ineligible_owner`);
- enrichment corrected a few companies' country to the other region (`rule_change`);
- one rep was handed teammates' accounts over the months (`rebalance` in that team);
- some tier-1 accounts went untouched for months (no change: the coverage the plan reports).

Events never share a company, and none touches a parent, a company that follows its parent,
or a named account, so each change has exactly one of them as its cause.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from sandbox.sample.columns import Bools, Ints
from sandbox.sample.companies import ENTERPRISE_EMPLOYEES, Companies
from sandbox.sample.org import Org
from sandbox.sample.settle import ASSIGNED, WATCHLIST, Settled
from sandbox.sample.vocab import REGIONS, country_regions, country_shares

NEW_SHARE: Final = 0.02  # of all companies
NEW_AMONG_NEWEST: Final = 0.05  # new companies have the newest ids: they are drawn from these
HAND_EDIT_SHARE: Final = 0.004
MOVED_SHARE: Final = 0.003
SKEW_SHARE: Final = 0.4  # of the skewed rep's own book, taken from teammates
NEGLECTED_SHARE: Final = 0.08  # of the tier-1 accounts reps work
DEPARTED_DAYS: Final = (5, 15)  # the deactivation was this many days ago (low inclusive)
MIN_TEAM_FOR_EVENT: Final = 3  # a team this small loses no rep and skews no book


@dataclass(frozen=True, slots=True)
class Events:
    """The events, as company numbers per kind, and each company's owner after them."""

    owner: Ints  # owner index per company after the events (-1: none)
    departed_owner: int  # owner index of the deactivated rep (-1: none)
    departed_days: int  # how long ago they were deactivated
    departed: Ints  # the book they held
    new: Ints
    took_watchlist: Ints
    took_other_team: Ints
    held_outside_teams: Ints
    moved_region: Ints
    moved_to: Ints  # the corrected country code of each moved_region company
    skewed_team: int  # team index (-1: none)
    skewed_owner: int  # owner index of the rep handed teammates' accounts (-1: none)
    skewed: Ints
    neglected: Ints


def no_events(settled: Settled) -> Events:
    """The settled org untouched: planning it changes nothing."""
    none = np.zeros(0, dtype=np.int64)
    return Events(
        owner=settled.owner,
        departed_owner=-1,
        departed_days=0,
        departed=none,
        new=none,
        took_watchlist=none,
        took_other_team=none,
        held_outside_teams=none,
        moved_region=none,
        moved_to=none,
        skewed_team=-1,
        skewed_owner=-1,
        skewed=none,
        neglected=none,
    )


def add_events(
    org: Org, companies: Companies, settled: Settled, rng: np.random.Generator
) -> Events:
    """Return the events for the settled org; the same generator state, the same events."""
    n = len(companies)
    used = np.zeros(n, dtype=bool)
    is_parent = np.zeros(n, dtype=bool)
    is_parent[companies.parent[companies.parent >= 0]] = True
    index = org.owner_index()
    owner = settled.owner.copy()

    newest = np.arange(n) >= n - max(1, round(n * NEW_AMONG_NEWEST))
    new = _choose(rng, newest & ~is_parent & ~settled.named, round(n * NEW_SHARE), used)
    owner[new] = -1

    ae_teams = [t for t, team in enumerate(org.teams) if team.spec.pipeline is not None]
    steady = _steady_members(org, settled)
    departing_team = _largest(org, ae_teams, steady)
    departed_owner, departed = -1, np.zeros(0, dtype=np.int64)
    if departing_team >= 0:
        departed_owner = index[_pick(rng, steady[departing_team])]
        departed = np.flatnonzero((settled.owner == departed_owner) & ~used)
        used[departed] = True
    leavers = {departed_owner}
    departed_days = int(rng.integers(*DEPARTED_DAYS))

    # Companies a single edit can move without dragging a family or a named account along.
    free = (
        (settled.outcome == ASSIGNED)
        & np.isin(settled.team, ae_teams)
        & ~settled.follows_parent
        & ~is_parent
        & ~settled.named
    )
    skewed_team = _largest(org, [t for t in ae_teams if t != departing_team], steady)
    skewed, veteran = np.zeros(0, dtype=np.int64), -1
    if skewed_team >= 0:
        veteran = index[_pick(rng, steady[skewed_team])]
        book = int(np.count_nonzero(settled.owner == veteran))
        pool = free & (settled.team == skewed_team) & (owner != veteran) & (settled.tier != 1)
        skewed = _choose(rng, pool, max(1, round(book * SKEW_SHARE)), used)
        owner[skewed] = veteran

    edits = max(3, round(n * HAND_EDIT_SHARE))
    ae_reps = [index[m.email] for t in ae_teams for m in org.teams[t].members]
    ae_reps = [r for r in ae_reps if r not in leavers]
    members_of = {t: {index[m.email] for m in org.teams[t].members} for t in ae_teams}
    took_watchlist = np.zeros(0, dtype=np.int64)
    if ae_reps:
        queue_held = (settled.outcome == WATCHLIST) & (settled.owner >= 0) & ~is_parent
        took_watchlist = _choose(rng, queue_held, round(edits * 0.4), used)
        owner[took_watchlist] = np.array(ae_reps)[
            rng.integers(0, len(ae_reps), len(took_watchlist))
        ]
    took_other_team = _choose(rng, free, round(edits * 0.4) if len(ae_teams) > 1 else 0, used)
    for i in took_other_team.tolist():
        elsewhere = [r for r in ae_reps if r not in members_of[int(settled.team[i])]]
        owner[i] = elsewhere[int(rng.integers(0, len(elsewhere)))]
    held_outside_teams = _choose(rng, free, edits - round(edits * 0.4) * 2, used)
    owner[held_outside_teams] = org.stray

    moved_region, moved_to = _moved(org, companies, settled, free, used, rng)
    tier1 = (settled.outcome == ASSIGNED) & (settled.tier == 1)
    neglected = _choose(rng, tier1, round(np.count_nonzero(tier1) * NEGLECTED_SHARE), used)
    return Events(
        owner=owner,
        departed_owner=departed_owner,
        departed_days=departed_days,
        departed=departed,
        new=new,
        took_watchlist=took_watchlist,
        took_other_team=took_other_team,
        held_outside_teams=held_outside_teams,
        moved_region=moved_region,
        moved_to=moved_to,
        skewed_team=skewed_team,
        skewed_owner=veteran,
        skewed=skewed,
        neglected=neglected,
    )


def _moved(
    org: Org,
    companies: Companies,
    settled: Settled,
    free: Bools,
    used: Bools,
    rng: np.random.Generator,
) -> tuple[Ints, Ints]:
    """Midmarket companies whose country was corrected to the other region's.

    Below the enterprise size, so each lands in the other region's midmarket row.
    """
    team_ids = [team.spec.id for team in org.teams]
    na, emea = org.bucket_team["na"], org.bucket_team["emea"]
    if na == emea:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    region = companies.region
    regional = (region == REGIONS.index("NA")) & (settled.team == team_ids.index(na)) | (
        region == REGIONS.index("EMEA")
    ) & (settled.team == team_ids.index(emea))
    small = ~companies.no_employees & (companies.employees < ENTERPRISE_EMPLOYEES)
    moved = _choose(rng, free & regional & small, round(len(companies) * MOVED_SHARE), used)
    regions = country_regions()
    shares = country_shares()
    moved_to = np.empty(len(moved), dtype=np.int64)
    for k, i in enumerate(moved.tolist()):
        other = np.flatnonzero((regions >= 0) & (regions != region[i]))
        moved_to[k] = other[_pick_index(rng, list(range(len(other))), shares[other])]
    return moved, moved_to


def _steady_members(org: Org, settled: Settled) -> dict[int, list[str]]:
    """Per team index, members an event may pick: in post all quarter, holding a book, and
    owning no named account (whose owner leaving is an event of its own)."""
    named_owners = {org.owners[i].email for i in np.unique(settled.owner[settled.named]).tolist()}
    return {
        t: [
            m.email
            for m in team.members
            if m.start_date is None
            and m.out_of_office_until is None
            and settled.books.get(m.email, 0) > 0
            and m.email not in named_owners
        ]
        for t, team in enumerate(org.teams)
    }


def _largest(org: Org, teams: list[int], steady: dict[int, list[str]]) -> int:
    """The largest of `teams` with enough members for an event, -1 when none has them."""
    able = [t for t in teams if len(org.teams[t].members) >= MIN_TEAM_FOR_EVENT and steady[t]]
    return max(able, key=lambda t: (len(org.teams[t].members), -t), default=-1)


def _choose(rng: np.random.Generator, candidates: Bools, count: int, used: Bools) -> Ints:
    """Up to `count` companies from `candidates` not yet used, in company order; marks them."""
    pool = np.flatnonzero(candidates & ~used)
    count = min(max(count, 0), len(pool))
    chosen = np.sort(rng.choice(pool, size=count, replace=False)) if count else pool[:0]
    used[chosen] = True
    return chosen.astype(np.int64)


def _pick(rng: np.random.Generator, items: list[str]) -> str:
    return items[int(rng.integers(0, len(items)))]


def _pick_index(
    rng: np.random.Generator, items: list[int], weights: npt.NDArray[np.float64] | None = None
) -> int:
    if weights is None:
        return items[int(rng.integers(0, len(items)))]
    return items[int(rng.choice(len(items), p=weights / weights.sum()))]
