"""The org a sandbox serves, loaded from a CSV directory by the CSV source itself.

`--data DIR` serves exactly what `--source csv:DIR` reads: the same loader decides which
directories are refused (with its located message), which rows are skipped, how an export's
headers, owner names, numbers and dates read. The sandbox keeps two things the CSV source
turns into something else, read from the same files through the same table reader: the text
of industry, lifecycle and country as the CRM holds it (a rule's `values:` maps it, on every
source alike), and every activity row with its body (the CSV source folds them into times and
drops our own notes; a CRM serves them, and clients must skip our notes themselves).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Final

from connectors.files import CsvLoad, CsvLoadError, load_csv_directory
from connectors.files.activities import ACTIVITIES_FILE
from connectors.files.cells import DateReader
from connectors.files.companies import COMPANIES_FILE
from connectors.files.headers import ACTIVITY_FIELDS, company_columns, simple_columns
from connectors.files.issues import IssueLog
from connectors.files.reading import open_table
from rules.domain import Account
from sandbox.org import (
    EVENT_PREFIX,
    HUBSPOT_PROPERTIES,
    LOADED_AT,
    SIGNAL_PREFIX,
    TASK_PREFIX,
    Org,
    OrgLoadError,
    new_activity,
    new_company,
    new_user,
    salesforce_id_column,
)
from sandbox.sample.ids import ACCOUNT_PREFIX, USER_PREFIX

# Company columns whose text a CRM keeps as entered: its own vocabulary, mapped by the rule.
RAW_TEXT_COLUMNS: Final = ("industry", "lifecycle", "country")
# Warnings name this many of the rows skipped; `territory validate --source` lists them all.
SHOWN_ISSUES: Final = 3


def load_org(directory: Path, *, search_lag: float = 0.0) -> Org:
    """The org in `directory` as `--source csv:DIR` reads it; OrgLoadError when it refuses."""
    try:
        load = load_csv_directory(directory, None)
    except CsvLoadError as exc:
        raise OrgLoadError(_one_line(exc)) from None
    org = Org(search_lag=search_lag)
    try:
        _add_users(org, load)
        _add_companies(org, load, directory)
        _add_activities(org, directory)
    except CsvLoadError as exc:  # the files changed under the loader's feet
        raise OrgLoadError(_one_line(exc)) from None
    org.load_warnings = _load_warnings(load)
    return org


def _one_line(error: CsvLoadError) -> str:
    first = f" (first: {error.issues[0]})" if error.issues else ""
    return f"{error.message}{first}"


def _load_warnings(load: CsvLoad) -> list[str]:
    lines = []
    for file, skipped in sorted(load.skipped.items()):
        if skipped:
            shown = "; ".join(
                str(i) for i in [i for i in load.issues if i.file == file][:SHOWN_ISSUES]
            )
            lines.append(
                f"{file}: {skipped} of {load.rows_read.get(file, 0)} rows skipped, as the CSV "
                f"source skips them ({shown})"
            )
    return lines


def _add_users(org: Org, load: CsvLoad) -> None:
    owners = load.snapshot.owners
    derived = salesforce_id_column(USER_PREFIX, len(owners))
    for number, owner in enumerate(owners):
        user = new_user(
            key=owner.id,
            number=number,
            derived_salesforce_id=derived[number],
            email=owner.email,
            first_name=owner.first_name,
            last_name=owner.last_name,
            active=owner.active,
        )
        org.users[user.key] = user
        org.users_by_hubspot[user.hubspot_id] = user
        org.users_by_salesforce[user.salesforce_id] = user
    # The integration user (owner of our notes): the first active person, deterministically.
    org.integration_user_key = next(
        (u.key for u in org.users.values() if u.active and u.kind == "PERSON"), None
    )


def _add_companies(org: Org, load: CsvLoad, directory: Path) -> None:
    accounts = load.snapshot.accounts
    by_id = {a.id: a for a in accounts}
    raw, signals = _raw_company_text(directory, by_id)
    derived = salesforce_id_column(ACCOUNT_PREFIX, len(accounts))
    for number, account in enumerate(accounts):
        values = _values(account, raw.get(account.id, {}), signals)
        company = new_company(
            key=account.id,
            number=number,
            values=values,
            owner_key=account.owner_id,
            parent_key=account.parent_id,
            last_activity_at=account.last_activity_at,
            stamp=LOADED_AT,
            search_lag=0.0,
            derived_salesforce_id=derived[number],
        )
        company.locked = account.locked
        org.add_company(company)
        if account.owner_id is not None and account.owner_id not in org.users:
            _add_unlisted_owner(org, account.owner_id)
    org.signals = signals


def _add_unlisted_owner(org: Org, key: str) -> None:
    if key in org.unlisted_owners:
        return
    number = len(org.users) + len(org.unlisted_owners)
    org.unlisted_owners[key] = new_user(
        key=key,
        number=number,
        derived_salesforce_id=salesforce_id_column(USER_PREFIX, number + 1)[number],
        email="",
        first_name="",
        last_name="",
        active=False,
    )


def _values(account: Account, raw: Mapping[str, str], signals: list[str]) -> dict[str, str]:
    """Canonical column -> the text the CRM holds ("" when empty)."""
    values = {
        "name": account.name,
        "domain": account.domain or "",
        "employees": "" if account.employees is None else str(account.employees),
        "annual_revenue": _amount_text(account.annual_revenue),
        **{column: raw.get(column, "") for column in RAW_TEXT_COLUMNS},
    }
    dates: dict[str, date] = dict(account.signals)
    for signal in signals:
        day = dates.get(signal)
        values[SIGNAL_PREFIX + signal] = "" if day is None else day.isoformat()
    assert set(HUBSPOT_PROPERTIES) <= set(values), "every served column has a value"
    return values


def _amount_text(value: float | None) -> str:
    """A number as a CRM stores it: `1200000`, `1200000.5` (the shortest exact spelling)."""
    if value is None:
        return ""
    text = repr(value)
    return text.removesuffix(".0")


def _raw_company_text(
    directory: Path, kept: Mapping[str, Account]
) -> tuple[dict[str, dict[str, str]], list[str]]:
    """The raw text of `RAW_TEXT_COLUMNS` per kept company, and the file's signal names.

    Columns are placed by the CSV source's own header rules (canonical names, export labels).
    For an id on several rows the first complete row is read, which is the row the CSV source
    keeps unless that row had a bad cell.
    """
    found: dict[str, dict[str, str]] = {}
    with open_table(directory / COMPANIES_FILE, IssueLog(), None) as table:
        columns = company_columns(table.headers, {}, None)
        i_id = columns.index["id"]
        positions = [(name, columns.index[name]) for name in RAW_TEXT_COLUMNS]
        for _, row in table.rows():
            key = row[i_id].strip()
            if key in kept and key not in found:
                # A column the file lacks has index -1: the empty cell rows() appends.
                found[key] = {name: row[i].strip() for name, i in positions}
    return found, [name for name, _ in columns.signals]


def _add_activities(org: Org, directory: Path) -> None:
    """Every activity row about a loaded company whose time reads, bodies and all."""
    path = directory / ACTIVITIES_FILE
    if not path.is_file():
        return
    instant = DateReader().instant
    rows: list[tuple[str, str | None, str, datetime, str]] = []
    with open_table(path, IssueLog(), None) as table:
        index = simple_columns(table.headers, ACTIVITY_FIELDS, {})
        i_account, i_owner, i_type = index["account_id"], index["owner_id"], index["type"]
        i_when, i_body = index["occurred_at"], index["body"]
        for _, row in table.rows():
            account = row[i_account].strip()
            if account not in org.companies:
                continue  # exports span more companies than the company file; so does the sandbox
            try:
                when = instant(row[i_when].strip())
            except ValueError:
                continue  # the CSV source skips it too, and says so
            kind = (row[i_type].strip() or "task").lower()
            rows.append((account, row[i_owner].strip() or None, kind, when, row[i_body]))
    tasks = salesforce_id_column(TASK_PREFIX, len(rows))
    events = salesforce_id_column(EVENT_PREFIX, len(rows))
    for number, (account, owner, kind, when, body) in enumerate(rows):
        record = new_activity(
            number=number,
            salesforce_id=events[number] if kind == "meeting" else tasks[number],
            kind=kind,
            account_key=account,
            owner_key=owner,
            occurred_at=when,
            body=body,
        )
        org.activities.append(record)
        org.activities_by_account.setdefault(account, []).append(record)
