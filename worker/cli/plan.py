"""`territory plan`: coverage map, team balance, gap analysis and changes; plan.json."""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from worker.cli.command_group import CommandGroup
from worker.cli.options import (
    AsOfOption,
    DateFormatOption,
    RequiredSourceOption,
    RulesOption,
    StrictOption,
    TimezoneOption,
    parse_as_of,
)
from worker.cli.out_paths import CommandInput, OutPathError, check_out_file, source_inputs
from worker.cli.terminal import err, phase, report_console
from worker.console import ExitCode, fail
from worker.tables import percent

commands = CommandGroup()


class OutputFormat(enum.StrEnum):
    """What `territory plan` prints on stdout."""

    table = "table"
    json = "json"
    csv = "csv"
    md = "md"


def approval_message(summary: dict[str, Any], out_path: Path | None) -> str:
    """Why the plan stops for approval: each share against its limit."""
    approval = summary["approval"]
    over = []
    if summary["movement_share"] > approval["max_share_per_run"] + 1e-12:
        over.append(
            f"discretionary changes are {percent(summary['movement_share'])} of accounts "
            f"({summary['discretionary_changes']:,}), above changes.max_share_per_run "
            f"{percent(approval['max_share_per_run'])}"
        )
    if summary["forced_share"] > approval["max_forced_share"] + 1e-12:
        over.append(
            f"forced changes are {percent(summary['forced_share'])} of accounts "
            f"({summary['forced_changes']:,}), above changes.max_forced_share "
            f"{percent(approval['max_forced_share'])}"
        )
    kept = f"{out_path} was not written; " if out_path is not None else ""
    return (
        f"the plan needs approval: {'; '.join(over)}. {kept}review the changes and re-run "
        "with --allow-large-change to accept them"
    )


@commands.command()
def plan(
    rules: RulesOption,
    source: RequiredSourceOption,
    as_of: AsOfOption = None,
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="Write the plan document (plan.json) here.", metavar="FILE"),
    ] = None,
    output: Annotated[
        OutputFormat,
        typer.Option("--format", help="stdout: tables, the plan JSON, assignments CSV, Markdown."),
    ] = OutputFormat.table,
    allow_large_change: Annotated[
        bool,
        typer.Option(
            "--allow-large-change",
            help="Accept a plan whose changes exceed the rule's approval limits.",
        ),
    ] = False,
    strict: StrictOption = False,
    date_format: DateFormatOption = None,
    timezone: TimezoneOption = None,
) -> None:
    """Plan the org: coverage map, team balance, gap analysis and changes; write plan.json.

    The same rule file, source and --as-of always give a byte-identical plan.json. When the
    changes exceed the rule's approval limits the report is still printed but nothing is
    written, and the exit code is 3 unless --allow-large-change.
    """
    from worker.cli.fresh_plan import load_snapshot, plan_document_for
    from worker.plan_file import write_plan_file, write_plan_stream
    from worker.plan_views import plan_heading, plan_sections, write_assignments_csv
    from worker.runtime import collector_paused
    from worker.sources import load_rule_file
    from worker.tables import render_sections, sections_markdown

    day = parse_as_of(as_of)
    if out_path is not None:
        try:
            check_out_file(out_path, [CommandInput(rules, "the rule file"), *source_inputs(source)])
        except OutPathError as exc:
            fail(err, str(exc), ExitCode.INVALID)
    loaded = load_rule_file(rules, err)
    snapshot = load_snapshot(
        source, loaded, strict=strict, date_format=date_format, timezone=timezone
    )
    document = plan_document_for(loaded, snapshot, day)
    if output is OutputFormat.table:
        render_sections(report_console(), plan_heading(document), plan_sections(document))
    elif output is OutputFormat.json:
        sys.stdout.flush()
        write_plan_stream(document, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    elif output is OutputFormat.csv:
        write_assignments_csv(document, sys.stdout)
    else:
        sys.stdout.write(sections_markdown(plan_heading(document), plan_sections(document)))
    summary = document["summary"]
    if summary["approval"]["needs_approval"]:
        if not allow_large_change:
            fail(err, approval_message(summary, out_path), ExitCode.NEEDS_APPROVAL)
        err.print(
            "The changes exceed the rule's approval limits; accepted with --allow-large-change.",
            highlight=False,
            soft_wrap=True,
        )
    if out_path is not None:
        try:
            with phase(f"Writing {out_path}"), collector_paused():
                write_plan_file(document, out_path)
        except OSError as exc:
            fail(err, f"{out_path}: cannot write the plan: {exc.strerror}", ExitCode.INVALID)
        err.print(
            f"Wrote {out_path} ({summary['accounts']:,} accounts, {summary['changes']:,} changes)",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
