"""One sandbox's org as a HubSpot portal sees it: company ids in order, the property catalogue,
and each company's property values, which companies, search and writes all read alike.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Final

from sandbox.hubspot.values import (
    COLUMN_BY_PROPERTY,
    LOCK_PROPERTY,
    Json,
    builtin_properties,
    iso,
    lock_property_definition,
    ms_text,
)
from sandbox.hubspot.wire import record_json
from sandbox.org import SIGNAL_PREFIX, Company
from sandbox.state import Sandbox

ALWAYS_RETURNED: Final = ("createdate", "hs_lastmodifieddate", "hs_object_id")
DEFAULT_COMPANY_PROPERTIES: Final = ("createdate", "domain", "hs_lastmodifieddate", "name")


class Portal:
    """What every resource's handlers share. Its methods expect the org to be locked."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.org = sandbox.org
        self._ids: list[int] = []
        self._builtin = builtin_properties(self.org.signals)
        if any(c.locked for c in self.org.companies.values()):
            define_lock_property(sandbox)  # locks exist, so the property they live in does
        # Properties HubSpot derives from the record rather than storing as typed.
        self._derived: dict[str, Callable[[Company], str]] = {
            "hs_object_id": lambda c: c.hubspot_id,
            "createdate": lambda c: iso(c.created_at),
            "hs_lastmodifieddate": lambda c: iso(c.updated_at),
            "hubspot_owner_id": self.owner_id_of,
            "hs_parent_company_id": self.parent_id_of,
            "notes_last_contacted": lambda c: _activity_value(c, iso),
            "hs_last_sales_activity_timestamp": lambda c: _activity_value(c, ms_text),
            "notes_last_updated": self.notes_updated_of,
        }

    def company_ids(self) -> list[int]:
        """Every company id, sorted (cached until a company is added)."""
        if len(self._ids) != len(self.org.by_hubspot):
            self._ids = sorted(int(i) for i in self.org.by_hubspot)
        return self._ids

    def company_page(
        self, *, archived: bool, after: int | None, limit: int
    ) -> tuple[list[Company], str | None]:
        """Up to `limit` companies from id `after` on, and the next page's cursor.

        Walks the sorted ids from the cursor, so a page costs its own size, not the portal's.
        """
        ids = self.company_ids()
        by_id = self.org.by_hubspot
        page: list[Company] = []
        start = bisect.bisect_left(ids, after) if after is not None else 0
        for position in range(start, len(ids)):
            company = by_id[str(ids[position])]
            if company.archived != archived:
                continue
            if len(page) == limit:
                return page, company.hubspot_id
            page.append(company)
        return page, None

    def companies_where(self, *, archived: bool) -> list[Company]:
        by_id = self.org.by_hubspot
        found = (by_id[str(i)] for i in self.company_ids())
        return [c for c in found if c.archived == archived]

    def live_company(self, record_id: str) -> Company | None:
        company = self.org.by_hubspot.get(record_id)
        return company if company is not None and not company.archived else None

    def catalogue(self) -> dict[str, Json]:
        """Every company property definition, built-in and custom, by name."""
        return {**self._builtin, **self.sandbox.custom_properties}

    # ---- company values ---------------------------------------------------------------------

    def company_value(self, company: Company, name: str) -> str | None:
        """Property `name` of `company` as HubSpot stores it ("" when empty)."""
        column = COLUMN_BY_PROPERTY.get(name)
        if column is not None:
            return company.values.get(column, "")
        derive = self._derived.get(name)
        if derive is not None:
            return derive(company)
        if name.startswith("last_") and name.endswith("_date"):
            signal = name[len("last_") : -len("_date")]
            if signal in self.org.signals:
                return company.values.get(SIGNAL_PREFIX + signal, "")
        if name == LOCK_PROPERTY and name in self.sandbox.custom_properties:
            return "true" if company.locked else "false"
        if name in self.sandbox.custom_properties:
            return company.territory.get(name, "")
        return None

    def owner_id_of(self, company: Company) -> str:
        user = self.org.owner_user(company)
        return user.hubspot_id if user else ""

    def parent_id_of(self, company: Company) -> str:
        parent = self.org.companies.get(company.parent_key or "")
        return parent.hubspot_id if parent else ""

    def notes_updated_of(self, company: Company) -> str:
        stamps = [n.created_at for n in self.org.notes.values() if company.key in n.account_keys]
        return iso(max(stamps)) if stamps else ""

    def company_json(self, company: Company, names: Iterable[str] | None) -> Json:
        """`company` as v3 answers it, with `names` (or HubSpot's defaults) as properties."""
        wanted = DEFAULT_COMPANY_PROPERTIES if names is None else names
        return record_json(
            company.hubspot_id,
            (*wanted, *ALWAYS_RETURNED),
            lambda name: self.company_value(company, name),
            created=company.created_at,
            updated=company.updated_at,
            archived=company.archived,
        )


def _activity_value(company: Company, render: Callable[[datetime], str]) -> str:
    moment = company.last_activity_at
    return "" if moment is None else render(moment)


def define_lock_property(sandbox: Sandbox) -> None:
    """Give the portal its `territory_lock` property, unless it has one already."""
    sandbox.custom_properties.setdefault(LOCK_PROPERTY, lock_property_definition())
