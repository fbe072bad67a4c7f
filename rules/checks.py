"""Checks that span the rule file: references resolve, ids are unique, conditions make sense."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from functools import cache

import pycountry

from rules.errors import RuleIssue
from rules.fields import (
    FIT_BANDS,
    FIT_CONDITION_FIELDS,
    INTENT_TIERS,
    MAPPABLE_FIELDS,
    NUMERIC_FIELDS,
    SIGNAL_PREFIX,
    SOURCE_FIELDS,
    TEXT_FIELDS,
)
from rules.schema import Condition, RuleFile, When
from rules.yaml_source import Path, YamlDocument, format_path

_TEXT_OPERATORS = ("eq", "ne", "in_", "not_in")
_NUMERIC_ONLY = ("between", "gte", "gt", "lte", "lt")


class _Findings:
    def __init__(self, doc: YamlDocument) -> None:
        self.doc = doc
        self.issues: list[RuleIssue] = []

    def error(self, path: Path, message: str, *, key: bool = False) -> None:
        self.issues.append(RuleIssue(self.doc.locate(path, key=key), format_path(path), message))


def _unknown(kind: str, value: str, known: Iterable[str]) -> str:
    known_sorted = sorted(set(known))
    message = f"unknown {kind} '{value}'"
    close = difflib.get_close_matches(value, known_sorted, n=1)
    if close:
        message += f"; did you mean '{close[0]}'?"
    shown = ", ".join(known_sorted[:8]) + (", …" if len(known_sorted) > 8 else "")
    return message + f" (known: {shown or 'none'})"


def check_rule_file(rule: RuleFile, doc: YamlDocument) -> list[RuleIssue]:
    """Return every cross-reference problem in a rule file that passed the schema."""
    found = _Findings(doc)
    _check_fields(rule, found)
    _check_values(rule, found)
    _check_teams(rule, found)
    _check_regions(rule, found)
    _check_fit(rule, found)
    _check_potential(rule, found)
    _check_routing(rule, found)
    _check_named_accounts(rule, found)
    return found.issues


def _custom_fields(rule: RuleFile) -> set[str]:
    custom: set[str] = set()
    for mapping in rule.fields.values():
        custom.update(
            k for k in mapping if k not in SOURCE_FIELDS and not k.startswith(SIGNAL_PREFIX)
        )
    return custom


def _check_fields(rule: RuleFile, found: _Findings) -> None:
    for crm, mapping in rule.fields.items():
        for key in mapping:
            if key.startswith(SIGNAL_PREFIX):
                signal = key.removeprefix(SIGNAL_PREFIX)
                if signal not in rule.intent.signals:
                    found.error(
                        ("fields", crm, key),
                        _unknown("signal", signal, rule.intent.signals)
                        + "; add it to intent.signals",
                        key=True,
                    )


def _check_values(rule: RuleFile, found: _Findings) -> None:
    mappable = MAPPABLE_FIELDS | _custom_fields(rule)
    for name in rule.values:
        if name not in mappable:
            found.error(
                ("values", name),
                _unknown("field", name, mappable) + "; values: maps text read from the CRM",
                key=True,
            )


def _check_teams(rule: RuleFile, found: _Findings) -> None:
    team_seen: dict[str, int] = {}
    member_seen: dict[str, tuple[int, int]] = {}
    for t, team in enumerate(rule.teams):
        if team.id in team_seen:
            found.error(
                ("teams", t, "id"),
                f"duplicate team id '{team.id}' (also teams[{team_seen[team.id]}])",
            )
        team_seen.setdefault(team.id, t)
        if team.role not in rule.capacity.roles:
            found.error(("teams", t, "role"), _unknown("role", team.role, rule.capacity.roles))
        for m, member in enumerate(team.members):
            if member.role is not None and member.role not in rule.capacity.roles:
                found.error(
                    ("teams", t, "members", m, "role"),
                    _unknown("role", member.role, rule.capacity.roles),
                )
            if member.email in member_seen:
                ot, om = member_seen[member.email]
                found.error(
                    ("teams", t, "members", m, "email"),
                    f"{member.email} is already in team '{rule.teams[ot].id}' "
                    f"(teams[{ot}].members[{om}]); a rep belongs to one team",
                )
            member_seen.setdefault(member.email, (t, m))


def _check_regions(rule: RuleFile, found: _Findings) -> None:
    country_region: dict[str, str] = {}
    for region, countries in rule.regions.items():
        for i, code in enumerate(countries):
            path: Path = ("regions", region, i)
            problem = _country_problem(code)
            if problem is not None:
                found.error(path, problem)
            elif code in country_region and country_region[code] != region:
                found.error(path, f"{code} is already in region '{country_region[code]}'")
            country_region.setdefault(code, region)


# Two-letter codes CRMs use that ISO 3166 does not assign, and the code they mean.
_COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}
# Kosovo: user-assigned in ISO 3166, used by the EU, Salesforce and HubSpot.
_EXTRA_COUNTRIES = frozenset({"XK"})


@cache
def _iso_countries() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries) | _EXTRA_COUNTRIES


def _country_problem(code: str) -> str | None:
    """Why `code` is not an ISO 3166 alpha-2 country code as written, or None."""
    expected = f"expected an ISO 3166 alpha-2 country code such as US or GB, got '{code}'"
    upper = code.upper()
    if upper in _iso_countries():
        return None if code == upper else f"{expected}; write it as '{upper}'"
    if upper in _COUNTRY_ALIASES:
        return f"{expected}; ISO writes '{_COUNTRY_ALIASES[upper]}'"
    if len(code) == 3:
        country = pycountry.countries.get(alpha_3=upper)
        if country is not None:
            return f"{expected}; did you mean '{country.alpha_2}'?"
    return expected


def _check_fit(rule: RuleFile, found: _Findings) -> None:
    seen: dict[str, int] = {}
    allowed = FIT_CONDITION_FIELDS | _custom_fields(rule)
    for i, row in enumerate(rule.fit):
        if row.id is not None:
            if row.id in seen:
                found.error(
                    ("fit", i, "id"), f"duplicate fit row id '{row.id}' (also fit[{seen[row.id]}])"
                )
            seen.setdefault(row.id, i)
        _check_when(rule, row.when, ("fit", i, "when"), allowed, found)


def _check_potential(rule: RuleFile, found: _Findings) -> None:
    numeric = NUMERIC_FIELDS - {"potential", "tier"}
    categorical = (TEXT_FIELDS | _custom_fields(rule)) - {"name", "domain"}
    for name, factor in rule.potential.factors.items():
        path: Path = ("potential", "factors", name)
        if factor.scale is not None and name not in numeric:
            found.error(
                path,
                f"scale: needs a numeric field ({', '.join(sorted(numeric))}), got '{name}'; "
                "use values: for a text field",
                key=True,
            )
        if factor.values is not None:
            if name not in categorical:
                found.error(
                    path,
                    _unknown("field", name, categorical) + "; a values: table scores a text field",
                    key=True,
                )
                continue
            valid = _closed_vocabulary(rule, name)
            for value in factor.values:
                if valid is not None and not _in_vocabulary(value, valid):
                    found.error(
                        (*path, "values", value), _unknown(f"{name} value", value, valid), key=True
                    )


def _closed_vocabulary(rule: RuleFile, field: str) -> tuple[str, ...] | None:
    if field == "fit":
        return FIT_BANDS
    if field == "intent":
        return INTENT_TIERS
    if field == "region":
        return tuple(rule.regions)
    return None


def _in_vocabulary(value: str, vocabulary: tuple[str, ...]) -> bool:
    # Text matches case-insensitively at run time, so `fit: {eq: a}` is fine.
    return value.casefold() in {v.casefold() for v in vocabulary}


def _check_routing(rule: RuleFile, found: _Findings) -> None:
    team_ids = [t.id for t in rule.teams]
    allowed = TEXT_FIELDS | NUMERIC_FIELDS | _custom_fields(rule)
    seen: dict[str, int] = {}
    rows = rule.routing.rows
    for i, row in enumerate(rows):
        base: Path = ("routing", "rows", i)
        if row.id in seen:
            found.error(
                (*base, "id"), f"duplicate routing row id '{row.id}' (also rows[{seen[row.id]}])"
            )
        seen.setdefault(row.id, i)
        _check_when(rule, row.when, (*base, "when"), allowed, found)
        if not row.when and i < len(rows) - 1:
            found.error(
                (*base, "id"),
                f"row '{row.id}' matches every account, so the rows after it "
                f"({', '.join(r.id for r in rows[i + 1 :])}) can never match; give it a `when` "
                "or move it last",
            )
        team = row.assign.team
        if team is not None and team not in team_ids:
            found.error((*base, "assign", "team"), _unknown("team", team, team_ids))
    if rows and rows[-1].when:
        found.error(
            ("routing", "rows", len(rows) - 1, "when"),
            f"the last routing row ('{rows[-1].id}') must match every account: remove its "
            "`when`, or add a catch-all row after it",
        )
    for i, row_id in enumerate(rule.balance.protect.routing_rows):
        if row_id not in seen:
            found.error(
                ("balance", "protect", "routing_rows", i), _unknown("routing row", row_id, seen)
            )


def _check_named_accounts(rule: RuleFile, found: _Findings) -> None:
    seen: dict[tuple[str, str], int] = {}
    for i, named in enumerate(rule.named_accounts):
        ref = named.account
        # The schema guarantees exactly one of the three.
        kind, value = next(
            (k, v)
            for k, v in (("id", ref.id), ("domain", ref.domain), ("name", ref.name))
            if v is not None
        )
        normalised = (kind, value.lower())
        if normalised in seen:
            found.error(
                ("named_accounts", i, "account"),
                f"account {kind} '{value}' is already named in "
                f"named_accounts[{seen[normalised]}]; an account has one named owner",
            )
        seen.setdefault(normalised, i)


def _check_when(
    rule: RuleFile, when: When, base: Path, allowed: set[str] | frozenset[str], found: _Findings
) -> None:
    for field, condition in when.items():
        path: Path = (*base, field)
        if field not in allowed and field in TEXT_FIELDS | NUMERIC_FIELDS:
            # Only fit rows see fewer fields: fit, intent, potential and tier come after them.
            found.error(
                path,
                f"fit rows cannot test '{field}': it is worked out after the fit band "
                f"(fit rows may test: {', '.join(sorted(allowed))})",
                key=True,
            )
            continue
        if field not in allowed:
            found.error(path, _unknown("field", field, allowed), key=True)
            continue
        _check_condition(rule, field, condition, path, found)


def _check_condition(
    rule: RuleFile, field: str, condition: Condition, path: Path, found: _Findings
) -> None:
    numeric = field in NUMERIC_FIELDS
    for op in _NUMERIC_ONLY:
        if getattr(condition, op) is not None and not numeric:
            found.error((*path, op), f"{op} compares numbers, but {field} is text; use eq or in")
    vocabulary = _closed_vocabulary(rule, field)
    for op in _TEXT_OPERATORS:
        value = getattr(condition, op)
        if value is None:
            continue
        alias = "in" if op == "in_" else op
        items = value if isinstance(value, list) else [value]
        for j, item in enumerate(items):
            item_path: Path = (*path, alias, j) if isinstance(value, list) else (*path, alias)
            if numeric and isinstance(item, str):
                found.error(item_path, f"{field} is a number; expected a number, got '{item}'")
            elif not numeric and not isinstance(item, str):
                found.error(
                    item_path,
                    f'{field} is text; quote the value: "{found.doc.scalars[item_path].text}"'
                    if item_path in found.doc.scalars
                    else f"{field} is text; expected text",
                )
            elif (
                vocabulary is not None
                and isinstance(item, str)
                and not _in_vocabulary(item, vocabulary)
            ):
                found.error(item_path, _unknown(f"{field} value", item, vocabulary))
            elif field == "country" and isinstance(item, str):
                problem = _country_problem(item)
                if problem is not None:
                    found.error(item_path, problem)
