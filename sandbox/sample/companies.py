"""The sample's companies: firmographics, families and intent signals, drawn column-wise.

Everything is drawn with numpy and spelled through lookup tables, so a million companies cost
seconds. Each chunk of rows has its own random stream (seed, chunk number), so a seed always
draws the same companies. Families are built inside a chunk: depth at most 2, no cycles.
Owners are not drawn here: the sample settles them by planning (`sandbox.sample.settle`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from sandbox.sample.columns import Bools, Ints, draw_codes
from sandbox.sample.ids import company_ids
from sandbox.sample.vocab import (
    COUNTRIES,
    INDUSTRIES,
    INDUSTRY_REVENUE_FACTOR,
    INDUSTRY_WEIGHTS,
    LIFECYCLES,
    SIGNAL_WEIGHTS,
    SIGNALS,
    SYLLABLES,
    VARIANTS,
    Flavour,
    ObjectArray,
    country_regions,
    country_shares,
    legal_form_table,
    name_word_table,
    spelling_table,
)

COMPANY_COLUMNS: Final = (
    "id", "name", "domain", "owner_id", "industry", "employees", "annual_revenue", "country",
    "lifecycle", "parent_id", "last_activity_at", *(f"signal_{name}" for name in SIGNALS),
)  # fmt: skip

DOMAIN_SUFFIX: Final = ".example"  # RFC 2606: never a real company's domain
# Companies this large in North America are enterprise accounts, whatever their intent.
ENTERPRISE_EMPLOYEES: Final = 1000
# The working band of the generated fit rows (bands A and B), and the smallest company in scope.
WORKED_EMPLOYEES: Final = (50, 20_000)
SCOPE_EMPLOYEES: Final = 20
_NAMED_CANDIDATES: Final = 2

# Route buckets: which routing row an account would reach (see `route_buckets`).
BUCKETS: Final = ("customer", "enterprise", "na", "emea", "other")


@dataclass(slots=True)
class Companies:
    """Every company's drawn values, by company number (0-based, oldest first).

    Codes index the vocab tuples; `parent` is a company number (-1: none); `signal_age` holds
    each signal's age in days before as_of (-1: absent). `country` may be edited after the
    draw (a company that moved); `born_in` keeps the country the name was spelled for.
    """

    industry: Ints
    country: Ints
    born_in: Ints
    employees: Ints
    revenue: Ints
    no_employees: Bools
    no_revenue: Bools
    no_industry: Bools
    no_country: Bools
    customer: Bools
    parent: Ints
    signal_age: Ints
    variant: Ints  # (n, 3): spelling variant of industry, country, lifecycle
    name_word: Ints
    legal_form: Bools

    def __len__(self) -> int:
        return len(self.industry)

    @property
    def region(self) -> Ints:
        """Each company's region (index into REGIONS), -1 when none or no country."""
        region: Ints = np.where(self.no_country, -1, country_regions()[self.country]).astype(
            np.int64
        )
        return region

    @staticmethod
    def concatenate(parts: list[Companies]) -> Companies:
        """Join chunks drawn in order; each chunk's parent numbers become whole-org numbers."""
        offsets = np.cumsum([0, *(len(p) for p in parts[:-1])])
        parents = [
            np.where(p.parent >= 0, p.parent + o, -1) for p, o in zip(parts, offsets, strict=True)
        ]
        joined = {
            name: np.concatenate([getattr(p, name) for p in parts])
            for name in Companies.__slots__
            if name != "parent"
        }
        return Companies(parent=np.concatenate(parents), **joined)


