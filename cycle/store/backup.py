"""The whole store as one versioned JSON document, and back.

An **export** holds every row of every table of the store's schema (read from the
database itself, not from a list here), each table's rows ordered by primary key, each
row's columns by name, instants in UTC as ISO 8601 text and dates as ISO dates. Nothing
in it depends on when or where it was made, so exporting the same store twice gives the
same bytes, and exporting a store restored from an export gives the bytes of that export.

What it holds, by table: `body` (the program's bodies), `cycle`, `planned_item` (every
item with its revision and status), `deliverable` and `gate` (progress, requests and
decisions, by item id), `phase_progress`, `change_log` (the audit trail: every
deliverable's and gate's history, who did what and when) and `subscriber`.

Subscribers keep their token's SHA-256 (`token_hash`). It is not the secret: a feed opens
only with the token, which no store holds, and the hash of 192 random bits cannot be
turned back into it. It is what lets a restored store answer the URLs subscribers already
have in their calendars; without it every subscriber would need a new URL.

An **import** fills a new, empty store: it migrates it to the export's schema, inserts the
rows (parents first), sets PostgreSQL's id sequences past them, then migrates to the
newest schema, all in one transaction, so an export made by an older Roundtable is
restored and upgraded by the same migrations a store would take.
A table added by a migration needs no edit here; `Column types` below lists what a column
may hold.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, MetaData, Table, text
from sqlalchemy import types as sqltypes
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from cycle.errors import InputError, StoreError
from cycle.store.database import KNOWN_REVISIONS, SCHEMA_REVISION, Store, alembic_config

FORMAT = "roundtable-export"
VERSION = 1
"""The document's layout. A change that an older Roundtable could misread bumps it."""

NOT_EXPORTED = frozenset({"alembic_version"})
"""Tables that are the database's bookkeeping, not Roundtable's data (the export names
its schema revision instead)."""


@dataclass(frozen=True)
class ExportSummary:
    schema: str
    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


# --- column values ---------------------------------------------------------------------


def _encode(value: Any, column_type: sqltypes.TypeEngine[Any], dialect: str) -> Any:
    """A column's value as JSON: instants in UTC (SQLite keeps them naive, in UTC)."""
    if value is None:
        return None
    if isinstance(column_type, sqltypes.DateTime):
        assert isinstance(value, dt.datetime)
        utc = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
        return utc.isoformat()
    if isinstance(column_type, sqltypes.Date):
        assert isinstance(value, dt.date)
        return value.isoformat()
    if isinstance(column_type, sqltypes.Boolean | sqltypes.Integer | sqltypes.String):
        return value
    raise StoreError(f"cannot export a column of type {column_type} ({dialect}): teach cycle/store/backup.py")


def _decode(value: Any, column_type: sqltypes.TypeEngine[Any], dialect: str, where: str) -> Any:
    """The database value of a JSON value; `where` names the cell in errors."""
    try:
        return _database_value(value, column_type, dialect)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: {exc}") from None


def _database_value(value: Any, column_type: sqltypes.TypeEngine[Any], dialect: str) -> Any:
    if value is None:
        return None
    if isinstance(column_type, sqltypes.DateTime):
        instant = dt.datetime.fromisoformat(_expect(value, str, "text"))
        if instant.tzinfo is None:
            raise ValueError(f"{value!r} has no UTC offset")
        utc = instant.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect == "sqlite" else utc
    if isinstance(column_type, sqltypes.Date):
        return dt.date.fromisoformat(_expect(value, str, "text"))
    if isinstance(column_type, sqltypes.Boolean):
        return _expect(value, bool, "true or false")
    if isinstance(column_type, sqltypes.Integer):
        if isinstance(value, bool):
            raise TypeError(f"{value!r} is not a whole number")
        return _expect(value, int, "a whole number")
    if isinstance(column_type, sqltypes.String):
        return _expect(value, str, "text")
    raise StoreError(f"cannot import a column of type {column_type}: teach cycle/store/backup.py")


def _expect(value: Any, kind: type[Any], name: str) -> Any:
    if not isinstance(value, kind):
        raise TypeError(f"{value!r} is not {name}")
    return value


