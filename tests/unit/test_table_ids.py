"""Ids a command takes back (`territory cancel CHANGE_ID`) print whole in tables, however narrow
the terminal: Rich shrank every column to fit, and a change id came out as 'f29494ad66a3…'."""

from __future__ import annotations

import io

from rich.console import Console

from rules.changes import change_id
from worker.cli.ledger_options import CHANGE_ID_CHARS
from worker.tables import Column, Section, render_sections


def test_a_change_id_column_keeps_whole_ids_on_a_narrow_terminal() -> None:
    ident = change_id("1000004504", "50000006", "50000029", "r1", 0)
    section = Section(
        title="Changes",
        columns=(
            Column("change", min_width=CHANGE_ID_CHARS),
            Column("account"),
            Column("from -> to"),
            Column("error"),
        ),
        rows=[(ident, "1000004504", "50000006 -> 50000029", "a long error message " * 3)],
    )
    text = io.StringIO()

    render_sections(Console(file=text, width=60), [], [section])

    assert ident in text.getvalue()


def test_the_cli_knows_how_long_a_change_id_is() -> None:
    assert len(change_id("a", "b", "c", "r", 0)) == CHANGE_ID_CHARS
