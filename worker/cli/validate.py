"""`territory validate` and `territory schema`: the rule file, alone or against the org."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from worker.cli.command_group import CommandGroup
from worker.cli.options import DateFormatOption, SourceOption, StrictOption, TimezoneOption
from worker.cli.terminal import err, out
from worker.console import ExitCode, fail

commands = CommandGroup()


@commands.command()
def validate(
    file: Annotated[
        Path,
        typer.Argument(help="The rule file (YAML).", metavar="FILE", show_default=False),
    ],
    source: SourceOption = None,
    strict: StrictOption = False,
    date_format: DateFormatOption = None,
    timezone: TimezoneOption = None,
) -> None:
    """Check a rule file; with --source, check it against the org's data too.

    Exit 0 when valid (warnings allowed), 2 when invalid or, with --strict, on any warning.
    Every message names FILE:LINE:COL (or CSV file and row) and what was expected.
    """
    from rules.inert import inert_settings
    from worker.sources import SourceError, load_rule_file, load_source, source_exit_code

    loaded = load_rule_file(file, err)
    # Settings written but not acted on yet: said plainly, never counted by --strict.
    for notice in inert_settings(loaded):
        err.print(str(notice), highlight=False, soft_wrap=True, markup=False)
    rule = loaded.rule
    summary = (
        f"{file}: valid (version {rule.version}, revision {rule.revision!r}, "
        f"{len(rule.teams)} teams, {sum(len(t.members) for t in rule.teams)} reps, "
        f"{len(rule.routing.rows)} routing rows, {len(rule.named_accounts)} named accounts)"
    )
    if source is None:
        out.print(summary, highlight=False, soft_wrap=True, markup=False)
        return
    try:
        loaded_source = load_source(
            source, loaded, strict=strict, date_format=date_format, timezone=timezone, console=err
        )
    except SourceError as exc:
        fail(err, str(exc), source_exit_code(exc))
    warnings = loaded_source.report(err)
    out.print(summary, highlight=False, soft_wrap=True, markup=False)
    out.print(loaded_source.summary_line(), highlight=False, soft_wrap=True, markup=False)
    if warnings and strict:
        fail(err, f"{warnings} warning(s) with --strict", ExitCode.INVALID)


@commands.command()
def schema() -> None:
    """Print the JSON Schema of the rule file (version 1)."""
    from rules.schema import RuleFile

    document = RuleFile.model_json_schema(by_alias=True)
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "territory-sync rule file"
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
