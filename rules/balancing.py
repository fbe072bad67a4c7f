"""Team assignment: keep eligible owners, place the pool, then balance with the fewest moves.

A *unit* is an account together with the children that follow it; it moves as one. Work is
measured as the balance index sees it: w = wp·p/ΣP + we·e/ΣE, so a rep's index is W/c with c
its share of the team's capacity, and the band is (1 ± tolerance)·c.

The moves are greedy but aimed: the worst rep first, a unit that lands it inside the band in
one move when one exists (a placed-this-run unit before a kept one, since moving it costs no
change), every move strictly reducing the total violation, within the move budget.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from rules.capacity import Rep
from rules.reasons import Why

EPSILON = 1e-12


@dataclass(slots=True)
class Unit:
    """An account (and its following children) to place in one team."""

    key: int  # row of the head account; rows are in account-id order
    minutes: float
    potential: float
    count: int
    owner: int | None  # index of the eligible current rep, if any
    protected: bool  # never moved for balance
    keep: bool  # keep_owner strategy: kept units are not moved for balance
    industry: str | None
    prefer_affinity: bool
    work: float = 0.0


@dataclass(slots=True)
class TeamLoad:
    """What a rep already carries that this team cannot move (named, pinned, elsewhere)."""

    minutes: float = 0.0
    potential: float = 0.0
    count: int = 0


@dataclass(slots=True)
class Candidate:
    """A rep considered for a placed unit, with its index at that moment."""

    rep: int
    index: float
    role: str  # chosen | next (the runner-up) | full (no room in a budget)


@dataclass(frozen=True, slots=True)
class TeamOutcome:
    """What the plan reports of one team's balancing."""

    moves: int = 0
    move_budget: int = 0
    budget_exhausted: bool = False
    pinned_outside_band: bool = False  # work it may not move already puts a rep outside


@dataclass(slots=True)
class TeamResult:
    """Where each unit went (rep index or None) and why; moves spent; what stayed out of band."""

    placement: dict[int, int | None]
    why: dict[int, Why]
    candidates: dict[int, list[Candidate]]
    moves: int
    budget_exhausted: bool
    shed: int = 0  # accounts an eligible owner had no room to keep
    pinned_outside_band: bool = False


@dataclass(slots=True)
class _RepState:
    rep: Rep
    share: float
    minutes: float
    count: int
    work: float
    unmovable: float = 0.0  # work balancing may not move: named, pinned, protected, kept
    movable: list[tuple[float, int]] = field(default_factory=list)  # (work, unit key) sorted

    @property
    def index(self) -> float:
        return self.work / self.share if self.share > 0 else float("inf")


def assign_team(
    reps: Sequence[Rep],
    fixed: Sequence[TeamLoad],
    units: Sequence[Unit],
    *,
    tolerance: float,
    weight_potential: float,
    weight_effort: float,
    move_budget: int,
) -> TeamResult:
    """Place every unit on an active rep of the team (or None when the team is full)."""
    total_capacity = sum(r.capacity_minutes for r in reps)
    shares = [r.capacity_minutes / total_capacity if total_capacity else 0.0 for r in reps]
    total_p = sum(f.potential for f in fixed) + sum(u.potential for u in units)
    total_e = sum(f.minutes for f in fixed) + sum(u.minutes for u in units)
    weights = weight_potential + weight_effort
    wp = weight_potential / weights / total_p if total_p else 0.0
    we = weight_effort / weights / total_e if total_e else 0.0
    for unit in units:
        unit.work = wp * unit.potential + we * unit.minutes
    states = [
        _RepState(
            rep=r,
            share=shares[i],
            minutes=fixed[i].minutes,
            count=fixed[i].count,
            work=wp * fixed[i].potential + we * fixed[i].minutes,
            unmovable=wp * fixed[i].potential + we * fixed[i].minutes,
        )
        for i, r in enumerate(reps)
    ]
    by_key = {u.key: u for u in units}
    result = TeamResult(placement={}, why={}, candidates={}, moves=0, budget_exhausted=False)
    pool = _keep_owners(states, units, result)
    _place_pool(states, pool, tolerance, result)
    _balance(states, by_key, tolerance, move_budget, result)
    # Balancing can free room where the pool found none: offer it to what was left over.
    left = [u for u in pool if result.placement.get(u.key) is None]
    if left:
        _place_pool(states, left, tolerance, result)
        if any(result.placement.get(u.key) is not None for u in left):
            _balance(states, by_key, tolerance, move_budget, result)
    result.pinned_outside_band = any(
        s.rep.active and s.share > 0 and s.unmovable / s.share > 1 + tolerance + 1e-9
        for s in states
    )
    return result


