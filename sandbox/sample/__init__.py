"""A synthetic org for `territory sample`: canonical CSV exports plus a matching rule file.

The sample is realistic where planning is sensitive to it: lognormal company sizes, families,
a minority of accounts with recent intent signals, skewed current ownership, unowned
accounts, departed owners still holding books, an owner in no team, and activity that is
mostly the owner's and often stale. It never reads the clock: (accounts, reps, seed, flavour,
as_of) determine every byte.

Module map: sample_vocab (value spellings per CRM), sample_ids (record ids), sample_org
(teams and owners), sample_accounts (companies and activities), sample_rules (rules.yaml).
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Final, get_args

import numpy as np

from rules.loader import load_rules
from sandbox.sample.accounts import (
    ACTIVITY_COLUMNS,
    COMPANY_COLUMNS,
    AccountFactory,
    NameCode,
)
from sandbox.sample.org import BUCKETS, Org, plan_org
from sandbox.sample.rules import RuleInputs, render_rules
from sandbox.sample.vocab import Flavour

__all__ = ["CHUNK_ROWS", "DEFAULT_AS_OF", "Flavour", "SampleSummary", "write_sample"]

DEFAULT_AS_OF: Final = date(2027, 1, 4)
# Rows per chunk: bounds memory (~100 MB at peak) and sets the progress granularity. Part of
# the output's identity: each chunk has its own random stream.
CHUNK_ROWS: Final = 100_000

COMPANIES_FILE: Final = "companies.csv"
OWNERS_FILE: Final = "owners.csv"
ACTIVITIES_FILE: Final = "activities.csv"
RULES_FILE: Final = "rules.yaml"


@dataclass(frozen=True, slots=True)
class SampleSummary:
    """What `write_sample` wrote: counts for the CLI to report, and the files' paths."""

    accounts: int
    owners: int
    active_owners: int
    inactive_owners: int
    activities: int
    families: int
    teams: int
    files: tuple[pathlib.Path, ...]


def write_sample(
    out: pathlib.Path,
    *,
    accounts: int,
    reps: int,
    seed: int,
    flavour: Flavour = "canonical",
    as_of: date = DEFAULT_AS_OF,
    progress: Callable[[int], None] | None = None,
) -> SampleSummary:
    """Write companies, owners and activities CSVs and a valid rules.yaml into `out`.

    The same arguments always write byte-identical files. `progress(n)` is called after each
    chunk with the number of accounts it added (the calls sum to `accounts`). Files are
    written under temporary names and renamed at the end, so a failed run leaves no
    half-written sample behind.
    """
    if accounts < 1:
        raise ValueError(f"a sample needs at least one account, got {accounts}")
    if flavour not in get_args(Flavour):
        raise ValueError(f"unknown flavour {flavour!r}; expected one of {get_args(Flavour)}")
    org_rng = np.random.default_rng([seed, 0])
    org = plan_org(reps, flavour, as_of, org_rng)
    factory = AccountFactory(org, flavour, as_of, seed, NameCode.for_accounts(accounts, org_rng))

    out.mkdir(parents=True, exist_ok=True)
    final = {
        name: out / name for name in (COMPANIES_FILE, OWNERS_FILE, ACTIVITIES_FILE, RULES_FILE)
    }
    partial = {name: path.with_name(f".{name}.partial") for name, path in final.items()}
    activities = families = 0
    buckets = np.zeros(len(BUCKETS), dtype=np.int64)
    named: tuple[str, ...] = ()
    with (
        partial[COMPANIES_FILE].open("w", encoding="utf-8", newline="") as companies_out,
        partial[ACTIVITIES_FILE].open("w", encoding="utf-8", newline="") as activities_out,
    ):
        companies_out.write(",".join(COMPANY_COLUMNS) + "\n")
        activities_out.write(",".join(ACTIVITY_COLUMNS) + "\n")
        for number, start in enumerate(range(0, accounts, CHUNK_ROWS)):
            count = min(CHUNK_ROWS, accounts - start)
            chunk = factory.chunk(number, start, count)
            companies_out.write(chunk.companies)
            activities_out.write(chunk.activities)
            activities += chunk.activity_count
            families += chunk.family_count
            buckets += chunk.bucket_counts
            if number == 0:
                named = chunk.named_candidates
            if progress is not None:
                progress(count)

    partial[OWNERS_FILE].write_text(_owners_csv(org), encoding="utf-8", newline="")
    rules_text = render_rules(
        RuleInputs(org, flavour, as_of, seed, accounts, buckets, named_domains=named)
    )
    # A generator bug must not hand the user an invalid rule file; this raises RuleError.
    load_rules(rules_text, str(final[RULES_FILE]))
    partial[RULES_FILE].write_text(rules_text, encoding="utf-8", newline="")
    for name, path in partial.items():
        path.replace(final[name])

    active = sum(owner.active for owner in org.owners)
    return SampleSummary(
        accounts=accounts,
        owners=len(org.owners),
        active_owners=active,
        inactive_owners=len(org.owners) - active,
        activities=activities,
        families=families,
        teams=len(org.teams),
        files=tuple(final.values()),
    )


def _owners_csv(org: Org) -> str:
    rows = ["id,email,first_name,last_name,active"]
    rows += [
        f"{o.id},{o.email},{o.first_name},{o.last_name},{'true' if o.active else 'false'}"
        for o in org.owners
    ]
    return "\n".join(rows) + "\n"
