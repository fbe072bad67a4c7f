"""Planning from the ledger: the active rule revision over the mirror, recorded as a run.

The engine is told what the ledger knows (`PlanContext`): open changes keep their ids and
dates, hand edits and locked accounts stay pinned, the quarter's moves count against the move
budget, new accounts are new, and notice of departures plans a leaving rep's book for the day
they leave. Recording applies the safety rail per share: a share over its limit waits for
`territory approve RUN`; the other share is approved by the rail at once.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from rules.context import OpenChange, PlanContext
from rules.engine import plan_territories
from rules.loader import LoadedRules, load_rules
from rules.plan import Change, Plan
from rules.reasons import ChangeReason, Share
from rules.schema import RuleFile
from worker.context import WorkerContext
from worker.ledger import LedgerError
from worker.ledger import outbox as ob
from worker.ledger.facts import get_fact
from worker.ledger.mirror import company_count, load_snapshot, stream_state
from worker.ledger.pins import active_pins, scheduled_departures
from worker.ledger.revisions import RuleRevision, active_revision
from worker.ledger.runs import finish_run, start_run
from worker.ledger.states import ChangeState, RunKind, RunState
from worker.ledger.tables import changes, mirror_companies
from worker.runtime import collector_paused
from worker.sync_fields import COMPANIES_STREAM, MIRROR_BASELINE, read_signature

RAIL = "rail (within the rule's approval limits)"


class PlanningError(Exception):
    """Planning from the ledger cannot start; the message says what to run first."""


@dataclass(frozen=True, slots=True)
class ActiveRules:
    """The active rule revision, loaded."""

    revision: RuleRevision
    loaded: LoadedRules

    @property
    def rule(self) -> RuleFile:
        return self.loaded.rule


def active_rules(ctx: WorkerContext) -> ActiveRules:
    """The active revision, validated again (it was valid when activated)."""
    with ctx.ledger.read() as connection:
        revision = active_revision(connection)
    if revision is None:
        raise PlanningError("no rule revision is active: run `territory activate RULES.yaml`")
    return ActiveRules(revision, _loaded_revision(revision.text, revision.path))


@functools.lru_cache(maxsize=4)
def _loaded_revision(text: str, path: str) -> LoadedRules:
    """A stored revision parsed once per process, not once per step: write-back asks for it
    chunk after chunk, and parsing the sample's rule costs more than writing a chunk. Safe to
    share: the loader is pure and what it returns is frozen."""
    return load_rules(text, f"{path} (active revision)")


@dataclass(frozen=True, slots=True)
class PlanRun:
    """A plan from the mirror and, when saved, what the ledger recorded of it."""

    plan: Plan
    rules: ActiveRules
    changes: tuple[Change, ...]  # the changes this run proposes (forced only for departures)
    run_id: int | None = None
    recorded: ob.Recorded | None = None
    held: frozenset[Share] = frozenset()
    counts: dict[str, Any] = field(default_factory=dict)


def require_mirror_for(ctx: WorkerContext, rules: ActiveRules) -> None:
    """Refuse to plan on a mirror that lacks a field the rule reads (never a column of nulls)."""
    kind = ctx.source()
    with ctx.ledger.read() as connection:
        state = stream_state(connection, COMPANIES_STREAM)
        baseline = get_fact(connection, MIRROR_BASELINE)
    if baseline is None:
        raise PlanningError(
            f"the mirror holds no full sync yet: run `territory sync --source {kind} --full`"
        )
    wanted = read_signature(rules.rule, kind)
    if state.fields is None or tuple(state.fields) != wanted:
        raise PlanningError(
            f"rule revision {rules.revision.revision!r} reads CRM fields the mirror was not "
            f"synced with: run `territory sync --source {kind} --full` first"
        )


def plan_from_ledger(
    ctx: WorkerContext,
    *,
    as_of: date | None = None,
    save: bool = False,
    kind: RunKind = RunKind.PLAN,
    forced_only: bool = False,
    source: str = "ledger",
) -> PlanRun:
    """Plan the mirror under the active revision; with `save`, record the run and its changes."""
    rules = active_rules(ctx)
    require_mirror_for(ctx, rules)
    day = as_of or ctx.today()
    with ctx.ledger.read() as connection, collector_paused():
        snapshot = load_snapshot(connection)
        context = plan_context(connection, rules.rule, day)
    locked = {a.id for a in snapshot.accounts if a.locked}
    with collector_paused():
        plan = plan_territories(rules.loaded, snapshot, day, context)
    # A locked account is never written, whatever its owner: the lock is a person's word.
    proposed = tuple(
        c
        for c in plan.changes
        if (c.share is Share.FORCED or not forced_only) and c.account_id not in locked
    )
    held = held_shares(plan, rules.rule)
    result = PlanRun(plan=plan, rules=rules, changes=proposed, held=held)
    if not save:
        return result
    now = ctx.now()
    with ctx.ledger.write() as connection:
        run_id = start_run(
            connection,
            kind=kind,
            actor=ctx.actor,
            source=source,
            now=now,
            rule_revision_id=rules.revision.id,
            rule_revision=rules.revision.revision,
            rule_sha256=rules.revision.sha256,
            as_of=day,
        )
        recorded = ob.record_changes(
            connection,
            run_id,
            [new_change(plan, change, rules) for change in proposed],
            now=now,
            cancel_unproposed=not forced_only,
        )
        for share in Share:
            if share not in held:
                ob.approve(connection, run_id=run_id, who=RAIL, now=now, share=share)
        if Share.FORCED not in held and recorded.escalated:
            # A pending change a forced cause now proposes goes ahead like the run's own.
            ob.approve_changes(connection, recorded.escalated, who=RAIL, now=now)
        counts = run_counts(plan, proposed, recorded, held)
        counts["locked_not_moved"] = sum(1 for c in plan.changes if c.account_id in locked)
        inserted = set(recorded.inserted)  # once: per change, 85k changes took 7 minutes
        waiting = any(c.share in held for c in proposed if c.change_id in inserted)
        finish_run(
            connection,
            run_id,
            state=RunState.NEEDS_APPROVAL if waiting else RunState.DONE,
            now=now,
            counts=counts,
        )
    return PlanRun(
        plan=plan,
        rules=rules,
        changes=proposed,
        run_id=run_id,
        recorded=recorded,
        held=held,
        counts=counts,
    )


def held_shares(plan: Plan, rule: RuleFile) -> frozenset[Share]:
    """The shares over their limit: their new changes wait for a person's approval."""
    held: set[Share] = set()
    if plan.movement_share > rule.changes.max_share_per_run + 1e-12:
        held.add(Share.DISCRETIONARY)
    if plan.forced_share > rule.changes.max_forced_share + 1e-12:
        held.add(Share.FORCED)
    return frozenset(held)


