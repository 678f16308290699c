"""How a cycle moves through its phases, on a real store (SQLite and PostgreSQL): each
step does its work once, announces each change once, and announces nothing when run again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import pytest
from sqlmodel import Session

from cycle.context import Context
from cycle.deliverable import Action
from cycle.errors import InputError, NotFoundError, StoreError
from cycle.gates import GateDecision, GateState
from cycle.operations import plan
from cycle.phases import PhaseState
from cycle.program import Phase
from cycle.progression import (
    Announcement,
    ask,
    assess,
    begin_phase,
    close_cycle,
    cycle_board,
    decide,
    expire,
    finish_phase,
    gate_for,
    group_meetings,
    offered_activities,
    open_cycle,
)
from cycle.store.progress import phase_progress
from cycle.store.repository import record_deliverable_action, store_generation
from tests.apa import ACTIVITIES, SELECTED, STAFF_EXCHANGE, propose_sample
from tests.cycle.test_phases import EXECUTIVE_SESSION_NEEDS

ACTOR = "test"
OPENED = dt.datetime(2025, 9, 1, 13, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2026, 8, 4, 15, 0, tzinfo=dt.UTC)
EXPIRES = LATER + dt.timedelta(days=1)

APA = "c9/gate/-/apa-validation"
EXERCISE = "c9/gate/-/exercise-selection"
APPROVED_APA = GateDecision(approved=True, tri_chairs=("sedena", "usnorthcom"), activities=ACTIVITIES)
STAFF_EXCHANGE_KEY = STAFF_EXCHANGE.key.to_string()
REJECTED = GateDecision(approved=False, tri_chairs=("semar",), notes="Add the naval exercises first.")

SENT = {"read_ahead": "sent"}
LAST_DAY = dt.date(2027, 8, 31)
AFTER_THE_END = dt.date(2027, 9, 1)


@pytest.fixture
def planned(ctx: Context) -> Context:
    """Cycle 9 planned into the store, the sample APA proposed; no phase recorded yet."""
    plan(ctx, number=9, now=OPENED, actor=ACTOR)
    propose_sample(ctx)
    return ctx


@pytest.fixture
def opened(ctx: Context) -> Context:
    """Cycle 9 planned and opened, as the plan-cycle flow leaves it; the sample APA proposed."""
    open_cycle(ctx, number=9, now=OPENED, actor=ACTOR)
    propose_sample(ctx)
    return ctx


def states(ctx: Context) -> dict[Phase, PhaseState]:
    with ctx.store.session() as session:
        return {phase: p.state for phase, p in phase_progress(session, cycle=9).items()}


def outcome_of(ctx: Context, phase: Phase) -> dict[str, object]:
    with ctx.store.session() as session:
        return dict(phase_progress(session, cycle=9)[phase].outcome)


def generation(ctx: Context) -> int:
    """The change log's newest id: unchanged means nothing was written."""
    with ctx.store.session() as session:
        return store_generation(session)


def hand_in(ctx: Context, keys: Sequence[str], action: Action = Action.submit) -> None:
    """Record `action` on each deliverable, in one transaction."""

    def work(session: Session) -> None:
        for key in keys:
            record_deliverable_action(
                session,
                key=key,
                action=action,
                actor="lt. smith",
                now=LATER,
                note="merged into the APA book" if action is Action.waive else None,
            )

    ctx.store.transaction(work)


def ask_apa(ctx: Context) -> list[Announcement]:
    """Ask for the APA validation as run `run-1`, expiring a day later."""
    _, said = ask(
        ctx, number=9, phase=Phase.executive_session, run="run-1", expires_at=EXPIRES, now=LATER, actor=ACTOR
    )
    return said


def steps(announcements: Sequence[Announcement]) -> list[tuple[str, Phase]]:
    return [(a.name, a.phase) for a in announcements]


