"""Options and arguments the ledger commands share (runs, changes, who acts)."""

from __future__ import annotations

import re
from typing import Annotated, Final

import typer

from worker.cli.terminal import err
from worker.console import ExitCode, fail

ActorOption = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="Who acts, as the ledger records it; default: your login name at this host.",
        metavar="NAME",
        show_default=False,
    ),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Show what would happen; change nothing.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
RunArgument = Annotated[
    str,
    typer.Argument(
        help="A run id, as `territory runs` lists it.", metavar="RUN", show_default=False
    ),
]
RunOption = Annotated[
    str | None,
    typer.Option("--run", help="Only this run's changes.", metavar="RUN", show_default=False),
]

_RUN_ID: Final = re.compile(r"[0-9]{1,18}")
# The length of rules.changes.change_id's ids (hex digits); a test holds the two equal.
CHANGE_ID_CHARS: Final = 24
# A --limit past what SQL takes (64 bits) means "all": no ledger holds that many rows.
ALL_ROWS: Final = 2**62


def parse_run_id(value: str, name: str = "RUN") -> int:
    """A run id as given on the command line, or exit 2 saying what was expected."""
    text = value.strip()
    if _RUN_ID.fullmatch(text) is None or int(text) == 0:
        fail(
            err,
            f"{name}: expected a run id (a positive number that `territory runs` lists), "
            f"got {value!r}",
            ExitCode.INVALID,
        )
    return int(text)


def parse_actor(value: str | None) -> str | None:
    """The `--as` name without surrounding spaces (None: the default), or exit 2: the ledger
    records it and messages and tables print it back, so it is one line of printable text."""
    from worker.context import ACTOR_MAX_CHARS  # the ledger's limit, loaded with it

    if value is None:
        return None
    name = value.strip()
    if not name or len(name) > ACTOR_MAX_CHARS or not name.isprintable():
        fail(
            err,
            f"--as: expected a name of 1 to {ACTOR_MAX_CHARS} printable characters on one line "
            "(no line break or control character); nothing was done",
            ExitCode.INVALID,
        )
    return name
