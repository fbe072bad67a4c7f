"""Write-back benchmark: the worker applies N due owner changes against the sandbox CRM.

Everything goes through the worker's own code: `worker.steps` (`sync_step`, `apply_step`, as
the Celery tasks call them), an embedded SQLite ledger in a temporary directory, and the HubSpot
and Salesforce connectors built from settings. The sandbox (`territory sandbox serve`) runs in
its own process with the CRM's real limits: HubSpot's 190 calls per 10 s, Salesforce's daily
allowance. Salesforce has no short window, so the rate its calls meet is the connector's own
pace, 25 calls a second (`connectors.budget.salesforce_windows`). Calls are counted by the
sandbox itself (`GET /stats`, per endpoint) and by the connector's budget.

Getting N changes due: the sample org is synced into the ledger under its own rule; then a
revision that parks every watchlist and out-of-scope account with a rep (notice 0 days, approval
limits lifted: `rule_forcing_changes`) is activated and the worker's plan step records its
changes, most of the org, due today. N of them stay due and the rest are cancelled; they are
applied with the limits off (the sandbox counting only, the connector's budget unbounded). The
next plan proposes the cancelled ones again: N of those are applied with the limits on.

Figures, per CRM:
1. API calls of the apply ÷ the floor: owner reads + owner writes + notes at the CRM's batch
   sizes (HubSpot 3·ceil(N/100); Salesforce reads, writes, notes and note links, 4·ceil(N/200));
2. wall time with the limits on ÷ the rate-limit floor (the floor's calls ÷ the rate the limit
   allows: how long they must take at the limit), and the same apply with the limits off (when it is
   as slow, the transport and the CRM's answers set the pace, not the limit);
3. an incremental sync into the mirror after 1% of companies changed (edited through the
   control API) ÷ the full sync's calls; and an incremental sync with nothing changed (its calls
   are what any sync costs, whatever changed).

The plan figure (planning from a mirror of M accounts vs planning the same org from its CSV
files) runs in a subprocess of its own, for its memory: `python -m tests.bench.apply_bench
plan DIR REPEATS` prints its JSON.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from pydantic import SecretStr
from ruamel.yaml import YAML

from connectors.base import BudgetReport, Connector
from connectors.budget import RateBudget, Window
from rules.schema import RuleFile
from tests.bench.sandbox_process import ROOT, control, sandbox_process
from worker.context import WorkerContext, open_context, open_source
from worker.ledger.states import ChangeState
from worker.ledger.tables import changes
from worker.settings import Settings
from worker.writeback import _would_claim as would_claim  # the dry run's own query

HUBSPOT_RATE: Final = 190 / 10  # calls per second the rolling window allows
SALESFORCE_RATE: Final = 25.0  # the connector's own pace (connectors.budget.salesforce_windows)
BATCH: Final = {"hubspot": 100, "salesforce": 200}
# The floor's calls per batch of changes, by sandbox endpoint: read, write and note (HubSpot);
# read, write, note and note link (Salesforce).
FLOOR_ENDPOINTS: Final = {
    "hubspot": {
        "hubspot.companies.batch_read": 1,
        "hubspot.companies.batch_update": 1,
        "hubspot.notes.batch_create": 1,
    },
    "salesforce": {
        "salesforce.query": 1,
        "salesforce.collections": 1,
        "salesforce.collections.create": 2,
    },
}
CHANGED_SHARE: Final = 0.01
# The calls an incremental sync makes whatever changed, one per listing: HubSpot lists active
# and archived owners apart, searches companies, lists archived ones and searches each of four
# activity types; Salesforce queries users, accounts, deleted accounts, tasks and events.
SYNC_STREAM_CALLS: Final = {"hubspot": 8, "salesforce": 5}
UNBOUNDED: Final = Window(1_000_000, 1)


@dataclass(slots=True)
class ApplyRun:
    """One apply of the due changes: its wall time, calls and what became of the changes."""

    changes: int
    wall_s: float
    calls: dict[str, int]  # per sandbox endpoint
    budget_calls: int  # as the connector's budget counted them
    budget_waited_s: float
    served_429: int
    states: dict[str, int]

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


@dataclass(slots=True)
class SyncCalls:
    """Calls of one sync into the mirror, per sandbox endpoint, and the companies it stored."""

    calls: dict[str, int]
    companies: int

    @property
    def total(self) -> int:
        return sum(self.calls.values())


@dataclass(slots=True)
class ApplyFigures:
    """One CRM's figures (see the module docstring)."""

    crm: str
    companies: int
    changes: int
    rate_per_s: float
    floor_calls: int
    limited: ApplyRun
    unlimited: ApplyRun
    full_sync: SyncCalls
    idle_sync: SyncCalls
    incremental: SyncCalls
    incremental_changed: int

    @property
    def rate_floor_s(self) -> float:
        """The floor's calls at the rate the limit allows (not the calls made: calls over the
        floor must not raise the bar they are judged by)."""
        return self.floor_calls / self.rate_per_s

    def over_floor(self) -> dict[str, int]:
        """The limited apply's calls beyond the floor's, per endpoint."""
        batches = math.ceil(self.limited.changes / BATCH[self.crm])
        share = {k: n * batches for k, n in FLOOR_ENDPOINTS[self.crm].items()}
        over = {k: v - share.get(k, 0) for k, v in self.limited.calls.items()}
        return {k: v for k, v in over.items() if v}


