"""Reading companies: the full list, the incremental search, the archived pass, current owners.

The full sync walks `GET /crm/v3/objects/companies` (100 a page, only the properties the rule
needs, and `territory_lock`) to the last cursor. The incremental sync searches
`hs_lastmodifieddate` between the cursor minus the look-back and the run start (see `search`).

Both come as `CompanyPage`s whose token continues the read after them: the listing's `after`
cursor (HubSpot's cursor is an id, it does not expire), or the search's last id. A read that
stops on an error resumes from the last page it stored, never from the start. Archived
companies appear in neither listing; they have their own pass (archiving does not bump the
modified date).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Final

from connectors.base import CompanyPage, OwnerState
from connectors.hubspot.errors import Json
from connectors.hubspot.paging import (
    LIST_LIMIT,
    chunks,
    follow_pages,
    next_after,
    results_by_id,
    same_cursor_error,
)
from connectors.hubspot.search import modified_pages
from connectors.hubspot.transport import HubSpotTransport
from connectors.records import AccountBuilder
from rules.domain import Account

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
        pages = modified_pages(
            self.transport,
            "companies.search",
            self.apis.companies_search.do_search,
            (start, end),
            last_id,
            self.properties(),
        )
        for results, token in pages:
            yield CompanyPage([self._account(r) for r in results], token)

    def owners_of(self, account_ids: Sequence[str]) -> dict[str, str | None]:
        """Current owner per live company (None: no owner); unknown ids are left out."""
        return {
            record_id: _owner(properties)
            for record_id, properties in self._batch_read(account_ids, [OWNER_PROPERTY]).items()
        }

    def states_of(self, account_ids: Sequence[str]) -> dict[str, OwnerState]:
        """Current owner and lock per live company, in the same batch reads as `owners_of`
        (a portal without the lock property reads unlocked); unknown ids are left out."""
        return {
            record_id: OwnerState(_owner(properties), _locked(properties))
            for record_id, properties in self._batch_read(
                account_ids, [OWNER_PROPERTY, LOCK_PROPERTY]
            ).items()
        }

    def _batch_read(self, account_ids: Sequence[str], properties: list[str]) -> dict[str, Json]:
        """`properties` of each live company of `account_ids`, a batch read per 100 ids."""
        found: dict[str, Json] = {}
        for batch in chunks(dict.fromkeys(account_ids)):
            reply = self.transport.call(
                "companies.batch_read",
                self.apis.companies_batch.read,
                {
                    "inputs": [{"id": i} for i in batch],
                    "properties": properties,
                    "propertiesWithHistory": [],
                },
                archived=False,
            )
            # Ids HubSpot does not know come back as OBJECT_NOT_FOUND errors: left out.
            for record_id, record in results_by_id(reply.body).items():
                found[record_id] = record.get("properties") or {}
        return found

    def _account(self, record: Json) -> Account:
        properties = record.get("properties") or {}
        account = self.builder.build(str(record["id"]), properties, _owner(properties))
        account.locked = _locked(properties)
        return account


def _owner(properties: Json) -> str | None:
    return properties.get(OWNER_PROPERTY) or None


def _locked(properties: Json) -> bool:
    """Whether the lock checkbox is checked: it reads "true" when checked; unset, "false" and a
    missing property are not."""
    return str(properties.get(LOCK_PROPERTY) or "").lower() == "true"
