"""`roundtable up`: the Prefect server and UI, the served deployments and the feed server,
started together on 127.0.0.1 and stopped together.

Each runs as a child process: the Prefect server (`prefect server start`, its database in
PREFECT_HOME unless PREFECT_API_DATABASE_CONNECTION_URL says otherwise), then, once it
answers, `roundtable serve` against it, and `roundtable feeds serve`. Ctrl-C or SIGTERM
stops them in the reverse order; if one of them dies, the others are stopped too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import httpx

from flows.runtime import forget_up, record_up

HEALTH_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0


def _wait_healthy(name: str, url: str, child: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"the {name} exited with code {child.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the {name} did not answer at {url} within {timeout:.0f} s")


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    """Stop the children one by one, newest first: the deployments still reach the server
    while they pause themselves, and the server goes last."""
    for child in reversed(children):
        if child.poll() is None:
            child.terminate()
        try:
            child.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            child.kill()  # a Prefect runner or worker may need a second signal
            child.wait()


def run_services(*, home: Path, port: int, feeds_port: int, echo: Callable[[str], None]) -> int:
    """Start the three services, print where they are, wait; returns the exit code."""
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_API_URL": api, "PREFECT_UI_API_URL": api}
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    children: list[subprocess.Popen[bytes]] = []
    stopping = False

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        del signum

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}

    def start(name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = (logs / f"{name}.log").open("ab")
        # Our own interpreter and fixed arguments; a session of its own, so a Ctrl-C reaches
        # only this process, which stops the children in order.
        child = subprocess.Popen(  # noqa: S603
            args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()  # the child holds its own copy
        children.append(child)
        return child

    try:
        server = start(
            "prefect-server",
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        )
        echo(f"Starting the Prefect server on 127.0.0.1:{port} (logs in {logs}) ...")
        _wait_healthy("Prefect server", f"{api}/health", server, HEALTH_TIMEOUT)
        roundtable = [sys.executable, "-m", "flows.cli"]
        start("deployments", [*roundtable, "serve"])
        feeds = start(
            "feeds", [*roundtable, "feeds", "serve", "--host", "127.0.0.1", "--port", str(feeds_port)]
        )
        _wait_healthy("feed server", f"http://127.0.0.1:{feeds_port}/healthz", feeds, HEALTH_TIMEOUT)
        record_up(home, api=api, ui=f"http://127.0.0.1:{port}/", feeds=f"http://127.0.0.1:{feeds_port}/")
        echo(f"Prefect UI:   http://127.0.0.1:{port}/")
        echo(f"Prefect API:  {api}  (export PREFECT_API_URL={api} to use it from another shell)")
        echo(f"Feed server:  http://127.0.0.1:{feeds_port}/  (subscription pages and feeds)")
        echo("Deployments:  every flow, each named by its title; Ctrl-C stops everything.")
        while not stopping:
            dead = [c for c in children if c.poll() is not None]
            if dead:
                echo(f"a service stopped (exit {dead[0].returncode}); see {logs}: stopping the others")
                return 1
            time.sleep(0.5)
    except RuntimeError as exc:
        echo(f"roundtable up: error: {exc}; see {logs}")
        return 1
    else:
        echo("Stopping ...")
        return 0
    finally:
        forget_up(home)
        _stop(children)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
