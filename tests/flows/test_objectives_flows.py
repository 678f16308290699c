"""The objectives in the flows, under Prefect's test harness: the close carries them over,
the recording flows write what the CLI writes, the assessment waits for their ratings, and
the status artifact shows their state."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from prefect.input import RunInput
from pydantic import ValidationError

import flows.assessment
import flows.common
from cycle.operations import (
    add_objective,
    objective_detail,
    objectives_in,
    rate_objective,
    record_objective_progress,
)
from cycle.program import Program
from cycle.store.objectives import objective_ratings
from flows.assessment import assessment, ratings_form
from flows.close_cycle import close_cycle
from flows.group_meetings import group_meetings
from tests.flows.conftest import AS_OF, NOW, Api, progress, run, submit

NEXT_CYCLE_DAY = dt.date(2027, 9, 1)


def add(key: str, status: str = "active", *, owner: str = "sedena", as_of: dt.date = AS_OF) -> None:
    add_objective(
        flows.common.context(),
        key=key,
        title_en=f"Objective {key}",
        title_es=f"Objetivo {key}",
        horizon="short-term",
        owner=owner,
        indicators=["Done"],
        status=status,
        number=9,
        as_of=as_of,
        now=NOW,
        actor="secretariat",
    )


def move(key: str, status: str | None, percent: int = 50) -> None:
    record_objective_progress(
        flows.common.context(), key=key, note="met", percent=percent, status=status, now=NOW, actor="wg"
    )


def history(key: str) -> list[tuple[str, int, str, dict[str, Any]]]:
    detail = objective_detail(flows.common.context(), key=key)
    return [(e.action, e.cycle, e.status, json.loads(e.detail)) for e in detail.history]


def held_in(number: int) -> list[tuple[str, str, int, int]]:
    _, records = objectives_in(flows.common.context(), number=number, as_of=AS_OF)
    return [(r.key, r.status, r.first_cycle, r.cycle) for r in records]


ACTIVE, PROPOSED, ACHIEVED, DROPPED = (
    "sst-army/a-active",
    "sst-army/b-proposed",
    "wg-logistics/c-achieved",
    "wg-logistics/d-dropped",
)


@pytest.mark.usefixtures("planned")
class TestCloseCycleCarriesObjectives:
    def test_active_and_proposed_carry_over_with_their_history_achieved_and_dropped_do_not(
        self, api: Api
    ) -> None:
        """The issue's rule, through the close-cycle flow: cycle 10 holds the open ones with
        their whole history; the achieved and the dropped stay in cycle 9."""
        del api
        add(ACTIVE)
        add(PROPOSED, "proposed")
        add(ACHIEVED)
        add(DROPPED, "proposed")
        move(ACTIVE, None, 60)
        move(ACHIEVED, "achieved", 100)
        move(DROPPED, "dropped", 0)
        done = run(close_cycle, cycle=9, as_of=NEXT_CYCLE_DAY)
        assert done.state.is_completed()
        assert done.state.message == (
            "cycle 9 closed with 146 deliverables left open; cycle 10 is open with 2 objectives carried over"
        )
        assert done.result["carried_over"] == [ACTIVE, PROPOSED]
        assert held_in(10) == [(ACTIVE, "active", 9, 10), (PROPOSED, "proposed", 9, 10)]
        assert held_in(9) == [
            (ACTIVE, "active", 9, 10),
            (PROPOSED, "proposed", 9, 10),
            (ACHIEVED, "achieved", 9, 9),
            (DROPPED, "dropped", 9, 9),
        ]
        assert history(ACTIVE) == [
            ("created", 9, "active", history(ACTIVE)[0][3]),
            ("progress", 9, "active", {"progress": [0, 60]}),
            ("carried-over", 10, "active", {"cycle": [9, 10]}),
        ]
        assert [a for a, *_ in history(PROPOSED)] == ["created", "carried-over"]
        assert [a for a, *_ in history(ACHIEVED)] == ["created", "progress"]
        assert [a for a, *_ in history(DROPPED)] == ["created", "progress"]
        again = run(close_cycle, cycle=9, as_of=NEXT_CYCLE_DAY)
        assert again.result["carried_over"] == []
        assert [a for a, *_ in history(ACTIVE)] == ["created", "progress", "carried-over"]


# --- recording from the Prefect UI ---------------------------------------------------------

DELIVERABLE = "c9/deliverable/wg-logistics/agenda-2"
OBJECTIVE = "wg-logistics/shared-fuel-doctrine"
MEETING = "c9/meeting/wg-logistics/2"


def stored_rows() -> dict[str, list[tuple[Any, ...]]]:
    """What recording writes, without the instants and row ids that differ between runs."""
    store = flows.common.context().store
    with store.connection() as connection:
        read = {
            "deliverable": "SELECT d.state, d.submitted_by, d.accepted_by, d.waived_reason, d.note "
            "FROM deliverable d JOIN planned_item i ON i.id = d.item_id ORDER BY i.key",
            "objective": "SELECT key, status, progress, cycle, first_cycle, indicators "
            "FROM objective ORDER BY key",
            "objective_event": "SELECT action, cycle, actor, meeting, status, progress, note, detail "
            "FROM objective_event ORDER BY id",
            "change_log": "SELECT actor, action, cycle, item_key, detail FROM change_log "
            "WHERE action LIKE 'objective-%' OR action LIKE 'deliverable-%' ORDER BY id",
        }
        return {name: [tuple(row) for row in connection.exec_driver_sql(sql)] for name, sql in read.items()}


@pytest.fixture
def recorded_by_cli(planned: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, list[tuple[Any, ...]]]:
    """The rows the CLI writes for a submission and an objective's progress, from the
    planned store; afterwards the store is planned again, for the flows."""
    from tests.flows.test_cli import Cli

    del planned  # the store the CLI records into
    cli = Cli(capsys)
    add(OBJECTIVE, "proposed")
    submitted = cli("deliverables", "submit", DELIVERABLE, "--by", "wg-secretary", "--note", "by email")
    moved = cli(
        "objectives", "progress", OBJECTIVE, "--note", "draft agreed", "--percent", "40",
        "--status", "active", "--meeting", MEETING, "--by", "wg-chair",
    )  # fmt: skip
    assert (submitted[0], moved[0]) == (0, 0), (submitted, moved)
    rows = stored_rows()
    flows.common.context().store.dispose()
    flows.common._cached_context.cache_clear()
    return rows


class TestRecordingFlows:
    def test_the_flows_store_what_the_cli_stores(
        self, api: Api, recorded_by_cli: dict[str, list[tuple[Any, ...]]], store_at: Any
    ) -> None:
        """Recording through the deployments' parameters and through the CLI gives the same rows."""
        from flows.recording import record_deliverable, record_objective_progress

        store_at("planned")
        add(OBJECTIVE, "proposed")
        submitted = run(
            record_deliverable, key=DELIVERABLE, action="submit", by="wg-secretary", note="by email"
        )
        moved = run(
            record_objective_progress,
            key=OBJECTIVE,
            note="draft agreed",
            percent=40,
            status="active",
            meeting=MEETING,
            by="wg-chair",
        )
        assert (submitted.state.message, moved.state.message) == (
            f"{DELIVERABLE}: submitted",
            f"{OBJECTIVE}: active, 40%",
        )
        rows = stored_rows()
        assert rows == recorded_by_cli
        assert rows["objective"] == [(OBJECTIVE, "active", 40, 9, 9, '["Done"]')]
        for recording in (submitted, moved):  # each refreshed the cycle's views itself
            assert {"cycle-9-console", "cycle-9-status", "cycle-9-summary"} <= set(api.artifacts(recording))
        summary = api.latest("cycle-9-summary").data
        assert "1 submitted" in str(summary), summary
        assert rows["change_log"][-1][:3] == ("wg-chair", "objective-progress", 9)

    @pytest.mark.usefixtures("planned")
    @pytest.mark.parametrize(
        ("flow_name", "parameters", "message"),
        [
            (
                "record-objective-progress",
                {"key": OBJECTIVE, "note": "x", "percent": 101, "by": "wg"},
                "progress: a percentage from 0 to 100 (got 101)",
            ),
            (
                "record-objective-progress",
                {"key": OBJECTIVE, "note": "x", "percent": 10, "by": "wg", "status": "achieved"},
                f"{OBJECTIVE} is proposed: it can become active or dropped, not achieved",
            ),
            (
                "record-objective-progress",
                {
                    "key": OBJECTIVE,
                    "note": "x",
                    "percent": 10,
                    "by": "wg",
                    "meeting": "c9/meeting/sst-army/1",
                },
                "meeting: c9/meeting/sst-army/1 is not a meeting of wg-logistics, whose objective this is",
            ),
            (
                "record-objective-progress",
                {"key": OBJECTIVE, "note": "x", "percent": 10, "by": "  "},
                "by: give a name of 1-200 characters on one line",
            ),
            (
                "record-deliverable",
                {"key": "c9/deliverable/wg-logistics/agenda-99", "action": "submit", "by": "wg"},
                "no deliverable c9/deliverable/wg-logistics/agenda-99 in the store "
                "(see `roundtable deliverables list`)",
            ),
            (
                "record-deliverable",
                {"key": DELIVERABLE, "action": "accept", "by": "wg"},
                f"{DELIVERABLE} is pending: cannot accept it; from pending you can submit, waive",
            ),
        ],
    )
    def test_a_bad_parameter_fails_the_run_with_one_line_and_changes_nothing(
        self, api: Api, flow_name: str, parameters: dict[str, Any], message: str
    ) -> None:
        """The run ends Failed with the CLI's message for the mistake; no row is written."""
        from flows.recording import record_deliverable, record_objective_progress

        flow = {
            "record-deliverable": record_deliverable,
            "record-objective-progress": record_objective_progress,
        }
        add(OBJECTIVE, "proposed")
        before = stored_rows()
        done = run(flow[flow_name], **parameters)
        assert (done.state.name, done.state.message, done.state.is_failed()) == (
            "InvalidInput",
            message,
            True,
        )
        stored = api.flow_run(done).state
        assert stored is not None
        assert (stored.name, stored.message) == ("InvalidInput", message)
        assert stored_rows() == before