@dataclass(slots=True)
class PlanFigures:
    """Planning one org from the mirror and from its CSV files (best of `repeats` each)."""

    accounts: int
    repeats: int
    sync_s: float
    mirror_s: float
    csv_s: float
    mirror_changes: int
    csv_changes: int
    mirror_all_s: list[float] = field(default_factory=list)
    csv_all_s: list[float] = field(default_factory=list)
    mirror_cpu_s: float = 0.0  # best CPU time, which contention for the machine hardly moves
    csv_cpu_s: float = 0.0

    @property
    def ratio(self) -> float:
        return self.mirror_s / self.csv_s

    @property
    def cpu_ratio(self) -> float:
        return self.mirror_cpu_s / self.csv_cpu_s


# ---- the worker against the sandbox ----------------------------------------------------------


def _settings(info: Mapping[str, str], ledger: Path) -> Settings:
    """Settings as a deployment pointed at this sandbox has them (no broker: in-process)."""
    values: dict[str, Any] = {
        "hubspot_token": SecretStr(info["hubspot_token"]),
        "hubspot_base_url": info["hubspot_url"],
        "salesforce_instance_url": info["salesforce_url"],
        "salesforce_session_id": SecretStr(info["salesforce_session_id"]),
        "salesforce_ca_bundle": Path(info["ca_cert"]),
        "database_url": SecretStr(f"sqlite:///{ledger}"),
        "redis_url": None,
    }
    return Settings(**values)


def _budget_of(connector: Connector) -> RateBudget:
    """The rate budget a CRM connector spends before each call."""
    holder = getattr(connector, "transport", None) or getattr(connector, "client", None)
    budget = getattr(holder, "budget", None)
    if not isinstance(budget, RateBudget):
        raise TypeError(f"{connector.name}: no rate budget found")
    return budget


def _unbounded(settings: Settings) -> Callable[[str, RuleFile | None], Connector]:
    """Connectors built from settings whose budget never waits: the limits-off runs."""

    def build(spec: str, rule: RuleFile | None) -> Connector:
        connector = open_source(spec, settings, rule)
        budget = _budget_of(connector)
        budget.windows = dict.fromkeys(budget.windows, UNBOUNDED)
        return connector

    return build


def _limits(ctx: WorkerContext, info: Mapping[str, str], settings: Settings, *, on: bool) -> None:
    """Limits on: the sandbox enforces them and the connector comes from settings as is; off:
    the sandbox only counts and the connector's budget never waits. Either way the next call
    starts a fresh connector (a fresh budget, as each worker task does) and fresh windows."""
    control(info, "POST", "/limits", enforce=on)
    ctx.connector_factory = None if on else _unbounded(settings)
    ctx.forget_connectors()


def _requests(info: Mapping[str, str]) -> Counter[str]:
    return Counter(control(info, "GET", "/stats")["requests"])


@contextmanager
def _counted(info: Mapping[str, str]) -> Iterator[dict[str, int]]:
    """Yield a dict that holds, on exit, the sandbox requests per endpoint made inside."""
    before = _requests(info)
    found: dict[str, int] = {}
    yield found
    after = _requests(info)
    after.subtract(before)
    found.update(sorted((k, v) for k, v in after.items() if v))


def _synced(
    ctx: WorkerContext, info: Mapping[str, str], *, full: bool = False, spec: str | None = None
) -> SyncCalls:
    from worker.steps import sync_step  # noqa: PLC0415 - the worker's code under measure

    with _counted(info) as calls:
        step = sync_step(ctx, full=full, spec=spec)
    return SyncCalls(calls, step.sync.companies)


