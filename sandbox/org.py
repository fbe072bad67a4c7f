"""The sandbox's org: one set of records served through both the HubSpot and Salesforce APIs.

Loaded from a canonical CSV directory (`territory sample` output). Every record has a HubSpot id
and an 18-character Salesforce id: ids already in one CRM's shape are kept for that CRM and the
other's are derived from the row number, deterministically. Values are kept as the raw strings
of the CSV, as a CRM stores them; each API renames and reshapes them on the way out.

All mutation goes through `Org` methods under one lock, so both APIs and the control API see one
consistent org and `stats` counts every write.
"""

from __future__ import annotations

import csv
import re
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import numpy as np

from sandbox.sample.ids import ACCOUNT_PREFIX, USER_PREFIX, salesforce_ids

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
    last_activity_at: str  # raw, as in the CSV ("" when none)
    created_at: datetime
    updated_at: datetime
    searchable_at: datetime  # search sees the latest edit only from here on (search lag)
    version: int = 1  # bumps on every write: Salesforce ETag
    archived: bool = False
    territory: dict[str, str] = field(default_factory=dict)  # custom properties we write


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
    occurred_at: str  # raw ISO text from the CSV
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

    # ---- reading -------------------------------------------------------------------------

    def live_companies(self) -> Iterator[Company]:
        """Companies not archived, in HubSpot id order (numeric)."""
        return (c for c in self._ordered_companies() if not c.archived)

    def _ordered_companies(self) -> list[Company]:
        return sorted(self.companies.values(), key=lambda c: int(c.hubspot_id))

    def owner_user(self, company: Company) -> User | None:
        return self.users.get(company.owner_key) if company.owner_key else None

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
            number = self._next_company
            now = datetime.now(UTC)
            company = _new_company(
                key=str(_HUBSPOT_COMPANY_BASE + number),
                number=number,
                values=values,
                owner_key=owner_key,
                parent_key=values.get("parent_id") or None,
                last_activity_at="",
                stamp=now,
                search_lag=self.search_lag,
            )
            self._add_company(company)
            return company

    def _add_company(self, company: Company) -> None:
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


def _new_company(
    *,
    key: str,
    number: int,
    values: dict[str, str],
    owner_key: str | None,
    parent_key: str | None,
    last_activity_at: str,
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


def _salesforce_ids(prefix: str, start: int, count: int) -> list[str]:
    return salesforce_ids(prefix, np.arange(start, start + count, dtype=np.int64))


class OrgLoadError(ValueError):
    """The directory cannot be served (missing file, missing column, duplicate id)."""


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip().lower().replace(" ", "_") for h in next(reader)]
        except StopIteration:
            return
        for line, row in enumerate(reader, start=2):
            yield line, dict(zip(header, (cell.strip() for cell in row), strict=False))


def load_org(directory: Path, *, search_lag: float = 0.0) -> Org:
    """Read `companies.csv`, `owners.csv` and (if present) `activities.csv` from `directory`."""
    org = Org(search_lag=search_lag)
    owners_path, companies_path = directory / "owners.csv", directory / "companies.csv"
    for required in (owners_path, companies_path):
        if not required.is_file():
            raise OrgLoadError(
                f"{required}: missing (the sandbox serves a canonical CSV directory)"
            )
    _load_users(org, owners_path)
    _load_companies(org, companies_path)
    activities_path = directory / "activities.csv"
    if activities_path.is_file():
        _load_activities(org, activities_path)
    return org


def _new_key(row: dict[str, str], known: Mapping[str, object], where: str, what: str) -> str:
    """The row's id, which must be present and not seen before in its file."""
    key = row.get("id", "")
    if not key:
        raise OrgLoadError(f"{where}: column 'id' is empty")
    if key in known:
        raise OrgLoadError(f"{where}: duplicate {what} id {key!r}")
    return key


def _load_users(org: Org, path: Path) -> None:
    rows = list(_rows(path))
    derived = _salesforce_ids(USER_PREFIX, 0, len(rows))
    for number, (line, row) in enumerate(rows):
        key = _new_key(row, org.users, f"{path}:{line}", "owner")
        if _SF_ID.match(key) and key.startswith(USER_PREFIX):
            sf_id, hs_id = key, str(_HUBSPOT_OWNER_BASE + number)
        else:
            sf_id = derived[number]
            hs_id = key if key.isdigit() else str(_HUBSPOT_OWNER_BASE + number)
        email = row.get("email", "").lower()
        user = User(
            key=key,
            hubspot_id=hs_id,
            hubspot_user_id=str(_HUBSPOT_USER_BASE + number),
            salesforce_id=sf_id,
            email=email,
            first_name=row.get("first_name", ""),
            last_name=row.get("last_name", ""),
            active=row.get("active", "").lower() not in {"false", "0", "no"},
            # A shared inbox-style owner is a HubSpot queue (it has no user behind it).
            kind="QUEUE" if email.startswith("territory-queue@") else "PERSON",
        )
        org.users[key] = user
        org.users_by_hubspot[hs_id] = user
        org.users_by_salesforce[sf_id] = user
    # The integration user (owner of our notes): the first active person, deterministically.
    org.integration_user_key = next(
        (u.key for u in org.users.values() if u.active and u.kind == "PERSON"), None
    )


def _load_companies(org: Org, path: Path) -> None:
    rows = list(_rows(path))
    signals = [
        c[len(SIGNAL_PREFIX) :] for c in (rows[0][1] if rows else {}) if c.startswith(SIGNAL_PREFIX)
    ]
    derived = _salesforce_ids(ACCOUNT_PREFIX, 0, len(rows))
    for number, (line, row) in enumerate(rows):
        key = _new_key(row, org.companies, f"{path}:{line}", "company")
        owner = row.get("owner_id") or None
        if owner is not None and owner not in org.users:
            raise OrgLoadError(f"{path}:{line}: owner_id {owner!r} is not in owners.csv")
        values = {column: row.get(column, "") for column in HUBSPOT_PROPERTIES}
        for signal in signals:
            values[SIGNAL_PREFIX + signal] = row.get(SIGNAL_PREFIX + signal, "")
        company = _new_company(
            key=key,
            number=number,
            values=values,
            owner_key=owner,
            parent_key=row.get("parent_id") or None,
            last_activity_at=row.get("last_activity_at", ""),
            stamp=LOADED_AT,
            search_lag=0.0,
            derived_salesforce_id=derived[number],
        )
        org._add_company(company)
    org.signals = signals


def _load_activities(org: Org, path: Path) -> None:
    rows = list(_rows(path))
    tasks = _salesforce_ids(TASK_PREFIX, 0, len(rows))
    events = _salesforce_ids(EVENT_PREFIX, 0, len(rows))
    for number, (line, row) in enumerate(rows):
        account = row.get("account_id", "")
        if account not in org.companies:
            continue  # exports span more companies than the company file; so does the sandbox
        kind = (row.get("type") or "task").lower()
        record = ActivityRecord(
            hubspot_id=str(_HUBSPOT_ACTIVITY_BASE + number),
            salesforce_id=events[number] if kind == "meeting" else tasks[number],
            kind=kind if kind in ACTIVITY_KINDS else "task",
            account_key=account,
            owner_key=row.get("owner_id") or None,
            occurred_at=row.get("occurred_at", ""),
            body=row.get("body", ""),
        )
        if not record.occurred_at:
            raise OrgLoadError(f"{path}:{line}: column 'occurred_at' is empty")
        org.activities.append(record)
        org.activities_by_account.setdefault(account, []).append(record)
