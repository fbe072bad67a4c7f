"""The amendment note every applied change leaves on the record, in words a rep understands."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from connectors.base import Note, note_marker
from rules.reasons import ChangeReason
from worker.ledger.outbox import ChangeRow

REASON_WORDS: Final[Mapping[str, str]] = {
    ChangeReason.NEW: "a new account, routed by the territory rules",
    ChangeReason.ORPHANED: "the account had no active owner",
    ChangeReason.DEPARTED: "the previous owner left the team",
    ChangeReason.INELIGIBLE_OWNER: "the previous owner is not in a team that sells this account",
    ChangeReason.NAMED_ACCOUNT: "a named account, assigned by an approved exception",
    ChangeReason.NAMED_OWNER_INACTIVE: "the named owner is inactive, so the account routes again",
    ChangeReason.NAMED_EXPIRED: "the named-account exception expired",
    ChangeReason.HIERARCHY: "the account follows its parent company's owner",
    ChangeReason.UNASSIGNED: "the account moves to the team's holding owner (no rep works it now)",
    ChangeReason.RELEASED: "the account leaves the holding owner for a rep",
    ChangeReason.RULE_CHANGE: "the territory rules now send the account to another team",
    ChangeReason.REBALANCE: "moved to balance the team's workload",
}


@dataclass(frozen=True, slots=True)
class OwnerName:
    """How a note names an owner."""

    owner_id: str
    name: str

    def __str__(self) -> str:
        return f"{self.name} (id {self.owner_id})" if self.name else f"id {self.owner_id}"


def describe(owner_id: str | None, names: Mapping[str, str]) -> str:
    """An owner as a note names it; no owner reads as such."""
    if owner_id is None:
        return "no owner"
    return str(OwnerName(owner_id, names.get(owner_id, "")))


def note_body(row: ChangeRow, names: Mapping[str, str]) -> str:
    """The note for a change: owners, reason in words, rule row and line, revision, date, marker."""
    reason = REASON_WORDS.get(row.reason, row.reason.replace("_", " "))
    if row.routing_row is not None:
        line = f", line {row.routing_line}" if row.routing_line is not None else ""
        rule_row = f'routing row "{row.routing_row}"{line}'
    else:
        rule_row = "a named-account entry"
    return "\n".join(
        (
            "Territory owner change",
            f"Previous owner: {describe(row.from_owner_id, names)}",
            f"New owner: {describe(row.to_owner_id, names)}",
            f"Reason: {row.reason} ({reason})",
            f"Rule: {rule_row} of rule revision {row.rule_revision}",
            f"Effective date: {row.effective_date.isoformat()}",
            note_marker(row.change_id),
        )
    )


def amendment(row: ChangeRow, names: Mapping[str, str], at: datetime) -> Note:
    """The Note to post for `row`."""
    return Note(
        account_id=row.account_id, change_id=row.change_id, body=note_body(row, names), timestamp=at
    )
