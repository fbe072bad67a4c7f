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
or a named account, so each change has one of them as its cause: its own company's event, or
for a `rebalance`, the skewed book (or the team that lost a rep, whose book it absorbed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from sandbox.sample.columns import Bools, Ints
from sandbox.sample.companies import ENTERPRISE_EMPLOYEES, Companies
from sandbox.sample.org import Org
from sandbox.sample.settle import ASSIGNED, WATCHLIST, Settled
from sandbox.sample.vocab import REGIONS, country_regions, country_shares

NEW_SHARE: Final = 0.02  # of all companies
NEW_AMONG_NEWEST: Final = 0.05  # new companies have the newest ids: they are drawn from these
HAND_EDIT_SHARE: Final = 0.004
# Of the hand edits, the share of each kind a rep makes; the owner in no team makes the rest.
HAND_EDIT_BY_A_REP: Final = 0.4
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
    happening = _Happening(org, companies, settled, rng)
    new = happening.new_companies()
    departed_owner, departed_team, departed = happening.departure()
    skewed_team, skewed_owner, skewed = happening.skew(departed_team)
    took_watchlist, took_other_team, held_outside_teams = happening.hand_edits(departed_owner)
    moved_region, moved_to = happening.moves()
    neglected = happening.neglect()
    return Events(
        owner=happening.owner,
        departed_owner=departed_owner,
        departed_days=int(rng.integers(*DEPARTED_DAYS)),
        departed=departed,
        new=new,
        took_watchlist=took_watchlist,
        took_other_team=took_other_team,
        held_outside_teams=held_outside_teams,
        moved_region=moved_region,
        moved_to=moved_to,
        skewed_team=skewed_team,
        skewed_owner=skewed_owner,
        skewed=skewed,
        neglected=neglected,
    )


class _Happening:
    """Draws the events one kind at a time; a company takes part in one event at most."""

    def __init__(
        self, org: Org, companies: Companies, settled: Settled, rng: np.random.Generator
    ) -> None:
        self.org, self.companies, self.settled, self.rng = org, companies, settled, rng
        self.owner = settled.owner.copy()
        self.used = np.zeros(len(companies), dtype=bool)
        self.index = org.owner_index()
        self.ae_teams = [t for t, team in enumerate(org.teams) if team.spec.pipeline is not None]
        self.steady = _steady_members(org, settled)
        is_parent = np.zeros(len(companies), dtype=bool)
        is_parent[companies.parent[companies.parent >= 0]] = True
        self.is_parent = is_parent
        # Companies one edit can move without dragging a family or a named account along.
        self.free = (
            (settled.outcome == ASSIGNED)
            & np.isin(settled.team, self.ae_teams)
            & ~settled.follows_parent
            & ~is_parent
            & ~settled.named
        )

    def new_companies(self) -> Ints:
        """The newest companies, nobody's yet (never a parent: they are new)."""
        n = len(self.companies)
        newest = np.arange(n) >= n - max(1, round(n * NEW_AMONG_NEWEST))
        candidates = newest & ~self.is_parent & ~self.settled.named
        new = self._choose(candidates, round(n * NEW_SHARE))
        self.owner[new] = -1
        return new

    def departure(self) -> tuple[int, int, Ints]:
        """(owner, team, book) of the rep deactivated from the largest field team."""
        team = self._largest(self.ae_teams)
        if team < 0:
            return -1, -1, np.zeros(0, dtype=np.int64)
        owner = self.index[self._pick(self.steady[team])]
        book = np.flatnonzero((self.settled.owner == owner) & ~self.used)
        self.used[book] = True
        return owner, team, book

    def skew(self, departed_team: int) -> tuple[int, int, Ints]:
        """(team, rep, companies) of a rep handed teammates' accounts, in another field team.

        Never tier 1: balancing leaves protected accounts where they are.
        """
        team = self._largest([t for t in self.ae_teams if t != departed_team])
        if team < 0:
            return -1, -1, np.zeros(0, dtype=np.int64)
        rep = self.index[self._pick(self.steady[team])]
        book = int(np.count_nonzero(self.settled.owner == rep))
        settled = self.settled
        pool = self.free & (settled.team == team) & (self.owner != rep) & (settled.tier != 1)
        skewed = self._choose(pool, max(1, round(book * SKEW_SHARE)))
        self.owner[skewed] = rep
        return team, rep, skewed

    def hand_edits(self, departed_owner: int) -> tuple[Ints, Ints, Ints]:
        """Companies a rep took off the watchlist, a rep of another team took, and the owner
        in no team took."""
        edits = max(3, round(len(self.companies) * HAND_EDIT_SHARE))
        each = round(edits * HAND_EDIT_BY_A_REP)
        teams = self.org.teams
        reps = [self.index[m.email] for t in self.ae_teams for m in teams[t].members]
        reps = [r for r in reps if r != departed_owner]
        parked = (self.settled.outcome == WATCHLIST) & (self.settled.owner >= 0)
        took_watchlist = self._choose(parked & ~self.is_parent, each)
        self.owner[took_watchlist] = np.array(reps)[
            self.rng.integers(0, len(reps), len(took_watchlist))
        ]
        took_other_team = self._choose(self.free, each if len(self.ae_teams) > 1 else 0)
        team_of = {self.index[m.email]: t for t in self.ae_teams for m in teams[t].members}
        for i in took_other_team.tolist():
            elsewhere = [r for r in reps if team_of[r] != self.settled.team[i]]
            self.owner[i] = elsewhere[int(self.rng.integers(0, len(elsewhere)))]
        held_outside_teams = self._choose(self.free, edits - 2 * each)
        self.owner[held_outside_teams] = self.org.stray
        return took_watchlist, took_other_team, held_outside_teams

    def moves(self) -> tuple[Ints, Ints]:
        """Midmarket companies whose country was corrected to the other region's.

        Below the enterprise size, so each lands in the other region's midmarket row.
        """
        org, companies, settled = self.org, self.companies, self.settled
        team_ids = [team.spec.id for team in org.teams]
        na, emea = org.bucket_team["na"], org.bucket_team["emea"]
        if na == emea:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        region = companies.region
        regional = (region == REGIONS.index("NA")) & (settled.team == team_ids.index(na)) | (
            region == REGIONS.index("EMEA")
        ) & (settled.team == team_ids.index(emea))
        small = ~companies.no_employees & (companies.employees < ENTERPRISE_EMPLOYEES)
        moved = self._choose(self.free & regional & small, round(len(companies) * MOVED_SHARE))
        regions, shares = country_regions(), country_shares()
        moved_to = np.empty(len(moved), dtype=np.int64)
        for k, i in enumerate(moved.tolist()):
            other = np.flatnonzero((regions >= 0) & (regions != region[i]))
            moved_to[k] = self.rng.choice(other, p=shares[other] / shares[other].sum())
        return moved, moved_to

    def neglect(self) -> Ints:
        """Tier-1 accounts reps work, left untouched for months."""
        tier1 = (self.settled.outcome == ASSIGNED) & (self.settled.tier == 1)
        return self._choose(tier1, round(np.count_nonzero(tier1) * NEGLECTED_SHARE))

    def _largest(self, teams: list[int]) -> int:
        """The largest of `teams` with enough members for an event, -1 when none has them."""
        able = [
            t
            for t in teams
            if len(self.org.teams[t].members) >= MIN_TEAM_FOR_EVENT and self.steady[t]
        ]
        return max(able, key=lambda t: (len(self.org.teams[t].members), -t), default=-1)

    def _choose(self, candidates: Bools, count: int) -> Ints:
        """Up to `count` unused companies from `candidates`, in company order; marks them used."""
        pool = np.flatnonzero(candidates & ~self.used)
        count = min(max(count, 0), len(pool))
        chosen = np.sort(self.rng.choice(pool, size=count, replace=False)) if count else pool[:0]
        self.used[chosen] = True
        return chosen.astype(np.int64)

    def _pick(self, items: list[str]) -> str:
        return items[int(self.rng.integers(0, len(items)))]


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
