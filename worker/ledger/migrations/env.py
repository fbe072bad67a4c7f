"""Alembic environment: runs the ledger's migrations on the connection `worker.ledger` hands it."""

from __future__ import annotations

from alembic import context

from worker.ledger.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - migrations always run through worker.ledger
    raise RuntimeError("run ledger migrations with `territory db upgrade`, not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
