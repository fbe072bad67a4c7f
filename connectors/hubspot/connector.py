"""`HubSpotConnector`: the `connectors.base.Connector` protocol over HubSpot's CRM API.

Endpoints and mapping live in the modules beside this one; budget, retries and errors live once
in `transport`. Accounts are built by `connectors.records.AccountBuilder`, so a HubSpot portal
and a CSV export of it give the same accounts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime

from connectors.base import (
    BudgetReport,
    CompanyPage,
    FieldCheck,
    Note,
    OwnerState,
    OwnerWrite,
    WriteResult,
    accounts_in,
)
from connectors.budget import RateBudget, hubspot_windows
from connectors.hubspot.account import portal_id
from connectors.hubspot.activity import ActivityReader, sorted_touches
from connectors.hubspot.companies import CompanyReader
from connectors.hubspot.config import HubSpotConfig
from connectors.hubspot.fields import FieldManager
from connectors.hubspot.notes import NoteStore
from connectors.hubspot.owners import iter_owners
from connectors.hubspot.transport import HubSpotTransport
from connectors.hubspot.writes import OwnerWriter
from connectors.records import AccountBuilder
from rules.domain import Account, Owner
from rules.readable_fields import missing_from
from rules.schema import RuleFile


class HubSpotConnector:
    """HubSpot through the official client, within a rate budget shared by every worker.

    `budget` defaults to an in-process one at HubSpot's Pro limits; workers pass one backed by
    Redis so that they all count against the same window.
    """

    name = "hubspot"
    clears_owner = True  # an empty hubspot_owner_id leaves a company without an owner

    def __init__(
        self,
        config: HubSpotConfig,
        *,
        rule: RuleFile | None = None,
        budget: RateBudget | None = None,
    ) -> None:
        self.config = config
        self._budget = budget if budget is not None else RateBudget(hubspot_windows())
        self.transport = HubSpotTransport(config, self._budget)
        self.builder = AccountBuilder("hubspot", rule)
        self._companies = CompanyReader(self.transport, self.builder)
        self._activity = ActivityReader(self.transport)
        self._writer = OwnerWriter(self.transport, config.write_batch_size)
        self._notes = NoteStore(self.transport, config.write_batch_size)
        self._fields = FieldManager(self.transport, config.property_group)
        self._portal: str | None = None

    @property
    def write_batch_size(self) -> int:
        """Owner writes or notes per batch call (`HubSpotConfig.write_batch_size`, 100)."""
        return self.config.write_batch_size

    def account_id(self) -> str:
        """The portal id (`GET /account-info/v3/details`), asked once."""
        if self._portal is None:
            self._portal = portal_id(self.transport)
        return self._portal

    def iter_company_pages(
        self, *, since: datetime | None = None, resume: str | None = None
    ) -> Iterator[CompanyPage]:
        """The listing's pages (token: its `after` cursor), or with `since` the search
        window's from `since` minus the look-back until now (token: the page's last id)."""
        if since is None:
            return self._companies.pages(resume)
        start = since - self.config.look_back
        return self._companies.modified_pages(start, datetime.now(UTC), resume)

    def iter_companies(self, *, since: datetime | None = None) -> Iterator[Account]:
        """Every live company, or those modified from `since` minus the look-back until now."""
        return accounts_in(self.iter_company_pages(since=since))

    def iter_archived_company_ids(self, *, since: datetime | None = None) -> Iterator[str]:
        """Every archived company: HubSpot's archived listing takes no date filter, so `since`
        saves nothing (one call per 100 archived companies, on every sync)."""
        del since
        return self._companies.archived_ids()

    def iter_owners(self) -> Iterator[Owner]:
        return iter_owners(self.transport)

    def iter_owner_activity(
        self, account_ids: Iterable[str] | None = None, *, since: datetime | None = None
    ) -> Iterator[tuple[str, str, datetime]]:
        """Every touch, or with `since` those of the activities created or edited from
        `since` minus the look-back until now (a search per type)."""
        if since is None or account_ids is not None:
            return iter(sorted_touches(self._activity.touches(account_ids)))
        start = since - self.config.look_back
        return iter(sorted_touches(self._activity.modified_touches(start, datetime.now(UTC))))

    def read_owners(self, account_ids: Sequence[str]) -> dict[str, str | None]:
        return self._companies.owners_of(account_ids)

    def read_owner_states(self, account_ids: Sequence[str]) -> dict[str, OwnerState]:
        return self._companies.states_of(account_ids)

    def write_owners(self, writes: Sequence[OwnerWrite]) -> list[WriteResult]:
        return self._writer.write(writes)

    def find_notes(self, account_ids: Sequence[str], markers: Iterable[str]) -> dict[str, str]:
        return self._notes.find(account_ids, markers)

    def post_notes(self, notes: Sequence[Note]) -> list[WriteResult]:
        return self._notes.post(notes)

    def ensure_fields(self, *, create: bool = True) -> FieldCheck:
        return self._fields.ensure(create=create)

    def missing_fields(self, names: Iterable[str]) -> dict[str, str | None]:
        """Each of `names` that is no company property, with the one it most likely means."""
        return missing_from(self._fields.company_properties(), names)

    def budget(self) -> BudgetReport:
        return self._budget.report()
