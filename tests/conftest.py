"""Shared fixtures: the shipped program, the business calendar, and the stores.

Isolation comes first: Prefect reads PREFECT_HOME at import time, so it is set here,
before any test module can import it, and telemetry is off.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_PREFECT_HOME = Path(tempfile.mkdtemp(prefix="roundtable-test-prefect-"))
os.environ.setdefault("PREFECT_HOME", str(_PREFECT_HOME))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

import pytest  # noqa: E402

from cycle.business_calendar import BusinessCalendar  # noqa: E402
from cycle.config import ProgramSource, load_program, shipped_config_path  # noqa: E402
from cycle.deadlines import Deadlines  # noqa: E402
from cycle.program import Program  # noqa: E402

pytest_plugins = ["tests.stores"]

REPO = Path(__file__).resolve().parent.parent
SHIPPED = shipped_config_path()


SLOW_FIXTURES = frozenset({"prefect_api", "icaljs", "icaljs_files"})
"""Fixtures that make a test slow: the Prefect test harness (an API server for the whole
run), and Mozilla's ical.js (a node process per parse)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `slow` every test that needs a slow fixture. Tests that start programs, servers
    or a browser themselves carry the mark in their module (`pytestmark`)."""
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def shipped() -> tuple[Program, ProgramSource]:
    return load_program(SHIPPED)


@pytest.fixture(scope="session")
def program(shipped: tuple[Program, ProgramSource]) -> Program:
    return shipped[0]


@pytest.fixture(scope="session")
def source(shipped: tuple[Program, ProgramSource]) -> ProgramSource:
    return shipped[1]


@pytest.fixture(scope="session")
def calendar() -> BusinessCalendar:
    return BusinessCalendar(("US", "MX"))


@pytest.fixture(scope="session")
def deadlines(program: Program, calendar: BusinessCalendar) -> Deadlines:
    return Deadlines(program, calendar)
