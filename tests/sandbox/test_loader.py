"""The sandbox serves exactly the directories `--source csv:DIR` reads, as that source reads them.

Each directory below is one kind of input the CSV source takes or refuses: canonical files,
HubSpot and Salesforce export headers, bad and duplicate rows, unknown owners, parent cycles,
files that are not UTF-8 or lack a column. For each, the sandbox refuses when the CSV source
refuses (with its message, on one line) and otherwise serves the same companies, owners,
parents and numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.files import CsvLoadError, load_csv_directory
from sandbox.loader import load_org
from sandbox.org import OrgLoadError
from tests.sandbox.conftest import COMPANIES, COMPANY_HEADER, OWNERS, write_org

HUBSPOT_EXPORT_HEADER = (
    "Record ID", "Company name", "Company Domain Name", "Company owner", "Industry",
    "Number of Employees", "Annual Revenue", "Country/Region", "Lifecycle Stage",
    "Parent Company", "Last Activity Date",
)  # fmt: skip
SALESFORCE_REPORT_HEADER = (
    "Account ID", "Account Name", "Website", "Account Owner", "Industry", "Employees",
    "Annual Revenue", "Billing Country", "Type", "Parent Account ID", "Last Activity",
)  # fmt: skip


def _company(key: str, **cells: str) -> tuple[str, ...]:
    """A canonical row: `COMPANIES[0]` with its id and the given cells replaced."""
    row = dict(zip(COMPANY_HEADER, COMPANIES[0], strict=True))
    row.update(id=key, **cells)
    return tuple(row[column] for column in COMPANY_HEADER)


def filler(count: int) -> list[tuple[str, ...]]:
    """`count` good companies, so that a few bad rows stay under the share the CSV source
    tolerates (1% of a file's rows)."""
    return [_company(str(2_000_000_000 + n), name=f"Filler {n}") for n in range(count)]


def canonical(directory: Path) -> None:
    write_org(directory)


def hubspot_export(directory: Path) -> None:
    write_org(
        directory,
        company_header=HUBSPOT_EXPORT_HEADER,
        companies=[
            ("101", "Acme", "https://www.acme.example/", "Ana Ng", "COMPUTER_SOFTWARE", "1,200",
             "$1,500,000.00", "Germany", "lead", "", "2026-11-02 10:00"),
            ("102", "Bolt", "bolt.example", "bo@example.com", "RETAIL", "40", "", "France",
             "customer", "Acme", ""),
        ],
        activities=None,
    )  # fmt: skip


def salesforce_report(directory: Path) -> None:
    write_org(
        directory,
        company_header=SALESFORCE_REPORT_HEADER,
        companies=[
            ("0018d0000Bb0000AQA", "Acme", "acme.example", "Ana Ng", "Technology", "120", "",
             "Germany", "Prospect", "", "2026-11-02"),
            ("0018d0000Bb0001AQA", "Bolt", "bolt.example", "Bo Li", "Retail", "40", "", "US",
             "Customer - Direct", "0018d0000Bb0000AQA", ""),
        ],
    )  # fmt: skip


def bad_and_duplicate_rows(directory: Path) -> None:
    write_org(
        directory,
        companies=[
            *COMPANIES,
            _company("1000000005", employees="many"),
            _company("1000000001", name="Acme again"),
            ("1000000006", "Short row"),
            _company("1000000007", last_activity_at="yesterday"),
            *filler(400),
        ],
        activities=[
            ("1000000001", "50000001", "call", "not a time", ""),
            ("1000000099", "50000001", "call", "2026-11-02T10:00:00Z", ""),
            *[("1000000002", "50000002", "email", "2026-10-01", "")] * 100,
        ],
    )


def too_many_bad_rows(directory: Path) -> None:
    write_org(directory, companies=[*COMPANIES, _company("1000000005", employees="many")])


def unknown_owner_and_parent_cycle(directory: Path) -> None:
    write_org(
        directory,
        companies=[
            _company("1000000001", owner_id="50009999"),
            _company("1000000002", parent_id="1000000003"),
            _company("1000000003", parent_id="1000000002"),
            _company("1000000004", parent_id="1000000404"),
            *filler(200),
        ],
    )


def byte_order_mark(directory: Path) -> None:
    write_org(directory)
    path = directory / "companies.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())


def missing_owners_file(directory: Path) -> None:
    write_org(directory)
    (directory / "owners.csv").unlink()


def missing_id_column(directory: Path) -> None:
    write_org(directory, company_header=("key", *COMPANY_HEADER[1:]))


def owners_without_email(directory: Path) -> None:
    write_org(directory)
    (directory / "owners.csv").write_text("id,first_name\n50000001,Ana\n", encoding="utf-8")


def latin1_companies(directory: Path) -> None:
    write_org(directory, companies=[*COMPANIES, _company("1000000005", name="Müller GmbH")])
    path = directory / "companies.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))


def empty_companies_file(directory: Path) -> None:
    write_org(directory)
    (directory / "companies.csv").write_text("", encoding="utf-8")


def owner_names_from_another_crm(directory: Path) -> None:
    hubspot_export(directory)
    path = directory / "companies.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("Ana Ng", "Zed Q"), encoding="utf-8")


def owners_sharing_an_email(directory: Path) -> None:
    write_org(directory, owners=[*OWNERS, ("50000004", "ana@example.com", "Ana", "Two", "true")])


DIRECTORIES: dict[str, Callable[[Path], None]] = {
    f.__name__: f
    for f in (
        canonical, hubspot_export, salesforce_report, bad_and_duplicate_rows,
        unknown_owner_and_parent_cycle, byte_order_mark, missing_owners_file, missing_id_column,
        owners_without_email, latin1_companies, empty_companies_file, owner_names_from_another_crm,
        too_many_bad_rows, owners_sharing_an_email,
    )
}  # fmt: skip
REFUSED = {
    "missing_owners_file",
    "missing_id_column",
    "owners_without_email",
    "latin1_companies",
    "empty_companies_file",
    "owner_names_from_another_crm",
    "too_many_bad_rows",
    "owners_sharing_an_email",
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_the_sandbox_refuses_what_the_csv_source_refuses_with_its_message_on_one_line(
    tmp_path: Path, name: str
) -> None:
    DIRECTORIES[name](tmp_path)
    with pytest.raises(CsvLoadError) as csv_source:
        load_csv_directory(tmp_path, None)
    with pytest.raises(OrgLoadError) as sandbox:
        load_org(tmp_path)
    assert str(sandbox.value).startswith(csv_source.value.message)
    assert "\n" not in str(sandbox.value)


@pytest.mark.parametrize("name", sorted(set(DIRECTORIES) - REFUSED))
def test_the_sandbox_serves_what_the_csv_source_reads(tmp_path: Path, name: str) -> None:
    DIRECTORIES[name](tmp_path)
    expected = load_csv_directory(tmp_path, None)
    org = load_org(tmp_path)
    accounts = {a.id: a for a in expected.snapshot.accounts}
    assert list(org.companies) == list(accounts)
    assert list(org.users) == [o.id for o in expected.snapshot.owners]
    for key, company in org.companies.items():
        account = accounts[key]
        assert (company.owner_key, company.parent_key) == (account.owner_id, account.parent_id)
        assert company.values["employees"] == (
            "" if account.employees is None else str(account.employees)
        )
        revenue = company.values["annual_revenue"]
        assert (float(revenue) if revenue else None) == account.annual_revenue
        assert company.last_activity_at == account.last_activity_at
    skipped = {file: n for file, n in expected.skipped.items() if n}
    assert [line.split(":")[0] for line in org.load_warnings] == sorted(skipped)


def test_values_keep_the_crms_text_and_numbers_read_as_the_csv_source_reads_them(
    tmp_path: Path,
) -> None:
    hubspot_export(tmp_path)
    acme = load_org(tmp_path).companies["101"]
    assert acme.values["industry"] == "COMPUTER_SOFTWARE"
    assert acme.values["country"] == "Germany"
    assert acme.values["employees"] == "1200"
    assert acme.values["annual_revenue"] == "1500000"
    assert acme.values["domain"] == "acme.example"
    assert acme.owner_key == "50000001"


def test_a_company_owner_missing_from_owners_csv_is_served_but_never_listed(
    tmp_path: Path,
) -> None:
    unknown_owner_and_parent_cycle(tmp_path)
    org = load_org(tmp_path)
    company = org.companies["1000000001"]
    assert company.owner_key == "50009999"
    assert "50009999" not in org.users
    owner = org.owner_user(company)
    assert owner is not None
    assert owner.hubspot_id == "50009999"
    assert owner.hubspot_id not in org.users_by_hubspot


def test_skipped_rows_are_reported_as_the_csv_source_reports_them(tmp_path: Path) -> None:
    bad_and_duplicate_rows(tmp_path)
    warnings = load_org(tmp_path).load_warnings
    assert warnings[0].startswith("activities.csv: 1 of 102 rows skipped")
    assert warnings[1].startswith("companies.csv: 4 of 408 rows skipped")
    assert "companies.csv:row 6: employees: expected a whole number" in warnings[1]


def test_every_activity_of_a_loaded_company_is_served_with_its_body(tiny_org: Path) -> None:
    org = load_org(tiny_org)
    assert [(a.account_key, a.kind, a.body) for a in org.activities] == [
        ("1000000001", "call", "Called about the renewal"),
        ("1000000002", "meeting", ""),
    ]
