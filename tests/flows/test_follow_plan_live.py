"""The store changes while `roundtable serve` runs against a real Prefect server: the phase
start it moves is moved on the server within a minute, with no restart, as the API shows,
and the recording form's list of deliverables follows what is handed in.

Cycle 10 (September 2027 to August 2029) lies wholly ahead of the real clock, so what the
server should hold does not depend on the day the test runs."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from cycle.apa import Activity
from cycle.context import Context, open_context
from cycle.cycles import cycle_on
from cycle.gates import GateDecision
from cycle.operations import plan, propose_activity
from cycle.progression import decide
from cycle.settings import settings_from_env
from cycle.store.reads import tracked_items
from flows.catalog import DEPLOYMENTS, SCHEDULE_ZONE
from flows.choices import deliverable_label, open_deliverables
from flows.schedules import PLANNED_TAG
from tests.apa import sample_in
from tests.flows.test_end_to_end import (  # noqa: F401 - fixtures used by name
    Services,
    _wait,
    prefect_database,
    prefect_server,
    services,
)

pytestmark = pytest.mark.slow

FOLLOW_WITHIN = 60.0
CHAIRS = ("usnorthcom", "sedena", "semar")
SELECTION_START = dt.datetime(2028, 12, 11, 13, 0, tzinfo=dt.UTC)
"""Cycle 10's visit phase as the template places it: 07:00 in Mexico City (UTC-6)."""
MOVED_START = dt.datetime(2029, 2, 11, 13, 0, tzinfo=dt.UTC)
"""120 days before the June exercise's visit."""


ON_SQLITE = pytest.mark.parametrize(
    ("prefect_database", "database_url"),
    [pytest.param("sqlite", "sqlite", id="prefect-on-sqlite")],
    indirect=True,
)
"""The Prefect server and the store, both on SQLite."""


def validate_cycle_10(ctx: Context, now: dt.datetime) -> tuple[Activity, Activity]:
    """Cycle 10 planned, the sample's two exercises proposed and validated in its APA."""
    plan(ctx, number=10, now=now, actor="test")
    fuerzas, aztec = sample_in(10)
    for activity in (fuerzas, aztec):
        propose_activity(ctx, activity=activity, now=now, actor="test:bodies")
    validated = GateDecision(
        approved=True, tri_chairs=CHAIRS, activities=(fuerzas.key.to_string(), aztec.key.to_string())
    )
    decide(ctx, key="c10/gate/-/apa-validation", decision=validated, now=now, actor="test")
    return fuerzas, aztec


def _visit_start(services: Services) -> dict[str, Any] | None:  # noqa: F811 - the fixture's type
    """The scheduled run of cycle 10's observation visit, as the API gives it."""
    runs = services.post(
        "/flow_runs/filter",
        {
            "flow_runs": {
                "tags": {"all_": [PLANNED_TAG, "cycle:10"]},
                "name": {"any_": ["cycle-10-observation-visit"]},
                "state": {"type": {"any_": ["SCHEDULED"]}},
            }
        },
    )
    assert len(runs) <= 1, runs
    return runs[0] if runs else None


def _starts_at(services: Services, when: dt.datetime) -> Any:  # noqa: F811 - the fixture's type
    """A check that gives the visit's run once it is scheduled at `when`."""

    def check() -> dict[str, Any] | None:
        run = _visit_start(services)
        if run is None:
            return None
        scheduled = dt.datetime.fromisoformat(run["state"]["state_details"]["scheduled_time"])
        return run if scheduled == when else None

    return check


@ON_SQLITE
def test_choosing_the_exercise_moves_the_visits_start_on_the_server_without_a_restart(
    services: Services,  # noqa: F811 - the fixture imported above
) -> None:
    """Cycle 10 planned while serving: its visit starts 120 days before the template's
    exercise; choosing the June exercise moves that same run to 11 February 2029."""
    ctx = open_context(settings_from_env(services.env))
    now = dt.datetime.now(dt.UTC)
    try:
        _, aztec = validate_cycle_10(ctx, now)
        first = _wait(
            "cycle 10's visit start on the server", _starts_at(services, SELECTION_START), FOLLOW_WITHIN
        )
        chosen = GateDecision(approved=True, tri_chairs=CHAIRS, activities=(aztec.key.to_string(),))
        asked = time.monotonic()
        decide(ctx, key="c10/gate/-/exercise-selection", decision=chosen, now=now, actor="test")
        moved = _wait("the visit's start to move", _starts_at(services, MOVED_START), FOLLOW_WITHIN)
        took = time.monotonic() - asked
    finally:
        ctx.store.engine.dispose()
    assert moved["id"] == first["id"]
    assert moved["parameters"] == {"cycle": 10}
    assert took < FOLLOW_WITHIN, services.log_tail()


