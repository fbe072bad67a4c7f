"""Companies and activities of the sample, one chunk of rows at a time, as CSV text.

Everything is drawn column-wise with numpy and spelled through lookup tables, so a million
accounts cost seconds. Each chunk has its own random stream (seed, chunk number), which
keeps output byte-identical for a seed and memory bounded by the chunk size. Families are
built inside a chunk, so every parent_id names a company in the same file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt

from sandbox.sample.ids import company_ids
from sandbox.sample.org import BUCKETS, Org
from sandbox.sample.vocab import (
    ACTIVITY_TYPES,
    ACTIVITY_WEIGHTS,
    INDUSTRY_REVENUE_FACTOR,
    INDUSTRY_WEIGHTS,
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
ACTIVITY_COLUMNS: Final = ("account_id", "owner_id", "type", "occurred_at")

DOMAIN_SUFFIX: Final = ".example"  # RFC 2606: never a real company's domain
_MAX_AGE_DAYS: Final = 4000  # dates are spelled from a table this long
_NAMED_CANDIDATES: Final = 2

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk's CSV rows (no header, newline-terminated) and what the summary counts."""

    companies: str
    activities: str
    activity_count: int
    family_count: int
    bucket_counts: Ints  # accounts per route bucket (BUCKETS order) that a rep would work
    named_candidates: tuple[str, ...]  # domains of large NA prospects, for named accounts


@dataclass(frozen=True, slots=True)
class NameCode:
    """A bijection from account number to a syllable sequence: x -> (x * a + b) mod S**k."""

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


