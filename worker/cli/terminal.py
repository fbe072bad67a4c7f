"""Where commands print: reports on stdout, progress and diagnostics on stderr.

Keeping the two apart lets `--format json` and `--format csv` pipe cleanly.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

# No emoji codes: ":smile:" in a path, an id or a CRM value is text, as the user wrote it.
out = Console(emoji=False)
err = Console(stderr=True, emoji=False)
# Piped reports are laid out this wide: the coverage map has a dozen columns.
REPORT_WIDTH = 120


def report_console() -> Console:
    """`out` on a terminal; otherwise a console at least REPORT_WIDTH wide on stdout."""
    if out.is_terminal:
        return out
    return Console(
        file=sys.stdout, width=max(out.width, REPORT_WIDTH), highlight=False, emoji=False
    )


@contextmanager
def phase(label: str) -> Iterator[None]:
    """Show a spinner with `label` on a terminal while a long step runs; silent otherwise."""
    if not err.is_terminal:
        yield
        return
    with err.status(label):
        yield