class TestOpenCycle:
    def test_opening_completes_the_opening_and_starts_group_meetings_only(self, ctx: Context) -> None:
        """The first run plans 217 items, starts group meetings and completes the opening; the
        executive preparation waits for its window."""
        report, step = open_cycle(ctx, number=9, now=OPENED, actor=ACTOR)
        assert len(report.created) == 217
        assert (step.ready, step.completed, step.outcome) == (True, True, {"items": 217})
        assert step.announcements == (
            Announcement("phase.started", 9, Phase.group_meetings),
            Announcement("phase.started", 9, Phase.opening),
            Announcement("phase.completed", 9, Phase.opening, {"outcome": {"items": 217}}),
        )
        assert states(ctx) == {Phase.opening: PhaseState.completed, Phase.group_meetings: PhaseState.open}

    def test_opening_again_changes_nothing(self, opened: Context) -> None:
        """A second run finds every item planned and the opening completed."""
        before = generation(opened)
        report, step = open_cycle(opened, number=9, now=LATER, actor=ACTOR)
        assert (report.changed, report.unchanged) == (False, 217)
        assert (step.outcome, step.announcements) == ({"items": 217}, ())
        assert generation(opened) == before


class TestGroupMeetings:
    def test_meetings_held_and_papers_missing_are_counted(self, planned: Context) -> None:
        """On 2026-06-05, 20 of 58 meetings are past and 41 of their agendas and minutes are late."""
        step = group_meetings(planned, number=9, as_of=dt.date(2026, 6, 5), now=LATER, actor=ACTOR)
        missing = step.outcome["papers_missing"]
        assert (step.outcome["as_of"], step.outcome["meetings_held"], step.outcome["meetings_total"]) == (
            "2026-06-05",
            20,
            58,
        )
        assert (len(missing), missing[0], missing[-1]) == (
            41,
            "c9/deliverable/ib-domain-awareness/agenda-1",
            "c9/deliverable/wg-strategic-communications/minutes-2",
        )
        assert (step.ready, step.completed) == (True, False)

    @pytest.mark.parametrize("action", [Action.submit, Action.waive])
    def test_a_paper_handed_in_is_not_missing(self, planned: Context, action: Action) -> None:
        """Submitted or waived agendas and minutes leave the list of late papers."""
        handed = ["c9/deliverable/sst-army/agenda-1", "c9/deliverable/sst-army/minutes-1"]
        hand_in(planned, handed, action)
        step = group_meetings(planned, number=9, as_of=dt.date(2026, 6, 5), now=LATER, actor=ACTOR)
        assert len(step.outcome["papers_missing"]) == 39
        assert not set(handed) & set(step.outcome["papers_missing"])

    def test_the_executive_preparation_opens_on_its_first_day(self, planned: Context) -> None:
        """In a cycle planned but not opened, the preparation starts on 2026-06-05, not the day before."""
        day_before = group_meetings(planned, number=9, as_of=dt.date(2026, 6, 4), now=LATER, actor=ACTOR)
        assert steps(day_before.announcements) == [("phase.started", Phase.group_meetings)]
        assert Phase.executive_prep not in states(planned)
        first_day = group_meetings(planned, number=9, as_of=dt.date(2026, 6, 5), now=LATER, actor=ACTOR)
        assert steps(first_day.announcements) == [("phase.started", Phase.executive_prep)]
        assert states(planned)[Phase.executive_prep] is PhaseState.open

    def test_the_phase_completes_after_its_last_day(self, opened: Context) -> None:
        """Group meetings run through 2027-08-31 and are completed from the next day."""
        last_day = group_meetings(opened, number=9, as_of=LAST_DAY, now=LATER, actor=ACTOR)
        assert (last_day.completed, last_day.announcements) == (
            False,
            (Announcement("phase.started", 9, Phase.executive_prep),),  # its window opened long ago
        )
        after = group_meetings(opened, number=9, as_of=AFTER_THE_END, now=LATER, actor=ACTOR)
        assert after.completed is True
        assert after.announcements == (
            Announcement("phase.completed", 9, Phase.group_meetings, {"outcome": after.outcome}),
        )
        assert (after.outcome["meetings_held"], len(after.outcome["papers_missing"])) == (58, 116)
        assert states(opened)[Phase.group_meetings] is PhaseState.completed


