"""The fewest moves one team's balancing allows: an exact MILP (HiGHS via scipy).

Moves, work and bands are measured as in `tests.bench.placement` (the engine's own formula).
`full_min_moves` is the textbook model, binary x[u, r] per unit and rep. At 10k units x 50 reps
(half a million binaries) HiGHS needs minutes just for presolve and the root LP, so
`exact_min_moves` solves the same problem in two steps that prove optimality when they meet:

1. a lower bound: binary "stays with its owner" per owned unit, while the moved and pool units
   flow to reps as continuous work, minutes and accounts (a relaxation: any placement maps to
   it), a MILP of one binary per unit and a few rows per rep;
2. an upper bound: deal the moved and pool units onto the kept books, largest work first, to
   the rep lowest in its band with room. When that placement is inside every band and budget,
   its moves equal the bound and are the exact minimum; otherwise the full model decides.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rules.balancing import TeamLoad, Unit
from rules.capacity import Rep
from tests.bench.placement import (
    MINUTES_SLACK,
    check_placement,
    count_moves,
    split_fixed,
    team_work,
)


@dataclass(slots=True)
class ExactResult:
    """The verdict: `moves` is proven minimal only when `status` is "optimal"."""

    status: str  # optimal | time_limit | infeasible | error
    moves: int | None
    lower_bound: float | None
    seconds: float
    variables: int
    method: str  # bound+deal | full
    placement: dict[int, int | None] = field(default_factory=dict)


_STATUS = {0: "optimal", 1: "time_limit", 2: "infeasible", 3: "unbounded"}


def exact_min_moves(
    reps: Sequence[Rep],
    fixed: Sequence[TeamLoad],
    units: Sequence[Unit],
    *,
    tolerance: float,
    weight_potential: float,
    weight_effort: float,
    time_limit: float = 600.0,
) -> ExactResult:
    """The minimum moves into every band within both budgets, proven (or bounded on timeout)."""
    from scipy.optimize import Bounds, LinearConstraint, milp  # noqa: PLC0415 (optional dep)
    from scipy.sparse import coo_array  # noqa: PLC0415

    started = time.perf_counter()
    work = team_work(
        reps, fixed, units, weight_potential=weight_potential, weight_effort=weight_effort
    )
    books, movable = split_fixed(reps, fixed, units, work)
    active = [i for i, r in enumerate(reps) if r.active]
    owned = [u for u in movable if u.owner is not None and reps[u.owner].active]
    # Owned by an inactive rep (the engine never passes one): it must move, at full cost.
    forced = sum(u.count for u in movable if u.owner is not None and not reps[u.owner].active)
    n, k = len(owned), len(active)
    # Columns: stay[u] for each owned unit, then inflow work, minutes, accounts per active rep.
    column = {rep: j for j, rep in enumerate(active)}
    resources = [
        np.array([work.unit[u.key] for u in owned]),
        np.array([u.minutes for u in owned], dtype=float),
        np.array([u.count for u in owned], dtype=float),
    ]
    totals = [
        sum(work.unit[u.key] for u in movable),
        sum(u.minutes for u in movable),
        float(sum(u.count for u in movable)),
    ]
    owner_row = np.array(
        [column[owner] for owner in (u.owner for u in owned) if owner is not None], dtype=np.int64
    )
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    data: list[np.ndarray] = []
    lower: list[float] = []
    upper: list[float] = []
    band = [
        (
            (1 - tolerance) * work.shares[i] - books.load[i],
            (1 + tolerance) * work.shares[i] - books.load[i],
        )
        for i in active
    ]
    budgets = [
        [(-np.inf, reps[i].capacity_minutes + MINUTES_SLACK - books.minutes[i]) for i in active],
        [(-np.inf, reps[i].max_accounts - books.counts[i]) for i in active],
    ]
    for family, amount in enumerate(resources):
        base = len(lower)
        # Per rep: what it keeps plus what flows in sits in its band / under its budget.
        rows.append(base + owner_row)
        cols.append(np.arange(n))
        data.append(amount)
        rows.append(base + np.arange(k))
        cols.append(n + family * k + np.arange(k))
        data.append(np.ones(k))
        for low, high in band if family == 0 else budgets[family - 1]:
            lower.append(low)
            upper.append(high)
        # Everything not kept flows somewhere: Σ inflow + Σ amount·stay = total.
        rows.append(np.full(n + k, base + k))
        cols.append(np.concatenate([np.arange(n), n + family * k + np.arange(k)]))
        data.append(np.concatenate([amount, np.ones(k)]))
        lower.append(totals[family])
        upper.append(totals[family])
    matrix = coo_array(
        (np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(lower), n + 3 * k),
    ).tocsr()
    cost = np.concatenate([-resources[2], np.zeros(3 * k)])
    result = milp(
        cost,
        integrality=np.concatenate([np.ones(n), np.zeros(3 * k)]),
        bounds=Bounds(np.zeros(n + 3 * k), np.concatenate([np.ones(n), np.full(3 * k, np.inf)])),
        constraints=LinearConstraint(matrix, np.array(lower), np.array(upper)),
        options={"time_limit": time_limit, "mip_rel_gap": 0.0, "disp": False},
    )
    if result.status == 2:
        return ExactResult(
            "infeasible", None, None, time.perf_counter() - started, n + 3 * k, "bound+deal"
        )
    all_owned = forced + int(resources[2].sum())
    dual = getattr(result, "mip_dual_bound", None)
    bound = all_owned + float(dual if dual is not None else result.fun)
    if result.status == 0:
        stay = np.asarray(result.x[:n]) > 0.5
        for u, unit in enumerate(owned):
            if stay[u]:
                books.put(unit, unit.owner)
        books.deal([u for u, kept in zip(owned, stay, strict=True) if not kept])
        books.deal([u for u in movable if u.owner is None or not reps[u.owner].active])
        check = check_placement(
            reps,
            fixed,
            units,
            books.placement,
            weight_potential=weight_potential,
            weight_effort=weight_effort,
        )
        moves = count_moves(units, books.placement)
        if check.within(tolerance) and check.unplaced == 0 and moves <= round(bound):
            return ExactResult(
                "optimal",
                moves,
                bound,
                time.perf_counter() - started,
                n + 3 * k,
                "bound+deal",
                books.placement,
            )
    left = max(1.0, time_limit - (time.perf_counter() - started))
    full = full_min_moves(
        reps,
        fixed,
        units,
        tolerance=tolerance,
        weight_potential=weight_potential,
        weight_effort=weight_effort,
        time_limit=left,
    )
    full.seconds = time.perf_counter() - started
    if full.lower_bound is None or full.lower_bound < bound:
        full.lower_bound = bound
    return full


def full_min_moves(
    reps: Sequence[Rep],
    fixed: Sequence[TeamLoad],
    units: Sequence[Unit],
    *,
    tolerance: float,
    weight_potential: float,
    weight_effort: float,
    time_limit: float = 600.0,
) -> ExactResult:
    """The textbook model: binary x[u, r] per movable unit and active rep, one rep per unit."""
    from scipy.optimize import Bounds, LinearConstraint, milp  # noqa: PLC0415 (optional dep)
    from scipy.sparse import coo_array  # noqa: PLC0415

    started = time.perf_counter()
    work = team_work(
        reps, fixed, units, weight_potential=weight_potential, weight_effort=weight_effort
    )
    books, movable = split_fixed(reps, fixed, units, work)
    active = [i for i, r in enumerate(reps) if r.active]
    column = {rep: j for j, rep in enumerate(active)}
    n, k = len(movable), len(active)
    if n == 0 or k == 0:
        status = "optimal" if n == 0 else "infeasible"
        return ExactResult(status, 0, 0.0, 0.0, 0, "full", books.placement)
    unit_work = np.array([work.unit[u.key] for u in movable])
    share = np.array([work.shares[i] for i in active])
    # Variable u*k + j is "movable unit u goes to active rep j"; rows are stacked by family:
    # one rep per unit, the index band (divided by the share, so it reads near 1), minutes,
    # accounts.
    every = np.arange(n * k)
    rep_of_var = np.tile(np.arange(k), n)
    matrix = coo_array(
        (
            np.concatenate(
                [
                    np.ones(n * k),
                    (unit_work[:, None] / share[None, :]).ravel(),
                    np.repeat(np.array([u.minutes for u in movable], dtype=float), k),
                    np.repeat(np.array([u.count for u in movable], dtype=float), k),
                ]
            ),
            (
                np.concatenate(
                    [
                        np.repeat(np.arange(n), k),
                        n + rep_of_var,
                        n + k + rep_of_var,
                        n + 2 * k + rep_of_var,
                    ]
                ),
                np.concatenate([every, every, every, every]),
            ),
        ),
        shape=(n + 3 * k, n * k),
    ).tocsr()
    fixed_index = np.array([books.index(i) for i in active])
    lower = np.concatenate([np.ones(n), 1 - tolerance - fixed_index, np.full(2 * k, -np.inf)])
    upper = np.concatenate(
        [
            np.ones(n),
            1 + tolerance - fixed_index,
            [reps[i].capacity_minutes + MINUTES_SLACK - books.minutes[i] for i in active],
            [reps[i].max_accounts - books.counts[i] for i in active],
        ]
    )
    cost = np.zeros(n * k)
    owned = 0
    for u, unit in enumerate(movable):
        if unit.owner is not None:
            owned += unit.count
            if unit.owner in column:
                cost[u * k + column[unit.owner]] = -unit.count
    result = milp(
        cost,
        integrality=np.ones(n * k),
        bounds=Bounds(0, 1),
        constraints=LinearConstraint(matrix, lower, upper),
        options={"time_limit": time_limit, "mip_rel_gap": 0.0, "disp": False},
    )
    seconds = time.perf_counter() - started
    status = _STATUS.get(result.status, "error")
    dual = getattr(result, "mip_dual_bound", None)
    bound = None if dual is None or not np.isfinite(dual) else owned + float(dual)
    if result.x is None:
        return ExactResult(status, None, bound, seconds, n * k, "full", books.placement)
    chosen = np.asarray(result.x).reshape(n, k).argmax(axis=1)
    for u, unit in enumerate(movable):
        books.put(unit, active[int(chosen[u])])
    moves = count_moves(units, books.placement)
    return ExactResult(status, moves, bound, seconds, n * k, "full", books.placement)