def rule_forcing_changes(text: str, today: date) -> str:
    """The sample's rule edited so that most accounts move today, with no approval to wait for.

    Every parked account (the cold watchlist, out-of-scope accounts) gets a rep of the SDR pool
    as its holding owner instead of the queue user or its current owner; notice is zero days
    from an `effective_from` a month back; the approval limits are lifted.
    """
    yaml = YAML()  # round trip: the file keeps its comments and layout
    rule = yaml.load(text)
    pool = next(team for team in rule["teams"] if team["id"] == "sdr-pool")
    holder = pool["members"][0]["email"]
    for row in rule["routing"]["rows"]:
        assign = row["assign"]
        if "holding_owner" in assign or assign.get("unassigned"):
            assign["holding_owner"] = holder
    rule["changes"].update(notice_days=0, max_share_per_run=1.0, max_forced_share=1.0)
    rule["effective_from"] = today - timedelta(days=30)
    rule["revision"] = f"{rule['revision']}-bench"
    out = io.StringIO()
    yaml.dump(rule, out)
    return out.getvalue()


def _due(ctx: WorkerContext) -> list[str]:
    """Change ids a worker would apply now, in the order it would claim them."""
    with ctx.ledger.read() as connection:
        rows = would_claim(connection, ctx.today(), ctx.now(), None, expired_only=False)
    return [r.change_id for r in rows]


def _plan_due(ctx: WorkerContext, wanted: int) -> None:
    """Plan from the mirror (the worker's plan step) and keep `wanted` changes due: the rest
    are cancelled, as `territory cancel` does, so the next plan proposes them again."""
    from worker.steps import plan_step  # noqa: PLC0415

    plan_step(ctx)
    due = _due(ctx)
    if len(due) < wanted:
        raise RuntimeError(
            f"the plan made {len(due):,} changes due; the benchmark wants {wanted:,}"
        )
    surplus = due[wanted:]
    now = ctx.now()
    with ctx.ledger.write() as connection:
        for start in range(0, len(surplus), 500):
            connection.execute(
                sa.update(changes)
                .where(changes.c.change_id.in_(surplus[start : start + 500]))
                .values(state=ChangeState.CANCELLED, updated_at=now, lease_until=None)
            )


def _apply(ctx: WorkerContext, info: Mapping[str, str]) -> ApplyRun:
    """Apply every due change as the worker's task does (chunk by chunk) and measure it."""
    from worker.planning import active_rules  # noqa: PLC0415
    from worker.steps import apply_step  # noqa: PLC0415 - the worker's code under measure

    due = len(_due(ctx))
    control(info, "POST", "/reset")
    gc.collect()
    with _counted(info) as calls:
        started = time.perf_counter()
        report, more = apply_step(ctx)
        wall = time.perf_counter() - started
    assert not more, "apply_step stopped with work left"
    budget: BudgetReport = ctx.connector(ctx.source(), active_rules(ctx).rule).budget()
    return ApplyRun(
        changes=due,
        wall_s=wall,
        calls=calls,
        budget_calls=budget.calls,
        budget_waited_s=budget.waited_seconds,
        served_429=int(control(info, "GET", "/stats")["rate_limited"]),
        states=report.counts(),
    )


def _edit_companies(info: Mapping[str, str], share: float) -> int:
    """Rename `share` of the companies through the control API (bumps their modified date)."""
    keys = sorted(control(info, "GET", "/ids")["companies"])
    chosen = random.Random(5).sample(keys, max(1, round(len(keys) * share)))
    for key in chosen:
        control(info, "POST", f"/companies/{key}/values", values={"name": f"Renamed {key}"})
    return len(chosen)


def measure(crm: str, data: Path, wanted: int) -> ApplyFigures:
    """Every figure of one CRM on the org in `data` (see the module docstring)."""
    from worker.activation import activate  # noqa: PLC0415

    with (
        tempfile.TemporaryDirectory(prefix="territory-apply-bench-") as scratch,
        sandbox_process(data, Path(scratch) / "tls") as info,
    ):
        settings = _settings(info, Path(scratch) / "ledger.sqlite3")
        ctx = open_context(settings, actor="bench@localhost")
        # Syncs and set-up run with the limits off: their calls do not depend on them.
        _limits(ctx, info, settings, on=False)
        rules = (data / "rules.yaml").read_text(encoding="utf-8")
        activate(ctx, "rules.yaml", rules)
        full = _synced(ctx, info, full=True, spec=crm)
        idle = _synced(ctx, info)
        # The edits land after the full sync's cursor, so the look-back re-reads only them.
        edited = _edit_companies(info, CHANGED_SHARE)
        incremental = _synced(ctx, info)

        activate(ctx, "rules.yaml", rule_forcing_changes(rules, ctx.today()))
        _plan_due(ctx, wanted)
        _limits(ctx, info, settings, on=False)
        unlimited = _apply(ctx, info)
        _plan_due(ctx, wanted)
        _limits(ctx, info, settings, on=True)
        limited = _apply(ctx, info)
    rate = HUBSPOT_RATE if crm == "hubspot" else SALESFORCE_RATE
    return ApplyFigures(
        crm=crm,
        companies=full.companies,
        changes=limited.changes,
        rate_per_s=rate,
        floor_calls=sum(FLOOR_ENDPOINTS[crm].values()) * math.ceil(limited.changes / BATCH[crm]),
        limited=limited,
        unlimited=unlimited,
        full_sync=full,
        idle_sync=idle,
        incremental=incremental,
        incremental_changed=edited,
    )


