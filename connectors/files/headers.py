"""Which column holds which field: canonical headers, HubSpot and Salesforce export labels.

Headers match case-insensitively, with "_" and runs of spaces read as one space, so
`annual_revenue`, `Annual Revenue` and `ANNUAL  REVENUE` are the same column. The rule file's
`fields: csv:` section names columns explicitly and wins over everything else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from rules.fields import SIGNAL_PREFIX
from rules.readable_fields import SourceFields, missing_from

COMPANY_FIELDS: Final = (
    "id",
    "name",
    "domain",
    "owner_id",
    "industry",
    "employees",
    "annual_revenue",
    "country",
    "lifecycle",
    "parent_id",
    "last_activity_at",
    "territory_lock",
)
OWNER_FIELDS: Final = ("id", "email", "first_name", "last_name", "active")
ACTIVITY_FIELDS: Final = ("account_id", "owner_id", "type", "occurred_at", "body")
SIGNAL_COLUMN_PREFIX: Final = "signal_"


@dataclass(frozen=True, slots=True)
class Alias:
    """An export's label for a canonical field; `by_name` when its cells hold names, not ids."""

    field: str
    vocabulary: str
    by_name: bool = False


COMPANY_ALIASES: Final[dict[str, Alias]] = {
    # HubSpot company export
    "record id": Alias("id", "hubspot"),
    "company name": Alias("name", "hubspot"),
    "company domain name": Alias("domain", "hubspot"),
    "company owner": Alias("owner_id", "hubspot", by_name=True),
    "number of employees": Alias("employees", "hubspot"),
    "country/region": Alias("country", "hubspot"),
    "lifecycle stage": Alias("lifecycle", "hubspot"),
    "parent company": Alias("parent_id", "hubspot", by_name=True),
    "last activity date": Alias("last_activity_at", "hubspot"),
    # Salesforce account report
    "account id": Alias("id", "salesforce"),
    "account name": Alias("name", "salesforce"),
    "website": Alias("domain", "salesforce"),
    "account owner": Alias("owner_id", "salesforce", by_name=True),
    # "Employees" needs no alias (it is the canonical header) and so is no evidence either way.
    "billing country": Alias("country", "salesforce"),
    "type": Alias("lifecycle", "salesforce"),
    "parent account": Alias("parent_id", "salesforce", by_name=True),
    "parent account id": Alias("parent_id", "salesforce"),
    "account owner id": Alias("owner_id", "salesforce"),
    "last activity": Alias("last_activity_at", "salesforce"),
}
OWNER_ALIASES: Final[dict[str, str]] = {
    "owner id": "id",
    "user id": "id",
    "email address": "email",
    "is active": "active",
}

_SPACES = re.compile(r"[\s_]+")


def header_key(header: str) -> str:
    """The form headers are compared in: case-folded, "_" and space runs as one space."""
    return _SPACES.sub(" ", header).strip().casefold()


def detect_vocabulary(headers: Sequence[str]) -> str | None:
    """Return "hubspot" or "salesforce" when the headers are mostly that export's labels."""
    votes = {"hubspot": 0, "salesforce": 0}
    for header in headers:
        alias = COMPANY_ALIASES.get(header_key(header))
        if alias is not None:
            votes[alias.vocabulary] += 1
    best = max(votes, key=lambda v: votes[v])
    others = [n for v, n in votes.items() if v != best]
    if votes[best] == 0 or votes[best] in others:
        return None
    return best


@dataclass(slots=True)
class CompanyColumns:
    """Column index of each field in companies.csv; -1 for a field the file lacks."""

    headers: list[str]
    vocabulary: str | None
    index: dict[str, int]
    by_name: frozenset[str] = frozenset()
    signals: tuple[tuple[str, int], ...] = ()
    extra: tuple[tuple[str, int], ...] = ()
    unknown_mappings: list[tuple[str, str]] = field(default_factory=list)
    # (field, headers) for fields two columns of the same kind (ids, or names) could feed.
    conflicts: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    def header(self, position: int) -> str:
        return self.headers[position]

    def source_fields(self) -> SourceFields:
        """The column read for each rule field; a field only the rule's `fields: csv:` feeds,
        from a column the file lacks, is fed by that missing column."""
        feeds = dict(self.unknown_mappings)
        feeds.update((name, self.headers[i]) for name, i in self.index.items() if i >= 0)
        feeds.update((SIGNAL_PREFIX + name, self.headers[i]) for name, i in self.signals)
        feeds.update((name, self.headers[i]) for name, i in self.extra)
        absent = [header for _, header in self.unknown_mappings]
        return SourceFields("csv", feeds, missing_from(self.headers, absent))


