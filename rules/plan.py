"""The plan the engine returns: assignments, changes, reps, teams and the gap, as plain values.

`plan_document` turns it into the JSON document of `docs/plan-format.md`: keys in a fixed
order, floats rounded to 6 places, no timestamps or paths, so the same input gives the same
bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar, overload

from rules.domain import Account
from rules.reasons import ChangeReason, InfeasibleCause, Outcome, Reason, Share, Status, Why


def rounded(value: float) -> float:
    """Round a reported float to 6 places (and never print -0.0)."""
    return round(value, 6) + 0.0


@dataclass(slots=True)
class Assignment:
    """Where one account ends up and why; `trace` is rendered from compact fields on demand."""

    account: Account
    owner_id: str | None
    outcome: Outcome
    routing_row: str | None
    team: str | None
    fit_band: str
    intent: str
    tier: int
    potential: float
    reason: Reason
    why: Why
    status: Status
    fit_row: int | None
    fit_line: int | None
    signal: tuple[str, date] | None
    routing_line: int
    parent: str | None = None
    named: int | None = None
    candidates: list[tuple[str, float, str]] | None = None

    @property
    def account_id(self) -> str:
        return self.account.id

    @property
    def trace(self) -> dict[str, Any]:
        """The compact decision trace explain reads (docs/plan-format.md)."""
        account = self.account
        trace: dict[str, Any] = {
            "inputs": {
                "owner_id": account.owner_id,
                "industry": account.industry,
                "employees": account.employees,
                "annual_revenue": account.annual_revenue,
                "country": account.country,
                "lifecycle": account.lifecycle,
                "parent_id": account.parent_id,
            },
            "fit_row": self.fit_row,
            "fit_line": self.fit_line,
            "signal": None if self.signal is None else [self.signal[0], self.signal[1].isoformat()],
            "routing_line": self.routing_line,
            "status": self.status,
            "why": self.why,
        }
        if self.parent is not None:
            trace["parent"] = self.parent
        if self.named is not None:
            trace["named"] = self.named
        if self.candidates is not None:
            trace["candidates"] = [list(c) for c in self.candidates]
        return trace


@dataclass(frozen=True, slots=True)
class Change:
    """One owner change, with its identity, effective date and the approval share it counts in."""

    change_id: str
    account_id: str
    from_owner_id: str | None
    to_owner_id: str | None
    reason: ChangeReason
    routing_row: str | None
    effective_date: date
    share: Share
    supersedes: str | None = None

    @property
    def forced(self) -> bool:
        return self.share is Share.FORCED

    @property
    def discretionary(self) -> bool:
        return self.share is Share.DISCRETIONARY


@dataclass(slots=True)
class RepSummary:
    """One rep's planned book (outcome `assigned` only) against capacity."""

    owner_id: str
    email: str
    team: str
    active: bool
    accounts: int
    max_accounts: int
    load_minutes: float
    capacity_minutes: float
    potential: float
    index: float | None
    by_tier: dict[str, int]
    by_intent: dict[str, int]
    quota: float | None
    out_of_office_until: date | None
    named_accounts: int = 0
    pinned_accounts: int = 0


@dataclass(slots=True)
class TeamSummary:
    """Whether a team's reps sit within 1 ± tolerance, and if not, the one cause."""

    team: str
    tolerance: float
    within_tolerance: bool
    infeasible_reason: InfeasibleCause | None
    moves: int
    move_budget: int
    pipeline: dict[str, Any] | None = None


@dataclass(slots=True)
class Plan:
    """A whole plan for one snapshot, rule file and as_of."""

    as_of: date
    rule: dict[str, Any]
    tier_cutoffs: dict[str, Any]
    assignments: list[Assignment]
    changes: list[Change]
    reps: list[RepSummary]
    teams: list[TeamSummary]
    gap: dict[str, Any]
    approval: dict[str, Any] = field(default_factory=dict)

    @property
    def movement_share(self) -> float:
        total = len(self.assignments)
        return sum(1 for c in self.changes if c.discretionary) / total if total else 0.0

    @property
    def forced_share(self) -> float:
        total = len(self.assignments)
        return sum(1 for c in self.changes if c.forced) / total if total else 0.0

    def assignment(self, account_id: str) -> Assignment | None:
        """The assignment for `account_id` (binary search: assignments are sorted by id)."""
        low, high = 0, len(self.assignments)
        while low < high:
            middle = (low + high) // 2
            if self.assignments[middle].account.id < account_id:
                low = middle + 1
            else:
                high = middle
        if low < len(self.assignments) and self.assignments[low].account_id == account_id:
            return self.assignments[low]
        return None


