"""Tables as plain text cells, rendered as Rich tables (terminal) or GitHub Markdown.

Views build a `Section` once; the two renderers keep the terminal and the Markdown report
identical in content. Cells are never parsed as Rich markup: account names and emails are
user data, and "[bold]" in a company name must print as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

NONE = "-"


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: header (may hold a line break) and alignment."""

    header: str
    justify: Literal["left", "right"] = "left"
    min_width: int | None = None  # never narrower: an id a command takes back stays whole


@dataclass(slots=True)
class Section:
    """One table as text cells, with a title, an optional totals row and notes below."""

    title: str
    columns: tuple[Column, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)
    total: tuple[str, ...] | None = None
    notes: list[str] = field(default_factory=list)


def percent(share: float) -> str:
    """A share as a percentage with one decimal: 0.225 -> '22.5%'."""
    return f"{share * 100:.1f}%"


def money(amount: float | None) -> str:
    """A currency amount, compact: 1200000 -> '1.2M', 115200 -> '115k'."""
    if amount is None:
        return NONE
    for divisor, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(amount) >= divisor:
            scaled = amount / divisor
            text = f"{scaled:.1f}" if abs(scaled) < 10 else f"{scaled:.0f}"
            return text.removesuffix(".0") + suffix
    return f"{amount:.0f}"


def number(value: float | None, places: int = 0) -> str:
    """A figure with thousands separators; `places` decimals; '-' for None."""
    if value is None:
        return NONE
    return f"{value:,.{places}f}"


def index_text(index: float | None) -> str:
    return NONE if index is None else f"{index:.2f}"


def section_table(title: str) -> Table:
    """An empty table in the house style: a rule under the header, two spaces between columns."""
    return Table(
        title=Text(title, style="bold"),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )


def render_sections(console: Console, heading: Sequence[str], sections: Sequence[Section]) -> None:
    """Print `heading` lines then each section as a Rich table (cells never parsed as markup)."""
    for line in heading:
        console.print(Text(line))
    for section in sections:
        console.print()
        table = section_table(section.title)
        for column in section.columns:
            table.add_column(
                Text(column.header), justify=column.justify, min_width=column.min_width
            )
        for row in section.rows:
            table.add_row(*(Text(cell) for cell in row))
        if section.total is not None:
            table.add_section()
            table.add_row(*(Text(cell, style="bold") for cell in section.total))
        if section.rows or section.total is not None:
            console.print(table)
        else:
            console.print(Text(section.title, style="bold"))
            console.print(Text("(none)"))
        for note in section.notes:
            console.print(Text(note))


def _markdown_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def sections_markdown(heading: Sequence[str], sections: Sequence[Section]) -> str:
    """The heading and sections as a Markdown document (GitHub tables), ending with a newline."""
    lines = [f"# {heading[0]}", "", *heading[1:]] if heading else []
    for section in sections:
        lines += ["", f"## {section.title}", ""]
        rows = [*section.rows, *([section.total] if section.total is not None else [])]
        if rows:
            lines.append(
                "| " + " | ".join(_markdown_cell(c.header) for c in section.columns) + " |"
            )
            lines.append(
                "|"
                + "|".join("---:" if c.justify == "right" else "---" for c in section.columns)
                + "|"
            )
            lines.extend(
                "| " + " | ".join(_markdown_cell(cell) for cell in row) + " |" for row in rows
            )
        else:
            lines.append("(none)")
        if section.notes:
            lines.append("")
            lines.extend(f"- {note}" for note in section.notes)
    return "\n".join(lines) + "\n"