def _fits(state: _RepState, unit: Unit) -> bool:
    return (
        state.rep.active
        and state.minutes + unit.minutes <= state.rep.capacity_minutes + EPSILON
        and state.count + unit.count <= state.rep.max_accounts
    )


def _take(state: _RepState, unit: Unit, *, movable: bool) -> None:
    state.minutes += unit.minutes
    state.count += unit.count
    state.work += unit.work
    if movable:
        bisect.insort(state.movable, (unit.work, unit.key))
    else:
        state.unmovable += unit.work


def _drop(state: _RepState, unit: Unit) -> None:
    state.minutes -= unit.minutes
    state.count -= unit.count
    state.work -= unit.work
    position = bisect.bisect_left(state.movable, (unit.work, unit.key))
    if position < len(state.movable) and state.movable[position][1] == unit.key:
        state.movable.pop(position)


def _keep_owners(states: list[_RepState], units: Sequence[Unit], result: TeamResult) -> list[Unit]:
    """Eligible owners keep their units up to both budgets; return the pool to place."""
    pool = [u for u in units if u.owner is None]
    held: dict[int, list[Unit]] = {}
    for unit in units:
        if unit.owner is not None:
            held.setdefault(unit.owner, []).append(unit)
    for owner, kept in sorted(held.items()):
        state = states[owner]
        # What an owner keeps first when a budget is short: protected accounts, then
        # keep_owner accounts by potential (the surplus, lowest potential first, is balanced),
        # then balanced accounts fewest minutes first, so the fewest accounts relieve the budget.
        kept.sort(
            key=lambda u: (
                not u.protected,
                not u.keep,
                -u.potential if u.keep else u.minutes / u.count,
                u.work,
                u.key,
            )
        )
        for unit in kept:
            if _fits(state, unit):
                _take(state, unit, movable=not (unit.protected or unit.keep))
                result.placement[unit.key] = owner
                result.why[unit.key] = Why.CONTINUITY
            else:
                pool.append(unit)
                result.shed += unit.count
    return pool


def _place_pool(
    states: list[_RepState], pool: list[Unit], tolerance: float, result: TeamResult
) -> None:
    """Largest work first, each to the least-loaded rep with room (affinity first if asked)."""
    pool.sort(key=lambda u: (-u.work, u.key))
    # A lazy heap: an entry whose index no longer matches its rep's is stale and skipped.
    heap = [(s.index, i) for i, s in enumerate(states) if s.rep.active]
    heapq.heapify(heap)
    # Free room only shrinks while placing: once a unit found no rep, any unit needing more
    # minutes than the largest free minutes (or more accounts) fails without a scan.
    most_free: tuple[float, int] | None = None
    for unit in pool:
        if most_free is not None and (
            unit.minutes > most_free[0] + EPSILON or unit.count > most_free[1]
        ):
            result.placement[unit.key] = None
            result.why[unit.key] = Why.OVER_CAPACITY
            continue
        chosen: int | None = None
        why = Why.LEAST_LOADED
        looked: list[Candidate] = []
        if unit.prefer_affinity and unit.industry is not None:
            chosen = _affinity_rep(states, unit, tolerance)
            why = Why.AFFINITY
        if chosen is None:
            why = Why.LEAST_LOADED
            chosen = _least_loaded(states, heap, unit, looked)
        if chosen is None:
            result.placement[unit.key] = None
            result.why[unit.key] = Why.OVER_CAPACITY
            most_free = _most_free(states)
            continue
        state = states[chosen]
        while heap and heap[0][0] != states[heap[0][1]].index:
            heapq.heappop(heap)  # drop stale entries so the runner-up shown is real
        if why == Why.LEAST_LOADED and heap:
            looked.append(Candidate(rep=heap[0][1], index=round(heap[0][0], 6), role="next"))
        looked.insert(0, Candidate(rep=chosen, index=round(state.index, 6), role="chosen"))
        result.candidates[unit.key] = looked[:4]
        # Placed away from any owner, even a shed keep_owner or protected account is balanced.
        _take(state, unit, movable=True)
        heapq.heappush(heap, (state.index, chosen))
        result.placement[unit.key] = chosen
        result.why[unit.key] = why
        if unit.owner is not None:
            result.moves += _move_cost(unit, chosen)  # a shed account leaving its owner


