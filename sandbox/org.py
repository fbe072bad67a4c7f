"""The sandbox's org: one set of records served through both the HubSpot and Salesforce APIs.

`sandbox.loader` fills it from any directory the CSV source accepts. Every record has a HubSpot
id and an 18-character Salesforce id: ids already in one CRM's shape are kept for that CRM and
the other's are derived from the row number, deterministically. Values are kept as the text a
CRM stores; each API renames and reshapes them on the way out.

All mutation goes through `Org` methods under one lock, so both APIs and the control API see one
consistent org and `stats` counts every write.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

import numpy as np

from sandbox.sample.ids import ACCOUNT_PREFIX, USER_PREFIX, salesforce_ids
from sandbox.startup import StartupError

# Canonical CSV column -> HubSpot company property / Salesforce Account field.
HUBSPOT_PROPERTIES: Final = {
    "name": "name",
    "domain": "domain",
    "industry": "industry",
    "employees": "numberofemployees",
    "annual_revenue": "annualrevenue",
    "country": "country",
    "lifecycle": "lifecyclestage",
}
SALESFORCE_FIELDS: Final = {
    "name": "Name",
    "domain": "Website",
    "industry": "Industry",
    "employees": "NumberOfEmployees",
    "annual_revenue": "AnnualRevenue",
    "country": "BillingCountry",
    "lifecycle": "Type",
}
SIGNAL_PREFIX: Final = "signal_"

# Created/modified stamps of loaded records: fixed, so the same directory serves the same org.
LOADED_AT: Final = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

ACTIVITY_KINDS: Final = ("call", "email", "meeting", "task")
_SF_ID: Final = re.compile(r"^[0-9A-Za-z]{18}$")
_HUBSPOT_COMPANY_BASE: Final = 1_000_000_001
_HUBSPOT_OWNER_BASE: Final = 50_000_001
_HUBSPOT_USER_BASE: Final = 9_100_001
_HUBSPOT_ACTIVITY_BASE: Final = 70_000_000_001
_HUBSPOT_NOTE_BASE: Final = 80_000_000_001
NOTE_PREFIX: Final = "069"  # ContentDocument key prefix
LINK_PREFIX: Final = "06A"  # ContentDocumentLink
TASK_PREFIX: Final = "00T"
EVENT_PREFIX: Final = "00U"
ORGANIZATION_PREFIX: Final = "00D"


def hubspot_property_for_signal(signal: str) -> str:
    """`funding` -> `last_funding_date` (the sample's rule file reads these names)."""
    return f"last_{signal}_date"


def salesforce_field_for_signal(signal: str) -> str:
    """`leadership_change` -> `Last_Leadership_Change_Date__c`."""
    return "Last_" + "_".join(p.capitalize() for p in signal.split("_")) + "_Date__c"


@dataclass(slots=True)
class Company:
    key: str  # the id in the CSV
    hubspot_id: str
    salesforce_id: str
    values: dict[str, str]  # canonical column -> raw value ("" when empty)
    owner_key: str | None
    parent_key: str | None
    last_activity_at: datetime | None  # the latest touch, activities.csv included
    created_at: datetime
    updated_at: datetime
    searchable_at: datetime  # search sees the latest edit only from here on (search lag)
    version: int = 1  # bumps on every write: Salesforce ETag
    archived: bool = False
    territory: dict[str, str] = field(default_factory=dict)  # custom properties we write
    # The territory lock a person sets (HubSpot `territory_lock`, Salesforce
    # `Territory_Lock__c`): one value both APIs serve and write.
    locked: bool = False


@dataclass(slots=True)
class User:
    key: str
    hubspot_id: str  # owner id (what hubspot_owner_id holds)
    hubspot_user_id: str  # userId: NOT what goes on records
    salesforce_id: str
    email: str
    first_name: str
    last_name: str
    active: bool
    kind: str = "PERSON"  # HubSpot owner type: PERSON or QUEUE
    manager_key: str | None = None
    updated_at: datetime = LOADED_AT


@dataclass(slots=True)
class ActivityRecord:
    hubspot_id: str
    salesforce_id: str
    kind: str  # call, email, meeting, task
    account_key: str
    owner_key: str | None
    occurred_at: datetime
    body: str = ""  # optional `body` column; a note marker in it makes the activity ours


@dataclass(slots=True)
class NoteRecord:
    hubspot_id: str
    salesforce_id: str  # ContentNote / ContentDocument id
    body: str
    title: str
    timestamp: str
    owner_key: str | None  # None: the integration
    account_keys: list[str]
    created_at: datetime
    link_ids: dict[str, str] = field(default_factory=dict)  # account key -> ContentDocumentLink id


@dataclass(slots=True)
class Stats:
    requests: Counter[str] = field(default_factory=Counter)
    rate_limited: int = 0
    owner_writes: Counter[str] = field(default_factory=Counter)  # by CSV key
    notes_by_marker: Counter[str] = field(default_factory=Counter)
    faults_served: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, object]:
        return {
            "requests": dict(sorted(self.requests.items())),
            "rate_limited": self.rate_limited,
            "owner_writes": dict(sorted(self.owner_writes.items())),
            "notes_by_marker": dict(sorted(self.notes_by_marker.items())),
            "faults_served": dict(sorted(self.faults_served.items())),
        }