Item = TypeVar("Item")


class LazyRows(Sequence[dict[str, Any]], Generic[Item]):
    """Rows rendered one at a time from plan objects: a million-account document never holds
    a million row dicts at once. Indexable and iterable like the list it stands for."""

    def __init__(self, items: Sequence[Item], render: Callable[[Item], dict[str, Any]]) -> None:
        self._items = items
        self._render = render

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self._render(item) for item in self._items[index]]
        return self._render(self._items[index])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self._render(item) for item in self._items)


def _assignment_row(a: Assignment) -> dict[str, Any]:
    return {
        "account_id": a.account.id,
        "owner_id": a.owner_id,
        "outcome": a.outcome,
        "routing_row": a.routing_row,
        "team": a.team,
        "fit_band": a.fit_band,
        "intent": a.intent,
        "tier": a.tier,
        "potential": rounded(a.potential),
        "reason": a.reason,
        "trace": a.trace,
    }


def _change_row(c: Change) -> dict[str, Any]:
    return {
        "change_id": c.change_id,
        "account_id": c.account_id,
        "from_owner_id": c.from_owner_id,
        "to_owner_id": c.to_owner_id,
        "reason": c.reason,
        "routing_row": c.routing_row,
        "effective_date": c.effective_date.isoformat(),
        "supersedes": c.supersedes,
        "share": c.share,
    }


def plan_document(plan: Plan, *, lazy: bool = False) -> dict[str, Any]:
    """The plan as the JSON-ready document of docs/plan-format.md (stable key order).

    With `lazy`, `assignments` and `changes` are LazyRows rendered on access (for streaming
    writers); otherwise they are plain lists, ready for `json.dumps`.
    """
    assignments: Sequence[dict[str, Any]] = LazyRows(plan.assignments, _assignment_row)
    changes: Sequence[dict[str, Any]] = LazyRows(plan.changes, _change_row)
    if not lazy:
        assignments, changes = list(assignments), list(changes)
    return {
        "as_of": plan.as_of.isoformat(),
        "rule": plan.rule,
        "tier_cutoffs": plan.tier_cutoffs,
        "summary": {
            "accounts": len(plan.assignments),
            "changes": len(plan.changes),
            "forced_changes": sum(1 for c in plan.changes if c.forced),
            "discretionary_changes": sum(1 for c in plan.changes if c.discretionary),
            "movement_share": rounded(plan.movement_share),
            "forced_share": rounded(plan.forced_share),
            "approval": plan.approval,
        },
        "assignments": assignments,
        "changes": changes,
        "reps": [
            {
                "owner_id": r.owner_id,
                "email": r.email,
                "team": r.team,
                "active": r.active,
                "accounts": r.accounts,
                "max_accounts": r.max_accounts,
                "load_minutes": rounded(r.load_minutes),
                "capacity_minutes": rounded(r.capacity_minutes),
                "potential": rounded(r.potential),
                "index": None if r.index is None else rounded(r.index),
                "by_tier": r.by_tier,
                "by_intent": r.by_intent,
                "named_accounts": r.named_accounts,
                "pinned_accounts": r.pinned_accounts,
                "quota": r.quota,
                "out_of_office_until": (
                    None if r.out_of_office_until is None else r.out_of_office_until.isoformat()
                ),
            }
            for r in plan.reps
        ],
        "teams": [
            {
                "team": t.team,
                "tolerance": rounded(t.tolerance),
                "within_tolerance": t.within_tolerance,
                "infeasible_reason": t.infeasible_reason,
                "moves": t.moves,
                "move_budget": t.move_budget,
                "pipeline": t.pipeline,
            }
            for t in plan.teams
        ],
        "gap": plan.gap,
    }
