"""Owner changes: the reason for each, its approval share, effective date and stable identity."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from rules.capacity import Rep
from rules.context import OpenChange
from rules.domain import Account
from rules.plan import Change
from rules.reasons import NOTICE_REASONS, ChangeReason, Outcome, Share, Status, change_share
from rules.schema import RuleFile


@dataclass(frozen=True, slots=True)
class ChangeInputs:
    """What deciding reasons and dates needs from the engine's decisions."""

    rule: RuleFile
    accounts: Sequence[Account]
    status: Sequence[Status]
    rep_of: Mapping[str, Rep]
    holding_owners: Collection[str]  # ids of the owners routing rows park accounts with
    routing: Sequence[int]
    decisions_owner: Sequence[str | None]
    decisions_outcome: Sequence[Outcome]
    head: Sequence[int]
    named: Mapping[int, int]
    named_owner_inactive: set[int]
    named_expired: set[int]
    context_new: frozenset[str]
    open_changes: Mapping[str, OpenChange]
    change_counts: Mapping[str, int]
    departures: Mapping[str, date]  # owner id -> the day a rep still active leaves
    as_of: date


def change_id(
    account_id: str, from_owner: str | None, to_owner: str | None, revision: str, n: int
) -> str:
    """hash(account, from, to, revision, n): a change, its rollback and a redo never collide."""
    material = "\x1f".join((account_id, from_owner or "", to_owner or "", revision, str(n)))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:24]


def change_reason(inputs: ChangeInputs, i: int) -> ChangeReason:
    """Why account row `i` changes owner; the owner's status wins (docs/engine.md, rule 1)."""
    account = inputs.accounts[i]
    status = inputs.status[i]
    if status is Status.ORPHANED:
        return ChangeReason.NEW if account.id in inputs.context_new else ChangeReason.ORPHANED
    if status is Status.DEPARTED:
        return ChangeReason.DEPARTED
    held = _parked_with_holding_owner(inputs, i)
    # An active CRM owner in no team (a queue, a manager, a rep who left every team), unless
    # it is the owner a routing row parks accounts with.
    if (
        _ineligible(inputs, i)
        and not held
        and (inputs.decisions_outcome[i] is Outcome.ASSIGNED or i in inputs.named)
    ):
        return ChangeReason.INELIGIBLE_OWNER
    if i in inputs.named:
        return ChangeReason.NAMED_ACCOUNT
    if i in inputs.named_owner_inactive:
        return ChangeReason.NAMED_OWNER_INACTIVE
    if i in inputs.named_expired:
        return ChangeReason.NAMED_EXPIRED
    if inputs.head[i] >= 0:
        return ChangeReason.HIERARCHY
    if inputs.decisions_outcome[i] is not Outcome.ASSIGNED:
        return ChangeReason.UNASSIGNED
    if held:
        return ChangeReason.RELEASED
    current = inputs.rep_of[account.owner_id or ""]
    row = inputs.rule.routing.rows[inputs.routing[i]]
    if row.assign.team is not None and current.team != row.assign.team:
        # The owner sells in another team now: a re-cut of territories gets notice.
        return ChangeReason.RULE_CHANGE
    return ChangeReason.REBALANCE


def _ineligible(inputs: ChangeInputs, i: int) -> bool:
    """Whether row `i`'s active CRM owner is in no team of the rule file."""
    return (inputs.accounts[i].owner_id or "") not in inputs.rep_of


def _parked_with_holding_owner(inputs: ChangeInputs, i: int) -> bool:
    """Whether row `i` sits with a holding owner who is in no team (not an ineligible owner)."""
    return _ineligible(inputs, i) and inputs.accounts[i].owner_id in inputs.holding_owners


def plan_changes(inputs: ChangeInputs) -> list[Change]:
    """Every owner change, sorted by account id, with reason, share, effective date and id."""
    rule = inputs.rule
    notice = inputs.as_of + timedelta(days=rule.changes.notice_days)
    notice_date = max(notice, rule.effective_from) if rule.effective_from else notice
    changes: list[Change] = []
    dates: dict[int, date] = {}
    shares: dict[int, Share] = {}
    # Only reps out of office can move a date; most runs have few or none.
    returns = {
        owner_id: rep.out_of_office_until
        for owner_id, rep in inputs.rep_of.items()
        if rep.out_of_office_until is not None
    }
    # Parents before children: a hierarchy change takes its parent's date and share.
    order = sorted(range(len(inputs.accounts)), key=lambda i: (inputs.head[i] >= 0, i))
    for i in order:
        account = inputs.accounts[i]
        target = inputs.decisions_owner[i]
        if target == account.owner_id:
            continue
        reason = change_reason(inputs, i)
        head = inputs.head[i]
        if reason in NOTICE_REASONS:
            effective = notice_date
        elif reason is ChangeReason.HIERARCHY:
            # The parent's date; a child whose parent stays put moves at the rule's
            # discretion, so with the notice discretionary changes get.
            effective = dates.get(head, notice_date)
        elif reason is ChangeReason.DEPARTED:
            # A rep leaving on a known day keeps the book until then.
            effective = max(
                inputs.as_of, inputs.departures.get(account.owner_id or "", inputs.as_of)
            )
        else:
            effective = inputs.as_of
        if returns:
            # A rep who left holds nothing back: only the gaining rep's return can.
            losing = None if reason in _OWNER_GONE else account.owner_id
            effective = _after_out_of_office(returns, effective, losing, target)
        if reason is ChangeReason.HIERARCHY:
            # A child whose parent does not change follows it at the rule's discretion.
            forced_cause = shares.get(head) is Share.FORCED
        else:
            forced_cause = _ineligible(inputs, i) and not _parked_with_holding_owner(inputs, i)
        share = shares[i] = change_share(reason, forced_cause=forced_cause)
        open_change = inputs.open_changes.get(account.id)
        supersedes = None
        if (
            open_change is not None
            and open_change.from_owner_id == account.owner_id
            and open_change.to_owner_id == target
        ):
            # The same proposal keeps its id and date; a more urgent cause (a departure now
            # behind a pending rebalance) brings the date forward, never back.
            identity = open_change.change_id
            effective = min(effective, open_change.effective_date)
        else:
            n = inputs.change_counts.get(account.id, 0)
            identity = change_id(account.id, account.owner_id, target, rule.revision, n)
            supersedes = open_change.change_id if open_change is not None else None
        dates[i] = effective
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
                share=share,
                supersedes=supersedes,
            )
        )
    changes.sort(key=lambda c: c.account_id)
    return changes


# Reasons whose previous owner is gone (inactive, leaving, unknown or none).
_OWNER_GONE = frozenset({ChangeReason.DEPARTED, ChangeReason.ORPHANED, ChangeReason.NEW})


def _after_out_of_office(
    returns: Mapping[str, date], effective: date, *owner_ids: str | None
) -> date:
    """No change for a rep who is out of office takes effect before their return."""
    for owner_id in owner_ids:
        back = returns.get(owner_id or "")
        if back is not None:
            effective = max(effective, back)
    return effective
