"""Factories for engine tests: accounts, owners, small rule files, and random orgs.

`rule_text(...)` writes a small, valid rule file from keyword settings (the fit, intent and
potential sections are the reference example's), so a test states only what it is about.
`orgs()` is the hypothesis strategy behind the property tests: a random org of 10-300
accounts and 3-12 owners with the rule file that goes with it. Every team has an active rep;
other owners may be inactive or in no team, ramping or out of office. Accounts may have no
owner, an unknown one ("ghost") or any owner; a fifth have a parent created before them (so
families have no cycles, and ids are not in creation order); signals are fresh, stale or
dated after `as_of`. Up to four accounts are named (to any owner, expiring up to 30 days
before or 60 after `as_of`) and up to three pinned. The rule varies tolerance, move budget,
protection, notice, capacity (from a few minutes to a full quarter), holding owners and
whether children follow their parent.
"""

from __future__ import annotations

import copy
import io
import json
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from ruamel.yaml import YAML

from rules.context import OpenChange, PlanContext
from rules.domain import Account, Owner, Snapshot
from rules.engine import plan_territories
from rules.loader import LoadedRules, load_rules
from rules.plan import Plan

AS_OF = date(2027, 1, 15)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "rules.yaml"
SIGNALS = ("funding", "hiring", "leadership_change", "tech_adoption", "rfp", "product_usage")


# --- accounts and owners ---------------------------------------------------------------------


def days_ago(days: int, as_of: date = AS_OF) -> date:
    return as_of - timedelta(days=days)


def signal(name: str = "funding", *, days_old: int = 5, as_of: date = AS_OF) -> tuple[str, date]:
    """One (signal, date) pair `days_old` days before `as_of`."""
    return (name, days_ago(days_old, as_of))


def make_account(
    id: str = "a001",
    *,
    owner_id: str | None = None,
    industry: str | None = "software",
    employees: int | None = 900,
    annual_revenue: float | None = 10_000_000.0,
    country: str | None = "US",
    lifecycle: str | None = "prospect",
    parent_id: str | None = None,
    signals: Iterable[tuple[str, date]] | None = None,
    domain: str | None = None,
    name: str | None = None,
) -> Account:
    """A fit-A, hot NA prospect unless told otherwise (a fresh funding signal by default)."""
    chosen = (signal(),) if signals is None else tuple(signals)
    return Account(
        id=id,
        name=name if name is not None else f"Company {id}",
        domain=domain if domain is not None else f"{id}.example",
        owner_id=owner_id,
        industry=industry,
        employees=employees,
        annual_revenue=annual_revenue,
        country=country,
        lifecycle=lifecycle,
        parent_id=parent_id,
        signals=tuple(sorted(chosen)),
    )


def make_accounts(prefix: str, count: int, **fields: Any) -> list[Account]:
    """`count` accounts `{prefix}001`... sharing `fields`."""
    return [make_account(f"{prefix}{k:03d}", **fields) for k in range(1, count + 1)]


def make_owner(id: str = "o1", email: str | None = None, *, active: bool = True) -> Owner:
    """An owner whose email defaults to `{id}@example.com`."""
    return Owner(id=id, email=email or f"{id}@example.com", active=active)


def email(owner_id: str) -> str:
    return f"{owner_id}@example.com"


# --- rule files --------------------------------------------------------------------------------


@cache
def example_text() -> str:
    """The example rule file the project ships (examples/rules.yaml)."""
    return EXAMPLE.read_text(encoding="utf-8")


def member(owner_id: str, **fields: Any) -> dict[str, Any]:
    """A team member by owner id (email `{id}@example.com`): start_date, quota, industries..."""
    return {"email": email(owner_id), **{k: v for k, v in fields.items() if v is not None}}


def team(team_id: str, *members: dict[str, Any] | str, role: str = "ae") -> dict[str, Any]:
    """A team of `members` (owner ids or `member(...)` mappings)."""
    return {
        "id": team_id,
        "role": role,
        "members": [member(m) if isinstance(m, str) else m for m in members],
    }


