"""`territory validate --source csv:DIR` and `territory plan` on damaged CSV exports.

The sample org is damaged the way real exports are: a quote left open in row 1,001 of
2,000, numbers no CRM field holds, a header twice, two owners with one email. The commands
name every problem where it is, print the rows read beside the rows kept, refuse a file
with more than 1% of its rows skipped, and never print a traceback.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from sandbox.sample import write_sample
from worker.cli import app

ACCOUNTS = 2000


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("sample")
    write_sample(directory, accounts=ACCOUNTS, reps=20, seed=7, flavour="canonical")
    return directory


@pytest.fixture
def org(sample: Path, tmp_path: Path) -> Path:
    """A writable copy of the sample org."""
    return Path(shutil.copytree(sample, tmp_path / "org"))


def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(app, [str(a) for a in args], env=env)
    assert "Traceback" not in result.output, result.output
    return result


def validate(org: Path, *extra: str, env: dict[str, str] | None = None) -> Result:
    return run("validate", org / "rules.yaml", "--source", f"csv:{org}", *extra, env=env)


def plan(org: Path, *extra: str | Path) -> Result:
    return run(
        "plan",
        "--rules",
        org / "rules.yaml",
        "--source",
        f"csv:{org}",
        "--allow-large-change",
        *extra,
    )


def open_a_quote(org: Path, data_row: int) -> int:
    """Put an unbalanced quote before the name of the first plain row from `data_row` on.

    Return the line it is on (the header is line 1).
    """
    path = org / "companies.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    line = next(i for i in range(data_row, len(lines)) if '"' not in lines[i])
    account_id, rest = lines[line].split(",", 1)
    lines[line] = f'{account_id},"{rest}'
    path.write_text("".join(lines), encoding="utf-8")
    return line + 1


def set_cells(org: Path, column: str, values: dict[int, str]) -> None:
    """Set `column` of data rows (1-based) to the given raw values."""
    path = org / "companies.csv"
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    index = rows[0].index(column)
    for row, value in values.items():
        rows[row][index] = value
    with path.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream, lineterminator="\n").writerows(rows)


def test_validate_and_plan_print_the_rows_read_beside_the_rows_kept(org: Path) -> None:
    checked = validate(org)
    planned = plan(org, "--format", "json")

    assert checked.exit_code == 0, checked.output
    assert planned.exit_code == 0, planned.output
    for result in (checked, planned):
        assert f"companies.csv {ACCOUNTS:,} read, {ACCOUNTS:,} kept" in result.stderr
        assert "owners.csv 24 read, 24 kept" in result.stderr
    assert "row(s) read," in checked.stdout


def test_unbalanced_quote_in_row_1001_of_2000_costs_one_located_row(
    org: Path, tmp_path: Path
) -> None:
    line = open_a_quote(org, 1001)

    checked = validate(org)
    planned = plan(org, "--out", tmp_path / "plan.json")

    assert checked.exit_code == 0, checked.output
    assert (
        f"companies.csv:row {line}: name: the quote that opens this cell on line {line} is "
        "never closed" in checked.stderr
    )
    assert f"companies.csv {ACCOUNTS:,} read, {ACCOUNTS - 1:,} kept" in checked.stderr
    assert f"source: {ACCOUNTS - 1:,} companies" in checked.stdout
    assert planned.exit_code == 0, planned.output
    document = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    assert len(document["assignments"]) == ACCOUNTS - 1


def test_more_than_one_percent_of_rows_skipped_refuses_validate_and_plan_strict_or_not(
    org: Path,
) -> None:
    set_cells(org, "employees", dict.fromkeys(range(100, 121), "many"))  # 21 of 2,000

    for result in (validate(org), plan(org), validate(org, "--strict"), plan(org, "--strict")):
        assert result.exit_code == 2, result.output
    refused = plan(org)
    assert "companies.csv: 21 of 2,000 rows (1.1%) skipped for errors" in refused.stderr
    assert "companies.csv:row 101: employees: expected a whole number, got 'many'" in (
        refused.stderr
    )
    assert "TERRITORY_CSV_MAX_SKIPPED_SHARE (now 0.01)" in refused.stderr

    allowed = validate(org, env={"TERRITORY_CSV_MAX_SKIPPED_SHARE": "0.02"})
    assert allowed.exit_code == 0, allowed.output
    assert "companies.csv 2,000 read, 1,979 kept" in allowed.stderr


def test_numbers_no_crm_field_holds_are_bad_cells_and_the_plan_writes_valid_json(
    org: Path, tmp_path: Path
) -> None:
    set_cells(org, "employees", {5: "99999999999999999999", 6: "１２３"})  # noqa: RUF001
    set_cells(org, "annual_revenue", {7: "1e400", 8: "nan"})

    checked = validate(org)
    planned = plan(org, "--out", tmp_path / "plan.json")
    printed = plan(org, "--format", "json")

    assert checked.exit_code == 0, checked.output
    for row, column in [(6, "employees"), (7, "employees"), (8, "annual_revenue")]:
        assert f"companies.csv:row {row}: {column}: expected" in checked.stderr
    assert planned.exit_code == 0, planned.output
    assert printed.exit_code == 0, printed.output
    document = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    assert len(document["assignments"]) == ACCOUNTS - 4
    assert json.loads(printed.stdout) == document


def prepend_columns(org: Path, headers: str, cells: str) -> None:
    path = org / "companies.csv"
    header, rest = path.read_text(encoding="utf-8").split("\n", 1)
    lines = rest.splitlines(keepends=True)
    path.write_text(
        f"{headers},{header}\n" + "".join(f"{cells},{line}" for line in lines), encoding="utf-8"
    )


def same_header_twice(org: Path) -> str:
    prepend_columns(org, "Company ID,company_id", "a,b")
    return "companies.csv:row 1: company_id: column 2 'company_id' repeats column 1 'Company ID'"


def export_label_beside_its_canonical_column(org: Path) -> str:
    # Two HubSpot labels make it a HubSpot export, whose "Record ID" is the company id too.
    prepend_columns(org, "Record ID,Company name", "1,Acme")
    return "companies.csv:row 1: Record ID: 2 columns hold id: 'id', 'Record ID'"


def two_owners_share_an_email(org: Path) -> str:
    path = org / "owners.csv"
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    rows[3][1] = rows[2][1].upper()
    with path.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream, lineterminator="\n").writerows(rows)
    return f"owners.csv:row 4: email: {rows[2][1]!r} is also the email of owner {rows[2][0]!r}"


def no_damage(org: Path) -> str:
    return "date format '%Q': 'Q' is a bad directive in format '%Q'"


@pytest.mark.parametrize(
    ("damage", "extra"),
    [
        (same_header_twice, ()),
        (export_label_beside_its_canonical_column, ()),
        (two_owners_share_an_email, ()),
        (no_damage, ("--date-format", "%Q")),
    ],
)
def test_a_guess_the_source_would_have_to_make_exits_2_naming_where(
    org: Path, damage: Callable[[Path], str], extra: tuple[str, ...]
) -> None:
    expected = damage(org)

    for result in (validate(org, *extra), plan(org, *extra)):
        assert result.exit_code == 2, result.output
        assert expected in result.stderr
