"""`territory depart EMAIL --effective DATE`: notice that a rep leaves on a given day."""

from __future__ import annotations

from typing import Annotated

import typer

from worker.cli.command_group import CommandGroup
from worker.cli.ledger_options import ActorOption
from worker.cli.options import parse_day

commands = CommandGroup()


@commands.command()
def depart(
    email: Annotated[
        str,
        typer.Argument(
            help="The leaving rep's email, as the CRM's owners list it.",
            metavar="EMAIL",
            show_default=False,
        ),
    ],
    effective: Annotated[
        str,
        typer.Option(
            "--effective",
            help="The day the rep leaves, YYYY-MM-DD: their book moves on that day.",
            metavar="DATE",
            show_default=False,
        ),
    ],
    actor: ActorOption = None,
) -> None:
    """Record notice that a rep leaves on DATE, and plan their book as departed for that day.

    The departure run's changes wait in the ledger and apply on DATE (the worker takes them,
    or `territory apply` on that day); nothing moves before. A rep the CRM deactivates without
    notice is handled by `territory sync` at once. Exit 0, 2 a malformed DATE, 3 when the
    forced changes exceed changes.max_forced_share (they wait for `territory approve RUN`), 4
    when the ledger refuses (no such owner in the mirror, a past DATE, no active revision).
    """
    from worker.cli.run_reports import announce
    from worker.cli.service_calls import service_errors, worker_context
    from worker.departures import give_notice

    day = parse_day(effective, "--effective")
    with service_errors():
        ctx = worker_context(actor)
        notice = give_notice(ctx, email, day)
    run = notice.run
    book = sum(1 for c in run.changes if c.from_owner_id == notice.owner_id)
    announce(
        run,
        f"notice recorded by {ctx.actor}: {notice.email} (owner {notice.owner_id}) leaves on "
        f"{notice.effective.isoformat()}; departure run {run.run_id} moves {book:,} of their "
        f"account(s) on that day ({len(run.changes):,} forced change(s) in all: `territory "
        f"changes --run {run.run_id}`)",
    )
