"""An independent parser for the feeds: Mozilla's ical.js, the parser inside Thunderbird,
run by node from tests/js (installed by scripts/test with `npm ci`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cycle.program import Program
from cycle.schedule import plan_cycle
from cycle.store.database import Store
from cycle.store.repository import apply_plan
from tests.calendars.feedserver import NOW, Setup

JS = Path(__file__).resolve().parent.parent / "js"


@pytest.fixture(scope="session")
def icaljs() -> Callable[[bytes], dict[str, Any]]:
    """Parse iCalendar bytes with ical.js; returns the calendar name and its items."""
    node = shutil.which("node")
    if node is None or not (JS / "node_modules" / "ical.js").is_dir():
        message = "ical.js is not installed: run scripts/test (it runs `npm ci` in tests/js)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)

    def parse(ics: bytes) -> dict[str, Any]:
        result = subprocess.run(
            [node, str(JS / "parse.mjs")], input=ics, capture_output=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stderr.decode()
        data: dict[str, Any] = json.loads(result.stdout)
        return data

    return parse


@pytest.fixture(scope="session")
def icaljs_files(icaljs: Callable[[bytes], dict[str, Any]]) -> Callable[[list[Path]], dict[str, Any]]:
    """Parse many files in one node process: {path: parsed}."""
    del icaljs  # only for its check that node and ical.js are there
    node = shutil.which("node")
    assert node is not None

    def parse(paths: list[Path]) -> dict[str, Any]:
        result = subprocess.run(
            [node, str(JS / "parse.mjs"), *map(str, paths)], capture_output=True, timeout=120, check=False
        )
        assert result.returncode == 0, result.stderr.decode()
        data: dict[str, Any] = json.loads(result.stdout)
        return data

    return parse


def _setup(url: str, program: Program) -> Iterator[Setup]:
    store = Store.from_url(url)
    store.migrate()
    store.transaction(lambda s: apply_plan(s, plan=plan_cycle(program, 9), now=NOW, actor="test"))
    yield Setup(store, program)
    store.dispose()


@pytest.fixture
def setup(sqlite_url: str, program: Program) -> Iterator[Setup]:
    """The feed server on a fresh SQLite store with cycle 9 planned and one subscriber."""
    yield from _setup(sqlite_url, program)


@pytest.fixture
def setup_on(database_url: str, program: Program) -> Iterator[Setup]:
    """The same on SQLite, then on the real PostgreSQL (which has no data version to read)."""
    yield from _setup(database_url, program)
