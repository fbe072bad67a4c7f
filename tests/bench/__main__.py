"""`python -m tests.bench` (`make bench`): every benchmark, its figures, PASS/MISS per target.

Options: `--quick` runs a tenth of the sizes; `--only plan|milp|sync|apply` runs one benchmark;
`--profile N` prints the top N functions of one full plan (the first size) under cProfile;
`--strict` exits 1 when any target is missed. Wall times depend on what else the machine runs:
the CPU-time column and the load average printed first tell contention from a slow engine.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.bench.plan_bench import (
    DEFAULT_CACHE,
    PlanFigures,
    ensure_org,
    measure_in_subprocess,
    profile_in_subprocess,
)

FULL_SIZES = ((100_000, 200), (1_000_000, 500))
QUICK_SIZES = ((10_000, 20), (100_000, 50))
FULL_TEAM = (10_000, 50)
QUICK_TEAM = (1_000, 10)
# Both time targets (100k ≤ 3 s, 1M ≤ 30 s) are 30 µs per account; the memory target is stated
# for 1M accounts only.
SECONDS_PER_ACCOUNT = 30e-6
RSS_TARGET_BYTES = 2 * 1024**3
RSS_TARGET_FROM_ACCOUNTS = 1_000_000
NAIVE_SHARE_TARGET = 0.10
EXACT_RATIO_TARGET = 1.2
SEED = 7
GIB = 1024**3


@dataclass(slots=True)
class Verdict:
    """One target, the figure measured against it and whether it was met."""

    target: str
    figure: str
    met: bool


def _plan_section(sizes: tuple[tuple[int, int], ...], args: argparse.Namespace) -> list[Verdict]:
    cache: Path = args.cache
    measured: list[PlanFigures] = []
    for accounts, reps in sizes:
        directory = ensure_org(cache, accounts, reps, args.seed, args.flavour)
        print(f"  measuring {accounts:,} x {reps} …", flush=True)
        measured.append(measure_in_subprocess(directory))
    print()
    print(
        f"{'plan':>16} {'parse s':>8} {'plan s':>8} {'ratio':>6} {'cpu s':>7} {'gc s':>6} "
        f"{'peak RSS':>9} {'teams ok':>8} {'moves':>7} {'floor':>7} {'keep-rs':>7} {'share':>6} "
        f"{'resplit':>8} {'share':>6}"
    )
    for f in measured:
        print(
            f"{f.accounts:>9,}x{f.reps:<6} {f.parse_s:>8.2f} {f.plan_s:>8.2f} {f.ratio:>6.2f} "
            f"{f.phases['cpu_plan']:>7.2f} {f.phases['gc_in_plan']:>6.2f} "
            f"{f.peak_rss_bytes / GIB:>7.2f}Gi {f.teams_within:>3}/{f.teams:<4} "
            f"{f.engine_moves:>7,} {f.rule_floor:>7,} {f.naive_moves:>7,} "
            f"{_share(f.engine_moves, f.naive_moves):>6.1%} {f.resplit_moves:>8,} "
            f"{_share(f.engine_moves, f.resplit_moves):>6.1%}"
        )
    print(
        "  floor: moves the rules force (owners keep protected, then keep_owner accounts by\n"
        "  potential, within both budgets); keep-rs: re-split that keeps keep_owner books;\n"
        "  resplit: plain re-split, largest first to least loaded, only protected accounts kept"
    )
    print()
    for f in measured:
        phases = ", ".join(f"{k} {v}" for k, v in f.phases.items())
        print(f"  {f.accounts:,}: {phases}")
        print(f"  {f.accounts:,}: changes by reason {f.changes_by_reason}")
        for m in f.moves:
            print(
                f"    team {m.team}: {m.accounts:,} accounts, engine {m.engine_moves:,} moves "
                f"(reported {m.engine_reported:,}, shed {m.shed:,}), naive {m.naive_moves:,}, "
                f"capacity-forced floor {m.forced:,}, rule-order floor {m.rule_floor:,}, "
                f"plain re-split {m.resplit_moves:,}"
            )
    verdicts: list[Verdict] = []
    for f in measured:
        label = f"{f.accounts:,}x{f.reps}"
        limit = SECONDS_PER_ACCOUNT * f.accounts
        verdicts.append(
            Verdict(
                f"plan {label} ≤ {limit:g} s (wall)",
                f"{f.plan_s:.2f} s ({f.ratio:.1f}x parse-only, cpu {f.phases['cpu_plan']:.2f} s)",
                f.plan_s <= limit,
            )
        )
        if f.accounts >= RSS_TARGET_FROM_ACCOUNTS:
            verdicts.append(
                Verdict(
                    f"peak RSS {label} ≤ 2 GiB",
                    f"{f.peak_rss_bytes / GIB:.2f} GiB",
                    f.peak_rss_bytes <= RSS_TARGET_BYTES,
                )
            )
        verdicts.append(
            Verdict(
                f"every team within tolerance {label}",
                f"{f.teams_within}/{f.teams}"
                + (f" (missing: {'; '.join(f.teams_missing)})" if f.teams_missing else ""),
                not f.teams_missing,
            )
        )
        verdicts.append(
            Verdict(
                f"moves ≤ 10% of naive re-split {label}",
                f"{f.engine_moves:,} vs {f.resplit_moves:,} "
                f"({_share(f.engine_moves, f.resplit_moves):.1%})",
                f.engine_moves <= NAIVE_SHARE_TARGET * f.resplit_moves or f.engine_moves == 0,
            )
        )
        above = f.engine_moves - f.rule_floor
        verdicts.append(
            Verdict(
                f"moves ≤ 10% of the keep-aware re-split, beyond the rules' floor {label}",
                f"{f.engine_moves:,} = floor {f.rule_floor:,} + {above:,}; keep-aware re-split "
                f"{f.naive_moves:,} = floor + {f.naive_moves - f.rule_floor:,} "
                f"({_share(above, f.naive_moves - f.rule_floor):.1%}); "
                f"capacity-only floor {f.forced_moves:,}",
                above <= NAIVE_SHARE_TARGET * max(f.naive_moves - f.rule_floor, 0) or above <= 0,
            )
        )
    return verdicts


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _milp_section(team: tuple[int, int], args: argparse.Namespace) -> list[Verdict]:
    try:
        import scipy  # noqa: F401, PLC0415 (optional: only this benchmark needs it)
    except ImportError:
        print("  skipped: scipy is not installed (it is in the dev dependency group)")
        return [Verdict("moves ≤ 1.2x exact minimum", "not measured (no scipy)", met=False)]
    from tests.bench.moves_bench import run_moves_bench  # noqa: PLC0415

    units, reps = team
    print(f"  solving {units:,} units x {reps} reps …", flush=True)
    f = run_moves_bench(units, reps, time_limit=args.milp_time_limit)
    ratio = f.ratio
    print()
    print(
        f"{'team':>12} {'engine':>7} {'(shed)':>7} {'engine s':>9} {'exact':>7} {'status':>10} "
        f"{'exact s':>8} {'naive':>7} {'ratio':>6}"
    )
    reference = "—" if f.reference is None else f"{f.reference:,.0f}"
    print(
        f"{units:>6,}x{reps:<5} {f.engine_moves:>7,} {f.engine_shed:>7,} "
        f"{f.engine_seconds:>9.3f} {reference:>7} {f.exact_status:>10} {f.exact_seconds:>8.2f} "
        f"{f.naive_moves:>7,} {'—' if ratio is None else f'{ratio:.3f}':>6}"
    )
    print(
        f"  exact by {f.exact_method} ({f.exact_variables:,} variables); engine reports "
        f"{f.engine_reported:,} balancing moves and shed {f.engine_shed:,} accounts over a budget; "
        f"engine within band: {f.engine_within}; naive within band: {f.naive_within}"
    )
    if f.naive_moves and f.reference is not None:
        # Context, not a target: on a skewed book even the exact minimum is a sizeable share
        # of a re-split, so the 10% target is judged on the sample orgs above.
        print(
            f"  share of the naive re-split's {f.naive_moves:,} moves: engine "
            f"{f.engine_moves / f.naive_moves:.1%}, exact {f.reference / f.naive_moves:.1%}"
        )
    against = "exact minimum" if f.exact_status == "optimal" else "solver lower bound"
    return [
        Verdict(
            f"moves ≤ 1.2x {against} {units:,}x{reps}",
            f"{f.engine_moves:,} vs {reference} ({'—' if ratio is None else f'{ratio:.3f}x'})",
            ratio is not None and ratio <= EXACT_RATIO_TARGET,
        ),
        Verdict(f"engine within tolerance {units:,}x{reps}", str(f.engine_within), f.engine_within),
    ]


def _sync_section(accounts: int, window_seconds: float, args: argparse.Namespace) -> list[Verdict]:
    from tests.bench.sync_bench import measure  # noqa: PLC0415

    directory = ensure_org(args.cache, accounts, max(20, accounts // 500), args.seed, "hubspot")
    figures = []
    for crm in ("hubspot", "salesforce"):
        print(f"  measuring {crm} on {accounts:,} companies, window {window_seconds:g} s …")
        figures.append(measure(crm, directory, window_seconds=window_seconds))
    verdicts: list[Verdict] = []
    for f in figures:
        print(
            f"  {f.crm}: full sync {f.full_calls:,} calls (minimum {f.full_minimum:,}; "
            f"archived pass {f.archived_calls:,} more) in "
            f"{f.full_s:.2f} s; limits off {f.unlimited_s:.2f} s; "
            f"rate floor {f.rate_floor_s:.2f} s; "
            f"429s served {f.served_429:,}; incremental: {f.incremental_changed:,} changed, "
            f"{f.incremental_found:,} found in {f.incremental_calls:,} calls; writes: "
            f"{f.write_count:,} in {f.write_calls:,} update calls ({f.write_failed:,} failed)"
        )
        label = f"{f.crm} {f.companies:,}"
        judged = f.full_calls >= 50
        verdicts += [
            Verdict(
                f"{label}: full-sync calls ≤ 1.02x batch minimum",
                f"{f.full_calls:,} vs {f.full_minimum:,} ({f.full_calls / f.full_minimum:.3f}x)",
                f.full_calls <= 1.02 * f.full_minimum,
            ),
            Verdict(
                f"{label}: full-sync wall ≤ 1.10x floor",
                f"{f.full_s:.2f} s vs floor {f.floor_s:.2f} s ({f.full_s / f.floor_s:.3f}x; "
                f"{f.served_429:,} 429s served, all handled)",
                f.full_s <= 1.10 * f.floor_s,
            ),
            Verdict(
                f"{label}: incremental after 1% changed ≤ 2% of full-sync calls",
                f"{f.incremental_calls:,} vs {f.full_calls:,} "
                f"({f.incremental_calls / f.full_calls:.2%}); found {f.incremental_found:,} "
                f"of {f.incremental_changed:,} changed"
                + ("" if judged else " (not judged: below 50 full-sync calls one call is >2%)"),
                not judged
                or (
                    f.incremental_calls <= 0.02 * f.full_calls
                    and f.incremental_found >= f.incremental_changed
                ),
            ),
            Verdict(
                f"{label}: {f.write_count:,} owner writes ≤ 1.02x batch minimum",
                f"{f.write_calls:,} vs {f.write_minimum:,} update calls, {f.write_failed} failed",
                f.write_calls <= 1.02 * f.write_minimum and f.write_failed == 0,
            ),
        ]
    return verdicts


def _apply_section(args: argparse.Namespace) -> list[Verdict]:
    from tests.bench.apply_bench import (  # noqa: PLC0415
        SYNC_STREAM_CALLS,
        measure,
        measure_plan_in_subprocess,
    )

    companies, changes = (10_000, 1_000) if args.quick else (100_000, 10_000)
    directory = ensure_org(args.cache, companies, max(20, companies // 500), args.seed, "hubspot")
    verdicts: list[Verdict] = []
    for crm in ("hubspot", "salesforce"):
        print(f"  {crm}: {changes:,} changes on {companies:,} companies …", flush=True)
        f = measure(crm, directory, changes)
        lim, unl = f.limited, f.unlimited
        print(
            f"  {crm}: apply {lim.changes:,} changes: {lim.total_calls:,} calls (floor "
            f"{f.floor_calls:,}; budget counted {lim.budget_calls:,}, waited "
            f"{lim.budget_waited_s:.2f} s; 429s served {lim.served_429}) in {lim.wall_s:.2f} s; "
            f"rate floor {f.rate_floor_s:.2f} s at {f.rate_per_s:g} calls/s; limits off "
            f"{unl.wall_s:.2f} s for {unl.total_calls:,} calls; outcomes {lim.states}"
        )
        print(f"    calls per endpoint: {lim.calls}")
        print(
            f"  {crm}: sync into the mirror: full {f.full_sync.total:,} calls "
            f"{f.full_sync.calls}; incremental after {f.incremental_changed:,} companies changed "
            f"{f.incremental.total:,} calls {f.incremental.calls} ({f.incremental.companies:,} "
            f"stored); with nothing changed {f.idle_sync.total:,} calls"
        )
        label = f"{crm} {lim.changes:,} changes"
        applied = lim.states.get("applied", 0)
        verdicts.append(
            Verdict(
                f"{label}: API calls ≤ 1.05x floor",
                f"{lim.total_calls:,} vs {f.floor_calls:,} ({lim.total_calls / f.floor_calls:.3f}x;"
                f" over it: {f.over_floor() or 'none'}); {applied:,} of {lim.changes:,} applied",
                lim.total_calls <= 1.05 * f.floor_calls and applied == lim.changes,
            )
        )
        below_window = crm == "hubspot" and lim.total_calls <= 190
        verdicts.append(
            Verdict(
                f"{label}: wall ≤ 1.10x rate-limit floor",
                f"{lim.wall_s:.2f} s vs {f.rate_floor_s:.2f} s "
                f"({lim.wall_s / f.rate_floor_s:.3f}x); limits off {unl.wall_s:.2f} s "
                f"({unl.wall_s / f.rate_floor_s:.3f}x)"
                + (
                    " (fewer calls than one window: the limit does not bind)"
                    if below_window
                    else ""
                ),
                lim.wall_s <= 1.10 * f.rate_floor_s,
            )
        )
        # Where 2% of the full sync is less than the listings every sync makes, no sync meets it.
        judged = 0.02 * f.full_sync.total >= SYNC_STREAM_CALLS[crm]
        found = f.incremental.companies >= f.incremental_changed
        verdicts.append(
            Verdict(
                f"{crm} {f.companies:,} companies: incremental sync after 1% changed ≤ 2% of a "
                "full sync's calls",
                f"{f.incremental.total:,} vs {f.full_sync.total:,} "
                f"({f.incremental.total / f.full_sync.total:.2%}); "
                f"{f.incremental.companies:,} stored of {f.incremental_changed:,} changed"
                + (
                    ""
                    if judged
                    else f" (not judged: 2% of this full sync is less than the "
                    f"{SYNC_STREAM_CALLS[crm]} calls, one per listing, that any sync makes)"
                ),
                found and (not judged or f.incremental.total <= 0.02 * f.full_sync.total),
            )
        )
    accounts, reps = (100_000, 50) if args.quick else (1_000_000, 500)
    plan_org = ensure_org(args.cache, accounts, reps, args.seed, args.flavour)
    repeats = 5 if args.quick else 3
    print(f"  plan: {accounts:,} accounts from the mirror and from CSV, best of {repeats} …")
    p = measure_plan_in_subprocess(plan_org, repeats)
    print(
        f"  plan from the mirror {p.mirror_all_s} s, from CSV {p.csv_all_s} s (best CPU "
        f"{p.mirror_cpu_s:.2f} s vs {p.csv_cpu_s:.2f} s, {p.cpu_ratio:.3f}x); changes "
        f"{p.mirror_changes:,} vs {p.csv_changes:,}; syncing the CSV org into the mirror took "
        f"{p.sync_s:.1f} s"
    )
    verdicts.append(
        Verdict(
            f"plan from the mirror of {p.accounts:,} accounts ≤ 1.2x the plan from CSV",
            f"{p.mirror_s:.2f} s vs {p.csv_s:.2f} s ({p.ratio:.3f}x, best of {p.repeats}); "
            f"{p.mirror_changes:,} vs {p.csv_changes:,} changes",
            p.ratio <= 1.2,
        )
    )
    return verdicts


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks asked for; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    parser.add_argument(
        "--only", choices=("plan", "milp", "sync", "apply"), help="run one benchmark"
    )
    parser.add_argument(
        "--window-seconds",
        type=float,
        default=None,
        help="HubSpot's rolling window in the sync benchmark (default 10 s; --quick: 1 s)",
    )
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="generated orgs")
    parser.add_argument("--seed", type=int, default=SEED, help="sample org seed")
    parser.add_argument(
        "--flavour", default="hubspot", choices=("canonical", "hubspot", "salesforce")
    )
    parser.add_argument("--milp-time-limit", type=float, default=600.0, metavar="SECONDS")
    parser.add_argument("--profile", type=int, default=0, metavar="TOP", help="cProfile a plan")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")

    if args.profile:
        accounts, reps = sizes[0]
        directory = ensure_org(args.cache, accounts, reps, args.seed, args.flavour)
        print(profile_in_subprocess(directory, args.profile))
        return 0
    verdicts: list[Verdict] = []
    if args.only in (None, "plan"):
        print("== plan: load + score + assign + balance + changes + plan.json, vs parse-only")
        verdicts += _plan_section(sizes, args)
    if args.only in (None, "milp"):
        print("\n== moves: engine vs exact minimum (HiGHS) and naive re-split, one team")
        verdicts += _milp_section(QUICK_TEAM if args.quick else FULL_TEAM, args)
    if args.only in (None, "sync"):
        print("\n== sync: connectors against the sandbox enforcing the CRM limits")
        window = args.window_seconds or (1.0 if args.quick else 10.0)
        verdicts += _sync_section(10_000 if args.quick else 100_000, window, args)
    if args.only in (None, "apply"):
        print(
            "\n== apply: the worker's write-back, syncs and plans from the mirror, with the sandbox"
        )
        verdicts += _apply_section(args)
    print("\n== targets")
    for v in verdicts:
        print(f"  {'PASS' if v.met else 'MISS'}  {v.target}: {v.figure}")
    missed = sum(not v.met for v in verdicts)
    print(f"\n{len(verdicts) - missed} of {len(verdicts)} targets met")
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
