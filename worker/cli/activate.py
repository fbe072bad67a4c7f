"""`territory activate RULES.yaml`: the rule file becomes the revision the worker plans from."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from worker.cli.command_group import CommandGroup
from worker.cli.ledger_options import ActorOption, DryRunOption
from worker.cli.terminal import err, out, report_console

commands = CommandGroup()


@commands.command()
def activate(
    file: Annotated[
        Path,
        typer.Argument(help="The rule file (YAML).", metavar="RULES.yaml", show_default=False),
    ],
    dry_run: DryRunOption = False,
    show: Annotated[
        int,
        typer.Option("--show", min=0, help="Owner changes the what-if lists.", metavar="N"),
    ] = 20,
    actor: ActorOption = None,
) -> None:
    """Validate a rule file, show what it would change against the active revision, and
    record it (its text, sha256, who and when) as the revision the worker plans from.

    The worker never reads YAML from disk: only the active revision. The what-if plans the
    mirror under both revisions (as `territory diff` does) once a full sync has filled it.
    Next: `territory plan --source ledger --save`. Exit 0, 2 an invalid file (every problem
    located as FILE:LINE:COL, nothing recorded), 4 when the ledger refuses.
    """
    from worker.activation import activate as activate_revision
    from worker.cli.service_calls import service_errors, worker_context
    from worker.diff_view import diff_heading, diff_sections
    from worker.sources import load_rule_file, read_text
    from worker.tables import render_sections

    loaded = load_rule_file(file, err)
    text = read_text(file, err, "rule file")
    with service_errors():
        ctx = worker_context(actor)
        done = activate_revision(ctx, str(file), text, dry_run=dry_run)
    for warning in done.field_warnings:
        err.print(str(warning), highlight=False, soft_wrap=True, markup=False)
    if done.diff is not None:
        render_sections(
            report_console(), diff_heading(done.diff), diff_sections(done.diff, shown=show)
        )
    elif done.diff_note is not None:
        err.print(f"what-if: {done.diff_note}", highlight=False, soft_wrap=True, markup=False)
    rule = loaded.rule
    named = f"revision {rule.revision!r} (sha256 {done.loaded.sha256[:12]})"
    if done.unchanged:
        message = f"{file}: {named} is the active revision already; nothing recorded"
    elif dry_run:
        message = f"{file}: {named} is valid; dry run, nothing recorded"
    else:
        message = (
            f"{file}: activated {named} as {ctx.actor}; the worker plans from it "
            "(next: `territory plan --source ledger --save`)"
        )
    out.print(message, highlight=False, soft_wrap=True, markup=False)
    if done.needs_full_sync and not done.unchanged:
        err.print(
            "it reads CRM fields the mirror was not synced with: the next plan runs a full sync "
            "first (or run `territory sync --full` now)",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
