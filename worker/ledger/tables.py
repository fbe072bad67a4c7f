"""The ledger's tables: one SQLAlchemy `MetaData`, the single source of the schema.

Alembic migrations (`worker/ledger/migrations/`) create and upgrade these tables; the models here
are what the code reads and writes. SQLite (the embedded default) and PostgreSQL both run it, so
only portable types are used: times are stored as UTC (`UtcDateTime`), JSON as `sa.JSON`.

The ledger keeps ids and hashes, not personal data: an owner's email and name are mirrored only
because the notes and reports name people, and `territory ledger prune` removes them once the
owner has been gone long enough.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = sa.MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every database (SQLite keeps no zone; we store UTC, naive)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the ledger stores aware UTC times")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        instant = datetime.fromisoformat(value) if isinstance(value, str) else value
        assert isinstance(instant, datetime)
        return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


ID = sa.String(64)  # CRM record ids: HubSpot numbers as text, Salesforce 18-character ids
CHANGE_ID = sa.String(32)

# Key/value facts about this ledger: which CRM account it belongs to, the kill switch.
ledger_facts = sa.Table(
    "ledger_facts",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

rule_revisions = sa.Table(
    "rule_revisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("revision", sa.String(200), nullable=False),  # the file's `revision:`
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("text", sa.Text, nullable=False),  # planned from this, never from disk
    sa.Column("path", sa.Text, nullable=False),  # where it was activated from (for messages)
    sa.Column("fields", sa.JSON, nullable=False),  # the record fields the rule reads
    sa.Column("activated_by", sa.String(200), nullable=False),
    sa.Column("activated_at", UtcDateTime, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),  # RunKind
    sa.Column("state", sa.String(16), nullable=False),  # RunState
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("source", sa.Text, nullable=False),  # hubspot, salesforce, ledger or csv:DIR
    sa.Column("rule_revision_id", sa.Integer, sa.ForeignKey("rule_revisions.id"), nullable=True),
    sa.Column("rule_revision", sa.String(200), nullable=True),
    sa.Column("rule_sha256", sa.String(64), nullable=True),
    sa.Column("as_of", sa.Date, nullable=True),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime, nullable=True),
    sa.Column("counts", sa.JSON, nullable=False),  # accounts, changes, forced, ...
    sa.Column("summary", sa.JSON, nullable=True),  # what the alerts send (departures: who, to whom)
    sa.Column("error", sa.JSON, nullable=True),
    sa.Column("parent_run_id", sa.Integer, nullable=True),  # a rollback's run
)

changes = sa.Table(
    "changes",
    metadata,
    sa.Column("change_id", CHANGE_ID, primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), nullable=False),
    sa.Column("account_id", ID, nullable=False),
    sa.Column("from_owner_id", ID, nullable=True),
    sa.Column("to_owner_id", ID, nullable=True),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("share", sa.String(16), nullable=False),  # forced | discretionary
    sa.Column("routing_row", sa.String(200), nullable=True),
    sa.Column("routing_line", sa.Integer, nullable=True),
    sa.Column("team", sa.String(200), nullable=True),
    sa.Column("rule_revision", sa.String(200), nullable=False),
    sa.Column("effective_date", sa.Date, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # ChangeState
    sa.Column("approved_by", sa.String(200), nullable=True),
    sa.Column("approved_at", UtcDateTime, nullable=True),
    # Failures of this change's own record (a write or note the CRM refused or left unknown);
    # a call failing as a whole (an outage, a revoked token) spends none.
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    # How often a worker claimed it: more than once, its write or note may have landed already.
    sa.Column("claims", sa.Integer, nullable=False, default=0, server_default="0"),
    sa.Column("lease_until", UtcDateTime, nullable=True),
    sa.Column("claimed_by", sa.String(200), nullable=True),
    sa.Column("error", sa.JSON, nullable=True),  # the last error, as ConnectorError.to_json()
    sa.Column("note_id", sa.String(64), nullable=True),
    sa.Column("supersedes", CHANGE_ID, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("applied_at", UtcDateTime, nullable=True),
    # When write-back first found the owner at the target (written, or already there) while
    # the note was still missing: from then on the change only waits for its note, and no plan,
    # cancel or rollback may drop it (the CRM shows the move; the note must follow).
    sa.Column("owner_written_at", UtcDateTime, nullable=True),
)
sa.Index("ix_changes_state_effective", changes.c.state, changes.c.effective_date)
sa.Index("ix_changes_account", changes.c.account_id)
sa.Index("ix_changes_run", changes.c.run_id)

# How many changes each account has ever had: the `n` of its next change id. Kept apart from
# the change rows, which `territory ledger prune` deletes, so an id is never reused.
change_counters = sa.Table(
    "change_counters",
    metadata,
    sa.Column("account_id", ID, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)

# The CRM mirror: what the last syncs saw, enough to plan without a full pull.
mirror_companies = sa.Table(
    "mirror_companies",
    metadata,
    sa.Column("account_id", ID, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, default=""),
    sa.Column("domain", sa.Text, nullable=True),
    sa.Column("owner_id", ID, nullable=True),
    sa.Column("industry", sa.Text, nullable=True),
    sa.Column("employees", sa.BigInteger, nullable=True),
    sa.Column("annual_revenue", sa.Float, nullable=True),
    sa.Column("country", sa.String(2), nullable=True),
    sa.Column("lifecycle", sa.Text, nullable=True),
    sa.Column("parent_id", ID, nullable=True),
    sa.Column("last_activity_at", UtcDateTime, nullable=True),
    sa.Column("signals", sa.Text, nullable=True),  # compact JSON [[name, "YYYY-MM-DD"], ...]
    sa.Column("extra", sa.Text, nullable=True),  # compact JSON {field: text}
    sa.Column("locked", sa.Boolean, nullable=False, default=False),  # CRM territory_lock
    sa.Column("first_seen_at", UtcDateTime, nullable=False),
    sa.Column("synced_at", UtcDateTime, nullable=False),
    sa.Column("sync_generation", sa.Integer, nullable=False, default=0),  # last full sync seen in
)
sa.Index("ix_mirror_companies_owner", mirror_companies.c.owner_id)

mirror_owners = sa.Table(
    "mirror_owners",
    metadata,
    sa.Column("owner_id", ID, primary_key=True),
    sa.Column("email", sa.Text, nullable=True),  # None once pruned
    sa.Column("first_name", sa.Text, nullable=True),
    sa.Column("last_name", sa.Text, nullable=True),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("deactivated_at", UtcDateTime, nullable=True),  # when a sync first saw it inactive
    sa.Column("synced_at", UtcDateTime, nullable=False),
)

mirror_activity = sa.Table(
    "mirror_activity",
    metadata,
    sa.Column("account_id", ID, primary_key=True),
    sa.Column("owner_id", ID, primary_key=True),
    sa.Column("last_at", UtcDateTime, nullable=False),
)

# Per-stream sync cursors and the resume point of a sync interrupted part-way.
sync_state = sa.Table(
    "sync_state",
    metadata,
    sa.Column("stream", sa.String(32), primary_key=True),
    sa.Column("cursor", sa.Text, nullable=True),  # ISO time the next incremental starts from
    sa.Column("resume", sa.Text, nullable=True),  # page token of an unfinished sync
    sa.Column("run_id", sa.Integer, nullable=True),  # the sync run that owns `resume`
    sa.Column("fields", sa.JSON, nullable=True),  # record fields the mirror holds
    sa.Column("generation", sa.Integer, nullable=False, default=0),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

# The owner this service last wrote per account: anything else a sync sees is a hand edit.
written_owners = sa.Table(
    "written_owners",
    metadata,
    sa.Column("account_id", ID, primary_key=True),
    sa.Column("owner_id", ID, nullable=True),
    sa.Column("change_id", CHANGE_ID, nullable=False),
    sa.Column("written_at", UtcDateTime, nullable=False),
)

# Accounts the plan must keep with their current owner until `until` (a date, inclusive).
pins = sa.Table(
    "pins",
    metadata,
    sa.Column("account_id", ID, primary_key=True),
    sa.Column("owner_id", ID, nullable=True),
    sa.Column("cause", sa.String(16), nullable=False),  # hand_edit | conflict | rollback
    sa.Column("until", sa.Date, nullable=False),
    sa.Column("change_id", CHANGE_ID, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

# Notice given in advance (`territory depart EMAIL --effective DATE`).
departures = sa.Table(
    "departures",
    metadata,
    sa.Column("owner_id", ID, primary_key=True),
    sa.Column("effective_date", sa.Date, nullable=False),
    sa.Column("recorded_by", sa.String(200), nullable=False),
    sa.Column("recorded_at", UtcDateTime, nullable=False),
    sa.Column("run_id", sa.Integer, nullable=True),  # the departure run, once it ran
)

# Amendment notes posted, one per applied change.
amendments = sa.Table(
    "amendments",
    metadata,
    sa.Column("change_id", CHANGE_ID, primary_key=True),
    sa.Column("account_id", ID, nullable=False),
    sa.Column("note_id", sa.String(64), nullable=False),
    sa.Column("found", sa.Boolean, nullable=False),  # found already posted, not posted by us now
    sa.Column("posted_at", UtcDateTime, nullable=False),
)

# How often a task message was delivered: a message redelivered too often is parked.
deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("task_key", sa.String(200), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("first_at", UtcDateTime, nullable=False),
    sa.Column("last_at", UtcDateTime, nullable=False),
    sa.Column("parked", sa.Boolean, nullable=False, default=False),
    sa.Column("error", sa.JSON, nullable=True),
)
