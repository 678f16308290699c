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
from cycle.store.database import KNOWN_REVISIONS, SCHEMA_REVISION, Store, alembic_config
from cycle.store.types import UTCDateTime


def test_known_revisions_are_alembics_history() -> None:
    """The revisions the code knows are alembic's, oldest first, the newest being the head."""
    script = ScriptDirectory.from_config(alembic_config())
    history = [r.revision for r in reversed(list(script.walk_revisions()))]
    assert tuple(history) == KNOWN_REVISIONS
    assert script.get_current_head() == SCHEMA_REVISION


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


@pytest.mark.parametrize("revision", ["0099", "bbca16f6f218"], ids=["newer", "someone-elses"])
def test_an_unknown_schema_is_named_and_never_migrated(store: Store, revision: str) -> None:
    """A store from a newer Roundtable (or another program) is explained, by status and init alike."""
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    message = f"is at schema {revision}, which this Roundtable does not know"
    with pytest.raises(StoreError, match=message):
        store.require_ready()
    with pytest.raises(StoreError, match=message):
        store.migrate()


def test_naive_datetimes_are_refused_at_the_column() -> None:
    """A naive datetime never reaches the database: it is ambiguous."""
    column = UTCDateTime()
    with pytest.raises(ValueError, match="naive datetime"):
        column.process_bind_param(dt.datetime(2026, 1, 1, 9, 0), None)  # type: ignore[arg-type]  # noqa: DTZ001


def test_the_column_converts_each_value_for_its_own_dialect_however_often_bound() -> None:
    """The one-value memo (figure 1) gives back only what that very value became on that
    dialect: a naive value bound after an aware one is still refused."""
    from sqlalchemy.dialects import postgresql, sqlite

    column = UTCDateTime()
    mexico = dt.timezone(dt.timedelta(hours=-6))
    instant = dt.datetime(2026, 1, 1, 9, 0, tzinfo=mexico)
    lite, post = sqlite.dialect(), postgresql.dialect()
    for _ in range(2):
        assert column.process_bind_param(instant, lite) == dt.datetime(2026, 1, 1, 15, 0)  # noqa: DTZ001
        assert column.process_bind_param(instant, post) == dt.datetime(2026, 1, 1, 15, 0, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="naive datetime"):
        column.process_bind_param(instant.replace(tzinfo=None), lite)


def test_a_store_at_the_first_schema_is_asked_to_migrate_and_keeps_its_data(database_url: str) -> None:
    """A store made at schema 0001 with a plan in it: status asks for init; init migrates it
    and the plan is still there."""
    from alembic import command

    store = Store.from_url(database_url)
    with store.engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0001")
    with store.engine.begin() as connection:  # what Roundtable 0001 stored, written plainly
        connection.execute(
            text('INSERT INTO cycle (number, start, "end", months, planned_at) VALUES (9, :s, :e, 24, :t)'),
            {
                "s": dt.date(2025, 9, 1),
                "e": dt.date(2027, 8, 31),
                "t": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            },
        )
    with pytest.raises(
        StoreError, match=f"is at schema 0001, this Roundtable needs {SCHEMA_REVISION}: run `roundtable init`"
    ):
        store.require_ready()
    store.migrate()
    store.require_ready()
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT number, months FROM cycle")).all() == [(9, 24)]
    store.dispose()
