"""activities.csv: aggregated while streaming into each owner's latest touch per account."""

from __future__ import annotations

from datetime import datetime

from connectors.base import carries_marker
from connectors.files.cells import DateReader
from connectors.files.headers import ACTIVITY_FIELDS, simple_columns
from connectors.files.issues import IssueLog
from connectors.files.owners import OwnerDirectory
from connectors.files.reading import CsvTable, require_columns
from rules.domain import Account

ACTIVITIES_FILE = "activities.csv"


def read_activities(
    table: CsvTable,
    *,
    by_id: dict[str, Account],
    owners: OwnerDirectory,
    dates: DateReader,
    log: IssueLog,
    owner_activity: dict[tuple[str, str], datetime],
) -> int:
    """Fold every row into `owner_activity` and the accounts' last_activity_at.

    Return how many rows name an account that was not loaded (counted, not errors: an
    activity export usually spans more accounts than the company export).
    """
    index = simple_columns(table.headers, ACTIVITY_FIELDS, {})
    require_columns(table, index, ("account_id", "occurred_at"), expected=",".join(ACTIVITY_FIELDS))
    i_account, i_owner, i_when = index["account_id"], index["owner_id"], index["occurred_at"]
    i_body = index["body"]
    unknown = 0
    instant = dates.instant
    owners_by_id = owners.by_id
    for row_number, row in table.rows():
        if i_body >= 0 and carries_marker(row[i_body]):
            continue  # one of our own amendment notes: never a rep's touch
        account_id = row[i_account].strip()
        raw_when = row[i_when].strip()
        if not account_id or not raw_when:
            missing = i_account if not account_id else i_when
            log.report_error(table.file, row_number, table.headers[missing], "missing value")
            table.skipped += 1
            continue
        try:
            when = instant(raw_when)
        except ValueError as exc:
            log.report_error(table.file, row_number, table.headers[i_when], str(exc))
            table.skipped += 1
            continue
        account = by_id.get(account_id)
        if account is None:
            unknown += 1
            continue
        if account.last_activity_at is None or when > account.last_activity_at:
            account.last_activity_at = when
        owner_id = row[i_owner].strip()
        if owner_id:
            owner = owners_by_id.get(owner_id)
            # Keys reuse the account's and owner's id strings instead of one copy per row.
            key = (account.id, owner_id if owner is None else owner.id)
            latest = owner_activity.get(key)
            if latest is None or when > latest:
                owner_activity[key] = when
    return unknown
