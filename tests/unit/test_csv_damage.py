"""Damaged CSV files: a quote left open, stray quotes, line endings, encodings, skipped shares.

A broken record is a located error on the line where its quote opened, and the lines it
swallowed are read again, so one bad quote costs one row, never the rest of the file. A cell
that legitimately spans lines still loads. When more than a small share of a file's rows is
skipped, nothing loads, whatever strict mode says.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.files import CsvLoad, CsvLoadError, RowIssue, SkippedRowsError, load_csv_directory

HEADER = "id,name,domain,owner_id,employees\n"
OWNERS = "id,email\no1,ana@example.com\n"


def company_lines(count: int) -> list[str]:
    """`count` well-formed companies.csv rows: c1..cN, named "Co N", N employees."""
    return [f"c{i},Co {i},co{i}.example,o1,{i}\n" for i in range(1, count + 1)]


def write_org(directory: Path, lines: list[str], *, header: str = HEADER) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "owners.csv").write_text(OWNERS, encoding="utf-8")
    (directory / "companies.csv").write_text(header + "".join(lines), encoding="utf-8", newline="")
    return directory


def with_cell(lines: list[str], row: int, old: str, new: str) -> list[str]:
    """`lines` with `old` replaced by `new` in data row `row` (1-based)."""
    changed = list(lines)
    changed[row - 1] = changed[row - 1].replace(old, new, 1)
    return changed


def load(directory: Path, *, max_skipped_share: float = 1.0, strict: bool = False) -> CsvLoad:
    return load_csv_directory(directory, None, strict=strict, max_skipped_share=max_skipped_share)


def ids(result: CsvLoad) -> list[str]:
    return [a.id for a in result.snapshot.accounts]


def only_error(result: CsvLoad) -> RowIssue:
    errors = [i for i in result.issues if i.severity == "error"]
    assert len(errors) == 1, errors
    return errors[0]


# --- a quote left open --------------------------------------------------------------------


@pytest.mark.parametrize("row", [1, 1001, 2000], ids=["first", "middle", "last"])
def test_unbalanced_quote_is_one_located_bad_row_and_every_other_row_loads(
    tmp_path: Path, row: int
) -> None:
    lines = with_cell(company_lines(2000), row, f"Co {row},", f'"Co {row},')

    result = load(write_org(tmp_path, lines))

    issue = only_error(result)
    line = row + 1  # the header is line 1
    assert (issue.file, issue.row, issue.column) == ("companies.csv", line, "name")
    assert f"the quote that opens this cell on line {line} is never closed" in issue.message
    assert ids(result) == [f"c{i}" for i in range(1, 2001) if i != row]
    assert result.rows_read["companies.csv"] == 2000
    assert result.skipped["companies.csv"] == 1


def open_in_the_last_cell_of_the_file() -> list[str]:
    # Without strict quoting the csv module reads this cell as "3\n" and the row loads.
    return with_cell(company_lines(3), 3, ",3\n", ',"3\n')


def closed_rows_later_by_a_stray_quote() -> list[str]:
    lines = with_cell(company_lines(10), 3, "Co 3,", '"Co 3,')
    return with_cell(lines, 7, "co7.example", 'co7"x.example')


def open_past_the_csv_cell_limit() -> list[str]:
    # 5,000 rows of ~35 characters run past the csv module's 131,072-character cell.
    return with_cell(company_lines(5000), 2, "Co 2,", '"Co 2,')


@pytest.mark.parametrize(
    ("damage", "row", "column", "message", "skipped"),
    [
        (open_in_the_last_cell_of_the_file, 4, "employees", "never closed before the end", "c3"),
        (closed_rows_later_by_a_stray_quote, 4, "name", "is closed only on line 8", "c3"),
        (open_past_the_csv_cell_limit, 3, "name", "not closed within 131,072 characters", "c2"),
    ],
)
def test_a_quote_open_past_its_cell_is_a_bad_row_and_the_lines_after_it_load(
    tmp_path: Path,
    damage: Callable[[], list[str]],
    row: int,
    column: str,
    message: str,
    skipped: str,
) -> None:
    lines = damage()

    result = load(write_org(tmp_path, lines))

    issue = only_error(result)
    assert (issue.row, issue.column) == (row, column)
    assert message in issue.message
    assert ids(result) == [f"c{i}" for i in range(1, len(lines) + 1) if f"c{i}" != skipped]


@pytest.mark.parametrize("closing_row", [4, 8], ids=["next-row", "rows-later"])
def test_quote_closed_in_the_same_column_rows_later_is_a_bad_row_though_the_width_fits(
    tmp_path: Path, closing_row: int
) -> None:
    # The opening and the closing quote sit in the same column of two rows, so the merged
    # record has the header's width: what gives it away is that its lines read as rows.
    lines = with_cell(company_lines(10), 3, "Co 3,", '"Co 3,')
    lines = with_cell(lines, closing_row, f"Co {closing_row},", f'Co {closing_row}",')

    result = load(write_org(tmp_path, lines))

    issue = only_error(result)
    assert (issue.row, issue.column) == (4, "name")
    assert f"makes one cell of lines 4-{closing_row + 1}, which read as rows" in issue.message
    assert ids(result) == [f"c{i}" for i in range(1, 11) if i != 3]
    names = {a.id: a.name for a in result.snapshot.accounts}
    assert names[f"c{closing_row}"] == f'Co {closing_row}"'


def test_two_open_quotes_are_two_bad_rows(tmp_path: Path) -> None:
    lines = with_cell(company_lines(20), 5, "Co 5,", '"Co 5,')
    lines = with_cell(lines, 15, "Co 15,", '"Co 15,')

    result = load(write_org(tmp_path, lines))

    assert [(i.row, i.column) for i in result.issues] == [(6, "name"), (16, "name")]
    assert ids(result) == [f"c{i}" for i in range(1, 21) if i not in (5, 15)]


# --- cells that are not broken ------------------------------------------------------------


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_quoted_cell_with_line_breaks_and_commas_loads_whole(tmp_path: Path, newline: str) -> None:
    name = "Acme Holdings\nSuite 4, Floor 2\nSpringfield, IL"
    lines = with_cell(company_lines(5), 3, "Co 3,", f'"{name}",')
    text = "".join(lines).replace("\n", newline)

    result = load(write_org(tmp_path, [text], header=HEADER.replace("\n", newline)))

    assert result.issues == []
    names = {a.id: a.name for a in result.snapshot.accounts}
    assert names["c3"] == name.replace("\n", newline)
    assert ids(result) == ["c1", "c2", "c3", "c4", "c5"]


def test_stray_quote_inside_an_unquoted_cell_is_text(tmp_path: Path) -> None:
    lines = with_cell(company_lines(3), 2, "Co 2,", 'Co "The Best" 2,')

    result = load(write_org(tmp_path, lines))

    assert result.issues == []
    assert result.snapshot.accounts[1].name == 'Co "The Best" 2'


def test_doubled_quotes_inside_a_quoted_cell_are_one_quote(tmp_path: Path) -> None:
    lines = with_cell(company_lines(3), 2, "Co 2,", '"Co ""The Best"" 2",')

    result = load(write_org(tmp_path, lines))

    assert result.issues == []
    assert result.snapshot.accounts[1].name == 'Co "The Best" 2'


def test_undoubled_quote_inside_a_quoted_cell_is_a_located_bad_row(tmp_path: Path) -> None:
    # Without strict quoting this row loads as 'Co The Best" 2"'.
    lines = with_cell(company_lines(3), 2, "Co 2,", '"Co "The Best" 2",')

    result = load(write_org(tmp_path, lines))

    issue = only_error(result)
    assert (issue.row, issue.column) == (3, "name")
    assert "text follows the closing quote of this cell on line 3" in issue.message
    assert ids(result) == ["c1", "c3"]


def test_crlf_file_loads_like_the_same_file_with_lf(tmp_path: Path) -> None:
    lines = company_lines(3)
    lf = load(write_org(tmp_path / "lf", lines))
    crlf = load(
        write_org(
            tmp_path / "crlf",
            [line.replace("\n", "\r\n") for line in lines],
            header=HEADER.replace("\n", "\r\n"),
        )
    )

    assert crlf.issues == []
    assert crlf.snapshot.accounts == lf.snapshot.accounts


def test_byte_order_mark_before_a_quoted_header_in_a_crlf_file(tmp_path: Path) -> None:
    org = write_org(tmp_path, [])
    text = '\ufeff"id","Name","employees"\r\n"c1","Acme, Inc.","1,200"\r\n'
    (org / "companies.csv").write_bytes(text.encode("utf-8"))

    result = load(org)

    account = result.snapshot.accounts[0]
    assert (account.id, account.name, account.employees) == ("c1", "Acme, Inc.", 1200)


def test_latin1_byte_deep_in_a_large_file_names_its_line(tmp_path: Path) -> None:
    lines = company_lines(5000)
    lines[2999] = lines[2999].replace("Co 3000", "Société 3000")
    org = write_org(tmp_path, [])
    (org / "companies.csv").write_bytes((HEADER + "".join(lines)).encode("latin-1"))

    with pytest.raises(CsvLoadError) as caught:
        load(org)

    assert str(caught.value).startswith("companies.csv: line 3001: byte 0xE9 is not UTF-8")
    assert "'c3000,Société 3000" in str(caught.value)


def test_utf16_file_is_refused_as_utf16(tmp_path: Path) -> None:
    org = write_org(tmp_path, [])
    (org / "companies.csv").write_bytes((HEADER + "".join(company_lines(3))).encode("utf-16"))

    with pytest.raises(CsvLoadError, match=r"^companies\.csv: the file is UTF-16 .*, not UTF-8"):
        load(org)


def test_header_with_a_quote_left_open_is_refused(tmp_path: Path) -> None:
    org = write_org(tmp_path, company_lines(3), header='id,"name,domain,owner_id,employees\n')

    with pytest.raises(CsvLoadError, match=r"companies\.csv: row 1: cannot read the header"):
        load(org)


# --- the share of rows skipped ------------------------------------------------------------


def bad_employees(count: int, bad: int) -> list[str]:
    lines = company_lines(count)
    return [
        line.replace(f",{i}\n", ",many\n") if i <= bad else line
        for i, line in enumerate(lines, start=1)
    ]


def test_more_than_one_percent_of_rows_skipped_refuses_the_load_without_strict(
    tmp_path: Path,
) -> None:
    org = write_org(tmp_path, bad_employees(1000, 11))

    with pytest.raises(SkippedRowsError) as caught:
        load_csv_directory(org, None)

    message = str(caught.value)
    assert message.startswith(
        "companies.csv: 11 of 1,000 rows (1.1%) skipped for errors, above the 1% allowed"
    )
    assert "companies.csv:row 2: employees: expected a whole number, got 'many'" in message
    assert len(caught.value.issues) == 11


def test_one_percent_of_rows_skipped_is_still_loaded(tmp_path: Path) -> None:
    result = load_csv_directory(write_org(tmp_path, bad_employees(1000, 10)), None)

    assert result.skipped["companies.csv"] == 10
    assert len(result.snapshot.accounts) == 990


def test_the_allowed_share_is_a_parameter(tmp_path: Path) -> None:
    org = write_org(tmp_path, bad_employees(100, 5))

    assert len(load(org, max_skipped_share=0.05).snapshot.accounts) == 95
    with pytest.raises(SkippedRowsError, match="above the 4% allowed"):
        load(org, max_skipped_share=0.04)
    with pytest.raises(SkippedRowsError, match="above the 0% allowed"):
        load(write_org(tmp_path / "one", bad_employees(1000, 1)), max_skipped_share=0)


def test_the_share_counts_each_file_on_its_own(tmp_path: Path) -> None:
    org = write_org(tmp_path, company_lines(1000))
    owners = "id,email,active\n" + "".join(f"o{i},rep{i}@example.com,\n" for i in range(1, 50))
    (org / "owners.csv").write_text(owners + "o50,rep50@example.com,maybe\n", encoding="utf-8")

    with pytest.raises(SkippedRowsError, match=r"^owners\.csv: 1 of 50 rows \(2\.0%\)"):
        load_csv_directory(org, None)


def test_a_runaway_quote_whose_lines_are_not_rows_counts_every_line_it_breaks(
    tmp_path: Path,
) -> None:
    # What follows the quote is no row of this file: each line read again is a bad row, so
    # the share of skipped rows shows the damage instead of hiding it in one cell.
    lines = company_lines(100)
    lines.insert(50, 'c999,"Broken\n' + "".join(f"free text {i}\n" for i in range(20)))

    with pytest.raises(SkippedRowsError, match=r"companies\.csv: 21 of 121 rows"):
        load_csv_directory(write_org(tmp_path, lines), None)
