"""`territory plan`: coverage map, team balance, gap analysis and changes; plan.json."""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Annotated, Any, Final

import typer

from worker.cli.command_group import CommandGroup
from worker.cli.options import (
    AsOfOption,
    DateFormatOption,
    StrictOption,
    TimezoneOption,
    parse_as_of,
    parse_day,
)
from worker.cli.out_paths import (
    CommandInput,
    OutPathError,
    check_out_file,
    ledger_inputs,
    source_inputs,
)
from worker.cli.terminal import err, phase, report_console
from worker.console import ExitCode, fail, progress_bar
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


LEDGER_SOURCE: Final = "ledger"
PlanSourceOption = Annotated[
    str,
    typer.Option(
        "--source",
        help="Where the org comes from: csv:DIR (docs/csv-format.md); hubspot or salesforce, "
        "the CRM the TERRITORY_* settings point at (docs/settings.md); or ledger, the ledger's "
        "mirror under its active rule revision (docs/worker.md).",
        metavar="SOURCE",
        show_default=False,
    ),
]
OptionalRulesOption = Annotated[
    Path | None,
    typer.Option(
        "--rules",
        help="The rule file (YAML); not with --source ledger, which plans under the active "
        "revision.",
        metavar="FILE",
        show_default=False,
    ),
]


def _print_document(document: dict[str, Any], output: OutputFormat) -> None:
    """The plan on stdout in the chosen format."""
    from worker.plan_file import write_plan_stream
    from worker.plan_views import plan_heading, plan_sections, write_assignments_csv
    from worker.tables import render_sections, sections_markdown

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


def _write_out(document: dict[str, Any], out_path: Path) -> None:
    """Write plan.json to `out_path`, or exit 2 saying why not."""
    from worker.plan_file import write_plan_file
    from worker.runtime import collector_paused

    summary = document["summary"]
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


def _refuse_with_ledger(**given: object) -> None:
    """Exit 2 naming the first option that --source ledger does not take."""
    why = {
        "--rules": "the ledger plans under its active rule revision; change it with "
        "`territory activate RULES.yaml`",
        "--allow-large-change": "a ledger run's held changes are approved with `territory "
        "approve RUN` after --save",
        "--strict": "it only concerns reading files and CRMs; the mirror was read by `territory "
        "sync`",
        "--date-format": "it only concerns reading export files",
        "--timezone": "it only concerns reading export files",
    }
    for option, value in given.items():
        if value not in (None, False):
            fail(err, f"{option}: not with --source ledger: {why[option]}", ExitCode.INVALID)


def _plan_ledger(
    as_of: str | None, out_path: Path | None, output: OutputFormat, save: bool
) -> None:
    """Plan the mirror under the active revision; with `save`, record the run."""
    from rules.plan import plan_document
    from worker.cli.run_reports import recorded_line, waiting_line
    from worker.cli.service_calls import service_errors, worker_context
    from worker.planning import PlanningError, active_rules, plan_from_ledger, require_mirror_for
    from worker.sync import sync_mirror

    day = None if as_of is None else parse_day(as_of, "--as-of")
    with service_errors():
        ctx = worker_context()
        if out_path is not None:
            try:
                check_out_file(out_path, ledger_inputs(ctx.ledger))
            except OutPathError as exc:
                fail(err, str(exc), ExitCode.INVALID)
        rules = active_rules(ctx)
        try:
            require_mirror_for(ctx, rules)
        except PlanningError:
            # As the worker does: never plan on a column of nulls, sync what the rule reads.
            err.print(
                f"the mirror lacks fields rule revision {rules.revision.revision!r} reads: a "
                f"full sync of {ctx.source()} runs first",
                highlight=False,
                soft_wrap=True,
                markup=False,
            )
            with progress_bar(err, "Full sync", total=None) as advance:
                sync_mirror(ctx, ctx.source(), full=True, progress=advance)
        with phase("Planning from the ledger's mirror"):
            run = plan_from_ledger(ctx, as_of=day, save=save)
    document = plan_document(run.plan, lazy=True)
    _print_document(document, output)
    if out_path is not None:
        _write_out(document, out_path)
    if save:
        err.print(recorded_line(run), highlight=False, soft_wrap=True, markup=False)
        waiting = waiting_line(run)
        if waiting is not None:
            fail(err, waiting, ExitCode.NEEDS_APPROVAL)
        err.print(
            f"next: `territory apply` writes what is due today (`territory changes --run "
            f"{run.run_id}` lists the run's changes)",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
    elif document["summary"]["approval"]["needs_approval"]:
        from worker.cli.run_reports import over_limits

        fail(
            err,
            f"{'; '.join(over_limits(run))}. Nothing was recorded: with --save the run is "
            "recorded and that share waits for `territory approve RUN`",
            ExitCode.NEEDS_APPROVAL,
        )


@commands.command()
def plan(
    source: PlanSourceOption,
    rules: OptionalRulesOption = None,
    as_of: AsOfOption = None,
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="Write the plan document (plan.json) here.", metavar="FILE"),
    ] = None,
    output: Annotated[
        OutputFormat,
        typer.Option("--format", help="stdout: tables, the plan JSON, assignments CSV, Markdown."),
    ] = OutputFormat.table,
    save: Annotated[
        bool,
        typer.Option(
            "--save",
            help="With --source ledger: record the run and its changes in the ledger.",
        ),
    ] = False,
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

    With --source ledger the mirror is planned under the active rule revision (no --rules), as
    of today in TERRITORY_TIMEZONE unless --as-of; --save records the run: open changes the
    plan proposes again keep their id and date, those it no longer proposes are cancelled, and
    a share of changes over its limit waits for `territory approve RUN` (exit 3); the rest is
    approved and applies on its effective date (`territory apply`). Exit 4 when the ledger
    refuses (never synced, no active revision, a full sync needed).
    """
    if source.strip() == LEDGER_SOURCE:
        _refuse_with_ledger(
            **{
                "--rules": rules,
                "--allow-large-change": allow_large_change,
                "--strict": strict,
                "--date-format": date_format,
                "--timezone": timezone,
            }
        )
        _plan_ledger(as_of, out_path, output, save)
        return
    if save:
        fail(
            err,
            "--save: only with --source ledger (run `territory sync` and `territory activate` "
            "first); a plan from files or a CRM is written with --out",
            ExitCode.INVALID,
        )
    if rules is None:
        fail(err, f"--rules: a rule file is needed with --source {source}", ExitCode.INVALID)
    _plan_fresh(
        rules, source, as_of, out_path, output, allow_large_change, strict, date_format, timezone
    )


def _plan_fresh(
    rules: Path,
    source: str,
    as_of: str | None,
    out_path: Path | None,
    output: OutputFormat,
    allow_large_change: bool,
    strict: bool,
    date_format: str | None,
    timezone: str | None,
) -> None:
    """Plan the org a rule file and a file or CRM source describe."""
    from worker.cli.fresh_plan import load_snapshot, plan_document_for
    from worker.sources import load_rule_file

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
    _print_document(document, output)
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
        _write_out(document, out_path)
