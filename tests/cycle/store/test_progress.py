"""Phase progress and gate decisions in the store, on real SQLite and PostgreSQL: every
write says whether it changed anything, logs each change once and nothing for a repeat."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from sqlmodel import Session

from cycle.errors import InputError, NotFoundError
from cycle.gates import GateDecision, GateState
from cycle.phases import PhaseProgress, PhaseState
from cycle.program import Phase, Program
from cycle.schedule import plan_cycle
from cycle.store.database import Store
from cycle.store.progress import (
    GateView,
    decide_gate,
    expire_gates,
    gate,
    list_gates,
    open_phase,
    phase_progress,
    record_outcome,
    request_gate,
)
from cycle.store.repository import apply_plan, change_log, store_generation

T = TypeVar("T")

T0 = dt.datetime(2026, 8, 4, 15, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(hours=1)
T2 = T0 + dt.timedelta(hours=2)
EXPIRES = T0 + dt.timedelta(days=1)

APA = "c9/gate/-/apa-validation"
APPROVED = GateDecision(
    approved=True, tri_chairs=("sedena", "usnorthcom"), activities=("Fuerzas Amigas 2027",)
)
REJECTED = GateDecision(approved=False, tri_chairs=("semar",), notes="Add the naval exercises first.")

TIMED_OUT = f"{APA}: the request timed out on 2026-08-05 15:00 UTC; run its phase flow again to ask again"

Change = tuple[str, str | None, dict[str, Any]]


def _plan(store: Store, program: Program, now: dt.datetime = T0) -> None:
    """Plan (or re-plan) cycle 9 of `program` into the store."""
    with store.session() as session:
        apply_plan(session, plan=plan_cycle(program, 9), now=now, actor="test")
        session.commit()


@pytest.fixture
def planned(store: Store, program: Program) -> Store:
    """A store holding cycle 9 as planned, nothing recorded yet."""
    _plan(store, program)
    return store


def write(store: Store, work: Callable[[Session], T]) -> T:
    """Run one write in its own committed transaction, as a command does."""
    with store.session() as session:
        result = work(session)
        session.commit()
    return result


def mark(store: Store) -> int:
    """The change log's newest id, to read what comes after it."""
    with store.session() as session:
        return store_generation(session)


def changes_since(store: Store, since: int) -> list[Change]:
    """The change-log rows written after `since`: action, item key and detail."""
    with store.session() as session:
        return [
            (c.action, c.item_key, json.loads(c.detail))
            for c in change_log(session)
            if c.id is not None and c.id > since
        ]


def progress_of(store: Store, phase: Phase) -> PhaseProgress | None:
    with store.session() as session:
        return phase_progress(session, cycle=9).get(phase)


def ask(
    store: Store, run: str | None = "run-1", expires_at: dt.datetime | None = EXPIRES, now: dt.datetime = T0
) -> tuple[GateView, bool]:
    return write(
        store, lambda s: request_gate(s, key=APA, run=run, expires_at=expires_at, now=now, actor="flow")
    )


def decide(store: Store, decision: GateDecision, now: dt.datetime = T1) -> tuple[GateView, bool]:
    return write(store, lambda s: decide_gate(s, key=APA, decision=decision, now=now, actor="maj. ruiz"))


def expire(store: Store, now: dt.datetime) -> list[GateView]:
    return write(store, lambda s: expire_gates(s, now=now, actor="checker"))


def state_of(store: Store, key: str = APA) -> GateState:
    with store.session() as session:
        return gate(session, key=key).state


class TestOpenPhase:
    @staticmethod
    def open(store: Store, *, now: dt.datetime) -> bool:
        return write(
            store, lambda s: open_phase(s, cycle=9, phase=Phase.executive_prep, now=now, actor="flow")
        )

    def test_a_phase_opens_once(self, planned: Store) -> None:
        """The first call opens the phase and logs it; the second changes nothing."""
        since = mark(planned)
        assert self.open(planned, now=T0) is True
        assert self.open(planned, now=T1) is False
        assert progress_of(planned, Phase.executive_prep) == PhaseProgress(
            phase=Phase.executive_prep, state=PhaseState.open, opened_at=T0, completed_at=None, outcome={}
        )
        assert changes_since(planned, since) == [("phase-opened", None, {"phase": "executive-prep"})]

    def test_nothing_is_recorded_for_a_phase_nobody_opened(self, planned: Store) -> None:
        """A planned cycle has no progress until a flow records some."""
        with planned.session() as session:
            assert phase_progress(session, cycle=9) == {}


