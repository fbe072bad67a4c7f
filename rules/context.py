"""What the engine is told besides the snapshot: the ledger's view of the world.

A CSV source has no ledger, so every field is empty; planning from the ledger fills them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class OpenChange:
    """An open change from the ledger: the same proposal keeps its id and date."""

    change_id: str
    from_owner_id: str | None
    to_owner_id: str | None
    effective_date: date


@dataclass(frozen=True, slots=True)
class PlanContext:
    """What the engine is told besides the snapshot (all empty for a CSV source).

    `pinned` maps an account id to the owner kept by hand (a manual choice, `territory_lock`);
    `departures` maps an owner id to the day that rep leaves: the rep is planned as leaving,
    gets no new accounts, and their book moves as `departed` on that day (or at once when it
    has passed).
    """

    pinned: Mapping[str, str] = field(default_factory=dict)
    open_changes: Mapping[str, OpenChange] = field(default_factory=dict)
    change_counts: Mapping[str, int] = field(default_factory=dict)  # earlier changes per account
    moves_this_quarter: int = 0
    new_accounts: frozenset[str] = frozenset()
    departures: Mapping[str, date] = field(default_factory=dict)
