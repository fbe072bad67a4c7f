"""Records modified in a window, through the CRM search: the incremental reads.

A search asks for `hs_lastmodifieddate` between a start and an end, sorted by `hs_object_id`,
200 a page, until a page has no `paging.next` (a short page is not the end). Each page asks
afresh for ids above the last one seen, rather than following the `after` offset and restarting
with `hs_object_id > last` only at the 10,000-result cap: an offset shifts when a record edited
mid-run leaves the window, and the record that slides into its place would be skipped for good.
Asking afresh never reaches the cap and costs no extra call. A page's token is its last id, so
a read stopped by an error resumes after the last page it stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from connectors.errors import TerminalError
from connectors.hubspot.errors import Json
from connectors.hubspot.paging import next_after
from connectors.hubspot.transport import HubSpotTransport

SEARCH_LIMIT: Final = 200


def modified_pages(
    transport: HubSpotTransport,
    operation: str,
    search: Callable[..., Any],
    window: tuple[datetime, datetime],
    last_id: str | None,
    properties: Sequence[str],
) -> Iterator[tuple[list[Json], str | None]]:
    """(records, token) per page of those modified within `window` with an id above `last_id`;
    the token is the page's last id, None on the last page."""
    while True:
        page = transport.call(
            operation, search, _search_body(window, last_id, properties), search=True
        ).body
        results: list[Json] = page.get("results") or []
        if next_after(page) is None:
            yield results, None
            return
        if not results:
            raise TerminalError(
                "HubSpot search returned an empty page that claims more results", code="PAGING"
            )
        last_id = str(results[-1]["id"])
        yield results, last_id


def _search_body(
    window: tuple[datetime, datetime], last_id: str | None, properties: Sequence[str]
) -> Json:
    start, end = window
    filters: list[Json] = [
        {
            "propertyName": "hs_lastmodifieddate",
            "operator": "BETWEEN",
            "value": str(epoch_ms(start)),
            "highValue": str(epoch_ms(end)),
        }
    ]
    if last_id is not None:
        filters.append({"propertyName": "hs_object_id", "operator": "GT", "value": last_id})
    return {
        "filterGroups": [{"filters": filters}],
        "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        "properties": list(properties),
        "limit": SEARCH_LIMIT,
    }


def epoch_ms(moment: datetime) -> int:
    """HubSpot's filter value for a datetime property: epoch milliseconds."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return int(aware.timestamp() * 1000)
