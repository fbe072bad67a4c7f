"""The CSV directory as the worker's CRM: the account it names, one page, the lock column,
and an owner cleared by emptying its cell."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from connectors.base import OwnerWrite
from connectors.errors import TerminalError
from connectors.files.connector import CsvConnector
from connectors.files.csv_source import load_csv_directory

HEADER = ("id", "name", "owner_id", "territory_lock")
OWNERS = (("o1", "ana@example.com", "Ana", "Ng", "true"),)


def write(
    directory: Path, companies: list[tuple[str, ...]], header: tuple[str, ...] = HEADER
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "companies.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *companies])
    with (directory / "owners.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("id", "email", "first_name", "last_name", "active"))
        writer.writerows(OWNERS)
    return directory


def test_the_account_is_the_directorys_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "org", [("c1", "Acme", "o1", "")])
    monkeypatch.chdir(tmp_path)
    assert CsvConnector(Path("org")).account_id() == str((tmp_path / "org").resolve())


def test_the_directory_is_one_page_and_no_page_follows_it(tmp_path: Path) -> None:
    connector = CsvConnector(
        write(tmp_path / "org", [("c1", "Acme", "o1", ""), ("c2", "Bolt", "", "")])
    )
    [page] = connector.iter_company_pages()
    assert ([a.id for a in page.accounts], page.resume) == (["c1", "c2"], None)
    with pytest.raises(TerminalError) as refused:
        list(connector.iter_company_pages(resume="c1"))
    assert refused.value.code == "RESUME"


@pytest.mark.parametrize(
    ("cell", "locked"),
    [("true", True), ("TRUE", True), ("yes", True), ("1", True), ("false", False), ("no", False),
     ("0", False), ("", False)],
)  # fmt: skip
def test_the_territory_lock_column_reads_as_the_accounts_lock(
    tmp_path: Path, cell: str, locked: bool
) -> None:
    org = write(tmp_path / "org", [("c1", "Acme", "o1", cell)])
    [account] = load_csv_directory(org, None).snapshot.accounts
    assert account.locked is locked


def test_an_export_labels_the_lock_column_in_words(tmp_path: Path) -> None:
    org = write(
        tmp_path / "org",
        [("c1", "Acme", "o1", "Yes")],
        header=("id", "name", "owner_id", "Territory Lock"),
    )
    assert load_csv_directory(org, None).snapshot.accounts[0].locked is True


def test_a_lock_that_is_neither_true_nor_false_is_a_located_bad_cell(tmp_path: Path) -> None:
    org = write(tmp_path / "org", [("c1", "Acme", "o1", "maybe"), ("c2", "Bolt", "o1", "true")])
    load = load_csv_directory(org, None, max_skipped_share=1.0)
    assert [a.id for a in load.snapshot.accounts] == ["c2"]
    [issue] = load.issues
    assert (issue.file, issue.row, issue.column) == ("companies.csv", 2, "territory_lock")
    assert "maybe" in issue.message


def test_a_write_to_no_owner_empties_the_cell(tmp_path: Path) -> None:
    org = write(tmp_path / "org", [("c1", "Acme", "o1", ""), ("c2", "Bolt", "o1", "")])
    connector = CsvConnector(org)
    assert connector.clears_owner is True
    [result] = connector.write_owners([OwnerWrite("c1", None)])
    assert result.ok, result.error
    assert connector.read_owners(["c1", "c2"]) == {"c1": None, "c2": "o1"}
    rows = list(csv.reader((org / "companies.csv").read_text(encoding="utf-8").splitlines()))
    assert rows[1:] == [["c1", "Acme", "", ""], ["c2", "Bolt", "o1", ""]]
    assert load_csv_directory(org, None).snapshot.accounts[0].owner_id is None
