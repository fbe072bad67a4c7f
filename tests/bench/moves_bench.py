"""Moves benchmark: the engine's balancing against the exact minimum on one skewed team.

The engine (`assign_team`) and the exact solver get identical copies of one instance. The
engine's move budget is lifted to every account, because the exact model has none: this
measures how close the greedy gets to the fewest moves, not how the budget binds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rules.balancing import assign_team
from tests.bench.milp import exact_min_moves
from tests.bench.placement import check_placement, count_moves, naive_resplit
from tests.bench.team_instance import make_team_instance


@dataclass(slots=True)
class MovesFigures:
    """Engine, exact and naive moves on one instance (moves counted in accounts)."""

    units: int
    reps: int
    accounts: int
    engine_moves: int
    engine_reported: int  # TeamResult.moves, which leaves out units shed over a budget
    engine_shed: int
    engine_seconds: float
    engine_within: bool
    exact_status: str
    exact_method: str
    exact_moves: int | None
    exact_lower_bound: float | None
    exact_seconds: float
    exact_variables: int
    naive_moves: int
    naive_within: bool

    @property
    def reference(self) -> float | None:
        """The proven minimum, or the solver's lower bound when it ran out of time."""
        if self.exact_status == "optimal" and self.exact_moves is not None:
            return float(self.exact_moves)
        return self.exact_lower_bound

    @property
    def ratio(self) -> float | None:
        """Engine moves over the reference (an upper bound on the true ratio without a proof)."""
        reference = self.reference
        if reference is None:
            return None
        if reference == 0:
            return 1.0 if self.engine_moves == 0 else float("inf")
        return self.engine_moves / reference


def run_moves_bench(
    units: int = 10_000, reps: int = 50, *, seed: int = 20270104, time_limit: float = 600.0
) -> MovesFigures:
    """Build the instance, run the engine, the exact solver and the naive re-split on it."""
    instance = make_team_instance(units, reps, seed=seed)
    weights = {
        "weight_potential": instance.weight_potential,
        "weight_effort": instance.weight_effort,
    }
    tolerance = instance.tolerance

    engine = instance.copy()
    started = time.perf_counter()
    result = assign_team(
        engine.reps,
        engine.fixed,
        engine.units,
        tolerance=tolerance,
        move_budget=engine.accounts,
        **weights,
    )
    engine_seconds = time.perf_counter() - started
    engine_check = check_placement(
        engine.reps, engine.fixed, engine.units, result.placement, **weights
    )

    exact = instance.copy()
    solved = exact_min_moves(
        exact.reps, exact.fixed, exact.units, tolerance=tolerance, time_limit=time_limit, **weights
    )
    if solved.placement and solved.moves is not None:
        solved_check = check_placement(
            exact.reps, exact.fixed, exact.units, solved.placement, **weights
        )
        # The solver's own placement must pass the same independent check as the engine's.
        assert solved_check.within(tolerance), solved_check

    naive = naive_resplit(instance.reps, instance.fixed, instance.units, **weights)
    naive_check = check_placement(
        instance.reps, instance.fixed, instance.units, naive.placement, **weights
    )
    return MovesFigures(
        units=units,
        reps=reps,
        accounts=instance.accounts,
        engine_moves=count_moves(engine.units, result.placement),
        engine_reported=result.moves,
        engine_shed=result.shed,
        engine_seconds=round(engine_seconds, 4),
        engine_within=engine_check.within(tolerance) and engine_check.unplaced == 0,
        exact_status=solved.status,
        exact_method=solved.method,
        exact_moves=solved.moves,
        exact_lower_bound=solved.lower_bound,
        exact_seconds=round(solved.seconds, 3),
        exact_variables=solved.variables,
        naive_moves=naive.moves,
        naive_within=naive_check.within(tolerance),
    )
