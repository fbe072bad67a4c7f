"""Owners: `GET /crm/v3/owners` twice, because deactivated users appear only with archived=true."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from connectors.hubspot.errors import Json
from connectors.hubspot.paging import follow_pages
from connectors.hubspot.transport import HubSpotTransport
from rules.domain import Owner

OWNERS_LIMIT: Final = 500


def iter_owners(transport: HubSpotTransport) -> Iterator[Owner]:
    """Active owners (queues included), then deactivated ones as `active=False`.

    An owner's `id` is what `hubspot_owner_id` holds on records; its `userId` is not.
    """
    for archived in (False, True):

        def fetch(after: str | None, archived: bool = archived) -> Json:
            return transport.call(
                "owners.list",
                transport.apis.owners.get_page,
                limit=OWNERS_LIMIT,
                after=after,
                archived=archived,
            ).body

        for record in follow_pages(fetch):
            yield Owner(
                id=str(record["id"]),
                email=str(record.get("email") or ""),
                first_name=str(record.get("firstName") or ""),
                last_name=str(record.get("lastName") or ""),
                active=not archived,
            )
