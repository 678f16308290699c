"""The plan changes while `roundtable serve` runs against a real Prefect server: the phase
start it moves is moved on the server within a minute, with no restart, as the API shows.

Cycle 10 (September 2027 to August 2029) lies wholly ahead of the real clock, so what the
server should hold does not depend on the day the test runs."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

from cycle.context import open_context
from cycle.gates import GateDecision
from cycle.operations import plan, propose_activity
from cycle.progression import decide
from cycle.settings import settings_from_env
from flows.schedules import PLANNED_TAG
from tests.apa import sample_in
from tests.flows.test_end_to_end import (  # noqa: F401 - fixtures used by name
    Services,
    _wait,
    prefect_database,
    prefect_server,
    services,
)

FOLLOW_WITHIN = 60.0
CHAIRS = ("usnorthcom", "sedena", "semar")
SELECTION_START = dt.datetime(2028, 12, 11, 13, 0, tzinfo=dt.UTC)
"""Cycle 10's visit phase as the template places it: 07:00 in Mexico City (UTC-6)."""
MOVED_START = dt.datetime(2029, 2, 11, 13, 0, tzinfo=dt.UTC)
"""120 days before the June exercise's visit."""


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


@pytest.mark.parametrize(
    ("prefect_database", "database_url"),
    [pytest.param("sqlite", "sqlite", id="prefect-on-sqlite")],
    indirect=True,
)
def test_choosing_the_exercise_moves_the_visits_start_on_the_server_without_a_restart(
    services: Services,  # noqa: F811 - the fixture imported above
) -> None:
    """Cycle 10 planned while serving: its visit starts 120 days before the template's
    exercise; choosing the June exercise moves that same run to 11 February 2029."""
    ctx = open_context(settings_from_env(services.env))
    now = dt.datetime.now(dt.UTC)
    try:
        plan(ctx, number=10, now=now, actor="test")
        fuerzas, aztec = sample_in(10)
        for activity in (fuerzas, aztec):
            propose_activity(ctx, activity=activity, now=now, actor="test:bodies")
        validated = GateDecision(
            approved=True, tri_chairs=CHAIRS, activities=(fuerzas.key.to_string(), aztec.key.to_string())
        )
        decide(ctx, key="c10/gate/-/apa-validation", decision=validated, now=now, actor="test")
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
