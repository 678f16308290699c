"""Every phase flow under Prefect's test harness: what it leaves in the store, the
artifacts and events it publishes, how its run is named and tagged, and how it ends.

Runs here have no deployment, so a gate cannot suspend: the flow records the request and
ends "AwaitingDecision"; the decision is entered in the store and the next run goes on.
`TestResumedGate` also plays a run under a deployment, resumed at once with the form's
answer, to reach the paths that need one (Rejected, asking again, TimedOut, gate.decided).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prefect.input import RunInput
from pydantic import ValidationError

import flows.common
import flows.gates
from cycle.errors import InputError
from cycle.gates import GateDecision, GateState
from cycle.operations import check_deadlines, observable_activities, record_notices
from cycle.program import Phase, Program
from cycle.progression import offered_activities
from flows.assessment import assessment
from flows.check_overdue import check_overdue
from flows.close_cycle import close_cycle
from flows.executive_session import executive_session
from flows.gates import NO_EXERCISE, activity_label, gate_form
from flows.group_meetings import group_meetings
from flows.observation_visit import observation_visit
from flows.plan_cycle import plan_cycle
from flows.publish_calendars import publish_calendars
from tests.apa import AZTEC_ALLIGATOR, FUERZAS_AMIGAS, SAMPLE, STAFF_EXCHANGE
from tests.flows.conftest import (
    ACTIVITIES,
    APA,
    AS_OF,
    CHAIRS,
    EXECUTIVE_INPUTS,
    EXERCISE,
    NOW,
    SELECTED,
    VISIT_DAY,
    Api,
    Run,
    changes,
    completed_phases,
    decide_gate,
    gate_view,
    progress,
    run,
    submit,
)

ASSESSMENT_DAY = dt.date(2027, 7, 15)
LAST_DAY = dt.date(2027, 8, 31)
NEXT_CYCLE_DAY = dt.date(2027, 9, 1)
SECONDS_PER_30_DAYS = 2_592_000

STATUS_ARTIFACTS = ["cycle-9-apa", "cycle-9-console", "cycle-9-progress", "cycle-9-status", "cycle-9-summary"]
PLANNED = {"opening": ("completed", {"items": 217}), "group-meetings": ("open", {})}
"""Cycle 9's phases as plan-cycle leaves them (the executive preparation opens in its own
window, with the group meetings' run)."""
STATUS_COLUMNS = ("phase", "state", "gate", "overdue", "done", "window")
STATUS_AS_PLANNED = [
    dict(zip(STATUS_COLUMNS, row, strict=True))
    for row in [
        ("Opening", "completed", "", 0, "0/0", "2025-09-01 → 2025-09-30"),
        ("Group meetings", "open", "", 70, "0/116", "2025-09-01 → 2027-08-31"),
        ("Executive session preparation", "not-started", "", 26, "0/26", "2026-06-05 → 2026-08-03"),
        (
            "Executive session",
            "not-started ← now",
            "pending, 113 days late",
            1,
            "0/1",
            "2026-08-04 → 2026-08-26",
        ),
        ("Observation visit", "not-started", "pending", 0, "0/2", "2026-12-14 → 2027-05-15"),
        ("Assessment", "not-started", "", 0, "0/1", "2027-07-02 → 2027-08-30"),
        ("Close-out", "not-started", "", 0, "0/0", "2027-08-31 → 2027-08-31"),
    ]
]
"""The cycle-9-status table on AS_OF for the planned cycle."""

AWAITING_APA = (
    "cycle 9: c9/gate/-/apa-validation is asked; no deployment to wait in, so decide it with "
    "`roundtable gates decide c9/gate/-/apa-validation` and run executive-session again"
)
MISSING_ALL = (
    "cycle 9 cannot start executive-session: 26 required items are not in: "
    "c9/deliverable/ib-domain-awareness/apa-inputs (pending, due 2026-06-05); "
    "c9/deliverable/ib-domain-control/apa-inputs (pending, due 2026-06-05); "
    "c9/deliverable/ib-institutional-strengthening/apa-inputs (pending, due 2026-06-05); "
    "c9/deliverable/sst-air/apa-inputs (pending, due 2026-06-05); "
    "c9/deliverable/sst-army/apa-inputs (pending, due 2026-06-05); "
    "and 21 more (see the cycle-9-console artifact)"
)
LATE_TWO = ("c9/deliverable/sst-army/apa-inputs", "c9/deliverable/-/read-ahead")
MISSING_TWO = (
    "cycle 9 cannot start executive-session: 2 required items are not in: "
    "c9/deliverable/sst-army/apa-inputs (pending, due 2026-06-05); "
    "c9/deliverable/-/read-ahead (pending, due 2026-07-21)"
)


def all_but(*keys: str) -> tuple[str, ...]:
    return tuple(k for k in EXECUTIVE_INPUTS if k not in keys)


def assert_ended(api: Api, done: Run, name: str, message: str, *, failed: bool = False) -> None:
    """The run's final state, as the flow returned it and as the server holds it."""
    assert (done.state.name, done.state.message) == (name, message)
    assert done.state.is_failed() is failed
    assert done.state.is_completed() is not failed
    stored = api.flow_run(done).state
    assert stored is not None
    assert (stored.name, stored.message) == (name, message)


def assert_labelled(api: Api, done: Run, name: str, tags: list[str]) -> None:
    flow_run = api.flow_run(done)
    assert (flow_run.name, sorted(flow_run.tags)) == (name, sorted(tags))


def table(api: Api, done: Run, key: str) -> list[dict[str, Any]]:
    artifact = api.artifacts(done)[key]
    assert artifact.type == "table"
    return list(json.loads(str(artifact.data)))


def share(api: Api, done: Run, number: int = 9) -> float:
    """The cycle's progress artifact: percent of phases completed."""
    artifact = api.artifacts(done)[f"cycle-{number}-progress"]
    assert artifact.type == "progress"
    return float(str(artifact.data))


def summary(api: Api, done: Run) -> str:
    artifact = api.artifacts(done)["cycle-9-summary"]
    assert artifact.type == "markdown"
    return str(artifact.data)


# --- plan-cycle --------------------------------------------------------------------------


