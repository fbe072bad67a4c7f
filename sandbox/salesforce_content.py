"""Creating ContentNote and ContentDocumentLink records, one at a time or in a collection.

`POST sobjects/ContentNote` / `sobjects/ContentDocumentLink` create one record (201, or 400
with the error list); `POST composite/sobjects` creates up to 200, of either type, answered
with one SaveResult per record in input order (`allOrNone` rolls every record back when one
fails). A record is checked, then made, one after the other, so a second link of the same note
to the same account in one call fails as DUPLICATE_VALUE, as it does in Salesforce.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from sandbox.org import Company, NoteRecord, Org
from sandbox.salesforce_updates import Error, rolled_back_error, save_error

CREATABLE: Final = ("ContentNote", "ContentDocumentLink")


class ContentCreator:
    """Checks and creates notes and their links in one org (it takes the org's lock)."""

    def __init__(self, org: Org, live_account: Callable[[str], Company | None]) -> None:
        self.org = org
        self.live_account = live_account

    def create(self, sobject: str, body: Mapping[str, Any]) -> tuple[str | None, Error | None]:
        """Create one record of type `sobject`: (its id, None) or (None, the SaveResult error)."""
        with self.org.lock:
            if sobject == "ContentNote":
                return self._note(body)
            if sobject == "ContentDocumentLink":
                return self._link(body)
            return None, save_error(
                "NOT_SUPPORTED", f"the sandbox creates {' and '.join(CREATABLE)} records only"
            )

    def create_collection(
        self, records: list[Mapping[str, Any]], *, all_or_none: bool
    ) -> list[dict[str, object]]:
        """The SaveResults of creating `records` (each carries `attributes.type`)."""
        with self.org.lock:
            if all_or_none:
                problems = [self._problem(r) for r in records]
                if any(problems):
                    return [_failure(p or rolled_back_error()) for p in problems]
            results: list[dict[str, object]] = []
            for record in records:
                problem = self._problem(record)
                if problem is not None:
                    results.append(_failure(problem))
                    continue
                fields = {k: v for k, v in record.items() if k != "attributes"}
                created, error = self.create(record["attributes"]["type"], fields)
                results.append(_failure(error) if error else _success(created))
            return results

    def _problem(self, record: Mapping[str, Any]) -> Error | None:
        """What stops `record` before it is made (its type, an id given on insert)."""
        kind = record["attributes"].get("type")
        if kind not in CREATABLE:
            return save_error(
                "INVALID_TYPE", f"the sandbox creates {' and '.join(CREATABLE)} records only"
            )
        if record.get("id") or record.get("Id"):
            return save_error(
                "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call"
            )
        return None

    def _note(self, body: Mapping[str, Any]) -> tuple[str | None, Error | None]:
        title = body.get("Title")
        if not isinstance(title, str) or not title.strip():
            return None, save_error(
                "REQUIRED_FIELD_MISSING", "Required fields are missing: [Title]", ["Title"]
            )
        try:
            content = base64.b64decode(str(body.get("Content") or ""), validate=True).decode(
                "utf-8"
            )
        except (ValueError, UnicodeDecodeError):  # binascii.Error is one
            return None, save_error(
                "INVALID_TYPE_ON_FIELD_IN_RECORD",
                "Content: value not of required type: base64",
                ["Content"],
            )
        note = self.org.add_note(
            body=content,
            title=title,
            timestamp=datetime.now(UTC).isoformat(),
            owner_key=self.org.integration_user_key,
            account_keys=[],
        )
        return note.salesforce_id, None

    def _link(self, body: Mapping[str, Any]) -> tuple[str | None, Error | None]:
        note: NoteRecord | None = self.org.notes_by_salesforce.get(
            str(body.get("ContentDocumentId"))
        )
        company = self.live_account(str(body.get("LinkedEntityId")))
        if note is None or company is None:
            missing = "ContentDocumentId" if note is None else "LinkedEntityId"
            return None, save_error(
                "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [missing]
            )
        if body.get("ShareType", "V") not in ("V", "C", "I"):
            return None, save_error(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "ShareType: bad value", ["ShareType"]
            )
        if company.key in note.link_ids:
            return None, save_error(
                "DUPLICATE_VALUE",
                f"Document with ID: {note.salesforce_id} is already linked with the entity "
                f"with ID: {company.salesforce_id}",
            )
        return self.org.link_note(note, company), None


def _success(record_id: str | None) -> dict[str, object]:
    return {"id": record_id, "success": True, "errors": []}


def _failure(error: Error) -> dict[str, object]:
    return {"success": False, "errors": [error]}
