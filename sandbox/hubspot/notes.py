"""Notes: create (single and batch, associated to companies on creation) and batch read.

A batch create is validated whole (one bad input refuses it); per-note failure is only possible
when every input carries an `objectWriteTraceId`, HubSpot's opt-in to partial success, because
only then can the 207 say which note failed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.hubspot.associations import ASSOCIATION_TYPES
from sandbox.hubspot.errors import (
    bad_request,
    batch_error,
    invalid_properties,
    property_problem,
)
from sandbox.hubspot.portal import Portal
from sandbox.hubspot.values import (
    NOTE_BODY_LIMIT,
    Json,
    iso,
    moment_text,
    parse_moment,
)
from sandbox.hubspot.wire import (
    BATCH_LIMIT,
    ENGAGEMENT_ALWAYS_RETURNED,
    batch_read_response,
    batch_response,
    input_ids,
    object_list,
    object_of,
    properties_of,
    property_names,
    record_json,
    scalar_text,
)
from sandbox.org import Company, NoteRecord


class NoteHandlers:
    """`/crm/v3/objects/notes` over one portal's org."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.org = portal.org

    def create_note(self, request: Request, body: Json) -> Response:
        properties, targets = self.note_input(body)
        note = self.add_note(properties, targets)
        return JSONResponse(self.note_json(note, None), status_code=201)

    def batch_create_notes(self, request: Request, body: Json) -> Response:
        input_ids(body, BATCH_LIMIT)
        inputs = object_list(body["inputs"], "inputs")
        # Validation is all or nothing: one bad input refuses the batch.
        checked = [self.note_input(i) for i in inputs]
        traces = [
            scalar_text(i.get("objectWriteTraceId"), "objectWriteTraceId") or "" for i in inputs
        ]
        gate = self.portal.sandbox.gate
        rate = gate.partial_rate("hubspot.notes.batch_create") if all(traces) else 0
        results: list[Json] = []
        failed: list[str] = []
        for (properties, targets), trace in zip(checked, traces, strict=True):
            if gate.chance(rate):
                failed.append(trace)
                continue
            results.append(self.note_json(self.add_note(properties, targets), None, trace))
        errors = []
        if failed:
            message = "An internal error occurred while creating these records; try again."
            errors.append(batch_error("INTERNAL_ERROR", message, {"objectWriteTraceId": failed}))
        return batch_response(results, errors, ok_status=201)

    def note_input(self, body: Json) -> tuple[dict[str, str], list[Company]]:
        """Validate one note create input; return its properties and the companies it joins."""
        properties = properties_of(body)
        problems = []
        if not properties.get("hs_timestamp"):
            message = "hs_timestamp is required"
            problems.append(property_problem("hs_timestamp", "REQUIRED", message))
        elif parse_moment(properties["hs_timestamp"]) is None:
            message = f"{properties['hs_timestamp']!r} is not a valid datetime"
            problems.append(property_problem("hs_timestamp", "INVALID_DATETIME", message))
        if len(properties.get("hs_note_body", "")) > NOTE_BODY_LIMIT:
            message = f"hs_note_body is longer than {NOTE_BODY_LIMIT} characters"
            problems.append(property_problem("hs_note_body", "VALUE_TOO_LONG", message))
        owner = properties.get("hubspot_owner_id", "")
        if owner and owner not in self.org.users_by_hubspot:
            message = f"{owner} is not a valid owner id"
            problems.append(property_problem("hubspot_owner_id", "INVALID_OWNER_ID", message))
        if problems:
            raise invalid_properties(problems)
        associations = object_list(body.get("associations"), "associations")
        return properties, [self.association_target(a) for a in associations]

    def association_target(self, spec: Json) -> Company:
        """The live company a note-to-company association names (400 for any other kind)."""
        target = object_of(spec.get("to"), "associations[].to")
        record_id = scalar_text(target.get("id"), "associations[].to.id") or ""
        for kind in object_list(spec.get("types"), "associations[].types") or [{}]:
            category, type_id = kind.get("associationCategory"), kind.get("associationTypeId")
            if category != "HUBSPOT_DEFINED" or type_id != ASSOCIATION_TYPES["notes", "companies"]:
                raise bad_request(
                    f"association type {category}/{type_id} is not valid from note to company "
                    f"(HUBSPOT_DEFINED/{ASSOCIATION_TYPES['notes', 'companies']} is)"
                )
        company = self.portal.live_company(record_id)
        if company is None:
            raise bad_request("One or more associations are invalid", context={"ids": [record_id]})
        return company

    def add_note(self, properties: Mapping[str, str], targets: list[Company]) -> NoteRecord:
        owner = self.org.users_by_hubspot.get(properties.get("hubspot_owner_id", ""))
        return self.org.add_note(
            body=properties.get("hs_note_body", ""),
            title="",
            timestamp=properties["hs_timestamp"],
            owner_key=owner.key if owner else None,
            account_keys=list(dict.fromkeys(c.key for c in targets)),
        )

    def note_json(self, note: NoteRecord, names: Iterable[str] | None, trace: str = "") -> Json:
        owner = self.org.users.get(note.owner_key or "")
        values = {
            "hs_object_id": note.hubspot_id,
            "hs_note_body": note.body,
            "hs_timestamp": moment_text(note.timestamp),
            "hubspot_owner_id": owner.hubspot_id if owner else "",
            "hs_createdate": iso(note.created_at),
            "hs_lastmodifieddate": iso(note.created_at),
        }
        body = record_json(
            note.hubspot_id,
            (*ENGAGEMENT_ALWAYS_RETURNED, *(names or ())),
            values.get,
            created=note.created_at,
            updated=note.created_at,
        )
        if trace:
            body["objectWriteTraceId"] = trace
        return body

    def batch_read_notes(self, request: Request, body: Json) -> Response:
        names = property_names(body)
        ids = input_ids(body, BATCH_LIMIT)
        return batch_read_response(ids, self.org.notes, lambda n: self.note_json(n, names), "NOTE")
