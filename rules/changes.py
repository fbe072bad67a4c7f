"""Owner changes: the reason for each, its effective date and its stable identity."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from rules.capacity import Rep
from rules.domain import Account
from rules.plan import DISCRETIONARY_REASONS, Change
from rules.schema import RuleFile

if TYPE_CHECKING:
    from rules.engine import OpenChange


@dataclass(frozen=True, slots=True)
class ChangeInputs:
    """What deciding reasons and dates needs from the engine's decisions."""

    rule: RuleFile
    accounts: Sequence[Account]
    status: Sequence[str]
    rep_of: Mapping[str, Rep]
    routing: Sequence[int]
    decisions_owner: Sequence[str | None]
    decisions_outcome: Sequence[str]
    head: Sequence[int]
    named: Mapping[int, int]
    named_owner_inactive: set[int]
    named_expired: set[int]
    context_new: frozenset[str]
    open_changes: Mapping[str, OpenChange]
    change_counts: Mapping[str, int]
    as_of: date


def change_id(
    account_id: str, from_owner: str | None, to_owner: str | None, revision: str, n: int
) -> str:
    """hash(account, from, to, revision, n): a change, its rollback and a redo never collide."""
    material = "\x1f".join((account_id, from_owner or "", to_owner or "", revision, str(n)))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:24]


def change_reason(inputs: ChangeInputs, i: int) -> str:
    """Why account row `i` changes owner; the owner's status wins (DESIGN rule 1)."""
    account = inputs.accounts[i]
    status = inputs.status[i]
    if status == "orphaned":
        return "new" if account.id in inputs.context_new else "orphaned"
    if status == "departed":
        return "departed"
    current = inputs.rep_of.get(account.owner_id or "")
    # An active CRM owner in no team (a queue, a manager, a rep who left every team).
    if (current is None or not current.active) and (
        inputs.decisions_outcome[i] == "assigned" or i in inputs.named
    ):
        return "ineligible_owner"
    if i in inputs.named:
        return "named_account"
    if i in inputs.named_owner_inactive:
        return "named_owner_inactive"
    if i in inputs.named_expired:
        return "named_expired"
    if inputs.head[i] >= 0:
        return "hierarchy"
    if inputs.decisions_outcome[i] != "assigned":
        return "unassigned"
    if current is None:
        return "ineligible_owner"
    row = inputs.rule.routing.rows[inputs.routing[i]]
    if row.assign.team is not None and current.team != row.assign.team:
        # The owner sells in another team now: a re-cut of territories gets notice.
        return "rule_change"
    return "rebalance"


def plan_changes(inputs: ChangeInputs) -> list[Change]:
    """Every owner change, sorted by account id, with reason, effective date and id."""
    rule = inputs.rule
    notice = inputs.as_of + timedelta(days=rule.changes.notice_days)
    discretionary_date = max(notice, rule.effective_from) if rule.effective_from else notice
    changes: list[Change] = []
    dates: dict[int, date] = {}
    # Only reps out of office can move a date; most runs have few or none.
    returns = {
        owner_id: rep.out_of_office_until
        for owner_id, rep in inputs.rep_of.items()
        if rep.out_of_office_until is not None
    }
    # Parents before children: a hierarchy change takes its parent's date.
    order = sorted(range(len(inputs.accounts)), key=lambda i: (inputs.head[i] >= 0, i))
    for i in order:
        account = inputs.accounts[i]
        target = inputs.decisions_owner[i]
        if target == account.owner_id:
            continue
        reason = change_reason(inputs, i)
        if reason in DISCRETIONARY_REASONS:
            effective = discretionary_date
        elif reason == "hierarchy":
            effective = dates.get(inputs.head[i], inputs.as_of)
        else:
            effective = inputs.as_of
        if returns:
            effective = _after_out_of_office(returns, effective, account.owner_id, target)
        dates[i] = effective
        open_change = inputs.open_changes.get(account.id)
        supersedes = None
        if (
            open_change is not None
            and open_change.from_owner_id == account.owner_id
            and open_change.to_owner_id == target
        ):
            identity, effective = open_change.change_id, open_change.effective_date
        else:
            n = inputs.change_counts.get(account.id, 0)
            identity = change_id(account.id, account.owner_id, target, rule.revision, n)
            supersedes = open_change.change_id if open_change is not None else None
        row = rule.routing.rows[inputs.routing[i]]
        changes.append(
            Change(
                change_id=identity,
                account_id=account.id,
                from_owner_id=account.owner_id,
                to_owner_id=target,
                reason=reason,
                routing_row=None if i in inputs.named else row.id,
                effective_date=effective,
                supersedes=supersedes,
            )
        )
    changes.sort(key=lambda c: c.account_id)
    return changes


def _after_out_of_office(
    returns: Mapping[str, date], effective: date, *owner_ids: str | None
) -> date:
    """No change for a rep who is out of office takes effect before their return."""
    for owner_id in owner_ids:
        back = returns.get(owner_id or "")
        if back is not None:
            effective = max(effective, back)
    return effective