# --- reading the store -------------------------------------------------------------------


def _tables(connection: Connection) -> list[Table]:
    """The store's tables as the database has them, parents before children."""
    metadata = MetaData()
    metadata.reflect(bind=connection)
    return [t for t in metadata.sorted_tables if t.name not in NOT_EXPORTED]


def _order(table: Table) -> list[Any]:
    return list(table.primary_key.columns) or list(table.columns)


@contextlib.contextmanager
def _snapshot(store: Store) -> Iterator[Connection]:
    """One read transaction that sees the store at one instant, while flows write."""
    with store.engine.connect() as plain:
        if plain.dialect.name == "postgresql":
            connection = plain.execution_options(isolation_level="REPEATABLE READ")
            connection.begin()
        else:
            connection = plain
            connection.exec_driver_sql("BEGIN")  # pysqlite opens none for reads by itself
        try:
            yield connection
        finally:
            connection.rollback()


def read_tables(connection: Connection) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, as an export holds them, by table name."""
    dialect = connection.dialect.name
    tables: dict[str, list[dict[str, Any]]] = {}
    for table in _tables(connection):
        rows = connection.execute(table.select().order_by(*_order(table))).mappings()
        tables[table.name] = [
            {c.name: _encode(row[c.name], c.type, dialect) for c in table.columns} for row in rows
        ]
    return tables


def export_store(store: Store, *, program: Mapping[str, Any]) -> dict[str, Any]:
    """The whole store as an export document; `program` names the program it belongs to."""
    store.require_ready()
    try:
        with _snapshot(store) as connection:
            tables = read_tables(connection)
    except SQLAlchemyError as exc:
        raise store._error("cannot read the store at", exc) from None
    return {
        "format": FORMAT,
        "version": VERSION,
        "schema": SCHEMA_REVISION,
        "program": dict(program),
        "tables": tables,
    }


def dumps(document: Mapping[str, Any]) -> bytes:
    """The document's bytes: keys sorted, two-space indent, UTF-8, a final newline."""
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def summarize(document: Mapping[str, Any]) -> ExportSummary:
    return ExportSummary(
        schema=str(document["schema"]),
        rows={name: len(rows) for name, rows in document["tables"].items()},
    )


# --- reading an export -------------------------------------------------------------------


def read_export(path: Path) -> dict[str, Any]:
    """Read and check an export file's envelope; every problem is one line naming the file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror})") from None
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a Roundtable export (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: not a Roundtable export (bad JSON at line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InputError(f'{path}: not a Roundtable export (no "format": "{FORMAT}")')
    version = document.get("version")
    if version != VERSION or isinstance(version, bool):
        raise InputError(f"{path}: export version {version!r} is not one this Roundtable reads ({VERSION})")
    schema = document.get("schema")
    if schema not in KNOWN_REVISIONS:
        raise InputError(
            f"{path}: made at schema {schema!r}, which this Roundtable does not know "
            f"(it knows {', '.join(KNOWN_REVISIONS)}): import it with a newer Roundtable"
        )
    program, tables = document.get("program"), document.get("tables")
    if not isinstance(program, dict) or not isinstance(program.get("slug"), str):
        raise InputError(f'{path}: "program" must name the program ("slug")')
    if not isinstance(tables, dict) or not all(
        isinstance(rows, list) and all(isinstance(r, dict) for r in rows) for rows in tables.values()
    ):
        raise InputError(f'{path}: "tables" must map each table to a list of rows')
    return document


# --- writing a store ---------------------------------------------------------------------


def _rows(table: Table, rows: list[dict[str, Any]], dialect: str) -> list[dict[str, Any]]:
    names = {c.name for c in table.columns}
    decoded = []
    for number, row in enumerate(rows, start=1):
        where = f"{table.name} row {number}"
        if set(row) != names:
            extra, missing = sorted(set(row) - names), sorted(names - set(row))
            what = f"unknown column {extra[0]!r}" if extra else f"missing column {missing[0]!r}"
            raise InputError(f"{where}: {what}")
        decoded.append(
            {c.name: _decode(row[c.name], c.type, dialect, f"{where}.{c.name}") for c in table.columns}
        )
    return decoded


def _advance_sequences(connection: Connection, tables: list[Table]) -> None:
    """Set PostgreSQL's id sequences past the imported ids (SQLite takes max + 1 itself)."""
    if connection.dialect.name != "postgresql":
        return
    for table in tables:
        for column in table.primary_key.columns:
            sequence = connection.execute(
                text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": f'"{table.name}"', "column": column.name},
            ).scalar()
            if sequence is not None:
                top = connection.execute(
                    table.select().with_only_columns(column).order_by(column.desc())
                ).scalar()
                connection.execute(
                    text("SELECT setval(:sequence, :next, false)"),
                    {"sequence": sequence, "next": (top or 0) + 1},
                )