class TestRecordOutcome:
    @staticmethod
    def record(store: Store, outcome: dict[str, Any], *, complete: bool, now: dt.datetime) -> bool:
        return write(
            store,
            lambda s: record_outcome(
                s, cycle=9, phase=Phase.assessment, outcome=outcome, complete=complete, now=now, actor="flow"
            ),
        )

    def test_an_outcome_opens_its_phase_without_completing_it(self, planned: Store) -> None:
        """Recording without `complete` opens the phase, keeps the outcome, and reports no completion."""
        since = mark(planned)
        waiting = {"waiting_for": ["c9/deliverable/-/ame-report"]}
        assert self.record(planned, waiting, complete=False, now=T0) is False
        assert progress_of(planned, Phase.assessment) == PhaseProgress(
            phase=Phase.assessment, state=PhaseState.open, opened_at=T0, outcome=waiting
        )
        assert changes_since(planned, since) == [("phase-opened", None, {"phase": "assessment"})]

    def test_a_phase_completes_once(self, planned: Store) -> None:
        """`complete` is True the first time only; the completion is logged once."""
        since = mark(planned)
        done = [self.record(planned, {"waiting_for": []}, complete=True, now=now) for now in (T0, T1)]
        assert done == [True, False]
        recorded = progress_of(planned, Phase.assessment)
        assert recorded is not None
        assert (recorded.state, recorded.opened_at, recorded.completed_at) == (PhaseState.completed, T0, T0)
        assert changes_since(planned, since) == [
            ("phase-opened", None, {"phase": "assessment"}),
            ("phase-completed", None, {"phase": "assessment"}),
        ]

    def test_the_same_outcome_again_changes_nothing(self, planned: Store) -> None:
        """Repeating an outcome on an open phase writes no log row."""
        self.record(planned, {"meetings_held": 20}, complete=False, now=T0)
        since = mark(planned)
        assert self.record(planned, {"meetings_held": 20}, complete=False, now=T1) is False
        assert changes_since(planned, since) == []

    def test_a_new_outcome_replaces_the_old_one(self, planned: Store) -> None:
        """The latest outcome is kept; dates and non-ASCII text survive the JSON."""
        self.record(planned, {"meetings_held": 20}, complete=False, now=T0)
        self.record(planned, {"as_of": dt.date(2026, 6, 5), "nota": "Sesión"}, complete=False, now=T1)
        recorded = progress_of(planned, Phase.assessment)
        assert recorded is not None
        assert recorded.outcome == {"as_of": "2026-06-05", "nota": "Sesión"}


