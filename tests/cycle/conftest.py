"""What the tests of cycle/ share: the shipped program over a fresh store (both databases)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cycle.business_calendar import BusinessCalendar
from cycle.config import ProgramSource
from cycle.context import Context
from cycle.program import Program
from cycle.settings import Settings
from cycle.store.database import Store
from tests.conftest import SHIPPED


@pytest.fixture
def ctx(
    store: Store,
    database_url: str,
    program: Program,
    source: ProgramSource,
    calendar: BusinessCalendar,
    tmp_path: Path,
) -> Context:
    """The shipped program over a fresh, migrated store."""
    settings = Settings(home=tmp_path, config_path=SHIPPED, database_url=database_url)
    return Context(settings=settings, program=program, source=source, store=store, calendar=calendar)