# ---- planning from the mirror vs from CSV (in a subprocess) ------------------------------------


def measure_plan_in_subprocess(data: Path, repeats: int) -> PlanFigures:
    """Plan `data` from the mirror and from CSV in a fresh interpreter; return the figures."""
    completed = subprocess.run(
        [sys.executable, "-m", "tests.bench.apply_bench", "plan", str(data), str(repeats)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the plan measure failed:\n{completed.stderr[-4000:]}")
    return PlanFigures(**json.loads(completed.stdout.strip().splitlines()[-1]))


def _plan_figures(data: Path, repeats: int) -> PlanFigures:
    """Sync the CSV org into a fresh mirror, then plan it both ways, alternately."""
    from sandbox.sample import DEFAULT_AS_OF  # noqa: PLC0415
    from worker.activation import activate  # noqa: PLC0415
    from worker.cli.fresh_plan import load_snapshot, plan_document_for  # noqa: PLC0415
    from worker.cli.terminal import err  # noqa: PLC0415
    from worker.planning import plan_from_ledger  # noqa: PLC0415
    from worker.sources import load_rule_file  # noqa: PLC0415
    from worker.steps import sync_step  # noqa: PLC0415

    rules = data / "rules.yaml"
    with tempfile.TemporaryDirectory(prefix="territory-plan-bench-") as scratch:
        settings = Settings(
            database_url=SecretStr(f"sqlite:///{scratch}/ledger.sqlite3"), redis_url=None
        )
        ctx = open_context(settings, actor="bench@localhost")
        activate(ctx, "rules.yaml", rules.read_text(encoding="utf-8"))
        started = time.perf_counter()
        synced = sync_step(ctx, full=True, spec=f"csv:{data}")
        sync_s = time.perf_counter() - started
        mirror_s: list[float] = []
        csv_s: list[float] = []
        mirror_cpu: list[float] = []
        csv_cpu: list[float] = []
        mirror_changes = csv_changes = 0
        for _ in range(repeats):
            gc.collect()
            started, cpu = time.perf_counter(), time.process_time()
            run = plan_from_ledger(ctx, as_of=DEFAULT_AS_OF)
            mirror_s.append(time.perf_counter() - started)
            mirror_cpu.append(time.process_time() - cpu)
            mirror_changes = len(run.changes)
            del run
            gc.collect()
            started, cpu = time.perf_counter(), time.process_time()
            loaded = load_rule_file(rules, err)
            snapshot = load_snapshot(
                f"csv:{data}", loaded, strict=False, date_format=None, timezone=None
            )
            document = plan_document_for(loaded, snapshot, DEFAULT_AS_OF)
            csv_s.append(time.perf_counter() - started)
            csv_cpu.append(time.process_time() - cpu)
            csv_changes = len(document["changes"])
            del document, snapshot, loaded
    return PlanFigures(
        accounts=synced.sync.companies,
        repeats=repeats,
        sync_s=round(sync_s, 3),
        mirror_s=round(min(mirror_s), 4),
        csv_s=round(min(csv_s), 4),
        mirror_changes=mirror_changes,
        csv_changes=csv_changes,
        mirror_all_s=[round(s, 3) for s in mirror_s],
        csv_all_s=[round(s, 3) for s in csv_s],
        mirror_cpu_s=round(min(mirror_cpu), 4),
        csv_cpu_s=round(min(csv_cpu), 4),
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Subprocess entry point: `plan DIR REPEATS` prints PlanFigures as JSON on its last line."""
    parser = argparse.ArgumentParser(prog="python -m tests.bench.apply_bench")
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan")
    plan.add_argument("directory", type=Path)
    plan.add_argument("repeats", type=int)
    args = parser.parse_args(argv)
    figures = _plan_figures(args.directory, args.repeats)
    sys.stdout.write(json.dumps(asdict(figures)) + "\n")


if __name__ == "__main__":
    main()
