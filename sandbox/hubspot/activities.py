"""Activity objects (calls, emails, meetings, tasks): list, batch read and search, read-only.

They carry what a rep's touch needs: owner, time and body (from the optional `body` column of
activities.csv), so a client can tell a rep's activity from one the integration wrote, whose
body carries the note marker. They need no scope of their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.hubspot.portal import Portal
from sandbox.hubspot.search import search_reply
from sandbox.hubspot.values import Json, iso
from sandbox.hubspot.wire import (
    BATCH_LIMIT,
    ENGAGEMENT_ALWAYS_RETURNED,
    LIST_LIMIT,
    batch_read_response,
    bool_param,
    input_ids,
    int_param,
    names_param,
    page_after,
    paging,
    property_names,
    record_json,
)
from sandbox.org import LOADED_AT, ActivityRecord

# Object type in the URL -> `ActivityRecord.kind`.
ACTIVITY_OBJECTS: Final = {
    "calls": "call",
    "emails": "email",
    "meetings": "meeting",
    "tasks": "task",
}
ACTIVITY_BODY: Final = {
    "calls": "hs_call_body",
    "emails": "hs_email_text",
    "meetings": "hs_meeting_body",
    "tasks": "hs_task_body",
}
# The properties a search may filter and sort activities on, typed as HubSpot types them.
SEARCHABLE: Final[dict[str, Json]] = {
    "hs_object_id": {"name": "hs_object_id", "type": "number"},
    "hs_createdate": {"name": "hs_createdate", "type": "datetime"},
    "hs_lastmodifieddate": {"name": "hs_lastmodifieddate", "type": "datetime"},
    "hs_timestamp": {"name": "hs_timestamp", "type": "datetime"},
    "hubspot_owner_id": {"name": "hubspot_owner_id", "type": "enumeration"},
}


class ActivityHandlers:
    """`/crm/v3/objects/{calls,emails,meetings,tasks}`; each handler takes the object type."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.org = portal.org
        self._activities: dict[str, list[ActivityRecord]] = {}
        self._keys: dict[str, list[int]] = {}
        self._by_id: dict[str, dict[str, ActivityRecord]] = {}
        self._activities_seen = -1

    def activities(self, objects: str) -> list[ActivityRecord]:
        """Activities of one type in id order (cached until activities are added)."""
        if self._activities_seen != len(self.org.activities):
            self._activities = {name: [] for name in ACTIVITY_OBJECTS}
            objects_of = {kind: name for name, kind in ACTIVITY_OBJECTS.items()}
            for record in sorted(self.org.activities, key=lambda a: int(a.hubspot_id)):
                self._activities[objects_of[record.kind]].append(record)
            # Paging and batch reads look records up here: a page costs its size.
            self._keys = {n: [int(a.hubspot_id) for a in r] for n, r in self._activities.items()}
            self._by_id = {n: {a.hubspot_id: a for a in r} for n, r in self._activities.items()}
            self._activities_seen = len(self.org.activities)
        return self._activities[objects]

    def activity_values(self, objects: str, record: ActivityRecord) -> dict[str, str]:
        """The activity's properties as HubSpot stores them."""
        owner = self.org.users.get(record.owner_key or "")
        return {
            "hs_object_id": record.hubspot_id,
            "hs_timestamp": iso(record.occurred_at),
            "hubspot_owner_id": owner.hubspot_id if owner else "",
            ACTIVITY_BODY[objects]: record.body,
            "hs_createdate": iso(LOADED_AT),
            "hs_lastmodifieddate": iso(LOADED_AT),
        }

    def activity_json(
        self, objects: str, record: ActivityRecord, names: Iterable[str] | None
    ) -> Json:
        return record_json(
            record.hubspot_id,
            (*ENGAGEMENT_ALWAYS_RETURNED, *(names or ())),
            self.activity_values(objects, record).get,
            created=LOADED_AT,
            updated=LOADED_AT,
        )

    def list_activities(self, objects: str, request: Request, _: Json) -> Response:
        params = request.query_params
        limit = int_param(params, "limit", 10, LIST_LIMIT)
        archived = bool_param(params, "archived")
        records = [] if archived else self.activities(objects)
        keys = [] if archived else self._keys[objects]
        window, after = page_after(keys, params.get("after"), limit)
        names = names_param(params, "properties") or ()
        results = [self.activity_json(objects, a, names) for a in records[window]]
        return JSONResponse({"results": results, **paging(request, after)})

    def batch_read_activities(self, objects: str, request: Request, body: Json) -> Response:
        self.activities(objects)
        by_id = self._by_id[objects]
        names = property_names(body) or ()
        return batch_read_response(
            input_ids(body, BATCH_LIMIT),
            by_id,
            lambda a: self.activity_json(objects, a, names),
            ACTIVITY_OBJECTS[objects].upper(),
        )

    def search_activities(self, objects: str, request: Request, body: Json) -> Response:
        """`POST /crm/v3/objects/{objects}/search` over the activities of one type."""
        del request
        return search_reply(
            body,
            SEARCHABLE,
            self.activities(objects),
            lambda record, name: self.activity_values(objects, record).get(name),
            lambda record, names: self.activity_json(objects, record, names),
            self.portal.sandbox.gate.limits.search_cap,
        )
