"""Migrations build exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlmodel import SQLModel

import cycle.store.models  # noqa: F401  (registers the tables)
from cycle.errors import StoreError
from cycle.store.database import SCHEMA_REVISION, Store, alembic_config
from cycle.store.models import UTCDateTime


def test_schema_revision_constant_is_the_newest_migration() -> None:
    """The revision the code checks for is alembic's head."""
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == SCHEMA_REVISION


def test_migrations_produce_exactly_the_models_schema(store: Store) -> None:
    """After `init`, autogenerate finds nothing to add, drop or retype."""
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_migrating_twice_is_a_no_op(store: Store) -> None:
    """`roundtable init` on an up-to-date store leaves it at the same revision."""
    store.migrate()
    assert store.revision() == SCHEMA_REVISION
    store.require_ready()


def test_an_empty_database_is_reported_not_created(tmp_path: object) -> None:
    """Looking at a store that was never initialised neither creates it nor passes."""
    from pathlib import Path

    path = Path(str(tmp_path)) / "never.db"
    store = Store.from_url(f"sqlite:///{path}")
    with pytest.raises(StoreError, match="run `roundtable init` first"):
        store.require_ready()
    assert not path.exists()


def test_an_outdated_store_is_asked_to_migrate(store: Store) -> None:
    """A store at another revision names both revisions and the fix."""
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    with pytest.raises(StoreError, match="at schema 0000, this Roundtable needs 0001: run `roundtable init`"):
        store.require_ready()


def test_naive_datetimes_are_refused_at_the_column() -> None:
    """A naive datetime never reaches the database: it is ambiguous."""
    column = UTCDateTime()
    with pytest.raises(ValueError, match="naive datetime"):
        column.process_bind_param(dt.datetime(2026, 1, 1, 9, 0), None)  # type: ignore[arg-type]  # noqa: DTZ001
