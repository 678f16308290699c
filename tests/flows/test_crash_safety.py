"""A flow run killed (SIGKILL) at any task boundary, then run again, leaves the store
exactly as one uninterrupted run does; a feed build killed half-way leaves every feed
file whole.

How a run is stopped at a boundary: the flow runs in a child process against the same
Prefect test server and store, with a task-state hook added to one task there (the
child's own copy of the task object: no production code knows about it). `before T`
kills the process when T enters Running, before its work; `after T` when T's Completed
state is recorded, before the next step. The store is then compared with the store of an
uninterrupted run from the same start, every table and column, with only the instants of
the runs themselves (`*_at`, which come from the clock) left out.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterParentFlowRunId
from prefect.settings import PREFECT_API_URL
from sqlmodel import SQLModel

import flows.common
from cycle.context import open_context
from cycle.operations import export_document
from cycle.settings import DATABASE_FILE, Settings
from cycle.store.types import UTCDateTime
from flows.executive_session import executive_session
from flows.plan_cycle import plan_cycle
from tests.conftest import REPO, SHIPPED
from tests.flows.conftest import (
    ACTIVITIES,
    APA,
    AS_OF,
    EXECUTIVE_INPUTS,
    Run,
    _copy_store,
    _use_home,
    decide_gate,
    run,
    submit,
)

pytestmark = pytest.mark.slow

CHILD = """
import datetime as dt, os, signal, sys
from prefect.tasks import Task
import flows.common, flows.gates, flows.plan_cycle, flows.publish_calendars
from flows.executive_session import executive_session
from flows.plan_cycle import plan_cycle

when, name, flow_name, as_of = sys.argv[1:]
modules = (flows.common, flows.gates, flows.plan_cycle, flows.publish_calendars)
[task] = {t for m in modules for t in vars(m).values() if isinstance(t, Task) and t.name == name}
hooks = task.on_running_hooks if when == "before" else task.on_completion_hooks
hooks.append(lambda *_: os.kill(os.getpid(), signal.SIGKILL))
flow = {"plan-cycle": plan_cycle, "executive-session": executive_session}[flow_name]
flow(cycle=9, as_of=dt.date.fromisoformat(as_of))
sys.exit(3)  # the kill point was never reached
"""

FLOWS: dict[str, Callable[..., Any]] = {"plan-cycle": plan_cycle, "executive-session": executive_session}

TASKS = {
    "plan-cycle": ["migrate-store", "plan-into-store", "write-feeds", "follow-plan", "publish-status"],
    "executive-session": [
        "begin-phase",
        "request-gate",
        "complete-phase",
        "write-feeds",
        "follow-plan",
        "publish-status",
    ],
}
"""Every task a complete run of each flow runs, in order (the approval path of the
executive session, its decision already in the store); a test checks this against the
runs Prefect recorded."""

FLOWS_CALLED_AS_SUBFLOWS = {"publish-calendars"}
"""A subflow call shows as a task run of its parent, named after the subflow."""

KILL_POINTS = [
    pytest.param(flow, when, task, id=f"{flow}-{when}-{task}")
    for flow, tasks in TASKS.items()
    for when, task in [("before", tasks[0]), *(("after", t) for t in tasks)]
]


def canonical(home: Path) -> dict[str, Any]:
    """The whole store as `roundtable export` has it, instants from the clock masked."""
    url = f"sqlite:///{home / DATABASE_FILE}"
    ctx = open_context(Settings(home=home, config_path=SHIPPED, database_url=url))
    tables: dict[str, Any] = export_document(ctx)["tables"]
    ctx.store.dispose()
    for name, rows in tables.items():
        columns = SQLModel.metadata.tables[name].columns
        instants = [c.name for c in columns if isinstance(c.type, UTCDateTime)]
        for row in rows:
            row.update({c: "<instant>" for c in instants if row[c] is not None})
    return tables


class Homes:
    """Copies of one starting store (or of no store), each in a home of its own."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.monkeypatch = monkeypatch

    def use(self, name: str, start: Path) -> Path:
        home = self.root / name
        home.mkdir()
        if (start / DATABASE_FILE).exists():
            _copy_store(start, home)
        _use_home(self.monkeypatch, home)
        return home


def start_for(flow: str, request: pytest.FixtureRequest) -> Path:
    """plan-cycle starts from nothing (its first task creates the store); executive-session
    from a planned cycle with its inputs in and the APA decided, so its whole approval
    path runs."""
    if flow == "plan-cycle":
        home: Path = request.getfixturevalue("flow_home")
        return home
    home = request.getfixturevalue("planned")
    submit(*EXECUTIVE_INPUTS)
    decide_gate(APA, approved=True, activities=ACTIVITIES)
    flows.common.context().store.dispose()
    return home


def kill_at(when: str, task: str, flow: str, home: Path) -> None:
    env = {
        **os.environ,
        "ROUNDTABLE_HOME": str(home),
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PYTHONPATH": str(REPO),
    }
    child = subprocess.run(
        [sys.executable, "-c", CHILD, when, task, flow, AS_OF.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]


def task_names(finished: Run) -> list[str]:
    """The tasks Prefect ran for a flow run and its subflows, in the order they started."""
    with get_client(sync_client=True) as client:
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[finished.id]))
        )
        ids = [finished.id, *(c.id for c in children)]
        task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)))
    ordered = sorted(task_runs, key=lambda t: t.expected_start_time or t.created)
    names = [t.name.rsplit("-", 1)[0] for t in ordered]
    return [name for name in names if name not in FLOWS_CALLED_AS_SUBFLOWS]


@dataclass(frozen=True)
class Uninterrupted:
    store: dict[str, Any]
    tasks: list[str]


@pytest.fixture(scope="module")
def uninterrupted() -> dict[str, Uninterrupted]:
    """Each flow's uninterrupted run from its start, made once (the start is the same)."""
    return {}


def one_run(flow: str, start: Path, homes: Homes, done: dict[str, Uninterrupted]) -> Uninterrupted:
    if flow not in done:
        home = homes.use("uninterrupted", start)
        finished = run(FLOWS[flow], cycle=9, as_of=AS_OF)
        assert finished.state.is_completed(), finished.state.message
        done[flow] = Uninterrupted(store=canonical(home), tasks=task_names(finished))
    return done[flow]


@pytest.mark.parametrize(("flow", "when", "task"), KILL_POINTS)
def test_a_run_killed_at_a_task_boundary_then_run_again_ends_as_one_run(
    flow: str,
    when: str,
    task: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    uninterrupted: dict[str, Uninterrupted],
) -> None:
    """Kill, run again: every table and column as after one uninterrupted run."""
    start = start_for(flow, request)
    homes = Homes(tmp_path, monkeypatch)
    expected = one_run(flow, start, homes, uninterrupted).store

    killed = homes.use("killed", start)
    kill_at(when, task, flow, killed)
    again = run(FLOWS[flow], cycle=9, as_of=AS_OF)
    assert again.state.is_completed(), again.state.message
    assert canonical(killed) == expected


@pytest.mark.parametrize("flow", TASKS)
def test_the_kill_points_are_every_task_of_a_complete_run(
    flow: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    uninterrupted: dict[str, Uninterrupted],
) -> None:
    """If a flow gains a task, the kill points above must gain it too."""
    start = start_for(flow, request)
    assert one_run(flow, start, Homes(tmp_path, monkeypatch), uninterrupted).tasks == TASKS[flow]
