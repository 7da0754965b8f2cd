"""Alembic's environment for the run store: migrations run on the connection the store passes
in (``config.attributes["connection"]``), inside the transaction it has begun."""

from __future__ import annotations

from alembic import context

from timepoint.store.schema import METADATA

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError(
        "the run store's migrations run through Timepoint: open the store, or run "
        "`timepoint db upgrade`"
    )
context.configure(connection=connection, target_metadata=METADATA)
with context.begin_transaction():
    context.run_migrations()
