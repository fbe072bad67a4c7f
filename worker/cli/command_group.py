"""How every `territory` command is declared and how its `--help` reads.

Each command module builds one `CommandGroup` and declares its commands on it; the package
registers the group on the app in one line. The command classes fix two things in how Typer
prints help: a flag is shown as a flag (no `<bool>` value), and a docstring's hard line
breaks inside a paragraph are joined, so the terminal rewraps whole sentences at any width.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

Function = TypeVar("Function", bound=Callable[..., Any])


def joined_paragraphs(text: str | None) -> str | None:
    """`text` with the line breaks inside each paragraph replaced by spaces."""
    if text is None:
        return None
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def _flags_without_type(params: list[Any]) -> list[Any]:
    # A flag takes no value, so the type column stays empty instead of reading `<bool>`.
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
    return params


class HelpCommand(TyperCommand):
    """A command whose help shows flags as flags and paragraphs unbroken."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = joined_paragraphs(self.help)

    def get_params(self, ctx: Any) -> list[Any]:
        return _flags_without_type(super().get_params(ctx))


class HelpGroup(TyperGroup):
    """A group of commands whose own help reads like `HelpCommand`'s."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = joined_paragraphs(self.help)

    def get_params(self, ctx: Any) -> list[Any]:
        return _flags_without_type(super().get_params(ctx))


class CommandGroup(typer.Typer):
    """The commands of one module; `worker.cli` adds it to the app (merged, or under `name`)."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(
            cls=HelpGroup,
            no_args_is_help=True,
            add_completion=False,
            pretty_exceptions_enable=False,
            rich_markup_mode="rich",
            **settings,
        )

    def command(self, name: str | None = None, **settings: Any) -> Callable[[Function], Function]:
        """Declare a command (see `typer.Typer.command`) that prints help the house way."""
        settings.setdefault("cls", HelpCommand)
        return super().command(name, **settings)
