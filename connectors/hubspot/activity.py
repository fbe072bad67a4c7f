"""Each owner's latest touch per company, from calls, emails, meetings and tasks.

Company properties only say when a company was last touched, not by whom, so this reads the
activity objects themselves and their v4 associations to companies: about ten times the calls
of a company sync. An incremental sync reads only the activities created or edited since its
cursor, through the search (a call per type when none were), not the whole listing again.
Activities whose body carries our note marker are ours and never count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Final

from connectors.base import carries_marker
from connectors.hubspot.associations import associated_ids
from connectors.hubspot.errors import Json
from connectors.hubspot.paging import LIST_LIMIT, chunks, follow_pages, ids_of
from connectors.hubspot.search import modified_pages
from connectors.hubspot.transport import ACTIVITY_OBJECTS, HubSpotTransport
from connectors.records import parse_instant

Touches = dict[tuple[str, str], datetime]  # (company id, owner id) -> latest touch

BODY_PROPERTY: Final = {
    "calls": "hs_call_body",
    "emails": "hs_email_text",
    "meetings": "hs_meeting_body",
    "tasks": "hs_task_body",
}


def fold_touch(touches: Touches, objects: str, activity: Json, companies: Iterable[str]) -> None:
    """Count one activity for its owner on each of `companies`, unless it is one of ours."""
    properties = activity.get("properties") or {}
    owner = properties.get("hubspot_owner_id")
    if not owner or carries_marker(properties.get(BODY_PROPERTY[objects])):
        return
    try:
        when = parse_instant(properties.get("hs_timestamp"))
    except ValueError:
        return  # an activity without a readable time says nothing about recency
    if when is None:
        return
    for company in companies:
        key = (company, str(owner))
        if key not in touches or when > touches[key]:
            touches[key] = when


class ActivityReader:
    """Latest touches, for every company or for some."""

    def __init__(self, transport: HubSpotTransport) -> None:
        self.transport = transport

    def touches(self, account_ids: Iterable[str] | None) -> Touches:
        touches: Touches = {}
        for objects in ACTIVITY_OBJECTS:
            if account_ids is None:
                self._fold_all(touches, objects)
            else:
                self._fold_for(touches, objects, list(account_ids))
        return touches

    def modified_touches(self, start: datetime, end: datetime) -> Touches:
        """Touches of the activities created or edited between `start` and `end`."""
        touches: Touches = {}
        for objects in ACTIVITY_OBJECTS:
            pages = modified_pages(
                self.transport,
                f"{objects}.search",
                self.transport.apis.activities_search[objects].do_search,
                (start, end),
                None,
                _properties(objects),
            )
            for page, _ in pages:
                self._fold_page(touches, objects, page)
        return touches

    def _fold_all(self, touches: Touches, objects: str) -> None:
        """List every activity of one type; ask which companies each page's records are on."""

        def fetch(after: str | None) -> Json:
            return self.transport.call(
                f"{objects}.list",
                self.transport.apis.activities[objects].get_page,
                limit=LIST_LIMIT,
                after=after,
                properties=_properties(objects),
            ).body

        for page in chunks(follow_pages(fetch)):
            self._fold_page(touches, objects, page)

    def _fold_page(self, touches: Touches, objects: str, page: list[Json]) -> None:
        """Count a page of activities of one type on the companies each is associated with."""
        if not page:
            return
        companies = associated_ids(self.transport, objects, "companies", ids_of(page))
        for activity in page:
            fold_touch(touches, objects, activity, companies.get(str(activity["id"]), ()))

    def _fold_for(self, touches: Touches, objects: str, account_ids: Sequence[str]) -> None:
        """Ask which activities each company has, then read those activities."""
        by_company = associated_ids(self.transport, "companies", objects, account_ids)
        companies_of: dict[str, list[str]] = {}
        for company, activity_ids in by_company.items():
            for activity_id in activity_ids:
                companies_of.setdefault(activity_id, []).append(company)
        for batch in chunks(sorted(companies_of)):
            for activity in self._read(objects, batch):
                fold_touch(touches, objects, activity, companies_of[str(activity["id"])])

    def _read(self, objects: str, ids: Sequence[str]) -> list[Json]:
        reply = self.transport.call(
            f"{objects}.batch_read",
            self.transport.apis.activities_batch[objects].read,
            {
                "inputs": [{"id": i} for i in ids],
                "properties": _properties(objects),
                "propertiesWithHistory": [],
            },
            archived=False,
        )
        results: list[Json] = reply.body.get("results") or []
        return results


def _properties(objects: str) -> list[str]:
    """What a touch needs of an activity: its owner, its time, and its body (ours or not)."""
    return ["hubspot_owner_id", "hs_timestamp", BODY_PROPERTY[objects]]


def sorted_touches(touches: Mapping[tuple[str, str], datetime]) -> list[tuple[str, str, datetime]]:
    """(company, owner, latest touch), ordered by company then owner."""
    return [(company, owner, when) for (company, owner), when in sorted(touches.items())]