class TestBeginPhase:
    def test_a_phase_whose_papers_are_missing_is_not_ready(self, opened: Context) -> None:
        """Without its 26 papers the executive session does not start, and nothing is written."""
        before = (states(opened), generation(opened))
        step = begin_phase(
            opened, number=9, phase=Phase.executive_session, allow_missing=False, now=LATER, actor=ACTOR
        )
        assert (step.ready, step.completed, step.announcements) == (False, False, ())
        assert [m.item.key.to_string() for m in step.missing] == EXECUTIVE_SESSION_NEEDS
        assert (states(opened), generation(opened)) == before

    def test_allow_missing_goes_on_and_records_what_was_missing(self, opened: Context) -> None:
        """The operator may start without papers: the preparation completes and the session opens."""
        step = begin_phase(
            opened, number=9, phase=Phase.executive_session, allow_missing=True, now=LATER, actor=ACTOR
        )
        assert (step.ready, step.completed, len(step.missing)) == (True, False, 26)
        assert step.outcome == {"went_on_without": EXECUTIVE_SESSION_NEEDS}
        assert step.announcements[-2:] == (
            Announcement(
                "phase.completed",
                9,
                Phase.executive_prep,
                {"outcome": {"completed_when": "executive-session began"}},
            ),
            Announcement("phase.started", 9, Phase.executive_session),
        )
        assert states(opened)[Phase.executive_prep] is PhaseState.completed
        assert states(opened)[Phase.executive_session] is PhaseState.open
        assert outcome_of(opened, Phase.executive_session) == {"went_on_without": EXECUTIVE_SESSION_NEEDS}

    def test_the_earlier_steps_and_group_meetings_are_recorded_on_the_way(self, planned: Context) -> None:
        """In a cycle planned but never opened, beginning the session runs every step before it."""
        step = begin_phase(
            planned, number=9, phase=Phase.executive_session, allow_missing=True, now=LATER, actor=ACTOR
        )
        assert steps(step.announcements) == [
            ("phase.started", Phase.opening),
            ("phase.completed", Phase.opening),
            ("phase.started", Phase.executive_prep),
            ("phase.completed", Phase.executive_prep),
            ("phase.started", Phase.executive_session),
            ("phase.started", Phase.group_meetings),
        ]
        assert states(planned) == {
            Phase.opening: PhaseState.completed,
            Phase.group_meetings: PhaseState.open,
            Phase.executive_prep: PhaseState.completed,
            Phase.executive_session: PhaseState.open,
        }

    @pytest.mark.parametrize("action", [Action.submit, Action.waive])
    def test_with_every_paper_in_the_phase_starts(self, opened: Context, action: Action) -> None:
        """Submitted or waived papers are in: the session starts with nothing missing."""
        hand_in(opened, EXECUTIVE_SESSION_NEEDS, action)
        step = begin_phase(
            opened, number=9, phase=Phase.executive_session, allow_missing=False, now=LATER, actor=ACTOR
        )
        assert (step.ready, step.missing, step.outcome) == (True, (), {})
        assert states(opened)[Phase.executive_session] is PhaseState.open

    def test_going_on_without_papers_stays_on_record_after_they_arrive(self, opened: Context) -> None:
        """A rerun after the missing papers came in keeps the record that the phase began without them."""
        begin_phase(
            opened, number=9, phase=Phase.executive_session, allow_missing=True, now=LATER, actor=ACTOR
        )
        hand_in(opened, EXECUTIVE_SESSION_NEEDS)
        begin_phase(
            opened, number=9, phase=Phase.executive_session, allow_missing=False, now=LATER, actor=ACTOR
        )
        assert outcome_of(opened, Phase.executive_session) == {"went_on_without": EXECUTIVE_SESSION_NEEDS}

    def test_a_gate_is_never_skipped(self, opened: Context) -> None:
        """The visit does not start while the APA is pending, even with `allow_missing`."""
        step = begin_phase(
            opened, number=9, phase=Phase.observation_visit, allow_missing=True, now=LATER, actor=ACTOR
        )
        assert step.ready is False
        assert [(m.item.key.to_string(), m.status) for m in step.missing] == [(APA, "pending")]
        assert Phase.observation_visit not in states(opened)

    def test_an_approved_apa_completes_the_session_and_opens_the_visit(self, opened: Context) -> None:
        """Beginning the visit completes the open session step on the way."""
        begin_phase(
            opened, number=9, phase=Phase.executive_session, allow_missing=True, now=LATER, actor=ACTOR
        )
        decide(opened, key=APA, decision=APPROVED_APA, now=LATER, actor=ACTOR)
        step = begin_phase(
            opened, number=9, phase=Phase.observation_visit, allow_missing=False, now=LATER, actor=ACTOR
        )
        assert (step.ready, step.missing) == (True, ())
        assert steps(step.announcements) == [
            ("phase.completed", Phase.executive_session),
            ("phase.started", Phase.observation_visit),
        ]

    def test_an_earlier_step_whose_gate_is_not_approved_stops_the_phase(self, opened: Context) -> None:
        """The assessment cannot skip an executive session whose APA is pending; nothing is written."""
        before = (states(opened), generation(opened))
        with pytest.raises(InputError) as caught:
            begin_phase(opened, number=9, phase=Phase.assessment, allow_missing=True, now=LATER, actor=ACTOR)
        assert str(caught.value) == f"cycle 9: executive-session is not done, its gate {APA} is pending"
        assert (states(opened), generation(opened)) == before

    def test_a_completed_phase_is_reported_as_it_was(self, opened: Context) -> None:
        """Beginning a completed phase returns its recorded outcome and announces nothing."""
        finish_phase(opened, number=9, phase=Phase.executive_prep, outcome=SENT, now=LATER, actor=ACTOR)
        step = begin_phase(
            opened, number=9, phase=Phase.executive_prep, allow_missing=False, now=LATER, actor=ACTOR
        )
        assert (step.ready, step.completed, step.outcome, step.announcements) == (
            True,
            True,
            SENT,
            (),
        )

    def test_a_12_month_cycle_has_no_visit_to_begin(self, ctx: Context) -> None:
        """Cycle 7 refuses the observation visit by name."""
        plan(ctx, number=7, now=OPENED, actor=ACTOR)
        with pytest.raises(InputError) as caught:
            begin_phase(
                ctx, number=7, phase=Phase.observation_visit, allow_missing=True, now=LATER, actor=ACTOR
            )
        assert str(caught.value) == "cycle 7 (12 months) has no observation-visit phase"

    def test_an_unplanned_cycle_is_refused_with_what_is_planned(self, opened: Context) -> None:
        """A cycle not in the store says how to plan it and lists the planned cycles."""
        with pytest.raises(StoreError) as caught:
            begin_phase(opened, number=10, phase=Phase.opening, allow_missing=False, now=LATER, actor=ACTOR)
        assert str(caught.value) == (
            "cycle 10 is not planned yet: run `roundtable plan --cycle 10`"
            " or the plan-cycle flow (planned: 9)"
        )

    def test_group_meetings_are_not_begun_like_a_step(self, opened: Context) -> None:
        """Group meetings run beside the steps; beginning them is a clear error, not a traceback."""
        with pytest.raises(InputError):
            begin_phase(
                opened, number=9, phase=Phase.group_meetings, allow_missing=False, now=LATER, actor=ACTOR
            )


