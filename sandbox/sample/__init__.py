"""A synthetic org for `territory sample`: canonical CSV exports plus a matching rule file.

The org looks like one mid-year: its owners follow the rule file because its last plan was
applied (the engine plans the drawn companies once, and each takes its planned owner), and
then the events a RevOps lead lives with happened (see `sandbox.sample.events`), so the first
plan changes a small share of accounts and each change has a cause one can point at. The
companies are realistic where planning is sensitive to it: lognormal sizes, families, a
minority with recent intent signals, activity that follows how each account is worked. It
never reads the clock: (accounts, reps, seed, flavour, as_of) determine every byte.

Module map: build (the sample in memory, step by step), companies (firmographics, families,
signals), org (teams and owners), rules (rules.yaml), settle (the last plan, applied), events
(what happened since), quotas (set from the settled books), activities (touches), files (the
CSVs and rules.yaml on disk), vocab (value spellings per CRM), ids (record ids), columns.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Final, get_args

import numpy as np

from sandbox.sample.build import CHUNK_ROWS, Sample, build_sample
from sandbox.sample.files import write_files
from sandbox.sample.vocab import Flavour, ObjectArray

__all__ = [
    "CHUNK_ROWS",
    "DEFAULT_AS_OF",
    "Flavour",
    "SampleEvents",
    "SampleSummary",
    "write_sample",
]

DEFAULT_AS_OF: Final = date(2027, 1, 4)


@dataclass(frozen=True, slots=True)
class SampleEvents:
    """What happened since the sample's last plan, by company id (see sandbox.sample.events)."""

    departed_rep: str | None  # email of the rep deactivated with a book
    departed: tuple[str, ...]
    new: tuple[str, ...]
    took_watchlist: tuple[str, ...]
    took_other_team: tuple[str, ...]
    held_outside_teams: tuple[str, ...]
    moved_region: tuple[str, ...]
    skewed_team: str | None
    skewed_rep: str | None  # email of the rep handed teammates' accounts
    skewed: tuple[str, ...]
    neglected: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SampleSummary:
    """What `write_sample` wrote: counts for the CLI to report, the events, the files' paths."""

    accounts: int
    owners: int
    active_owners: int
    inactive_owners: int
    activities: int
    families: int
    teams: int
    events: SampleEvents
    files: tuple[pathlib.Path, ...]


def write_sample(
    out: pathlib.Path,
    *,
    accounts: int,
    reps: int,
    seed: int,
    flavour: Flavour = "canonical",
    as_of: date = DEFAULT_AS_OF,
    events: bool = True,
    progress: Callable[[int], None] | None = None,
) -> SampleSummary:
    """Write companies, owners and activities CSVs and a valid rules.yaml into `out`.

    The org is the one its last plan left, after the events since (`events=False`: before
    them, so planning it changes nothing). The same arguments always write byte-identical
    files. `progress(n)` is called after each chunk is written with the number of companies
    it added (the calls sum to `accounts`). Files are written under temporary names and
    renamed at the end, so a failed run leaves no half-written sample behind.
    """
    if accounts < 1:
        raise ValueError(f"a sample needs at least one account, got {accounts}")
    if flavour not in get_args(Flavour):
        raise ValueError(f"unknown flavour {flavour!r}; expected one of {get_args(Flavour)}")
    sample = build_sample(
        accounts, reps, seed, flavour, as_of, events=events, chunk_rows=CHUNK_ROWS
    )
    written = write_files(sample, out, progress)
    owners = sample.org.owners
    inactive = sum(not o.active for o in owners) + (sample.events.departed_owner >= 0)
    return SampleSummary(
        accounts=accounts,
        owners=len(owners),
        active_owners=len(owners) - inactive,
        inactive_owners=inactive,
        activities=written.activities,
        families=_families(sample),
        teams=len(sample.org.teams),
        events=_sample_events(sample),
        files=written.files,
    )


def _families(sample: Sample) -> int:
    """Families: parents at the top of their family that some company points at."""
    parent = sample.companies.parent
    parents = np.unique(parent[parent >= 0])
    return int(np.count_nonzero(parent[parents] < 0))


def _sample_events(sample: Sample) -> SampleEvents:
    org, events = sample.org, sample.events

    def named(rows: np.ndarray) -> tuple[str, ...]:
        ids: ObjectArray = sample.ids[rows]
        return tuple(ids.tolist())

    departed, skewed = events.departed_owner, events.skewed_owner
    return SampleEvents(
        departed_rep=org.owners[departed].email if departed >= 0 else None,
        departed=named(events.departed),
        new=named(events.new),
        took_watchlist=named(events.took_watchlist),
        took_other_team=named(events.took_other_team),
        held_outside_teams=named(events.held_outside_teams),
        moved_region=named(events.moved_region),
        skewed_team=org.teams[events.skewed_team].spec.id if events.skewed_team >= 0 else None,
        skewed_rep=org.owners[skewed].email if skewed >= 0 else None,
        skewed=named(events.skewed),
        neglected=named(events.neglected),
    )
