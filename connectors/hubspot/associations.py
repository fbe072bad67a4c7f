"""Which records are associated with which, through the v4 associations batch read."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.hubspot.errors import Json, is_no_associations, record_error
from connectors.hubspot.paging import chunks, next_after
from connectors.hubspot.transport import HubSpotTransport


def associated_ids(
    transport: HubSpotTransport, source: str, target: str, ids: Sequence[str]
) -> dict[str, list[str]]:
    """`source` id -> ids of its associated `target` records (ids with none are left out).

    A record with more associations than one answer holds gets its own next page, by cursor.
    """
    found: dict[str, list[str]] = {}
    for batch in chunks(dict.fromkeys(ids)):
        inputs: list[Json] = [{"id": i} for i in batch]
        while inputs:
            reply = transport.call(
                "associations.batch_read",
                transport.apis.associations.get_page,
                source,
                target,
                {"inputs": inputs},
            )
            inputs = []
            for result in reply.body.get("results") or []:
                from_id = str(result["from"]["id"])
                found.setdefault(from_id, []).extend(str(t["toObjectId"]) for t in result["to"])
                following = next_after(result)
                if following is not None:
                    inputs.append({"id": from_id, "after": following})
            for entry in reply.body.get("errors") or []:
                if not is_no_associations(entry):
                    raise record_error("associations.batch_read", entry)
    return found
