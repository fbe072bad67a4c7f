"""The sample's people: teams sized from the rep count and the book, and the CRM owners.

Besides the team members, the CRM holds a queue user (the holding owner of parked accounts),
reps who left earlier in the year (inactive, holding nothing since their books were moved),
and one active owner in no team (a sales engineer, say), whom hand edits sometimes pick.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt

from sandbox.sample.companies import BUCKETS
from sandbox.sample.ids import owner_ids
from sandbox.sample.vocab import FIRST_NAMES, LAST_NAMES, Flavour

EMAIL_DOMAIN: Final = "example.com"
QUEUE_EMAIL: Final = f"territory-queue@{EMAIL_DOMAIN}"
CRO_EMAIL: Final = f"cro@{EMAIL_DOMAIN}"

ACCOUNT_MANAGEMENT: Final = "account-management"
SDR_POOL: Final = "sdr-pool"


@dataclass(frozen=True, slots=True)
class Pipeline:
    """A team's pipeline math: deal size, win rate and account -> opportunity conversion."""

    avg_deal_size: int
    win_rate: float
    account_to_opportunity: float

    @property
    def bookings_per_account(self) -> float:
        """What one account worked for a quarter is expected to book."""
        return self.avg_deal_size * self.win_rate * self.account_to_opportunity


@dataclass(frozen=True, slots=True)
class TeamSpec:
    """A kind of team the sample can field: id, role, and how its quota is set."""

    id: str
    role: str
    quota: int | None  # a flat quota; None: set from the book (pipeline) or no quota at all
    pipeline: Pipeline | None


# Conversions are for the working universe (accounts with fresh intent, and enterprise
# accounts), which converts far better than a whole book.
_NA_ENTERPRISE: Final = TeamSpec(
    "na-enterprise", "enterprise_ae", None, Pipeline(150_000, 0.25, 0.2)
)
_NA_MIDMARKET: Final = TeamSpec("na-midmarket", "ae_full_cycle", None, Pipeline(60_000, 0.3, 0.25))
_EMEA_MIDMARKET: Final = TeamSpec(
    "emea-midmarket", "ae_full_cycle", None, Pipeline(55_000, 0.28, 0.25)
)
_FIELD_SALES: Final = TeamSpec("field-sales", "ae_full_cycle", None, Pipeline(50_000, 0.3, 0.25))
_ACCOUNT_MANAGEMENT: Final = TeamSpec(ACCOUNT_MANAGEMENT, "account_manager", 600_000, None)
_SDR_POOL: Final = TeamSpec(SDR_POOL, "ae_sdr_assisted", None, None)


@dataclass(frozen=True, slots=True)
class Member:
    """A rep in one team, as the rule file lists them."""

    email: str
    start_date: date | None = None
    out_of_office_until: date | None = None
    industries: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Team:
    """A team of the generated rule file, with its members and manager."""

    spec: TeamSpec
    manager: str
    members: tuple[Member, ...]


@dataclass(frozen=True, slots=True)
class OwnerRow:
    """One row of owners.csv."""

    id: str
    email: str
    first_name: str
    last_name: str
    active: bool


@dataclass(frozen=True, slots=True)
class Org:
    """Teams and CRM owners; `owners` is in creation order and arrays are indexed like it."""

    teams: tuple[Team, ...]
    owners: tuple[OwnerRow, ...]
    is_person: npt.NDArray[np.bool_]  # false for the queue user, who logs no activity
    member_index: npt.NDArray[np.int64]  # owner indices of team members, in rule-file order
    stray: int  # owner index of the active owner in no team
    bucket_team: dict[str, str]  # route bucket -> the team its routing row names
    customers_team: str
    watchlist_team: str
    catch_all_team: str

    def team(self, team_id: str) -> Team:
        """Return the team with this id."""
        return next(team for team in self.teams if team.spec.id == team_id)

    def owner_index(self) -> dict[str, int]:
        """Owner index by email."""
        return {owner.email: i for i, owner in enumerate(self.owners)}