class TestPlanCycle:
    def test_plans_opens_and_publishes_the_cycle_open_on_as_of(self, api: Api, flow_home: Path) -> None:
        """On a new home it creates the store, plans cycle 9, completes its opening, starts
        the group meetings, publishes the status and writes the feeds."""
        done = run(plan_cycle, as_of=AS_OF)
        assert done.state.is_completed()
        assert done.result == {
            "cycle": 9,
            "changes": {"created": 217, "updated": 0, "cancelled": 0, "restored": 0, "unchanged": 0},
            "status": {
                "phase": "group-meetings",
                "recorded_phase": "executive-prep",
                "overdue": 97,
                "phases_completed": 1,
            },
        }
        assert_labelled(api, done, "cycle-9-plan-cycle", ["cycle:9", "phase:opening"])
        assert progress() == PLANNED
        assert [(a, d) for a, _, d in changes() if a.startswith("phase-")] == [
            ("phase-opened", {"phase": "group-meetings"}),
            ("phase-opened", {"phase": "opening"}),
            ("phase-completed", {"phase": "opening"}),
        ]
        assert api.said(done) == [
            ("roundtable.phase.started", 9, "group-meetings"),
            ("roundtable.phase.started", 9, "opening"),
            ("roundtable.phase.completed", 9, "opening"),
        ]
        [changed] = [e for e in api.events(done) if e.event == "roundtable.plan.changed"]
        assert changed.resource.id == "roundtable.cycle.9"
        assert changed.payload == {
            "created": 217,
            "updated": 0,
            "cancelled": 0,
            "restored": 0,
            "unchanged": 0,
        }
        assert sorted(api.artifacts(done)) == STATUS_ARTIFACTS
        assert api.latest("cycle-9-status").flow_run_id == done.id
        assert table(api, done, "cycle-9-status") == STATUS_AS_PLANNED
        assert share(api, done) == pytest.approx(100 / 7)
        assert summary(api, done).startswith(
            "# Cycle 9 (2025-09-01 → 2027-08-31, 24 months)\n\n"
            "As of **2026-11-25** the cycle is **open**. The flows are at **Executive session**, not "
            "started: it was due to start on 2026-08-04, 113 days ago.\n\n"
            "- Deliverables: 0/146 done, 0 submitted, **97 overdue**\n"
            "- Phases completed: 1 of 7\n"
            "- Gate *Tri-chairs validate the Annual Plan of Activities* (2026-08-04): "
            "**pending, 113 days late**\n"
        )
        assert len([p for p in (flow_home / "feeds").rglob("*") if p.is_file()]) == 43

    @pytest.mark.usefixtures("planned")
    def test_planning_again_changes_nothing(self, api: Api) -> None:
        """A second plan-cycle finds every item unchanged: no plan or phase events, no rows."""
        before = changes()
        done = run(plan_cycle, cycle=9, as_of=AS_OF)
        assert done.result["changes"] == {
            "created": 0,
            "updated": 0,
            "cancelled": 0,
            "restored": 0,
            "unchanged": 217,
        }
        assert progress() == PLANNED
        assert changes() == before
        assert api.events(done) == []


# --- group-meetings ----------------------------------------------------------------------


class TestGroupMeetings:
    @pytest.mark.usefixtures("planned")
    @pytest.mark.parametrize(
        ("as_of", "held", "late", "state", "said"),
        [
            (AS_OF, 35, 70, "open", ["started executive-prep"]),
            (
                NEXT_CYCLE_DAY,
                58,
                116,
                "completed",
                ["completed group-meetings", "started executive-prep"],
            ),
        ],
        ids=["during-the-cycle", "after-the-last-meeting"],
    )
    def test_records_the_meetings_held_and_the_papers_late(
        self,
        api: Api,
        as_of: dt.date,
        held: int,
        late: int,
        state: str,
        said: list[str],
    ) -> None:
        """It records meetings held and late agendas and minutes, opens the executive
        preparation in its window, and after the cycle's last day completes the phase."""
        done = run(group_meetings, cycle=9, as_of=as_of)
        assert_ended(
            api, done, "Completed", f"cycle 9: {held} of 58 meetings held, {late} agendas or minutes late"
        )
        assert_labelled(api, done, "cycle-9-group-meetings", ["cycle:9", "phase:group-meetings"])
        recorded_state, outcome = progress()["group-meetings"]
        assert recorded_state == state
        assert {k: v for k, v in outcome.items() if k != "papers_missing"} == {
            "as_of": as_of.isoformat(),
            "meetings_held": held,
            "meetings_total": 58,
        }
        assert len(outcome["papers_missing"]) == late
        assert outcome["papers_missing"] == sorted(outcome["papers_missing"])
        assert outcome["papers_missing"][0] == "c9/deliverable/ib-domain-awareness/agenda-1"
        assert done.result == {"cycle": 9, **outcome}
        assert progress()["executive-prep"] == ("open", {})
        assert [f"{e.removeprefix('roundtable.phase.')} {p}" for e, _, p in api.said(done)] == said
        assert sorted(api.artifacts(done)) == STATUS_ARTIFACTS

    @pytest.mark.usefixtures("planned")
    def test_running_again_after_completion_converges(self, api: Api) -> None:
        """The same day again completes nothing new: no events, no change rows."""
        run(group_meetings, cycle=9, as_of=NEXT_CYCLE_DAY)
        before, rows = changes(), progress()
        again = run(group_meetings, cycle=9, as_of=NEXT_CYCLE_DAY)
        assert again.state.is_completed()
        assert (changes(), progress()) == (before, rows)
        assert api.events(again) == []


# --- executive-session -------------------------------------------------------------------


class TestExecutiveSessionNotReady:
    @pytest.mark.usefixtures("planned")
    @pytest.mark.parametrize(
        ("handed_in", "message"),
        [((), MISSING_ALL), (all_but(*LATE_TWO), MISSING_TWO)],
        ids=["nothing-in", "two-missing"],
    )
    def test_names_what_is_missing_and_opens_nothing(
        self, api: Api, handed_in: tuple[str, ...], message: str
    ) -> None:
        """Without every APA input and briefing in, the run fails NotReady listing them,
        and the store is as it was."""
        submit(*handed_in)
        before = changes()
        done = run(executive_session, as_of=AS_OF)
        assert_ended(api, done, "NotReady", message)
        assert_labelled(api, done, "cycle-9-executive-session", ["cycle:9", "phase:executive-session"])
        assert done.result == {"missing": [k for k in EXECUTIVE_INPUTS if k not in handed_in]}
        assert progress() == PLANNED
        assert changes() == before
        apa = gate_view(APA)
        assert (apa.state, apa.requested_at, apa.request_run, apa.decision) == (
            GateState.pending,
            None,
            None,
            None,
        )
        assert api.events(done) == []
        assert sorted(api.artifacts(done)) == STATUS_ARTIFACTS
        assert share(api, done) == pytest.approx(100 / 7)


