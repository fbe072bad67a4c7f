"""The `territory` command line: one app; each command module is registered here by name.

A command module builds a `CommandGroup` named `commands` (given a `name=`, its commands sit
under it, as in `territory sandbox serve`) and never imports this package's `__init__`.
Adding a module is one line in COMMAND_MODULES. Command modules import their heavy
dependencies inside the command functions, so `territory --help` stays instant.
"""

from __future__ import annotations

import importlib
from typing import Final, NoReturn

from worker.cli.command_group import CommandGroup
from worker.cli.terminal import err
from worker.console import ExitCode

# Modules of this package that declare commands, in the order `territory --help` lists them.
COMMAND_MODULES: Final = ("validate", "sample", "plan", "explain", "diff", "sandbox")


def command_group(module_name: str) -> CommandGroup:
    """The `commands` a module of this package declares."""
    commands = importlib.import_module(f"{__name__}.{module_name}").commands
    if not isinstance(commands, CommandGroup):
        raise TypeError(f"{__name__}.{module_name}.commands is not a CommandGroup")
    return commands


app = CommandGroup(
    name="territory", help="Keep a B2B sales territory plan alive inside HubSpot or Salesforce."
)
for _module_name in COMMAND_MODULES:
    app.add_typer(command_group(_module_name))


def main() -> NoReturn:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        raise SystemExit(ExitCode.INTERRUPTED) from None
    raise SystemExit(ExitCode.DONE)
