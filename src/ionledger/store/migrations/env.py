"""Alembic environment: always run programmatically, on a connection we hand it."""

from __future__ import annotations

from alembic import context

from ionledger.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
