"""The sample's people: teams sized from the rep count, the CRM owners, who holds how much.

The org carries the realistic mess the planner exists to clean up: current ownership is
skewed (a few veterans hold far more than new hires), some accounts sit with deactivated
owners or with an active owner who is in no team, and a queue user holds parked accounts.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt

from sandbox.sample.ids import owner_ids
from sandbox.sample.vocab import FIRST_NAMES, LAST_NAMES, Flavour

EMAIL_DOMAIN: Final = "example.com"
QUEUE_EMAIL: Final = f"territory-queue@{EMAIL_DOMAIN}"
CRO_EMAIL: Final = f"cro@{EMAIL_DOMAIN}"

# Shares of all accounts held by each kind of owner; team members hold the rest.
UNOWNED_SHARE: Final = 0.06
QUEUE_SHARE: Final = 0.01
INACTIVE_SHARE: Final = 0.03
STRAY_SHARE: Final = 0.005
# New hires were handed a starter book only: this fraction of a typical rep's weight.
RAMPING_WEIGHT: Final = 0.1

# Route buckets: which routing row an account would reach (see sample_accounts.route_buckets).
BUCKETS: Final = ("customer", "enterprise", "na", "emea", "other")


@dataclass(frozen=True, slots=True)
class TeamSpec:
    """A kind of team the sample can field: id, role, base quota and pipeline math."""

    id: str
    role: str
    quota: int | None
    pipeline: tuple[int, float, float] | None  # avg deal size, win rate, account→opportunity


_NA_ENTERPRISE: Final = TeamSpec("na-enterprise", "enterprise_ae", 1_200_000, (60_000, 0.25, 0.08))
_NA_MIDMARKET: Final = TeamSpec("na-midmarket", "ae_full_cycle", 800_000, (25_000, 0.3, 0.1))
_EMEA_MIDMARKET: Final = TeamSpec("emea-midmarket", "ae_full_cycle", 700_000, (22_000, 0.28, 0.1))
_FIELD_SALES: Final = TeamSpec("field-sales", "ae_full_cycle", 750_000, (20_000, 0.3, 0.1))
_ACCOUNT_MANAGEMENT: Final = TeamSpec("account-management", "account_manager", 600_000, None)
_SDR_POOL: Final = TeamSpec("sdr-pool", "ae_sdr_assisted", None, None)


@dataclass(frozen=True, slots=True)
class Member:
    """A rep in one team, as the rule file lists them."""

    email: str
    quota: int | None
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
    """Teams, owners, and the per-owner arrays the account generator draws from.

    Owner arrays are indexed like `owners`; index -1 means "no owner".
    """

    teams: tuple[Team, ...]
    owners: tuple[OwnerRow, ...]
    holding_cdf: npt.NDArray[np.float64]  # cumulative P(owner) over owners, then unowned
    is_person: npt.NDArray[np.bool_]  # false for the queue user, who logs no activity
    departed_days: npt.NDArray[np.int64]  # days since an inactive owner left; 0 when active
    member_index: npt.NDArray[np.int64]  # owner indices of active team members
    bucket_team: dict[str, str]  # route bucket -> the team its routing row names
    customers_team: str
    watchlist_team: str
    catch_all_team: str

    def team(self, team_id: str) -> Team:
        """Return the team with this id."""
        return next(team for team in self.teams if team.spec.id == team_id)


@dataclass(frozen=True, slots=True)
class _Holder:
    """A CRM owner before ids are handed out, with its share of current ownership."""

    kind: str  # queue, rep, inactive or stray
    first_name: str
    last_name: str
    active: bool
    weight: float
    departed_days: int = 0

    @property
    def email(self) -> str:
        if self.kind == "queue":
            return QUEUE_EMAIL
        return _email(self.first_name.lower(), self.last_name.lower())


def plan_org(reps: int, flavour: Flavour, as_of: date, rng: np.random.Generator) -> Org:
    """Return the org for `reps` team members; every team has at least one member."""
    sizes = _team_sizes(reps)
    people = _people(rng)
    rep_names = [next(people) for _ in range(reps)]
    ae_positions = [i for i, spec in enumerate(_expand(sizes)) if spec.pipeline is not None]
    ramping = _pick(rng, ae_positions, 0 if reps < 2 else 1 if reps < 10 else 2)
    out_of_office = _pick(rng, [i for i in ae_positions if i not in ramping], int(reps >= 3))
    teams = _teams(sizes, rep_names, people, ramping, out_of_office, as_of, rng)
    holders = _holders(rep_names, people, ramping, rng)

    ids = owner_ids(flavour, len(holders))
    weights = np.array([h.weight for h in holders] + [UNOWNED_SHARE], dtype=np.float64)
    is_rep = np.array([h.kind == "rep" for h in holders])
    team_ids = [spec.id for spec, _ in sizes]
    catch_all = "sdr-pool" if "sdr-pool" in team_ids else _ae_team_ids(team_ids)[-1]
    customers = "account-management" if "account-management" in team_ids else catch_all
    na_team = "na-midmarket" if "na-midmarket" in team_ids else catch_all
    return Org(
        teams=teams,
        owners=tuple(
            OwnerRow(ids[i], h.email, h.first_name, h.last_name, h.active)
            for i, h in enumerate(holders)
        ),
        holding_cdf=np.cumsum(weights) / weights.sum(),
        is_person=np.array([h.kind != "queue" for h in holders]),
        departed_days=np.array([h.departed_days for h in holders], dtype=np.int64),
        member_index=np.flatnonzero(is_rep).astype(np.int64),
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
                    quota=_quota(spec, rng, ramping=start is not None),
                    start_date=start,
                    out_of_office_until=away,
                    industries=_affinity(spec, rng),
                )
            )
            position += 1
        teams.append(Team(spec, _email(*next(people)), tuple(members)))
    return tuple(teams)


def _holders(
    rep_names: list[tuple[str, str]],
    people: Iterator[tuple[str, str]],
    ramping: list[int],
    rng: np.random.Generator,
) -> list[_Holder]:
    """Every CRM owner in creation order, weighted by the share of accounts they hold.

    Creation order: the queue user first, then veterans, leavers and the stray owner mixed,
    then this quarter's new hires, who get the newest ids and only a starter book.
    """
    reps = len(rep_names)
    rep_weights = _skewed_weights(reps, rng)
    rep_weights[ramping] *= RAMPING_WEIGHT
    rep_weights *= (
        1.0 - UNOWNED_SHARE - QUEUE_SHARE - INACTIVE_SHARE - STRAY_SHARE
    ) / rep_weights.sum()
    n_inactive = 2 + reps // 50
    inactive_weights = rng.lognormal(0.0, 0.6, n_inactive)
    inactive_weights *= INACTIVE_SHARE / inactive_weights.sum()

    def person(kind: str, name: tuple[str, str], weight: float, departed: int = 0) -> _Holder:
        first, last = name
        return _Holder(kind, first.title(), last.title(), kind != "inactive", weight, departed)

    established = [
        person("rep", rep_names[i], float(rep_weights[i])) for i in range(reps) if i not in ramping
    ]
    established += [
        person("inactive", next(people), float(w), int(rng.integers(20, 240)))
        for w in inactive_weights
    ]
    established.append(person("stray", next(people), STRAY_SHARE))
    queue = _Holder("queue", "Territory", "Queue", True, QUEUE_SHARE)
    new_hires = [person("rep", rep_names[i], float(rep_weights[i])) for i in ramping]
    return [queue, *(established[int(i)] for i in rng.permutation(len(established))), *new_hires]


def _team_sizes(reps: int) -> list[tuple[TeamSpec, int]]:
    """Split `reps` into teams: ~10% account management, ~10% SDR pool, the rest AEs.

    Fewer reps field fewer teams rather than empty ones: 1 rep is one field team, 2 add
    account management, 3 split the field by region, 4+ add the SDR pool.
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
        split = _largest_remainder(field - 3, (0.25, 0.40, 0.35))
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
    return [t for t in team_ids if t not in ("account-management", "sdr-pool")]


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


def _quota(spec: TeamSpec, rng: np.random.Generator, *, ramping: bool) -> int | None:
    if spec.quota is None:
        return None
    factor = float(rng.choice([0.9, 1.0, 1.0, 1.1, 1.25]))
    if ramping:
        factor *= 0.5  # a first-quarter quota is prorated
    return int(round(spec.quota * factor / 50_000) * 50_000)


def _affinity(spec: TeamSpec, rng: np.random.Generator) -> tuple[str, ...]:
    """Some enterprise reps have an industry background the `affinity` preference uses."""
    if spec is not _NA_ENTERPRISE or rng.random() >= 0.4:
        return ()
    return (str(rng.choice(["software", "fintech", "logistics", "healthcare"])),)


def _skewed_weights(reps: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """Zipf-like holding weights in random rep order: the top rep holds ~6x the median.

    1 / (rank + c) with c = reps / 10 keeps the head heavy without one rep holding half the
    book; the max/median ratio is reps / (2c) + 1, about 6 from a few dozen reps upward.
    """
    c = max(1.0, reps / 10)
    ranks = rng.permutation(reps).astype(np.float64)
    weights: npt.NDArray[np.float64] = 1.0 / (ranks + c)
    return weights
