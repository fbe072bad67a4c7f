"""The states of a change row and of a run, and which moves between them are allowed."""

from __future__ import annotations

import enum
from typing import Final


class ChangeState(enum.StrEnum):
    """Where one owner change is on its way to the CRM (docs/worker.md)."""

    PLANNED = "planned"  # proposed; waits for approval (a run over the rail) or for promotion
    APPROVED = "approved"  # may be applied on its effective date
    DUE = "due"  # approved and effective: the next apply takes it
    APPLYING = "applying"  # claimed by one worker until `lease_until`
    APPLIED = "applied"  # owner at target and its note exists
    CONFLICT = "conflict"  # someone changed the owner by hand: never overwritten
    FAILED = "failed"  # the CRM refused it for good (or retries ran out); see `error`
    CANCELLED = "cancelled"  # no later plan proposed it, or a person cancelled it
    SUPERSEDED = "superseded"  # a later plan proposed another move for the account
    DECLINED = "declined"  # a person declined the run's held changes


# Rows a plan still counts as the account's pending change.
OPEN_STATES: Final = frozenset(
    {ChangeState.PLANNED, ChangeState.APPROVED, ChangeState.DUE, ChangeState.APPLYING}
)
# Rows a later plan may cancel or supersede (never one in `applying`: a worker holds it).
REPLACEABLE_STATES: Final = frozenset({ChangeState.PLANNED, ChangeState.APPROVED, ChangeState.DUE})
FINAL_STATES: Final = frozenset(
    {
        ChangeState.APPLIED,
        ChangeState.CONFLICT,
        ChangeState.FAILED,
        ChangeState.CANCELLED,
        ChangeState.SUPERSEDED,
        ChangeState.DECLINED,
    }
)


class RunKind(enum.StrEnum):
    """What a run did."""

    SYNC = "sync"
    PLAN = "plan"
    DEPARTURE = "departure"
    ROLLBACK = "rollback"
    APPLY = "apply"


class RunState(enum.StrEnum):
    """A run's state: its changes carry their own; this says whether a person must act."""

    RUNNING = "running"
    DONE = "done"
    NEEDS_APPROVAL = "needs_approval"  # some changes wait for `territory approve RUN`
    APPROVED = "approved"
    DECLINED = "declined"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