def new_change(plan: Plan, change: Change, rules: ActiveRules) -> ob.NewChange:
    """The ledger row for one of the plan's changes."""
    assignment = plan.assignment(change.account_id)
    return ob.NewChange(
        change_id=change.change_id,
        account_id=change.account_id,
        from_owner_id=change.from_owner_id,
        to_owner_id=change.to_owner_id,
        reason=str(change.reason),
        share=change.share,
        routing_row=change.routing_row,
        routing_line=assignment.routing_line if assignment else None,
        team=assignment.team if assignment else None,
        rule_revision=rules.revision.revision,
        effective_date=change.effective_date,
        supersedes=change.supersedes,
    )


def run_counts(
    plan: Plan, proposed: Sequence[Change], recorded: ob.Recorded, held: frozenset[Share]
) -> dict[str, Any]:
    """The figures a run keeps."""
    return {
        "accounts": len(plan.assignments),
        "changes": len(proposed),
        "forced": sum(1 for c in proposed if c.share is Share.FORCED),
        "discretionary": sum(1 for c in proposed if c.share is Share.DISCRETIONARY),
        "new": len(recorded.inserted),
        "kept": len(recorded.kept),
        "superseded": len(recorded.superseded),
        "cancelled": len(recorded.cancelled),
        "deferred": len(recorded.deferred),
        "settled": len(recorded.settled),
        "held": sorted(str(s) for s in held),
    }


def plan_context(connection: sa.Connection, rule: RuleFile, today: date) -> PlanContext:
    """What the ledger tells the engine: open changes, counts, pins, moves, new, departures."""
    open_rows = ob.open_changes(connection)
    pinned = {p.account_id: p.owner_id for p in active_pins(connection, today).values()}
    locked = connection.execute(
        sa.select(mirror_companies.c.account_id, mirror_companies.c.owner_id).where(
            mirror_companies.c.locked.is_(True)
        )
    )
    pinned.update(dict(locked.all()))
    counts = ob.change_counts(connection)
    return PlanContext(
        pinned={a: o for a, o in pinned.items() if o is not None},
        open_changes={
            account: OpenChange(r.change_id, r.from_owner_id, r.to_owner_id, r.effective_date)
            for account, r in open_rows.items()
        },
        change_counts=counts,
        moves_this_quarter=moves_this_quarter(connection, rule, today),
        new_accounts=new_accounts(connection, counts),
        departures={
            d.owner_id: d.effective_date for d in scheduled_departures(connection).values()
        },
    )


def quarter_start(rule: RuleFile, today: date) -> date:
    """The first day of the fiscal quarter holding `today` (calendar.fiscal_year_start)."""
    month, day = (int(part) for part in rule.calendar.fiscal_year_start.split("-"))
    starts = []
    for year in (today.year - 1, today.year):
        for q in range(4):
            m = (month - 1 + 3 * q) % 12 + 1
            y = year + (month - 1 + 3 * q) // 12
            starts.append(date(y, m, min(day, 28)))
    return max(s for s in starts if s <= today)


def moves_this_quarter(connection: sa.Connection, rule: RuleFile, today: date) -> int:
    """Balancing moves already spent this fiscal quarter (approved, applying or applied)."""
    spent = (ChangeState.APPROVED, ChangeState.DUE, ChangeState.APPLYING, ChangeState.APPLIED)
    query = sa.select(sa.func.count()).where(
        changes.c.reason == ChangeReason.REBALANCE,
        changes.c.state.in_(spent),
        changes.c.effective_date >= quarter_start(rule, today),
    )
    return int(connection.scalar(query) or 0)


def new_accounts(connection: sa.Connection, counts: dict[str, int]) -> frozenset[str]:
    """Companies first seen after the baseline sync that no change has touched yet."""
    baseline = get_fact(connection, MIRROR_BASELINE)
    if baseline is None or company_count(connection) == 0:
        return frozenset()
    since = datetime.fromisoformat(baseline)
    query = sa.select(mirror_companies.c.account_id).where(
        mirror_companies.c.first_seen_at > since, mirror_companies.c.owner_id.is_(None)
    )
    return frozenset(a for a in connection.scalars(query) if a not in counts)


def require_ledger_source(ctx: WorkerContext) -> str:
    """The CRM kind the ledger is bound to (raises LedgerError before the first sync)."""
    return ctx.source()


__all__ = [
    "ActiveRules",
    "LedgerError",
    "PlanRun",
    "PlanningError",
    "active_rules",
    "plan_from_ledger",
]
