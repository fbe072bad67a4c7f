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
from typing import Any, Final

import numpy as np
import numpy.typing as npt

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
    assignments = plan.assignments
    owner_number = {owner.id: i for i, owner in enumerate(org.owners)}
    team_number = {team.spec.id: i for i, team in enumerate(org.teams)}
    count = len(companies)
    # The plan lists accounts by id; the sample's ids sort in company order, so the plan's
    # order is company order (checked: any other order is mapped back by id).
    order: Ints | slice = slice(None)
    if [a.account.id for a in assignments] != ids.tolist():
        number = {account_id: i for i, account_id in enumerate(ids.tolist())}
        order = np.array([number[a.account.id] for a in assignments], dtype=np.int64)

    def column(values: list[int] | list[bool], dtype: type) -> npt.NDArray[Any]:
        placed: npt.NDArray[Any] = np.empty(count, dtype=dtype)
        placed[order] = values
        return placed

    return Settled(
        owner=column([owner_number.get(a.owner_id or "", -1) for a in assignments], np.int64),
        outcome=column([_OUTCOMES[a.outcome] for a in assignments], np.int64),
        team=column([team_number.get(a.team or "", -1) for a in assignments], np.int64),
        tier=column([a.tier for a in assignments], np.int64),
        follows_parent=column([a.parent is not None for a in assignments], bool),
        named=column([a.named is not None for a in assignments], bool),
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
    employees = c.employees.astype(object)
    employees[c.no_employees] = None
    revenue = c.revenue.astype(np.float64).astype(object)
    revenue[c.no_revenue] = None
    parent = np.append(ids, [None])[c.parent]  # -1 (no parent) picks the None
    # Positional arguments, in Account's field order (name and last activity left empty: the
    # engine reads neither): a million keyword calls cost a second more.
    return [
        Account(account_id, "", domain, owner_id, industry, size, amount, country, lifecycle,
                parent_id, None, signals)
        for (
            account_id, domain, owner_id, industry, size, amount, country, lifecycle, parent_id,
            signals,
        ) in zip(
            ids.tolist(), domains.tolist(), owners, values["industry"], employees.tolist(),
            revenue.tolist(), values["country"], values["lifecycle"], parent.tolist(),
            _signals(c.signal_age, as_of), strict=True,
        )
    ]  # fmt: skip


def _signals(age: Ints, as_of: date) -> list[tuple[tuple[str, date], ...]]:
    """Each company's (signal, date) pairs, sorted by signal name as the reader keeps them.

    Built per set of signals present (a few dozen sets), not per company and signal.
    """
    by_name = sorted(range(len(SIGNALS)), key=lambda s: SIGNALS[s])
    days = np.array(
        [as_of - timedelta(days=d) for d in range(int(age.max(initial=0)) + 1)], dtype=object
    )
    present = age[:, by_name] >= 0
    pattern = present @ (1 << np.arange(len(SIGNALS)))
    found: list[tuple[tuple[str, date], ...]] = [()] * len(age)
    for code in np.unique(pattern[pattern > 0]).tolist():
        rows = np.flatnonzero(pattern == code)
        kinds = [by_name[k] for k in range(len(SIGNALS)) if code >> k & 1]
        dates = [days[age[rows, s]].tolist() for s in kinds]
        names = [SIGNALS[s] for s in kinds]
        for i, on in zip(rows.tolist(), zip(*dates, strict=True), strict=True):
            found[i] = tuple(zip(names, on, strict=True))
    return found
