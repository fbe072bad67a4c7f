"""Plan benchmark: a whole `territory plan` on sample orgs, against parsing the same CSV.

Each size is measured in a fresh subprocess so peak RSS (ru_maxrss) belongs to that size alone:
parse-only first (the floor), then the full plan (rules + CSV load + engine + plan document +
plan.json written), then, outside the timed part, the engine's moves team by team against a
naive re-split of the same units.

Run directly: `python -m tests.bench.plan_bench generate DIR ACCOUNTS REPS SEED FLAVOUR` or
`python -m tests.bench.plan_bench measure DIR [--profile]`; `python -m tests.bench` drives both.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import io
import json
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rules.balancing import TeamLoad, TeamResult, Unit, assign_team
from rules.capacity import Rep
from tests.bench.placement import (
    check_placement,
    count_moves,
    forced_floor,
    naive_resplit,
    rule_order_floor,
)

ROOT = Path(__file__).resolve().parents[2]
# Generated orgs are cached here (gitignored) and keyed by the generator's source, so a change
# to the generator never benchmarks a stale org.
DEFAULT_CACHE = ROOT / ".bench-cache"
GENERATOR = ROOT / "sandbox" / "sample"
COMPLETE_MARKER = ".complete"


@dataclass(slots=True)
class TeamMoves:
    """One team's moves in the plan, and what a naive re-split would have cost."""

    team: str
    accounts: int
    engine_moves: int  # accounts off their eligible owner (shed and unplaced included)
    engine_reported: int  # TeamResult.moves: the balancing moves the engine counts itself
    shed: int
    naive_moves: int
    naive_within: bool
    forced: int = 0  # capacity-forced floor: no valid plan moves fewer accounts
    rule_floor: int = 0  # floor under the rules' keep priorities (protected, then potential)
    resplit_moves: int = 0  # plain re-split: only protected accounts stay with their owner


@dataclass(slots=True)
class PlanFigures:
    """Everything one size's subprocess measured."""

    accounts: int
    reps: int
    parse_s: float
    plan_s: float
    phases: dict[str, float]
    peak_rss_bytes: int
    teams: int
    teams_within: int
    teams_missing: list[str]
    changes_by_reason: dict[str, int]
    moves: list[TeamMoves] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.plan_s / self.parse_s if self.parse_s else float("inf")

    @property
    def engine_moves(self) -> int:
        return sum(m.engine_moves for m in self.moves)

    @property
    def naive_moves(self) -> int:
        return sum(m.naive_moves for m in self.moves)

    @property
    def forced_moves(self) -> int:
        return sum(m.forced for m in self.moves)

    @property
    def rule_floor(self) -> int:
        return sum(m.rule_floor for m in self.moves)

    @property
    def resplit_moves(self) -> int:
        return sum(m.resplit_moves for m in self.moves)


