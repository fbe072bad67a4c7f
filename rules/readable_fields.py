"""Whether a source can read the fields a rule file uses: located issues, before planning.

A connector says which source field feeds each rule field (its defaults under the rule's
`fields:`) and which of those fields the CRM lacks (`SourceFields`). This module says where
the rule uses each field and judges: a field no source field feeds, or fed by one the CRM
lacks, is a warning naming the `fields:` line to add; it is an error when a fit or routing row
tests it (every account would miss it and fall through), or when intent is used and not one
signal can be read (every account would be cold). Once the accounts are loaded, a readable
field that is empty on every account is a warning too.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from operator import attrgetter, is_not
from typing import Final, Literal, NamedTuple

from rules.domain import Account
from rules.errors import Location, RuleIssue
from rules.fields import NUMERIC_FIELDS, SIGNAL_PREFIX, SOURCE_FIELDS, TEXT_FIELDS
from rules.schema import RuleFile, When
from rules.yaml_source import Path, format_path

Locate = Callable[[Path], Location]
SourceKind = Literal["hubspot", "salesforce", "csv"]


class _Words(NamedTuple):
    source: str  # "HubSpot"
    thing: str  # "company property"
    name: str  # what goes after the colon of a `fields:` line: "<property name>"


_WORDS: Final[dict[SourceKind, _Words]] = {
    "hubspot": _Words("HubSpot", "company property", "property name"),
    "salesforce": _Words("Salesforce", "Account field", "field name"),
    "csv": _Words("companies.csv", "column", "column"),
}
# Rule fields worked out from others: the row that tests one needs what it is made of.
_DERIVED_FROM: Final[dict[str, tuple[str, ...]]] = {
    "region": ("country",),
    "fit": (),  # from the fit rows, whose own fields are checked where they are tested
    "intent": (),  # from the signals, checked as a whole (see `check_readable`)
    "potential": (),  # from the potential factors, checked where they are named
    "tier": (),
}


@dataclass(frozen=True, slots=True)
class SourceFields:
    """What one source reads for a rule file.

    `feeds` maps each rule field (signals as `signals.<name>`, custom fields by name) to the
    source field read for it; `missing` holds the source fields among them the source lacks,
    each with the one it most likely means (None: nothing close).
    """

    kind: SourceKind
    feeds: Mapping[str, str]
    missing: Mapping[str, str | None] = field(default_factory=dict)

    def reads(self, rule_field: str) -> bool:
        """True when a source field that exists feeds `rule_field`."""
        feed = self.feeds.get(rule_field)
        return feed is not None and feed not in self.missing


def missing_from(catalogue: Iterable[str], names: Iterable[str]) -> dict[str, str | None]:
    """Each of `names` not spelled exactly as in `catalogue` (a source's field names), with the
    field it most likely means: the same name in other case first, then the closest one."""
    present = set(catalogue)
    known = sorted(present)
    by_case = {name.casefold(): name for name in known}
    missing: dict[str, str | None] = {}
    for name in dict.fromkeys(names):
        if name in present:
            continue
        close = difflib.get_close_matches(name, known, n=1)
        missing[name] = by_case.get(name.casefold()) or (close[0] if close else None)
    return missing


@dataclass(frozen=True, slots=True)
class FieldUse:
    """One place the rule file reads a source field: `tested` by a fit or routing row, or not."""

    field: str
    path: Path
    tested: bool
    via: str = ""  # the derived field the row tests ("region"), when it is not `field` itself
    row: str = ""  # the testing row as `fit[0] (core-icp)`


def field_uses(rule: RuleFile) -> list[FieldUse]:
    """Every place `rule` reads a source field, in file order (signals at intent.signals)."""
    uses: list[FieldUse] = []
    for i, fit_row in enumerate(rule.fit):
        uses += _tested(fit_row.when, ("fit", i, "when"), fit_row.id)
    for i, signal in enumerate(rule.intent.signals):
        uses.append(FieldUse(SIGNAL_PREFIX + signal, ("intent", "signals", i), tested=False))
    for name in rule.potential.factors:
        path: Path = ("potential", "factors", name)
        uses += [FieldUse(f, path, False, _via(f, name)) for f in _source_fields(name)]
    for i, named in enumerate(rule.named_accounts):
        for key, value in (("domain", named.account.domain), ("name", named.account.name)):
            if value is not None:
                uses.append(FieldUse(key, ("named_accounts", i, "account", key), tested=False))
    for i, row in enumerate(rule.routing.rows):
        uses += _tested(row.when, ("routing", "rows", i, "when"), row.id)
    return uses


def intent_uses(rule: RuleFile) -> list[str]:
    """What uses intent in `rule`: routing rows that test it, the factor that scores it."""
    used = [
        f"{_row(('routing', 'rows', i), row.id)} tests it"
        for i, row in enumerate(rule.routing.rows)
        if "intent" in row.when
    ]
    if "intent" in rule.potential.factors:
        used.append("potential.factors.intent scores it")
    return used


def check_readable(rule: RuleFile, source: SourceFields, locate: Locate) -> list[RuleIssue]:
    """Issues for every rule field `source` cannot read: errors where a row tests it, or where
    intent is used and no signal is readable; warnings otherwise. Sorted by location."""
    issues: list[RuleIssue] = []
    for name, uses in _by_field(field_uses(rule)).items():
        if source.reads(name):
            continue
        tested = [u for u in uses if u.tested]
        path, why = _unreadable(rule, source, name, tested or uses)
        message = f"{_subject(name, path)}{why}; {_consequence(name, uses, path)}"
        severity = "error" if tested else "warning"
        issues.append(RuleIssue(locate(path), format_path(path), message, severity=severity))
    signals = rule.intent.signals
    used = intent_uses(rule)
    if used and signals and not any(source.reads(SIGNAL_PREFIX + s) for s in signals):
        path = ("intent", "signals")
        words = _WORDS[source.kind]
        issues.append(
            RuleIssue(
                locate(path),
                format_path(path),
                f"no {words.source} {words.thing} feeds any of the {len(signals)} signal(s), so "
                f"every account would be cold where intent is used ({'; '.join(used)}); map "
                "at least one signal (the warnings name the lines to add)",
            )
        )
    return sorted(issues, key=lambda i: (i.location.line, i.location.column, i.path))


def check_empty_fields(
    rule: RuleFile, source: SourceFields, accounts: Sequence[Account], locate: Locate
) -> list[RuleIssue]:
    """Warnings for rule fields `source` reads that are empty on every one of `accounts`."""
    if not accounts:
        return []
    issues: list[RuleIssue] = []
    words = _WORDS[source.kind]
    total = len(accounts)
    used = {n: u for n, u in _by_field(field_uses(rule)).items() if source.reads(n)}
    for name in _empty_everywhere(accounts, used):
        uses = used[name]
        path = uses[0].path
        unusable = " (or holds no country ISO 3166 knows)" if name == "country" else ""
        message = (
            f"{_subject(name, path)}{words.source} {words.thing} '{source.feeds[name]}' is empty "
            f"on every company{unusable} ({total:,} of {total:,}, 100%); "
            f"{_consequence(name, uses, path)}"
        )
        issues.append(RuleIssue(locate(path), format_path(path), message, severity="warning"))
    return issues


def _tested(when: When, base: Path, row_id: str | None) -> list[FieldUse]:
    row = _row(base[:-1], row_id)
    return [
        FieldUse(source_field, (*base, name), True, _via(source_field, name), row)
        for name in when
        for source_field in _source_fields(name)
    ]


def _row(path: Path, row_id: str | None) -> str:
    return format_path(path) + (f" ({row_id})" if row_id else "")


def _source_fields(name: str) -> tuple[str, ...]:
    """The source fields a rule field is read from (itself, unless it is derived)."""
    if name in _DERIVED_FROM:
        return _DERIVED_FROM[name]
    if name in SOURCE_FIELDS or name not in TEXT_FIELDS | NUMERIC_FIELDS:
        return (name,)  # a source field, or a custom field the rule maps through `fields:`
    return ()


def _via(source_field: str, name: str) -> str:
    return "" if source_field == name else name


def _by_field(uses: list[FieldUse]) -> dict[str, list[FieldUse]]:
    grouped: dict[str, list[FieldUse]] = {}
    for use in uses:
        grouped.setdefault(use.field, []).append(use)
    return grouped


def _unreadable(
    rule: RuleFile, source: SourceFields, name: str, uses: list[FieldUse]
) -> tuple[Path, str]:
    """Where to report an unreadable field and why, naming the `fields:` line that fixes it:
    at the rule's own `fields:` line when that names a field the source lacks, else at the
    first place the field is used (the first row that tests it, when one does)."""
    kind, words = source.kind, _WORDS[source.kind]
    line = f'"{name}: <{words.name}>"'
    feed = source.feeds.get(name)
    if feed is None:
        fix = f"add under fields.{kind}: {line}"
        if kind == "csv" and name.startswith(SIGNAL_PREFIX):
            fix = f"add a column 'signal_{name.removeprefix(SIGNAL_PREFIX)}', or {fix}"
        elif kind == "csv" and name in SOURCE_FIELDS:
            fix = f"add a column '{name}', or {fix}"
        return uses[0].path, f"no {words.source} {words.thing} feeds it; {fix}"
    suggestion = source.missing.get(feed)
    lacks = f"{words.source} has no {words.thing} '{feed}'"
    if suggestion is not None:
        lacks += f" (did you mean '{suggestion}'?)"
    if name in rule.fields.get(kind, {}):
        return ("fields", kind, name), f"{lacks}; change it to one that exists: {line}"
    return uses[0].path, f"{lacks}, the default; add under fields.{kind}: {line}"


def _subject(name: str, path: Path) -> str:
    """`country: ` where `path` does not already name the field (region tests, signal lists)."""
    if path[-1] == name:
        return ""
    signal = name.removeprefix(SIGNAL_PREFIX)
    return f"signal '{signal}': " if signal != name else f"{name}: "


def _consequence(name: str, uses: list[FieldUse], at: Path) -> str:
    """What an unreadable or empty field does to the plan (reported at `at`)."""
    tested = [u for u in uses if u.tested]
    if tested:
        rows = (f"{u.row} through {u.via}" if u.via else u.row for u in tested)
        return f"every account would miss it in {', '.join(dict.fromkeys(rows))}"
    if name.startswith(SIGNAL_PREFIX):
        return "its dates never make an account warm or hot"
    others = [format_path(u.path) for u in uses if u.path != at]
    return "every account lacks it" + (f" for {', '.join(others)}" if others else "")


def _empty_everywhere(accounts: Sequence[Account], names: Collection[str]) -> list[str]:
    """Those of `names` (rule fields) that no account has a value for, in the given order.

    Each scan stops at the first value found; the attribute scans run in C (map, filter), so
    a field empty on a million accounts costs tens of milliseconds, not seconds.
    """
    empty: list[str] = []
    signals = {n.removeprefix(SIGNAL_PREFIX) for n in names if n.startswith(SIGNAL_PREFIX)}
    custom = {n for n in names if n not in SOURCE_FIELDS and not n.startswith(SIGNAL_PREFIX)}
    with_signals = filter(None, map(attrgetter("signals"), accounts))
    signals_seen = _seen((s for pairs in with_signals for s, _ in pairs), signals)
    with_custom = filter(None, map(attrgetter("extra"), accounts))
    custom_seen = _seen((n for extra in with_custom for n in extra), custom)
    for name in names:
        if name in SOURCE_FIELDS:
            values = filter(partial(is_not, None), map(attrgetter(name), accounts))
            found = next((v for v in values if v != ""), None) is not None
        elif name.startswith(SIGNAL_PREFIX):
            found = name.removeprefix(SIGNAL_PREFIX) in signals_seen
        else:
            found = name in custom_seen
        if not found:
            empty.append(name)
    return empty


def _seen(names: Iterable[str], wanted: set[str]) -> set[str]:
    """Which of `wanted` occur in `names`, reading no further than needed."""
    seen: set[str] = set()
    for name in names if wanted else ():
        if name in wanted:
            seen.add(name)
            if len(seen) == len(wanted):
                break
    return seen