class TestExecutiveSessionGate:
    @pytest.mark.usefixtures("planned")
    def test_asks_the_tri_chairs_and_waits_for_their_decision(self, api: Api) -> None:
        """With everything in, it completes the preparation, opens the session, records
        the request for the APA validation and ends AwaitingDecision."""
        submit(*EXECUTIVE_INPUTS)
        before = len(changes())
        started = dt.datetime.now(dt.UTC)
        done = run(executive_session, as_of=AS_OF)
        assert_ended(api, done, "AwaitingDecision", AWAITING_APA)
        assert progress() == {
            **PLANNED,
            "executive-prep": ("completed", {"completed_when": "executive-session began"}),
            "executive-session": ("open", {}),
        }
        apa = gate_view(APA)
        assert (apa.state, apa.request_run, apa.decision) == (GateState.pending, str(done.id), None)
        assert apa.expires_at is not None
        assert apa.requested_at is not None
        assert abs(apa.expires_at - apa.requested_at - dt.timedelta(days=30)) < dt.timedelta(seconds=1)
        assert apa.requested_at >= started
        assert [(a, k or d["phase"]) for a, k, d in changes()[before:]] == [
            ("phase-opened", "executive-prep"),
            ("phase-completed", "executive-prep"),
            ("phase-opened", "executive-session"),
            ("gate-requested", APA),
        ]
        events = api.events(done)
        assert [(e.event, e.payload["phase"]) for e in events] == [
            ("roundtable.phase.started", "executive-prep"),
            ("roundtable.phase.completed", "executive-prep"),
            ("roundtable.phase.started", "executive-session"),
            ("roundtable.gate.requested", "executive-session"),
        ]
        assert events[3].payload == {
            "cycle": 9,
            "phase": "executive-session",
            "gate": APA,
            "run": str(done.id),
            "expires_at": apa.expires_at.isoformat(),
        }
        assert [r.id for r in events[3].related][:1] == ["roundtable.cycle.9.phase.executive-session"]
        assert share(api, done) == pytest.approx(200 / 7)

    @pytest.mark.usefixtures("planned")
    def test_allow_missing_goes_on_and_records_what_it_went_on_without(self, api: Api) -> None:
        """With allow_missing the session opens without the two items, which its outcome
        and the summary name."""
        submit(*all_but(*LATE_TWO))
        done = run(executive_session, as_of=AS_OF, allow_missing=True)
        assert_ended(api, done, "AwaitingDecision", AWAITING_APA)
        assert progress()["executive-session"] == ("open", {"went_on_without": list(LATE_TWO)})
        assert gate_view(APA).request_run == str(done.id)
        assert (
            "- executive-session is waiting for or went on without: "
            "c9/deliverable/sst-army/apa-inputs, c9/deliverable/-/read-ahead\n"
        ) in summary(api, done)
        assert api.said(done) == [
            ("roundtable.phase.started", 9, "executive-prep"),
            ("roundtable.phase.completed", 9, "executive-prep"),
            ("roundtable.phase.started", 9, "executive-session"),
            ("roundtable.gate.requested", 9, "executive-session"),
        ]

    @pytest.mark.usefixtures("planned")
    def test_a_rejection_keeps_the_phase_open_and_the_next_run_asks_again(self, api: Api) -> None:
        """Rejected with notes, the APA is asked for again by the next run: pending, with
        that run's request, the session still open."""
        submit(*EXECUTIVE_INPUTS)
        run(executive_session, as_of=AS_OF)
        rejected = decide_gate(APA, approved=False, notes="Add a maritime exercise", tri_chairs=("sedena",))
        assert (rejected.state, rejected.decided_by) == (GateState.rejected, "sedena")
        again = run(executive_session, as_of=AS_OF)
        assert_ended(api, again, "AwaitingDecision", AWAITING_APA)
        apa = gate_view(APA)
        assert (apa.state, apa.request_run) == (GateState.pending, str(again.id))
        assert progress()["executive-session"] == ("open", {})
        assert [(a, d["from"]) for a, k, d in changes() if k == APA and a.startswith("gate-")] == [
            ("gate-requested", "pending"),
            ("gate-rejected", "pending"),
            ("gate-requested", "rejected"),
        ]
        assert api.said(again) == [("roundtable.gate.requested", 9, "executive-session")]

    @pytest.mark.usefixtures("planned")
    def test_an_approval_completes_the_phase_and_opens_the_observation_visit(self, api: Api) -> None:
        """Once the APA is validated in the store, the next run records its activities,
        completes the session once and opens the visit, without asking again."""
        submit(*EXECUTIVE_INPUTS)
        asked = run(executive_session, as_of=AS_OF)
        decide_gate(APA, approved=True, activities=ACTIVITIES)
        done = run(executive_session, as_of=AS_OF)
        assert_ended(
            api,
            done,
            "Completed",
            "cycle 9: executive-session completed "
            "(c9/gate/-/apa-validation approved by usnorthcom, sedena, semar)",
        )
        outcome = {"validated_activities": list(ACTIVITIES), "validated_by": list(CHAIRS)}
        assert done.result == outcome
        drafted = {r["key"]: r["apa"] for r in table(api, asked, "cycle-9-apa")}
        assert {a.key.to_string() for a in SAMPLE} <= set(drafted)  # with each body's inputs
        assert set(drafted.values()) == {"draft"}
        apa = table(api, done, "cycle-9-apa")
        assert [(r["key"], r["apa"]) for r in apa] == [(key, "v1") for key in ACTIVITIES]
        assert apa[1] == {
            "activity": "Combined exercise Phoenix/Aztec Alligator 2027",
            "kind": "Combined exercise",
            "dates": "2027-06-08 → 2027-06-18",
            "host": "SEMAR",
            "participants": "USNORTHCOM",
            "body": "sst-navy",
            "objectives": "",
            "apa": "v1",
            "key": ACTIVITIES[1],
        }
        assert progress() == {
            **PLANNED,
            "executive-prep": ("completed", {"completed_when": "executive-session began"}),
            "executive-session": ("completed", outcome),
            "observation-visit": ("open", {}),
        }
        assert [a for a, k, _ in changes() if k == APA] == ["planned", "gate-requested", "gate-approved"]
        events = api.events(done)
        assert [(e.event, e.payload["phase"]) for e in events] == [
            ("roundtable.phase.completed", "executive-session"),
            ("roundtable.phase.started", "observation-visit"),
        ]
        assert events[0].payload["outcome"] == outcome
        both = api.said(asked) + api.said(done)
        assert both.count(("roundtable.phase.completed", 9, "executive-session")) == 1
        # The decision was recorded outside the flow: the flow records nothing new, so it
        # announces no gate.decided (`roundtable gates decide` announces it; see TestResumedGate).
        assert [e for e in both if e[0] == "roundtable.gate.decided"] == []
        assert share(api, done) == pytest.approx(300 / 7)
        assert "(2026-08-04): **approved** by usnorthcom, sedena, semar on 2026-11-25" in summary(api, done)
        assert summary(api, done).endswith("\n- APA: version 1, 2 activities\n")

    @pytest.mark.usefixtures("planned")
    def test_an_invalid_decision_in_the_store_is_refused(self) -> None:
        """An approval that validates no activity is refused before it is recorded."""
        refused = r"^validated_activities: an approved APA lists at least one activity$"
        with pytest.raises(InputError, match=refused):
            decide_gate(APA, approved=True)
        assert gate_view(APA).state is GateState.pending


Answer = dict[str, Any]
Asked = list[tuple[type[RunInput], int | None, str]]


def in_choices(phase: Phase, answer: Answer, as_of: dt.date) -> Answer:
    """An answer written with keys and slugs, as the form's choices (what the UI sends)."""
    form = flows.gates.form_of(flows.common.context(), number=9, phase=phase, as_of=as_of)
    chosen = answer.get("validated_activities") or ([answer["exercise"]] if answer.get("exercise") else [])
    decision = GateDecision(
        approved=answer["approved"],
        tri_chairs=tuple(answer["tri_chairs"]),
        notes=answer.get("notes", ""),
        activities=tuple(chosen),
    )
    return form.answer(decision)


