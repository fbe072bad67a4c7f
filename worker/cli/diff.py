"""`territory diff`: what-if, the same org planned under another rule file or without reps."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
from worker.cli.terminal import err, report_console
from worker.console import ExitCode, fail

if TYPE_CHECKING:
    from rules.domain import Snapshot
    from rules.loader import LoadedRules

commands = CommandGroup()


def without_reps(snapshot: Snapshot, emails: list[str]) -> Snapshot:
    """A copy of `snapshot` whose owners with these emails are inactive; exit 2 on unknown."""
    from rules.domain import Snapshot

    wanted = {email.strip().lower() for email in emails}
    known = {owner.email.lower() for owner in snapshot.owners}
    unknown = sorted(wanted - known)
    if unknown:
        fail(
            err,
            f"--without: no owner with the email {', '.join(unknown)} in the source's owners",
            ExitCode.INVALID,
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


def reads_source_alike(old: LoadedRules, new: LoadedRules) -> bool:
    """Whether both rule files read the same CSV into the same snapshot.

    The loader applies `fields:`, `values:` and the intent signal names; the rest of a rule
    file only matters to the engine.
    """
    a, b = old.rule, new.rule
    return (a.fields, a.values, a.intent.signals) == (b.fields, b.values, b.intent.signals)


@commands.command()
def diff(
    rules: RulesOption,
    source: RequiredSourceOption,
    against: Annotated[
        Path | None,
        typer.Option(
            "--against", help="The new rule file (default: --rules itself).", metavar="FILE"
        ),
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
    show: Annotated[
        int,
        typer.Option(
            "--show", min=0, help="Owner changes the table lists (--json lists all).", metavar="N"
        ),
    ] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the diff as JSON.")] = False,
    strict: StrictOption = False,
    date_format: DateFormatOption = None,
    timezone: TimezoneOption = None,
) -> None:
    """What-if: plan the same org with --rules and with --against (and/or --without reps) and
    show the accounts that would change owner, per-rep deltas, balance and gap before/after.
    """
    from worker.cli.fresh_plan import load_snapshot, plan_document_for
    from worker.diff_view import diff_heading, diff_sections, plan_diff
    from worker.sources import load_rule_file
    from worker.tables import render_sections

    leaving = list(without or [])
    if against is None and not leaving:
        fail(
            err,
            "nothing to compare: give --against NEW_RULES and/or --without REP_EMAIL",
            ExitCode.INVALID,
        )
    day = parse_as_of(as_of)
    old_loaded = load_rule_file(rules, err)
    new_loaded = old_loaded if against is None else load_rule_file(against, err)
    old_snapshot = load_snapshot(
        source, old_loaded, strict=strict, date_format=date_format, timezone=timezone
    )
    new_snapshot = old_snapshot
    if not reads_source_alike(old_loaded, new_loaded):
        # The new rule maps values or reads signals differently: the same files, read its way.
        new_snapshot = load_snapshot(
            source, new_loaded, strict=strict, date_format=date_format, timezone=timezone
        )
    if leaving:
        new_snapshot = without_reps(new_snapshot, leaving)
    old_document = plan_document_for(old_loaded, old_snapshot, day)
    new_document = plan_document_for(new_loaded, new_snapshot, day)
    changes = plan_diff(old_document, new_document, without=sorted({e.lower() for e in leaving}))
    if as_json:
        # Machine-readable output is always complete: --show shortens the table only.
        sys.stdout.write(json.dumps(changes, ensure_ascii=False, indent=2) + "\n")
        return
    render_sections(report_console(), diff_heading(changes), diff_sections(changes, shown=show))