class TestRequestGate:
    def test_the_first_request_takes_the_run_and_expiry(self, planned: Store) -> None:
        """A never-asked gate becomes asked: pending, with the run, the time and the expiry, logged."""
        since = mark(planned)
        view, new = ask(planned)
        assert new is True
        assert (view.state, view.request_run, view.requested_at, view.expires_at) == (
            GateState.pending,
            "run-1",
            T0,
            EXPIRES,
        )
        assert changes_since(planned, since) == [
            (
                "gate-requested",
                APA,
                {"from": "pending", "run": "run-1", "expires_at": "2026-08-05 15:00:00+00:00"},
            )
        ]

    def test_the_same_run_asking_again_is_not_a_new_request(self, planned: Store) -> None:
        """A resumed run that asks again keeps its request as it was, without a log row."""
        ask(planned)
        since = mark(planned)
        view, new = ask(planned, expires_at=EXPIRES + dt.timedelta(days=1), now=T1)
        assert new is False
        assert (view.requested_at, view.expires_at) == (T0, EXPIRES)
        assert changes_since(planned, since) == []

    def test_another_run_takes_over_a_pending_request(self, planned: Store) -> None:
        """A new run asking a pending gate becomes its requester with its own expiry."""
        ask(planned)
        view, new = ask(planned, run="run-2", expires_at=None, now=T1)
        assert new is True
        assert (view.state, view.request_run, view.requested_at, view.expires_at) == (
            GateState.pending,
            "run-2",
            T1,
            None,
        )

    def test_an_approved_gate_is_final(self, planned: Store) -> None:
        """Asking an approved gate returns it as it is and logs nothing."""
        ask(planned)
        decide(planned, APPROVED)
        since = mark(planned)
        view, new = ask(planned, run="run-2", now=T2)
        assert (view.state, view.decision, new) == (GateState.approved, APPROVED, False)
        assert changes_since(planned, since) == []

    def test_a_new_run_asks_a_rejected_gate_again(self, planned: Store) -> None:
        """After a rejection a new run makes the gate pending again; the rejection stays readable."""
        ask(planned)
        decide(planned, REJECTED)
        since = mark(planned)
        view, new = ask(planned, run="run-2", now=T2)
        assert (view.state, view.request_run, view.decision, new) == (
            GateState.pending,
            "run-2",
            REJECTED,
            True,
        )
        assert changes_since(planned, since) == [
            (
                "gate-requested",
                APA,
                {"from": "rejected", "run": "run-2", "expires_at": "2026-08-05 15:00:00+00:00"},
            )
        ]

    def test_the_run_that_took_the_rejection_does_not_ask_again(self, planned: Store) -> None:
        """The run that asked and was rejected, resumed, finds the rejection: not a new request."""
        ask(planned)
        decide(planned, REJECTED)
        since = mark(planned)
        view, new = ask(planned, now=T2)
        assert (view.state, new) == (GateState.rejected, False)
        assert changes_since(planned, since) == []

    @pytest.mark.parametrize("run", ["run-1", "run-2"], ids=["same-run", "new-run"])
    def test_a_timed_out_request_is_asked_again(self, planned: Store, run: str) -> None:
        """Any run, even the one that timed out, asks a timed-out gate again."""
        ask(planned)
        expire(planned, EXPIRES)
        since = mark(planned)
        view, new = ask(planned, run=run, expires_at=None, now=EXPIRES + dt.timedelta(hours=1))
        assert (view.state, view.request_run, new) == (GateState.pending, run, True)
        assert changes_since(planned, since) == [
            ("gate-requested", APA, {"from": "timed-out", "run": run, "expires_at": None})
        ]