class TestResumedGate:
    """A run under a deployment: each `suspend_flow_run` answers at once with the next
    answer (the form class validates it, as the UI and the server would)."""

    @pytest.fixture
    def resume_with(self, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Asked]:
        asked: Asked = []

        def answer_with(*answers: Answer, wait: float = 0) -> Asked:
            given = iter(answers)

            def suspend(*, wait_for_input: type[RunInput], timeout: int | None, key: str) -> RunInput:
                asked.append((wait_for_input, timeout, key))
                time.sleep(wait)
                return wait_for_input(**next(given))

            monkeypatch.setattr(flows.gates.deployment, "get_id", lambda: "a-deployment")
            monkeypatch.setattr(flows.gates, "suspend_flow_run", suspend)
            return asked

        return answer_with

    @pytest.mark.usefixtures("planned")
    @pytest.mark.parametrize(
        ("answer", "name", "message", "gate", "said"),
        [
            (
                {"approved": True, "tri_chairs": list(CHAIRS), "validated_activities": list(ACTIVITIES)},
                "Completed",
                "cycle 9: executive-session completed "
                "(c9/gate/-/apa-validation approved by usnorthcom, sedena, semar)",
                GateState.approved,
                ["gate.decided", "phase.completed", "phase.started"],
            ),
            (
                {"approved": False, "tri_chairs": ["sedena"], "notes": "Add a maritime exercise"},
                "Rejected",
                "cycle 9: c9/gate/-/apa-validation was not approved by sedena: Add a maritime exercise "
                "— the phase stays open; run executive-session again to ask again",
                GateState.rejected,
                ["gate.decided"],
            ),
        ],
        ids=["approved", "rejected"],
    )
    def test_the_answer_decides_how_the_run_ends(
        self,
        api: Api,
        resume_with: Callable[..., Asked],
        answer: Answer,
        name: str,
        message: str,
        gate: GateState,
        said: list[str],
    ) -> None:
        """The run suspends once with the APA form and its timeout, then records the answer
        (gate.decided once) and ends by it."""
        submit(*EXECUTIVE_INPUTS)
        asked = resume_with(in_choices(Phase.executive_session, answer, AS_OF))
        done = run(executive_session, as_of=AS_OF)
        assert_ended(api, done, name, message)
        [(form, timeout, key)] = asked
        assert (form.__name__, key) == ("ApaValidation", "apa-validation")
        assert timeout == pytest.approx(SECONDS_PER_30_DAYS, abs=60)
        assert gate_view(APA).state is gate
        assert progress()["executive-session"][0] == ("completed" if gate is GateState.approved else "open")
        assert [e.removeprefix("roundtable.") for e, _, _ in api.said(done)] == [
            "phase.started",
            "phase.completed",
            "phase.started",
            "gate.requested",
            *said,
        ]

    @pytest.mark.usefixtures("planned")
    @pytest.mark.parametrize(
        ("wrong", "why"),
        [
            (
                {"approved": True, "tri_chairs": ["sedena"]},
                "validated_activities: an approved APA lists at least one activity",
            ),
            (
                {"approved": False, "tri_chairs": ["semar"], "validated_activities": [ACTIVITIES[0]]},
                "notes: a rejection needs a reason in the notes",
            ),
        ],
        ids=["approval-without-activity", "rejection-without-reason"],
    )
    def test_a_wrong_answer_is_asked_again_in_the_same_run(
        self, api: Api, resume_with: Callable[..., Asked], wrong: Answer, why: str
    ) -> None:
        """A wrong answer records nothing and does not end the run: it suspends again with a
        form that says why and starts from that answer, and the right answer completes it."""
        submit(*EXECUTIVE_INPUTS)
        right = {"approved": True, "tri_chairs": list(CHAIRS), "validated_activities": list(ACTIVITIES)}
        wrong_choices = in_choices(Phase.executive_session, wrong, AS_OF)
        asked = resume_with(wrong_choices, in_choices(Phase.executive_session, right, AS_OF))
        done = run(executive_session, as_of=AS_OF)
        assert done.state.is_completed()
        assert done.state.name == "Completed"
        assert [key for _, _, key in asked] == ["apa-validation", "apa-validation-2"]
        first, again = asked[0][0], asked[1][0]
        assert first._description is not None
        assert "refused" not in first._description
        assert again._description is not None
        assert again._description.startswith(f"**The last answer was refused: {why}.** Answer again.")
        fields = again.model_json_schema()["properties"]
        assert fields["tri_chairs"]["default"] == wrong_choices["tri_chairs"]
        assert fields["approved"]["default"] is wrong["approved"]
        assert again.model_json_schema()["required"] == ["approved", "tri_chairs"]
        assert [e for e, _, _ in api.said(done)].count("roundtable.gate.decided") == 1
        assert gate_view(APA).state is GateState.approved
        logs = [log.message for log in api.logs(done)]
        assert f"c9/gate/-/apa-validation: the answer was refused ({why}); asking again" in logs
        assert not [log for log in api.logs(done) if log.level >= 40]

    @pytest.mark.usefixtures("planned")
    def test_asking_again_stops_when_the_time_is_up(self, resume_with: Callable[..., Asked]) -> None:
        """Past the request's time a refused answer ends the run TimedOut, with the reason."""
        submit(*EXECUTIVE_INPUTS)
        wrong = in_choices(Phase.executive_session, {"approved": True, "tri_chairs": ["sedena"]}, AS_OF)
        asked = resume_with(wrong, wait=1.5)
        done = run(executive_session, as_of=AS_OF, gate_timeout_days=1 / 86_400)
        assert done.state.is_failed()
        assert done.state.name == "TimedOut"
        assert done.state.message is not None
        assert done.state.message.startswith("c9/gate/-/apa-validation: the request timed out on ")
        assert done.state.message.endswith(
            "(the last answer was refused: validated_activities: an approved APA lists at least one activity)"
        )
        assert len(asked) == 1
        assert gate_view(APA).state is GateState.pending

    @pytest.mark.usefixtures("apa_validated")
    def test_the_exercise_form_offers_the_validated_activities(
        self, api: Api, resume_with: Callable[..., Asked]
    ) -> None:
        """At the exercise selection the form's choices are the APA's activities (and
        "none"), and the chosen one is recorded."""
        answer = {"approved": True, "tri_chairs": ["sedena", "semar"], "exercise": SELECTED}
        asked = resume_with(in_choices(Phase.observation_visit, answer, VISIT_DAY))
        done = run(observation_visit, as_of=VISIT_DAY)
        assert done.state.is_completed()
        [(form, _, key)] = asked
        assert key == "exercise-selection"
        assert form.model_json_schema()["properties"]["exercise"]["enum"] == [
            "Combined exercise Fuerzas Amigas 2027 · 13 Apr 2027 to 22 Apr 2027 · SEDENA",
            "Combined exercise Phoenix/Aztec Alligator 2027 · 08 Jun 2027 to 18 Jun 2027 · SEMAR",
            NO_EXERCISE,
        ]
        assert progress()["observation-visit"] == (
            "completed",
            {"exercise": SELECTED, "selected_by": ["sedena", "semar"]},
        )
        assert api.said(done) == [
            ("roundtable.gate.requested", 9, "observation-visit"),
            ("roundtable.gate.decided", 9, "observation-visit"),
            ("roundtable.phase.completed", 9, "observation-visit"),
            ("roundtable.phase.started", 9, "assessment"),
        ]


# --- observation-visit -------------------------------------------------------------------


