"""A store made by the first released Roundtable (schema 0001: tests/data/store-0001.sql,
written by that release's own `init`, `plan` and `deliverables` commands) upgrades to the
newest schema with every row and value intact, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from alembic import command

from cycle.context import open_context, status
from cycle.operations import export_document
from cycle.settings import Settings
from cycle.store.backup import read_tables, write_tables
from cycle.store.database import SCHEMA_REVISION, Store, alembic_config
from cycle.store.repository import change_log
from tests.conftest import REPO, SHIPPED

FIXTURE = REPO / "tests" / "data" / "store-0001.sql"


@pytest.fixture(scope="module")
def first_release(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """The fixture's rows, read at schema 0001 as an export would hold them."""
    path = tmp_path_factory.mktemp("first-release") / "roundtable.db"
    with closing(sqlite3.connect(path)) as connection:
        connection.executescript(FIXTURE.read_text(encoding="utf-8"))
    store = Store.from_url(f"sqlite:///{path}")
    assert store.revision() == "0001"
    with store.engine.connect() as connection:
        rows = read_tables(connection)
    store.dispose()
    return rows


def store_at_first_release(url: str, rows: dict[str, list[dict[str, Any]]]) -> Store:
    """A store at schema 0001 holding the fixture's rows (SQLite: the script as it is)."""
    store = Store.from_url(url)
    if store.sqlite_file is not None:
        with closing(sqlite3.connect(store.sqlite_file)) as connection:
            connection.executescript(FIXTURE.read_text(encoding="utf-8"))
    else:
        with store.engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0001")
            write_tables(connection, rows)
    assert store.revision() == "0001"
    return store


def test_the_fixture_is_what_the_first_release_stored(first_release: dict[str, list[dict[str, Any]]]) -> None:
    """Two cycles (a 12-month and a 24-month one) and each step of a deliverable."""
    assert {name: len(rows) for name, rows in first_release.items()} == {
        "body": 15,
        "change_log": 365,
        "cycle": 2,
        "deliverable": 232,
        "gate": 3,
        "planned_item": 342,
    }
    states = sorted(r["state"] for r in first_release["deliverable"] if r["state"] != "pending")
    assert states == ["accepted", "submitted", "waived"]


def test_init_upgrades_the_first_release_with_every_value_intact(
    first_release: dict[str, list[dict[str, Any]]], database_url: str, tmp_path: Path
) -> None:
    """Every row and column of 0001 is there after `init`; what later schemas added is empty
    or null; status and history read the old data."""
    store_at_first_release(database_url, first_release).dispose()
    ctx = open_context(Settings(home=tmp_path, config_path=SHIPPED, database_url=database_url))
    ctx.store.migrate()
    assert ctx.store.revision() == SCHEMA_REVISION
    upgraded = export_document(ctx)["tables"]
    for name, rows in first_release.items():
        kept = [{column: row[column] for column in rows[0]} for row in upgraded[name]]
        assert kept == rows, name
    assert upgraded["phase_progress"] == []
    assert upgraded["subscriber"] == []
    assert {(g["requested_at"], g["request_run"], g["expires_at"]) for g in upgraded["gate"]} == {
        (None, None, None)
    }

    cycle_9 = status(ctx, number=9, as_of=dt.date(2026, 11, 24))
    assert (cycle_9.deliverables_done, cycle_9.deliverables_submitted, cycle_9.deliverables_total) == (
        2,
        0,
        146,
    )
    with ctx.store.session() as session:
        steps = [
            (row.action, row.actor)
            for row in change_log(session, item_key="c9/deliverable/sst-army/apa-inputs")
        ]
    assert steps == [
        ("planned", "cli:root"),
        ("deliverable-submit", "Maj. Lee"),
        ("deliverable-return", "secretariat"),
    ]
    ctx.store.dispose()
