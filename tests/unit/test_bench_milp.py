"""The benchmark's exact solver finds the fewest moves, on instances small enough to check."""

from __future__ import annotations

import itertools

import pytest

pytest.importorskip(
    "scipy",
    reason="scipy (dev dependency group) provides the HiGHS MILP solver the moves benchmark uses",
)

from rules.balancing import TeamLoad, Unit, assign_team
from rules.capacity import Rep
from tests.bench.milp import exact_min_moves, full_min_moves
from tests.bench.placement import check_placement, count_moves, naive_resplit
from tests.bench.team_instance import make_team_instance

WEIGHTS = {"weight_potential": 0.5, "weight_effort": 0.5}


def make_rep(i: int, capacity: float = 18_000.0, max_accounts: int = 400) -> Rep:
    return Rep(
        owner_id=f"rep-{i}",
        email=f"rep{i}@example.com",
        team="t",
        active=True,
        capacity_minutes=capacity,
        max_accounts=max_accounts,
        ramp_share=1.0,
        industries=frozenset(),
        quota=None,
        out_of_office_until=None,
    )


def make_unit(key: int, owner: int | None, minutes: float, potential: float) -> Unit:
    return Unit(
        key=key,
        minutes=minutes,
        potential=potential,
        count=1,
        owner=owner,
        protected=False,
        keep=False,
        industry=None,
        prefer_affinity=False,
    )


def brute_force_min_moves(reps: list[Rep], units: list[Unit], tolerance: float) -> int | None:
    fixed = [TeamLoad() for _ in reps]
    best: int | None = None
    for reps_of_units in itertools.product(range(len(reps)), repeat=len(units)):
        placement: dict[int, int | None] = {
            u.key: r for u, r in zip(units, reps_of_units, strict=True)
        }
        if check_placement(reps, fixed, units, placement, **WEIGHTS).within(tolerance):
            moves = count_moves(units, placement)
            best = moves if best is None else min(best, moves)
    return best


def test_exact_solver_matches_brute_force_on_eight_units_and_three_reps() -> None:
    reps = [make_rep(0), make_rep(1), make_rep(2, capacity=9_000.0)]
    sizes = [(90, 80), (90, 60), (45, 50), (45, 40), (25, 30), (25, 20), (45, 45), (25, 10)]
    owners = [0, 0, 0, 0, 0, 1, None, 0]
    units = [
        make_unit(k, owner, minutes, potential)
        for k, ((minutes, potential), owner) in enumerate(zip(sizes, owners, strict=True))
    ]
    tolerance = 0.25
    expected = brute_force_min_moves(reps, units, tolerance)
    assert expected is not None

    for solve in (exact_min_moves, full_min_moves):
        solved = solve(reps, [TeamLoad() for _ in reps], units, tolerance=tolerance, **WEIGHTS)
        assert (solved.status, solved.moves) == ("optimal", expected), solve.__name__


def test_exact_minimum_is_within_band_and_at_most_the_engines_moves_on_thirty_units() -> None:
    instance = make_team_instance(units=30, reps=3, seed=11, protected_tier1_share=0.5)
    tolerance = 0.2
    solved = exact_min_moves(
        instance.reps, instance.fixed, instance.units, tolerance=tolerance, **WEIGHTS
    )
    full = full_min_moves(
        instance.reps, instance.fixed, instance.units, tolerance=tolerance, **WEIGHTS
    )
    engine = instance.copy()
    result = assign_team(
        engine.reps,
        engine.fixed,
        engine.units,
        tolerance=tolerance,
        move_budget=engine.accounts,
        **WEIGHTS,
    )
    naive = naive_resplit(instance.reps, instance.fixed, instance.units, **WEIGHTS)

    assert solved.status == full.status == "optimal"
    assert solved.moves == full.moves
    check = check_placement(
        instance.reps, instance.fixed, instance.units, solved.placement, **WEIGHTS
    )
    assert check.within(tolerance)
    assert check.unplaced == 0
    assert all(solved.placement[u.key] == u.owner for u in instance.units if u.protected or u.keep)
    assert solved.moves is not None
    assert solved.moves <= count_moves(engine.units, result.placement)
    assert solved.moves <= naive.moves


def test_exact_solver_reports_a_team_that_cannot_reach_the_band() -> None:
    # One unit carries nearly all the work: no placement puts both reps inside 1 ± 0.1.
    reps = [make_rep(0), make_rep(1)]
    units = [make_unit(0, 0, 90, 100), make_unit(1, 1, 25, 1)]
    solved = exact_min_moves(reps, [TeamLoad(), TeamLoad()], units, tolerance=0.1, **WEIGHTS)
    assert solved.status == "infeasible"
    assert solved.moves is None