class TestObservationVisit:
    @pytest.mark.usefixtures("planned")
    @pytest.mark.parametrize("allow_missing", [False, True], ids=["strict", "allow-missing"])
    def test_not_ready_before_the_apa_is_validated(self, api: Api, allow_missing: bool) -> None:
        """The APA validation is required and a gate is never skipped, even with allow_missing."""
        before = changes()
        done = run(observation_visit, as_of=VISIT_DAY, allow_missing=allow_missing)
        assert_ended(
            api,
            done,
            "NotReady",
            "cycle 9 cannot start observation-visit: 1 required items are not in: "
            "c9/gate/-/apa-validation (pending, due 2026-08-04)",
        )
        assert_labelled(api, done, "cycle-9-observation-visit", ["cycle:9", "phase:observation-visit"])
        assert (progress(), changes()) == (PLANNED, before)
        assert api.events(done) == []

    @pytest.mark.usefixtures("apa_validated")
    def test_offers_only_the_validated_activities(self) -> None:
        """The selection's form lists the APA's activities and nothing else."""
        ctx = flows.common.context()
        assert offered_activities(ctx, number=9) == ACTIVITIES
        form = gate_form(ctx.program, Phase.observation_visit, observable_activities(ctx, number=9))
        assert form.model().model_json_schema()["properties"]["exercise"] == {
            "enum": [*form.activities, NO_EXERCISE],
            "type": "string",
            "default": NO_EXERCISE,
            "title": "Exercise or training / Ejercicio o adiestramiento",
            "description": "The visit takes its dates and place. / La visita toma fechas y lugar.",
        }
        assert list(form.activities) == [
            "Combined exercise Fuerzas Amigas 2027 · 13 Apr 2027 to 22 Apr 2027 · SEDENA",
            "Combined exercise Phoenix/Aztec Alligator 2027 · 08 Jun 2027 to 18 Jun 2027 · SEMAR",
        ]
        assert list(form.activities.values()) == list(ACTIVITIES)
        exchange = STAFF_EXCHANGE.key.to_string()
        with pytest.raises(ValidationError):
            form.model()(approved=True, tri_chairs=["SEDENA"], exercise=exchange)
        with pytest.raises(
            InputError,
            match=rf"^exercise: '{exchange}' is not one the visit can observe: "
            "a combined exercise or training of the validated APA, in the second year, not begun yet",
        ):
            decide_gate(EXERCISE, approved=True, activities=(exchange,))

    @pytest.mark.usefixtures("apa_validated")
    def test_a_selection_completes_the_phase_and_opens_the_assessment(self, api: Api) -> None:
        """Asked, then decided in the store, the next run records the exercise and moves on."""
        asked = run(observation_visit, as_of=VISIT_DAY)
        assert_ended(
            api,
            asked,
            "AwaitingDecision",
            "cycle 9: c9/gate/-/exercise-selection is asked; no deployment to wait in, so decide it with "
            "`roundtable gates decide c9/gate/-/exercise-selection` and run observation-visit again",
        )
        assert api.said(asked) == [("roundtable.gate.requested", 9, "observation-visit")]
        decide_gate(EXERCISE, approved=True, activities=(SELECTED,), tri_chairs=("usnorthcom",))
        done = run(observation_visit, as_of=VISIT_DAY)
        assert_ended(
            api,
            done,
            "Completed",
            "cycle 9: observation-visit completed (c9/gate/-/exercise-selection approved by usnorthcom)",
        )
        outcome = {"exercise": SELECTED, "selected_by": ["usnorthcom"]}
        assert (progress()["observation-visit"], progress()["assessment"]) == (
            ("completed", outcome),
            ("open", {}),
        )
        assert api.said(done) == [
            ("roundtable.phase.completed", 9, "observation-visit"),
            ("roundtable.phase.started", 9, "assessment"),
        ]
        assert share(api, done) == pytest.approx(400 / 7)
        apa = table(api, done, "cycle-9-apa")
        assert [(r["key"], r["apa"]) for r in apa] == [(SELECTED, "v1 · observed"), (ACTIVITIES[1], "v1")]


# --- completed phases converge -----------------------------------------------------------


class TestCompletedPhaseConverges:
    @pytest.mark.parametrize(
        ("state", "flow", "as_of", "message"),
        [
            ("apa_validated", executive_session, AS_OF, "cycle 9: executive-session was completed already"),
            (
                "exercise_selected",
                observation_visit,
                VISIT_DAY,
                "cycle 9: observation-visit was completed already",
            ),
        ],
        ids=["executive-session", "observation-visit"],
    )
    def test_running_a_completed_phase_again_changes_nothing(
        self,
        request: pytest.FixtureRequest,
        api: Api,
        state: str,
        flow: Callable[..., Any],
        as_of: dt.date,
        message: str,
    ) -> None:
        """A completed phase's flow ends Completed saying so, with no event and no row."""
        request.getfixturevalue(state)
        before, rows = changes(), progress()
        done = run(flow, as_of=as_of)
        assert_ended(api, done, "Completed", message)
        assert (changes(), progress()) == (before, rows)
        assert api.events(done) == []
        assert sorted(api.artifacts(done)) == STATUS_ARTIFACTS


# --- assessment --------------------------------------------------------------------------


class TestAssessment:
    @pytest.mark.usefixtures("exercise_selected")
    def test_not_ready_without_the_visit_report(self, api: Api) -> None:
        """The assessment needs the observation visit's report in."""
        done = run(assessment, as_of=ASSESSMENT_DAY)
        assert progress()["assessment"] == ("open", {})
        assert_ended(
            api,
            done,
            "NotReady",
            "cycle 9 cannot start assessment: 1 required items are not in: "
            "c9/deliverable/-/visit-report (pending, due 2027-05-17)",
        )

    @pytest.mark.usefixtures("exercise_selected")
    def test_allow_missing_goes_on_without_the_visit_report(self, api: Api) -> None:
        """With allow_missing the open assessment records that it went on without the report."""
        done = run(assessment, as_of=ASSESSMENT_DAY, allow_missing=True)
        assert_ended(
            api, done, "Waiting", "cycle 9: assessment open, waiting for c9/deliverable/-/ame-report"
        )
        state, outcome = progress()["assessment"]
        assert (state, outcome["went_on_without"]) == ("open", ["c9/deliverable/-/visit-report"])
        assert "- assessment is waiting for or went on without: c9/deliverable/-/visit-report\n" in summary(
            api, done
        )

    @pytest.mark.usefixtures("exercise_selected")
    def test_waits_for_the_ame_report_then_completes(self, api: Api) -> None:
        """Open and Waiting until the AM&E report is in; then completed, close-out open,
        and a third run changes nothing."""
        submit("c9/deliverable/-/visit-report")
        waiting = run(assessment, as_of=ASSESSMENT_DAY)
        assert_ended(
            api, waiting, "Waiting", "cycle 9: assessment open, waiting for c9/deliverable/-/ame-report"
        )
        assert progress()["assessment"][0] == "open"
        assert api.events(waiting) == []
        submit("c9/deliverable/-/ame-report")
        done = run(assessment, as_of=ASSESSMENT_DAY)
        assert_ended(api, done, "Completed", "cycle 9: assessment completed")
        assert (progress()["assessment"], progress()["close-out"]) == (
            ("completed", {"waiting_for": []}),
            ("open", {}),
        )
        assert api.said(done) == [
            ("roundtable.phase.completed", 9, "assessment"),
            ("roundtable.phase.started", 9, "close-out"),
        ]
        assert share(api, done) == pytest.approx(500 / 7)
        before = changes()
        again = run(assessment, as_of=ASSESSMENT_DAY)
        assert_ended(api, again, "Completed", "cycle 9: assessment completed")
        assert changes() == before
        assert api.events(again) == []

    @pytest.mark.usefixtures("exercise_selected")
    def test_attaches_the_ame_report_with_its_chart(self, api: Api) -> None:
        """The AM&E figures as a markdown artifact: the chart as an image, the trend as
        text, and an overdue count that agrees with the overdue check's."""
        submit("c9/deliverable/-/visit-report")
        waiting = run(assessment, as_of=ASSESSMENT_DAY)
        artifact = api.artifacts(waiting)["cycle-9-ame-report"]
        assert artifact.type == "markdown"
        text = str(artifact.data)
        assert text.startswith(f"# AM&E report: deliverables on time — Cycle 9, as of {ASSESSMENT_DAY}\n")
        assert "![On-time rate by cycle](data:image/svg+xml;base64," in text
        overdue = len(check_deadlines(flows.common.context(), number=9, as_of=ASSESSMENT_DAY).overdue)
        assert f" · overdue: {overdue} · " in text
        assert "| Cycle 9 | " in text

    @pytest.mark.usefixtures("exercise_selected")
    def test_the_summary_says_what_the_assessment_waits_for(self, api: Api) -> None:
        """The summary artifact names the AM&E report the open assessment waits for."""
        submit("c9/deliverable/-/visit-report")
        waiting = run(assessment, as_of=ASSESSMENT_DAY)
        assert progress()["assessment"] == ("open", {"waiting_for": ["c9/deliverable/-/ame-report"]})
        assert "- assessment is waiting for or went on without: c9/deliverable/-/ame-report\n" in summary(
            api, waiting
        )

    @pytest.mark.usefixtures("apa_validated")
    def test_refuses_while_the_exercise_selection_is_pending(self, api: Api) -> None:
        """With the report in but no exercise selected, the run fails naming the gate."""
        submit("c9/deliverable/-/visit-report")
        before, rows = changes(), progress()
        done = run(assessment, as_of=ASSESSMENT_DAY)
        assert_ended(
            api,
            done,
            "Failed",
            "Flow run encountered an exception: InputError: cycle 9: observation-visit is not done, "
            "its gate c9/gate/-/exercise-selection is pending",
            failed=True,
        )
        assert (changes(), progress()) == (before, rows)
        assert api.events(done) == []