def row(
    row_id: str,
    *,
    when: Mapping[str, Any] | None = None,
    team: str | None = None,
    strategy: str | None = None,
    prefer: str | None = None,
    unassigned: bool = False,
    watchlist: bool = False,
    holding_owner: str | None = None,
    overrides_hierarchy: bool = False,
) -> dict[str, Any]:
    """A routing row; `holding_owner` is an owner id."""
    assign: dict[str, Any] = {}
    if team is not None:
        assign["team"] = team
    if strategy is not None:
        assign["strategy"] = strategy
    if prefer is not None:
        assign["prefer"] = prefer
    if unassigned:
        assign["unassigned"] = True
    if watchlist:
        assign["watchlist"] = True
    if holding_owner is not None:
        assign["holding_owner"] = email(holding_owner)
    out: dict[str, Any] = {"id": row_id}
    if when:
        out["when"] = dict(when)
    if overrides_hierarchy:
        out["overrides_hierarchy"] = True
    out["assign"] = assign
    return out


def named(
    account_id: str, owner_id: str, *, expires: date = date(2027, 6, 30), by: str = "domain"
) -> dict[str, Any]:
    """A named-account row for `account_id` (by its domain `{id}.example`, or by id)."""
    ref = {"domain": f"{account_id}.example"} if by == "domain" else {"id": account_id}
    return {
        "account": ref,
        "owner": email(owner_id),
        "approved_by": "cro@example.com",
        "expires": expires,
        "reason": "exec relationship",
    }


FIT_ROWS: list[dict[str, Any]] = [
    {
        "band": "A",
        "when": {
            "industry": {"in": ["software", "fintech", "logistics"]},
            "employees": {"between": [200, 5000]},
            "region": {"in": ["NA", "EMEA"]},
        },
    },
    {
        "band": "B",
        "when": {"employees": {"between": [50, 20000]}, "region": {"in": ["NA", "EMEA"]}},
    },
    {"band": "C", "when": {"employees": {"gte": 20}}},
]

POTENTIAL_FACTORS: dict[str, Any] = {
    "employees": {"weight": 3, "scale": "log", "range": [10, 100000]},
    "annual_revenue": {"weight": 3, "scale": "log", "range": [100000, 1000000000]},
    "intent": {"weight": 2, "values": {"hot": 1.0, "warm": 0.5, "cold": 0.0}},
    "fit": {"weight": 2, "values": {"A": 1.0, "B": 0.66, "C": 0.33, "D": 0.0}},
}