# --- the AM&E ratings at the assessment ---------------------------------------------------

ASSESSMENT_DAY = dt.date(2027, 7, 15)
RATED_A, RATED_B, NOT_RATED = "sst-navy/a-rated", "wg-logistics/b-rated", "wg-logistics/c-proposed"
AWAITING = "ratings of 2 objectives (give them with `roundtable objectives rate`)"


def assessment_ready() -> None:
    """The visit report and the AM&E report in; two active objectives and a proposed one."""
    submit("c9/deliverable/-/visit-report", "c9/deliverable/-/ame-report")
    add(RATED_A, owner="semar")
    add(RATED_B)
    add(NOT_RATED, "proposed")


def rate(key: str, value: int, effectiveness: int) -> None:
    rate_objective(
        flows.common.context(),
        key=key,
        value=value,
        effectiveness=effectiveness,
        number=9,
        as_of=ASSESSMENT_DAY,
        now=NOW,
        actor="ame",
    )


def ratings() -> list[tuple[str, int, int, int, str | None, str]]:
    with flows.common.context().store.session() as session:
        return [
            (k, r.cycle, r.value, r.effectiveness, r.note, r.rated_by) for k, r in objective_ratings(session)
        ]


@pytest.mark.usefixtures("exercise_selected")
class TestAssessmentRatings:
    def test_without_a_deployment_the_ratings_are_awaited_until_given_with_the_cli(self, api: Api) -> None:
        """The run records which ratings it awaits and ends Waiting; once every active
        objective is rated (the proposed one is not asked for) the assessment completes."""
        assessment_ready()
        waiting = run(assessment, as_of=ASSESSMENT_DAY)
        assert (waiting.state.name, waiting.state.message) == (
            "Waiting",
            f"cycle 9: assessment open, waiting for {AWAITING}",
        )
        summary = str(api.artifacts(waiting)["cycle-9-summary"].data)
        assert f"- The assessment awaits the ratings of: {RATED_A}, {RATED_B}\n" in summary
        assert progress()["assessment"] == (
            "open",
            {"waiting_for": [], "ratings_awaited": [RATED_A, RATED_B]},
        )
        rate(RATED_A, 4, 3)
        still = run(assessment, as_of=ASSESSMENT_DAY)
        assert progress()["assessment"] == ("open", {"waiting_for": [], "ratings_awaited": [RATED_B]})
        assert still.state.name == "Waiting"
        rate(RATED_B, 2, 2)
        done = run(assessment, as_of=ASSESSMENT_DAY)
        assert (done.state.name, done.state.message) == ("Completed", "cycle 9: assessment completed")
        assert progress()["assessment"] == ("completed", {"waiting_for": [], "ratings_awaited": []})
        assert ratings() == [(RATED_A, 9, 4, 3, None, "ame"), (RATED_B, 9, 2, 2, None, "ame")]

    def test_the_ame_report_deliverable_is_still_needed_with_every_rating_in(self, api: Api) -> None:
        del api
        submit("c9/deliverable/-/visit-report")
        add(RATED_A, owner="semar")
        rate(RATED_A, 5, 5)
        waiting = run(assessment, as_of=ASSESSMENT_DAY)
        assert waiting.state.message == "cycle 9: assessment open, waiting for c9/deliverable/-/ame-report"
        assert progress()["assessment"] == ("open", {"waiting_for": ["c9/deliverable/-/ame-report"]})

    def test_under_a_deployment_the_run_asks_with_a_form_per_objective_and_records_the_answer(
        self, api: Api, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The run suspends once with a group of fields per awaited objective (the scale as
        choices), records the answer as the AM&E member who gave it, and completes."""
        asked: list[tuple[type[RunInput], int | None, str]] = []
        answer = {
            "rated_by": "ame-chair",
            "sst_navy__a_rated": {"value": 4, "effectiveness": 3, "note": "on track"},
            "wg_logistics__b_rated": {"value": 2, "effectiveness": 1},
        }

        def suspend(*, wait_for_input: type[RunInput], timeout: int | None, key: str) -> RunInput:
            asked.append((wait_for_input, timeout, key))
            return wait_for_input(**answer)

        monkeypatch.setattr(flows.assessment.deployment, "get_id", lambda: "a-deployment")
        monkeypatch.setattr(flows.assessment, "suspend_flow_run", suspend)
        assessment_ready()
        done = run(assessment, as_of=ASSESSMENT_DAY, ratings_timeout_days=7)
        assert (done.state.name, done.state.message) == ("Completed", "cycle 9: assessment completed")
        stored = api.flow_run(done).state
        assert stored is not None
        assert stored.name == "Completed"
        [(form, timeout, key)] = asked
        assert (form.__name__, timeout, key) == ("ObjectiveRatings", 7 * 86_400, "objective-ratings")
        schema = form.model_json_schema()
        assert list(schema["properties"]) == ["rated_by", "sst_navy__a_rated", "wg_logistics__b_rated"]
        assert schema["properties"]["sst_navy__a_rated"]["title"] == f"{RATED_A} — Objective {RATED_A}"
        group = schema["$defs"]["ObjectiveRating"]["properties"]
        assert (group["value"]["enum"], group["effectiveness"]["enum"]) == ([1, 2, 3, 4, 5], [1, 2, 3, 4, 5])
        assert ratings() == [
            (RATED_A, 9, 4, 3, "on track", "ame-chair"),
            (RATED_B, 9, 2, 1, None, "ame-chair"),
        ]

    def test_the_form_refuses_a_value_off_the_scale(self, program: Program) -> None:
        form = ratings_form(program, [(RATED_A, "A")])
        with pytest.raises(ValidationError):
            form(rated_by="ame", sst_navy__a_rated={"value": 6, "effectiveness": 3})
        with pytest.raises(ValidationError):
            form(rated_by="", sst_navy__a_rated={"value": 3, "effectiveness": 3})


# --- the objectives in the cycle's status ---------------------------------------------------


@pytest.mark.usefixtures("planned")
def test_the_status_artifacts_count_the_objectives_per_body(api: Api) -> None:
    """The cycle-9-objectives table has a row per body holding objectives, and the summary
    their section, with those open past their target (set when cycle 9 opened, their
    short-term horizon ran out on 2026-09-01); the status table keeps a row per phase."""
    opened = dt.date(2025, 9, 1)
    add(ACTIVE, as_of=opened)
    add(PROPOSED, "proposed", as_of=opened)
    add(ACHIEVED)
    move(ACHIEVED, "achieved", 100)
    done = run(group_meetings, as_of=AS_OF)
    artifacts = api.artifacts(done)
    rows = json.loads(str(artifacts["cycle-9-objectives"].data))
    counts = ("proposed", "active", "achieved", "dropped", "open past target")
    assert [(r["key"], *(r[c] for c in counts)) for r in rows] == [
        ("sst-army", 1, 1, 0, 0, 2),
        ("wg-logistics", 0, 0, 1, 0, 0),
    ]
    assert rows[1]["body"] == "Logistics Coordination Working Group"
    assert list(rows[0]) == ["body", *counts, "key"]
    status = json.loads(str(artifacts["cycle-9-status"].data))
    assert len(status) == 7  # a row per phase, and nothing else
    assert not any(r["phase"].startswith("objectives") for r in status)
    summary = str(artifacts["cycle-9-summary"].data)
    assert (
        "## Objectives\n\n3 held in the cycle: 1 proposed, 1 active, 1 achieved, 0 dropped; "
        "**2 open past their target**\n"
    ) in summary
    assert "| Logistics Coordination Working Group | 0 | 0 | 1 | 0 | 0 |\n" in summary


def test_the_deployment_form_offers_exactly_the_domains_statuses() -> None:
    """The form's choices are a static Literal (Prefect builds the form from the type); it
    must name the statuses the domain knows, no more and no fewer."""
    from typing import get_args

    from cycle.objectives import ObjectiveStatus
    from flows.recording import ObjectiveStatusChoice

    assert get_args(ObjectiveStatusChoice) == tuple(s.value for s in ObjectiveStatus)