# --- close-cycle -------------------------------------------------------------------------


class TestCloseCycle:
    @pytest.mark.usefixtures("planned")
    @pytest.mark.parametrize(
        ("cycle", "as_of"), [(9, dt.date(2027, 8, 30)), (None, AS_OF)], ids=["the-day-before", "mid-cycle"]
    )
    def test_refuses_before_the_last_day(self, api: Api, cycle: int | None, as_of: dt.date) -> None:
        """Before 2027-08-31 the run fails with the InputError and changes nothing."""
        before = changes()
        done = run(close_cycle, cycle=cycle, as_of=as_of)
        assert_ended(
            api,
            done,
            "Failed",
            "Flow run encountered an exception: InputError: "
            f"cycle 9 closes on 2027-08-31, not before (as of {as_of})",
            failed=True,
        )
        assert_labelled(api, done, "cycle-9-close-cycle", ["cycle:9", "phase:close-out"])
        assert (progress(), changes(), progress(10)) == (PLANNED, before, {})
        assert api.events(done) == []

    @pytest.mark.usefixtures("planned")
    @pytest.mark.parametrize(
        ("cycle", "as_of"), [(9, NEXT_CYCLE_DAY), (None, LAST_DAY)], ids=["next-day", "last-day"]
    )
    def test_closes_the_cycle_and_opens_the_next(self, api: Api, cycle: int | None, as_of: dt.date) -> None:
        """Every phase of cycle 9 is completed, what is left open is recorded, and cycle 10
        is planned and opened."""
        done = run(close_cycle, cycle=cycle, as_of=as_of)
        assert_ended(
            api, done, "Completed", "cycle 9 closed with 146 deliverables left open; cycle 10 is open"
        )
        assert_labelled(api, done, "cycle-9-close-cycle", ["cycle:9", "phase:close-out"])
        rows = progress()
        left_open = rows.pop("close-out")[1]["left_open"]
        closed = ("completed", {"closed_with_cycle": True})
        assert rows == {
            "opening": ("completed", {"items": 217}),
            "group-meetings": closed,
            "executive-prep": closed,
            "executive-session": closed,
            "observation-visit": closed,
            "assessment": closed,
        }
        assert len(left_open) == 146
        assert left_open == sorted(left_open)
        assert set(EXECUTIVE_INPUTS) < set(left_open)
        assert done.result == {"cycle": 9, "left_open": left_open, "next": 10, "carried_over": []}
        assert progress(10) == PLANNED
        completed = [(9, "group-meetings", "completed")]
        started_and_completed = [
            (9, p, s)
            for p in ("executive-prep", "executive-session", "observation-visit", "assessment", "close-out")
            for s in ("started", "completed")
        ]
        assert api.said(done) == [
            *[(f"roundtable.phase.{s}", n, p) for n, p, s in [*completed, *started_and_completed]],
            ("roundtable.phase.started", 10, "group-meetings"),
            ("roundtable.phase.started", 10, "opening"),
            ("roundtable.phase.completed", 10, "opening"),
        ]
        assert sorted(api.artifacts(done)) == [
            "cycle-10-apa",
            "cycle-10-console",
            "cycle-10-progress",
            "cycle-10-status",
            "cycle-10-summary",
            *STATUS_ARTIFACTS,
        ]
        assert share(api, done) == 100.0
        assert share(api, done, 10) == pytest.approx(100 / 7)

    @pytest.mark.usefixtures("planned")
    def test_closing_again_converges(self, api: Api) -> None:
        """A second close finds every phase completed and cycle 10 planned: no events, no rows."""
        run(close_cycle, cycle=9, as_of=NEXT_CYCLE_DAY)
        before = (changes(), changes(10), progress(), progress(10))
        again = run(close_cycle, cycle=9, as_of=NEXT_CYCLE_DAY)
        assert_ended(
            api, again, "Completed", "cycle 9 closed with 146 deliverables left open; cycle 10 is open"
        )
        assert (changes(), changes(10), progress(), progress(10)) == before
        assert api.events(again) == []
        assert completed_phases() == sorted(p.value for p in Phase)


# --- check-overdue -----------------------------------------------------------------------

MOST_LATE = {
    "level": "tri-chairs-staff",
    "owner": "sst-army",
    "key": "sst-army/agenda-1",
    "due": "2025-09-29",
    "late": 283,
}
MOST_LATE_TITLE = "Agenda for Army Service Staff Talks (U.S. Army North – Mexican Army): meeting 1"
LEVELS_ON_AS_OF = {"tri-chairs-staff": 92, "body-chairs": 4, "owner": 1}
"""Cycle 9's 97 late deliverables on 2026-11-25 by escalation level (5 and 15 working days)."""


def notices(api: Api, done: Run) -> list[tuple[str, str, str | None]]:
    """The run's deliverable events: (event suffix, key, level), sorted."""
    return sorted(
        (e.event.removeprefix("roundtable.deliverable."), e.payload["key"], e.payload["level"])
        for e in api.events(done, prefix="roundtable.deliverable.")
    )


