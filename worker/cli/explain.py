"""`territory explain`: why one account goes where it goes, from a stored or a fresh plan."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from worker.cli.command_group import CommandGroup
from worker.cli.options import (
    AsOfOption,
    DateFormatOption,
    SourceOption,
    StrictOption,
    TimezoneOption,
    parse_as_of,
)
from worker.cli.terminal import err, report_console
from worker.console import ExitCode, fail

commands = CommandGroup()


@commands.command()
def explain(
    account_id: Annotated[
        str,
        typer.Argument(help="The account's CRM id.", metavar="ACCOUNT_ID", show_default=False),
    ],
    plan_path: Annotated[
        Path | None,
        typer.Option(
            "--plan", help="A plan.json written by `territory plan --out`.", metavar="FILE"
        ),
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option("--rules", help="Plan afresh with this rule file.", metavar="FILE"),
    ] = None,
    source: SourceOption = None,
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
    from worker.cli.fresh_plan import load_snapshot, plan_document_for
    from worker.explain_view import explain_account, render_explanation
    from worker.plan_file import PlanFileError, read_plan_file, row_line
    from worker.sources import load_rule_file

    if plan_path is not None:
        if rules is not None or source is not None or as_of is not None:
            fail(
                err,
                "--plan reads a stored plan; --rules, --source and --as-of plan afresh: "
                "give one or the other",
                ExitCode.INVALID,
            )
        try:
            document = read_plan_file(plan_path)
        except PlanFileError as exc:
            fail(err, str(exc), ExitCode.INVALID)
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
            ExitCode.INVALID,
        )
    try:
        explanation = explain_account(document, account_id)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        # A plan whose digest holds but whose rows lack the documented shape: a writer's bug.
        where = "the plan"
        if plan_path is not None:
            line = row_line(plan_path, "assignments", "account_id", account_id)
            where = f"{plan_path}:{line}" if line else str(plan_path)
        fail(
            err,
            f"{where}: cannot explain account {account_id!r}: its rows are not as "
            f"docs/plan-format.md describes ({type(exc).__name__}: {exc})",
            ExitCode.INVALID,
        )
    if explanation is None:
        fail(
            err,
            f"account {account_id!r} is not in the plan ({len(document['assignments']):,} "
            f"accounts as of {document['as_of']}); account ids are the CRM record ids",
            ExitCode.INVALID,
        )
    if as_json:
        sys.stdout.write(json.dumps(explanation, ensure_ascii=False, indent=2) + "\n")
        return
    render_explanation(report_console(), explanation, None if rules is None else str(rules))
