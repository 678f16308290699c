"""Figure 1 — plan a large program: 60 bodies, 10 consecutive 24-month cycles, planned and
stored in SQLite and in PostgreSQL, as `roundtable plan --cycle N` does it.

Floor: bulk-inserting exactly the same rows (cycles, bodies, items, deliverables, gates,
change log) with plain SQLAlchemy Core, one transaction per cycle, into a fresh store of
the same kind. Target: within 2x.

    python -m benchmarks.plan_program --size full
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, insert, select

from benchmarks.common import arguments, compare, database, header, temporary_home
from benchmarks.program import cycles, write_program
from cycle.context import Context, open_context
from cycle.operations import plan
from cycle.settings import Settings
from cycle.store.database import Store

NOW = dt.datetime(2023, 8, 1, 12, 0, tzinfo=dt.UTC)
SIZES = {"small": (6, 2, 1), "full": (60, 10, 3)}
"""bodies, cycles, repetitions"""
TARGET = 2.0
TABLES = ("cycle", "body", "planned_item", "deliverable", "gate", "change_log")
"""In the order foreign keys need them."""

Rows = dict[str, list[dict[str, Any]]]


def context(program: Path, url: str, home: Path) -> Context:
    settings = Settings(home=home, config_path=program, database_url=url, database_origin="benchmark")
    return open_context(settings)


def plan_everything(ctx: Context, numbers: Sequence[int]) -> float:
    """Seconds to plan and store every cycle, one `roundtable plan` each."""
    ctx.store.migrate()
    started = time.perf_counter()
    for number in numbers:
        plan(ctx, number=number, now=NOW, actor="benchmark")
    return time.perf_counter() - started


def stored_rows(store: Store) -> tuple[Rows, int]:
    """Every row Roundtable wrote, by table; and how many items."""
    metadata = MetaData()
    rows: Rows = {}
    with store.engine.connect() as connection:
        for name in TABLES:
            table = Table(name, metadata, autoload_with=connection)
            rows[name] = [dict(row._mapping) for row in connection.execute(select(table))]
    return rows, len(rows["planned_item"])


def by_cycle(rows: Rows) -> dict[int | None, Rows]:
    """The rows each planning transaction wrote (bodies and cycle-less changes go first)."""
    cycle_of_item = {row["id"]: row["cycle"] for row in rows["planned_item"]}
    groups: dict[int | None, Rows] = defaultdict(lambda: {name: [] for name in TABLES})
    first = min(row["number"] for row in rows["cycle"])
    for name in TABLES:
        for row in rows[name]:
            if name == "cycle":
                number = row["number"]
            elif name == "body":
                number = first
            elif name in ("deliverable", "gate"):
                number = cycle_of_item[row["item_id"]]
            else:
                number = row["cycle"] if row["cycle"] is not None else first
            groups[number][name].append(row)
    return dict(sorted(groups.items(), key=lambda kv: kv[0] or 0))


def bulk_insert(store: Store, groups: dict[int | None, Rows]) -> float:
    """Seconds to insert the same rows with Core: one executemany per table and cycle."""
    store.migrate()
    metadata = MetaData()
    with store.engine.connect() as connection:
        tables = {name: Table(name, metadata, autoload_with=connection) for name in TABLES}
    started = time.perf_counter()
    for group in groups.values():
        with store.engine.begin() as connection:
            for name in TABLES:
                if group[name]:
                    connection.execute(insert(tables[name]), group[name])
    return time.perf_counter() - started


def main() -> None:
    args = arguments(__doc__.splitlines()[0] if __doc__ else "")
    bodies, count, repeat = SIZES[args.size]
    numbers = cycles(count)
    header(f"Figure 1: plan {bodies} bodies over {count} 24-month cycles", args.size)
    with temporary_home() as home:
        program = write_program(home / "program.toml", bodies)
        for kind in ("sqlite", "postgresql"):
            measured, floors, items = [], [], 0
            for attempt in range(repeat):
                with database(kind, home, f"plan-{attempt}.db") as url:
                    ctx = context(program, url, home)
                    measured.append(plan_everything(ctx, numbers))
                    rows, items = stored_rows(ctx.store)
                    ctx.store.dispose()
                with database(kind, home, f"floor-{attempt}.db") as url:
                    store = Store.from_url(url)
                    floors.append(bulk_insert(store, by_cycle(rows)))
                    store.dispose()
            print(f"{kind}: {items} items, {sum(len(v) for v in rows.values())} rows; best of {repeat}")
            compare(f"figure 1 on {kind}: plan and store", min(measured), min(floors), target=TARGET)


if __name__ == "__main__":
    main()
