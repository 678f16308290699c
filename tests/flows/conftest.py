"""The phase flows under Prefect's real test harness: one API server for the session, a
fresh Roundtable home per test, and the store states the flows build on.

Planning a cycle and taking it through its gates are themselves flow runs, so each store
state is built once per session by the flows and copied into every test's home (an SQLite
backup: milliseconds, where building again would take seconds).

Events reach the server through a queue and are stored in batches: `Api.events` first
emits a marker of its own and waits until the server has stored it, so every event the
flow emitted before is stored too, and an empty list means none was emitted.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import (
    ArtifactCollectionFilter,
    ArtifactCollectionFilterKey,
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.objects import Artifact, ArtifactCollection, FlowRun, Log, State
from prefect.events import emit_event
from prefect.events.filters import EventFilter, EventIDFilter, EventNameFilter, EventOrder, EventRelatedFilter
from prefect.events.schemas.events import ReceivedEvent
from prefect.logging.handlers import APILogWorker
from prefect.settings import (
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
    PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL,
    temporary_settings,
)
from prefect.testing.utilities import prefect_test_harness

import flows.common
from cycle.deliverable import Action
from cycle.gates import GateDecision
from cycle.operations import record
from cycle.phases import PhaseState
from cycle.progression import decide
from cycle.settings import DATABASE_FILE
from cycle.store.progress import GateView, gate, phase_progress
from cycle.store.repository import change_log
from flows.executive_session import executive_session
from flows.observation_visit import observation_visit
from flows.plan_cycle import plan_cycle
from tests.apa import ACTIVITIES, SELECTED, propose_inputs, propose_sample
from tests.cycle.test_phases import STANDING_BODIES

AS_OF = dt.date(2026, 11, 25)
"""In cycle 9's second year: executive session held (2026-08-04), visit phase ahead."""
VISIT_DAY = dt.date(2026, 12, 15)
"""In cycle 9's observation-visit phase (2026-12-14 to 2027-05-15)."""
NOW = dt.datetime(2026, 11, 25, 15, 0, tzinfo=dt.UTC)
"""When the tests record deliverables and decisions (the flows use the real clock)."""

APA = "c9/gate/-/apa-validation"
EXERCISE = "c9/gate/-/exercise-selection"
CHAIRS = ("usnorthcom", "sedena", "semar")

BODIES = STANDING_BODIES
EXECUTIVE_INPUTS = (
    *(f"c9/deliverable/{body}/apa-inputs" for body in BODIES),
    "c9/deliverable/-/delegation-roster",
    *(f"c9/deliverable/{body}/annual-briefing" for body in BODIES),
    "c9/deliverable/-/read-ahead",
)
"""What the executive session requires, most urgent first (by due date, then key)."""

EVENT_WAIT_SECONDS = 15.0


# --- the store, as the flows see it ------------------------------------------------------


def submit(*keys: str) -> None:
    """Record deliverables as submitted by the secretariat (a body's APA inputs after it has
    proposed an activity: they cannot be submitted empty)."""
    ctx = flows.common.context()
    propose_inputs(ctx, keys)
    for key in keys:
        record(ctx, key=key, action=Action.submit, actor="secretariat", now=NOW)


def decide_gate(
    key: str,
    *,
    approved: bool,
    activities: tuple[str, ...] = (),
    notes: str = "",
    tri_chairs: tuple[str, ...] = CHAIRS,
) -> GateView:
    """Enter the tri-chairs' decision as `roundtable gates decide` records it."""
    decision = GateDecision(approved=approved, tri_chairs=tri_chairs, notes=notes, activities=activities)
    view, _ = decide(flows.common.context(), key=key, decision=decision, now=NOW, actor="cli:secretariat")
    return view


