"""The territory custom fields on Account: API names, types, and how write values are shaped.

An admin deploys them from docs/salesforce/ (the connector never creates fields: on Salesforce
that is a metadata deployment with a permission set, not an API call a sync should make). The
names here, the metadata there and the sandbox's describe all come from `TERRITORY_CUSTOM_FIELDS`;
a test holds the metadata to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date
from typing import Final, Literal

from connectors.base import TERRITORY_FIELDS
from connectors.errors import TerminalError
from connectors.records import parse_instant

CustomFieldType = Literal["string", "date", "datetime", "boolean"]
_TRUE: Final = frozenset({"true", "1", "yes"})
_FALSE: Final = frozenset({"false", "0", "no", ""})


@dataclass(frozen=True, slots=True)
class CustomField:
    """One territory field: its logical name (connectors.base.TERRITORY_FIELDS) and API name."""

    logical: str
    name: str
    type: CustomFieldType
    label: str
    length: int | None = None  # text fields only

    def json_value(self, raw: str) -> str | bool | None:
        """The JSON value Salesforce accepts for `raw` (an OwnerWrite field's text)."""
        text = raw.strip()
        if self.type == "boolean":
            return _boolean(self.name, text)
        if not text:
            return None
        if self.type == "date":
            return date.fromisoformat(text[:10]).isoformat()
        if self.type == "datetime":
            instant = parse_instant(text)  # a naive time is UTC, as everywhere in the connector
            return instant.astimezone(UTC).isoformat() if instant else None
        return text


TERRITORY_CUSTOM_FIELDS: Final = (
    CustomField("territory", "Territory__c", "string", "Territory", 80),
    CustomField(
        "rule_revision", "Territory_Rule_Revision__c", "string", "Territory Rule Revision", 80
    ),
    CustomField(
        "effective_date", "Territory_Effective_Date__c", "date", "Territory Effective Date"
    ),
    CustomField("assigned_at", "Territory_Assigned_At__c", "datetime", "Territory Assigned At"),
    CustomField("lock", "Territory_Lock__c", "boolean", "Territory Lock"),
)
FIELDS_BY_LOGICAL: Final = {f.logical: f for f in TERRITORY_CUSTOM_FIELDS}
assert set(FIELDS_BY_LOGICAL) == set(TERRITORY_FIELDS), "every logical field needs an API name"

METADATA_HINT: Final = (
    "an admin deploys them from docs/salesforce/ (custom fields and the Territory_Sync "
    "permission set; see docs/salesforce/README.md)"
)


def write_values(fields: Mapping[str, str]) -> dict[str, str | bool | None]:
    """Logical territory fields -> Account field values; TerminalError for an unknown or bad one."""
    values: dict[str, str | bool | None] = {}
    for logical, raw in fields.items():
        spec = FIELDS_BY_LOGICAL.get(logical)
        if spec is None:
            raise TerminalError(
                f"unknown territory field {logical!r}; known: {', '.join(TERRITORY_FIELDS)}",
                code="UNKNOWN_FIELD",
            )
        try:
            values[spec.name] = spec.json_value(raw)
        except ValueError:
            raise TerminalError(
                f"{spec.name}: {raw!r} is not a {spec.type}", code="INVALID_FIELD_VALUE"
            ) from None
    return values


def _boolean(name: str, text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{name}: {text!r} is not true or false")
