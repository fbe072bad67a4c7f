"""Domain values shared by every layer: owners, accounts, activity, the snapshot.

Per-account rows are slotted dataclasses, not pydantic models: a million of them must fit in
memory several times over (validation happens once, at the edges that build them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class Owner:
    """A CRM owner/user. Inactive owners may still own records."""

    id: str
    email: str
    first_name: str = ""
    last_name: str = ""
    active: bool = True

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(slots=True)
class Account:
    """A CRM company/account after value mapping: canonical values, ISO country, UTC times.

    `signals` holds (signal name, date) pairs sorted by name; `extra` holds custom fields that
    a rule file maps through `fields:` (None when there are none, to keep rows small).
    """

    id: str
    name: str = ""
    domain: str | None = None
    owner_id: str | None = None
    industry: str | None = None
    employees: int | None = None
    annual_revenue: float | None = None
    country: str | None = None
    lifecycle: str | None = None
    parent_id: str | None = None
    last_activity_at: datetime | None = None
    signals: tuple[tuple[str, date], ...] = ()
    extra: dict[str, str] | None = None
    locked: bool = False  # the CRM's territory_lock: keep the current owner while it is set


@dataclass(frozen=True, slots=True)
class Activity:
    """One touch on an account by an owner (a call, email, meeting, task)."""

    account_id: str
    owner_id: str | None
    type: str
    occurred_at: datetime


@dataclass(slots=True)
class Snapshot:
    """Everything the engine reads from a CRM, as of one pull.

    `owner_activity` maps (account id, owner id) to that owner's latest touch on the account,
    aggregated while streaming so raw activity rows are never all held at once.
    """

    accounts: list[Account] = field(default_factory=list)
    owners: list[Owner] = field(default_factory=list)
    owner_activity: dict[tuple[str, str], datetime] = field(default_factory=dict)
