"""`territory ledger prune`: old finished rows go, and the personal data of owners long gone."""

from __future__ import annotations

from typing import Annotated

import typer

from worker.cli.command_group import CommandGroup
from worker.cli.terminal import err, out
from worker.console import ExitCode, fail

# The furthest cut-off that means anything: a century back.
MAX_DAYS = 36_500

commands = CommandGroup(name="ledger", help="Housekeeping of the ledger's rows.")


@commands.command()
def prune(
    older_than: Annotated[
        int,
        typer.Option(
            "--older-than",
            min=1,
            help="Remove what finished more than this many days ago.",
            metavar="DAYS",
            show_default=False,
        ),
    ],
) -> None:
    """Remove finished changes, their notes' records and runs older than DAYS, and forget the
    email and name of owners deactivated longer ago than that.

    Open changes, and runs that still have changes, are kept. Exit 0 done, 2 a bad argument or
    setting, 4 the ledger refuses (not migrated: run `territory db upgrade`).
    """
    from worker.cli.service_calls import service_errors, worker_context
    from worker.prune import prune as prune_ledger

    if older_than > MAX_DAYS:
        # Far more left the calendar ("date value out of range") as an internal error.
        fail(
            err,
            f"--older-than {older_than}: at most {MAX_DAYS:,} days (a century) back",
            ExitCode.INVALID,
        )

    with service_errors():
        pruned = prune_ledger(worker_context(), older_than)
    out.print(
        f"pruned rows older than {older_than} day(s): {pruned.changes:,} change(s), "
        f"{pruned.amendments:,} note record(s), {pruned.runs:,} run(s), "
        f"{pruned.deliveries:,} task delivery record(s); forgot the email and name of "
        f"{pruned.owners_forgotten:,} departed owner(s)",
        highlight=False,
        soft_wrap=True,
    )
