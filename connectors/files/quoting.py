"""Telling a broken record from a cell that legitimately spans lines, and saying why it broke.

A quoted cell may hold line breaks (addresses, descriptions, note bodies): such a record is
whole when its quotes close where a cell ends and it has the header's width. A record is
broken when the csv module refuses it (text after a closing quote, a quote still open at the
end of the file, a cell past the csv module's 131,072 characters), when it spans lines and
has the wrong width, or when the cell that spans lines is made of rows of the file: a quote
opened in one row and closed by a stray quote in the same column of a later row.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

# Below this width a line of prose reads as a row too often to tell them apart.
_MIN_WIDTH_TO_TELL_ROWS: Final = 3
_LINE_BREAK: Final = re.compile(r"\r\n|\r|\n")
_DOUBLED = 'quotes inside a cell are written doubled ("")'


@dataclass(frozen=True, slots=True)
class QuoteBreak:
    """Where quoting goes wrong on a record's first line: the cell, and how."""

    column: int
    kind: Literal["open", "stray"]  # open: not closed on the line; stray: text after it


def quote_break(line: str) -> QuoteBreak | None:
    """The first cell of `line` whose quoting is broken or left open, or None.

    It jumps from quote to quote with str.find, never a character at a time: a line of
    hundreds of megabytes (a cell past the csv module's limit) is read in milliseconds.
    """
    text = line.rstrip("\r\n")
    column = 0
    position = 0
    while True:
        if text.startswith('"', position):
            end = _closing_quote(text, position + 1)
            if end < 0:
                return QuoteBreak(column, "open")
            position = end + 1
            if position == len(text):
                return None
            if text[position] != ",":
                return QuoteBreak(column, "stray")
        # Unquoted text (a quote inside it is text) up to the next cell that opens a quote.
        opening = text.find(',"', position)
        if opening < 0:
            return None
        column += text.count(",", position, opening) + 1
        position = opening + 1


def _closing_quote(text: str, start: int) -> int:
    """The index of the quote that closes a quoted cell whose text starts at `start`; -1 when
    it stays open to the end of `text`. A doubled quote is one quote inside the cell."""
    while True:
        end = text.find('"', start)
        if end < 0 or not text.startswith('"', end + 1):
            return end
        start = end + 2


def swallows_rows(row: Sequence[str], width: int) -> bool:
    """Whether the one cell of `row` that spans lines is the rest of a row, rows, and the
    start of another: what a quote opened in one row and closed in the same column of a
    later row makes of them.

    Such a cell holds no other quote (one would have closed it), so no cell inside it can
    hide a comma: its first line holds as many commas as the row had cells left after it,
    its last line as many as cells come before it, and the lines between hold a whole
    row's. A blank line or a damaged row among those is no row, so half of the lines with
    text holding a row's commas is enough: one bad line must not let hundreds of swallowed
    rows pass for a cell. A cell of prose, an address or a note almost never counts out so.
    """
    spanning = [k for k, cell in enumerate(row) if "\n" in cell or "\r" in cell]
    if width < _MIN_WIDTH_TO_TELL_ROWS or len(spanning) != 1:
        return False
    column = spanning[0]
    lines = _LINE_BREAK.split(row[column])
    if lines[0].count(",") != width - column - 1 or lines[-1].count(",") != column:
        return False
    between = [line.count(",") for line in lines[1:-1] if line.strip()]
    rows = sum(1 for commas in between if commas == width - 1)
    return 2 * rows >= len(between)


def _lines(first: int, last: int) -> str:
    return f"lines {first}-{last}" if last > first else f"line {first}"


def broken_record_message(
    lines: Sequence[str], first: int, csv_error: str | None, *, swallowed_rows: bool
) -> tuple[int | None, str]:
    """The column (or None) and the message for a broken record of `lines` from line `first`.

    `csv_error` is the csv module's complaint, if it had one.
    """
    last = first + len(lines) - 1
    found = quote_break(lines[0])
    span = _lines(first, last)
    again = ""
    if last > first:
        again = f"; the row is skipped and the lines after line {first} are read again"
    too_long = csv_error is not None and "field larger than field limit" in csv_error
    if found is None:
        if too_long:
            limit = csv.field_size_limit()
            return None, f"a cell on {span} is longer than {limit:,} characters{again}"
        return None, f"cannot read CSV on {span}: {csv_error or 'broken quoting'}{again}"
    if found.kind == "stray":
        return found.column, (
            f"text follows the closing quote of this cell on line {first}; {_DOUBLED}{again}"
        )
    if csv_error == "unexpected end of data":
        where = (
            f"is never closed: {span}, the rest of the file, read as one cell"
            if last > first
            else "is never closed before the end of the file"
        )
    elif too_long:
        where = f"is not closed within {csv.field_size_limit():,} characters ({span})"
    elif swallowed_rows:
        where = f"makes one cell of {span}, which read as rows of this file"
    else:
        where = f"is closed only on line {last}, leaving the row the wrong width"
    return found.column, (
        f"the quote that opens this cell on line {first} {where}; {_DOUBLED}{again}"
    )