class AccountFactory:
    """Draws chunks of companies and their activities for one org, flavour and as_of."""

    def __init__(self, org: Org, flavour: Flavour, as_of: date, seed: int, names: NameCode) -> None:
        self._org = org
        self._flavour = flavour
        self._seed = seed
        self._names = names
        self._industry = spelling_table(flavour, "industry")
        self._lifecycle = spelling_table(flavour, "lifecycle")
        self._country = spelling_table(flavour, "country")
        self._country_cdf = np.cumsum(country_shares())
        self._region = country_regions()
        self._words = name_word_table()
        self._legal = legal_form_table()
        self._syllables = np.array(SYLLABLES, dtype=object)
        self._capitals = np.array([s.title() for s in SYLLABLES], dtype=object)
        # Index -1 (no value) picks the trailing empty string of every lookup table.
        self._dates = _table(
            [(as_of - timedelta(days=d)).isoformat() for d in range(_MAX_AGE_DAYS)]
        )
        # Activities happen before as_of: age d is the day d + 1 days earlier.
        self._days = np.array(
            [(as_of - timedelta(days=d + 1)).isoformat() + "T" for d in range(_MAX_AGE_DAYS)],
            dtype=object,
        )
        self._times = np.array(
            [f"{m // 60:02d}:{m % 60:02d}:00Z" for m in range(0, 24 * 60, 5)], dtype=object
        )
        self._owner_ids = _table([owner.id for owner in org.owners])

    def chunk(self, number: int, start: int, count: int) -> Chunk:
        """Return companies `start` .. `start + count - 1`; chunk `number` picks the stream."""
        rng = np.random.default_rng([self._seed, 1, number])
        ids = np.array(company_ids(self._flavour, start, count), dtype=object)

        industry = _draw(rng, np.cumsum(INDUSTRY_WEIGHTS), count)
        country = _draw(rng, self._country_cdf, count)
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

        parent, families = self._families(rng, employees, no_employees)
        owner = self._owners(rng, parent, count)
        signal_age = _signals(rng, count)
        activities, activity_count, last_touch = self._activities(rng, ids, owner, customer)

        region = np.where(no_country, -1, self._region[country])
        buckets = route_buckets(customer, employees, no_employees, region, signal_age)
        variant = rng.integers(0, VARIANTS, (count, 3))
        domains = self._domains(start, count)
        columns = [
            ids,
            self._company_names(start, count, industry, country, rng),
            domains,
            self._owner_ids[owner],
            _blank(self._industry[industry, variant[:, 0]], no_industry),
            _blank(_strings(employees), no_employees),
            _blank(_strings(revenue), no_revenue),
            _blank(self._country[country, variant[:, 1]], no_country),
            self._lifecycle[np.where(customer, 0, 1), variant[:, 2]],
            np.append(ids, "")[parent],
            last_touch,
            *(self._dates[signal_age[:, s]] for s in range(len(SIGNALS))),
        ]
        return Chunk(
            companies=_csv_rows(columns),
            activities=activities,
            activity_count=activity_count,
            family_count=families,
            bucket_counts=np.bincount(buckets[buckets >= 0], minlength=len(BUCKETS)),
            named_candidates=_named_candidates(
                domains, employees, no_employees, region, customer, parent
            ),
        )

    def _families(
        self, rng: np.random.Generator, employees: Ints, no_employees: Bools
    ) -> tuple[Ints, int]:
        """Return each company's parent index in the chunk (-1: none) and the family count.

        Heads are large companies with no parent; children point at a head, grandchildren
        at a child, so depth is at most 2 and a cycle cannot form.
        """
        count = len(employees)
        parent = np.full(count, -1, dtype=np.int64)
        head = (employees >= 500) & ~no_employees & (rng.random(count) < 0.3)
        heads = np.flatnonzero(head)
        level = rng.random(count)
        children = np.flatnonzero(~head & (level < 0.06))
        grandchildren = np.flatnonzero(~head & (level >= 0.06) & (level < 0.07))
        if len(heads) == 0:
            return parent, 0
        parent[children] = heads[rng.integers(0, len(heads), len(children))]
        if len(children):
            parent[grandchildren] = children[rng.integers(0, len(children), len(grandchildren))]
        return parent, len(np.unique(parent[children]))

    def _owners(self, rng: np.random.Generator, parent: Ints, count: int) -> Ints:
        """Return each company's owner index (-1: unowned); half the children share the
        parent's owner, as families usually sit with one rep."""
        cdf = self._org.holding_cdf
        owner = np.minimum(np.searchsorted(cdf, rng.random(count), side="right"), len(cdf) - 1)
        owner[owner == len(cdf) - 1] = -1
        follows = (parent >= 0) & (rng.random(count) < 0.5)
        # Two passes: in the second, a grandchild copies what its parent took from the head.
        for _ in range(2):
            owner[follows] = owner[parent[follows]]
        return owner

    def _activities(
        self, rng: np.random.Generator, ids: ObjectArray, owner: Ints, customer: Bools
    ) -> tuple[str, int, ObjectArray]:
        """Return activity rows as CSV text, their count, and each company's last_activity_at.

        Most activity is the owner's, some other reps' (off-territory work); many accounts
        are untouched for long; a departed owner's accounts went quiet when they left.
        """
        org = self._org
        count = len(owner)
        owned_by_person = (owner >= 0) & org.is_person[owner]
        touched_p = np.where(customer, 0.92, np.where(owner >= 0, 0.72, 0.45))
        touched = rng.random(count) < touched_p
        recency = rng.random(count) * np.where(customer, 0.7, 1.0)
        last_age = np.where(
            recency < 0.38,
            rng.uniform(0, 30, count),
            np.where(
                recency < 0.62,
                rng.uniform(30, 90, count),
                np.minimum(90 + rng.exponential(200, count), 1500),
            ),
        )
        last_age = np.maximum(last_age, np.where(owner >= 0, org.departed_days[owner], 0))
        per_account = np.where(touched, 1 + rng.poisson(np.where(customer, 2.0, 1.1)), 0)

        account = np.repeat(np.arange(count), per_account)
        total = len(account)
        first = np.zeros(total, dtype=bool)
        starts = np.cumsum(per_account) - per_account
        first[starts[per_account > 0]] = True
        # Older touches lie at least a day apart, so the first row is the account's latest.
        gaps = np.where(first, 0.0, 1.0 + rng.exponential(21, total))
        cumulative = np.cumsum(gaps)
        age = last_age[account] + cumulative - np.repeat(cumulative[first], per_account[touched])
        day = np.minimum(age.astype(np.int64), _MAX_AGE_DAYS - 1)
        slot = rng.integers(7 * 12, 19 * 12, total)  # five-minute slots in working hours
        occurred = self._days[day] + self._times[slot]

        by_owner = owned_by_person[account] & (rng.random(total) < 0.8)
        other_rep = org.member_index[rng.integers(0, len(org.member_index), total)]
        actor = np.where(by_owner, owner[account], other_rep)
        kind = np.array(ACTIVITY_TYPES, dtype=object)[
            _draw(rng, np.cumsum(ACTIVITY_WEIGHTS), total)
        ]

        last_touch = np.full(count, "", dtype=object)
        last_touch[touched] = occurred[first]
        rows = _csv_rows([ids[account], self._owner_ids[actor], kind, occurred])
        return rows, total, last_touch

    def _syllable_digits(self, start: int, count: int) -> list[Ints]:
        code = self._names
        space = len(SYLLABLES) ** code.length
        x = (
            np.arange(start, start + count, dtype=np.int64) * code.multiplier + code.offset
        ) % space
        digits = []
        for _ in range(code.length):
            digits.append(x % len(SYLLABLES))
            x //= len(SYLLABLES)
        return digits

    def _company_names(
        self, start: int, count: int, industry: Ints, country: Ints, rng: np.random.Generator
    ) -> ObjectArray:
        digits = self._syllable_digits(start, count)
        name: ObjectArray = self._capitals[digits[0]]
        for d in digits[1:]:
            name = name + self._syllables[d]
        name = name + self._words[industry, rng.integers(0, self._words.shape[1], count)]
        legal = rng.random(count) < 0.6
        name[legal] = name[legal] + self._legal[country[legal]]
        return name

    def _domains(self, start: int, count: int) -> ObjectArray:
        digits = self._syllable_digits(start, count)
        domain: ObjectArray = self._syllables[digits[0]]
        for d in digits[1:]:
            domain = domain + self._syllables[d]
        with_suffix: ObjectArray = domain + DOMAIN_SUFFIX
        return with_suffix