def generator_fingerprint() -> str:
    """A short digest of the sample generator's source files (it plans with the engine too)."""
    digest = hashlib.sha256()
    for path in sorted([*GENERATOR.glob("*.py"), *(ROOT / "rules").glob("*.py")]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def org_dir(cache: Path, accounts: int, reps: int, seed: int, flavour: str) -> Path:
    """Where the org of this size lives in the cache."""
    return cache / f"org-{accounts}x{reps}-s{seed}-{flavour}-{generator_fingerprint()}"


def ensure_org(cache: Path, accounts: int, reps: int, seed: int, flavour: str) -> Path:
    """Return the cached org, generating it first (in a subprocess) when it is missing."""
    directory = org_dir(cache, accounts, reps, seed, flavour)
    if not (directory / COMPLETE_MARKER).is_file():
        print(f"  generating {accounts:,} accounts x {reps} reps into {directory} …", flush=True)
        subprocess.run(
            [
                *(sys.executable, "-m", "tests.bench.plan_bench", "generate", str(directory)),
                *(str(accounts), str(reps), str(seed), flavour),
            ],
            check=True,
            cwd=ROOT,
        )
    return directory


def measure_in_subprocess(directory: Path) -> PlanFigures:
    """Measure one org in a fresh interpreter and return its figures."""
    completed = subprocess.run(
        [sys.executable, "-m", "tests.bench.plan_bench", "measure", str(directory)],
        check=True,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    data = json.loads(completed.stdout.strip().splitlines()[-1])
    moves = [TeamMoves(**m) for m in data.pop("moves")]
    return PlanFigures(**data, moves=moves)


def profile_in_subprocess(directory: Path, top: int) -> str:
    """cProfile one full plan of `directory` in a fresh interpreter; return the top functions."""
    completed = subprocess.run(
        [
            *(sys.executable, "-m", "tests.bench.plan_bench", "measure", str(directory)),
            *("--profile", str(top)),
        ],
        check=True,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    return completed.stdout


# --- inside the subprocess ---------------------------------------------------------------


def _generate(directory: Path, accounts: int, reps: int, seed: int, flavour: str) -> None:
    from sandbox.sample import write_sample  # noqa: PLC0415

    write_sample(directory, accounts=accounts, reps=reps, seed=seed, flavour=flavour)  # type: ignore[arg-type]
    (directory / COMPLETE_MARKER).write_text(f"{accounts} {reps} {seed} {flavour}\n")


def _as_of() -> Any:
    from sandbox.sample import DEFAULT_AS_OF  # noqa: PLC0415

    return DEFAULT_AS_OF


def _full_plan(directory: Path, out: Path, phases: dict[str, float]) -> tuple[Any, Any, Any]:
    """What `territory plan --out` does, phase by phase; return (loaded, snapshot, document)."""
    from connectors.files import load_csv_directory  # noqa: PLC0415
    from rules.engine import plan_territories  # noqa: PLC0415
    from rules.loader import load_rules  # noqa: PLC0415
    from rules.plan import plan_document  # noqa: PLC0415
    from worker.plan_file import write_plan_file  # noqa: PLC0415
    from worker.runtime import collector_paused  # noqa: PLC0415

    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        phases[name] = round(now - clock, 4)
        clock = now

    rules_path = directory / "rules.yaml"
    loaded = load_rules(rules_path.read_text(encoding="utf-8"), str(rules_path))
    lap("rules")
    snapshot = load_csv_directory(directory, loaded.rule).snapshot
    lap("load_csv")
    # As `territory plan` does: the cyclic collector paused while planning and writing, and
    # the document's rows rendered lazily as plan.json is written.
    with collector_paused():
        plan = plan_territories(loaded, snapshot, _as_of())
        lap("engine")
        document = plan_document(plan, lazy=True)
        lap("document")
        write_plan_file(document, out)
        lap("write")
    return loaded, snapshot, document


def _parse_only(directory: Path) -> float:
    from connectors.files import load_csv_directory  # noqa: PLC0415
    from rules.loader import load_rules  # noqa: PLC0415

    rules_path = directory / "rules.yaml"
    rule = load_rules(rules_path.read_text(encoding="utf-8"), str(rules_path)).rule
    started = time.perf_counter()
    load = load_csv_directory(directory, rule)
    seconds = time.perf_counter() - started
    del load
    gc.collect()
    return seconds


def _team_moves(loaded: Any, snapshot: Any) -> list[TeamMoves]:
    """Re-run the engine with a recorder around assign_team: engine vs naive per team."""
    import rules.engine as engine  # noqa: PLC0415

    original = assign_team
    found: list[TeamMoves] = []

    def recording(
        reps: Sequence[Rep], fixed: Sequence[TeamLoad], units: Sequence[Unit], **options: Any
    ) -> TeamResult:
        result = original(reps, fixed, units, **options)
        weights = {
            "weight_potential": options["weight_potential"],
            "weight_effort": options["weight_effort"],
        }
        naive = naive_resplit(reps, fixed, units, **weights)
        naive_check = check_placement(reps, fixed, units, naive.placement, **weights)
        found.append(
            TeamMoves(
                team=reps[0].team if reps else "?",
                accounts=sum(u.count for u in units),
                engine_moves=count_moves(units, result.placement),
                engine_reported=result.moves,
                shed=result.shed,
                naive_moves=naive.moves,
                naive_within=naive_check.within(options["tolerance"]),
                forced=forced_floor(reps, fixed, units),
                rule_floor=rule_order_floor(reps, fixed, units),
                resplit_moves=naive_resplit(reps, fixed, units, **weights, keep_owners=False).moves,
            )
        )
        return result

    # rules.engine imported assign_team by name: patch the name it calls.
    engine.assign_team = recording  # type: ignore[attr-defined]
    try:
        engine.plan_territories(loaded, snapshot, _as_of())
    finally:
        engine.assign_team = original  # type: ignore[attr-defined]
    return found


class _GcClock:
    """Time spent in the cyclic garbage collector while it is installed."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = 0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections += 1


def _measure(directory: Path) -> PlanFigures:
    parse_cpu = time.process_time()
    parse_s = _parse_only(directory)
    parse_cpu = time.process_time() - parse_cpu
    phases: dict[str, float] = {}
    gc_clock = _GcClock()
    with tempfile.TemporaryDirectory(prefix="territory-bench-") as scratch:
        gc.callbacks.append(gc_clock)
        started, cpu = time.perf_counter(), time.process_time()
        loaded, snapshot, document = _full_plan(directory, Path(scratch) / "plan.json", phases)
        plan_s, cpu = time.perf_counter() - started, time.process_time() - cpu
        gc.callbacks.remove(gc_clock)
    phases["cpu_parse_only"] = round(parse_cpu, 4)
    phases["cpu_plan"] = round(cpu, 4)
    phases["gc_in_plan"] = round(gc_clock.seconds, 4)
    phases["gc_collections"] = gc_clock.collections
    # Linux reports ru_maxrss in KiB.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    teams = document["teams"]
    missing = [f"{t['team']}: {t['infeasible_reason']}" for t in teams if not t["within_tolerance"]]
    changes = document["changes"]
    figures = PlanFigures(
        accounts=document["summary"]["accounts"],
        # Every member, the one the sample deactivated too: the size the org was asked for.
        reps=len(document["reps"]),
        parse_s=round(parse_s, 4),
        plan_s=round(plan_s, 4),
        phases=phases,
        peak_rss_bytes=peak,
        teams=len(teams),
        teams_within=len(teams) - len(missing),
        teams_missing=missing,
        changes_by_reason=dict(sorted(Counter(c["reason"] for c in changes).items())),
    )
    del document, changes, teams
    gc.collect()
    figures.moves = _team_moves(loaded, snapshot)
    return figures


def _profile(directory: Path, top: int) -> str:
    phases: dict[str, float] = {}
    profiler = cProfile.Profile()
    with tempfile.TemporaryDirectory(prefix="territory-bench-") as scratch:
        profiler.enable()
        _full_plan(directory, Path(scratch) / "plan.json", phases)
        profiler.disable()
    text = io.StringIO()
    text.write(f"phases (s, under the profiler): {phases}\n")
    for order in ("tottime", "cumulative"):
        text.write(f"\n-- top {top} by {order} --\n")
        pstats.Stats(profiler, stream=text).sort_stats(order).print_stats(top)
    return text.getvalue()


def main(argv: Sequence[str] | None = None) -> None:
    """Subprocess entry point: `generate` an org or `measure` one (JSON on stdout's last line)."""
    parser = argparse.ArgumentParser(prog="python -m tests.bench.plan_bench")
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate")
    generate.add_argument("directory", type=Path)
    generate.add_argument("accounts", type=int)
    generate.add_argument("reps", type=int)
    generate.add_argument("seed", type=int)
    generate.add_argument("flavour")
    measure = commands.add_parser("measure")
    measure.add_argument("directory", type=Path)
    measure.add_argument("--profile", type=int, default=0, metavar="TOP")
    args = parser.parse_args(argv)
    if args.command == "generate":
        _generate(args.directory, args.accounts, args.reps, args.seed, args.flavour)
    elif args.profile:
        sys.stdout.write(_profile(args.directory, args.profile))
    else:
        figures = _measure(args.directory)
        sys.stdout.write(json.dumps(asdict(figures)) + "\n")


if __name__ == "__main__":
    main()
