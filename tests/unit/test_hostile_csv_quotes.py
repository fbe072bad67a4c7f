"""Stray quotes a hostile or careless export carries: no quote may drop rows without a word.

A quote opened in one row and closed by a stray quote in the same column of a later row
merges every row between them into one cell of the header's width. The rows it swallowed
are told apart from a legitimate multi-line cell by reading like rows of the file; a blank
line, or one damaged row among them, must not make the whole stretch pass for a cell.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.files.quoting import QuoteBreak, quote_break
from tests.unit.test_csv_damage import company_lines, ids, load, with_cell, write_org


def swallowed_between(rows: int, opening: int, closing: int) -> list[str]:
    """`rows` companies with a quote opened in row `opening`'s name, closed in `closing`'s."""
    lines = with_cell(company_lines(rows), opening, f"Co {opening},", f'"Co {opening},')
    return with_cell(lines, closing, f"Co {closing},", f'Co {closing}",')


def with_blank_line(lines: list[str]) -> list[str]:
    return [*lines[:20], "\n", *lines[20:]]


def with_a_long_row(lines: list[str]) -> list[str]:
    return with_cell(lines, 20, ",20\n", ",20,extra\n")


def with_a_short_row(lines: list[str]) -> list[str]:
    return with_cell(lines, 20, ",o1,20\n", "\n")


@pytest.mark.parametrize(
    "damage",
    [with_blank_line, with_a_long_row, with_a_short_row],
    ids=["blank-line", "long-row", "short-row"],
)
def test_rows_swallowed_by_a_stray_quote_are_read_again_though_one_line_between_is_no_row(
    tmp_path: Path, damage: Callable[[list[str]], list[str]]
) -> None:
    lines = damage(swallowed_between(100, 10, 60))

    result = load(write_org(tmp_path, lines))

    swallowing = [i for i in result.issues if "read as rows of this file" in i.message]
    assert [(i.row, i.column) for i in swallowing] == [(11, "name")]
    loaded = set(ids(result))
    assert {f"c{i}" for i in range(11, 101) if i != 20} <= loaded
    assert "c10" not in loaded


def test_quote_break_reads_a_line_of_20_million_characters_in_well_under_a_second() -> None:
    # A 200 MB line took 40 s, one character at a time; this one took 1.3 s.
    plain = "x" * 20_000_000
    started = time.process_time()

    assert quote_break(f'c1,"{plain}\n') == QuoteBreak(1, "open")
    assert quote_break(f"c1,{plain},x\n") is None

    assert time.process_time() - started < 0.25


@pytest.mark.parametrize(
    ("line", "found"),
    [
        ('a,"b",c\n', None),
        ('a,"b""c",d\n', None),
        ('a,"",b\n', None),
        ('a,"""",b\n', None),
        ('a,b"c,d\n', None),
        ('"a,b', QuoteBreak(0, "open")),
        ('a,"b"c,d', QuoteBreak(1, "stray")),
        ('a,b,"c""', QuoteBreak(2, "open")),
        ('a,"b",,"c"x', QuoteBreak(3, "stray")),
        ('a,"b"\r\n', None),
        ('"",""",x', QuoteBreak(1, "open")),
    ],
)
def test_quote_break_finds_the_first_broken_cell(line: str, found: QuoteBreak | None) -> None:
    assert quote_break(line) == found
