"""One team's placements measured as the engine measures them: work, checks, a naive re-split.

Every function reads the very values `rules.balancing.assign_team` takes (reps, fixed loads,
units and the index weights) and measures work the way it does: w = wp·p/ΣP + we·e/ΣE over
the team's fixed load and units, with wp, we the weights normalised to sum 1; a rep's band is
(1 ± t)·c/ΣC of work, and its budgets are its minutes and max_accounts.

A *move* is a unit (weighted by its account count) that ends on a rep other than its eligible
current owner. Pool units (owner None) cost nothing wherever they land; protected and
`keep_owner` units stay on their owner, as the engine keeps them for balance.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rules.balancing import TeamLoad, Unit
from rules.capacity import Rep

# Same slack the engine allows on the minutes budget (rules.balancing.EPSILON).
MINUTES_SLACK = 1e-12
# Reported indices are rounded to 6 places (rules.reports.BAND_SLACK); a band check allows the same.
BAND_SLACK = 1e-6


@dataclass(frozen=True, slots=True)
class TeamWork:
    """Work per unit, capacity share per rep and fixed work per rep, as assign_team sees them."""

    unit: dict[int, float]  # unit key -> work
    shares: list[float]
    fixed: list[float]


def team_work(
    reps: Sequence[Rep],
    fixed: Sequence[TeamLoad],
    units: Sequence[Unit],
    *,
    weight_potential: float,
    weight_effort: float,
) -> TeamWork:
    """Work of every unit and fixed load, normalised so the team's total work is 1."""
    total_capacity = sum(r.capacity_minutes for r in reps)
    shares = [r.capacity_minutes / total_capacity if total_capacity else 0.0 for r in reps]
    total_p = sum(f.potential for f in fixed) + sum(u.potential for u in units)
    total_e = sum(f.minutes for f in fixed) + sum(u.minutes for u in units)
    weights = weight_potential + weight_effort
    wp = weight_potential / weights / total_p if total_p else 0.0
    we = weight_effort / weights / total_e if total_e else 0.0
    return TeamWork(
        unit={u.key: wp * u.potential + we * u.minutes for u in units},
        shares=shares,
        fixed=[wp * f.potential + we * f.minutes for f in fixed],
    )


def stays_with_owner(unit: Unit, *, keep: bool = True) -> bool:
    """Balancing never moves this unit: an eligible owner holds it protected or by keep_owner
    (`keep=False`: protected only, as a re-split that ignores current owners sees it)."""
    return unit.owner is not None and (unit.protected or (keep and unit.keep))


def count_moves(units: Sequence[Unit], placement: Mapping[int, int | None]) -> int:
    """Accounts that end with a rep other than their eligible owner (unplaced counts as moved)."""
    return sum(u.count for u in units if u.owner is not None and placement.get(u.key) != u.owner)


@dataclass(slots=True)
class Books:
    """Rep loads while a placement is built: work, minutes, accounts, and what was placed."""

    reps: Sequence[Rep]
    work: TeamWork
    load: list[float]
    minutes: list[float]
    counts: list[float]
    placement: dict[int, int | None]

    @classmethod
    def start(cls, reps: Sequence[Rep], fixed: Sequence[TeamLoad], work: TeamWork) -> Books:
        return cls(
            reps=reps,
            work=work,
            load=list(work.fixed),
            minutes=[f.minutes for f in fixed],
            counts=[float(f.count) for f in fixed],
            placement={},
        )

    def put(self, unit: Unit, rep: int | None) -> None:
        self.placement[unit.key] = rep
        if rep is not None:
            self.load[rep] += self.work.unit[unit.key]
            self.minutes[rep] += unit.minutes
            self.counts[rep] += unit.count

    def room(self, unit: Unit, rep: int) -> bool:
        return (
            self.reps[rep].active
            and self.minutes[rep] + unit.minutes <= self.reps[rep].capacity_minutes + MINUTES_SLACK
            and self.counts[rep] + unit.count <= self.reps[rep].max_accounts
        )

    def index(self, rep: int) -> float:
        share = self.work.shares[rep]
        return self.load[rep] / share if share > 0 else float("inf")

    def deal(self, units: Sequence[Unit]) -> None:
        """Largest work first, each to the rep with the lowest index that has room."""
        heap = [(self.index(i), i) for i, r in enumerate(self.reps) if r.active]
        heapq.heapify(heap)
        for unit in sorted(units, key=lambda u: (-self.work.unit[u.key], u.key)):
            skipped: list[tuple[float, int]] = []
            chosen: int | None = None
            while heap:
                entry = heapq.heappop(heap)
                if self.room(unit, entry[1]):
                    chosen = entry[1]
                    break
                skipped.append(entry)
            for entry in skipped:
                heapq.heappush(heap, entry)
            self.put(unit, chosen)
            if chosen is not None:
                heapq.heappush(heap, (self.index(chosen), chosen))


def split_fixed(
    reps: Sequence[Rep],
    fixed: Sequence[TeamLoad],
    units: Sequence[Unit],
    work: TeamWork,
    *,
    within_budgets: bool = False,
    keep: bool = True,
) -> tuple[Books, list[Unit]]:
    """Books holding the fixed load and the units that never move; the movable rest.

    `within_budgets`: an owner keeps such units only while both budgets allow, highest
    potential first, as the engine does; the surplus joins the movable rest.
    """
    books = Books.start(reps, fixed, work)
    movable: list[Unit] = []
    staying = [u for u in units if stays_with_owner(u, keep=keep)]
    if within_budgets:
        staying.sort(key=lambda u: (-u.potential, u.key))
    for unit in staying:
        assert unit.owner is not None
        if within_budgets and not books.room(unit, unit.owner):
            movable.append(unit)
        else:
            books.put(unit, unit.owner)
    movable.extend(u for u in units if not stays_with_owner(u, keep=keep))
    return books, movable


