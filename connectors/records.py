"""CRM records -> domain Accounts, the same way for every CRM connector.

A connector fetches a company's properties (HubSpot) or an Account's fields (Salesforce) as raw
values, and `AccountBuilder` turns them into the `Account` the CSV source would build from the
same data: the rule's `fields:` say which CRM field feeds which rule field (with each CRM's
defaults), values go through `values:`, countries through ISO lookup, numbers and dates through
the CSV source's own parsers. A value that does not parse is dropped (None) and counted in
`problems`, never fatal: a CRM holds what its users typed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Final, Literal, Protocol, TypeVar, runtime_checkable

from connectors.files.cells import amount, domain, whole_number
from connectors.files.countries import country_code
from rules.domain import Account
from rules.fields import SIGNAL_PREFIX, SOURCE_FIELDS
from rules.readable_fields import SourceFields
from rules.schema import RuleFile
from rules.values import ValueMapper

Crm = Literal["hubspot", "salesforce"]
T = TypeVar("T", int, float)

# Rule field -> CRM field, before the rule's `fields:` overrides.
DEFAULT_FIELDS: Final[dict[Crm, dict[str, str]]] = {
    "hubspot": {
        "name": "name",
        "domain": "domain",
        "industry": "industry",
        "employees": "numberofemployees",
        "annual_revenue": "annualrevenue",
        "country": "country",
        "lifecycle": "lifecyclestage",
        "parent_id": "hs_parent_company_id",
    },
    "salesforce": {
        "name": "Name",
        "domain": "Website",
        "industry": "Industry",
        "employees": "NumberOfEmployees",
        "annual_revenue": "AnnualRevenue",
        "country": "BillingCountry",
        "lifecycle": "Type",
        "parent_id": "ParentId",
    },
}
# Where each CRM keeps a company's latest touch (never HubSpot's notes_last_updated: our own
# notes bump it).
ACTIVITY_FIELDS: Final[dict[Crm, tuple[str, ...]]] = {
    "hubspot": ("notes_last_contacted", "hs_last_sales_activity_timestamp"),
    "salesforce": ("LastActivityDate",),
}


def parse_instant(raw: object) -> datetime | None:
    """A CRM timestamp: ISO text (date or date-time, `Z` or offset) or epoch milliseconds."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return datetime.fromtimestamp(raw / 1000, tz=UTC)
    text = str(raw).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # Salesforce writes +0000 (no colon); fromisoformat reads both on 3.11.
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_day(raw: object) -> date | None:
    """A date property: ISO date, ISO date-time or epoch milliseconds (midnight UTC)."""
    instant = parse_instant(raw)
    return None if instant is None else instant.astimezone(UTC).date()