class TestDecideGate:
    def test_a_decision_is_recorded_with_who_and_when(self, planned: Store) -> None:
        """Approving a pending gate stores the decision, its tri-chairs and time, and clears the expiry."""
        ask(planned)
        since = mark(planned)
        view, new = decide(planned, APPROVED)
        assert new is True
        assert (view.state, view.decision, view.decided_by, view.decided_at, view.expires_at) == (
            GateState.approved,
            APPROVED,
            "sedena, usnorthcom",
            T1,
            None,
        )
        assert changes_since(planned, since) == [
            (
                "gate-approved",
                APA,
                {
                    "from": "pending",
                    "decision": {
                        "activities": ["Fuerzas Amigas 2027"],
                        "approved": True,
                        "notes": "",
                        "tri_chairs": ["sedena", "usnorthcom"],
                    },
                },
            )
        ]

    def test_a_gate_never_asked_can_be_decided(self, planned: Store) -> None:
        """An operator may decide from the command line before any flow asked."""
        view, new = decide(planned, REJECTED)
        assert (view.state, view.requested_at, new) == (GateState.rejected, None, True)

    @pytest.mark.parametrize("decision", [APPROVED, REJECTED], ids=["approved", "rejected"])
    def test_the_same_decision_again_changes_nothing(self, planned: Store, decision: GateDecision) -> None:
        """Recording a decision a second time keeps the first time and logs nothing."""
        ask(planned)
        decide(planned, decision)
        since = mark(planned)
        view, new = decide(planned, decision, now=T2)
        assert (view.state, view.decided_at, new) == (decision.state, T1, False)
        assert changes_since(planned, since) == []

    @pytest.mark.parametrize(
        ("first", "second", "message"),
        [
            (
                APPROVED,
                REJECTED,
                f"{APA} was approved on 2026-08-04 by sedena, usnorthcom: it is final",
            ),
            (
                APPROVED,
                GateDecision(approved=True, tri_chairs=("semar",), activities=("Ardent Sentry 2027",)),
                f"{APA} was approved on 2026-08-04 by sedena, usnorthcom: it is final",
            ),
            (
                REJECTED,
                APPROVED,
                f"{APA} was rejected on 2026-08-04: run its phase flow again to ask again",
            ),
        ],
        ids=["rejecting-an-approval", "another-approval", "approving-a-rejection"],
    )
    def test_a_decided_gate_refuses_a_different_decision(
        self, planned: Store, first: GateDecision, second: GateDecision, message: str
    ) -> None:
        """A different decision on a decided gate is refused; the first one stays."""
        ask(planned)
        decide(planned, first)
        since = mark(planned)
        with pytest.raises(InputError) as caught:
            decide(planned, second, now=T2)
        assert str(caught.value) == message
        assert state_of(planned) is first.state
        assert changes_since(planned, since) == []

    def test_a_timed_out_request_takes_no_decision(self, planned: Store) -> None:
        """Once the request timed out, the phase flow must ask again before anyone decides."""
        ask(planned)
        expire(planned, EXPIRES)
        with pytest.raises(InputError) as caught:
            decide(planned, APPROVED, now=EXPIRES + dt.timedelta(hours=1))
        assert str(caught.value) == TIMED_OUT
        assert state_of(planned) is GateState.timed_out

    def test_a_request_past_its_expiry_takes_no_decision_before_the_checker_marks_it(
        self, planned: Store
    ) -> None:
        """A late answer is refused from `expires_at` on, even while the gate still reads pending."""
        ask(planned)
        since = mark(planned)
        with pytest.raises(InputError) as caught:
            decide(planned, APPROVED, now=EXPIRES)
        assert str(caught.value) == TIMED_OUT
        assert state_of(planned) is GateState.pending
        assert changes_since(planned, since) == []

    def test_an_answer_a_moment_before_the_expiry_is_recorded(self, planned: Store) -> None:
        """The last instant before `expires_at` is still in time."""
        ask(planned)
        view, new = decide(planned, APPROVED, now=EXPIRES - dt.timedelta(microseconds=1))
        assert (view.state, new) == (GateState.approved, True)

    def test_rejected_then_asked_again_then_approved(self, planned: Store) -> None:
        """The whole round: each step is one log row, in order."""
        since = mark(planned)
        ask(planned)
        decide(planned, REJECTED)
        ask(planned, run="run-2", now=T2)
        view, _ = decide(planned, APPROVED, now=T2 + dt.timedelta(hours=1))
        assert view.state is GateState.approved
        assert [(action, key) for action, key, _ in changes_since(planned, since)] == [
            ("gate-requested", APA),
            ("gate-rejected", APA),
            ("gate-requested", APA),
            ("gate-approved", APA),
        ]


