"""The ledger: the source of truth for what territory-sync has planned, approved and written.

SQLite by default (embedded, zero setup), PostgreSQL by `TERRITORY_DATABASE_URL`. It holds the
CRM mirror the plans read, rule revisions, runs, owner changes as an outbox, pins, departure
notices and task delivery counters (docs/worker.md).
"""

from __future__ import annotations

from worker.ledger.database import Ledger, LedgerError, open_ledger

__all__ = ["Ledger", "LedgerError", "open_ledger"]
