"""Figure 4 — check overdue over 1,000,000 deliverables in PostgreSQL, as
`roundtable check-overdue` does it (cycle.operations.check_deadlines: the pending
deliverables due by the reminder horizon, read with the indexed query of migration 0004,
then the program's deadline rules).

The store: the large program's cycle 9 (60 bodies) planned by Roundtable, then its
deliverables copied by SQL into as many more cycles as make 1,000,000, of which 1 in 100
is still pending (the rest accepted): a program with a long history. As of 25 November 2026.

Floor: the single SQL query that counts the pending deliverables past their due date,
with the same index. Target: within 2x, and the plan uses the index (EXPLAIN of the very
statement the check sends, captured as it runs, is printed).

    python -m benchmarks.check_overdue --size full
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from benchmarks.common import arguments, compare, header, interleaved, postgres_schema, temporary_home
from benchmarks.plan_program import NOW, context
from benchmarks.program import write_program
from cycle.context import Context
from cycle.operations import check_deadlines, plan

AS_OF = dt.date(2026, 11, 25)
SIZES = {"small": (20_000, 1), "full": (1_000_000, 3)}
"""deliverables, repetitions"""
TARGET = 2.0
PENDING_ONE_IN = 100
SERIES = "generate_series(CAST(:first AS integer), CAST(:last AS integer)) n"
FIRST_COPY = 100
"""Copies go into cycles 100, 101, ... (cycle 9 is the original)."""

FLOOR_SQL = (
    "SELECT count(*) FROM deliverable d JOIN planned_item i ON i.id = d.item_id "
    "WHERE d.state = 'pending' AND i.status <> 'cancelled' AND i.due < %(as_of)s"
)


def fill(ctx: Context, deliverables: int) -> int:
    """Copy cycle 9's deliverables into more cycles until there are `deliverables`."""
    with ctx.store.engine.begin() as connection:
        per_cycle = connection.execute(
            text("SELECT count(*) FROM planned_item WHERE cycle = 9 AND kind = 'deliverable'")
        ).scalar_one()
        copies = max(0, -(-deliverables // per_cycle) - 1)
        last = FIRST_COPY + copies - 1
        connection.execute(
            text(
                'INSERT INTO cycle (number, start, "end", months, planned_at) '  # noqa: S608 (constants)
                f'SELECT n, start, "end", months, planned_at FROM cycle, {SERIES} WHERE number = 9'
            ),
            {"first": FIRST_COPY, "last": last},
        )
        columns = (
            "kind, body, phase, owner, host, title_en, title_es, location_en, location_es, starts_at, "
            "ends_at, timezone, first_day, last_day, due, status, revision, created_at, updated_at"
        )
        connection.execute(
            text(
                f"INSERT INTO planned_item (key, cycle, {columns}) "  # noqa: S608 (our column list)
                f"SELECT 'c' || n || substr(key, 3), n, {columns} FROM planned_item, "
                f"{SERIES} WHERE cycle = 9 AND kind = 'deliverable'"
            ),
            {"first": FIRST_COPY, "last": last},
        )
        connection.execute(
            text(
                "INSERT INTO deliverable (item_id, state, updated_at) "
                "SELECT id, CASE WHEN id % :one_in = 0 THEN 'pending' ELSE 'accepted' END, updated_at "
                "FROM planned_item WHERE cycle >= :first AND kind = 'deliverable'"
            ),
            {"first": FIRST_COPY, "one_in": PENDING_ONE_IN},
        )
    with ctx.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))
        return int(connection.execute(text("SELECT count(*) FROM deliverable")).scalar_one())


def statements_of(ctx: Context) -> list[tuple[str, Any]]:
    """Every SELECT the check sends, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(ctx.store.engine, "before_cursor_execute", record)
    try:
        check_deadlines(ctx, number=None, as_of=AS_OF)
    finally:
        event.remove(ctx.store.engine, "before_cursor_execute", record)
    return seen


def explain(ctx: Context, statement: str, parameters: Any) -> str:
    with ctx.store.engine.connect() as connection:
        rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters).all()
    return "\n".join(f"    {row[0]}" for row in rows)


def main() -> None:
    args = arguments(__doc__.splitlines()[0] if __doc__ else "")
    deliverables, repeat = SIZES[args.size]
    header(f"Figure 4: check overdue over {deliverables:,} deliverables in PostgreSQL", args.size)
    with temporary_home() as home, postgres_schema() as url:
        program = write_program(Path(home) / "program.toml", 60)
        ctx = context(program, url, home)
        ctx.store.migrate()
        plan(ctx, number=9, now=NOW, actor="benchmark")
        started = time.perf_counter()
        total = fill(ctx, deliverables)
        print(f"{total:,} deliverables stored in {time.perf_counter() - started:.0f} s; as of {AS_OF}")

        found: dict[str, int] = {}

        def check() -> None:
            result = check_deadlines(ctx, number=None, as_of=AS_OF)
            found["overdue"], found["due soon"] = len(result.overdue), len(result.due_soon)

        def count() -> None:
            with ctx.store.engine.connect() as connection:
                found["floor"] = int(connection.exec_driver_sql(FLOOR_SQL, {"as_of": AS_OF}).scalar_one())

        [(query, parameters)] = [q for q in statements_of(ctx) if "deliverable" in q[0]]

        def fetch() -> None:
            with ctx.store.engine.connect() as connection:
                found["rows"] = len(connection.exec_driver_sql(query, parameters).all())

        check()  # warm: the program's rules and the connection pool, for all three
        count()
        fetch()
        timings = interleaved({"check": check, "floor": count, "rows": fetch}, repeat=repeat)
        print(
            f"the check: {found['overdue']:,} overdue and {found['due soon']:,} due soon, from "
            f"{found['rows']:,} pending rows read; the floor counts {found['floor']:,} pending past "
            f"their due date; best of {repeat}"
        )
        compare("figure 4: check overdue", timings["check"].best, timings["floor"].best, target=TARGET)
        compare(
            "figure 4, beside: the check against the bare fetch of its own query's rows",
            timings["check"].best,
            timings["rows"].best,
            target=TARGET,
        )
        print("EXPLAIN of the check's query:\n" + explain(ctx, query, parameters))
        print("EXPLAIN of the floor:\n" + explain(ctx, FLOOR_SQL, {"as_of": AS_OF}))
        ctx.store.dispose()


if __name__ == "__main__":
    main()