class TestCheckOverdue:
    @pytest.mark.usefixtures("planned")
    def test_reports_every_late_deliverable_with_its_level(self, api: Api) -> None:
        """The overdue table (most severe first), the count in the message, and one event
        per late deliverable plus one per escalation past the first level."""
        done = run(check_overdue, as_of=AS_OF)
        assert_ended(
            api,
            done,
            "Overdue",
            "cycle 9: 97 deliverables overdue on 2026-11-25, the most severe 283 working days late "
            "(c9/deliverable/sst-army/agenda-1); 0 due soon; 193 new notices",
        )
        assert_labelled(api, done, "cycle-9-check-overdue", ["cycle:9", "phase:check-overdue"])
        rows = table(api, done, "cycle-9-overdue")
        assert rows[0] == MOST_LATE
        assert Counter(r["level"] for r in rows) == LEVELS_ON_AS_OF
        assert [r["late"] for r in rows[:92]] == sorted((r["late"] for r in rows[:92]), reverse=True)
        assert done.result == {"cycle": 9, "as_of": "2026-11-25", "overdue": rows, "due_soon": 0}
        assert sorted(api.artifacts(done)) == sorted(["cycle-9-overdue", *STATUS_ARTIFACTS])
        said = notices(api, done)
        assert Counter(kind for kind, _, _ in said) == {"overdue": 97, "escalated": 96}
        assert sorted(key for kind, key, _ in said if kind == "overdue") == sorted(
            f"c9/deliverable/{r['key']}" for r in rows
        )
        events = api.events(done, prefix="roundtable.deliverable.escalated")
        [first] = [e for e in events if e.payload["key"] == "c9/deliverable/sst-army/agenda-1"]
        assert first.payload == {
            "key": "c9/deliverable/sst-army/agenda-1",
            "deliverable": MOST_LATE_TITLE,
            "deliverable_es": "Agenda de Pláticas de Estado Mayor del Ejército (Ejército Norte de EE. UU. – "
            "Ejército Mexicano): reunión 1",
            "owner": "sst-army",
            "due": "2025-09-29",
            "notice": "escalated",
            "level": "tri-chairs-staff",
            "level_name": "Tri-chairs' staff",
            "level_name_es": "Estado mayor de los copresidentes",
            "working days late": 283,
            "as_of": "2026-11-25",
        }
        assert first.resource.id == "roundtable.deliverable.c9/deliverable/sst-army/agenda-1"
        assert first.resource["roundtable.owner"] == "sst-army"
        assert first.resource["roundtable.level"] == "tri-chairs-staff"
        assert [(r.id, r.role) for r in first.related][:1] == [("roundtable.cycle.9", "cycle")]

    @pytest.mark.usefixtures("planned")
    def test_a_clean_check_is_told_apart_from_one_that_found_something(self) -> None:
        """The runs list shows the state's name: Overdue when anything is late, Completed
        when nothing is (both Completed-typed, for automations)."""
        clean = run(check_overdue, cycle=9, as_of=dt.date(2025, 9, 2))
        late = run(check_overdue, cycle=9, as_of=AS_OF)
        assert (clean.state.name, clean.state.type.value) == ("Completed", "COMPLETED")
        assert (late.state.name, late.state.type.value) == ("Overdue", "COMPLETED")
        assert clean.state.message is not None
        assert clean.state.message.startswith("cycle 9: 0 deliverables overdue on 2025-09-02")

    @pytest.mark.usefixtures("planned")
    def test_a_second_run_announces_nothing_again(self, api: Api) -> None:
        """Each notice is given once per deliverable and level: a second run on the same
        day reports the same table, emits no deliverable event and changes nothing."""
        first = run(check_overdue, as_of=AS_OF)
        before = changes()
        second = run(check_overdue, as_of=AS_OF)
        assert len(notices(api, first)) == 193
        assert notices(api, second) == []
        assert table(api, second, "cycle-9-overdue") == table(api, first, "cycle-9-overdue")
        assert changes() == before

    @pytest.mark.usefixtures("planned")
    def test_a_week_later_only_new_levels_and_reminders_are_announced(self, api: Api) -> None:
        """From 25 November to 2 December: three items reach the tri-chairs' staff, one
        the body's chairs, and three minutes come due soon; nothing else is said again."""
        run(check_overdue, as_of=AS_OF)
        later = run(check_overdue, as_of=dt.date(2026, 12, 2))
        said = notices(api, later)
        assert Counter((kind, level) for kind, _, level in said) == {
            ("escalated", "tri-chairs-staff"): 3,
            ("escalated", "body-chairs"): 1,
            ("due-soon", None): 3,
        }
        assert [key for kind, key, _ in said if kind == "due-soon"] == [
            "c9/deliverable/sst-air/minutes-3",
            "c9/deliverable/wg-education-training/minutes-4",
            "c9/deliverable/wg-logistics/minutes-4",
        ]

    @pytest.mark.usefixtures("planned")
    def test_notices_left_unannounced_by_a_crash_go_out_on_the_next_run(self, api: Api) -> None:
        """A run that recorded its notices but died before emitting them: the next run
        emits exactly those, once."""
        context = flows.common.context()
        check = check_deadlines(context, number=9, as_of=AS_OF)
        recorded = record_notices(context, check=check, now=NOW, actor="crashed-run")
        assert len(recorded) == 193
        done = run(check_overdue, as_of=AS_OF)
        assert len(notices(api, done)) == 193
        assert notices(api, run(check_overdue, as_of=AS_OF)) == []

    @pytest.mark.usefixtures("planned")
    def test_nothing_overdue(self, api: Api) -> None:
        """Before the first due date the table says so and no event is emitted."""
        done = run(check_overdue, as_of=dt.date(2025, 9, 2))
        assert_ended(
            api, done, "Completed", "cycle 9: 0 deliverables overdue on 2025-09-02; 0 due soon; 0 new notices"
        )
        assert table(api, done, "cycle-9-overdue") == [
            {"level": "", "owner": "", "key": "nothing overdue", "due": "", "late": 0}
        ]
        assert api.events(done) == []

    @pytest.mark.usefixtures("planned")
    def test_a_gate_request_whose_time_ran_out_times_out(self, api: Api) -> None:
        """A request past its expiry is marked timed-out (event and change row); it takes no
        decision, and the phase's next run asks again."""
        submit(*EXECUTIVE_INPUTS)
        run(executive_session, as_of=AS_OF, gate_timeout_days=0.000_001)
        time.sleep(0.2)
        done = run(check_overdue, as_of=AS_OF)
        apa = gate_view(APA)
        assert apa.state is GateState.timed_out
        assert apa.expires_at is not None
        [timed_out] = [e for e in api.events(done) if e.event == "roundtable.gate.timed-out"]
        assert timed_out.payload == {
            "cycle": 9,
            "phase": "executive-session",
            "gate": APA,
            "expired_at": apa.expires_at.isoformat(),
        }
        assert [a for a, k, _ in changes() if k == APA] == ["planned", "gate-requested", "gate-timed-out"]
        refused = (
            r"^c9/gate/-/apa-validation: the request timed out\b.*; run its phase flow again to ask again$"
        )
        with pytest.raises(InputError, match=refused):
            decide_gate(APA, approved=True, activities=ACTIVITIES)
        again = run(executive_session, as_of=AS_OF)
        assert_ended(api, again, "AwaitingDecision", AWAITING_APA)
        assert gate_view(APA).state is GateState.pending


