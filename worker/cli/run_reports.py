"""What a recorded plan run tells the person who started it: what the ledger kept of it, and
the share of its changes that waits for `territory approve RUN`.

Command modules import this inside their command functions (it reads planning's types).
"""

from __future__ import annotations

from rules.reasons import Share
from worker.cli.terminal import err, out
from worker.console import ExitCode, fail
from worker.planning import PlanRun
from worker.tables import percent


def recorded_line(run: PlanRun) -> str:
    """'run 4 recorded: 40 change(s): 38 new, 2 kept, 0 superseded, 1 cancelled'."""
    counts = run.counts
    return (
        f"run {run.run_id} recorded: {counts.get('changes', 0):,} change(s) proposed "
        f"({counts.get('forced', 0):,} forced, {counts.get('discretionary', 0):,} "
        f"discretionary): {counts.get('new', 0):,} new, {counts.get('kept', 0):,} kept as they "
        f"were, {counts.get('superseded', 0):,} superseded, {counts.get('cancelled', 0):,} "
        f"open change(s) no longer proposed cancelled"
    )


def over_limits(run: PlanRun) -> list[str]:
    """Each held share against its limit, in words."""
    plan, limits = run.plan, run.rules.rule.changes
    discretionary = sum(1 for c in run.changes if c.share is Share.DISCRETIONARY)
    forced = sum(1 for c in run.changes if c.share is Share.FORCED)
    over = []
    if Share.DISCRETIONARY in run.held:
        over.append(
            f"discretionary changes are {percent(plan.movement_share)} of accounts "
            f"({discretionary:,}), above changes.max_share_per_run "
            f"{percent(limits.max_share_per_run)}"
        )
    if Share.FORCED in run.held:
        over.append(
            f"forced changes are {percent(plan.forced_share)} of accounts ({forced:,}), above "
            f"changes.max_forced_share {percent(limits.max_forced_share)}"
        )
    return over


def waiting_count(run: PlanRun) -> int:
    """How many of the run's new changes wait for a person's approval."""
    inserted = set(run.recorded.inserted) if run.recorded else set()
    return sum(1 for c in run.changes if c.share in run.held and c.change_id in inserted)


def waiting_line(run: PlanRun) -> str | None:
    """Which share waits for `territory approve RUN`, and why; None when nothing waits."""
    waiting = waiting_count(run)
    if not waiting:
        return None
    goes = (
        "; the forced changes go ahead"
        if Share.FORCED not in run.held and any(c.share is Share.FORCED for c in run.changes)
        else ""
    )
    return (
        f"{'; '.join(over_limits(run))}: {waiting:,} change(s) wait for `territory approve "
        f"{run.run_id}` (or `territory decline {run.run_id}`){goes}"
    )


def announce(run: PlanRun, line: str) -> None:
    """Print `line` about a recorded run; exit 3 when a share of its changes waits for approval."""
    out.print(line, highlight=False, soft_wrap=True, markup=False)
    waiting = waiting_line(run)
    if waiting is not None:
        fail(err, waiting, ExitCode.NEEDS_APPROVAL)
