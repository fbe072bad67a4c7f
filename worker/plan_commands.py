"""`territory plan`, `territory explain` and `territory diff` (registered on the CLI app).

Exit codes: 0 done; 2 a bad argument, rule file, source or plan file (nothing written);
3 the plan needs approval (`--allow-large-change`); 1 an internal error. No traceback is
ever printed. Reports go to stdout, progress and diagnostics to stderr, so `--format json`
and `--format csv` pipe cleanly.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from rules.domain import Snapshot
from rules.loader import LoadedRules
from worker.cli import DateFormatOption, StrictOption, TimezoneOption, app, err, out
from worker.console import fail
from worker.diff_view import diff_heading, diff_sections, plan_diff
from worker.explain_view import explain_account, render_explanation
from worker.plan_file import PlanFileError, read_plan_file, write_plan_file, write_plan_stream
from worker.plan_views import plan_heading, plan_sections, write_assignments_csv
from worker.runtime import collector_paused
from worker.sources import SourceError, load_rule_file, load_source
from worker.tables import percent, render_sections, sections_markdown

EXIT_INTERNAL = 1
EXIT_INVALID = 2
EXIT_NEEDS_APPROVAL = 3
# Piped reports are laid out this wide: the coverage map has a dozen columns.
REPORT_WIDTH = 120


class OutputFormat(enum.StrEnum):
    """What `territory plan` prints on stdout."""

    table = "table"
    json = "json"
    csv = "csv"
    md = "md"


RulesOption = Annotated[
    Path,
    typer.Option("--rules", help="The rule file (YAML).", show_default=False),
]
RequiredSourceOption = Annotated[
    str,
    typer.Option(
        "--source",
        help="Where the org comes from: csv:DIR (see docs/csv-format.md), or hubspot or "
        "salesforce through the TERRITORY_* settings (see docs/settings.md).",
        metavar="csv:DIR|hubspot|salesforce",
        show_default=False,
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Plan as of this day (YYYY-MM-DD); default: today in UTC.",
        metavar="DATE",
        show_default=False,
    ),
]


def parse_as_of(value: str | None) -> date:
    """The --as-of day; the CLI reads the clock here so the engine never does."""
    if value is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(
            err,
            f"--as-of: expected a date YYYY-MM-DD such as 2027-01-04, got {value!r}",
            EXIT_INVALID,
        )


def report_console() -> Console:
    """`out` on a terminal; otherwise a console at least REPORT_WIDTH wide on stdout."""
    if out.is_terminal:
        return out
    return Console(file=sys.stdout, width=max(out.width, REPORT_WIDTH), highlight=False)


@contextmanager
def phase(label: str) -> Iterator[None]:
    """Show a spinner with `label` on a terminal while a long step runs; silent otherwise."""
    if not err.is_terminal:
        yield
        return
    with err.status(label):
        yield


def load_snapshot(
    source: str,
    loaded: LoadedRules,
    *,
    strict: bool,
    date_format: str | None,
    timezone: str | None,
) -> Snapshot:
    """Load `source` for `loaded`, report row issues and rule warnings, or exit 2."""
    try:
        loaded_source = load_source(
            source, loaded, strict=strict, date_format=date_format, timezone=timezone, console=err
        )
    except SourceError as exc:
        fail(err, str(exc), EXIT_INVALID)
    warnings = loaded_source.report(err)
    if warnings and strict:
        fail(err, f"{warnings} warning(s) with --strict; nothing was planned", EXIT_INVALID)
    return loaded_source.snapshot


def plan_document_for(loaded: LoadedRules, snapshot: Snapshot, as_of: date) -> dict[str, Any]:
    """Run the engine and return the plan document, or exit 1 without a traceback."""
    from rules.engine import plan_territories  # noqa: PLC0415 - numpy: keep --help instant
    from rules.plan import plan_document  # noqa: PLC0415

    try:
        with phase(f"Planning {len(snapshot.accounts):,} accounts"), collector_paused():
            # Lazy rows: a million-account document is rendered row by row when written.
            return plan_document(plan_territories(loaded, snapshot, as_of), lazy=True)
    except Exception as exc:  # noqa: BLE001 - an engine bug must not print a traceback
        fail(
            err,
            f"planning failed: {type(exc).__name__}: {exc}. This is a bug; please report it "
            "with the rule file and the --as-of date.",
            EXIT_INTERNAL,
        )


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


@app.command()
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
    day = parse_as_of(as_of)
    loaded = load_rule_file(rules, err)
    snapshot = load_snapshot(
        source, loaded, strict=strict, date_format=date_format, timezone=timezone
    )
    document = plan_document_for(loaded, snapshot, day)
    if output is OutputFormat.table:
        render_sections(report_console(), plan_heading(document), plan_sections(document))
    elif output is OutputFormat.json:
        write_plan_stream(document, sys.stdout)
    elif output is OutputFormat.csv:
        write_assignments_csv(document, sys.stdout)
    else:
        sys.stdout.write(sections_markdown(plan_heading(document), plan_sections(document)))
    summary = document["summary"]
    if summary["approval"]["needs_approval"]:
        if not allow_large_change:
            fail(err, approval_message(summary, out_path), EXIT_NEEDS_APPROVAL)
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
            fail(err, f"{out_path}: cannot write the plan: {exc.strerror}", EXIT_INVALID)
        err.print(
            f"Wrote {out_path} ({summary['accounts']:,} accounts, {summary['changes']:,} changes)",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )


@app.command()
def explain(
    account_id: Annotated[str, typer.Argument(help="The account's CRM id.", show_default=False)],
    plan_path: Annotated[
        Path | None,
        typer.Option(
            "--plan", help="A plan.json written by `territory plan --out`.", metavar="FILE"
        ),
    ] = None,
    rules: Annotated[
        Path | None, typer.Option("--rules", help="Plan afresh with this rule file.")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="With --rules: the org, csv:DIR, hubspot or salesforce.",
            metavar="csv:DIR|hubspot|salesforce",
        ),
    ] = None,
    as_of: AsOfOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the explanation as JSON.")] = False,
    strict: StrictOption = False,
    date_format: DateFormatOption = None,
    timezone: TimezoneOption = None,
) -> None:
    """Explain one account: inputs, fit row, intent signal, potential and tier, routing row and
    its line, the candidates and why the chosen rep won, the change and its effective date.

    Reads a stored plan (--plan) or plans afresh (--rules and --source); both read the same
    decision trace, so the explanation always agrees with the plan.
    """
    if plan_path is not None:
        if rules is not None or source is not None or as_of is not None:
            fail(
                err,
                "--plan reads a stored plan; --rules, --source and --as-of plan afresh: "
                "give one or the other",
                EXIT_INVALID,
            )
        try:
            document = read_plan_file(plan_path)
        except PlanFileError as exc:
            fail(err, str(exc), EXIT_INVALID)
    elif rules is not None and source is not None:
        day = parse_as_of(as_of)
        loaded = load_rule_file(rules, err)
        snapshot = load_snapshot(
            source, loaded, strict=strict, date_format=date_format, timezone=timezone
        )
        document = plan_document_for(loaded, snapshot, day)
    else:
        fail(
            err,
            "give either --plan FILE, or --rules FILE with --source csv:DIR|hubspot|salesforce",
            EXIT_INVALID,
        )
    try:
        explanation = explain_account(document, account_id)
    except (KeyError, TypeError, ValueError) as exc:
        # A hand-edited or foreign file that has the top-level keys but not their shape.
        fail(
            err,
            f"{plan_path or 'the plan'}: not a plan document as docs/plan-format.md describes "
            f"({exc!r})",
            EXIT_INVALID,
        )
    if explanation is None:
        fail(
            err,
            f"account {account_id!r} is not in the plan ({len(document['assignments']):,} "
            f"accounts as of {document['as_of']}); account ids are the CRM record ids",
            EXIT_INVALID,
        )
    if as_json:
        sys.stdout.write(json.dumps(explanation, ensure_ascii=False, indent=2) + "\n")
        return
    render_explanation(report_console(), explanation, None if rules is None else str(rules))


def without_reps(snapshot: Snapshot, emails: list[str]) -> Snapshot:
    """A copy of `snapshot` whose owners with these emails are inactive; exit 2 on unknown."""
    wanted = {email.strip().lower() for email in emails}
    known = {owner.email.lower() for owner in snapshot.owners}
    unknown = sorted(wanted - known)
    if unknown:
        fail(
            err,
            f"--without: no owner with the email {', '.join(unknown)} in the source's owners",
            EXIT_INVALID,
        )
    # Owners are frozen; the copy shares the accounts, which the engine never mutates.
    return Snapshot(
        accounts=snapshot.accounts,
        owners=[
            dataclasses.replace(o, active=False) if o.email.lower() in wanted else o
            for o in snapshot.owners
        ],
        owner_activity=snapshot.owner_activity,
    )


def _reads_source_alike(old: LoadedRules, new: LoadedRules) -> bool:
    """Whether both rule files read the same CSV into the same snapshot.

    The loader applies `fields:`, `values:` and the intent signal names; the rest of a rule
    file only matters to the engine.
    """
    a, b = old.rule, new.rule
    return (a.fields, a.values, a.intent.signals) == (b.fields, b.values, b.intent.signals)


@app.command()
def diff(
    rules: RulesOption,
    source: RequiredSourceOption,
    against: Annotated[
        Path | None,
        typer.Option("--against", help="The new rule file (default: --rules itself)."),
    ] = None,
    without: Annotated[
        list[str] | None,
        typer.Option(
            "--without",
            help="Plan the new side as if this rep (owner email) had left; repeatable.",
            metavar="REP_EMAIL",
        ),
    ] = None,
    as_of: AsOfOption = None,
    show: Annotated[int, typer.Option("--show", min=0, help="Owner changes to list.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the diff as JSON.")] = False,
    strict: StrictOption = False,
    date_format: DateFormatOption = None,
    timezone: TimezoneOption = None,
) -> None:
    """What-if: plan the same org with --rules and with --against (and/or --without reps) and
    show the accounts that would change owner, per-rep deltas, balance and gap before/after.
    """
    leaving = list(without or [])
    if against is None and not leaving:
        fail(
            err,
            "nothing to compare: give --against NEW_RULES and/or --without REP_EMAIL",
            EXIT_INVALID,
        )
    day = parse_as_of(as_of)
    old_loaded = load_rule_file(rules, err)
    new_loaded = old_loaded if against is None else load_rule_file(against, err)
    old_snapshot = load_snapshot(
        source, old_loaded, strict=strict, date_format=date_format, timezone=timezone
    )
    new_snapshot = old_snapshot
    if not _reads_source_alike(old_loaded, new_loaded):
        # The new rule maps values or reads signals differently: the same files, read its way.
        new_snapshot = load_snapshot(
            source, new_loaded, strict=strict, date_format=date_format, timezone=timezone
        )
    if leaving:
        new_snapshot = without_reps(new_snapshot, leaving)
    old_document = plan_document_for(old_loaded, old_snapshot, day)
    new_document = plan_document_for(new_loaded, new_snapshot, day)
    changes = plan_diff(
        old_document, new_document, shown=show, without=sorted({e.lower() for e in leaving})
    )
    if as_json:
        sys.stdout.write(json.dumps(changes, ensure_ascii=False, indent=2) + "\n")
        return
    render_sections(report_console(), diff_heading(changes), diff_sections(changes))
