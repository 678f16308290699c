"""What every benchmark shares: its command line, the machine line, timing, a temporary
store on SQLite or on the real PostgreSQL, and the figure-against-floor report.

Every loop a benchmark runs is bounded in count and in time; every connection goes to
loopback.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

POSTGRES_URL = os.environ.get(
    "ROUNDTABLE_BENCH_POSTGRES_URL",
    os.environ.get("ROUNDTABLE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
)
"""The PostgreSQL server the benchmarks use (a fresh schema each, dropped afterwards)."""

SIZES = ("small", "full")


def arguments(
    description: str, *, extra: Callable[[argparse.ArgumentParser], None] | None = None
) -> argparse.Namespace:
    """`--size small|full` (small keeps it running in CI, full gives the figures)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--size", choices=SIZES, default="full", help="small for CI, full for the figures")
    if extra is not None:
        extra(parser)
    return parser.parse_args()


def machine() -> str:
    """The machine and its load now: figures mean little without them."""
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{now}; {os.cpu_count()} cores ({model}); load average {load}; "
        f"Python {platform.python_version()} on {platform.system()} {platform.release()}"
    )


def header(title: str, size: str) -> None:
    print(f"# {title} (--size {size})")
    print(f"# machine: {machine()}")


@dataclass(frozen=True)
class Timing:
    """Seconds of each repetition of one measured thing."""

    seconds: tuple[float, ...]

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def interleaved(
    works: dict[str, Callable[[], object]], *, repeat: int, clock: Callable[[], float] = time.perf_counter
) -> dict[str, Timing]:
    """Time several things taking turns (a, b, a, b, ...), so that a change in the
    machine's load falls on all of them alike. `clock` may be `time.process_time` for
    work done in this process alone: the CPU it spends, which neighbours do not inflate."""
    seconds: dict[str, list[float]] = {name: [] for name in works}
    for _ in range(repeat):
        for name, work in works.items():
            started = clock()
            work()
            seconds[name].append(clock() - started)
    return {name: Timing(tuple(values)) for name, values in seconds.items()}


def compare(figure: str, measured: float, floor: float, *, target: float, unit: str = "s") -> float:
    """Print a figure, its floor and their ratio against the target; return the ratio."""
    ratio = measured / floor if floor > 0 else float("inf")
    verdict = "within target" if ratio <= target else "ABOVE target"
    print(
        f"{figure}: {measured:.4g} {unit}, floor {floor:.4g} {unit}, "
        f"ratio {ratio:.2f}x (target <= {target:g}x: {verdict})"
    )
    return ratio


@contextlib.contextmanager
def temporary_home() -> Iterator[Path]:
    """A scratch ROUNDTABLE_HOME, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="roundtable-bench-") as directory:
        yield Path(directory)


def sqlite_url(home: Path, name: str = "roundtable.db") -> str:
    return f"sqlite:///{home / name}"


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh, empty schema on the PostgreSQL server, dropped afterwards: its URL."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from cycle.store.database import create_store_engine

    engine = create_store_engine(POSTGRES_URL)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        engine.dispose()
        sys.exit(f"PostgreSQL at {POSTGRES_URL} is not reachable: {str(exc.orig).strip()[:200]}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@contextlib.contextmanager
def database(kind: str, home: Path, name: str = "roundtable.db") -> Iterator[str]:
    """A URL for an empty store of `kind` (sqlite or postgresql)."""
    if kind == "sqlite":
        yield sqlite_url(home, name)
        return
    with postgres_schema() as url:
        yield url