def _most_free(states: list[_RepState]) -> tuple[float, int]:
    active = [s for s in states if s.rep.active]
    if not active:
        return (-1.0, -1)
    return (
        max(s.rep.capacity_minutes - s.minutes for s in active),
        max(s.rep.max_accounts - s.count for s in active),
    )


def _affinity_rep(states: list[_RepState], unit: Unit, tolerance: float) -> int | None:
    best: tuple[float, int] | None = None
    for i, state in enumerate(states):
        if unit.industry in state.rep.industries and _fits(state, unit):
            after = (state.work + unit.work) / state.share if state.share else float("inf")
            if after <= 1 + tolerance and (best is None or (state.index, i) < best):
                best = (state.index, i)
    return None if best is None else best[1]


def _least_loaded(
    states: list[_RepState], heap: list[tuple[float, int]], unit: Unit, looked: list[Candidate]
) -> int | None:
    """Pop the least-loaded rep with room for `unit`; reps without room go back on the heap."""
    skipped: list[tuple[float, int]] = []
    chosen: int | None = None
    while heap:
        index, i = heapq.heappop(heap)
        if index != states[i].index:
            continue  # stale: the rep took work since this entry was pushed
        if _fits(states[i], unit):
            chosen = i
            break
        skipped.append((index, i))
        if len(looked) < 3:
            looked.append(Candidate(rep=i, index=round(index, 6), role="full"))
    for entry in skipped:
        heapq.heappush(heap, entry)
    return chosen


def _violation(state: _RepState, work: float, tolerance: float) -> float:
    if state.share <= 0:
        return 0.0
    low, high = (1 - tolerance) * state.share, (1 + tolerance) * state.share
    return max(work - high, low - work, 0.0) / state.share


def _balance(
    states: list[_RepState],
    units: dict[int, Unit],
    tolerance: float,
    budget: int,
    result: TeamResult,
) -> None:
    active = [i for i, s in enumerate(states) if s.rep.active]
    limit = 4 * len(units) + 100
    for _ in range(limit):
        order = sorted(
            (i for i in active if _violation(states[i], states[i].work, tolerance) > EPSILON),
            key=lambda i: (-_violation(states[i], states[i].work, tolerance), i),
        )
        if not order:
            return
        move = next(
            (
                m
                for worst in order
                if (m := _best_move(states, active, units, worst, tolerance, budget - result.moves))
            ),
            None,
        )
        # No single move helps any rep: try swapping two accounts for the worst one, then
        # trading two accounts for one.
        left = budget - result.moves
        moves = (
            [move]
            if move
            else _best_swap(states, active, units, order[0], tolerance, left)
            or _best_exchange(states, active, units, order[0], tolerance, left)
        )
        if moves:
            for key, source, target, cost in moves:
                _apply_move(states, units[key], source, target, cost, result)
            continue
        # Blame the budget only when more moves would actually reach the band: finish the
        # balancing on a copy with no budget and see where it ends.
        over_budget = budget < 10**12 and _reaches_band_unbounded(states, units, tolerance, result)
        result.budget_exhausted = over_budget
        return


def _apply_move(
    states: list[_RepState], unit: Unit, source: int, target: int, cost: int, result: TeamResult
) -> None:
    _drop(states[source], unit)
    _take(states[target], unit, movable=True)
    result.placement[unit.key] = target
    if unit.owner is not None:
        result.why[unit.key] = Why.REBALANCE
    result.moves += cost