@dataclass(slots=True)
class BandCheck:
    """A placement's final state: worst |index - 1| and budget breaches over active reps."""

    worst_deviation: float
    over_minutes: int
    over_accounts: int
    unplaced: int

    def within(self, tolerance: float) -> bool:
        """True when every active rep sits in 1 ± tolerance within both budgets."""
        return (
            self.worst_deviation <= tolerance + BAND_SLACK
            and self.over_minutes == 0
            and self.over_accounts == 0
        )


def check_placement(
    reps: Sequence[Rep],
    fixed: Sequence[TeamLoad],
    units: Sequence[Unit],
    placement: Mapping[int, int | None],
    *,
    weight_potential: float,
    weight_effort: float,
) -> BandCheck:
    """Recompute every rep's index and budgets from scratch for `placement`."""
    work = team_work(
        reps, fixed, units, weight_potential=weight_potential, weight_effort=weight_effort
    )
    books = Books.start(reps, fixed, work)
    for unit in units:
        books.put(unit, placement.get(unit.key))
    active = [i for i, r in enumerate(reps) if r.active and work.shares[i] > 0]
    return BandCheck(
        worst_deviation=max((abs(books.index(i) - 1) for i in active), default=0.0),
        over_minutes=sum(
            1 for i in active if books.minutes[i] > reps[i].capacity_minutes + MINUTES_SLACK
        ),
        over_accounts=sum(1 for i in active if books.counts[i] > reps[i].max_accounts),
        unplaced=sum(u.count for u in units if placement.get(u.key) is None),
    )


@dataclass(slots=True)
class NaiveResult:
    """A re-split that ignores current owners: where each unit went and the moves it costs."""

    placement: dict[int, int | None]
    moves: int
    unplaced: int


def naive_resplit(
    reps: Sequence[Rep],
    fixed: Sequence[TeamLoad],
    units: Sequence[Unit],
    *,
    weight_potential: float,
    weight_effort: float,
    keep_owners: bool = True,
) -> NaiveResult:
    """Deal every movable unit, largest work first, to the least-loaded active rep with room.

    Protected units, and with `keep_owners` the `keep_owner` units too, stay with their owner
    up to both budgets (the surplus is dealt too, as the engine sheds it); everything else is
    dealt afresh, current owners ignored. `keep_owners=False` is the plain re-split.
    """
    work = team_work(
        reps, fixed, units, weight_potential=weight_potential, weight_effort=weight_effort
    )
    books, movable = split_fixed(reps, fixed, units, work, within_budgets=True, keep=keep_owners)
    books.deal(movable)
    unplaced = sum(u.count for u in units if books.placement[u.key] is None)
    return NaiveResult(books.placement, count_moves(units, books.placement), unplaced)


def rule_order_floor(reps: Sequence[Rep], fixed: Sequence[TeamLoad], units: Sequence[Unit]) -> int:
    """A lower bound on moves under the rules' own priorities, not just the budgets.

    An owner short of budget keeps protected accounts first, then `keep_owner` accounts
    highest potential first (docs/engine.md: "the surplus, lowest potential first, is placed
    like new accounts"); what of those does not fit must move. The owner's other accounts
    then shed at least the fractional relief `forced_floor` counts against the budget left
    over. Any plan that honours those priorities moves at least this many accounts.
    """
    total = 0
    for r, rep in enumerate(reps):
        owned = [u for u in units if u.owner == r]
        minutes = fixed[r].minutes
        count = float(fixed[r].count)
        held = sorted(
            (u for u in owned if u.protected or u.keep),
            key=lambda u: (not u.protected, -u.potential, u.key),
        )
        for unit in held:
            if (
                minutes + unit.minutes <= rep.capacity_minutes + MINUTES_SLACK
                and count + unit.count <= rep.max_accounts
            ):
                minutes += unit.minutes
                count += unit.count
            else:
                total += unit.count
        rest = [u for u in owned if not (u.protected or u.keep)]
        total += _shed_at_least(rest, rep.capacity_minutes - minutes, rep.max_accounts - count)
    return total


def _shed_at_least(owned: Sequence[Unit], minutes_left: float, accounts_left: float) -> int:
    """Fewest accounts of `owned` to give up so the rest fit the budgets left (fractional
    relief, most minutes per account first, rounded up)."""
    need_minutes = sum(u.minutes for u in owned) - minutes_left
    by_minutes = 0
    for unit in sorted(owned, key=lambda u: (-u.minutes / u.count, u.key)):
        if need_minutes <= 1e-9:
            break
        if unit.minutes <= need_minutes:
            by_minutes += unit.count
            need_minutes -= unit.minutes
        else:
            by_minutes += math.ceil(need_minutes / (unit.minutes / unit.count) - 1e-9)
            need_minutes = 0
    by_accounts = math.ceil(sum(u.count for u in owned) - accounts_left - 1e-9)
    return max(by_minutes, by_accounts, 0)


def forced_floor(reps: Sequence[Rep], fixed: Sequence[TeamLoad], units: Sequence[Unit]) -> int:
    """A lower bound on the accounts any valid plan moves off their owners: each rep's book
    above either budget must shed at least this much (fractional relief, most minutes per
    account first, rounded up). Moves below this floor are impossible, whatever the method."""
    total = 0
    for r, rep in enumerate(reps):
        owned = [u for u in units if u.owner == r]
        total += _shed_at_least(
            owned, rep.capacity_minutes - fixed[r].minutes, rep.max_accounts - fixed[r].count
        )
    return total
