"""`territory sync`: the CRM's companies, owners and activity into the ledger's mirror."""

from __future__ import annotations

from typing import Annotated

import typer

from worker.cli.command_group import CommandGroup
from worker.cli.terminal import err, out
from worker.console import progress_bar

commands = CommandGroup()


@commands.command()
def sync(
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="hubspot, salesforce or csv:DIR; default: the CRM this ledger is bound to.",
            metavar="SOURCE",
            show_default=False,
        ),
    ] = None,
    full: Annotated[
        bool,
        typer.Option("--full", help="Read every company, not only those changed since the last."),
    ] = False,
) -> None:
    """Sync the CRM into the ledger's mirror: companies (the fields the active rule reads,
    owner, lock, activity), owners and owner activity.

    Incremental by default; --full reads everything and repairs drift. The first sync binds the
    ledger to that CRM account; another account is refused. A sync that fails part-way keeps
    every page it stored and the next one resumes there. When owners were deactivated in the
    CRM, a departure run moves their books at once. Next: `territory activate RULES.yaml`
    (once), then `territory plan --source ledger --save`. Exit 0, 2 a bad source or setting, 3
    when a departure run's changes wait for `territory approve RUN`, 4 when the ledger refuses
    (another CRM account, never synced and no --source), 5 when the CRM failed.
    """
    from worker.cli.run_reports import announce
    from worker.cli.service_calls import service_errors, worker_context
    from worker.ledger.revisions import active_revision
    from worker.steps import sync_step

    with service_errors():
        ctx = worker_context()
        spec = source.strip() if source is not None else ctx.source()
        with progress_bar(err, f"Syncing {spec}", total=None) as advance:
            step = sync_step(ctx, full=full, spec=spec, progress=advance)
        with ctx.ledger.read() as connection:
            has_rules = active_revision(connection) is not None
    done = step.sync
    extras = [
        f"{done.drift_repaired:,} drifted record(s) repaired" if done.drift_repaired else "",
        "resumed an unfinished sync" if done.resumed else "",
        f"{done.page_retries:,} page(s) retried" if done.page_retries else "",
    ]
    out.print(
        f"synced {spec} (run {done.run_id}, {done.mode}): {done.companies:,} companies stored "
        f"({done.new:,} new), {done.owners:,} owners, {done.removed:,} removed, "
        f"{done.hand_edits:,} hand edit(s) pinned"
        + "".join(f"; {extra}" for extra in extras if extra),
        highlight=False,
        soft_wrap=True,
        markup=False,
    )
    if step.departure is not None:
        run = step.departure
        announce(
            run,
            f"{len(step.departed):,} owner(s) deactivated in the CRM: departure run "
            f"{run.run_id} plans {len(run.changes):,} forced change(s) (their books, orphans "
            f"and the hierarchy changes that follow: `territory changes --run {run.run_id}`)",
        )
    elif step.departure_skipped is not None:
        err.print(
            f"{len(step.departed):,} owner(s) deactivated in the CRM, but no departure run: "
            f"{step.departure_skipped}",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
    next_step = (
        "`territory plan --source ledger --save`"
        if has_rules
        else "`territory activate RULES.yaml`"
    )
    err.print(f"next: {next_step}", highlight=False, markup=False)
