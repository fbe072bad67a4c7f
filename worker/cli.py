"""The `territory` command line: validate rule files, export the schema, generate sample orgs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from worker.console import fail, progress_bar
from worker.sources import SourceError, load_rule_file, load_source

EXIT_INVALID = 2

app = typer.Typer(
    name="territory",
    help="Keep a B2B sales territory plan alive inside HubSpot or Salesforce.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
out = Console()
err = Console(stderr=True)

SourceOption = Annotated[
    str | None,
    typer.Option(
        "--source",
        help="Where the org comes from: csv:DIR reads DIR/companies.csv, DIR/owners.csv and "
        "optional DIR/activities.csv (see docs/csv-format.md); hubspot or salesforce reads the "
        "CRM that the TERRITORY_* settings point at (see docs/settings.md).",
        metavar="csv:DIR|hubspot|salesforce",
    ),
]
StrictOption = Annotated[
    bool,
    typer.Option(
        "--strict", help="Refuse the run on any bad row or warning instead of skipping it."
    ),
]
DateFormatOption = Annotated[
    str | None,
    typer.Option(
        "--date-format",
        help="strptime format of dates in CRM export files, e.g. '%m/%d/%Y %H:%M'.",
    ),
]
TimezoneOption = Annotated[
    str | None,
    typer.Option(
        "--timezone", help="IANA zone of naive datetimes in export files, e.g. Europe/Berlin."
    ),
]


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="The rule file (YAML).", show_default=False)],
    source: SourceOption = None,
    strict: StrictOption = False,
    date_format: DateFormatOption = None,
    timezone: TimezoneOption = None,
) -> None:
    """Check a rule file; with --source, check it against the org's data too.

    Exit 0 when valid (warnings allowed), 2 when invalid or, with --strict, on any warning.
    Every message names FILE:LINE:COL (or CSV file and row) and what was expected.
    """
    loaded = load_rule_file(file, err)
    rule = loaded.rule
    summary = (
        f"{file}: valid (version {rule.version}, revision {rule.revision!r}, "
        f"{len(rule.teams)} teams, {sum(len(t.members) for t in rule.teams)} reps, "
        f"{len(rule.routing.rows)} routing rows, {len(rule.named_accounts)} named accounts)"
    )
    if source is None:
        out.print(summary, highlight=False, soft_wrap=True)
        return
    try:
        loaded_source = load_source(
            source, loaded, strict=strict, date_format=date_format, timezone=timezone, console=err
        )
    except SourceError as exc:
        fail(err, str(exc), EXIT_INVALID)
    warnings = loaded_source.report(err)
    out.print(summary, highlight=False, soft_wrap=True)
    out.print(loaded_source.summary_line(), highlight=False, soft_wrap=True)
    if warnings and strict:
        fail(err, f"{warnings} warning(s) with --strict", EXIT_INVALID)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the rule file (version 1)."""
    from rules.schema import RuleFile

    document = RuleFile.model_json_schema(by_alias=True)
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "territory-sync rule file"
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")


@app.command()
def sample(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Directory to write the org into (created).")
    ],
    accounts: Annotated[int, typer.Option(min=1, help="Number of companies.")] = 2_000,
    reps: Annotated[int, typer.Option(min=2, help="Number of sales reps.")] = 20,
    seed: Annotated[int, typer.Option(help="Same seed, same bytes.")] = 7,
    flavour: Annotated[
        str,
        typer.Option(
            help="canonical values, or a CRM's own vocabulary (hubspot, salesforce) mapped "
            "through `values:` in the generated rules.yaml."
        ),
    ] = "canonical",
) -> None:
    """Write a realistic synthetic org (CSV) and a matching rules.yaml."""
    from sandbox.sample import write_sample

    if flavour not in ("canonical", "hubspot", "salesforce"):
        fail(err, f"--flavour: expected canonical, hubspot or salesforce, got {flavour!r}", 2)
    with progress_bar(err, "Writing sample org", total=accounts) as advance:
        result = write_sample(
            out_dir,
            accounts=accounts,
            reps=reps,
            seed=seed,
            flavour=flavour,  # type: ignore[arg-type]
            progress=advance,
        )
    out.print(
        f"Wrote {result.accounts:,} companies, {result.owners:,} owners "
        f"({result.inactive_owners} inactive), {result.activities:,} activities and "
        f"rules.yaml to {out_dir}",
        highlight=False,
        soft_wrap=True,
    )


def main() -> NoReturn:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        raise SystemExit(130) from None
    raise SystemExit(0)


# Commands that live in their own modules register themselves on `app` when imported.
from worker import plan_commands, sandbox_commands  # noqa: E402, F401  (registration, after `app`)
