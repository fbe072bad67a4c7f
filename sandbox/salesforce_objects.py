"""The sandbox org as Salesforce sObjects: each object's fields (types) and its rows.

Rows hold typed values (text, numbers, booleans, dates, aware datetimes) so SOQL filters and
orders them as Salesforce would; `json_record` turns one into the wire shape, with
`attributes`, `YYYY-MM-DD` dates and `2026-01-05T09:00:00.000+0000` datetimes. Rows are built
from the org on demand (under its lock), so every query sees the latest writes and hand edits.

Objects: Account (standard fields, the signal dates `Last_<Signal>_Date__c`, and the territory
custom fields the sandbox has "deployed"; `Territory_Lock__c` is the org's `Company.locked`),
User, Task (calls, emails, tasks), Event (meetings), ContentNote and ContentDocumentLink (our
amendment notes), and Organization (one row: the org id a ledger binds to).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Final

from connectors.files.cells import amount, whole_number
from sandbox.org import (
    SALESFORCE_FIELDS,
    SIGNAL_PREFIX,
    ActivityRecord,
    Company,
    NoteRecord,
    Org,
    User,
    salesforce_field_for_signal,
)
from sandbox.salesforce_fields import territory_fields
from sandbox.soql import FieldType, Row, Schema

Lookup = Callable[[object], Iterable[Row]]

ACCOUNT_BASE: Final[dict[str, FieldType]] = {
    "Id": "id",
    "IsDeleted": "boolean",
    "Name": "string",
    "Website": "url",
    "OwnerId": "reference",
    "Industry": "picklist",
    "NumberOfEmployees": "int",
    "AnnualRevenue": "currency",
    "BillingCountry": "string",
    "Type": "picklist",
    "ParentId": "reference",
    "LastActivityDate": "date",
    "CreatedDate": "datetime",
    "LastModifiedDate": "datetime",
    "SystemModstamp": "datetime",
}
USER_SCHEMA: Final[dict[str, FieldType]] = {
    "Id": "id",
    "Username": "string",
    "Email": "email",
    "FirstName": "string",
    "LastName": "string",
    "Name": "string",
    "IsActive": "boolean",
    "ManagerId": "reference",
    "UserType": "picklist",
    "CreatedDate": "datetime",
    "SystemModstamp": "datetime",
}
_ACTIVITY_COMMON: Final[dict[str, FieldType]] = {
    "Id": "id",
    "IsDeleted": "boolean",
    "AccountId": "reference",
    "WhatId": "reference",
    "OwnerId": "reference",
    "Subject": "string",
    "ActivityDate": "date",
    "CreatedDate": "datetime",
    "SystemModstamp": "datetime",
}
TASK_SCHEMA: Final[dict[str, FieldType]] = {
    **_ACTIVITY_COMMON,
    "Status": "picklist",
    "IsClosed": "boolean",
    "TaskSubtype": "picklist",
    "CompletedDateTime": "datetime",
}
EVENT_SCHEMA: Final[dict[str, FieldType]] = {
    **_ACTIVITY_COMMON,
    "ActivityDateTime": "datetime",
    "EventSubtype": "picklist",
}
NOTE_SCHEMA: Final[dict[str, FieldType]] = {
    "Id": "id",
    "IsDeleted": "boolean",
    "Title": "string",
    "TextPreview": "string",
    "FileType": "string",
    "FileExtension": "string",
    "OwnerId": "reference",
    "CreatedDate": "datetime",
    "LastModifiedDate": "datetime",
}
LINK_SCHEMA: Final[dict[str, FieldType]] = {
    "Id": "id",
    "IsDeleted": "boolean",
    "ContentDocumentId": "reference",
    "LinkedEntityId": "reference",
    "ShareType": "picklist",
    "Visibility": "picklist",
    "SystemModstamp": "datetime",
}
ORGANIZATION_SCHEMA: Final[dict[str, FieldType]] = {
    "Id": "id",
    "Name": "string",
    "OrganizationType": "picklist",
    "IsSandbox": "boolean",
    "InstanceName": "string",
}
# The territory lock field: served from, and written to, the org's `Company.locked`.
LOCK_FIELD: Final = "Territory_Lock__c"
# What the sandbox lets an API client change on an Account (everything else is read-only here).
WRITABLE_ACCOUNT_FIELDS: Final = frozenset({"OwnerId"})
_SUBJECTS: Final = {"call": "Call", "email": "Email", "task": "Task", "meeting": "Meeting"}
_TAGS: Final = re.compile(r"<[^>]+>")


@dataclass(frozen=True, slots=True)
class SObject:
    """One object type: its fields, all its rows, and id lookups that avoid a full scan.

    `lookups` maps a field to rows having a given value of it; a query whose top-level filter
    pins that field reads only those rows (the full filter still applies). `required_filter`
    names fields one of which the filter must pin (Salesforce's rule for ContentDocumentLink).
    """

    name: str
    schema: Schema
    rows: Callable[[], Iterator[Row]]
    lookups: Mapping[str, Lookup] = field(default_factory=dict)
    required_filter: frozenset[str] = frozenset()


class SalesforceView:
    """The org's records shaped as Salesforce rows; `custom_fields` are the deployed ones."""

    def __init__(self, org: Org, custom_fields: set[str], organization_id: str = "") -> None:
        self.org = org
        self.custom_fields = custom_fields
        self.organization_id = organization_id

    def objects(self) -> dict[str, SObject]:
        """Object name (lower case) -> SObject, for the query endpoint."""
        org = self.org
        specs = [
            SObject(
                "Account",
                self.account_schema(),
                lambda: (self.account_row(c) for c in org.companies.values()),
                {"Id": self._account_by_id},
            ),
            SObject(
                "User",
                USER_SCHEMA,
                lambda: (self.user_row(u) for u in org.users.values()),
                {"Id": self._user_by_id},
            ),
            SObject(
                "Task",
                TASK_SCHEMA,
                lambda: self._activity_rows(org.activities, task=True),
                {"AccountId": lambda v: self._activities_of(v, task=True)},
            ),
            SObject(
                "Event",
                EVENT_SCHEMA,
                lambda: self._activity_rows(org.activities, task=False),
                {"AccountId": lambda v: self._activities_of(v, task=False)},
            ),
            SObject(
                "ContentNote",
                NOTE_SCHEMA,
                lambda: (self.note_row(n) for n in org.notes_by_salesforce.values()),
                {"Id": self._note_by_id},
            ),
            SObject(
                "ContentDocumentLink",
                LINK_SCHEMA,
                lambda: (r for n in org.notes_by_salesforce.values() for r in self.link_rows(n)),
                {"LinkedEntityId": self._links_of_account, "ContentDocumentId": self._links_of},
                required_filter=frozenset({"LinkedEntityId", "ContentDocumentId"}),
            ),
            SObject("Organization", ORGANIZATION_SCHEMA, lambda: iter([self.organization_row()])),
        ]
        return {spec.name.lower(): spec for spec in specs}

    # ---- Account ------------------------------------------------------------------------------

    def account_schema(self) -> dict[str, FieldType]:
        schema = dict(ACCOUNT_BASE)
        for signal in self.org.signals:
            schema[salesforce_field_for_signal(signal)] = "date"
        for custom in territory_fields().values():
            if custom.name in self.custom_fields:
                schema[custom.name] = custom.type
        return schema

    def account_row(self, company: Company) -> dict[str, object]:
        org, values = self.org, company.values
        owner = org.users.get(company.owner_key) if company.owner_key else None
        parent = org.companies.get(company.parent_key) if company.parent_key else None
        row: dict[str, object] = {
            field_name: values.get(column) or None
            for column, field_name in SALESFORCE_FIELDS.items()
        }
        row.update(
            Id=company.salesforce_id,
            IsDeleted=company.archived,
            OwnerId=owner.salesforce_id if owner else None,
            NumberOfEmployees=_number(values.get("employees"), whole_number),
            AnnualRevenue=_number(values.get("annual_revenue"), amount),
            ParentId=parent.salesforce_id if parent else None,
            LastActivityDate=_utc_day(company.last_activity_at),
            CreatedDate=company.created_at,
            LastModifiedDate=company.updated_at,
            SystemModstamp=company.updated_at,
        )
        for signal in org.signals:
            row[salesforce_field_for_signal(signal)] = _day(values.get(SIGNAL_PREFIX + signal))
        for custom in territory_fields().values():
            if custom.name == LOCK_FIELD and custom.name in self.custom_fields:
                row[custom.name] = company.locked
            elif custom.name in self.custom_fields:
                row[custom.name] = _typed(company.territory.get(custom.name), custom.type)
        return row

    def _account_by_id(self, value: object) -> Iterable[Row]:
        company = self.org.by_salesforce.get(str(value))
        return [self.account_row(company)] if company else []

    # ---- Organization -------------------------------------------------------------------------

    def organization_row(self) -> dict[str, object]:
        return {
            "Id": self.organization_id,
            "Name": "Territory Sync Sandbox",
            "OrganizationType": "Developer Edition",
            "IsSandbox": True,
            "InstanceName": "SANDBOX",
        }

    # ---- User ---------------------------------------------------------------------------------

    def user_row(self, user: User) -> dict[str, object]:
        manager = self.org.users.get(user.manager_key) if user.manager_key else None
        return {
            "Id": user.salesforce_id,
            "Username": user.email,
            "Email": user.email,
            "FirstName": user.first_name or None,
            "LastName": user.last_name or None,
            "Name": f"{user.first_name} {user.last_name}".strip(),
            "IsActive": user.active,
            "ManagerId": manager.salesforce_id if manager else None,
            "UserType": "Standard",
            "CreatedDate": user.updated_at,
            "SystemModstamp": user.updated_at,
        }

    def _user_by_id(self, value: object) -> Iterable[Row]:
        user = self.org.users_by_salesforce.get(str(value))
        return [self.user_row(user)] if user else []

    # ---- Task and Event -----------------------------------------------------------------------

    def _activity_rows(self, records: Iterable[ActivityRecord], *, task: bool) -> Iterator[Row]:
        for record in records:
            if (record.kind != "meeting") == task:
                yield self.activity_row(record)

    def _activities_of(self, value: object, *, task: bool) -> Iterable[Row]:
        company = self.org.by_salesforce.get(str(value))
        if company is None:
            return []
        return self._activity_rows(self.org.activities_by_account.get(company.key, []), task=task)

    def activity_row(self, record: ActivityRecord) -> dict[str, object]:
        org = self.org
        company = org.companies[record.account_key]
        owner = org.users.get(record.owner_key) if record.owner_key else None
        at = record.occurred_at
        row: dict[str, object] = {
            "Id": record.salesforce_id,
            # Deleting an account deletes its activities (they stay visible to queryAll).
            "IsDeleted": company.archived,
            "AccountId": company.salesforce_id,
            "WhatId": company.salesforce_id,
            "OwnerId": owner.salesforce_id if owner else None,
            # Our own notes, were they ever logged as activity, would carry their marker here.
            "Subject": record.body[:255] or _SUBJECTS[record.kind],
            "ActivityDate": at.date() if at else None,
            "CreatedDate": at,
            "SystemModstamp": at,
        }
        if record.kind == "meeting":
            row.update(ActivityDateTime=at, EventSubtype="Event")
        else:
            row.update(
                Status="Completed",
                IsClosed=True,
                TaskSubtype=_SUBJECTS[record.kind],
                CompletedDateTime=at,
            )
        return row

    # ---- ContentNote and ContentDocumentLink --------------------------------------------------

    def note_row(self, note: NoteRecord) -> dict[str, object]:
        owner = self.org.users.get(note.owner_key) if note.owner_key else None
        return {
            "Id": note.salesforce_id,
            "IsDeleted": False,
            "Title": note.title,
            "TextPreview": html.unescape(_TAGS.sub(" ", note.body)).strip()[:255],
            "FileType": "SNOTE",
            "FileExtension": "snote",
            "OwnerId": owner.salesforce_id if owner else None,
            "CreatedDate": note.created_at,
            "LastModifiedDate": note.created_at,
        }

    def _note_by_id(self, value: object) -> Iterable[Row]:
        note = self.org.notes_by_salesforce.get(str(value))
        return [self.note_row(note)] if note else []

    def link_rows(self, note: NoteRecord) -> list[Row]:
        org = self.org
        return [
            {
                "Id": link_id,
                "IsDeleted": False,
                "ContentDocumentId": note.salesforce_id,
                "LinkedEntityId": org.companies[key].salesforce_id,
                "ShareType": "V",
                "Visibility": "AllUsers",
                "SystemModstamp": note.created_at,
            }
            for key, link_id in note.link_ids.items()
        ]

    def _links_of(self, value: object) -> Iterable[Row]:
        note = self.org.notes_by_salesforce.get(str(value))
        return self.link_rows(note) if note else []

    def _links_of_account(self, value: object) -> Iterable[Row]:
        company = self.org.by_salesforce.get(str(value))
        if company is None:
            return []
        notes = self.org.notes_by_salesforce.values()
        return [r for n in notes if company.key in n.link_ids for r in self.link_rows(n)]


# ---- values -----------------------------------------------------------------------------------


def json_record(row: Row, fields: Iterable[str], sobject: str, version: str) -> dict[str, object]:
    """One record as the REST API sends it: `attributes` first, then the selected fields."""
    record: dict[str, object] = {
        "attributes": {
            "type": sobject,
            "url": f"/services/data/v{version}/sobjects/{sobject}/{row['Id']}",
        }
    }
    for name in fields:
        record[name] = json_value(row.get(name))
    return record


def json_value(value: object) -> object:
    """Salesforce's wire spelling of a typed value."""
    if isinstance(value, datetime):
        stamp = value.astimezone(UTC)
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}+0000"
    if isinstance(value, date):
        return value.isoformat()
    return value


def parse_instant(raw: str) -> datetime | None:
    """ISO 8601 text as an aware datetime (a naive one is UTC); None for ""; ValueError else."""
    text = raw.strip()
    if not text:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _instant(raw: str | None) -> datetime | None:
    try:
        return parse_instant(raw or "")
    except ValueError:
        return None  # a value Salesforce could not hold: the field is empty


def _utc_day(moment: datetime | None) -> date | None:
    return moment.astimezone(UTC).date() if moment else None


def _day(raw: str | None) -> date | None:
    """A date field (signals) from the org's date or date-time text, in UTC."""
    return _utc_day(_instant(raw))


def _number(raw: str | None, parse: Callable[[str], float]) -> float | None:
    if not raw:
        return None
    try:
        return parse(raw)
    except ValueError:
        return None


def _typed(stored: str | None, field_type: str) -> object:
    """A territory field's stored text back to its type (the org keeps text)."""
    if field_type == "boolean":
        return stored == "true"  # a checkbox is never empty: unset reads false
    if stored is None or stored == "":
        return None
    if field_type == "date":
        return date.fromisoformat(stored)
    if field_type == "datetime":
        return _instant(stored)
    return stored