@dataclass(frozen=True, slots=True)
class _Person:
    """A CRM owner before ids are handed out."""

    kind: str  # queue, rep, former or stray
    first_name: str
    last_name: str

    @property
    def email(self) -> str:
        if self.kind == "queue":
            return QUEUE_EMAIL
        return _email(self.first_name.lower(), self.last_name.lower())


def plan_org(
    reps: int,
    flavour: Flavour,
    as_of: date,
    rng: np.random.Generator,
    worked: Sequence[int],
) -> Org:
    """Return the org for `reps` team members; every team has at least one member.

    `worked` counts the accounts each route bucket (BUCKETS order) gives reps to work: the
    field's headcount follows it, so enterprise books hold tens of accounts like midmarket ones.
    """
    sizes = _team_sizes(reps, worked)
    people = _people(rng)
    rep_names = [next(people) for _ in range(reps)]
    ae_positions = [i for i, spec in enumerate(_expand(sizes)) if spec.pipeline is not None]
    ramping = _pick(rng, ae_positions, 0 if reps < 2 else 1 if reps < 10 else 2)
    out_of_office = _pick(rng, [i for i in ae_positions if i not in ramping], int(reps >= 3))
    teams = _teams(sizes, rep_names, people, ramping, out_of_office, as_of, rng)
    persons = _persons(rep_names, people, ramping, rng)

    ids = owner_ids(flavour, len(persons))
    owners = tuple(
        OwnerRow(ids[i], p.email, p.first_name, p.last_name, p.kind != "former")
        for i, p in enumerate(persons)
    )
    by_email = {owner.email: i for i, owner in enumerate(owners)}
    team_ids = [spec.id for spec, _ in sizes]
    catch_all = SDR_POOL if SDR_POOL in team_ids else _ae_team_ids(team_ids)[-1]
    customers = ACCOUNT_MANAGEMENT if ACCOUNT_MANAGEMENT in team_ids else catch_all
    na_team = "na-midmarket" if "na-midmarket" in team_ids else catch_all
    return Org(
        teams=teams,
        owners=owners,
        is_person=np.array([p.kind != "queue" for p in persons]),
        member_index=np.array(
            [by_email[m.email] for team in teams for m in team.members], dtype=np.int64
        ),
        stray=next(i for i, p in enumerate(persons) if p.kind == "stray"),
        bucket_team={
            "customer": customers,
            "enterprise": "na-enterprise" if "na-enterprise" in team_ids else na_team,
            "na": na_team,
            "emea": "emea-midmarket" if "emea-midmarket" in team_ids else catch_all,
            "other": catch_all,
        },
        customers_team=customers,
        watchlist_team=catch_all,
        catch_all_team=catch_all,
    )


def _teams(
    sizes: list[tuple[TeamSpec, int]],
    rep_names: list[tuple[str, str]],
    people: Iterator[tuple[str, str]],
    ramping: list[int],
    out_of_office: list[int],
    as_of: date,
    rng: np.random.Generator,
) -> tuple[Team, ...]:
    """Teams in rule-file order; rep `i` (0-based, in member order) is `rep_names[i]`.

    Ramping reps started 21 and 60 days before as_of (ramp shares 0.25 and 0.5); the rep
    out of office returns after as_of, so changes for them wait.
    """
    ramp_days = (21, 60)
    teams: list[Team] = []
    position = 0
    for spec, size in sizes:
        members = []
        for _ in range(size):
            start = (
                as_of - timedelta(days=ramp_days[ramping.index(position)])
                if position in ramping
                else None
            )
            away = as_of + timedelta(days=16) if position in out_of_office else None
            members.append(
                Member(
                    email=_email(*rep_names[position]),
                    start_date=start,
                    out_of_office_until=away,
                    industries=_affinity(spec, rng),
                )
            )
            position += 1
        teams.append(Team(spec, _email(*next(people)), tuple(members)))
    return tuple(teams)


