"""The `territory` command line: one app; each command module is registered here by name.

A command module builds a `CommandGroup` named `commands` (given a `name=`, its commands sit
under it, as in `territory sandbox serve`) and never imports this package's `__init__`.
Adding a module is one line in COMMAND_MODULES. Command modules import their heavy
dependencies inside the command functions, so `territory --help` stays instant.
"""

from __future__ import annotations

import importlib
import traceback
from importlib import metadata
from pathlib import Path
from typing import Annotated, Final, NoReturn

import typer

from worker.cli.command_group import CommandGroup
from worker.cli.terminal import err, out
from worker.console import ExitCode, fail

DISTRIBUTION: Final = "territory-sync"
# Modules of this package that declare commands, in the order `territory --help` lists them.
COMMAND_MODULES: Final = (
    "validate",
    "sample",
    "plan",
    "explain",
    "diff",
    "sandbox",
    "sync",
    "activate",
    "runs",
    "changes",
    "decisions",
    "apply",
    "rollback",
    "depart",
    "db",
    "ledger",
    "worker",
)


def command_group(module_name: str) -> CommandGroup:
    """The `commands` a module of this package declares."""
    commands = importlib.import_module(f"{__name__}.{module_name}").commands
    if not isinstance(commands, CommandGroup):
        raise TypeError(f"{__name__}.{module_name}.commands is not a CommandGroup")
    return commands


def version_text() -> str:
    """'territory-sync 0.1.0': the installed distribution's name and version."""
    try:
        return f"{DISTRIBUTION} {metadata.version(DISTRIBUTION)}"
    except metadata.PackageNotFoundError:
        return f"{DISTRIBUTION} (not installed: run `make install`)"


def _print_version(wanted: bool) -> None:
    if wanted:
        out.print(version_text(), highlight=False)
        raise typer.Exit


app = CommandGroup(name="territory")


@app.callback()
def territory(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", is_eager=True, callback=_print_version
        ),
    ] = False,
) -> None:
    """Keep a B2B sales territory plan alive inside HubSpot or Salesforce."""


for _module_name in COMMAND_MODULES:
    app.add_typer(command_group(_module_name))


def main() -> NoReturn:
    """Console-script entry point: exit codes as `ExitCode` says, and never a traceback."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        raise SystemExit(ExitCode.INTERRUPTED) from None
    except Exception as exc:  # noqa: BLE001 - a bug is reported in one line, as every error is
        last = traceback.extract_tb(exc.__traceback__)[-1]
        fail(
            err,
            f"internal error: {type(exc).__name__}: {exc} (at {Path(last.filename).name}:"
            f"{last.lineno}). This is a bug; please report it with the command you ran.",
            ExitCode.INTERNAL,
        )
    raise SystemExit(ExitCode.DONE)
