"""The lines under a CSV reader, held until their records are known whole, to read again.

A quote left open makes the csv module read every line after it, up to the next quote, as one
cell. The lines of the current records are kept (a `tee` of the file costs nothing per line
in Python), so when a record turns out broken its first line is dropped and the lines it
swallowed are read again as rows of their own.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator
from itertools import chain, islice, tee
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _csv import Reader  # what csv.reader returns; the csv module does not re-export it


class LineSource:
    """A csv reader over `handle` that can drop a record's first line and re-read the rest.

    Line numbers given to and taken from it are the reader's (`reader.line_num`), counted
    from the last restart; `offset` turns them into the file's line numbers.
    """

    def __init__(self, handle: Iterator[str]) -> None:
        self._handle = handle
        self._restart([], 0)

    def _restart(self, lines: list[str], offset: int) -> None:
        """Read `lines`, then the rest of the file, as if the line `offset` had just ended."""
        ahead, self._behind = tee(chain(lines, self._handle))
        # strict: text after a closing quote, or a quote still open at the end of the file,
        # is an error instead of being glued silently into the cell.
        self.reader: Reader = csv.reader(ahead, strict=True)
        self.offset = offset
        self._fed = lines
        self._passed = 0

    def release(self, line: int) -> None:
        """Forget the lines up to `line`: the records they form are whole."""
        deque(islice(self._behind, line - self._passed), maxlen=0)
        self._passed = line

    def take(self, first: int, last: int) -> list[str]:
        """Return the lines `first` to `last` (the reader has read them) and forget them."""
        self.release(first - 1)
        lines = list(islice(self._behind, last - first + 1))
        self._passed = last
        return lines

    def read_again(self, lines: list[str], first: int) -> None:
        """Drop `lines[0]`, the line `first`, and read the lines after it again.

        `lines` are the ones `take(first, ...)` returned; lines fed again by an earlier call
        that the reader had not reached yet follow them.
        """
        last = first + len(lines) - 1
        self._restart(lines[1:] + self._fed[last:], self.offset + first)
