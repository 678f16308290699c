"""Beyond one machine: the Prefect server and the roundtable store on PostgreSQL, the
flows registered with a process work pool by `roundtable deploy`, and a worker (started in
a directory of its own, holding no copy of the code) running them."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cycle.context import open_context
from cycle.gates import GateDecision
from cycle.program import Phase
from cycle.progression import decide
from cycle.settings import settings_from_env
from cycle.starts import phase_starts
from flows.catalog import DEPLOYMENTS
from flows.schedules import start_time
from tests.flows.test_end_to_end import (  # noqa: F401 - fixtures used by name
    AS_OF,
    VENV_BIN,
    Services,
    _start,
    _stop,
    _wait,
    prefect_database,
    prefect_server,
)
from tests.flows.test_follow_plan_live import _visit_start, validate_cycle_10

pytestmark = pytest.mark.slow

POOL = "roundtable-pool"
CHAIRS = ("usnorthcom", "sedena", "semar")


def _run(services: Services, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), env=services.env, capture_output=True, text=True, timeout=180, check=False, cwd=cwd
    )


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("prefect_database", "database_url"), [("postgresql", "postgresql")], indirect=True, ids=["postgresql"]
)
def test_a_worker_polling_a_process_pool_runs_the_deployed_flows(
    prefect_server: Services,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    """`roundtable deploy --work-pool` registers every flow; a worker runs check-overdue,
    and the phase starts follow an amendment it runs."""
    roundtable, prefect = str(VENV_BIN / "roundtable"), str(VENV_BIN / "prefect")
    refused = _run(prefect_server, roundtable, "deploy", "--work-pool", POOL)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"roundtable: error: no work pool '{POOL}': "
        f"create it with `prefect work-pool create {POOL} --type process`"
    ]

    assert _run(prefect_server, prefect, "work-pool", "create", POOL, "--type", "process").returncode == 0
    deployed = _run(prefect_server, roundtable, "deploy", "--work-pool", POOL, "--json")
    assert deployed.returncode == 0, deployed.stderr
    assert sorted(json.loads(deployed.stdout)["deployments"]) == [
        "amend-apa",
        "assessment",
        "check-overdue",
        "close-cycle",
        "executive-session",
        "group-meetings",
        "observation-visit",
        "plan-cycle",
        "publish-calendars",
        "record-deliverable",
        "record-objective-progress",
    ]

    elsewhere = tmp_path / "worker"
    elsewhere.mkdir()
    worker = _start(
        [prefect, "worker", "start", "--pool", POOL], prefect_server.env, prefect_server.logs / "worker.log"
    )
    try:
        watched = _deployment_run(prefect_server, "check-overdue", f"as_of={AS_OF}", "cycle=9", cwd=elsewhere)
        _an_amendment_moves_the_visits_start(prefect_server, cwd=elsewhere)
    finally:
        _stop(worker)
    assert watched.returncode == 0, watched.stdout + watched.stderr + prefect_server.log_tail()
    artifacts = prefect_server.post(
        "/artifacts/filter", {"artifacts": {"key": {"any_": ["cycle-9-overdue"]}}}
    )
    rows = json.loads(artifacts[0]["data"])
    assert len(rows) == 97 - 26  # the executive session's 26 inputs were handed in
    assert rows[0]["key"] == "sst-army/agenda-1"


def _deployment_run(
    services: Services, flow: str, *parameters: str, cwd: Path
) -> subprocess.CompletedProcess[str]:
    """`prefect deployment run … --watch`: the worker runs it."""
    given = [arg for parameter in parameters for arg in ("--param", parameter)]
    name = f"{flow}/{DEPLOYMENTS[flow].title}"
    return _run(
        services,
        str(VENV_BIN / "prefect"),
        "deployment",
        "run",
        name,
        *given,
        "--watch",
        "--watch-timeout",
        "150",
        cwd=cwd,
    )


def _an_amendment_moves_the_visits_start(services: Services, *, cwd: Path) -> None:
    """Cycle 10 (wholly ahead of the real clock) planned with the Aztec Alligator chosen for
    the visit; publish-calendars, run by the worker, puts the visit's start on the server.
    An APA amendment run by the worker moves the exercise a week later: the same scheduled
    run moves to where the store now puts the visit's phase start (its working day), with
    no restart and nothing served, within a minute."""
    ctx = open_context(settings_from_env(services.env))
    now = dt.datetime.now(dt.UTC)
    try:
        _, aztec = validate_cycle_10(ctx, now)
        chosen = GateDecision(approved=True, tri_chairs=CHAIRS, activities=(aztec.key.to_string(),))
        decide(ctx, key="c10/gate/-/exercise-selection", decision=chosen, now=now, actor="test")
    finally:
        ctx.store.engine.dispose()
    published = _deployment_run(services, "publish-calendars", cwd=cwd)
    assert published.returncode == 0, published.stdout + published.stderr
    first = _visit_start(services)
    assert first is not None, services.log_tail()
    week = dt.timedelta(days=7)
    amended = _deployment_run(
        services,
        "amend-apa",
        f"activity={aztec.key.to_string()}",
        "change=reschedule",
        "reason=the host moved the exercise a week",
        "by=secretariat",
        f"first_day={aztec.first_day + week}",
        f"last_day={aztec.last_day + week}",
        cwd=cwd,
    )
    assert amended.returncode == 0, amended.stdout + amended.stderr

    def scheduled(run: dict[str, Any]) -> dt.datetime:
        return dt.datetime.fromisoformat(run["state"]["state_details"]["scheduled_time"])

    def moved() -> dict[str, Any] | None:
        run = _visit_start(services)
        return run if run is not None and scheduled(run) != scheduled(first) else None

    run = _wait("the visit's start to move", moved, 60)
    ctx = open_context(settings_from_env(services.env))
    try:
        [planned] = [
            s for s in phase_starts(ctx, phases={Phase.observation_visit}, as_of=now.date()) if s.cycle == 10
        ]
    finally:
        ctx.store.engine.dispose()
    assert run["id"] == first["id"]
    assert scheduled(run) == start_time(planned.day) > scheduled(first)  # where the store now puts it
