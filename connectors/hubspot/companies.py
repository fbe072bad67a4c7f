"""Reading companies: the full list, the incremental search, the archived pass, current owners.

The full sync walks `GET /crm/v3/objects/companies` (100 a page, only the properties the rule
needs) to the last cursor. The incremental sync searches `hs_lastmodifieddate` between the
cursor minus the look-back and the run start, sorted by `hs_object_id`, 200 a page, until a page
has no `paging.next` (a short page is not the end).

Each search page asks afresh for ids above the last one seen, rather than following the
`after` offset and restarting with `hs_object_id > last` only at the 10,000-result cap: an
offset shifts when a record edited mid-run leaves the window, and the record that slides into
its place would be skipped for good. Asking afresh never reaches the cap and costs no extra
call. Archived companies appear in neither listing; they have their own pass (archiving does
not bump the modified date).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Final

from connectors.errors import TerminalError
from connectors.hubspot.errors import Json
from connectors.hubspot.paging import LIST_LIMIT, chunks, follow_pages, next_after, results_by_id
from connectors.hubspot.transport import HubSpotTransport
from connectors.records import AccountBuilder
from rules.domain import Account

SEARCH_LIMIT: Final = 200
OWNER_PROPERTY: Final = "hubspot_owner_id"


class CompanyReader:
    """Companies as Accounts, built the way every connector builds them."""

    def __init__(self, transport: HubSpotTransport, builder: AccountBuilder) -> None:
        self.transport = transport
        self.apis = transport.apis
        self.builder = builder

    def all(self) -> Iterator[Account]:
        """Every live company, once."""
        properties = self.builder.properties()
        return (self._account(r) for r in self._listing(properties, archived=False))

    def archived_ids(self) -> Iterator[str]:
        """Ids of archived companies (only the listing with `archived=true` shows them)."""
        return (str(r["id"]) for r in self._listing(["hs_object_id"], archived=True))

    def _listing(self, properties: list[str], *, archived: bool) -> Iterator[Json]:
        def fetch(after: str | None) -> Json:
            return self.transport.call(
                "companies.list",
                self.apis.companies.get_page,
                limit=LIST_LIMIT,
                after=after,
                properties=properties,
                archived=archived,
            ).body

        return follow_pages(fetch)

    def modified_between(self, start: datetime, end: datetime) -> Iterator[Account]:
        """Live companies whose `hs_lastmodifieddate` is in [start, end], in id order."""
        last_id: str | None = None
        while True:
            page = self.transport.call(
                "companies.search",
                self.apis.companies_search.do_search,
                self._search_body(start, end, last_id),
                search=True,
            ).body
            results = page.get("results") or []
            for record in results:
                yield self._account(record)
            if next_after(page) is None:
                return
            if not results:
                raise TerminalError(
                    "HubSpot search returned an empty page that claims more results",
                    code="PAGING",
                )
            last_id = str(results[-1]["id"])

    def _search_body(self, start: datetime, end: datetime, last_id: str | None) -> Json:
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
            "properties": self.builder.properties(),
            "limit": SEARCH_LIMIT,
        }

    def owners_of(self, account_ids: Sequence[str]) -> dict[str, str | None]:
        """Current owner per live company (None: no owner); unknown ids are left out."""
        owners: dict[str, str | None] = {}
        for batch in chunks(dict.fromkeys(account_ids)):
            reply = self.transport.call(
                "companies.batch_read",
                self.apis.companies_batch.read,
                {
                    "inputs": [{"id": i} for i in batch],
                    "properties": [OWNER_PROPERTY],
                    "propertiesWithHistory": [],
                },
                archived=False,
            )
            # Ids HubSpot does not know come back as OBJECT_NOT_FOUND errors: left out.
            for record_id, record in results_by_id(reply.body).items():
                owners[record_id] = (record.get("properties") or {}).get(OWNER_PROPERTY) or None
        return owners

    def _account(self, record: Json) -> Account:
        properties = record.get("properties") or {}
        owner = properties.get(OWNER_PROPERTY) or None
        return self.builder.build(str(record["id"]), properties, owner)


def epoch_ms(moment: datetime) -> int:
    """HubSpot's filter value for a datetime property: epoch milliseconds."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return int(aware.timestamp() * 1000)