# --- publish-calendars -------------------------------------------------------------------


class TestPublishCalendars:
    def test_writes_the_feeds_once(self, api: Api, planned: Path) -> None:
        """The first run writes every feed under ROUNDTABLE_HOME/feeds; the second finds
        them unchanged and writes none."""
        feeds = planned / "feeds"
        assert not feeds.exists()
        first = run(publish_calendars, as_of=AS_OF)
        assert {k: v for k, v in first.result.items() if k != "phase_starts"} == {
            "out": str(feeds),
            "written": 43,
            "unchanged": 0,
        }
        assert_labelled(api, first, "publish-calendars-2026-11-25", [])
        files = {p: p.stat().st_mtime_ns for p in feeds.rglob("*") if p.is_file()}
        assert len(files) == 43
        assert {p.relative_to(feeds).parts[0] for p in files} == {"en", "es", "index.html"}
        second = run(publish_calendars, as_of=AS_OF)
        assert {k: v for k, v in second.result.items() if k != "phase_starts"} == {
            "out": str(feeds),
            "written": 0,
            "unchanged": 43,
        }
        assert {p: p.stat().st_mtime_ns for p in feeds.rglob("*") if p.is_file()} == files


# --- the gates' forms --------------------------------------------------------------------


class TestGateForms:
    def test_the_apa_form_offers_the_tri_chairs(self, program: Program) -> None:
        """The APA validation form: whether approved and who decided always asked for (by
        institution), activities and notes optional."""
        schema = gate_form(program, Phase.executive_session, ()).model().model_json_schema()
        assert schema["required"] == ["approved", "tri_chairs"]
        assert schema["properties"]["tri_chairs"]["items"] == {
            "enum": ["USNORTHCOM", "SEDENA", "SEMAR"],
            "type": "string",
        }
        assert schema["properties"]["tri_chairs"]["minItems"] == 1
        assert schema["properties"]["approved"]["default"] is False
        assert schema["properties"]["validated_activities"]["items"] == {
            "maxLength": 200,
            "minLength": 1,
            "type": "string",
        }
        assert schema["properties"]["notes"]["maxLength"] == 2000

    def test_the_apa_form_offers_the_draft_by_title_dates_and_host(self, program: Program) -> None:
        """With proposals in, each choice reads as the activity's title, dates and host and
        stands for its key; the field says that an approval needs at least one."""
        form = gate_form(program, Phase.executive_session, SAMPLE)
        field = form.model().model_json_schema()["properties"]["validated_activities"]
        assert field["items"] == {"enum": list(form.activities), "type": "string"}
        assert list(form.activities.values()) == [a.key.to_string() for a in SAMPLE]
        for label, activity in zip(form.activities, SAMPLE, strict=True):
            assert label.startswith(activity.title.en + " · ")
            assert label.endswith(f" · {program.institution(activity.host).short}")
            assert f"{activity.first_day:%d %b %Y} to {activity.last_day:%d %b %Y}" in label
            assert activity.key.to_string() not in label
        assert field["description"] == "An approval needs at least one. / Una aprobación requiere una o más."
        key = SAMPLE[0].key.to_string()
        with pytest.raises(ValidationError):
            form.model()(approved=True, tri_chairs=["SEDENA"], validated_activities=[key])

    def test_the_same_label_twice_stays_two_choices(self, program: Program) -> None:
        """Two activities that read the same are told apart by their keys."""
        twin = dataclasses.replace(SAMPLE[0], key=dataclasses.replace(SAMPLE[0].key, name="twin"))
        form = gate_form(program, Phase.executive_session, (SAMPLE[0], twin))
        assert list(form.activities.values()) == [SAMPLE[0].key.to_string(), twin.key.to_string()]
        assert all(label.endswith(f"({key})") for label, key in form.activities.items())

    @pytest.mark.parametrize(
        ("answer", "problem"),
        [
            ({"approved": True, "tri_chairs": []}, "tri_chairs"),
            ({"approved": True, "tri_chairs": ["SEDENA", "navy"]}, "tri_chairs"),
            ({"approved": True, "tri_chairs": ["sedena"]}, "tri_chairs"),
            (
                {"approved": True, "tri_chairs": ["SEDENA"], "validated_activities": [" "]},
                "validated_activities",
            ),
            ({"approved": True, "tri_chairs": ["SEDENA"], "extra": 1}, "extra"),
        ],
        ids=["no-tri-chair", "not-a-tri-chair", "a-slug-not-a-choice", "blank-activity", "unknown-field"],
    )
    def test_the_apa_form_refuses_bad_answers(
        self, program: Program, answer: dict[str, Any], problem: str
    ) -> None:
        """The form itself refuses what the UI must not send."""
        with pytest.raises(ValidationError) as caught:
            gate_form(program, Phase.executive_session, ()).model()(**answer)
        assert [e["loc"][0] for e in caught.value.errors()] == [problem]

    @pytest.mark.parametrize(
        ("phase", "decision"),
        [
            (
                Phase.executive_session,
                GateDecision(approved=True, tri_chairs=CHAIRS, notes="Validated", activities=ACTIVITIES),
            ),
            (
                Phase.executive_session,
                GateDecision(approved=False, tri_chairs=("sedena",), notes="Add a maritime exercise"),
            ),
            (
                Phase.observation_visit,
                GateDecision(approved=True, tri_chairs=("usnorthcom", "semar"), activities=(SELECTED,)),
            ),
            (
                Phase.observation_visit,
                GateDecision(approved=False, tri_chairs=("semar",), notes="None fits the window"),
            ),
        ],
        ids=["apa-approved", "apa-rejected", "exercise-selected", "exercise-rejected"],
    )
    def test_a_decision_survives_the_form(
        self, program: Program, phase: Phase, decision: GateDecision
    ) -> None:
        """`answer` fills the phase's form with its choices, and `decision` reads the same
        decision back from it."""
        activities = SAMPLE if phase is Phase.executive_session else (FUERZAS_AMIGAS, AZTEC_ALLIGATOR)
        form = gate_form(program, phase, activities)
        answer = form.answer(decision)
        assert form.decision(form.model()(**answer).model_dump()) == decision
        assert form.decision(answer) == decision

    def test_the_answer_has_the_form_fields(self, program: Program) -> None:
        """The run input names each form's fields: activities at the APA, one exercise or
        none at the selection, each by its choice."""
        first = SAMPLE[0].key.to_string()
        approved = GateDecision(approved=True, tri_chairs=("sedena",), activities=(first,))
        assert gate_form(program, Phase.executive_session, SAMPLE).answer(approved) == {
            "approved": True,
            "tri_chairs": ["SEDENA"],
            "notes": "",
            "validated_activities": [activity_label(program, SAMPLE[0])],
        }
        rejected = GateDecision(approved=False, tri_chairs=("semar",), notes="No")
        assert gate_form(program, Phase.observation_visit, ()).answer(rejected) == {
            "approved": False,
            "tri_chairs": ["SEMAR"],
            "notes": "No",
            "exercise": NO_EXERCISE,
        }
