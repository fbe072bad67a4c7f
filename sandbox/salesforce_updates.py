"""Account updates checked the way Salesforce checks them, for sObject PATCH and Collections.

Each update record becomes an `AccountUpdate`: the owner and territory values it asks for, or
the errors Salesforce would answer (a malformed, unknown or inactive `OwnerId`; a field that
does not exist, is read-only, or holds a value of the wrong type). Checking never writes;
`AccountUpdates.apply` does, so an `allOrNone` call can check every record before writing any.
Errors are SaveResult errors (`statusCode`, `message`, `fields`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from sandbox.org import Company, Org
from sandbox.salesforce_fields import CustomField, territory_fields
from sandbox.salesforce_objects import LOCK_FIELD, SalesforceView, json_value, parse_instant

Error = dict[str, object]

_ID: Final = re.compile(r"[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?")
_ROLLED_BACK: Final = (
    "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header"
)


def save_error(code: str, message: str, fields: list[str] | None = None) -> Error:
    """One error of a SaveResult."""
    return {"statusCode": code, "message": message, "fields": fields or []}


def rolled_back_error() -> Error:
    """The error of a record an `allOrNone` call rolled back because another one failed."""
    return save_error("ALL_OR_NONE_OPERATION_ROLLED_BACK", _ROLLED_BACK)


def rest_error(error: Error) -> Error:
    """A SaveResult error as a single-record call reports it (`errorCode`, not `statusCode`)."""
    return {
        "message": error["message"],
        "errorCode": error["statusCode"],
        "fields": error["fields"],
    }


@dataclass(slots=True)
class AccountUpdate:
    """What one update record asks for, once checked: an owner and/or territory fields."""

    company: Company | None = None
    owner_key: str | None = None
    territory: dict[str, str] = field(default_factory=dict)
    errors: list[Error] = field(default_factory=list)

    def fail(self, code: str, message: str, fields: list[str] | None = None) -> AccountUpdate:
        self.errors.append(save_error(code, message, fields))
        return self


class AccountUpdates:
    """Checks and applies Account updates against one org (callers hold the org's lock)."""

    def __init__(self, org: Org, view: SalesforceView) -> None:
        self.org = org
        self.view = view

    def check_record(self, record: object) -> AccountUpdate:
        """A Collections record: `attributes.type` Account, an `id`, then the fields."""
        if not isinstance(record, dict):
            return AccountUpdate().fail("JSON_PARSER_ERROR", "expected an object")
        attributes = record.get("attributes")
        kind = attributes.get("type") if isinstance(attributes, dict) else None
        if kind != "Account":
            return AccountUpdate().fail(
                "INVALID_TYPE", f"the sandbox updates Account records, not {kind!r}"
            )
        record_id = record.get("id") or record.get("Id")
        if not record_id:
            return AccountUpdate().fail("MISSING_ARGUMENT", "Id not specified in an update call")
        company = self.org.by_salesforce.get(str(record_id))
        if company is None or company.archived:
            code = "ENTITY_IS_DELETED" if company else "INVALID_CROSS_REFERENCE_KEY"
            return AccountUpdate().fail(code, f"no live Account {record_id}")
        return self.check(company, record)

    def check(self, company: Company, record: Mapping[str, object]) -> AccountUpdate:
        """The fields of one update of `company` (id and attributes are skipped)."""
        update = AccountUpdate(company=company, owner_key=company.owner_key)
        schema = self.view.account_schema()
        custom_fields = territory_fields()
        for name, value in record.items():
            if name in {"attributes", "id", "Id"}:
                continue
            if name == "OwnerId":
                self._check_owner(value, update)
            elif name in custom_fields and name in schema:
                _check_custom(custom_fields[name], value, update)
            elif name in schema:
                update.fail(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {name}. Please check the security "
                    "settings of this field and verify that it is read/write for your profile "
                    "or permission set.",
                    [name],
                )
            else:
                update.fail(
                    "INVALID_FIELD", f"No such column '{name}' on sobject of type Account", [name]
                )
        return update

    def _check_owner(self, value: object, update: AccountUpdate) -> None:
        if not isinstance(value, str) or not _ID.fullmatch(value):
            update.fail(
                "MALFORMED_ID", f"Owner ID: id value of incorrect type: {value}", ["OwnerId"]
            )
            return
        user = self.org.users_by_salesforce.get(value)
        if user is None:
            update.fail("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["OwnerId"])
        elif not user.active:
            update.fail(
                "INACTIVE_OWNER_OR_USER",
                f"operation performed with inactive user [{value}] as owner of account",
            )
        else:
            update.owner_key = user.key

    def apply(self, update: AccountUpdate) -> None:
        company = update.company
        assert company is not None, "only a checked update without errors is applied"
        territory = dict(update.territory)
        if LOCK_FIELD in territory:
            company.locked = territory.pop(LOCK_FIELD) == "true"
        company.territory.update(territory)
        # set_owner counts the write and bumps SystemModstamp and the ETag, as any update does.
        self.org.set_owner(company, update.owner_key)

    def save_result(self, update: AccountUpdate, *, rolled_back: bool) -> dict[str, object]:
        """Apply `update` unless it failed or the call rolls back; its SaveResult."""
        if update.errors:
            return {"success": False, "errors": update.errors}
        if rolled_back:
            return {
                "success": False,
                "errors": [rolled_back_error()],
            }
        self.apply(update)
        assert update.company is not None
        return {"id": update.company.salesforce_id, "success": True, "errors": []}


def lock_error(update: AccountUpdate) -> Error:
    """The per-record failure the gate's `partial` fault injects (transient in Salesforce)."""
    record_id = update.company.salesforce_id if update.company else ""
    return save_error(
        "UNABLE_TO_LOCK_ROW",
        f"unable to obtain exclusive access to this record or 1 records: {record_id}",
    )


def _check_custom(custom: CustomField, value: object, update: AccountUpdate) -> None:
    stored = _stored_text(custom, value)
    if stored is None:
        update.fail(
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            f"{custom.label}: value not of required type: {value}",
            [custom.name],
        )
    elif custom.length is not None and len(stored) > custom.length:
        update.fail(
            "STRING_TOO_LONG",
            f"{custom.label}: data value too large: {stored} (max length={custom.length})",
            [custom.name],
        )
    else:
        update.territory[custom.name] = stored


def _stored_text(custom: CustomField, value: object) -> str | None:
    """The org's text for a custom field value; None when the value has the wrong type."""
    if value is None:
        return "false" if custom.type == "boolean" else ""
    if custom.type == "boolean":
        text = str(value).lower()
        return text if isinstance(value, bool) or text in {"true", "false"} else None
    if not isinstance(value, str):
        return None
    if custom.type == "string":
        return value
    try:
        instant = parse_instant(value)
    except ValueError:
        return None
    if instant is None:
        return ""
    return instant.date().isoformat() if custom.type == "date" else str(json_value(instant))