@dataclass(slots=True)
class AccountBuilder:
    """Builds Accounts from one CRM's raw records for one rule file."""

    crm: Crm
    rule: RuleFile | None = None
    fields: dict[str, str] = field(init=False)
    signals: dict[str, str] = field(init=False)  # signal name -> CRM field
    custom: dict[str, str] = field(init=False)  # custom rule field -> CRM field
    mapper: ValueMapper = field(init=False)
    problems: Counter[str] = field(default_factory=Counter)  # CRM field -> values dropped
    # CRM fields the CRM lacks: never requested (Salesforce refuses a query naming one).
    absent: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        overrides = dict(self.rule.fields.get(self.crm, {})) if self.rule else {}
        self.fields = {**DEFAULT_FIELDS[self.crm]}
        self.signals = {}
        self.custom = {}
        for name, crm_field in overrides.items():
            if name.startswith(SIGNAL_PREFIX):
                self.signals[name[len(SIGNAL_PREFIX) :]] = crm_field
            elif name in SOURCE_FIELDS:
                self.fields[name] = crm_field
            else:
                self.custom[name] = crm_field
        self.mapper = ValueMapper(self.rule, self.crm)

    def feeds(self) -> dict[str, str]:
        """Rule field -> the CRM field read for it (the rule's `fields:` over the defaults);
        signals as `signals.<name>`, custom fields by their own name."""
        return {
            **self.fields,
            **{SIGNAL_PREFIX + name: crm_field for name, crm_field in self.signals.items()},
            **self.custom,
        }

    def skip(self, crm_fields: Iterable[str]) -> None:
        """Never request `crm_fields` (the CRM lacks them): the rule fields they feed stay empty."""
        self.absent = self.absent | frozenset(crm_fields)

    def properties(self) -> list[str]:
        """The CRM fields to request: only what the rule needs, plus owner and activity."""
        names = {*self.fields.values(), *self.signals.values(), *self.custom.values()}
        names = {*(names - self.absent), *ACTIVITY_FIELDS[self.crm]}
        names.add("hubspot_owner_id" if self.crm == "hubspot" else "OwnerId")
        return sorted(names)

    def build(self, record_id: str, values: Mapping[str, object], owner_id: str | None) -> Account:
        """The Account for one record; `owner_id` is already the owner's id in this CRM."""
        f = self.fields
        industry = _text(values.get(f["industry"]))
        lifecycle = _text(values.get(f["lifecycle"]))
        raw_country = _text(values.get(f["country"]))
        raw_domain = _text(values.get(f["domain"]))
        parent = _text(values.get(f["parent_id"]))
        return Account(
            id=record_id,
            name=_text(values.get(f["name"])) or "",
            domain=domain(raw_domain) if raw_domain else None,
            owner_id=owner_id or None,
            industry=self.mapper.map("industry", industry),
            employees=self._number(f["employees"], values, whole_number),
            annual_revenue=self._number(f["annual_revenue"], values, amount),
            country=self._country(raw_country),
            lifecycle=self.mapper.map("lifecycle", lifecycle),
            parent_id=parent,
            last_activity_at=self._latest_activity(values),
            signals=self._signals(values),
            extra=self._custom(values) if self.custom else None,
        )

    def _number(
        self, name: str, values: Mapping[str, object], parse: Callable[[str], T]
    ) -> T | None:
        raw = values.get(name)
        if raw is None or raw == "":
            return None
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            text = repr(raw)
        else:
            text = str(raw).strip()
        try:
            return parse(text)
        except ValueError:
            self.problems[name] += 1
            return None

    def _country(self, raw: str | None) -> str | None:
        if raw is None:
            return None
        mapped = self.mapper.map("country", raw) if "country" in self.mapper.fields else None
        return country_code(mapped or raw)

    def _latest_activity(self, values: Mapping[str, object]) -> datetime | None:
        latest: datetime | None = None
        for name in ACTIVITY_FIELDS[self.crm]:
            try:
                instant = parse_instant(values.get(name))
            except ValueError:
                self.problems[name] += 1
                continue
            if instant is not None and (latest is None or instant > latest):
                latest = instant
        return latest

    def _signals(self, values: Mapping[str, object]) -> tuple[tuple[str, date], ...]:
        found: list[tuple[str, date]] = []
        for name, crm_field in sorted(self.signals.items()):
            try:
                day = parse_day(values.get(crm_field))
            except ValueError:
                self.problems[crm_field] += 1
                continue
            if day is not None:
                found.append((name, day))
        return tuple(found)

    def _custom(self, values: Mapping[str, object]) -> dict[str, str] | None:
        """Custom fields as text, through `values:` when the rule maps or tests them."""
        found: dict[str, str] = {}
        for name, crm_field in self.custom.items():
            text = _text(values.get(crm_field))
            if text is not None and name in self.mapper.fields:
                text = self.mapper.map(name, text)
            if text is not None:
                found[name] = text
        return found or None


@runtime_checkable
class ChecksRuleFields(Protocol):
    """A CRM connector that builds accounts with an `AccountBuilder` and knows its fields."""

    builder: AccountBuilder

    def missing_fields(self, names: Iterable[str]) -> dict[str, str | None]:
        """Each of `names` the CRM lacks, with the field it most likely means."""
        ...


def source_fields(connector: ChecksRuleFields) -> SourceFields:
    """Which CRM field feeds each rule field, and which of those the CRM lacks."""
    feeds = connector.builder.feeds()
    return SourceFields(connector.builder.crm, feeds, connector.missing_fields(feeds.values()))


def _text(raw: object) -> str | None:
    """HubSpot sends "" and null for empty alike; both are missing."""
    if raw is None:
        return None
    text = str(raw).strip()
    return text or None
