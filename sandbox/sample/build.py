"""The whole sample in memory: companies drawn, teams sized, the last plan applied, the events
since added, quotas set from the settled books, and the rule file's text."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Final

import numpy as np

from rules.loader import LoadedRules, load_rules
from sandbox.sample.columns import Ints
from sandbox.sample.companies import (
    BUCKETS,
    Companies,
    CompanyText,
    NameCode,
    draw_companies,
    named_candidates,
    parked_guess,
    route_buckets,
)
from sandbox.sample.events import Events, add_events, no_events
from sandbox.sample.org import QUEUE_EMAIL, Org, plan_org
from sandbox.sample.quotas import set_quotas
from sandbox.sample.rules import RuleInputs, render_rules
from sandbox.sample.settle import Settled, settle
from sandbox.sample.vocab import Flavour, ObjectArray

# Rows per chunk: bounds the memory of rendering text and sets the progress granularity. Part
# of the output's identity: each chunk has its own random streams.
CHUNK_ROWS: Final = 100_000
RULES_FILE: Final = "rules.yaml"


@dataclass(frozen=True, slots=True)
class Chunk:
    """A run of companies drawn and written together, with its own random streams."""

    number: int
    start: int
    count: int

    @property
    def rows(self) -> slice:
        return slice(self.start, self.start + self.count)


@dataclass(frozen=True, slots=True)
class Sample:
    """Everything the sample's files are written from."""

    seed: int
    as_of: date
    chunks: tuple[Chunk, ...]
    text: CompanyText
    companies: Companies
    ids: ObjectArray
    domains: ObjectArray
    org: Org
    settled: Settled
    events: Events
    rules_text: str


def build_sample(
    accounts: int,
    reps: int,
    seed: int,
    flavour: Flavour,
    as_of: date,
    *,
    events: bool,
    chunk_rows: int = CHUNK_ROWS,
) -> Sample:
    """Return the sample for these arguments; the same arguments, the same sample."""
    org_rng = np.random.default_rng([seed, 0])
    text = CompanyText(flavour, NameCode.for_accounts(accounts, org_rng))
    chunks = tuple(
        Chunk(number, start, min(chunk_rows, accounts - start))
        for number, start in enumerate(range(0, accounts, chunk_rows))
    )
    companies = Companies.concatenate([draw_companies(seed, c.number, c.count) for c in chunks])
    ids, domains = text.ids(0, accounts), text.domains(0, accounts)
    buckets = route_buckets(companies)
    worked = np.bincount(buckets[buckets >= 0], minlength=len(BUCKETS))
    org = plan_org(reps, flavour, as_of, org_rng, worked.tolist())
    inputs = RuleInputs(
        org, flavour, as_of, seed, accounts, worked, named_candidates(companies, domains), {}
    )
    start: Ints = np.where(parked_guess(companies, buckets), org.owner_index()[QUEUE_EMAIL], -1)
    settled = settle(loaded_rules(render_rules(inputs)), org, companies, ids, domains, start, as_of)
    happened = (
        add_events(org, companies, settled, np.random.default_rng([seed, 3]))
        if events
        else no_events(settled)
    )
    companies.country[happened.moved_region] = happened.moved_to
    quotas = set_quotas(org, settled.books, np.random.default_rng([seed, 4]))
    return Sample(
        seed=seed,
        as_of=as_of,
        chunks=chunks,
        text=text,
        companies=companies,
        ids=ids,
        domains=domains,
        org=org,
        settled=settled,
        events=happened,
        rules_text=render_rules(replace(inputs, quotas=quotas)),
    )


def loaded_rules(rules_text: str, path: str = RULES_FILE) -> LoadedRules:
    """The generated rule file, loaded; a generator bug raises RuleError here, not later."""
    return load_rules(rules_text, path)
