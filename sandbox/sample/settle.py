"""The org as its last plan left it: every company planned by the engine, the plan applied.

The generated companies are planned once with the generated rule file, from no owners at
all, and each company takes its planned owner. Planning that org again changes nothing, so
whatever the first plan of the sample changes comes from the events added afterwards
(`sandbox.sample.events`). The snapshot is built straight from the drawn columns with the
values the CSV reader would produce, which a test checks against the written files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np

from rules.domain import Account, Owner, Snapshot
from rules.engine import plan_territories
from rules.loader import LoadedRules
from sandbox.sample.columns import Bools, Ints
from sandbox.sample.companies import Companies, canonical_values
from sandbox.sample.org import Org
from sandbox.sample.vocab import SIGNALS, ObjectArray

# Outcome codes of the settled plan.
ASSIGNED: Final = 0
WATCHLIST: Final = 1
UNASSIGNED: Final = 2
_OUTCOMES: Final = {"assigned": ASSIGNED, "watchlist": WATCHLIST, "unassigned": UNASSIGNED}


@dataclass(frozen=True, slots=True)
class Settled:
    """The settled plan, by company number: owner and team are indices (-1: none)."""

    owner: Ints  # into org.owners
    outcome: Ints  # ASSIGNED, WATCHLIST or UNASSIGNED
    team: Ints  # into org.teams
    tier: Ints
    follows_parent: Bools  # placed with its parent, not on its own
    leads_family: Bools  # a parent some company follows
    named: Bools
    books: dict[str, int]  # assigned accounts per rep, by email


def settle(
    loaded: LoadedRules,
    org: Org,
    companies: Companies,
    ids: ObjectArray,
    domains: ObjectArray,
    start: Ints,
    as_of: date,
) -> Settled:
    """Plan every company with `loaded` on `as_of` and return the plan as applied.

    `start` is each company's owner index (-1: none) before planning: a first guess whose
    only effect is speed, since every company the plan gives another owner is one more change
    to build (the guess parks likely watchlist companies with their holding owner).
    """
    owner_ids = [o.id for o in org.owners]
    snapshot = Snapshot(
        accounts=_accounts(
            companies,
            ids,
            domains,
            [owner_ids[i] if i >= 0 else None for i in start.tolist()],
            as_of,
        ),
        owners=[Owner(o.id, o.email, o.first_name, o.last_name, o.active) for o in org.owners],
    )
    plan = plan_territories(loaded, snapshot, as_of)
    number = {account_id: i for i, account_id in enumerate(ids.tolist())}
    owner_number = {owner.id: i for i, owner in enumerate(org.owners)}
    team_number = {team.spec.id: i for i, team in enumerate(org.teams)}
    count = len(companies)
    owner = np.full(count, -1, dtype=np.int64)
    outcome = np.zeros(count, dtype=np.int64)
    team = np.full(count, -1, dtype=np.int64)
    tier = np.zeros(count, dtype=np.int64)
    follows = np.zeros(count, dtype=bool)
    named = np.zeros(count, dtype=bool)
    for a in plan.assignments:
        i = number[a.account.id]
        owner[i] = owner_number[a.owner_id] if a.owner_id is not None else -1
        outcome[i] = _OUTCOMES[a.outcome]
        team[i] = team_number[a.team] if a.team is not None else -1
        tier[i] = a.tier
        follows[i] = a.parent is not None
        named[i] = a.named is not None
    leads = np.zeros(count, dtype=bool)
    leads[companies.parent[follows]] = True
    return Settled(
        owner=owner,
        outcome=outcome,
        team=team,
        tier=tier,
        follows_parent=follows,
        leads_family=leads,
        named=named,
        books={rep.email: rep.accounts for rep in plan.reps},
    )


def _accounts(
    companies: Companies,
    ids: ObjectArray,
    domains: ObjectArray,
    owners: list[str | None],
    as_of: date,
) -> list[Account]:
    """Accounts as the CSV reader builds them from the sample's files."""
    c = companies
    values = canonical_values(c)
    employees = c.employees.tolist()
    revenue = c.revenue.tolist()
    id_list = ids.tolist()
    parent = [id_list[p] if p >= 0 else None for p in c.parent.tolist()]
    signals = _signals(c.signal_age, as_of)
    no_employees, no_revenue = c.no_employees.tolist(), c.no_revenue.tolist()
    return [
        Account(
            id=id_list[i],
            domain=domain,
            owner_id=owners[i],
            industry=values["industry"][i],
            employees=None if no_employees[i] else employees[i],
            annual_revenue=None if no_revenue[i] else float(revenue[i]),
            country=values["country"][i],
            lifecycle=values["lifecycle"][i],
            parent_id=parent[i],
            signals=signals[i],
        )
        for i, domain in enumerate(domains.tolist())
    ]


def _signals(age: Ints, as_of: date) -> list[tuple[tuple[str, date], ...]]:
    """Each company's (signal, date) pairs, sorted by signal name as the reader keeps them."""
    days = [as_of - timedelta(days=d) for d in range(int(age.max(initial=0)) + 1)]
    found: list[tuple[tuple[str, date], ...]] = [()] * len(age)
    by_name = sorted(range(len(SIGNALS)), key=lambda s: SIGNALS[s])
    for i in np.flatnonzero((age >= 0).any(axis=1)).tolist():
        row = age[i].tolist()
        found[i] = tuple((SIGNALS[s], days[row[s]]) for s in by_name if row[s] >= 0)
    return found