def _persons(
    rep_names: list[tuple[str, str]],
    people: Iterator[tuple[str, str]],
    ramping: list[int],
    rng: np.random.Generator,
) -> list[_Person]:
    """Every CRM owner in creation order.

    The queue user first, then veterans, former reps and the stray owner mixed, then this
    quarter's new hires, who get the newest ids.
    """
    reps = len(rep_names)
    established = [_Person("rep", *_titled(rep_names[i])) for i in range(reps) if i not in ramping]
    established += [_Person("former", *_titled(next(people))) for _ in range(2 + reps // 50)]
    established.append(_Person("stray", *_titled(next(people))))
    queue = _Person("queue", "Territory", "Queue")
    new_hires = [_Person("rep", *_titled(rep_names[i])) for i in ramping]
    return [queue, *(established[int(i)] for i in rng.permutation(len(established))), *new_hires]


def _titled(name: tuple[str, str]) -> tuple[str, str]:
    return name[0].title(), name[1].title()


def _team_sizes(reps: int, worked: Sequence[int]) -> list[tuple[TeamSpec, int]]:
    """Split `reps` into teams: ~10% account management, ~10% SDR pool, the rest AEs.

    Fewer reps field fewer teams rather than empty ones: 1 rep is one field team, 2 add
    account management, 3 split the field by region, 4+ add the SDR pool. From 3 field reps
    on, each field team has one rep and the rest follow the accounts each will work.
    """
    if reps < 1:
        raise ValueError(f"a sample needs at least one rep, got {reps}")
    account_managers = 0 if reps < 2 else max(1, round(reps * 0.1))
    sdrs = 0 if reps < 4 else max(1, round(reps * 0.1))
    field = reps - account_managers - sdrs
    ae: list[tuple[TeamSpec, int]]
    if field == 1:
        ae = [(_FIELD_SALES, 1)]
    elif field == 2:
        ae = [(_NA_MIDMARKET, 1), (_EMEA_MIDMARKET, 1)]
    else:
        load = [1 + worked[BUCKETS.index(bucket)] for bucket in ("enterprise", "na", "emea")]
        split = _largest_remainder(field - 3, tuple(x / sum(load) for x in load))
        ae = [
            (_NA_ENTERPRISE, 1 + split[0]),
            (_NA_MIDMARKET, 1 + split[1]),
            (_EMEA_MIDMARKET, 1 + split[2]),
        ]
    others = [(_ACCOUNT_MANAGEMENT, account_managers), (_SDR_POOL, sdrs)]
    return ae + [(spec, size) for spec, size in others if size]


def _largest_remainder(total: int, shares: tuple[float, ...]) -> list[int]:
    exact = [total * share for share in shares]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(shares)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _expand(sizes: list[tuple[TeamSpec, int]]) -> list[TeamSpec]:
    """Each rep's team spec, in member order."""
    return [spec for spec, size in sizes for _ in range(size)]


def _ae_team_ids(team_ids: list[str]) -> list[str]:
    return [t for t in team_ids if t not in (ACCOUNT_MANAGEMENT, SDR_POOL)]


def _pick(rng: np.random.Generator, pool: list[int], count: int) -> list[int]:
    if count == 0 or not pool:
        return []
    chosen = rng.choice(len(pool), size=min(count, len(pool)), replace=False)
    return [pool[int(i)] for i in chosen]


def _people(rng: np.random.Generator) -> Iterator[tuple[str, str]]:
    """Distinct (first, last) names; past the pool's size a number keeps emails distinct."""
    pairs = [(f, last) for f in FIRST_NAMES for last in LAST_NAMES]
    order = rng.permutation(len(pairs))
    shuffled = [pairs[int(i)] for i in order]
    return itertools.chain(
        shuffled,
        ((f, f"{last}{round_}") for round_ in itertools.count(2) for f, last in shuffled),
    )


def _email(first: str, last: str) -> str:
    return f"{first}.{last}@{EMAIL_DOMAIN}"


def _affinity(spec: TeamSpec, rng: np.random.Generator) -> tuple[str, ...]:
    """Some enterprise reps have an industry background the `affinity` preference uses."""
    if spec is not _NA_ENTERPRISE or rng.random() >= 0.4:
        return ()
    return (str(rng.choice(["software", "fintech", "logistics", "healthcare"])),)
