"""Reading companies: the full list, the incremental search, the archived pass, current owners.

The full sync walks `GET /crm/v3/objects/companies` (100 a page, only the properties the rule
needs, and `territory_lock`) to the last cursor. The incremental sync searches
`hs_lastmodifieddate` between the cursor minus the look-back and the run start, sorted by
`hs_object_id`, 200 a page, until a page has no `paging.next` (a short page is not the end).

Both come as `CompanyPage`s whose token continues the read after them: the listing's `after`
cursor (HubSpot's cursor is an id, it does not expire), or the search's last id. A read that
stops on an error resumes from the last page it stored, never from the start.

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

from connectors.base import CompanyPage
from connectors.errors import TerminalError
from connectors.hubspot.errors import Json
from connectors.hubspot.paging import (
    LIST_LIMIT,
    chunks,
    follow_pages,
    next_after,
    results_by_id,
    same_cursor_error,
)
from connectors.hubspot.transport import HubSpotTransport
from connectors.records import AccountBuilder
from rules.domain import Account

SEARCH_LIMIT: Final = 200
OWNER_PROPERTY: Final = "hubspot_owner_id"
# The territory lock checkbox (created by `ensure_fields` or by an admin). HubSpot ignores a
# requested property the portal lacks, so asking for it costs nothing where it is missing.
LOCK_PROPERTY: Final = "territory_lock"


class CompanyReader:
    """Companies as Accounts, built the way every connector builds them."""

    def __init__(self, transport: HubSpotTransport, builder: AccountBuilder) -> None:
        self.transport = transport
        self.apis = transport.apis
        self.builder = builder

    def properties(self) -> list[str]:
        """What a company read asks for: the rule's properties, owner, activity and lock."""
        return sorted({*self.builder.properties(), LOCK_PROPERTY})

    def pages(self, after: str | None) -> Iterator[CompanyPage]:
        """Every live company from the listing cursor `after` on, a page at a time."""
        properties = self.properties()
        while True:
            body = self._list_page(after, properties, archived=False)
            following = next_after(body)
            if following is not None and following == after:
                raise same_cursor_error()
            yield CompanyPage([self._account(r) for r in body.get("results") or []], following)
            if following is None:
                return
            after = following

    def archived_ids(self) -> Iterator[str]:
        """Ids of archived companies (only the listing with `archived=true` shows them)."""
        return (
            str(r["id"])
            for r in follow_pages(
                lambda after: self._list_page(after, ["hs_object_id"], archived=True)
            )
        )

    def _list_page(self, after: str | None, properties: list[str], *, archived: bool) -> Json:
        return self.transport.call(
            "companies.list",
            self.apis.companies.get_page,
            limit=LIST_LIMIT,
            after=after,
            properties=properties,
            archived=archived,
        ).body

    def modified_pages(
        self, start: datetime, end: datetime, last_id: str | None
    ) -> Iterator[CompanyPage]:
        """Those companies with an id above `last_id`, a page at a time; each page's token is
        its last id."""
        while True:
            page = self.transport.call(
                "companies.search",
                self.apis.companies_search.do_search,
                self._search_body(start, end, last_id),
                search=True,
            ).body
            results = page.get("results") or []
            if next_after(page) is None:
                yield CompanyPage([self._account(r) for r in results], None)
                return
            if not results:
                raise TerminalError(
                    "HubSpot search returned an empty page that claims more results",
                    code="PAGING",
                )
            last_id = str(results[-1]["id"])
            yield CompanyPage([self._account(r) for r in results], last_id)

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
            "properties": self.properties(),
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
        account = self.builder.build(str(record["id"]), properties, owner)
        # A checkbox reads "true" when checked; unset, "false" and a missing property are not.
        account.locked = str(properties.get(LOCK_PROPERTY) or "").lower() == "true"
        return account


def epoch_ms(moment: datetime) -> int:
    """HubSpot's filter value for a datetime property: epoch milliseconds."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return int(aware.timestamp() * 1000)