class TestExpireGates:
    def test_a_request_times_out_only_at_its_expiry(self, planned: Store) -> None:
        """Before `expires_at` nothing happens; at it the gate is timed out, once, and logged."""
        ask(planned)
        since = mark(planned)
        assert expire(planned, EXPIRES - dt.timedelta(seconds=1)) == []
        assert state_of(planned) is GateState.pending
        [marked] = expire(planned, EXPIRES)
        assert (marked.item.key.to_string(), marked.state) == (APA, GateState.timed_out)
        assert expire(planned, EXPIRES + dt.timedelta(days=1)) == []
        assert changes_since(planned, since) == [
            ("gate-timed-out", APA, {"run": "run-1", "expired_at": "2026-08-05 15:00:00+00:00"})
        ]

    def test_a_request_without_expiry_waits(self, planned: Store) -> None:
        """A request with no `expires_at` never times out."""
        ask(planned, expires_at=None)
        assert expire(planned, T0 + dt.timedelta(days=3650)) == []
        assert state_of(planned) is GateState.pending

    def test_a_decided_gate_does_not_time_out(self, planned: Store) -> None:
        """A decision clears the expiry, so the old deadline passes without effect."""
        ask(planned)
        decide(planned, REJECTED)
        assert expire(planned, EXPIRES) == []
        assert state_of(planned) is GateState.rejected

    def test_a_gate_cancelled_by_a_replan_does_not_time_out(self, planned: Store, program: Program) -> None:
        """A pending request on a gate that left the plan expires silently: no mark, no log row."""
        key = "c9/gate/-/exercise-selection"
        write(
            planned, lambda s: request_gate(s, key=key, run="run-1", expires_at=EXPIRES, now=T0, actor="flow")
        )
        _plan(planned, without_visit(program), now=T1)
        since = mark(planned)
        assert expire(planned, EXPIRES) == []
        assert changes_since(planned, since) == []


def without_visit(program: Program) -> Program:
    """The program with no observation visit: a re-plan cancels the exercise selection."""
    data = program.model_dump(by_alias=True)
    data["template"]["observation_visit"] = None
    return Program.model_validate(data)


class TestGateKeys:
    @pytest.mark.parametrize(
        ("key", "error", "message"),
        [
            (
                "c9/deliverable/-/read-ahead",
                InputError,
                "c9/deliverable/-/read-ahead is a deliverable, not a gate",
            ),
            (
                "c9/gate/-/budget-approval",
                NotFoundError,
                "no gate c9/gate/-/budget-approval in the store (see `roundtable gates list`)",
            ),
            (
                "c10/gate/-/apa-validation",
                NotFoundError,
                "no gate c10/gate/-/apa-validation in the store (see `roundtable gates list`)",
            ),
        ],
        ids=["a-deliverable", "unknown-gate", "unplanned-cycle"],
    )
    @pytest.mark.parametrize("action", ["read", "request", "decide"])
    def test_only_a_stored_gate_takes_requests_and_decisions(
        self, planned: Store, key: str, error: type[Exception], message: str, action: str
    ) -> None:
        """Reading, asking or deciding anything but a planned gate is refused by name."""
        work: dict[str, Callable[[Session], object]] = {
            "read": lambda s: gate(s, key=key),
            "request": lambda s: request_gate(s, key=key, run=None, expires_at=None, now=T0, actor="flow"),
            "decide": lambda s: decide_gate(s, key=key, decision=APPROVED, now=T0, actor="flow"),
        }
        with pytest.raises(error) as caught:
            write(planned, work[action])
        assert str(caught.value) == message

    def test_a_gate_cancelled_by_a_replan_takes_no_decision(self, planned: Store, program: Program) -> None:
        """Without an observation visit the exercise selection is cancelled: no more requests or decisions."""
        _plan(planned, without_visit(program), now=T1)
        key = "c9/gate/-/exercise-selection"
        with pytest.raises(InputError) as caught:
            write(planned, lambda s: decide_gate(s, key=key, decision=APPROVED, now=T2, actor="flow"))
        assert str(caught.value) == f"{key} was cancelled by a re-plan; it takes no decision"
        with planned.session() as session:
            assert [g.item.key.to_string() for g in list_gates(session, cycle=9)] == [APA]

    def test_gates_are_listed_by_due_date(self, planned: Store) -> None:
        """The APA validation (2026-08-04) comes before the exercise selection (2026-12-14), both pending."""
        with planned.session() as session:
            views = list_gates(session, cycle=9)
        assert [(g.item.key.to_string(), g.state, g.item.due) for g in views] == [
            (APA, GateState.pending, dt.date(2026, 8, 4)),
            ("c9/gate/-/exercise-selection", GateState.pending, dt.date(2026, 12, 14)),
        ]
