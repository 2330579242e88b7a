"""Alembic environment: migrations run on the connection (and transaction) the store hands over.

The store opens the database, takes BEGIN IMMEDIATE, judges the schema version and
only then calls Alembic, so the check and the upgrade are one transaction: of
several processes opening an old file at once, exactly one upgrades it.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Studio migrations run when a Studio database is opened (studio.store.migrate)")

context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():  # already inside the store's transaction: nothing to begin
    context.run_migrations()