def _form(services: Services) -> dict[str, Any]:  # noqa: F811 - the fixture's type
    """The record-deliverable deployment's `deliverable` field, as the form gets it (empty
    until the deployment is served)."""
    title = DEPLOYMENTS["record-deliverable"].title
    try:
        deployment = services.get(f"/deployments/name/record-deliverable/{title}")
    except httpx.HTTPStatusError:
        return {}
    field = deployment["parameter_openapi_schema"]["properties"].get("deliverable", {})
    return dict(field) | {"id": deployment["id"]}


@ON_SQLITE
def test_the_recording_form_lists_the_open_deliverables_and_follows_the_store(
    services: Services,  # noqa: F811 - the fixture imported above
) -> None:
    """Under `serve`, *Record a deliverable* lists the open cycle's deliverables still to
    hand in or accept, first in the form. A run on a picked one records it, and the list
    then shows it submitted; a value not in the list is refused by the server; picking one
    and typing a key as well is one line and records nothing."""
    ctx = open_context(settings_from_env(services.env))
    try:
        today = dt.datetime.now(ZoneInfo(SCHEDULE_ZONE)).date()
        current = cycle_on(ctx.program, today)
        assert current is not None
        plan(ctx, number=current.number, now=dt.datetime.now(dt.UTC), actor="test")  # the cycle open today
        with ctx.store.session() as session:
            expected = [
                deliverable_label(t) for t in open_deliverables(tracked_items(session, cycle=current.number))
            ]
        assert expected
        form = _wait(
            "the form's list", lambda: (f := _form(services)).get("enum") == expected and f, FOLLOW_WITHIN
        )
        assert form["position"] == 0
        assert f"cycle {current.number}" in form["description"]
        picked = next(label for label in expected if label.endswith(" · pending"))
        key = f"c{current.number}/deliverable/{picked.split(' · ')[0]}"

        def run(parameters: dict[str, Any]) -> httpx.Response:
            """A run of the deployment, asked again while the busy server says 503."""
            url = f"{services.api}/deployments/{form['id']}/create_flow_run"

            def ask() -> httpx.Response | None:
                response = httpx.post(url, json={"parameters": parameters}, timeout=10)
                return None if response.status_code == 503 else response

            answer: httpx.Response = _wait("an answer", ask, 30)
            return answer

        def ended(parameters: dict[str, Any]) -> tuple[str, dict[str, Any]]:
            """A run of the deployment, and its final state."""
            created = run(parameters)
            assert created.status_code == 201, created.text
            run_id = str(created.json()["id"])

            def final() -> dict[str, Any] | None:
                state: dict[str, Any] = services.flow_run(run_id)["state"]
                return state if state["type"] in ("COMPLETED", "FAILED", "CRASHED") else None

            return run_id, _wait("the run to end", final, 120)

        refused = run({"deliverable": "sst-army/agenda-99 · made up", "action": "submit", "by": "Maj. Ruiz"})
        assert refused.status_code == 409, refused.text  # the server checks the schema
        _, both = ended({"deliverable": picked, "key": key, "action": "submit", "by": "Maj. Ruiz"})
        assert (both["name"], both["message"]) == (
            "InvalidInput",
            "deliverable: pick one from the list, or give its key, not both",
        )
        done, ended_state = ended({"deliverable": picked, "action": "submit", "by": "Maj. Ruiz"})
        assert (ended_state["type"], ended_state["message"]) == ("COMPLETED", f"{key}: submitted")
        assert services.flow_run(done)["name"] == f"record-deliverable-submit-{picked.split(' · ')[0]}"
        now_submitted = picked.rsplit(" · ", 1)[0] + " · submitted"
        _wait(
            "the list to show it submitted", lambda: now_submitted in _form(services)["enum"], FOLLOW_WITHIN
        )
    finally:
        ctx.store.engine.dispose()
