"""Phase starts as scheduled flow runs on the Prefect server, kept in step with the plan by
`follow_plan`: created, moved, flagged as missed with their event, each once."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
from prefect.client.schemas.objects import FlowRun
from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter

import flows.common
from cycle.progression import cycle_board
from flows.catalog import DEPLOYMENTS
from flows.common import status_markdown
from flows.deployments import build_deployments
from flows.schedules import PLANNED_TAG, follow_plan
from tests.apa import AZTEC_ALLIGATOR
from tests.flows.conftest import EXERCISE, Api, decide_gate

TODAY = dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC)
"""In cycle 9's second year: the executive session (2026-08-04) is past."""
MEXICO = zoneinfo.ZoneInfo("America/Mexico_City")


@pytest.fixture
def deployed(api: Api) -> Api:
    """Every deployment registered on the test server (nothing serves them), with none of
    the runs an earlier test's plan left there."""
    for deployment in build_deployments():
        deployment.apply()
    for run in planned_runs(api).values():
        api.client.delete_flow_run(run.id)
    return api


def planned_runs(api: Api) -> dict[str, FlowRun]:
    """The runs `follow_plan` made, by name and state name (`cycle-9-assessment`,
    `cycle-9-executive-session Missed`)."""
    runs = api.client.read_flow_runs(
        flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[PLANNED_TAG]))
    )
    found: dict[str, FlowRun] = {}
    for run in runs:
        assert run.state is not None
        name = run.name if run.state.name == "Scheduled" else f"{run.name} {run.state.name}"
        assert name not in found, name
        found[name] = run
    return found


def at(run: FlowRun) -> tuple[str, str]:
    """A scheduled run's start as Mexico City's date and time."""
    assert run.state is not None
    when = run.state.state_details.scheduled_time
    assert when is not None
    local = when.astimezone(MEXICO)
    return local.date().isoformat(), local.strftime("%H:%M")


def missed_events(api: Api, since: dt.datetime) -> list[dict[str, Any]]:
    api.settle()
    page = api.client.read_events(
        filter=EventFilter(
            event=EventNameFilter(name=["roundtable.phase.missed"]), occurred=EventOccurredFilter(since=since)
        ),
        limit=50,
    )
    return [dict(e.payload) for e in page.events]


@pytest.mark.usefixtures("planned")
class TestPhaseStarts:
    def test_each_start_ahead_is_a_run_at_seven_in_mexico_city_and_a_passed_one_is_flagged(
        self, deployed: Api
    ) -> None:
        """Cycle 9 on 7 December 2026: the visit, the assessment and the close ahead; the
        executive session's day passed with nobody running it."""
        since = dt.datetime.now(dt.UTC)
        report = follow_plan(flows.common.context(), deployed.client, now=TODAY)
        runs = planned_runs(deployed)
        assert sorted(runs) == [
            "cycle-9-assessment",
            "cycle-9-close-cycle",
            "cycle-9-executive-session Missed",
            "cycle-9-observation-visit",
        ]
        assert at(runs["cycle-9-observation-visit"]) == ("2026-12-14", "07:00")
        assert at(runs["cycle-9-assessment"]) == ("2027-07-02", "07:00")
        assert at(runs["cycle-9-close-cycle"]) == ("2027-08-31", "07:00")
        assert runs["cycle-9-observation-visit"].parameters == {"cycle": 9}
        missed = runs["cycle-9-executive-session Missed"]
        assert missed.state is not None
        assert missed.state.type.value == "CANCELLED"
        assert missed.state.message == (
            "cycle 9: executive-session was due to start on 2026-08-04 and nobody ran it; run the "
            f"deployment executive-session/{DEPLOYMENTS['executive-session'].title} to take it up now"
        )
        assert report.missed == ["cycle-9-executive-session"]
        [event] = missed_events(deployed, since)
        assert (event["cycle"], event["phase"], event["due"]) == (9, "executive-session", "2026-08-04")

    def test_following_again_changes_nothing_and_announces_nothing(self, deployed: Api) -> None:
        """A second pass over the same plan creates, moves and flags nothing."""
        since = dt.datetime.now(dt.UTC)
        follow_plan(flows.common.context(), deployed.client, now=TODAY)
        before = {name: at(run) for name, run in planned_runs(deployed).items() if "Missed" not in name}
        again = follow_plan(flows.common.context(), deployed.client, now=TODAY)
        assert not again.changed
        assert {
            name: at(run) for name, run in planned_runs(deployed).items() if "Missed" not in name
        } == before
        assert len(missed_events(deployed, since)) == 1


class TestThePlanMoves:
    def test_choosing_an_exercise_moves_the_visits_start_run(
        self, apa_validated: Path, deployed: Api
    ) -> None:
        """Aztec Alligator (8 June 2027) moves the visit, so its phase starts 120 days
        before it: the same run, moved, no second one."""
        del apa_validated
        follow_plan(flows.common.context(), deployed.client, now=TODAY)
        first = planned_runs(deployed)["cycle-9-observation-visit"]
        assert at(first) == ("2026-12-14", "07:00")
        decide_gate(EXERCISE, approved=True, activities=(AZTEC_ALLIGATOR.key.to_string(),))
        report = follow_plan(flows.common.context(), deployed.client, now=TODAY)
        assert report.moved == ["cycle-9-observation-visit"]
        moved = planned_runs(deployed)["cycle-9-observation-visit"]
        assert moved.id == first.id
        assert at(moved) == ("2027-02-08", "07:00")


@pytest.mark.usefixtures("planned")
def test_the_summary_names_a_start_that_passed_with_nothing_run() -> None:
    """The executive session's day (2026-08-04) passed and nobody ran it: the summary says
    so and which deployment takes it up; the visit's start, still ahead, is not named."""
    ctx = flows.common.context()
    board = cycle_board(ctx, number=9, as_of=TODAY.date())
    lines = [line for line in status_markdown(ctx, board).splitlines() if "has not started**" in line]
    assert lines == [
        "- **Executive session was due to start on 2026-08-04 and has not started**: "
        "run *Executive session* (executive-session)"
    ]
