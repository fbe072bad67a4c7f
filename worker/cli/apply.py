"""`territory apply` and `territory reconcile`: due owner changes reach the CRM, once."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

from worker.cli.command_group import CommandGroup
from worker.cli.ledger_options import (
    CHANGE_ID_CHARS,
    DryRunOption,
    JsonOption,
    RunOption,
    parse_run_id,
)
from worker.cli.terminal import err, out, report_console
from worker.console import ExitCode, fail, progress_bar

if TYPE_CHECKING:
    from worker.context import WorkerContext
    from worker.writeback import ApplyReport

commands = CommandGroup()


def _print_report(report: ApplyReport, as_json: bool) -> None:
    """The report as JSON, or as a table of changes with their action and state."""
    from worker.cli.changes import error_text
    from worker.tables import Column, Section, render_sections

    if as_json:
        sys.stdout.write(json.dumps(report.as_json(), ensure_ascii=False, indent=2) + "\n")
        return
    if not report.rows:
        return
    section = Section(
        title="Changes " + ("a real apply would make (dry run)" if report.dry_run else "applied"),
        columns=(
            Column("change", min_width=CHANGE_ID_CHARS),
            Column("account"),
            Column("from -> to"),
            Column("reason"),
            Column("effective"),
            Column("action"),
            Column("state"),
            Column("attempts", "right"),
            Column("error"),
        ),
    )
    for row in report.rows:
        section.rows.append(
            (
                row.change_id,
                row.account_id,
                f"{row.from_owner_id or '-'} -> {row.to_owner_id or '-'}",
                row.reason,
                row.effective_date.isoformat(),
                str(row.action) if row.action is not None else "-",
                row.state,
                str(row.attempts),
                error_text(row.error),
            )
        )
    render_sections(report_console(), [], [section])


def _counts_line(report: ApplyReport) -> str:
    counts = report.counts()
    figures = ", ".join(f"{key.replace('_', ' ')} {n:,}" for key, n in counts.items())
    if report.dry_run:
        return f"dry run: {len(report.rows):,} change(s) due ({figures}); nothing was written"
    return f"{len(report.rows):,} change(s) taken ({figures})"


def _conflicts_line(report: ApplyReport) -> str:
    """How many conflicts, and why: a lock set in the CRM is not a hand edit."""
    conflicts = [r for r in report.rows if r.state == "conflict"]
    locked = sum(1 for r in conflicts if (r.error or {}).get("code") == "LOCKED")
    causes = [
        f"{n:,} {what}"
        for n, what in (
            (len(conflicts) - locked, "owner(s) changed by hand"),
            (locked, "account(s) locked in the CRM (territory_lock)"),
        )
        if n
    ]
    return (
        f"{len(conflicts):,} conflict(s): {', '.join(causes)}; not overwritten "
        "(`territory changes --state conflict`)"
    )


def _finish(ctx: WorkerContext, report: ApplyReport, as_json: bool, nothing: str) -> None:
    """Print the report and what follows from it; exit 4 when paused, 5 when the CRM failed."""
    from worker.cli.service_calls import connector_failure
    from worker.ledger.facts import is_paused

    _print_report(report, as_json)
    say = err if as_json else out
    if report.rows:
        say.print(_counts_line(report), highlight=False, soft_wrap=True, markup=False)
    elif not report.paused and report.stopped is None:
        say.print(nothing, highlight=False, soft_wrap=True, markup=False)
    if not report.dry_run:
        states = report.counts()
        if states.get("conflict"):
            err.print(_conflicts_line(report), highlight=False, soft_wrap=True, markup=False)
        if states.get("failed"):
            err.print(
                f"{states['failed']:,} change(s) failed (`territory changes --state failed`)",
                highlight=False,
                soft_wrap=True,
            )
    if report.lost:
        err.print(
            f"{report.lost:,} change(s) lost their lease mid-batch: `territory reconcile` "
            "finishes them",
            highlight=False,
            soft_wrap=True,
        )
    with ctx.ledger.read() as connection:
        paused_by = is_paused(connection)
    if report.paused or (report.dry_run and paused_by):
        message = (
            f"write-back is paused ({paused_by or 'by `territory pause`'}): "
            + ("a real apply would write nothing now" if report.dry_run else "nothing was applied")
            + "; `territory resume` restarts it"
        )
        if report.dry_run:
            err.print(message, highlight=False, soft_wrap=True, markup=False)
        else:
            fail(err, message, ExitCode.REFUSED)
    if report.stopped is not None:
        fail(err, connector_failure(report.stopped), ExitCode.CRM_FAILED)


@commands.command()
def apply(
    run: RunOption = None,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Write the changes due today (approved, effective date reached) to the CRM.

    For each batch it reads the current owners first: an owner already at the target is not
    written again; an owner that is neither the change's old nor new owner was changed by hand
    and becomes a conflict (never overwritten; the account is pinned). Every change that
    reaches its target gets its amendment note, and is applied only then. --dry-run reads the
    CRM the same way and lists each change's action (write, at_target, conflict) without
    writing; --json prints the same document either way, with "dry_run". Exit 0, 2 a malformed
    RUN, 4 when the ledger refuses (not synced, no active revision, another CRM account,
    write-back paused), 5 when the CRM failed (changes not written go back to due).
    """
    from worker.cli.service_calls import service_errors, worker_context
    from worker.writeback import apply_due

    run_id = None if run is None else parse_run_id(run, "--run")
    label = "Reading owners (dry run)" if dry_run else "Applying changes"
    with service_errors():
        ctx = worker_context()
        with progress_bar(err, label, total=None) as advance:
            report = apply_due(ctx, run_id=run_id, dry_run=dry_run, progress=advance)
        _finish(
            ctx,
            report,
            as_json,
            "nothing is due today (`territory changes --state approved` lists what waits for "
            "its date, `--state planned` what waits for approval)",
        )


@commands.command()
def reconcile(as_json: JsonOption = False) -> None:
    """Finish the changes a worker left in applying when its lease expired (after a crash).

    Only expired leases are taken, so a live worker's changes are never touched. Each change
    is settled as `territory apply` settles it: the owner is read first and the note looked
    for before posting, so nothing is written twice. Exit 0, 4 when the ledger refuses, 5 when
    the CRM failed.
    """
    from worker.cli.service_calls import service_errors, worker_context
    from worker.writeback import apply_due

    with service_errors():
        ctx = worker_context()
        with progress_bar(err, "Reconciling", total=None) as advance:
            report = apply_due(ctx, expired_only=True, progress=advance)
        _finish(ctx, report, as_json, "no change's lease has expired: nothing to reconcile")