class TestGates:
    def test_asking_announces_the_request_with_its_run_and_expiry(self, planned: Context) -> None:
        """A request for the APA is announced with the gate, the run and when it expires."""
        said = ask_apa(planned)
        assert gate_for(planned, number=9, phase=Phase.executive_session).state is GateState.pending
        assert said == [
            Announcement(
                "gate.requested",
                9,
                Phase.executive_session,
                {"gate": APA, "run": "run-1", "expires_at": "2026-08-05T15:00:00+00:00"},
            )
        ]

    @pytest.mark.parametrize("phase", [Phase.opening, Phase.executive_prep, Phase.assessment], ids=str)
    def test_a_phase_without_a_gate_cannot_be_asked(self, planned: Context, phase: Phase) -> None:
        """Only the session and the visit have a gate to ask."""
        with pytest.raises(NotFoundError) as caught:
            gate_for(planned, number=9, phase=phase)
        assert str(caught.value) == f"cycle 9 has no gate in its {phase.value} phase"

    def test_a_decision_is_tidied_recorded_and_announced(self, planned: Context) -> None:
        """The stored decision is the checked one; the announcement says who decided and why."""
        untidy = GateDecision(
            approved=True,
            tri_chairs=("sedena", "usnorthcom"),
            notes="  Approved.\r\n",
            activities=(f" {ACTIVITIES[0]}", f"{ACTIVITIES[1]} "),
        )
        view, said = decide(planned, key=APA, decision=untidy, now=LATER, actor=ACTOR)
        assert view.decision == GateDecision(
            approved=True, tri_chairs=("sedena", "usnorthcom"), notes="Approved.", activities=ACTIVITIES
        )
        assert said == [
            Announcement(
                "gate.decided",
                9,
                Phase.executive_session,
                {"gate": APA, "state": "approved", "decided_by": "sedena, usnorthcom", "notes": "Approved."},
            )
        ]

    def test_an_invalid_decision_is_refused_before_anything_is_written(self, planned: Context) -> None:
        """A rejection without a reason leaves the gate pending and the log as it was."""
        no_reason = GateDecision(approved=False, tri_chairs=("semar",))
        before = generation(planned)
        with pytest.raises(InputError) as caught:
            decide(planned, key=APA, decision=no_reason, now=LATER, actor=ACTOR)
        assert str(caught.value) == "notes: a rejection needs a reason in the notes"
        assert gate_for(planned, number=9, phase=Phase.executive_session).state is GateState.pending
        assert generation(planned) == before

    def test_the_exercise_is_chosen_from_the_validated_activities(self, planned: Context) -> None:
        """Once the APA is approved its activities are offered, and only they can be selected."""
        decide(planned, key=APA, decision=APPROVED_APA, now=LATER, actor=ACTOR)
        assert offered_activities(planned, number=9) == ACTIVITIES
        outside = GateDecision(approved=True, tri_chairs=("semar",), activities=(STAFF_EXCHANGE_KEY,))
        with pytest.raises(InputError) as caught:
            decide(planned, key=EXERCISE, decision=outside, now=LATER, actor=ACTOR)
        assert str(caught.value) == (
            f"exercise: '{STAFF_EXCHANGE_KEY}' is not one the visit can observe: "
            "a combined exercise or training of the validated APA, in the second year, not begun yet "
            "(c9/activity/sst-army/fuerzas-amigas-2027; c9/activity/sst-navy/aztec-alligator-2027)"
        )
        chosen = GateDecision(approved=True, tri_chairs=("semar",), activities=(SELECTED,))
        view, _ = decide(planned, key=EXERCISE, decision=chosen, now=LATER, actor=ACTOR)
        assert (view.state, view.decision) == (GateState.approved, chosen)

    @pytest.mark.parametrize("apa", [None, REJECTED], ids=["apa-pending", "apa-rejected"])
    def test_nothing_is_offered_before_the_apa_is_approved(
        self, planned: Context, apa: GateDecision | None
    ) -> None:
        """A pending or rejected APA offers no activity, so no exercise can be selected."""
        if apa is not None:
            decide(planned, key=APA, decision=apa, now=LATER, actor=ACTOR)
        assert offered_activities(planned, number=9) == ()
        chosen = GateDecision(approved=True, tri_chairs=("semar",), activities=(SELECTED,))
        with pytest.raises(InputError) as caught:
            decide(planned, key=EXERCISE, decision=chosen, now=LATER, actor=ACTOR)
        assert str(caught.value) == (
            f"exercise: '{SELECTED}' is not one the visit can observe: "
            "a combined exercise or training of the validated APA, in the second year, not begun yet"
        )

    def test_an_expired_request_is_announced_at_its_expiry(self, planned: Context) -> None:
        """Nothing times out before `expires_at`; at it the request is announced as timed out."""
        ask_apa(planned)
        assert expire(planned, now=EXPIRES - dt.timedelta(seconds=1), actor=ACTOR) == []
        assert expire(planned, now=EXPIRES, actor=ACTOR) == [
            Announcement(
                "gate.timed-out",
                9,
                Phase.executive_session,
                {"gate": APA, "expired_at": "2026-08-05T15:00:00+00:00"},
            )
        ]