@dataclass(frozen=True, slots=True)
class NameCode:
    """A bijection from company number to a syllable sequence: x -> (x * a + b) mod S**k."""

    length: int
    multiplier: int
    offset: int

    @staticmethod
    def for_accounts(accounts: int, rng: np.random.Generator) -> NameCode:
        """Shortest code (3+ syllables) with at least 4x more names than accounts."""
        size = len(SYLLABLES)
        length = 3
        while size**length < 4 * accounts:
            length += 1
        if length > 5:
            raise ValueError(f"too many accounts for unique names: {accounts}")
        space = size**length
        multiplier = int(rng.integers(space // 3, space))
        while np.gcd(multiplier, space) != 1:
            multiplier += 1
        return NameCode(length, multiplier, int(rng.integers(0, space)))

    def digits(self, start: int, count: int) -> list[Ints]:
        """Syllable indices of companies `start` .. `start + count - 1`, first syllable first."""
        space = len(SYLLABLES) ** self.length
        x = (
            np.arange(start, start + count, dtype=np.int64) * self.multiplier + self.offset
        ) % space
        digits = []
        for _ in range(self.length):
            digits.append(x % len(SYLLABLES))
            x //= len(SYLLABLES)
        return digits


def draw_companies(seed: int, number: int, count: int) -> Companies:
    """Draw `count` companies from chunk `number`'s own random stream."""
    rng = np.random.default_rng([seed, 1, number])
    industry = draw_codes(rng, np.cumsum(INDUSTRY_WEIGHTS), count)
    country = draw_codes(rng, np.cumsum(country_shares()), count)
    employees = np.maximum(1, rng.lognormal(np.log(60), 1.5, count)).astype(np.int64)
    employees = np.minimum(employees, 400_000)
    per_employee = rng.lognormal(np.log(150_000), 0.6, count) * np.take(
        INDUSTRY_REVENUE_FACTOR, industry
    )
    revenue = np.round(employees * per_employee, -4).astype(np.int64)
    no_employees = rng.random(count) < 0.02
    no_revenue = no_employees | (rng.random(count) < 0.04)
    no_industry = rng.random(count) < 0.03
    no_country = rng.random(count) < 0.02
    customer_p = np.clip(0.03 + 0.015 * np.log(employees / 10), 0.01, 0.25)
    customer = rng.random(count) < np.where(no_employees, 0.03, customer_p)
    parent = _families(rng, employees, no_employees)
    return Companies(
        industry=industry,
        country=country,
        born_in=country.copy(),
        employees=employees,
        revenue=revenue,
        no_employees=no_employees,
        no_revenue=no_revenue,
        no_industry=no_industry,
        no_country=no_country,
        customer=customer,
        parent=parent,
        signal_age=_signals(rng, count),
        variant=rng.integers(0, VARIANTS, (count, 3)),
        name_word=rng.integers(0, name_word_table().shape[1], count),
        legal_form=rng.random(count) < 0.6,
    )


def route_buckets(companies: Companies) -> Ints:
    """Return the route bucket (index into BUCKETS) each company reaches, or -1 for none.

    A mirror of the generated routing rows, used only to size teams and capacity: customers
    go to account management; large North American companies to enterprise; fit A/B with a
    signal in the last 90 days is worked by region; everything else is out of scope or on the
    watchlist (no rep's load).
    """
    c = companies
    region = c.region
    fresh = ((c.signal_age >= 0) & (c.signal_age <= 90)).any(axis=1)
    sized = ~c.no_employees
    low, high = WORKED_EMPLOYEES
    worked = fresh & sized & (c.employees >= low) & (c.employees <= high)
    bucket = np.full(len(c), -1, dtype=np.int64)
    bucket[worked & (region < 0)] = BUCKETS.index("other")
    bucket[worked & (region == 1)] = BUCKETS.index("emea")
    bucket[worked & (region == 0)] = BUCKETS.index("na")
    bucket[sized & (region == 0) & (c.employees >= ENTERPRISE_EMPLOYEES)] = BUCKETS.index(
        "enterprise"
    )
    bucket[c.customer] = BUCKETS.index("customer")
    return bucket


def parked_guess(companies: Companies, buckets: Ints) -> Bools:
    """Companies the rule file most likely parks on the watchlist: in scope, yet in no bucket."""
    in_scope = ~companies.no_employees & (companies.employees >= SCOPE_EMPLOYEES)
    parked: Bools = in_scope & (buckets < 0)
    return parked


def named_candidates(companies: Companies, domains: ObjectArray) -> tuple[str, ...]:
    """Domains of the largest NA prospects without a parent: plausible named accounts."""
    c = companies
    eligible = ~c.no_employees & (c.region == 0) & ~c.customer & (c.parent < 0)
    rows = np.flatnonzero(eligible)
    top = rows[np.argsort(-c.employees[rows], kind="stable")[:_NAMED_CANDIDATES]]
    return tuple(str(domain) for domain in domains[top])


class CompanyText:
    """Spells companies in one flavour: ids, names, domains and the values CRMs hold."""

    def __init__(self, flavour: Flavour, names: NameCode) -> None:
        self._flavour = flavour
        self._names = names
        self._industry = spelling_table(flavour, "industry")
        self._lifecycle = spelling_table(flavour, "lifecycle")
        self._country = spelling_table(flavour, "country")
        self._words = name_word_table()
        self._legal = legal_form_table()
        self._syllables = np.array(SYLLABLES, dtype=object)
        self._capitals = np.array([s.title() for s in SYLLABLES], dtype=object)

    def ids(self, start: int, count: int) -> ObjectArray:
        """Record ids of companies `start` .. `start + count - 1`."""
        return np.array(company_ids(self._flavour, start, count), dtype=object)

    def domains(self, start: int, count: int) -> ObjectArray:
        """Unique lower-case domains under DOMAIN_SUFFIX."""
        digits = self._names.digits(start, count)
        domain: ObjectArray = self._syllables[digits[0]]
        for d in digits[1:]:
            domain = domain + self._syllables[d]
        with_suffix: ObjectArray = domain + DOMAIN_SUFFIX
        return with_suffix

    def columns(
        self, companies: Companies, start: int, ids: ObjectArray, domains: ObjectArray
    ) -> dict[str, ObjectArray]:
        """The CRM-spelled text columns of companies `start` .. `start + len(ids) - 1`.

        Keys: name, industry, employees, annual_revenue, country, lifecycle, parent_id (an
        id only when the parent lies in the same range).
        """
        count = len(ids)
        c = _rows(companies, start, count)
        digits = self._names.digits(start, count)
        name: ObjectArray = self._capitals[digits[0]]
        for d in digits[1:]:
            name = name + self._syllables[d]
        name = name + self._words[c.industry, c.name_word]
        name[c.legal_form] = name[c.legal_form] + self._legal[c.born_in[c.legal_form]]
        local_parent = np.where(c.parent >= 0, c.parent - start, count)
        return {
            "name": name,
            "industry": _blank(self._industry[c.industry, c.variant[:, 0]], c.no_industry),
            "employees": _blank(_strings(c.employees), c.no_employees),
            "annual_revenue": _blank(_strings(c.revenue), c.no_revenue),
            "country": _blank(self._country[c.country, c.variant[:, 1]], c.no_country),
            "lifecycle": self._lifecycle[np.where(c.customer, 0, 1), c.variant[:, 2]],
            "parent_id": np.append(ids, "")[local_parent],
        }


def canonical_values(companies: Companies) -> dict[str, list[str | None]]:
    """Industry, country and lifecycle as the CSV reader maps them, for every company."""
    c = companies
    countries = tuple(code for code, _, _, _ in COUNTRIES)
    return {
        "industry": _spelled(INDUSTRIES, c.industry, c.no_industry),
        "country": _spelled(countries, c.country, c.no_country),
        "lifecycle": _spelled(LIFECYCLES, np.where(c.customer, 0, 1), np.zeros(len(c), bool)),
    }


def _spelled(values: tuple[str, ...], codes: Ints, missing: Bools) -> list[str | None]:
    """`values[code]` per company, None where the value is missing."""
    table = np.array([*values, None], dtype=object)
    spelled: list[str | None] = table[np.where(missing, -1, codes)].tolist()
    return spelled


def _rows(companies: Companies, start: int, count: int) -> Companies:
    """The companies `start` .. `start + count - 1` (views, not copies)."""
    stop = start + count
    return Companies(**{name: getattr(companies, name)[start:stop] for name in Companies.__slots__})


def _families(rng: np.random.Generator, employees: Ints, no_employees: Bools) -> Ints:
    """Return each company's parent number in the chunk (-1: none).

    Heads are large companies with no parent; children point at a head, grandchildren at a
    child, so depth is at most 2 and a cycle cannot form.
    """
    count = len(employees)
    parent = np.full(count, -1, dtype=np.int64)
    head = (employees >= 500) & ~no_employees & (rng.random(count) < 0.3)
    heads = np.flatnonzero(head)
    level = rng.random(count)
    children = np.flatnonzero(~head & (level < 0.06))
    grandchildren = np.flatnonzero(~head & (level >= 0.06) & (level < 0.07))
    if len(heads) == 0:
        return parent
    parent[children] = heads[rng.integers(0, len(heads), len(children))]
    if len(children):
        parent[grandchildren] = children[rng.integers(0, len(children), len(grandchildren))]
    return parent


def _signals(rng: np.random.Generator, count: int) -> Ints:
    """Return (count, signals) ages in days, -1 where a signal is absent.

    A minority has signals: ~9% within 30 days (hot), ~12% 31-89 (warm), ~19% older; some
    carry a second, older signal of another kind. Ages avoid 30 and 90 so no test depends on
    which side of a window's edge is inclusive.
    """
    age = np.full((count, len(SIGNALS)), -1, dtype=np.int64)
    band = rng.random(count)
    latest = np.where(
        band < 0.09,
        rng.integers(1, 30, count),
        np.where(band < 0.21, rng.integers(31, 90, count), rng.integers(91, 721, count)),
    )
    has = np.flatnonzero(band < 0.40)
    kind = draw_codes(rng, np.cumsum(SIGNAL_WEIGHTS), count)
    age[has, kind[has]] = latest[has]
    second = has[rng.random(len(has)) < 0.3]
    other = (kind[second] + rng.integers(1, len(SIGNALS), len(second))) % len(SIGNALS)
    age[second, other] = latest[second] + rng.integers(7, 366, len(second))
    return age


def _strings(values: Ints) -> ObjectArray:
    return np.array(list(map(str, values.tolist())), dtype=object)


def _blank(values: ObjectArray, missing: Bools) -> ObjectArray:
    values[missing] = ""
    return values
