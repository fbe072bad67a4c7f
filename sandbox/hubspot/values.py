"""Property values as HubSpot writes and checks them, and the company property catalogue.

Formats live here once so every resource answers alike: datetimes as ISO 8601 UTC with
milliseconds, some timestamps as epoch milliseconds, dates as `YYYY-MM-DD`, empty values as null
or "" by id parity. The catalogue is what `GET /crm/v3/properties/companies` lists and what
writes and searches type their values by.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any, Final

from sandbox.org import HUBSPOT_PROPERTIES, LOADED_AT, hubspot_property_for_signal

Json = dict[str, Any]

NOTE_BODY_LIMIT: Final = 65_536

# Built-in company properties: (name, label, type, fieldType, read-only value).
_BUILTIN: Final = (
    ("name", "Name", "string", "text", False),
    ("domain", "Company Domain Name", "string", "text", False),
    ("industry", "Industry", "enumeration", "select", False),
    ("numberofemployees", "Number of Employees", "number", "number", False),
    ("annualrevenue", "Annual Revenue", "number", "number", False),
    ("country", "Country/Region", "string", "text", False),
    ("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", False),
    ("hubspot_owner_id", "Company owner", "enumeration", "select", False),
    ("hs_parent_company_id", "Parent Company", "number", "number", True),
    ("hs_object_id", "Record ID", "number", "number", True),
    ("createdate", "Create Date", "datetime", "date", True),
    ("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", True),
    ("notes_last_contacted", "Last Contacted", "datetime", "date", True),
    ("notes_last_updated", "Last Activity Date", "datetime", "date", True),
    ("hs_last_sales_activity_timestamp", "Last Engagement Date", "datetime", "date", True),
)
BUILTIN_GROUPS: Final = {
    "companyinformation": "Company information",
    "sales_properties": "Sales properties",
}
COLUMN_BY_PROPERTY: Final = {prop: column for column, prop in HUBSPOT_PROPERTIES.items()}
# The territory lock: a custom checkbox (an admin's, or the one territory-sync creates) whose
# value is the org's `Company.locked`.
LOCK_PROPERTY: Final = "territory_lock"


# ---- formats ----------------------------------------------------------------------------------


def iso(moment: datetime) -> str:
    """`2026-01-05T09:00:00.000Z`: HubSpot's datetime format."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def ms_text(moment: datetime) -> str:
    """Epoch milliseconds as text: how some HubSpot timestamps arrive."""
    return str(epoch_ms(moment))


def parse_moment(raw: str) -> datetime | None:
    """ISO text (date or date-time) or epoch milliseconds; None when it is neither."""
    text = raw.strip()
    if not text:
        return None
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def moment_text(raw: str) -> str:
    """A stored timestamp in HubSpot's datetime format (left as it is when it does not parse)."""
    moment = parse_moment(raw)
    return iso(moment) if moment else raw


def empty_value(record_id: str) -> str | None:
    """HubSpot sends empty values as null or "": here by id parity, so runs are repeatable."""
    return None if int(record_id) % 2 == 0 else ""


# ---- the property catalogue -------------------------------------------------------------------


def property_definition(
    name: str,
    label: str,
    kind: str,
    field_type: str,
    *,
    group: str = "companyinformation",
    read_only: bool = False,
    hubspot_defined: bool = True,
    options: list[Json] | None = None,
    description: str = "",
) -> Json:
    stamp = iso(LOADED_AT)
    return {
        "name": name,
        "label": label,
        "type": kind,
        "fieldType": field_type,
        "groupName": group,
        "description": description,
        "options": options or [],
        "displayOrder": -1,
        "calculated": False,
        "externalOptions": False,
        "hasUniqueValue": False,
        "hidden": False,
        "hubspotDefined": hubspot_defined,
        "formField": not read_only,
        "modificationMetadata": {
            "archivable": not hubspot_defined,
            "readOnlyDefinition": hubspot_defined,
            "readOnlyValue": read_only,
        },
        "createdAt": stamp,
        "updatedAt": stamp,
        "archived": False,
    }


def builtin_properties(signals: Iterable[str]) -> dict[str, Json]:
    """The company properties every sandbox portal has (signal dates are the sample's own)."""
    found = {
        name: property_definition(name, label, kind, field, read_only=read_only)
        for name, label, kind, field, read_only in _BUILTIN
    }
    for signal in signals:
        name = hubspot_property_for_signal(signal)
        label = f"Last {signal.replace('_', ' ')} date"
        found[name] = property_definition(name, label, "date", "date", hubspot_defined=False)
    return found


def lock_property_definition() -> Json:
    """`territory_lock` as a portal that has it defines it: a yes/no checkbox."""
    return property_definition(
        LOCK_PROPERTY,
        "Territory lock",
        "bool",
        "booleancheckbox",
        hubspot_defined=False,
        options=[
            {"label": "Yes", "value": "true", "displayOrder": 0, "hidden": False},
            {"label": "No", "value": "false", "displayOrder": 1, "hidden": False},
        ],
        description="When checked, territory-sync never moves this company.",
    )


def value_problem(definition: Json, value: str) -> str | None:
    """The HubSpot error code for writing `value` to a property of this definition, if any."""
    if value == "":
        return None
    kind = definition["type"]
    if kind == "number":
        try:
            float(value)
        except ValueError:
            return "INVALID_NUMBER"
    elif kind == "date" and not _is_date(value):
        return "INVALID_DATE"
    elif kind == "datetime" and parse_moment(value) is None:
        return "INVALID_DATETIME"
    elif kind == "bool" and value not in {"true", "false"}:
        return "INVALID_OPTION"
    elif kind == "enumeration" and definition["options"]:
        if value not in {o["value"] for o in definition["options"]}:
            return "INVALID_OPTION"
    elif len(value) > NOTE_BODY_LIMIT:
        return "VALUE_TOO_LONG"
    return None


def _is_date(value: str) -> bool:
    """`YYYY-MM-DD`, or epoch milliseconds at midnight UTC, as HubSpot's date properties take."""
    if value.isdigit():
        return int(value) % 86_400_000 == 0
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10
