"""Engines, sessions and migrations for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError
from sqlmodel import Session

from cycle.errors import StoreError

T = TypeVar("T")

KNOWN_REVISIONS = ("0001", "0002", "0003", "0004", "0005")
"""Every migration, oldest first (a test keeps this list equal to alembic's)."""
SCHEMA_REVISION = KNOWN_REVISIONS[-1]
"""The newest migration; `roundtable init` brings a store to it."""

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_store_engine(url: str) -> Engine:
    """An engine for a SQLite file or a PostgreSQL server (psycopg 3)."""
    try:
        return _create_engine(url)
    except ImportError as exc:
        raise StoreError(f"{_safe(url)}: the database driver is not installed ({exc.name})") from None


def _safe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "the database URL"


def _create_engine(url: str) -> Engine:
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
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Store:
    """A roundtable store behind one engine. `origin` (such as the environment variable
    the URL came from) prefixes connection errors, so a person knows what to fix."""

    def __init__(self, engine: Engine, origin: str | None = None) -> None:
        self.engine = engine
        self.origin = origin

    @classmethod
    def from_url(cls, url: str, origin: str | None = None) -> Store:
        return cls(create_store_engine(url), origin)

    def _error(self, what: str, exc: BaseException) -> StoreError:
        prefix = f"{self.origin}: " if self.origin else ""
        return StoreError(f"{prefix}{what} {self.description}: {_first_line(exc)}")

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
        except SQLAlchemyError as exc:
            raise self._error("cannot use the store at", exc) from None

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        """A bare connection (no ORM session) for the cheapest reads; errors as `session`."""
        try:
            with self.engine.connect() as connection:
                yield connection
        except SQLAlchemyError as exc:
            raise self._error("cannot use the store at", exc) from None

    def transaction(self, work: Callable[[Session], T], *, attempts: int = 3) -> T:
        """Run `work` in one transaction and commit; retry when a concurrent writer won.

        Two operators planning the same cycle at once race on the unique item keys (or, on
        SQLite, on the write lock): the loser rolls back and runs again on the winner's
        data, where it usually finds nothing left to do. On SQLite the transaction takes the
        write lock before its first read (`BEGIN IMMEDIATE`, waiting up to the busy
        timeout): the driver would otherwise read outside the transaction, and two writers
        could both act on what they read before the other's commit.
        """
        for attempt in range(1, attempts + 1):
            try:
                with Session(self.engine, expire_on_commit=False) as session:
                    if self.engine.dialect.name == "sqlite":
                        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
                    result = work(session)
                    session.commit()
                    return result
            except SQLAlchemyError as exc:
                if attempt == attempts or not _lost_a_race(exc):
                    raise self._error("cannot write to the store at", exc) from None
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
        except SQLAlchemyError as exc:
            raise self._error("cannot open the store at", exc) from None

    def require_ready(self) -> None:
        revision = self.revision()
        if revision is None:
            raise StoreError(f"the store at {self.description} is empty: run `roundtable init` first")
        if revision not in KNOWN_REVISIONS:
            raise StoreError(
                f"the store at {self.description} is at schema {revision}, which this Roundtable does not "
                "know: it was made by a newer Roundtable, or it is not a Roundtable store"
            )
        if revision != SCHEMA_REVISION:
            raise StoreError(
                f"the store at {self.description} is at schema {revision}, this Roundtable needs "
                f"{SCHEMA_REVISION}: run `roundtable init` to migrate it"
            )

    def migrate(self) -> None:
        """Apply every pending migration (what `roundtable init` does); safe to repeat."""
        from alembic import command
        from alembic.util import CommandError

        revision = self.revision()
        if revision is not None and revision not in KNOWN_REVISIONS:
            self.require_ready()  # explains the unknown schema
        if self.sqlite_file is not None:
            try:
                self.sqlite_file.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the data directory {self.sqlite_file.parent}: {exc.strerror}"
                ) from None
        try:
            with self.engine.begin() as connection:
                if connection.dialect.name == "sqlite":
                    # Once per file (it persists): readers never block the writer.
                    connection.exec_driver_sql("PRAGMA journal_mode=WAL")
                command.upgrade(alembic_config(connection), "head")
        except (SQLAlchemyError, CommandError) as exc:
            raise self._error("cannot migrate the store at", exc) from None

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