def _reaches_band_unbounded(
    states: list[_RepState], units: dict[int, Unit], tolerance: float, result: TeamResult
) -> bool:
    copies = [replace(s, movable=list(s.movable)) for s in states]
    trial = TeamResult(
        placement=dict(result.placement),
        why=dict(result.why),
        candidates={},
        moves=0,
        budget_exhausted=False,
    )
    _balance(copies, units, tolerance, 10**12, trial)
    return not any(s.rep.active and _violation(s, s.work, tolerance) > EPSILON for s in copies)


def _best_swap(
    states: list[_RepState],
    active: list[int],
    units: dict[int, Unit],
    worst: int,
    tolerance: float,
    budget_left: int,
) -> list[tuple[int, int, int, int]] | None:
    """Two moves that trade a larger unit of `worst` for a smaller one (or the reverse)."""
    state = states[worst]
    over = state.work > (1 + tolerance) * state.share
    before_worst = _violation(state, state.work, tolerance)
    best: tuple[tuple[float, int, int], list[tuple[int, int, int, int]]] | None = None
    # The worst rep's largest units when over, smallest when under: a handful is enough.
    own = state.movable[-6:] if over else state.movable[:6]
    for other in active:
        if other == worst or not states[other].movable:
            continue
        peer = states[other]
        before = before_worst + _violation(peer, peer.work, tolerance)
        for own_work, own_key in own:
            # The peer unit that brings `worst` closest to a fair share.
            ideal = (
                own_work - (state.work - state.share)
                if over
                else own_work + (state.share - state.work)
            )
            position = bisect.bisect_left(peer.movable, (ideal, -1))
            # A few around the ideal: the nearest may not fit a budget while its neighbour does.
            for peer_work, peer_key in peer.movable[max(0, position - 4) : position + 4]:
                delta = own_work - peer_work  # work leaving `worst`
                if (delta <= EPSILON) if over else (delta >= -EPSILON):
                    continue
                after = _violation(state, state.work - delta, tolerance) + _violation(
                    peer, peer.work + delta, tolerance
                )
                if after >= before - EPSILON:
                    continue
                mine, theirs = units[own_key], units[peer_key]
                cost = _move_cost(mine, other) + _move_cost(theirs, worst)
                if cost > budget_left or not _fits_trade(peer, [mine], [theirs]):
                    continue
                if not _fits_trade(state, [theirs], [mine]):
                    continue
                score = (after - before, max(cost, 0), own_key)
                if best is None or score < best[0]:
                    best = (
                        score,
                        [
                            (own_key, worst, other, _move_cost(mine, other)),
                            (peer_key, other, worst, _move_cost(theirs, worst)),
                        ],
                    )
    return None if best is None else best[1]


# How many of a rep's smallest and largest movable units, and how many peers, an exchange
# looks at: enough for the coarse cases single moves and swaps miss, bounded for large teams.
_EXCHANGE_ENDS = 6
_EXCHANGE_PEERS = 5


def _best_exchange(
    states: list[_RepState],
    active: list[int],
    units: dict[int, Unit],
    worst: int,
    tolerance: float,
    budget_left: int,
) -> list[tuple[int, int, int, int]] | None:
    """Trade two units for one (either way) between `worst` and a peer, if that helps both."""
    state = states[worst]
    over = state.work > (1 + tolerance) * state.share
    peers = sorted(
        (p for p in active if p != worst and states[p].movable),
        key=lambda p: (states[p].index if over else -states[p].index, p),
    )[:_EXCHANGE_PEERS]
    own = _exchange_groups(state.movable)
    best: tuple[tuple[float, int], list[tuple[int, int, int, int]]] | None = None
    for other in peers:
        peer = states[other]
        before = _violation(state, state.work, tolerance) + _violation(peer, peer.work, tolerance)
        for give in own:
            for take in _exchange_groups(peer.movable):
                if len(give) == 1 and len(take) == 1:
                    continue  # one-for-one is _best_swap's job
                delta = sum(units[k].work for k in give) - sum(units[k].work for k in take)
                after = _violation(state, state.work - delta, tolerance) + _violation(
                    peer, peer.work + delta, tolerance
                )
                if after >= before - EPSILON:
                    continue
                moves = [(k, worst, other, _move_cost(units[k], other)) for k in give] + [
                    (k, other, worst, _move_cost(units[k], worst)) for k in take
                ]
                cost = sum(m[3] for m in moves)
                if cost > budget_left:
                    continue
                incoming = [units[k] for k in take]
                outgoing = [units[k] for k in give]
                if not (
                    _fits_trade(state, incoming, outgoing) and _fits_trade(peer, outgoing, incoming)
                ):
                    continue
                score = (after - before, max(cost, 0))
                if best is None or score < best[0]:
                    best = (score, moves)
    return None if best is None else best[1]


