"""Engines, sessions and migrations for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, SQLAlchemyError
from sqlmodel import Session

from cycle.errors import StoreError

T = TypeVar("T")

SCHEMA_REVISION = "0001"
"""The newest migration; `roundtable init` brings a store to it (a test keeps it true)."""

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_store_engine(url: str) -> Engine:
    """An engine for a SQLite file or a PostgreSQL server (psycopg 3)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"{url!r} is not a database URL") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    raise StoreError(f"unsupported database {backend!r}: use sqlite:/// or postgresql+psycopg://")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Store:
    """A roundtable store behind one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str) -> Store:
        return cls(create_store_engine(url))

    @property
    def sqlite_file(self) -> Path | None:
        url = self.engine.url
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            return Path(url.database)
        return None

    @property
    def description(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction the caller commits; rolled back on any error."""
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                yield session
        except OperationalError as exc:
            raise StoreError(f"{self.description}: {_first_line(exc)}") from None

    def transaction(self, work: Callable[[Session], T], *, attempts: int = 3) -> T:
        """Run `work` in one transaction and commit; retry when a concurrent writer won.

        Two operators planning the same cycle at once race on the unique item keys (or, on
        SQLite, on the write lock): the loser rolls back and runs again on the winner's
        data, where it usually finds nothing left to do.
        """
        for attempt in range(1, attempts + 1):
            try:
                with Session(self.engine, expire_on_commit=False) as session:
                    result = work(session)
                    session.commit()
                    return result
            except (IntegrityError, OperationalError) as exc:
                if attempt == attempts or not _lost_a_race(exc):
                    raise StoreError(f"{self.description}: {_first_line(exc)}") from None
                time.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    def revision(self) -> str | None:
        """The store's migration revision, or None for an empty database."""
        if self.sqlite_file is not None and not self.sqlite_file.exists():
            return None  # never create an empty database file just by looking
        try:
            with self.engine.connect() as connection:
                if not inspect(connection).has_table("alembic_version"):
                    return None
                return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except OperationalError as exc:
            raise StoreError(f"cannot open the store at {self.description}: {_first_line(exc)}") from None

    def require_ready(self) -> None:
        revision = self.revision()
        if revision is None:
            raise StoreError(f"the store at {self.description} is empty: run `roundtable init` first")
        if revision != SCHEMA_REVISION:
            raise StoreError(
                f"the store at {self.description} is at schema {revision}, this Roundtable needs "
                f"{SCHEMA_REVISION}: run `roundtable init` to migrate it"
            )

    def migrate(self) -> None:
        """Apply every pending migration (what `roundtable init` does); safe to repeat."""
        from alembic import command

        if self.sqlite_file is not None:
            self.sqlite_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self.engine.begin() as connection:
                command.upgrade(alembic_config(connection), "head")
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot migrate the store at {self.description}: {_first_line(exc)}") from None

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(connection: Any = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _lost_a_race(exc: SQLAlchemyError) -> bool:
    """A unique-key clash, a busy SQLite file or a PostgreSQL serialization failure."""
    if isinstance(exc, IntegrityError):
        return True
    text_ = str(getattr(exc, "orig", exc)).lower()
    return any(sign in text_ for sign in ("database is locked", "could not serialize", "deadlock detected"))


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
