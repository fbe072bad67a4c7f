"""Files the CSV source refuses outright, naming where: a choice it would otherwise guess.

Two columns for one field (the same header twice, or a header and an export label for the
same field), two owners with one email, and a `date_format` that is no strptime format.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.files import CsvLoadError, load_csv_directory
from rules.loader import load_rules
from tests.unit.rule_text import example_text

OWNERS = "id,email,first_name,last_name,active\no1,ana@example.com,Ana,Lopez,true\n"


def write_org(directory: Path, companies: str, owners: str = OWNERS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "companies.csv").write_text(companies, encoding="utf-8")
    (directory / "owners.csv").write_text(owners, encoding="utf-8")
    return directory


def refusal(directory: Path, **options: str) -> CsvLoadError:
    with pytest.raises(CsvLoadError) as caught:
        load_csv_directory(directory, None, **options)  # type: ignore[arg-type]
    return caught.value


@pytest.mark.parametrize(
    ("header", "repeated"),
    [
        ("id,name,Company ID,company_id", "column 4 'company_id' repeats column 3 'Company ID'"),
        ("id,name,Name", "column 3 'Name' repeats column 2 'name'"),
        ("id,annual_revenue,Annual  Revenue", "column 3 'Annual  Revenue' repeats column 2"),
    ],
)
def test_a_header_that_repeats_another_after_case_underscores_and_spaces_is_refused(
    tmp_path: Path, header: str, repeated: str
) -> None:
    org = write_org(tmp_path, f"{header}\n" + ",".join(["c1"] * len(header.split(","))) + "\n")

    error = refusal(org)

    assert error.message.startswith("companies.csv: 1 duplicate column header(s)")
    [issue] = error.issues
    assert (issue.file, issue.row) == ("companies.csv", 1)
    assert repeated in issue.message


def test_unnamed_columns_may_repeat(tmp_path: Path) -> None:
    # Excel writes a trailing comma on every line of some exports: empty headers, no data.
    org = write_org(tmp_path, "id,name,,\nc1,Acme,,\n")

    result = load_csv_directory(org, None)

    assert [a.name for a in result.snapshot.accounts] == ["Acme"]


@pytest.mark.parametrize(
    ("header", "field", "columns"),
    [
        # canonical id and the HubSpot export's id label
        ("Record ID,id,Company name,Number of Employees", "id", "'id', 'Record ID'"),
        # canonical name and the Salesforce report's name label
        ("Account ID,Account Name,name,Billing Country", "name", "'name', 'Account Name'"),
        # two id columns for the owner in a Salesforce report
        ("Account ID,Account Name,owner_id,Account Owner ID", "owner_id", "'owner_id', "),
    ],
)
def test_two_columns_feeding_one_field_after_export_labels_are_refused(
    tmp_path: Path, header: str, field: str, columns: str
) -> None:
    org = write_org(tmp_path, f"{header}\n" + ",".join(["1"] * len(header.split(","))) + "\n")

    error = refusal(org)

    assert "field(s) have more than one column; remove all but one, or name one in the rule's" in (
        error.message
    )
    [issue] = error.issues
    assert issue.row == 1
    assert f"2 columns hold {field}: {columns}" in issue.message


def test_an_id_column_beside_a_name_column_for_one_field_is_by_design(tmp_path: Path) -> None:
    header = "Account ID,Account Name,Account Owner,Account Owner ID\n"
    org = write_org(tmp_path, header + "a1,Acme,Ana Lopez,o1\n")

    result = load_csv_directory(org, None)

    assert result.snapshot.accounts[0].owner_id == "o1"


def test_the_rules_fields_csv_settles_which_of_two_columns_is_meant(tmp_path: Path) -> None:
    org = write_org(tmp_path, "Record ID,id,Company name\n101,c1,Acme\n")
    text = example_text().replace("fields:\n", "fields:\n  csv:\n    id: Record ID\n", 1)
    rule = load_rules(text, "rules.yaml").rule

    result = load_csv_directory(org, rule)

    assert [a.id for a in result.snapshot.accounts] == ["101"]


def test_two_owner_id_columns_in_owners_csv_are_refused(tmp_path: Path) -> None:
    owners = "id,Owner ID,email\no1,o1,ana@example.com\n"
    org = write_org(tmp_path, "id\nc1\n", owners)

    error = refusal(org)

    assert error.message.startswith("owners.csv: 1 field(s) have more than one column")
    assert "2 columns hold id: 'id', 'Owner ID'" in error.issues[0].message


def test_two_owners_with_one_email_in_any_case_are_refused_naming_both_rows(
    tmp_path: Path,
) -> None:
    owners = OWNERS + "o2,ben@example.com,Ben,Ng,true\no9,ANA@Example.com,Ana,Lopez,false\n"
    org = write_org(tmp_path, "id,owner_id\nc1,o1\n", owners)

    error = refusal(org)

    assert "1 owner(s) share an email with another owner" in error.message
    [issue] = error.issues
    assert (issue.file, issue.row, issue.column) == ("owners.csv", 4, "email")
    assert issue.message == "'ana@example.com' is also the email of owner 'o1' (row 2)"


def test_owners_without_an_email_are_not_duplicates(tmp_path: Path) -> None:
    owners = "id,email\no1,\no2,\no3,ana@example.com\n"

    result = load_csv_directory(write_org(tmp_path, "id\nc1\n", owners), None)

    assert [o.id for o in result.snapshot.owners] == ["o1", "o2", "o3"]


@pytest.mark.parametrize(
    ("date_format", "why"),
    [
        ("%Q", "'Q' is a bad directive in format '%Q'"),
        ("%m/%d/%Y %", "stray % in format"),
        ("MM/DD/YYYY", "no % directive"),
    ],
)
def test_a_date_format_strptime_cannot_use_is_refused_before_any_row_is_read(
    tmp_path: Path, date_format: str, why: str
) -> None:
    org = write_org(tmp_path, "id,last_activity_at\nc1,2024-05-01\n")

    error = refusal(org, date_format=date_format)

    assert error.message.startswith(f"date format {date_format!r}: ")
    assert why in error.message
    assert "expected a strptime format such as '%m/%d/%Y %H:%M'" in error.message
