"""The territory fields as HubSpot company properties: checked, and created where allowed.

Creating a property needs the `crm.schemas.companies.write` scope. Without it HubSpot answers
403 MISSING_SCOPES; the check then reports the properties as missing and names the scope, so
an admin can grant it or create them by hand (reading them needs `crm.schemas.companies.read`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from connectors.base import FieldCheck
from connectors.errors import ConnectorError
from connectors.hubspot.errors import Json
from connectors.hubspot.transport import HubSpotTransport
from connectors.hubspot.writes import TERRITORY_PROPERTIES
from connectors.retry import Replay

_OBJECT: Final = "companies"
# Logical field -> (label, type, fieldType, description) of its property.
_DEFINITIONS: Final = {
    "territory": ("Territory", "string", "text", "The territory this company is planned in."),
    "rule_revision": (
        "Territory rule revision",
        "string",
        "text",
        "Revision of the territory rule file behind the current owner.",
    ),
    "effective_date": (
        "Territory effective date",
        "date",
        "date",
        "The day the current territory assignment took effect.",
    ),
    "assigned_at": (
        "Territory assigned at",
        "datetime",
        "date",
        "When territory-sync wrote the current owner.",
    ),
    "lock": (
        "Territory lock",
        "bool",
        "booleancheckbox",
        "When checked, territory-sync never moves this company.",
    ),
}
_YES_NO: Final = [
    {"label": "Yes", "value": "true", "displayOrder": 0},
    {"label": "No", "value": "false", "displayOrder": 1},
]


class FieldManager:
    """Ensure the territory properties exist, in one property group."""

    def __init__(self, transport: HubSpotTransport, group: str) -> None:
        self.transport = transport
        self.group = group
        self._catalogue: frozenset[str] | None = None

    def company_properties(self) -> frozenset[str]:
        """Names of every live company property, read once (the properties API)."""
        if self._catalogue is None:
            self._catalogue = frozenset(self._existing())
        return self._catalogue

    def ensure(self, *, create: bool) -> FieldCheck:
        try:
            existing = self._existing()
        except ConnectorError as error:
            if error.status != 403:
                raise
            return FieldCheck(missing=tuple(TERRITORY_PROPERTIES), detail=str(error))
        present = tuple(f for f, p in TERRITORY_PROPERTIES.items() if p in existing)
        missing = tuple(f for f in TERRITORY_PROPERTIES if f not in present)
        if not missing or not create:
            detail = _missing_detail(missing) if missing else ""
            return FieldCheck(present=present, missing=missing, detail=detail)
        return self._create(present, missing)

    def _existing(self) -> set[str]:
        reply = self.transport.call(
            "properties.read", self.transport.apis.properties.get_all, _OBJECT, archived=False
        )
        return {str(p.get("name")) for p in reply.body.get("results") or []}

    def _create(self, present: tuple[str, ...], missing: tuple[str, ...]) -> FieldCheck:
        created: list[str] = []
        try:
            self._post(
                "properties.groups.create",
                self.transport.apis.property_groups.create,
                {
                    "name": self.group,
                    "label": "Territory sync",
                    "displayOrder": -1,
                },
            )
            for field in missing:
                if self._post(
                    "properties.create",
                    self.transport.apis.properties.create,
                    self._definition(field),
                ):
                    created.append(field)
                else:
                    present += (field,)
        except ConnectorError as error:
            if error.status != 403:
                raise
            left = tuple(f for f in missing if f not in created and f not in present)
            return FieldCheck(present, tuple(created), left, f"{error}; {_missing_detail(left)}")
        return FieldCheck(present=present, created=tuple(created))

    def _post(self, operation: str, method: Callable[..., Any], body: Json) -> bool:
        """Create one schema item; False when it already exists (409), so a create that ran
        twice (retried after a 5xx) or raced another worker is harmless."""
        try:
            self.transport.call(operation, method, _OBJECT, body, replay=Replay.UPDATE)
        except ConnectorError as error:
            if error.status == 409:
                return False
            raise
        return True

    def _definition(self, field: str) -> Json:
        label, kind, field_type, description = _DEFINITIONS[field]
        body: Json = {
            "name": TERRITORY_PROPERTIES[field],
            "label": label,
            "type": kind,
            "fieldType": field_type,
            "groupName": self.group,
            "description": description,
            "formField": False,
        }
        if kind == "bool":
            body["options"] = _YES_NO
        return body


def _missing_detail(missing: tuple[str, ...]) -> str:
    names = ", ".join(TERRITORY_PROPERTIES[f] for f in missing)
    return f"missing HubSpot company properties: {names}"
