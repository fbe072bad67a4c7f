"""`POST /crm/v4/associations/{from}/{to}/batch/read` between companies and engagements.

Each input pages on its own (at most `ASSOCIATIONS_PER_OBJECT` targets, then an `after`), and
a record with no associations is an OBJECT_NOT_FOUND in a 207 rather than an empty result, as
HubSpot answers it.
"""

from __future__ import annotations

import bisect
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from sandbox.hubspot.activities import ACTIVITY_OBJECTS
from sandbox.hubspot.errors import bad_request, batch_error
from sandbox.hubspot.portal import Portal
from sandbox.hubspot.values import Json
from sandbox.hubspot.wire import batch_response, input_ids, scalar_text

ASSOCIATIONS_BATCH_LIMIT: Final = 1000
ASSOCIATIONS_PER_OBJECT: Final = 500
# HubSpot-defined association type ids, by (from object, to object).
ASSOCIATION_TYPES: Final = {
    ("companies", "notes"): 189,
    ("notes", "companies"): 190,
    ("companies", "calls"): 181,
    ("calls", "companies"): 182,
    ("companies", "emails"): 185,
    ("emails", "companies"): 186,
    ("companies", "meetings"): 187,
    ("meetings", "companies"): 188,
    ("companies", "tasks"): 191,
    ("tasks", "companies"): 192,
}


class AssociationHandlers:
    """v4 association reads over one portal's org (archived companies have none)."""

    def __init__(self, portal: Portal) -> None:
        self.org = portal.org

    def batch_read_associations(self, request: Request, body: Json) -> Response:
        source, target = request.path_params["fromObjectType"], request.path_params["toObjectType"]
        type_id = ASSOCIATION_TYPES.get((source, target))
        if type_id is None:
            raise bad_request(f"Unknown association from {source} to {target}")
        ids = input_ids(body, ASSOCIATIONS_BATCH_LIMIT)
        afters = {
            record_id: scalar_text(i.get("after"), "inputs[].after") or ""
            for record_id, i in zip(ids, body["inputs"], strict=True)
        }
        linked = self.associated(source, target)
        results, empty = [], []
        for record_id in dict.fromkeys(ids):
            targets = linked.get(record_id, [])
            if not targets:
                empty.append(record_id)
                continue
            results.append(
                _association_result(record_id, targets, afters.get(record_id) or None, type_id)
            )
        errors = [_no_associations(source, target, record_id) for record_id in empty]
        return batch_response(results, errors)

    def associated(self, source: str, target: str) -> dict[str, list[int]]:
        """From-object id -> associated to-object ids (sorted), for one pair of object types."""
        pairs: list[tuple[str, str]] = []  # (company id, other id)
        other = target if source == "companies" else source
        if other == "notes":
            pairs = [
                (self.org.companies[key].hubspot_id, note.hubspot_id)
                for note in self.org.notes.values()
                for key in note.account_keys
                if not self.org.companies[key].archived
            ]
        else:
            kind = ACTIVITY_OBJECTS[other]
            pairs = [
                (self.org.companies[a.account_key].hubspot_id, a.hubspot_id)
                for a in self.org.activities
                if a.kind == kind and not self.org.companies[a.account_key].archived
            ]
        found: dict[str, list[int]] = {}
        for company_id, other_id in pairs:
            key, value = (company_id, other_id) if source == "companies" else (other_id, company_id)
            found.setdefault(key, []).append(int(value))
        return {k: sorted(v) for k, v in found.items()}


def _no_associations(source: str, target: str, record_id: str) -> Json:
    """The 207 entry for a record with no associations; the detail names the sub-category, a
    string where the spec has one (its `StandardError.subCategory` is an object)."""
    message = f"No {target} is associated with {source} {record_id}."
    return {
        **batch_error("OBJECT_NOT_FOUND", message, {"fromObjectId": [record_id]}),
        "errors": [{"message": message, "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND"}],
    }


def _association_result(
    record_id: str, targets: list[int], after: str | None, type_id: int
) -> Json:
    start = bisect.bisect_left(targets, int(after)) if after and after.isdigit() else 0
    page = targets[start : start + ASSOCIATIONS_PER_OBJECT]
    result: Json = {
        "from": {"id": record_id},
        "to": [
            {
                "toObjectId": target,
                # An unlabeled association has no label (the spec's `label` is a string).
                "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": type_id}],
            }
            for target in page
        ],
    }
    following = start + ASSOCIATIONS_PER_OBJECT
    if following < len(targets):
        result["paging"] = {"next": {"after": str(targets[following])}}
    return result
