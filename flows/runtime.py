"""Prefect's settings for Roundtable, applied before anything imports Prefect.

Prefect reads `PREFECT_HOME` when it is imported and creates the directory then, so the
commands that run flows call `prepare_prefect()` first. Values already in the environment
win: an operator who points `PREFECT_API_URL` at a server, or `PREFECT_HOME` elsewhere,
keeps that. This module imports no Prefect.
"""

from __future__ import annotations

import json
import os
from collections.abc import MutableMapping
from pathlib import Path

DEFAULTS = {
    # Telemetry off: Roundtable talks to loopback only, and nothing should try to leave.
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    # The ephemeral server takes 7-19 s to start here; Prefect's 20 s default is too close.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "60",
    # Served deployments pick up a triggered run in about 6 s instead of 10.
    "PREFECT_RUNNER_POLL_FREQUENCY": "2",
    # `roundtable serve` refreshes the cycle's artifacts in task runs of their own, outside
    # any flow run: their log lines stay in the process's log, without a warning each.
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
}


def prefect_home(roundtable_home: Path) -> Path:
    """Where Prefect keeps its settings and, in ephemeral mode, its database."""
    return roundtable_home / "prefect"


def prepare_prefect(roundtable_home: Path, environ: MutableMapping[str, str] | None = None) -> Path:
    """Set Prefect's defaults in `environ` (the process environment by default) without
    overriding anything set already; returns the Prefect home in use."""
    env = os.environ if environ is None else environ
    env.setdefault("PREFECT_HOME", str(prefect_home(roundtable_home)))
    for name, value in DEFAULTS.items():
        env.setdefault(name, value)
    home = Path(env["PREFECT_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    return home


UP_FILE = "up.json"
"""Under ROUNDTABLE_HOME while `roundtable up` runs: where its Prefect server answers."""


def record_up(roundtable_home: Path, *, api: str, ui: str, feeds: str) -> Path:
    """Note, for other commands on the same data directory, where `up`'s services are."""
    path = roundtable_home / UP_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"api": api, "ui": ui, "feeds": feeds, "pid": os.getpid()}) + "\n")
    temporary.replace(path)
    return path


def forget_up(roundtable_home: Path) -> None:
    (roundtable_home / UP_FILE).unlink(missing_ok=True)


def running_up(roundtable_home: Path, *, timeout: float = 2.0) -> str | None:
    """The API address of a `roundtable up` running on this data directory, if its Prefect
    server answers its health check now; None otherwise (no file, a stale one, no answer)."""
    import httpx

    try:
        noted = json.loads((roundtable_home / UP_FILE).read_text())
        api = str(noted["api"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not api.startswith("http://127.0.0.1:"):
        return None  # `up` only ever listens on loopback: anything else is not ours
    try:
        answered = httpx.get(f"{api}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return None
    return api if answered else None