def route_buckets(
    customer: Bools, employees: Ints, no_employees: Bools, region: Ints, signal_age: Ints
) -> Ints:
    """Return the route bucket (index into BUCKETS) each account reaches, or -1 for none.

    A rough mirror of the generated routing rows, used only to size capacity: customers go to
    account management; fit A/B (50-20,000 employees) with a signal in the last 90 days is
    worked by region; everything else is out of scope or on the watchlist (no rep's load).
    """
    fresh = ((signal_age >= 0) & (signal_age <= 90)).any(axis=1)
    worked = fresh & ~no_employees & (employees >= 50) & (employees <= 20_000)
    bucket = np.full(len(customer), -1, dtype=np.int64)
    bucket[worked & (region < 0)] = BUCKETS.index("other")
    bucket[worked & (region == 1)] = BUCKETS.index("emea")
    bucket[worked & (region == 0)] = BUCKETS.index("na")
    bucket[worked & (region == 0) & (employees >= 1000)] = BUCKETS.index("enterprise")
    bucket[customer] = BUCKETS.index("customer")
    return bucket


def _named_candidates(
    domains: ObjectArray,
    employees: Ints,
    no_employees: Bools,
    region: Ints,
    customer: Bools,
    parent: Ints,
) -> tuple[str, ...]:
    """Domains of the largest NA prospects without a parent: plausible named accounts."""
    eligible = ~no_employees & (region == 0) & ~customer & (parent < 0)
    rows = np.flatnonzero(eligible)
    top = rows[np.argsort(-employees[rows], kind="stable")[:_NAMED_CANDIDATES]]
    return tuple(str(domain) for domain in domains[top])


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
    kind = _draw(rng, np.cumsum(SIGNAL_WEIGHTS), count)
    age[has, kind[has]] = latest[has]
    second = has[rng.random(len(has)) < 0.3]
    other = (kind[second] + rng.integers(1, len(SIGNALS), len(second))) % len(SIGNALS)
    age[second, other] = latest[second] + rng.integers(7, 366, len(second))
    return age


def _draw(rng: np.random.Generator, cdf: npt.ArrayLike, count: int) -> Ints:
    """Draw `count` category codes from a cumulative distribution (last entry ~1)."""
    cumulative = np.asarray(cdf, dtype=np.float64)
    codes = np.searchsorted(cumulative / cumulative[-1], rng.random(count), side="right")
    return np.minimum(codes, len(cumulative) - 1).astype(np.int64)


def _table(values: list[str]) -> ObjectArray:
    """A lookup table whose index -1 is the empty string."""
    return np.array([*values, ""], dtype=object)


def _strings(values: Ints) -> ObjectArray:
    return np.array(list(map(str, values.tolist())), dtype=object)


def _blank(values: ObjectArray, missing: Bools) -> ObjectArray:
    values[missing] = ""
    return values


def _csv_rows(columns: list[ObjectArray]) -> str:
    """Join columns into CSV lines. Generated values never hold a comma, quote or newline."""
    if len(columns[0]) == 0:
        return ""
    lines = map(",".join, zip(*(column.tolist() for column in columns), strict=True))
    return "\n".join(lines) + "\n"