def write_tables(connection: Connection, given: Mapping[str, list[dict[str, Any]]]) -> None:
    """Insert an export's rows into the (empty) tables of the connection's schema, parents
    first, and set PostgreSQL's id sequences past them; errors name table, row and column."""
    tables = _tables(connection)
    unknown = sorted(set(given) - {t.name for t in tables})
    if unknown:
        raise InputError(f"table {unknown[0]!r} is not in the store's schema")
    for table in tables:
        rows = _rows(table, given.get(table.name, []), connection.dialect.name)
        if rows:
            connection.execute(table.insert(), rows)
    _advance_sequences(connection, tables)


def _check_empty(store: Store, schema: str) -> None:
    """Refuse a store that holds anything, or whose schema is newer than the export's."""
    revision = store.revision()
    if revision is None:
        return
    if revision not in KNOWN_REVISIONS:
        store.require_ready()  # explains the unknown schema
    with store.engine.connect() as connection:
        held = {
            t.name: n
            for t in _tables(connection)
            if (n := connection.execute(text(f'SELECT COUNT(*) FROM "{t.name}"')).scalar())  # noqa: S608
        }
    if held:
        rows = ", ".join(f"{n} in {name}" for name, n in sorted(held.items()))
        raise StoreError(
            f"the store at {store.description} is not empty ({rows}): import only into a new store"
        )
    if KNOWN_REVISIONS.index(revision) > KNOWN_REVISIONS.index(schema):
        raise StoreError(
            f"the store at {store.description} is at schema {revision}, newer than the export's "
            f"{schema}: import into a new database"
        )


def import_store(store: Store, document: Mapping[str, Any], *, program_slug: str) -> ExportSummary:
    """Restore an export (checked by `read_export`) into an empty store, then bring it to
    the newest schema. On any error nothing is kept (a new SQLite file is removed)."""
    if document["program"]["slug"] != program_slug:
        raise InputError(
            f"the export is of program {document['program']['slug']!r}, "
            f"the program file is {program_slug!r}: set ROUNDTABLE_CONFIG to the export's program"
        )
    schema = str(document["schema"])
    new_file = store.sqlite_file is not None and not store.sqlite_file.exists()
    try:
        _check_empty(store, schema)
        _restore(store, document, schema)
    except BaseException:
        if new_file:
            store.dispose()
            _remove_sqlite_file(store)
        raise
    return summarize(document)


def _restore(store: Store, document: Mapping[str, Any], schema: str) -> None:
    from alembic import command
    from alembic.util import CommandError

    if store.sqlite_file is not None:
        store.sqlite_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        with store.engine.begin() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")  # as `Store.migrate` makes it
            command.upgrade(alembic_config(connection), schema)
            write_tables(connection, document["tables"])
            command.upgrade(alembic_config(connection), "head")
    except IntegrityError as exc:
        raise InputError(f"the export's rows break the store's rules: {_first_line(exc)}") from None
    except (SQLAlchemyError, CommandError) as exc:
        raise store._error("cannot import into the store at", exc) from None


def _remove_sqlite_file(store: Store) -> None:
    assert store.sqlite_file is not None
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{store.sqlite_file}{suffix}").unlink()


def _first_line(exc: SQLAlchemyError) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0]
