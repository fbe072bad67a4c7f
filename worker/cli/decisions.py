"""`territory approve`, `decline`, `cancel`, `pause`, `resume`: a person's word on the outbox."""

from __future__ import annotations

from typing import Annotated

import typer

from worker.cli.command_group import CommandGroup
from worker.cli.ledger_options import CHANGE_ID_CHARS, ActorOption, RunArgument, parse_run_id
from worker.cli.terminal import err, out
from worker.console import ExitCode, fail

commands = CommandGroup()


def _say(text: str) -> None:
    out.print(text, highlight=False, soft_wrap=True, markup=False)


@commands.command()
def approve(run: RunArgument, actor: ActorOption = None) -> None:
    """Approve the changes of RUN that wait for approval (its share over the rule's limits).

    Recorded with who and when. Approved changes apply on their effective dates: the worker
    takes them, or run `territory apply`. Exit 0, 2 a malformed RUN, 4 when the ledger refuses
    (no such run, or nothing of it waits for approval).
    """
    from worker.approvals import approve_run
    from worker.cli.service_calls import service_errors, worker_context

    run_id = parse_run_id(run)
    with service_errors():
        ctx = worker_context(actor)
        decided = approve_run(ctx, run_id)
    _say(
        f"approved {decided.changes:,} change(s) of run {run_id} as {ctx.actor}: they apply on "
        "their effective dates (`territory apply` applies those due today)"
    )


@commands.command()
def decline(run: RunArgument, actor: ActorOption = None) -> None:
    """Decline the changes of RUN that wait for approval: they never apply.

    Recorded with who and when; the run's other changes are untouched. The accounts stay with
    their owners for changes.respect_manual_days (pinned), so the next plan does not propose
    the declined moves again; a forced cause (a departure) still moves them. Exit 0, 2 a malformed
    RUN, 4 when the ledger refuses (no such run, or nothing of it waits for approval).
    """
    from worker.approvals import decline_run
    from worker.cli.service_calls import service_errors, worker_context

    run_id = parse_run_id(run)
    with service_errors():
        ctx = worker_context(actor)
        decided = decline_run(ctx, run_id)
    _say(
        f"declined {decided.changes:,} change(s) of run {run_id} as {ctx.actor}: they never "
        "apply, and their accounts stay with their owners for changes.respect_manual_days"
    )


@commands.command()
def cancel(
    change_id: Annotated[
        str,
        typer.Argument(
            help="A change id, as `territory changes` lists it.",
            metavar="CHANGE_ID",
            show_default=False,
        ),
    ],
    actor: ActorOption = None,
) -> None:
    """Cancel one change that is planned, approved or due: it never applies.

    A change being applied (or already finished) cannot be cancelled; to undo applied changes,
    `territory rollback RUN`. The next plan may propose the move again unless the account is
    pinned. Exit 0, 2 a malformed CHANGE_ID, 4 when the ledger refuses (no such change, or
    not cancellable).
    """
    from worker.approvals import cancel_change
    from worker.cli.service_calls import service_errors, worker_context

    wanted = _parse_change_id(change_id)
    with service_errors():
        row = cancel_change(worker_context(actor), wanted)
    _say(
        f"cancelled change {row.change_id} (account {row.account_id}, "
        f"{row.from_owner_id or 'no owner'} -> {row.to_owner_id or 'no owner'}, effective "
        f"{row.effective_date.isoformat()}; it was {row.state})"
    )


@commands.command()
def pause(actor: ActorOption = None) -> None:
    """Stop all write-back at once: workers stop between batches, `territory apply` applies
    nothing.

    Syncs and plans go on; changes wait in the ledger. `territory resume` restarts write-back.
    Exit 0 (also when already paused), 4 when the ledger refuses.
    """
    from worker.approvals import pause as pause_writeback
    from worker.cli.service_calls import service_errors, worker_context

    with service_errors():
        ctx = worker_context(actor)
        earlier = pause_writeback(ctx)
    if earlier is not None:
        _say(f"write-back was already paused ({earlier})")
    else:
        _say(
            f"write-back paused by {ctx.actor}: nothing is written to the CRM until "
            "`territory resume`"
        )


@commands.command()
def resume() -> None:
    """Let write-back run again after `territory pause`; due changes apply on the next run.

    Exit 0 (also when it was running), 4 when the ledger refuses.
    """
    from worker.approvals import resume as resume_writeback
    from worker.cli.service_calls import service_errors, worker_context

    with service_errors():
        earlier = resume_writeback(worker_context())
    if earlier is None:
        _say("write-back was not paused: nothing to resume")
    else:
        _say(f"write-back resumed (it was paused by {earlier})")


def _parse_change_id(raw: str) -> str:
    """A change id as `territory changes` lists it (24 hex digits; upper case accepted), or
    exit 2 quoting at most 40 characters of what was given."""
    text = raw.strip().lower()
    if len(text) != CHANGE_ID_CHARS or any(c not in "0123456789abcdef" for c in text):
        shown = repr(raw if len(raw) <= 40 else raw[:40] + "…")
        fail(
            err,
            f"CHANGE_ID: expected a change id (24 hex digits, as `territory changes` lists "
            f"it), got {shown}",
            ExitCode.INVALID,
        )
    return text
