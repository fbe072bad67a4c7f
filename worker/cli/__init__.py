"""The `territory` command line: one app; each command module is registered here by name.

A command module builds a `CommandGroup` named `commands` (given a `name=`, its commands sit
under it, as in `territory sandbox serve`) and never imports this package's `__init__`.
Adding a module is one line in COMMAND_MODULES. Command modules import their heavy
dependencies inside the command functions, so `territory --help` stays instant.
"""

from __future__ import annotations

import importlib
import os
import traceback
from importlib import metadata
from pathlib import Path
from typing import Annotated, Final, NoReturn
from urllib.parse import unquote, urlsplit

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


# TERRITORY_* variables whose values are secret, or may hold one (a URL's password).
_SECRET_WORDS: Final = ("TOKEN", "PASSWORD", "SESSION", "SECRET", "URL", "KEY")


def _secrets() -> set[str]:
    """Values of TERRITORY_* variables that must never be printed, and the passwords in them."""
    found: set[str] = set()
    for name, value in os.environ.items():
        if not name.startswith("TERRITORY_") or not any(w in name for w in _SECRET_WORDS):
            continue
        found.add(value.strip())
        try:
            parts = urlsplit(value.strip())
            password = parts.password
        except ValueError:
            password = None
        if password:
            found.update({password, unquote(password)})
    return {s for s in found if len(s) >= 4}


def _summary(exc: BaseException) -> str:
    """The first line of `exc`'s message with every secret setting's value masked: a bug is
    still one line (a database error quoted its statement over many lines) and never prints a
    token or a password."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    for secret in sorted(_secrets(), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


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
            f"internal error: {type(exc).__name__}: {_summary(exc)} (at {Path(last.filename).name}:"
            f"{last.lineno}). This is a bug; please report it with the command you ran.",
            ExitCode.INTERNAL,
        )
    raise SystemExit(ExitCode.DONE)