_MARKER: Final = re.compile(r"territory-sync:[0-9a-f]{8,64}")


def markers_in(text: str) -> list[str]:
    """Note markers (`territory-sync:<change id>`) in `text`."""
    return _MARKER.findall(text)


class Org:
    """Companies, users, activities and notes, indexed by each CRM's ids."""

    def __init__(self, *, search_lag: float = 0.0) -> None:
        self.lock = threading.RLock()
        self.search_lag = search_lag
        self.companies: dict[str, Company] = {}
        self.by_hubspot: dict[str, Company] = {}
        self.by_salesforce: dict[str, Company] = {}
        self.users: dict[str, User] = {}
        self.users_by_hubspot: dict[str, User] = {}
        self.users_by_salesforce: dict[str, User] = {}
        self.activities: list[ActivityRecord] = []
        self.activities_by_account: dict[str, list[ActivityRecord]] = {}
        self.notes: dict[str, NoteRecord] = {}  # by HubSpot id
        self.notes_by_salesforce: dict[str, NoteRecord] = {}
        self.signals: list[str] = []
        self.stats = Stats()
        self._next_company = 0
        self._next_note = 0
        self.integration_user_key: str | None = None
        # Owners companies name that owners.csv lacks: records may point at them (a HubSpot
        # owner id nobody can list), but no API lists them and no write may name them.
        self.unlisted_owners: dict[str, User] = {}
        # What the CSV source skipped or warned about while loading, one line each.
        self.load_warnings: list[str] = []

    # ---- reading -------------------------------------------------------------------------

    def live_companies(self) -> Iterator[Company]:
        """Companies not archived, in HubSpot id order (numeric)."""
        return (c for c in self._ordered_companies() if not c.archived)

    def _ordered_companies(self) -> list[Company]:
        return sorted(self.companies.values(), key=lambda c: int(c.hubspot_id))

    def owner_user(self, company: Company) -> User | None:
        """The company's owner, listed or not (None when it has none)."""
        key = company.owner_key
        if key is None:
            return None
        return self.users.get(key) or self.unlisted_owners.get(key)

    # ---- writing -------------------------------------------------------------------------

    def touch(self, company: Company, now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        # Modified stamps only move forward, at millisecond precision like both CRMs.
        now = max(now.replace(microsecond=now.microsecond // 1000 * 1000), company.updated_at)
        company.updated_at = now
        company.searchable_at = now + timedelta(seconds=self.search_lag)
        company.version += 1

    def set_owner(self, company: Company, owner_key: str | None, *, by_hand: bool = False) -> None:
        """Change the owner; API writes count in `stats.owner_writes`, hand edits do not."""
        with self.lock:
            company.owner_key = owner_key
            if not by_hand:
                self.stats.owner_writes[company.key] += 1
            self.touch(company)

    def set_lock(self, company: Company, locked: bool) -> None:
        """Set or clear the territory lock; an edit like any other (bumps the modified date)."""
        with self.lock:
            company.locked = locked
            self.touch(company)

    def add_note(
        self,
        *,
        body: str,
        title: str,
        timestamp: str,
        owner_key: str | None,
        account_keys: list[str],
    ) -> NoteRecord:
        with self.lock:
            number = self._next_note
            self._next_note += 1
            note = NoteRecord(
                hubspot_id=str(_HUBSPOT_NOTE_BASE + number),
                salesforce_id=_salesforce_ids(NOTE_PREFIX, number, 1)[0],
                body=body,
                title=title,
                timestamp=timestamp,
                owner_key=owner_key,
                account_keys=list(account_keys),
                created_at=datetime.now(UTC),
            )
            self.notes[note.hubspot_id] = note
            self.notes_by_salesforce[note.salesforce_id] = note
            for marker in set(markers_in(body) + markers_in(title)):
                self.stats.notes_by_marker[marker] += 1
            return note

    def link_note(self, note: NoteRecord, company: Company) -> str:
        """Attach `note` to `company`; return the link's Salesforce id."""
        with self.lock:
            if company.key not in note.account_keys:
                note.account_keys.append(company.key)
            if company.key not in note.link_ids:
                number = len(note.link_ids) + int(note.hubspot_id) * 8
                note.link_ids[company.key] = salesforce_ids(
                    LINK_PREFIX, np.array([number % 62**8], dtype=np.int64)
                )[0]
            return note.link_ids[company.key]

    def create_company(self, values: dict[str, str], owner_key: str | None = None) -> Company:
        """A new company (control API): next ids after the loaded ones, stamped now."""
        with self.lock:
            now = datetime.now(UTC)
            while True:
                number = self._next_company
                company = new_company(
                    key=str(_HUBSPOT_COMPANY_BASE + number),
                    number=number,
                    values=values,
                    owner_key=owner_key,
                    parent_key=values.get("parent_id") or None,
                    last_activity_at=None,
                    stamp=now,
                    search_lag=self.search_lag,
                )
                # Loaded ids may be any numbers: a new company takes the next free one.
                if not self._taken(company):
                    break
                self._next_company += 1
            self.add_company(company)
            return company

    def _taken(self, company: Company) -> bool:
        return (
            company.key in self.companies
            or company.hubspot_id in self.by_hubspot
            or company.salesforce_id in self.by_salesforce
        )

    def add_company(self, company: Company) -> None:
        """Index a company under its CSV, HubSpot and Salesforce ids (ids not yet taken)."""
        self.companies[company.key] = company
        self.by_hubspot[company.hubspot_id] = company
        self.by_salesforce[company.salesforce_id] = company
        self._next_company += 1

    def deactivate_user(self, key: str) -> User:
        with self.lock:
            user = self.users[key]
            user.active = False
            user.updated_at = datetime.now(UTC)
            return user

    def id_map(self) -> dict[str, object]:
        """CSV id -> HubSpot and Salesforce ids, for companies and owners."""
        return {
            "companies": {
                c.key: {"hubspot": c.hubspot_id, "salesforce": c.salesforce_id}
                for c in self._ordered_companies()
            },
            "owners": {
                u.key: {"hubspot": u.hubspot_id, "salesforce": u.salesforce_id}
                for u in self.users.values()
            },
        }


def new_company(
    *,
    key: str,
    number: int,
    values: dict[str, str],
    owner_key: str | None,
    parent_key: str | None,
    last_activity_at: datetime | None,
    stamp: datetime,
    search_lag: float,
    derived_salesforce_id: str | None = None,
) -> Company:
    """A company numbered `number`; `derived_salesforce_id` saves deriving it one at a time."""
    if _SF_ID.match(key) and key.startswith(ACCOUNT_PREFIX):
        salesforce_id, hubspot_id = key, str(_HUBSPOT_COMPANY_BASE + number)
    else:
        salesforce_id = derived_salesforce_id or _salesforce_ids(ACCOUNT_PREFIX, number, 1)[0]
        hubspot_id = key if key.isdigit() else str(_HUBSPOT_COMPANY_BASE + number)
    return Company(
        key=key,
        hubspot_id=hubspot_id,
        salesforce_id=salesforce_id,
        values=values,
        owner_key=owner_key,
        parent_key=parent_key,
        last_activity_at=last_activity_at,
        created_at=stamp,
        updated_at=stamp,
        searchable_at=stamp + timedelta(seconds=search_lag),
    )


def new_user(
    *,
    key: str,
    number: int,
    derived_salesforce_id: str,
    email: str,
    first_name: str,
    last_name: str,
    active: bool,
) -> User:
    """The user numbered `number`; a key in one CRM's id shape stays that CRM's id."""
    if _SF_ID.match(key) and key.startswith(USER_PREFIX):
        salesforce_id, hubspot_id = key, str(_HUBSPOT_OWNER_BASE + number)
    else:
        salesforce_id = derived_salesforce_id
        hubspot_id = key if key.isdigit() else str(_HUBSPOT_OWNER_BASE + number)
    return User(
        key=key,
        hubspot_id=hubspot_id,
        hubspot_user_id=str(_HUBSPOT_USER_BASE + number),
        salesforce_id=salesforce_id,
        email=email,
        first_name=first_name,
        last_name=last_name,
        active=active,
        # A shared inbox-style owner is a HubSpot queue (it has no user behind it).
        kind="QUEUE" if email.startswith("territory-queue@") else "PERSON",
    )


def new_activity(
    *,
    number: int,
    salesforce_id: str,
    kind: str,
    account_key: str,
    owner_key: str | None,
    occurred_at: datetime,
    body: str,
) -> ActivityRecord:
    """The activity numbered `number` (an unknown type is a task, as Salesforce files it)."""
    return ActivityRecord(
        hubspot_id=str(_HUBSPOT_ACTIVITY_BASE + number),
        salesforce_id=salesforce_id,
        kind=kind if kind in ACTIVITY_KINDS else "task",
        account_key=account_key,
        owner_key=owner_key,
        occurred_at=occurred_at,
        body=body,
    )


def organization_id(number: int) -> str:
    """The 18-character Salesforce org id (key prefix 00D) derived from `number`."""
    return _salesforce_ids(ORGANIZATION_PREFIX, number, 1)[0]


def salesforce_id_column(prefix: str, count: int) -> list[str]:
    """Salesforce ids with key `prefix` for records 0 .. count - 1, derived at once."""
    return _salesforce_ids(prefix, 0, count)


def _salesforce_ids(prefix: str, start: int, count: int) -> list[str]:
    return salesforce_ids(prefix, np.arange(start, start + count, dtype=np.int64))


class OrgLoadError(StartupError):
    """The directory cannot be served: the CSV source refuses it (one line, file and row)."""