def _exchange_groups(movable: list[tuple[float, int]]) -> list[tuple[int, ...]]:
    """Singles and pairs from both ends of a rep's movable units, in a fixed order."""
    ends = sorted({key for _, key in movable[:_EXCHANGE_ENDS] + movable[-_EXCHANGE_ENDS:]})
    groups: list[tuple[int, ...]] = [(key,) for key in ends]
    groups.extend((a, b) for i, a in enumerate(ends) for b in ends[i + 1 :])
    return groups


def _fits_trade(state: _RepState, incoming: list[Unit], outgoing: list[Unit]) -> bool:
    minutes = sum(u.minutes for u in incoming) - sum(u.minutes for u in outgoing)
    count = sum(u.count for u in incoming) - sum(u.count for u in outgoing)
    return (
        state.rep.active
        and state.minutes + minutes <= state.rep.capacity_minutes + EPSILON
        and state.count + count <= state.rep.max_accounts
    )


def _move_cost(unit: Unit, target: int) -> int:
    """Accounts that end with a rep other than their eligible owner because of this move."""
    if unit.owner is None:
        return 0
    if target == unit.owner:
        return -unit.count
    return unit.count


def _best_move(
    states: list[_RepState],
    active: list[int],
    units: dict[int, Unit],
    worst: int,
    tolerance: float,
    budget_left: int,
) -> tuple[int, int, int, int] | None:
    """The move that helps rep `worst` most: (unit key, from, to, move cost), or None."""
    state = states[worst]
    low = (1 - tolerance) * state.share
    high = (1 + tolerance) * state.share
    best: tuple[tuple[float, ...], tuple[int, int, int, int]] | None = None
    if state.work > high:
        pairs = [(worst, r) for r in active if r != worst]
        need_low, need_high = state.work - high, state.work - low
    else:
        pairs = [(d, worst) for d in active if d != worst and states[d].movable]
        need_low, need_high = low - state.work, high - state.work
    for source, target in pairs:
        donor, receiver = states[source], states[target]
        room = (1 + tolerance) * receiver.share - receiver.work
        keep = donor.work - (1 - tolerance) * donor.share
        ceiling = min(need_high, room, keep) if donor is not state else min(need_high, room)
        if ceiling <= EPSILON:
            continue
        for key in _candidates(donor.movable, need_low, ceiling):
            unit = units[key]
            cost = _move_cost(unit, target)
            if cost > budget_left or not _fits(receiver, unit):
                continue
            before = _violation(donor, donor.work, tolerance) + _violation(
                receiver, receiver.work, tolerance
            )
            after = _violation(donor, donor.work - unit.work, tolerance) + _violation(
                receiver, receiver.work + unit.work, tolerance
            )
            if after >= before - EPSILON:
                continue
            score = (
                after - before,
                max(cost, 0),
                -receiver.index if donor is state else 0.0,
                key,
                target,
            )
            if best is None or score < best[0]:
                best = (score, (key, source, target, cost))
            break
    return None if best is None else best[1]


def _candidates(movable: list[tuple[float, int]], need_low: float, ceiling: float) -> list[int]:
    """Unit keys to try: the smallest that covers the need, then the largest under the ceiling."""
    if not movable:
        return []
    found: list[int] = []
    start = bisect.bisect_left(movable, (need_low, -1))
    end = bisect.bisect_right(movable, (ceiling, 2**62))
    if start < end:
        found.append(movable[start][1])
    if end > 0:
        found.append(movable[end - 1][1])
    found.extend(movable[position][1] for position in range(end - 2, max(end - 6, -1), -1))
    return found
