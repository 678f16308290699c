"""Figure 7 — runs served by `roundtable up`: from the trigger to Completed, as an operator
who presses Run waits for it, and `roundtable run` using a running `up` against Prefect's
ephemeral mode.

One `roundtable up` on loopback ports over a fresh store (it plans cycle 9 on its way
up). Beside it, against the same Prefect server, a second runner serves a flow that does
nothing, with the same settings: its runs cost what Prefect costs to hand a run to a
runner, start its process and record its states. Runs of plan-cycle, check-overdue and the
no-op take turns; each is timed by the server's own clock, from the run's creation to its
end. Target: plan-cycle and check-overdue within 1.5x of the no-op.

Then `roundtable run` on the same home while `up` answers (it uses up's server), and once
`up` has stopped (ephemeral mode: a server of its own at every command), side by side.

    python -m benchmarks.served_runs --size full
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import arguments, compare, header, temporary_home

SIZES = {"small": (1, 1), "full": (5, 3)}
"""(runs of each flow, runs of `roundtable run` in each mode)"""
TARGET = 1.5
AS_OF = "2026-12-07"
START_TIMEOUT = 180.0
RUN_TIMEOUT = 300.0
FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
NOOP = """
from prefect import flow, serve

@flow(name="noop")
def noop() -> None:
    pass

if __name__ == "__main__":
    serve(noop.to_deployment(name="noop"))
"""
ROUNDTABLE = [sys.executable, "-c", "from flows.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


LOGS: list[Path] = []
"""The logs of the processes started, whose ends a timeout prints."""


def wait(what: str, check: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except httpx.HTTPError:
            found = None
        if found:
            return found
        time.sleep(0.2)
    for log in LOGS:
        print(f"--- the end of {log.name}:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:]))
    sys.exit(f"timed out after {timeout:.0f} s waiting for {what}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def roundtable_up(env: dict[str, str], logs: Path) -> Iterator[str]:
    """`roundtable up` on free ports until the block ends: its API's address."""
    port, feeds = free_port(), free_port()
    out = logs / "up.out"
    LOGS.append(out)
    with out.open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603
            [*ROUNDTABLE, "up", "--port", str(port), "--feeds-port", str(feeds)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        wait("roundtable up", lambda: "Ctrl-C stops everything" in out.read_text(), START_TIMEOUT)
        yield f"http://127.0.0.1:{port}/api"
    finally:
        stop(process)


@contextmanager
def noop_runner(env: dict[str, str], api: str, logs: Path, home: Path) -> Iterator[None]:
    """A second runner, serving the no-op flow, against the same server (in a directory of
    its own: Prefect runs a served flow from the directory it was served in)."""
    (home / "noop").mkdir()
    (home / "noop" / "noop_flow.py").write_text(NOOP, encoding="utf-8")
    LOGS.append(logs / "noop.out")
    with (logs / "noop.out").open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "noop_flow.py"],
            env={**env, "PREFECT_API_URL": api},
            cwd=home / "noop",
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        yield
    finally:
        stop(process)


def call(method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    """One call to the Prefect API, asked again while the busy server (its SQLite) answers
    503, as Prefect's own client does: the answer's JSON."""

    def answer() -> httpx.Response | None:
        response = httpx.request(method, url, json=body, timeout=30)
        return None if response.status_code == 503 else response

    response: httpx.Response = wait(f"{method} {url}", answer, 60)
    response.raise_for_status()
    return response.json()


def deployment_id(api: str, name: str) -> str:
    def found() -> str | None:
        response = httpx.get(f"{api}/deployments/name/{name}", timeout=10)
        return str(response.json()["id"]) if response.status_code == 200 else None

    return str(wait(f"the deployment {name}", found, START_TIMEOUT))


def served_run(api: str, deployment: str, parameters: dict[str, Any]) -> float:
    """Trigger one run and wait for its end: seconds from its creation to its end, by the
    server's clock (it must complete)."""
    run_id = call("POST", f"{api}/deployments/{deployment}/create_flow_run", {"parameters": parameters})["id"]

    def ended() -> dict[str, Any] | None:
        run: dict[str, Any] = call("GET", f"{api}/flow_runs/{run_id}")
        return run if run["state"]["type"] in FINAL and run.get("end_time") else None

    run = wait(f"run {run_id}", ended, RUN_TIMEOUT)
    if run["state"]["type"] != "COMPLETED":
        sys.exit(f"run {run['name']} ended {run['state']['name']}: {run['state'].get('message')}")
    started = dt.datetime.fromisoformat(run["created"])
    return (dt.datetime.fromisoformat(run["end_time"]) - started).total_seconds()


def roundtable_run(env: dict[str, str]) -> tuple[float, str]:
    """One `roundtable run`: its wall seconds and the Prefect it used."""
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603
        [*ROUNDTABLE, "run", "--as-of", AS_OF, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"roundtable run failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return seconds, str(json.loads(done.stdout)["prefect"]["mode"])


def main() -> None:
    args = arguments(__doc__.splitlines()[0] if __doc__ else "")
    flow_runs, cli_runs = SIZES[args.size]
    header("Figure 7: runs served by roundtable up", args.size)
    with temporary_home() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ROUNDTABLE_"))}
        env |= {"ROUNDTABLE_HOME": str(home / "roundtable"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
        env |= {"DO_NOT_TRACK": "1"}
        logs = home / "logs"
        logs.mkdir()
        with roundtable_up(env, logs) as api, noop_runner(env, api, logs, home):
            flows = {
                "plan-cycle": (deployment_id(api, "plan-cycle/Plan the cycle"), {"cycle": 9, "as_of": AS_OF}),
                "check-overdue": (
                    deployment_id(api, "check-overdue/Check overdue"),
                    {"cycle": 9, "as_of": AS_OF},
                ),
                "no-op": (deployment_id(api, "noop/noop"), {}),
            }
            for deployment, parameters in flows.values():
                served_run(api, deployment, parameters)  # the first of each: imports and caches warm
            seconds: dict[str, list[float]] = {name: [] for name in flows}
            for _ in range(flow_runs):
                for name, (deployment, parameters) in flows.items():
                    seconds[name].append(served_run(api, deployment, parameters))
            print(f"median of {flow_runs} runs each, taking turns, after one of each")
            floor = statistics.median(seconds["no-op"])
            for name in ("plan-cycle", "check-overdue"):
                compare(
                    f"figure 7: {name} trigger to Completed",
                    statistics.median(seconds[name]),
                    floor,
                    target=TARGET,
                )
            served = [roundtable_run(env) for _ in range(cli_runs)]
        ephemeral = [roundtable_run(env) for _ in range(cli_runs)]
    with_up = statistics.median(s for s, _ in served)
    alone = statistics.median(s for s, _ in ephemeral)
    modes = [sorted({mode for _, mode in runs}) for runs in (served, ephemeral)]
    print(f"roundtable run used: {modes[0]} while up ran, {modes[1]} after")
    print(
        f"figure 7: roundtable run, median of {cli_runs}: with up {with_up:.1f} s, "
        f"ephemeral {alone:.1f} s ({alone / with_up:.1f}x as long)"
    )


if __name__ == "__main__":
    main()
