"""The light read path (cycle.store.reads) describes the store as the models do."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import TableClause
from sqlmodel import SQLModel

import cycle.store.models  # noqa: F401  (registers the tables)
from cycle.store.reads import LIGHT_TABLES


@pytest.mark.parametrize("light", LIGHT_TABLES, ids=lambda t: t.name)
def test_every_light_column_is_the_models_column_with_its_type(light: TableClause) -> None:
    """Each column read by name exists in the model's table, with the same type
    (so that dates, instants and texts come back as the models would give them)."""
    model = SQLModel.metadata.tables[light.name]
    for column in light.columns:
        assert column.name in model.columns, f"{light.name}.{column.name} is not a column of the models"
        stored = model.columns[column.name].type
        assert type(stored) is type(column.type), (
            f"{light.name}.{column.name}: the models say {stored!r}, the read path {column.type!r}"
        )


def test_the_light_planned_item_is_every_column_of_the_models() -> None:
    """`tracked_items` selects every column of an item: a new column must be added here too."""
    light = next(t for t in LIGHT_TABLES if t.name == "planned_item")
    assert [c.name for c in light.columns] == list(SQLModel.metadata.tables["planned_item"].columns.keys())


@pytest.mark.slow
def test_status_reads_the_store_without_the_models_or_prefect() -> None:
    """`roundtable status` stays off the ORM models, the PostgreSQL dialect and Prefect
    (figure 5 of benchmarks/: they were half of its start)."""
    code = (
        "import sys\n"
        "from cycle.context import open_context, status\n"
        "import flows.cli\n"
        "heavy = ('cycle.store.models', 'cycle.operations', 'sqlalchemy.dialects.postgresql', 'prefect')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"
