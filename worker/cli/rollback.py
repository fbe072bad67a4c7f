"""`territory rollback RUN`: undo a run, as a run of its own."""

from __future__ import annotations

from worker.cli.command_group import CommandGroup
from worker.cli.ledger_options import ActorOption, RunArgument, parse_run_id
from worker.cli.terminal import out

commands = CommandGroup()


@commands.command()
def rollback(run: RunArgument, actor: ActorOption = None) -> None:
    """Undo RUN: cancel its changes not applied yet, and write its applied ones back to their
    previous owners.

    The write-back is a new run (its own change ids and amendment notes), effective today and
    approved by whoever rolls back; `territory apply` (or the worker) carries it out. The
    accounts are pinned to their previous owners for changes.respect_manual_days, and those whose
    pending change was cancelled to the owner they have, so the next plan does not redo what was
    rolled back. An account whose previous owner is no longer active keeps its new owner (said,
    and counted). A change that failed after its owner was written is undone too. Exit 0, 2 a
    malformed RUN, 4 when the ledger refuses (no such run, a sync run, a run with nothing to
    undo, changes of it being applied right now or whose notes wait, no active revision).
    """
    from worker.cli.service_calls import service_errors, worker_context
    from worker.rollback import rollback_run

    run_id = parse_run_id(run)
    with service_errors():
        ctx = worker_context(actor)
        done = rollback_run(ctx, run_id)
    out.print(
        f"rolled back run {run_id} as {ctx.actor}: {done.cancelled:,} pending change(s) "
        f"cancelled; run {done.rollback_run_id} writes {done.undone:,} account(s) back to their "
        f"previous owners, due today (`territory apply`); {done.pinned:,} account(s) pinned"
        + (
            f"; {done.kept:,} account(s) keep their new owner: their previous owner is no "
            "longer active"
            if done.kept
            else ""
        ),
        highlight=False,
        soft_wrap=True,
        markup=False,
    )
