"""Alembic environment: runs on the connection that `Store.migrate` hands over."""

from alembic import context
from sqlmodel import SQLModel

import cycle.store.models  # noqa: F401  (registers the tables on SQLModel.metadata)

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `roundtable init` (Store.migrate)")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    compare_type=True,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
