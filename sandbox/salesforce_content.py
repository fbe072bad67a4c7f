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
            problem = self._check(sobject, body, set())
            if problem is not None:
                return None, problem
            return self._make(sobject, body), None

    def create_collection(
        self, records: list[Mapping[str, Any]], *, all_or_none: bool
    ) -> list[dict[str, object]]:
        """The SaveResults of creating `records` (each carries `attributes.type`)."""
        with self.org.lock:
            if all_or_none:
                linking: set[tuple[str, str]] = set()
                problems = [self._check_record(r, linking) for r in records]
                if any(problems):
                    return [_failure(p or rolled_back_error()) for p in problems]
            results: list[dict[str, object]] = []
            for record in records:
                problem = self._check_record(record, set())
                if problem is not None:
                    results.append(_failure(problem))
                else:
                    results.append(_success(self._make(_type(record), _fields(record))))
            return results

    def _check_record(
        self, record: Mapping[str, Any], linking: set[tuple[str, str]]
    ) -> Error | None:
        """What stops `record` (its type, an id given on insert, its fields)."""
        if record.get("id") or record.get("Id"):
            return save_error(
                "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call"
            )
        return self._check(_type(record), _fields(record), linking)

    def _check(
        self, sobject: str, body: Mapping[str, Any], linking: set[tuple[str, str]]
    ) -> Error | None:
        """The error that would refuse creating `body` as `sobject`, without creating it;
        `linking` collects the links a call checked so far (a repeat is a duplicate)."""
        if sobject == "ContentNote":
            return _note_problem(body)
        if sobject == "ContentDocumentLink":
            return self._link_problem(body, linking)
        return save_error(
            "INVALID_TYPE", f"the sandbox creates {' and '.join(CREATABLE)} records only"
        )

    def _link_problem(self, body: Mapping[str, Any], linking: set[tuple[str, str]]) -> Error | None:
        note = self.org.notes_by_salesforce.get(str(body.get("ContentDocumentId")))
        company = self.live_account(str(body.get("LinkedEntityId")))
        if note is None or company is None:
            missing = "ContentDocumentId" if note is None else "LinkedEntityId"
            return save_error(
                "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [missing]
            )
        if body.get("ShareType", "V") not in ("V", "C", "I"):
            return save_error(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "ShareType: bad value", ["ShareType"]
            )
        pair = (note.salesforce_id, company.key)
        if company.key in note.link_ids or pair in linking:
            return save_error(
                "DUPLICATE_VALUE",
                f"Document with ID: {note.salesforce_id} is already linked with the entity "
                f"with ID: {company.salesforce_id}",
            )
        linking.add(pair)
        return None

    def _make(self, sobject: str, body: Mapping[str, Any]) -> str:
        """Create a checked record; its id."""
        if sobject == "ContentNote":
            note = self.org.add_note(
                body=_content(body) or "",
                title=str(body["Title"]),
                timestamp=datetime.now(UTC).isoformat(),
                owner_key=self.org.integration_user_key,
                account_keys=[],
            )
            return note.salesforce_id
        note_record: NoteRecord = self.org.notes_by_salesforce[str(body["ContentDocumentId"])]
        company = self.live_account(str(body["LinkedEntityId"]))
        assert company is not None, "a checked link names a live account"
        return self.org.link_note(note_record, company)


def _note_problem(body: Mapping[str, Any]) -> Error | None:
    title = body.get("Title")
    if not isinstance(title, str) or not title.strip():
        return save_error(
            "REQUIRED_FIELD_MISSING", "Required fields are missing: [Title]", ["Title"]
        )
    if _content(body) is None:
        return save_error(
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            "Content: value not of required type: base64",
            ["Content"],
        )
    return None


def _content(body: Mapping[str, Any]) -> str | None:
    """The note's text from its base64 Content; None when it is not base64 of UTF-8."""
    try:
        return base64.b64decode(str(body.get("Content") or ""), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):  # binascii.Error is one
        return None


def _type(record: Mapping[str, Any]) -> str:
    return str(record["attributes"].get("type"))


def _fields(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "attributes"}


def _success(record_id: str | None) -> dict[str, object]:
    return {"id": record_id, "success": True, "errors": []}


def _failure(error: Error) -> dict[str, object]:
    return {"success": False, "errors": [error]}