class TestAssess:
    def test_the_assessment_waits_for_the_ame_report(self, opened: Context) -> None:
        """Without the AM&E report the assessment stays incomplete and says what it waits for."""
        step = assess(opened, number=9, as_of=dt.date(2027, 7, 2), now=LATER, actor=ACTOR)
        assert (step.completed, step.outcome, step.announcements) == (
            False,
            {"waiting_for": ["c9/deliverable/-/ame-report"]},
            (),
        )

    def test_the_assessment_completes_once_the_report_is_in(self, opened: Context) -> None:
        """With the report submitted the assessment completes and the close-out opens."""
        hand_in(opened, ["c9/deliverable/-/ame-report"])
        step = assess(opened, number=9, as_of=dt.date(2027, 7, 2), now=LATER, actor=ACTOR)
        assert step.completed is True
        assert steps(step.announcements) == [
            ("phase.started", Phase.assessment),
            ("phase.completed", Phase.assessment),
            ("phase.started", Phase.close_out),
        ]


class TestCloseCycle:
    def test_a_cycle_closes_on_its_last_day_not_before(self, opened: Context) -> None:
        """Closing cycle 9 on 2027-08-30 is refused and writes nothing."""
        before = generation(opened)
        with pytest.raises(InputError) as caught:
            close_cycle(opened, number=9, as_of=dt.date(2027, 8, 30), now=LATER, actor=ACTOR)
        assert str(caught.value) == "cycle 9 closes on 2027-08-31, not before (as of 2027-08-30)"
        assert generation(opened) == before

    def test_closing_completes_every_phase_and_records_what_is_left_open(self, opened: Context) -> None:
        """On its last day every phase is completed; the close-out lists the papers never handed in."""
        group_meetings(opened, number=9, as_of=dt.date(2026, 6, 5), now=LATER, actor=ACTOR)
        hand_in(opened, ["c9/deliverable/-/read-ahead"])
        step = close_cycle(opened, number=9, as_of=LAST_DAY, now=LATER, actor=ACTOR)
        completed = [a.phase for a in step.announcements if a.name == "phase.completed"]
        assert completed == list(Phase)[1:]  # the opening was completed when the cycle opened
        assert states(opened) == dict.fromkeys(Phase, PhaseState.completed)
        left = step.outcome["left_open"]
        assert (len(left), left[0], "c9/deliverable/-/read-ahead" in left) == (
            145,
            "c9/deliverable/-/ame-report",
            False,
        )
        assert outcome_of(opened, Phase.close_out) == {"left_open": left}
        group = outcome_of(opened, Phase.group_meetings)
        assert (group["as_of"], group["closed_with_cycle"]) == ("2026-06-05", True)

    def test_the_board_of_a_closed_cycle_stands_at_its_close_out(self, opened: Context) -> None:
        """After closing, all seven phases are completed and the recorded phase is the close-out."""
        close_cycle(opened, number=9, as_of=LAST_DAY, now=LATER, actor=ACTOR)
        board = cycle_board(opened, number=9, as_of=LAST_DAY)
        assert (board.phases_completed, board.recorded_phase) == (7, Phase.close_out)


