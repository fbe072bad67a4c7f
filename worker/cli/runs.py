"""`territory runs`: what the worker and people did, newest first."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from worker.cli.command_group import CommandGroup
from worker.cli.ledger_options import ALL_ROWS, JsonOption
from worker.cli.terminal import out, report_console

if TYPE_CHECKING:
    from worker.ledger.runs import Run

commands = CommandGroup()


def run_json(
    run: Run, changes: dict[str, int], summary: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One run as `territory runs --json` prints it (`summary`: the stored one unless given)."""
    return {
        "run_id": run.run_id,
        "kind": str(run.kind),
        "state": str(run.state),
        "actor": run.actor,
        "source": run.source,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "as_of": run.as_of.isoformat() if run.as_of else None,
        "rule_revision": run.rule_revision,
        "rule_sha256": run.rule_sha256,
        "parent_run_id": run.parent_run_id,
        "counts": run.counts,
        "changes": dict(sorted(changes.items())),
        "summary": summary if summary is not None else run.summary,
        "error": run.error,
    }


def _figures(values: dict[str, Any]) -> str:
    """`{"companies": 60, "new": 0, "held": ["discretionary"]}` -> 'companies 60, held
    discretionary' (empty figures left out)."""
    shown = []
    for key, value in values.items():
        if value in (0, False, None, [], {}):
            continue
        if isinstance(value, bool):
            text = "yes"
        elif isinstance(value, int):
            text = f"{value:,}"
        elif isinstance(value, list):
            text = "+".join(str(v) for v in value)
        else:
            text = str(value)
        shown.append(f"{key.replace('_', ' ')} {text}")
    return ", ".join(shown) or "-"


@commands.command()
def runs(
    as_json: JsonOption = False,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="How many runs, newest first.", metavar="N")
    ] = 50,
) -> None:
    """List the ledger's runs, newest first: syncs, plans, departures, rollbacks.

    Each run shows who ran it and when, its rule revision, its counts and its changes by state.
    A run in state needs_approval holds changes for `territory approve RUN` or `territory
    decline RUN`; `territory changes --run RUN` lists them. Exit 0, 4 when the ledger refuses
    (not migrated: `territory db upgrade`).
    """
    from worker.cli.service_calls import service_errors, worker_context
    from worker.departures import departure_report
    from worker.ledger.outbox import count_by_state
    from worker.ledger.runs import list_runs
    from worker.ledger.states import RunKind
    from worker.tables import Column, Section, render_sections

    with service_errors():
        ctx = worker_context()
        with ctx.ledger.read() as connection:
            found = [
                (r, count_by_state(connection, r.run_id))
                for r in list_runs(connection, limit=min(limit, ALL_ROWS))
            ]
            summaries = {
                r.run_id: departure_report(connection, r.summary)
                for r, _ in found
                if as_json and r.kind is RunKind.DEPARTURE
            }
    if as_json:
        rows = [run_json(run, changes, summaries.get(run.run_id)) for run, changes in found]
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    if not found:
        out.print("no runs yet: `territory sync` starts the first", highlight=False)
        return
    section = Section(
        title="Runs (newest first)",
        columns=(
            Column("run", "right"),
            Column("kind"),
            Column("state"),
            Column("actor"),
            Column("started (UTC)"),
            Column("revision"),
            Column("counts"),
            Column("changes by state"),
        ),
    )
    for run, changes in found:
        section.rows.append(
            (
                str(run.run_id),
                str(run.kind),
                str(run.state),
                run.actor,
                run.started_at.strftime("%Y-%m-%d %H:%M"),
                run.rule_revision or "-",
                _figures(run.counts),
                _figures(dict(sorted(changes.items()))),
            )
        )
    render_sections(report_console(), [], [section])