def progress(cycle: int = 9) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each recorded phase of the cycle: its state and outcome."""
    with flows.common.context().store.session() as session:
        rows = phase_progress(session, cycle=cycle)
    return {phase.value: (row.state.value, dict(row.outcome)) for phase, row in rows.items()}


def completed_phases(cycle: int = 9) -> list[str]:
    return sorted(name for name, (state, _) in progress(cycle).items() if state == PhaseState.completed)


def gate_view(key: str) -> GateView:
    with flows.common.context().store.session() as session:
        return gate(session, key=key)


def changes(cycle: int = 9) -> list[tuple[str, str | None, dict[str, Any]]]:
    """The cycle's change log: action, item and detail, oldest first."""
    with flows.common.context().store.session() as session:
        rows = change_log(session, cycle=cycle)
    return [(row.action, row.item_key, json.loads(row.detail)) for row in rows]


# --- runs, artifacts and events in Prefect ---------------------------------------------


@dataclass(frozen=True)
class Run:
    """A finished flow run: its final state as the flow call returned it."""

    state: State[Any]

    @property
    def id(self) -> uuid.UUID:
        run_id = self.state.state_details.flow_run_id
        assert run_id is not None
        return run_id

    @property
    def result(self) -> Any:
        return self.state.result(raise_on_failure=False)


def run(flow: Callable[..., Any], **parameters: Any) -> Run:
    """Call a flow as a scheduler would (no deployment), keeping its final state."""
    return Run(flow(**parameters, return_state=True))


class Api:
    """What the Prefect API holds about a run, read back with the client."""

    def __init__(self, client: SyncPrefectClient) -> None:
        self.client = client

    def flow_run(self, run: Run) -> FlowRun:
        return self.client.read_flow_run(run.id)

    def artifacts(self, run: Run) -> dict[str, Artifact]:
        """The run's artifacts by key (each key once)."""
        found = self.client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
        )
        keys = sorted(str(a.key) for a in found)
        assert len(set(keys)) == len(keys), keys
        return {str(a.key): a for a in found}

    def latest(self, key: str) -> ArtifactCollection:
        """The latest artifact of a key, as the UI's artifact page shows it."""
        [collection] = self.client.read_latest_artifacts(
            artifact_filter=ArtifactCollectionFilter(key=ArtifactCollectionFilterKey(any_=[key]))
        )
        return collection

    def settle(self) -> None:
        """Wait until every event emitted so far in this process is stored."""
        marker = emit_event(
            event="roundtable-test.marker",
            resource={"prefect.resource.id": f"roundtable-test.{uuid.uuid4()}"},
        )
        assert marker is not None
        deadline = time.monotonic() + EVENT_WAIT_SECONDS
        while (
            self.client.read_events(filter=EventFilter(id=EventIDFilter(id=[marker.id])), limit=1).total < 1
        ):
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not store an event within {EVENT_WAIT_SECONDS:.0f} s")
            time.sleep(0.1)

    def events(self, run: Run, prefix: str = "roundtable.") -> list[ReceivedEvent]:
        """The run's events under `prefix`, oldest first (the API gives 50 a page)."""
        self.settle()
        page = self.client.read_events(
            filter=EventFilter(
                event=EventNameFilter(prefix=[prefix]),
                related=EventRelatedFilter(id=[f"prefect.flow-run.{run.id}"]),
                order=EventOrder.ASC,
            ),
            limit=50,
        )
        found = list(page.events)
        while page.next_page is not None:
            page = self.client.read_events_page(str(page.next_page))
            found += page.events
        assert len(found) == page.total or not found, (len(found), page.total)
        return found

    def logs(self, run: Run) -> list[Log]:
        """The run's log lines as the server holds them (and its UI shows them)."""
        APILogWorker.drain_all(timeout=5)
        return self.client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])), limit=200
        )

    def said(self, run: Run) -> list[tuple[str, int, str]]:
        """The run's `roundtable.*` phase and gate events: name, cycle and phase."""
        return [
            (e.event, e.payload["cycle"], e.payload["phase"])
            for e in self.events(run)
            if e.event != "roundtable.plan.changed"
        ]


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """Prefect's test harness: a temporary API server and database for the session.

    Two settings keep it quick: the server stores events five times a second instead of
    every five seconds, and flow runs send no heartbeats (the engine waits up to a second for the
    heartbeat thread at the end of every flow and subflow run; heartbeats only serve to
    find crashed runs)."""
    with (
        temporary_settings(
            updates={
                PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL: 0.2,
                PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None,
            }
        ),
        prefect_test_harness(server_startup_timeout=90),
    ):
        yield