Step = Callable[[Context], Sequence[Announcement]]


def _nothing(ctx: Context) -> None:
    del ctx


def _open(ctx: Context) -> None:
    open_cycle(ctx, number=9, now=OPENED, actor=ACTOR)


def _open_with_report(ctx: Context) -> None:
    _open(ctx)
    hand_in(ctx, ["c9/deliverable/-/ame-report"])


def _open_and_ask(ctx: Context) -> None:
    _open(ctx)
    ask_apa(ctx)


def _open_cycle(ctx: Context) -> Sequence[Announcement]:
    return open_cycle(ctx, number=9, now=LATER, actor=ACTOR)[1].announcements


def _group_meetings(ctx: Context) -> Sequence[Announcement]:
    return group_meetings(ctx, number=9, as_of=AFTER_THE_END, now=LATER, actor=ACTOR).announcements


def _begin_session(ctx: Context) -> Sequence[Announcement]:
    return begin_phase(
        ctx, number=9, phase=Phase.executive_session, allow_missing=True, now=LATER, actor=ACTOR
    ).announcements


def _finish_prep(ctx: Context) -> Sequence[Announcement]:
    return finish_phase(
        ctx, number=9, phase=Phase.executive_prep, outcome=SENT, now=LATER, actor=ACTOR
    ).announcements


