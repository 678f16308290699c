"""The benchmarks keep running: each one, at its smallest size, measures its figure and
its floor in the same run, prints what docs/benchmarks.md quotes, and exits 0. (Not timed: the
figures themselves come from `--size full`; see docs/benchmarks.md.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.stores import POSTGRES_URL

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 300
SLOW = {"served_runs": 600}
"""Benchmarks that start Prefect servers and wait for served runs take longer."""

EXPECTED = {
    "plan_program": [
        "figure 1 on sqlite: plan and store:",
        "figure 1 on postgresql: plan and store:",
    ],
    "build_feeds": ["the floor's bytes equal Roundtable's: True", "figure 2: build every feed, CPU:"],
    "serve_feeds": [
        "figure 3: 304 responses, time per request:",
        "figure 3: 200 responses, time per request:",
        "roundtable 304:",
        "roundtable 200:",
    ],
    "check_overdue": ["figure 4: check overdue:", "ix_deliverable_pending"],
    "start_cli": [
        "roundtable --help imports Prefect: False",
        "roundtable status --json imports Prefect: False",
        "figure 5: roundtable status --json, CPU:",
    ],
    "prefect_overhead": ["figure 6: Prefect adds", "ms per task run"],
    "served_runs": [
        "figure 7: plan-cycle trigger to Completed:",
        "figure 7: check-overdue trigger to Completed:",
        "roundtable run used: ['up'] while up ran, ['ephemeral'] after",
        "figure 7: roundtable run, median of 1: with up",
    ],
}
"""What each benchmark must print (besides its ratio lines)."""

POSTGRES = {"plan_program", "check_overdue"}


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.postgres) if n in POSTGRES else n for n in sorted(EXPECTED)],
)
def test_each_benchmark_runs_at_its_smallest_size_and_prints_its_figure(
    name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """`python -m benchmarks.NAME --size small` exits 0 and prints the figure, its floor
    and their ratio; the feed server answers every request without an error."""
    if name in POSTGRES:
        request.getfixturevalue("postgres_url")  # skips (or under CI fails) without the server
    env = {
        **os.environ,
        "ROUNDTABLE_BENCH_POSTGRES_URL": POSTGRES_URL,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    for variable in ("ROUNDTABLE_HOME", "ROUNDTABLE_CONFIG", "ROUNDTABLE_DATABASE_URL", "PREFECT_API_URL"):
        env.pop(variable, None)
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", "--size", "small"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=SLOW.get(name, TIMEOUT),
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    missing = [line for line in EXPECTED[name] if line not in done.stdout]
    assert missing == [], done.stdout
    if name != "prefect_overhead":
        assert " ratio " in done.stdout
        assert "floor" in done.stdout
    if name == "serve_feeds":
        assert ", 0 errors" in done.stdout
        assert " errors (first:" not in done.stdout
