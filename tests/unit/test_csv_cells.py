"""Cells a column cannot hold are bad cells (file, row, column), never a crash later.

Numbers beyond what the CRMs' own fields hold, numbers written in digits other than ASCII,
"inf", "nan" and "1e400", negative counts and amounts, and dates that leave the calendar once
read in UTC: each is reported on its row and column and the row is skipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.files import CsvLoad, RowIssue, load_csv_directory
from connectors.files.cells import AMOUNT_LIMIT, MAX_EMPLOYEES, amount, whole_number

HEADER = "id,name,owner_id,employees,annual_revenue,last_activity_at,signal_funding\n"


def load_one_company(tmp_path: Path, timezone: str | None = None, **cells: str) -> CsvLoad:
    """Load c1 (fine) and c2 with `cells`, accepting any share of skipped rows."""
    row = {"employees": "", "annual_revenue": "", "last_activity_at": "", "signal_funding": ""}
    row |= cells
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "owners.csv").write_text("id,email\no1,ana@example.com\n", encoding="utf-8")
    line = ",".join(f'"{row[name]}"' for name in row)
    (tmp_path / "companies.csv").write_text(
        HEADER + "c1,Fine,o1,10,100,,\n" + f"c2,Broken,o1,{line}\n", encoding="utf-8"
    )
    return load_csv_directory(tmp_path, None, timezone=timezone, max_skipped_share=1.0)


def only_issue(result: CsvLoad) -> RowIssue:
    assert len(result.issues) == 1, result.issues
    return result.issues[0]


OUT_OF_RANGE = [
    "99999999999999999999",  # the issue's crash: beyond 64 bits
    "1e400",
    "inf",
    "-inf",
    "nan",
    "NaN",
    "-5",
    "１２３",  # noqa: RUF001 - full-width digits are the point
    "١٢٣",  # Arabic-Indic digits
    "१२३",  # Devanagari digits
    "１,２００",  # noqa: RUF001 - full-width digits with an ASCII thousands separator
    "$１２３",  # noqa: RUF001 - full-width digits after a currency sign
]


@pytest.mark.parametrize("column", ["employees", "annual_revenue"])
@pytest.mark.parametrize("raw", OUT_OF_RANGE)
def test_a_number_the_column_cannot_hold_is_a_bad_cell_on_its_row_and_column(
    tmp_path: Path, column: str, raw: str
) -> None:
    result = load_one_company(tmp_path, **{column: raw})

    issue = only_issue(result)
    assert (issue.file, issue.row, issue.column, issue.severity) == (
        "companies.csv",
        3,
        column,
        "error",
    )
    assert repr(raw) in issue.message
    assert [a.id for a in result.snapshot.accounts] == ["c1"]


def test_employees_above_what_salesforce_holds_say_the_limit(tmp_path: Path) -> None:
    result = load_one_company(tmp_path, employees=str(MAX_EMPLOYEES + 1))

    assert "expected a whole number up to 99,999,999" in only_issue(result).message


def test_revenue_beyond_eighteen_digits_says_the_limit(tmp_path: Path) -> None:
    result = load_one_company(tmp_path, annual_revenue="1e400")

    message = only_issue(result).message
    assert "expected an amount below 1,000,000,000,000,000,000, got '1e400'" in message


def test_the_largest_numbers_the_crms_hold_load(tmp_path: Path) -> None:
    result = load_one_company(
        tmp_path, employees="99,999,999", annual_revenue="999,999,999,999,999,000.00"
    )

    assert result.issues == []
    account = result.snapshot.accounts[1]
    assert account.employees == MAX_EMPLOYEES
    assert account.annual_revenue is not None
    assert account.annual_revenue < AMOUNT_LIMIT


def test_minus_zero_revenue_reads_as_zero() -> None:
    assert str(amount("-0")) == "0.0"
    assert whole_number("-0") == 0


@pytest.mark.parametrize(
    ("cells", "timezone"),
    [
        ({"last_activity_at": "0001-01-01"}, "Asia/Tokyo"),
        ({"last_activity_at": "9999-12-31T23:00:00"}, "America/New_York"),
        ({"last_activity_at": "0001-01-01T00:00:00+05:00"}, None),
        ({"signal_funding": "9999-12-31T23:00:00-05:00"}, None),
    ],
)
def test_a_date_that_leaves_the_calendar_in_utc_is_a_bad_cell(
    tmp_path: Path, cells: dict[str, str], timezone: str | None
) -> None:
    result = load_one_company(tmp_path, timezone=timezone, **cells)

    issue = only_issue(result)
    assert (issue.row, issue.column) == (3, next(iter(cells)))
    assert "between years 1 and 9999 in UTC" in issue.message
