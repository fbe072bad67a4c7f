"""`territory sample`: a synthetic org (CSV) and a matching rules.yaml, for demos and trials."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from worker.cli.command_group import CommandGroup
from worker.cli.out_paths import OutPathError, check_out_directory
from worker.cli.terminal import err, out
from worker.console import ExitCode, fail, progress_bar

commands = CommandGroup()
# Ten million companies: far past any benchmark, well inside the names the generator makes.
MAX_ACCOUNTS = 10_000_000
# Reps the generated rules.yaml can list within the rule loader's 100,000 values (20,000 did
# not fit).
MAX_REPS = 10_000


class FlavourChoice(enum.StrEnum):
    """How the sample spells its values: canonical, or a CRM's own vocabulary."""

    canonical = "canonical"
    hubspot = "hubspot"
    salesforce = "salesforce"


@commands.command()
def sample(
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out", help="A new or empty directory to write the org into.", metavar="DIR"
        ),
    ],
    accounts: Annotated[int, typer.Option(min=1, help="Number of companies.", metavar="N")] = 2_000,
    reps: Annotated[int, typer.Option(min=2, help="Number of sales reps.", metavar="N")] = 20,
    seed: Annotated[int, typer.Option(min=0, help="Same seed, same bytes.", metavar="N")] = 7,
    force: Annotated[
        bool,
        typer.Option("--force", help="Write into a directory that is not empty."),
    ] = False,
    flavour: Annotated[
        FlavourChoice,
        typer.Option(
            help="canonical, hubspot or salesforce: canonical values, or that CRM's own "
            "vocabulary mapped through `values:` in the generated rules.yaml.",
            metavar="FLAVOUR",
        ),
    ] = FlavourChoice.canonical,
) -> None:
    """Write a realistic synthetic org (CSV) and a matching rules.yaml.

    --out must be a new or empty directory; with --force, the sample's files in a directory
    that holds others are replaced and the others are left as they are.
    """
    from sandbox.sample import DEFAULT_AS_OF, write_sample
    from sandbox.sample.files import FILES

    for option, given, most in (("--accounts", accounts, MAX_ACCOUNTS), ("--reps", reps, MAX_REPS)):
        if given > most:
            fail(err, f"{option} {given}: at most {most:,}", ExitCode.INVALID)
    try:
        check_out_directory(out_dir, force=force, names=FILES)
    except OutPathError as exc:
        fail(err, str(exc), ExitCode.INVALID)

    with progress_bar(err, "Writing sample org", total=accounts) as advance:
        result = write_sample(
            out_dir,
            accounts=accounts,
            reps=reps,
            seed=seed,
            flavour=flavour.value,
            progress=advance,
        )
    out.print(
        f"Wrote {result.accounts:,} companies, {result.owners:,} owners "
        f"({result.inactive_owners} inactive), {result.activities:,} activities and "
        f"rules.yaml to {out_dir}; the org is as of {DEFAULT_AS_OF.isoformat()}: plan it with "
        f"--as-of {DEFAULT_AS_OF.isoformat()}",
        highlight=False,
        soft_wrap=True,
        markup=False,
    )