def _assess(ctx: Context) -> Sequence[Announcement]:
    return assess(ctx, number=9, as_of=dt.date(2027, 7, 2), now=LATER, actor=ACTOR).announcements


def _close(ctx: Context) -> Sequence[Announcement]:
    return close_cycle(ctx, number=9, as_of=LAST_DAY, now=LATER, actor=ACTOR).announcements


def _open_and_propose(ctx: Context) -> None:
    _open(ctx)
    propose_sample(ctx)


def _decide_apa(ctx: Context) -> Sequence[Announcement]:
    return decide(ctx, key=APA, decision=APPROVED_APA, now=LATER, actor=ACTOR)[1]


def _expire(ctx: Context) -> Sequence[Announcement]:
    return expire(ctx, now=EXPIRES, actor=ACTOR)


RERUNS = [
    pytest.param(_nothing, _open_cycle, id="open-cycle"),
    pytest.param(_open, _group_meetings, id="group-meetings"),
    pytest.param(_open, _begin_session, id="begin-phase"),
    pytest.param(_open, _finish_prep, id="finish-phase"),
    pytest.param(_open_with_report, _assess, id="assess"),
    pytest.param(_open, _close, id="close-cycle"),
    pytest.param(_open, ask_apa, id="ask"),
    pytest.param(_open_and_propose, _decide_apa, id="decide"),
    pytest.param(_open_and_ask, _expire, id="expire"),
]


class TestReruns:
    @pytest.mark.parametrize(("setup", "step"), RERUNS)
    def test_a_step_run_again_announces_and_writes_nothing(
        self, ctx: Context, setup: Callable[[Context], None], step: Step
    ) -> None:
        """The first run announces its changes; the same run again announces nothing and logs nothing."""
        setup(ctx)
        assert list(step(ctx)) != []
        before = generation(ctx)
        assert list(step(ctx)) == []
        assert generation(ctx) == before
