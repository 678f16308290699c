"""Store fixtures over both real databases: a fresh SQLite file, and a fresh schema on
the real PostgreSQL server (ROUNDTABLE_TEST_POSTGRES_URL, default the local one).

PostgreSQL tests are marked `postgres`. Outside CI an unreachable server skips them with
the reason shown by `-ra`; under CI=true it fails them, so they never skip silently.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cycle.store.database import Store, create_store_engine

POSTGRES_URL = os.environ.get(
    "ROUNDTABLE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_admin_url() -> str:
    return POSTGRES_URL


def postgres_schema_url(schema: str) -> str:
    """The test server's URL with `search_path` pinned to one schema."""
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty schema on the real PostgreSQL server, dropped afterwards."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    engine = create_store_engine(_postgres_admin_url())
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        engine.dispose()
        message = f"PostgreSQL at {POSTGRES_URL} is not reachable: {str(exc.orig).strip()[:200]}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must run the PostgreSQL tests: see scripts/test)")
        pytest.skip(message)
    try:
        yield postgres_schema_url(schema)
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'roundtable.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each store test runs on SQLite and on the real PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite store migrated once for the whole run, for `store` to copy."""
    path = tmp_path_factory.mktemp("migrated") / "roundtable.db"
    template = Store.from_url(f"sqlite:///{path}")
    template.migrate()
    template.dispose()  # the last connection's close folds the WAL back into the file
    return path


@pytest.fixture
def store(database_url: str, request: pytest.FixtureRequest) -> Iterator[Store]:
    """A migrated, empty store. On SQLite it is a copy of one file migrated once per run;
    `migrate()` then finds nothing to do, as on a store `roundtable init` made before."""
    if database_url.startswith("sqlite:///"):
        template: Path = request.getfixturevalue("migrated_sqlite_file")
        shutil.copyfile(template, database_url.removeprefix("sqlite:///"))
    store = Store.from_url(database_url)
    store.migrate()
    yield store
    store.dispose()
