"""Beyond one machine: the Prefect server and the roundtable store on PostgreSQL, the
flows registered with a process work pool by `roundtable deploy`, and a worker (started in
a directory of its own, holding no copy of the code) running them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from flows.catalog import DEPLOYMENTS
from tests.flows.test_end_to_end import (  # noqa: F401 - fixtures used by name
    AS_OF,
    VENV_BIN,
    Services,
    _start,
    _stop,
    prefect_database,
    prefect_server,
)

POOL = "roundtable-pool"


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
    """`roundtable deploy --work-pool` registers every flow; a worker runs check-overdue."""
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
        watched = _run(
            prefect_server,
            prefect,
            "deployment",
            "run",
            f"check-overdue/{DEPLOYMENTS['check-overdue'].title}",
            "--param",
            "cycle=9",
            "--param",
            f"as_of={AS_OF}",
            "--watch",
            "--watch-timeout",
            "150",
            cwd=elsewhere,
        )
    finally:
        _stop(worker)
    assert watched.returncode == 0, watched.stdout + watched.stderr + prefect_server.log_tail()
    artifacts = prefect_server.post(
        "/artifacts/filter", {"artifacts": {"key": {"any_": ["cycle-9-overdue"]}}}
    )
    rows = json.loads(artifacts[0]["data"])
    assert len(rows) == 97 - 26  # the executive session's 26 inputs were handed in
    assert rows[0]["key"] == "sst-army/agenda-1"
