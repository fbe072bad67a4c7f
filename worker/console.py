"""Terminal output shared by commands: fatal errors without tracebacks, progress bars."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text


class ExitCode(enum.IntEnum):
    """What a `territory` command's exit status means."""

    DONE = 0
    INTERNAL = 1  # a bug: reported in one line, never as a traceback
    INVALID = 2  # a bad argument, rule file, source or plan file; nothing was written
    NEEDS_APPROVAL = 3  # the plan's changes exceed the rule's approval limits
    REFUSED = 4  # the ledger refuses: not ready, another CRM's, no such run or change, paused
    CRM_FAILED = 5  # a CRM call failed; what was stored is kept and the next run resumes
    INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


def fail(console: Console, message: str, code: int) -> NoReturn:
    """Print `message` as an error (no traceback) and exit with `code`."""
    # Text, not markup: a message quotes paths and ids the user gave, and "[/x]" in one would
    # be a closing tag (a crash) and ":smile:" an emoji.
    console.print(Text.assemble(("error:", "bold red"), " ", message), soft_wrap=True)
    raise SystemExit(code)


@contextmanager
def progress_bar(
    console: Console, label: str, total: int | None
) -> Iterator[Callable[[int], None]]:
    """Yield a callback that advances a progress bar by n; silent when not a terminal."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)
