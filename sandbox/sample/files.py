"""The sample's four files, written from the sample in memory one chunk of rows at a time.

Files are written under temporary names and renamed at the end, so a failed run leaves no
half-written sample behind.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

import numpy as np

from sandbox.sample.activities import (
    ACTIVITY_COLUMNS,
    ActivityFactory,
    quiet_days,
    recency_classes,
)
from sandbox.sample.build import RULES_FILE, Sample, loaded_rules
from sandbox.sample.columns import csv_rows
from sandbox.sample.companies import COMPANY_COLUMNS
from sandbox.sample.vocab import SIGNALS, ObjectArray

COMPANIES_FILE: Final = "companies.csv"
OWNERS_FILE: Final = "owners.csv"
ACTIVITIES_FILE: Final = "activities.csv"
FILES: Final = (COMPANIES_FILE, OWNERS_FILE, ACTIVITIES_FILE, RULES_FILE)
# Company columns spelled by CompanyText between owner_id and last_activity_at, in file order.
_SPELLED: Final = ("industry", "employees", "annual_revenue", "country", "lifecycle", "parent_id")


@dataclass(frozen=True, slots=True)
class Written:
    """The files written and the activity rows among them."""

    files: tuple[pathlib.Path, ...]
    activities: int


def write_files(
    sample: Sample, out: pathlib.Path, progress: Callable[[int], None] | None
) -> Written:
    """Write the sample into `out`; `progress(n)` after each chunk of `n` companies."""
    final = {name: out / name for name in FILES}
    # Checked before anything is written: the user never gets an invalid rule file.
    loaded_rules(sample.rules_text, str(final[RULES_FILE]))
    out.mkdir(parents=True, exist_ok=True)
    partial = {name: path.with_name(f".{name}.partial") for name, path in final.items()}
    org, events, companies = sample.org, sample.events, sample.companies
    touches = ActivityFactory(
        org, sample.as_of, sample.seed, org.member_index[org.member_index != events.departed_owner]
    )
    recency = recency_classes(companies.customer, sample.settled, events)
    quiet = quiet_days(len(companies), events)
    owner_ids = np.array([owner.id for owner in org.owners] + [""], dtype=object)
    dates = _dates(sample)
    activities = 0
    with (
        partial[COMPANIES_FILE].open("w", encoding="utf-8", newline="") as companies_out,
        partial[ACTIVITIES_FILE].open("w", encoding="utf-8", newline="") as activities_out,
    ):
        companies_out.write(",".join(COMPANY_COLUMNS) + "\n")
        activities_out.write(",".join(ACTIVITY_COLUMNS) + "\n")
        for chunk in sample.chunks:
            rows = chunk.rows
            ids, owner = sample.ids[rows], events.owner[rows]
            drawn = touches.chunk(chunk.number, ids, owner, recency[rows], quiet[rows])
            spelled = sample.text.columns(companies, chunk.start, ids, sample.domains[rows])
            ages = companies.signal_age[rows]
            columns = [
                ids,
                spelled["name"],
                sample.domains[rows],
                owner_ids[owner],
                *(spelled[name] for name in _SPELLED),
                drawn.last_touch,
                *(dates[ages[:, s]] for s in range(len(SIGNALS))),
            ]
            companies_out.write(csv_rows(columns))
            activities_out.write(drawn.rows)
            activities += drawn.count
            if progress is not None:
                progress(chunk.count)

    partial[OWNERS_FILE].write_text(_owners_csv(sample), encoding="utf-8", newline="")
    partial[RULES_FILE].write_text(sample.rules_text, encoding="utf-8", newline="")
    for name, path in partial.items():
        path.replace(final[name])
    return Written(tuple(final.values()), activities)


def _dates(sample: Sample) -> ObjectArray:
    """ISO dates by age in days before as_of; index -1 (no signal) reads as ""."""
    longest = int(sample.companies.signal_age.max(initial=0)) + 1
    days = [(sample.as_of - timedelta(days=d)).isoformat() for d in range(longest)]
    return np.array([*days, ""], dtype=object)


def _owners_csv(sample: Sample) -> str:
    rows = ["id,email,first_name,last_name,active"]
    for i, o in enumerate(sample.org.owners):
        active = o.active and i != sample.events.departed_owner
        rows.append(f"{o.id},{o.email},{o.first_name},{o.last_name},{str(active).lower()}")
    return "\n".join(rows) + "\n"
