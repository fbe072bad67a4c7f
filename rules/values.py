"""Raw CRM values to the canonical values rules test, with a count of what could not be mapped.

A value is *mapped* when `values:` names it (case-insensitively) or when it already is a
canonical value: a target of the mapping, or a value some rule condition or factor mentions
for that field. Everything else is *unmapped*: it still reaches the rules (lower-cased), but
`validate --source` reports its share, because an industry nobody mapped silently sends every
such account to the catch-all row.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rules.fields import CRMS
from rules.schema import RuleFile


@dataclass(slots=True)
class FieldMapping:
    """Lower-cased raw value -> canonical value for one field, plus the known canonicals."""

    table: dict[str, str]
    canonical: frozenset[str]


@dataclass(slots=True)
class UnmappedCount:
    """How many values of one field were seen, and which could not be mapped."""

    total: int = 0
    unmapped: Counter[str] = field(default_factory=Counter)

    @property
    def unmapped_total(self) -> int:
        return sum(self.unmapped.values())

    @property
    def share(self) -> float:
        return self.unmapped_total / self.total if self.total else 0.0


class ValueMapper:
    """Maps raw values for the fields named in `values:`; counts what it could not map."""

    def __init__(self, rule: RuleFile | None, vocabulary: str | None = None) -> None:
        """`vocabulary` picks one CRM's table first (hubspot, salesforce, csv); the others
        still apply, so a canonical export carrying any CRM's values maps."""
        self._fields: dict[str, FieldMapping] = {}
        self.counts: dict[str, UnmappedCount] = {}
        if rule is None:
            return
        mentioned = _mentioned_values(rule)
        order = [vocabulary] if vocabulary in CRMS else []
        order += [c for c in ("csv", "hubspot", "salesforce") if c not in order]
        for name, per_crm in rule.values.items():
            # Keyed by plain text: `order` holds whatever vocabulary the caller named.
            tables: dict[str, dict[str, str]] = dict(per_crm.items())
            table: dict[str, str] = {}
            for crm in reversed(order):  # earlier vocabularies win
                for raw, canonical in tables.get(crm, {}).items():
                    table[raw.strip().lower()] = canonical.lower()
            canonical_values = frozenset(table.values()) | mentioned.get(name, frozenset())
            self._fields[name] = FieldMapping(table=table, canonical=canonical_values)
        for name, values in mentioned.items():
            if name not in self._fields and name != "country":
                self._fields[name] = FieldMapping(table={}, canonical=values)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(sorted(self._fields))

    def map(self, name: str, raw: str | None) -> str | None:
        """Return the canonical value for `raw` (lower-cased), counting unmapped ones."""
        if raw is None:
            return None
        value = raw.strip().lower()
        if not value:
            return None
        mapping = self._fields.get(name)
        if mapping is None:
            return value
        count = self.counts.get(name)
        if count is None:
            count = self.counts[name] = UnmappedCount()
        count.total += 1
        mapped = mapping.table.get(value)
        if mapped is not None:
            return mapped
        if value not in mapping.canonical:
            count.unmapped[value] += 1
        return value


def _mentioned_values(rule: RuleFile) -> dict[str, frozenset[str]]:
    """Text values that conditions and factor tables mention, per field (lower-cased)."""
    found: dict[str, set[str]] = {}
    whens = [row.when for row in rule.fit] + [row.when for row in rule.routing.rows]
    for when in whens:
        for name, condition in when.items():
            for op in (
                condition.eq,
                condition.ne,
                *(condition.in_ or ()),
                *(condition.not_in or ()),
            ):
                if isinstance(op, str):
                    found.setdefault(name, set()).add(op.lower())
    for name, factor in rule.potential.factors.items():
        if factor.values:
            found.setdefault(name, set()).update(v.lower() for v in factor.values)
    for team in rule.teams:
        for member in team.members:
            found.setdefault("industry", set()).update(i.lower() for i in member.industries)
    return {k: frozenset(v) for k, v in found.items()}
