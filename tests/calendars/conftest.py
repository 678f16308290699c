"""An independent parser for the feeds: Mozilla's ical.js, the parser inside Thunderbird,
run by node from tests/js (installed by scripts/test with `npm ci`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

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
