"""Figure 5 — start the command line: `roundtable --help` and `roundtable status --json`
(cycle 9 planned, as of 24 November 2026), each a fresh interpreter as a person runs it.

Floor: `python -c "import pendulum, sqlmodel"`, the two libraries any command that reads
the store needs. Target: within 1.5x; and Prefect is never imported by them (checked with
`python -X importtime` in the same run). The runs take turns with the floor's, and the
figure is their CPU time (user + system): on a shared machine, wall time measures the
neighbours too (it is printed beside it).

The floor's libraries start from the bytecode pip compiled when it installed them; ours
start from bytecode too, as they do on any machine after their first run: the runs leave
`PYTHONDONTWRITEBYTECODE` out of their environment (some images set it, and then an
editable install recompiles every module of ours at every start), and one run of each
command before the measured ones writes the caches.

    python -m benchmarks.start_cli --size full
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import arguments, compare, header, temporary_home

SIZES = {"small": 2, "full": 20}
"""runs of each command"""
TARGET = 1.5
AS_OF = "2026-11-24"
TIMEOUT = 60.0
FLOOR = [sys.executable, "-c", "import pendulum, sqlmodel"]
CLI = [sys.executable, "-c", "from flows.cli import main; main()"]
COMMANDS = {
    "roundtable --help": [*CLI, "--help"],
    "roundtable status --json": [*CLI, "status", "--json", "--as-of", AS_OF],
}


def run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of `command` (which must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, timeout=TIMEOUT)  # noqa: S603
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def imports_prefect(command: list[str], env: dict[str, str]) -> bool:
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-X", "importtime", *command[1:]],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    return any(line.split("|")[-1].strip().startswith("prefect") for line in done.stderr.splitlines())


def prepare(home: Path) -> dict[str, str]:
    """A store with cycle 9 planned, and the environment that points at it."""
    env = {**os.environ, "ROUNDTABLE_HOME": str(home), "PREFECT_HOME": str(home / "prefect")}
    env.pop("ROUNDTABLE_DATABASE_URL", None)
    env.pop("ROUNDTABLE_CONFIG", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for args in (["init"], ["plan", "--cycle", "9"]):
        subprocess.run([*CLI, *args], env=env, check=True, stdout=subprocess.DEVNULL, timeout=TIMEOUT)  # noqa: S603
    return env


def main() -> None:
    args = arguments(__doc__.splitlines()[0] if __doc__ else "")
    runs = SIZES[args.size]
    header("Figure 5: start the command line", args.size)
    with temporary_home() as home:
        env = prepare(home)
        for command in [FLOOR, *COMMANDS.values()]:
            run(command, env)  # writes the bytecode caches, as a first run anywhere does
        walls: dict[str, list[float]] = {name: [] for name in ["floor", *COMMANDS]}
        cpus: dict[str, list[float]] = {name: [] for name in walls}
        for _ in range(runs):
            for name, command in [("floor", FLOOR), *COMMANDS.items()]:
                wall, cpu = run(command, env)
                walls[name].append(wall)
                cpus[name].append(cpu)
        print(f"median of {runs} runs each, taking turns")
        floor_cpu, floor_wall = statistics.median(cpus["floor"]), statistics.median(walls["floor"])
        for name, command in COMMANDS.items():
            cpu, wall = statistics.median(cpus[name]), statistics.median(walls[name])
            print(f"{name}: wall {wall:.3f} s (floor {floor_wall:.3f} s, {wall / floor_wall:.2f}x)")
            compare(f"figure 5: {name}, CPU", cpu, floor_cpu, target=TARGET)
            print(f"{name} imports Prefect: {imports_prefect(command, env)}")


if __name__ == "__main__":
    main()
