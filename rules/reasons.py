"""The plan's words in one place: outcomes, owner status, why, reasons, shares, causes.

Each is a `StrEnum`: a member compares equal to its text and serialises as it, so the plan
document (docs/plan-format.md) reads the same words the engine decides with.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final


class Outcome(StrEnum):
    """What a routing row does with an account: a rep works it, a team's pool holds it, or none."""

    ASSIGNED = "assigned"
    WATCHLIST = "watchlist"
    UNASSIGNED = "unassigned"


class Status(StrEnum):
    """The account's CRM owner before planning (docs/engine.md, rule 1)."""

    ACTIVE = "active"
    ORPHANED = "orphaned"  # no owner, or one the CRM does not know
    DEPARTED = "departed"  # inactive, or leaving on a day the plan is told of


class Why(StrEnum):
    """Why an account ended with its planned owner (the trace's `why`)."""

    CONTINUITY = "continuity"
    AFFINITY = "affinity"
    LEAST_LOADED = "least_loaded"
    REBALANCE = "rebalance"
    NAMED = "named"
    PINNED = "pinned"
    HIERARCHY = "hierarchy"
    WATCHLIST = "watchlist"
    UNASSIGNED = "unassigned"
    OVER_CAPACITY = "over_capacity"


class ChangeReason(StrEnum):
    """Why an account changes owner."""

    NEW = "new"
    ORPHANED = "orphaned"
    DEPARTED = "departed"
    INELIGIBLE_OWNER = "ineligible_owner"
    NAMED_ACCOUNT = "named_account"
    NAMED_OWNER_INACTIVE = "named_owner_inactive"
    NAMED_EXPIRED = "named_expired"
    HIERARCHY = "hierarchy"
    UNASSIGNED = "unassigned"  # to a watchlist or unassigned row's holding owner, or cleared
    RELEASED = "released"  # from a holding owner to a rep: the account routes to a team now
    RULE_CHANGE = "rule_change"
    REBALANCE = "rebalance"


class KeptReason(StrEnum):
    """Why an account stays with its owner, where no change reason says it already."""

    CONTINUITY = "continuity"
    PINNED = "pinned"
    WATCHLIST = "watchlist"
    OVER_CAPACITY = "over_capacity"


# An assignment's reason: its change's, or why it stays.
Reason = ChangeReason | KeptReason


class Share(StrEnum):
    """Which approval share a change counts toward (`changes.max_forced_share` or
    `changes.max_share_per_run`)."""

    FORCED = "forced"
    DISCRETIONARY = "discretionary"


class InfeasibleCause(StrEnum):
    """The one cause a team misses its balance band, in order of precedence."""

    NO_ACTIVE_MEMBERS = "no_active_members"
    PINNED_LOAD_OUTSIDE_BAND = "pinned_load_outside_band"
    DEMAND_EXCEEDS_CAPACITY = "demand_exceeds_capacity"
    MOVE_BUDGET = "move_budget"
    ACCOUNT_EXCEEDS_BAND = "account_exceeds_band"


# Each change reason's share; None where the change's cause decides: a `hierarchy` change
# counts in its parent's share, and a move to a holding owner (`unassigned`) is forced only
# when the owner it leaves is ineligible (inactive and unknown owners are `departed` and
# `orphaned` already).
SHARE_OF_REASON: Final[Mapping[ChangeReason, Share | None]] = {
    ChangeReason.NEW: Share.FORCED,
    ChangeReason.ORPHANED: Share.FORCED,
    ChangeReason.DEPARTED: Share.FORCED,
    ChangeReason.INELIGIBLE_OWNER: Share.FORCED,
    ChangeReason.NAMED_ACCOUNT: Share.FORCED,
    ChangeReason.NAMED_OWNER_INACTIVE: Share.FORCED,
    ChangeReason.NAMED_EXPIRED: Share.DISCRETIONARY,
    ChangeReason.HIERARCHY: None,
    ChangeReason.UNASSIGNED: None,
    ChangeReason.RELEASED: Share.DISCRETIONARY,
    ChangeReason.RULE_CHANGE: Share.DISCRETIONARY,
    ChangeReason.REBALANCE: Share.DISCRETIONARY,
}

# Reasons that wait for `changes.notice_days` (and the rule's `effective_from`); a hierarchy
# change takes its parent's date; every other change takes effect at once.
NOTICE_REASONS: Final = frozenset(
    {ChangeReason.REBALANCE, ChangeReason.RULE_CHANGE, ChangeReason.NAMED_EXPIRED}
)


def change_share(reason: ChangeReason, *, forced_cause: bool) -> Share:
    """The share a change counts toward: its reason's, or for `hierarchy` and `unassigned`
    forced exactly when `forced_cause` (a forced parent change, an ineligible owner)."""
    fixed = SHARE_OF_REASON[reason]
    if fixed is not None:
        return fixed
    return Share.FORCED if forced_cause else Share.DISCRETIONARY