def rule_data(
    *,
    teams: list[dict[str, Any]] | None = None,
    rows: list[dict[str, Any]] | None = None,
    named_accounts: Iterable[dict[str, Any]] = (),
    revision: str = "r1",
    effective_from: date | None = date(2027, 1, 1),
    tolerance: float = 0.10,
    index: tuple[float, float] = (0.5, 0.5),
    max_moves: float = 1.0,
    protect_tiers: Iterable[int] = (),
    protect_rows: Iterable[str] = (),
    notice_days: int = 30,
    max_share_per_run: float = 0.10,
    max_forced_share: float = 0.30,
    working_days: int = 60,
    focus_hours: float = 5,
    minutes: tuple[int, int, int] = (90, 45, 25),
    roles: Mapping[str, int] | None = None,
    ramp: Iterable[tuple[int, float]] = ((30, 0.25), (90, 0.5)),
    tier_shares: tuple[float, float] = (0.20, 0.30),
    children_follow_parent: bool = True,
    fit: list[dict[str, Any]] | None = None,
    factors: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A small rule file as data: one team `sales` of o1 and o2 with a balanced catch-all."""
    teams = teams if teams is not None else [team("sales", "o1", "o2")]
    rows = rows if rows is not None else [row("everyone", team=teams[0]["id"])]
    data: dict[str, Any] = {"version": 1, "revision": revision, "name": "engine test plan"}
    if effective_from is not None:
        data["effective_from"] = effective_from
    data |= {
        "regions": {"NA": ["US", "CA"], "EMEA": ["GB", "DE", "FR"]},
        "fit": FIT_ROWS if fit is None else fit,
        "intent": {"hot_days": 30, "warm_days": 90, "signals": list(SIGNALS)},
        "potential": {"factors": dict(POTENTIAL_FACTORS if factors is None else factors)},
        "tiers": {"tier1": tier_shares[0], "tier2": tier_shares[1]},
        "capacity": {
            "working_days_per_quarter": working_days,
            "focus_hours_per_day": focus_hours,
            "minutes_per_account": dict(zip(("tier1", "tier2", "tier3"), minutes, strict=True)),
            "ramp": [{"until_day": d, "share": s} for d, s in ramp],
            "roles": {k: {"max_accounts": v} for k, v in (roles or {"ae": 100}).items()},
        },
        "teams": teams,
        "named_accounts": list(named_accounts),
        "hierarchy": {"children_follow_parent": children_follow_parent},
        "routing": {"rows": rows},
        "balance": {
            "index": {"potential": index[0], "effort": index[1]},
            "tolerance": tolerance,
            "protect": {"tiers": list(protect_tiers), "routing_rows": list(protect_rows)},
            "max_moves_per_quarter": max_moves,
        },
        "changes": {
            "notice_days": notice_days,
            "max_share_per_run": max_share_per_run,
            "max_forced_share": max_forced_share,
        },
    }
    return data


def to_yaml(data: Mapping[str, Any]) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # keep the sections in the order written
    out = io.StringIO()
    yaml.dump(dict(data), out)
    return out.getvalue()


def rule_text(**settings: Any) -> str:
    """A small valid rule file's text; see `rule_data` for the settings."""
    return to_yaml(rule_data(**settings))


def load(text: str) -> LoadedRules:
    return load_rules(text, "rules.yaml")


def rules(**settings: Any) -> LoadedRules:
    """`rule_text(**settings)`, loaded."""
    return load(rule_text(**settings))


def edited_example(*edits: tuple[str, str]) -> str:
    """The reference file with each `old` text (which must occur once) replaced by `new`."""
    text = example_text()
    for old, new in edits:
        assert text.count(old) == 1, f"expected {old!r} once in the example rule file"
        text = text.replace(old, new)
    return text


def plan(
    loaded: LoadedRules,
    accounts: Iterable[Account],
    owners: Iterable[Owner],
    *,
    as_of: date = AS_OF,
    **context: Any,
) -> Plan:
    """Plan `accounts` and `owners` under `loaded`; `context` are PlanContext fields."""
    snapshot = Snapshot(accounts=list(accounts), owners=list(owners))
    return plan_territories(loaded, snapshot, as_of, PlanContext(**context))


def applied(accounts: Iterable[Account], result: Plan) -> list[Account]:
    """The accounts as the CRM holds them once every change of `result` is written."""
    owner_of = {a.account_id: a.owner_id for a in result.assignments}
    return [replace(a, owner_id=owner_of[a.id]) for a in accounts]


# --- random orgs (hypothesis) ------------------------------------------------------------------


@dataclass(slots=True)
class Org:
    """A random org: its rule file (as data and loaded), snapshot, as_of and context."""

    data: dict[str, Any]
    loaded: LoadedRules
    accounts: list[Account]
    owners: list[Owner]
    as_of: date
    pinned: dict[str, str] = field(default_factory=dict)
    moves_this_quarter: int = 0

    def context(self, **changes: Any) -> PlanContext:
        base = {"pinned": self.pinned, "moves_this_quarter": self.moves_this_quarter}
        return PlanContext(**(base | changes))

    def with_rule(self, edit: Callable[[dict[str, Any]], object]) -> Org:
        """The same org under a rule file that `edit` changed (in a copy of the data)."""
        data = copy.deepcopy(self.data)
        edit(data)
        return replace(self, data=data, loaded=load(json.dumps(data, default=str)))

    def snapshot(self, *, seed: int | None = None) -> Snapshot:
        """The snapshot, its accounts and owners shuffled by `seed` when given."""
        accounts, owners = list(self.accounts), list(self.owners)
        if seed is not None:
            random.Random(seed).shuffle(accounts)
            random.Random(seed + 1).shuffle(owners)
        return Snapshot(accounts=accounts, owners=owners)

    def plan(self, *, seed: int | None = None, **context: Any) -> Plan:
        return plan_territories(
            self.loaded, self.snapshot(seed=seed), self.as_of, self.context(**context)
        )

    def __repr__(self) -> str:
        # What a failing example prints: enough to rebuild the org by hand.
        lines = [to_yaml(self.data), f"as_of={self.as_of}", f"pinned={self.pinned}"]
        lines.append(f"moves_this_quarter={self.moves_this_quarter}")
        lines += [repr(o) for o in self.owners]
        lines += [repr(a) for a in self.accounts]
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Hypothesis prints falsifying examples with this hook; without it, a dataclass's
        # fields (the loaded rule file with every YAML position) run to tens of kilobytes.
        printer.text("Org(\n" + repr(self) + "\n)")


def make_org(
    accounts: Iterable[Account],
    owners: Iterable[Owner],
    *,
    pinned: Mapping[str, str] | None = None,
    moves_this_quarter: int = 0,
    as_of: date = AS_OF,
    **rule_settings: Any,
) -> Org:
    """A hand-made org: `rule_settings` go to `rule_data`."""
    data = rule_data(**rule_settings)
    return Org(
        data=data,
        loaded=load(to_yaml(data)),
        accounts=list(accounts),
        owners=list(owners),
        as_of=as_of,
        pinned=dict(pinned or {}),
        moves_this_quarter=moves_this_quarter,
    )


INDUSTRIES = ("software", "fintech", "logistics", "retail", None)
COUNTRIES = ("US", "CA", "GB", "DE", "FR", "BR", None)


# One account's random fields, drawn as one tuple (strategies built once: hypothesis validates
# a strategy on first use, and building them per account made generation the slow part).
_SIGNALS = st.lists(
    st.tuples(st.sampled_from(SIGNALS), st.integers(-10, 200)),
    max_size=2,
    unique_by=lambda s: s[0],
)
_ACCOUNT_FIELDS = st.tuples(
    st.integers(0, 99),  # owner: an index into the owners, None or an unknown id
    st.sampled_from(INDUSTRIES),
    st.one_of(st.none(), st.integers(5, 60_000)),
    st.one_of(st.none(), st.sampled_from([2e5, 3e6, 4e7, 5e8])),
    st.sampled_from(COUNTRIES),
    st.sampled_from(("prospect", "prospect", "customer", None)),
    st.integers(0, 4),  # 0: has a parent
    st.integers(0, 10_000),  # which earlier account is the parent
    _SIGNALS,
)
_ACCOUNT_ROWS = st.lists(_ACCOUNT_FIELDS, min_size=10, max_size=300)
# Account k gets id number (k * stride + offset) mod a prime: unique, and not in creation order,
# so parents are not always sorted before their children.
_ID_PRIME = 99_991
_ID_STRIDES = st.sampled_from([1, 7, 389, 7919, 50_021])
_ID_OFFSETS = st.integers(0, _ID_PRIME - 1)


@st.composite
def _account_rows(draw: st.DrawFn, owner_ids: list[str], as_of: date) -> list[Account]:
    rows = draw(_ACCOUNT_ROWS)
    stride, offset = draw(_ID_STRIDES), draw(_ID_OFFSETS)
    ids = [f"c{(k * stride + offset) % _ID_PRIME:05d}" for k in range(len(rows))]
    # "ghost": an owner id the CRM no longer lists.
    owner_choices: list[str | None] = [*owner_ids, None, "ghost"]
    accounts: list[Account] = []
    for i, account_id in enumerate(ids):
        owner, industry, employees, revenue, country, lifecycle, has_parent, parent, signals = rows[
            i
        ]
        accounts.append(
            make_account(
                account_id,
                owner_id=owner_choices[owner % len(owner_choices)],
                industry=industry,
                employees=employees,
                annual_revenue=revenue,
                country=country,
                lifecycle=lifecycle,
                # Earlier rows only: no cycles.
                parent_id=ids[parent % i] if i > 0 and has_parent == 0 else None,
                signals=[(name, as_of - timedelta(days=age)) for name, age in signals],
            )
        )
    return accounts


@st.composite
def orgs(draw: st.DrawFn) -> Org:
    """A random org for a small rule file with 2-3 teams (the module docstring says what varies)."""
    as_of = AS_OF
    team_count = draw(st.integers(2, 3))
    team_ids = [f"t{k}" for k in range(team_count)]
    owner_count = draw(st.integers(3, 12))
    owner_ids = [f"o{k:02d}" for k in range(owner_count)]
    owners = [
        make_owner(o, active=k < team_count or draw(st.integers(0, 5)) > 0)
        for k, o in enumerate(owner_ids)
    ]
    # Each team gets an active rep first; the rest land in a random team or in none.
    members: dict[str, list[dict[str, Any]]] = {t: [] for t in team_ids}
    for k, owner_id in enumerate(owner_ids):
        home = k if k < team_count else draw(st.integers(-1, team_count - 1))
        if home < 0:
            continue
        members[team_ids[home]].append(
            member(
                owner_id,
                start_date=draw(st.one_of(st.none(), st.integers(0, 150).map(days_ago))),
                out_of_office_until=draw(
                    st.one_of(st.none(), st.integers(-10, 40).map(lambda d: days_ago(-d)))
                ),
                industries=draw(st.sampled_from([None, ["software"], ["fintech", "retail"]])),
            )
        )
    accounts = draw(_account_rows(owner_ids, as_of))
    rows = _rows(draw, team_ids, owner_ids)
    named_targets = draw(st.lists(st.sampled_from(accounts), max_size=4, unique_by=lambda a: a.id))
    named_rows = [
        named(
            account.id,
            draw(st.sampled_from(owner_ids)),
            expires=as_of + timedelta(days=draw(st.integers(-30, 60))),
            by=draw(st.sampled_from(["id", "domain"])),
        )
        for account in named_targets
    ]
    pinned_targets = draw(st.lists(st.sampled_from(accounts), max_size=3, unique_by=lambda a: a.id))
    pinned = {a.id: draw(st.sampled_from(owner_ids)) for a in pinned_targets}
    data = rule_data(
        teams=[{"id": t, "role": f"role-{t}", "members": members[t]} for t in team_ids],
        rows=rows,
        named_accounts=named_rows,
        effective_from=as_of + timedelta(days=draw(st.integers(-20, 60))),
        tolerance=draw(st.sampled_from([0.1, 0.2, 0.3])),
        max_moves=draw(st.sampled_from([0.0, 0.05, 0.15, 1.0])),
        protect_tiers=draw(st.sampled_from([(), (1,)])),
        protect_rows=draw(st.sampled_from([(), ("customers",)])),
        notice_days=draw(st.integers(0, 45)),
        working_days=draw(st.sampled_from([1, 3, 10, 60])),
        focus_hours=draw(st.sampled_from([1, 2, 5])),
        roles={f"role-{t}": draw(st.integers(3, 80)) for t in team_ids},
        children_follow_parent=draw(st.integers(0, 4)) > 0,
    )
    return Org(
        data=data,
        # JSON is YAML 1.2 and dumps ten times faster than ruamel; repr() shows the YAML.
        loaded=load(json.dumps(data, default=str)),
        accounts=accounts,
        owners=owners,
        as_of=as_of,
        pinned=pinned,
        moves_this_quarter=draw(st.integers(0, 5)),
    )


def _rows(draw: st.DrawFn, team_ids: list[str], owner_ids: list[str]) -> list[dict[str, Any]]:
    def holder() -> str | None:
        return draw(st.one_of(st.none(), st.sampled_from(owner_ids)))

    rows = [
        row(
            "customers",
            when={"lifecycle": {"eq": "customer"}},
            team=team_ids[0],
            strategy=draw(st.sampled_from(["keep_owner", "balanced"])),
            overrides_hierarchy=draw(st.booleans()),
        ),
        row("out-of-scope", when={"fit": {"eq": "D"}}, unassigned=True, holding_owner=holder()),
    ]
    if draw(st.booleans()):
        rows.append(
            row(
                "cold-watchlist",
                when={"intent": {"eq": "cold"}},
                watchlist=True,
                team=team_ids[-1],
                holding_owner=holder(),
            )
        )
    rows += [
        row(
            "na",
            when={"region": {"eq": "NA"}},
            team=team_ids[1],
            prefer=draw(st.sampled_from([None, "affinity"])),
        ),
        row("catch-all", team=team_ids[-1]),
    ]
    return rows


__all__ = [
    "AS_OF",
    "OpenChange",
    "Org",
    "applied",
    "days_ago",
    "edited_example",
    "email",
    "example_text",
    "load",
    "make_account",
    "make_accounts",
    "make_org",
    "make_owner",
    "member",
    "named",
    "orgs",
    "plan",
    "row",
    "rule_data",
    "rule_text",
    "rules",
    "signal",
    "team",
]