def company_columns(
    headers: Sequence[str],
    mapping: Mapping[str, str],
    signal_names: frozenset[str] | None,
) -> CompanyColumns:
    """Place every field: `mapping` (rule field -> header) first, then canonical, then aliases.

    `signal_names` limits the signals read (None: every `signal_<name>` column).
    """
    keys = [header_key(h) for h in headers]
    position: dict[str, int] = {}
    for i, key in enumerate(keys):
        position.setdefault(key, i)
    vocabulary = detect_vocabulary(headers)
    columns = CompanyColumns(list(headers), vocabulary, dict.fromkeys(COMPANY_FIELDS, -1))

    by_name: set[str] = set()
    for name in COMPANY_FIELDS:
        if name not in mapping:  # the rule's choice settles which column is meant
            columns.conflicts.extend(_rival_columns(name, vocabulary, headers, position))
        found = position.get(header_key(name), -1)
        if found < 0 and vocabulary is not None:
            alias_key = _export_label(name, vocabulary, position)
            if alias_key is not None:
                found = position[alias_key]
                if COMPANY_ALIASES[alias_key].by_name:
                    by_name.add(name)
        columns.index[name] = found

    signals: dict[str, int] = {}
    prefix = header_key(SIGNAL_COLUMN_PREFIX) + " "  # "signal_funding" compares as "signal funding"
    for i, key in enumerate(keys):
        if key.startswith(prefix) and len(key) > len(prefix):
            signals.setdefault(key[len(prefix) :].replace(" ", "_"), i)

    extra: dict[str, int] = {}
    for rule_field, header in mapping.items():
        found = position.get(header_key(header), -1)
        if found < 0:
            columns.unknown_mappings.append((rule_field, header))
        elif rule_field.startswith(SIGNAL_PREFIX):
            signals[rule_field.removeprefix(SIGNAL_PREFIX)] = found
        elif rule_field in COMPANY_FIELDS:
            columns.index[rule_field] = found
            alias = COMPANY_ALIASES.get(header_key(header))
            if alias is not None and alias.by_name:
                by_name.add(rule_field)
            else:
                by_name.discard(rule_field)
        else:
            extra[rule_field] = found

    columns.by_name = frozenset(by_name)
    columns.signals = tuple(
        sorted((n, i) for n, i in signals.items() if signal_names is None or n in signal_names)
    )
    columns.extra = tuple(sorted(extra.items()))
    return columns


def _rival_columns(
    name: str, vocabulary: str | None, headers: Sequence[str], position: Mapping[str, int]
) -> list[tuple[str, tuple[str, ...]]]:
    """`[(name, headers)]` when two columns could feed `name` and neither is preferred.

    An id column wins over a name column by design (a Salesforce report has both "Account
    Owner" and "Account Owner ID"); two id columns, or two name columns, are a guess.
    """
    ids: list[int] = []
    names: list[int] = []
    if header_key(name) in position:
        ids.append(position[header_key(name)])
    if vocabulary is not None:
        for key, alias in COMPANY_ALIASES.items():
            if alias.field == name and alias.vocabulary == vocabulary and key in position:
                (names if alias.by_name else ids).append(position[key])
    return [(name, tuple(headers[i] for i in group)) for group in (ids, names) if len(group) > 1]


def _export_label(name: str, vocabulary: str, position: Mapping[str, int]) -> str | None:
    """The export label the file uses for `name`; an id column wins over a name column."""
    labels = [
        key
        for key, alias in COMPANY_ALIASES.items()
        if alias.field == name and alias.vocabulary == vocabulary and key in position
    ]
    labels.sort(key=lambda key: COMPANY_ALIASES[key].by_name)
    return labels[0] if labels else None


def simple_columns(
    headers: Sequence[str], fields: Sequence[str], aliases: Mapping[str, str]
) -> dict[str, int]:
    """Column index of each of `fields` (-1 when absent), by canonical header or alias."""
    index = dict.fromkeys(fields, -1)
    for i, header in enumerate(headers):
        key = header_key(header)
        name = aliases.get(key, key.replace(" ", "_"))
        if name in index and index[name] < 0:
            index[name] = i
    return index


def simple_rivals(
    headers: Sequence[str], fields: Sequence[str], aliases: Mapping[str, str]
) -> list[tuple[str, tuple[str, ...]]]:
    """(field, headers) for each of `fields` that more than one column names."""
    found: dict[str, list[str]] = {name: [] for name in fields}
    for header in headers:
        key = header_key(header)
        name = aliases.get(key, key.replace(" ", "_"))
        if name in found:
            found[name].append(header)
    return [(name, tuple(columns)) for name, columns in found.items() if len(columns) > 1]