@pytest.fixture
def api(prefect_api: None) -> Iterator[Api]:
    del prefect_api
    with get_client(sync_client=True) as client:
        yield Api(client)


def _use_home(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.setenv("ROUNDTABLE_HOME", str(home))
    for name in ("ROUNDTABLE_CONFIG", "ROUNDTABLE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    flows.common._cached_context.cache_clear()


def _close_context() -> None:
    """Close the store the flows opened for the current home, and forget it."""
    if flows.common._cached_context.cache_info().currsize:
        flows.common.context().store.dispose()
    flows.common._cached_context.cache_clear()


def _copy_store(source: Path, home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    with (
        closing(sqlite3.connect(source / DATABASE_FILE)) as src,
        closing(sqlite3.connect(home / DATABASE_FILE)) as dst,
    ):
        src.backup(dst)


def _plan() -> None:
    """Cycle 9 planned by its flow, and the bodies' sample activities proposed."""
    assert run(plan_cycle, cycle=9, as_of=AS_OF).state.is_completed()
    propose_sample(flows.common.context())


def _validate_apa() -> None:
    submit(*EXECUTIVE_INPUTS)
    assert run(executive_session, as_of=AS_OF).state.name == "AwaitingDecision"
    decide_gate(APA, approved=True, activities=ACTIVITIES)
    assert run(executive_session, as_of=AS_OF).state.is_completed()


def _select_exercise() -> None:
    assert run(observation_visit, as_of=VISIT_DAY).state.name == "AwaitingDecision"
    decide_gate(EXERCISE, approved=True, activities=(SELECTED,))
    assert run(observation_visit, as_of=VISIT_DAY).state.is_completed()


STATES: dict[str, tuple[str | None, Callable[[], None]]] = {
    "planned": (None, _plan),
    "apa-validated": ("planned", _validate_apa),
    "exercise-selected": ("apa-validated", _select_exercise),
}
"""Store states by name: the state each starts from, and the flow runs that make it."""


class StoreStates:
    """Each state built once per session, in a home of its own, by the flows."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def home(self, name: str) -> Path:
        home = self.root / name
        if not (home / DATABASE_FILE).exists():
            before, build = STATES[name]
            if before is not None:
                _copy_store(self.home(before), home)
            with pytest.MonkeyPatch.context() as monkeypatch:
                _use_home(monkeypatch, home)
                try:
                    build()
                finally:
                    _close_context()
        return home


@pytest.fixture(scope="session")
def store_states(prefect_api: None, tmp_path_factory: pytest.TempPathFactory) -> StoreStates:
    del prefect_api
    return StoreStates(tmp_path_factory.mktemp("store-states"))


@pytest.fixture
def flow_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefect_api: None) -> Iterator[Path]:
    """A fresh ROUNDTABLE_HOME (no store yet) for the flows of one test."""
    del prefect_api
    home = tmp_path / "home"
    _use_home(monkeypatch, home)
    yield home
    _close_context()


@pytest.fixture
def store_at(flow_home: Path, store_states: StoreStates) -> Callable[[str], Path]:
    """Put a copy of a named store state (see STATES) in the test's home."""

    def copy(name: str) -> Path:
        _copy_store(store_states.home(name), flow_home)
        flows.common._cached_context.cache_clear()
        return flow_home

    return copy


@pytest.fixture
def planned(store_at: Callable[[str], Path]) -> Path:
    """Cycle 9 planned and opened by plan-cycle on AS_OF; nothing handed in yet."""
    return store_at("planned")


@pytest.fixture
def apa_validated(store_at: Callable[[str], Path]) -> Path:
    """The executive session's inputs in, the APA validated with ACTIVITIES, the
    observation visit open."""
    return store_at("apa-validated")


@pytest.fixture
def exercise_selected(store_at: Callable[[str], Path]) -> Path:
    """SELECTED chosen at the exercise selection, the assessment open."""
    return store_at("exercise-selected")
