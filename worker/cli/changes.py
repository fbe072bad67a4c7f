"""`territory changes`: the ledger's owner changes, filtered by state, account or run."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer

from worker.cli.command_group import CommandGroup
from worker.cli.ledger_options import (
    ALL_ROWS,
    CHANGE_ID_CHARS,
    JsonOption,
    RunOption,
    parse_run_id,
)
from worker.cli.terminal import err, out, report_console
from worker.console import ExitCode, fail

if TYPE_CHECKING:
    from worker.ledger.outbox import ChangeRow
    from worker.ledger.states import ChangeState

commands = CommandGroup()

DEFAULT_LIMIT: Final = 200
STATES_HELP: Final = (
    "Only changes in this state: planned, approved, due, applying, applied, conflict, failed, "
    "cancelled, superseded or declined."
)


def change_json(row: ChangeRow) -> dict[str, Any]:
    """One change as `territory changes --json` prints it."""
    return {
        "change_id": row.change_id,
        "run_id": row.run_id,
        "account_id": row.account_id,
        "from_owner_id": row.from_owner_id,
        "to_owner_id": row.to_owner_id,
        "reason": row.reason,
        "effective_date": row.effective_date.isoformat(),
        "state": str(row.state),
        "attempts": row.attempts,
        "error": row.error,
    }


def error_text(error: dict[str, Any] | None) -> str:
    """A stored error in a table cell: class, code and message."""
    if not error:
        return "-"
    code = f" [{error['code']}]" if error.get("code") else ""
    return f"{error.get('class', 'Error')}{code}: {error.get('message', '')}"


def parse_state(value: str) -> ChangeState:
    """A change state named on the command line, or exit 2 listing the states."""
    from worker.ledger.states import ChangeState

    try:
        return ChangeState(value.strip().lower())
    except ValueError:
        names = ", ".join(str(s) for s in ChangeState)
        fail(err, f"--state: expected one of {names}; got {value!r}", ExitCode.INVALID)


@commands.command()
def changes(
    state: Annotated[
        str | None,
        typer.Option("--state", help=STATES_HELP, metavar="STATE", show_default=False),
    ] = None,
    account: Annotated[
        str | None,
        typer.Option("--account", help="Only this account's changes.", metavar="ID"),
    ] = None,
    run: RunOption = None,
    as_json: JsonOption = False,
    limit: Annotated[
        int,
        typer.Option(
            "--limit", min=0, help="How many changes, oldest first (0: all).", metavar="N"
        ),
    ] = DEFAULT_LIMIT,
) -> None:
    """List owner changes in the ledger, oldest first: where each one is on its way to the CRM.

    A change moves planned -> approved -> due -> applying -> applied, or ends conflict, failed,
    cancelled, superseded or declined (docs/worker.md). --json prints one object per change:
    change_id, run_id, account_id, from_owner_id, to_owner_id, reason, effective_date, state,
    attempts, error. Next: `territory approve RUN` for planned changes of a run over the limits,
    `territory cancel CHANGE_ID`, `territory apply`. Exit 0, 2 a bad option, 4 when the ledger
    refuses.
    """
    from worker.cli.service_calls import service_errors, worker_context
    from worker.ledger.outbox import select_changes
    from worker.tables import Column, Section, render_sections

    limit = min(limit, ALL_ROWS)
    wanted = None if state is None else parse_state(state)
    run_id = None if run is None else parse_run_id(run, "--run")
    with service_errors():
        ctx = worker_context()
        with ctx.ledger.read() as connection:
            rows = select_changes(
                connection,
                state=wanted,
                account_id=account,
                run_id=run_id,
                limit=None if limit == 0 else limit + 1,
            )
    more = limit != 0 and len(rows) > limit
    rows = rows[:limit] if more else rows
    if more:
        err.print(f"showing the first {limit:,} changes; --limit 0 lists all", highlight=False)
    if as_json:
        document = [change_json(row) for row in rows]
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        return
    if not rows:
        out.print("no changes match", highlight=False)
        return
    section = Section(
        title="Owner changes (oldest first)",
        columns=(
            Column("change", min_width=CHANGE_ID_CHARS),
            Column("run", "right"),
            Column("account"),
            Column("from -> to"),
            Column("reason"),
            Column("effective"),
            Column("state"),
            Column("attempts", "right"),
            Column("error"),
        ),
    )
    for row in rows:
        section.rows.append(
            (
                row.change_id,
                str(row.run_id),
                row.account_id,
                f"{row.from_owner_id or '-'} -> {row.to_owner_id or '-'}",
                row.reason,
                row.effective_date.isoformat(),
                str(row.state),
                str(row.attempts),
                error_text(row.error),
            )
        )
    render_sections(report_console(), [], [section])
