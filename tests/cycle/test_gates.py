"""The tri-chairs' decisions: what an answer must hold, how it is tidied, how it is stored
as JSON, and when an open request runs out of time."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from cycle.errors import InputError
from cycle.gates import (
    MAX_ACTIVITIES,
    MAX_ACTIVITY,
    MAX_NOTES,
    GateDecision,
    GateState,
    check_decision,
    expired,
)
from cycle.program import Phase, Program

APA = Phase.executive_session
EXERCISE = Phase.observation_visit
OFFERED = ("Fuerzas Amigas 2027", "Ardent Sentry 2027")

APPROVED_APA = GateDecision(approved=True, tri_chairs=("sedena",), activities=("Fuerzas Amigas 2027",))
REJECTED = GateDecision(approved=False, tri_chairs=("semar",), notes="Add the naval exercises first.")
SELECTED = GateDecision(approved=True, tri_chairs=("usnorthcom",), activities=("Ardent Sentry 2027",))


DRAFT = (*OFFERED, "x" * MAX_ACTIVITY, *(f"Activity {n}" for n in range(MAX_ACTIVITIES + 1)))
"""The draft APA the validations in these tests choose from."""


def check_apa(program: Program, decision: GateDecision, offered: tuple[str, ...] = DRAFT) -> GateDecision:
    """`check_decision` at the APA validation, with `DRAFT` as the draft."""
    return check_decision(program, APA, decision, offered=offered)


def refusal(program: Program, phase: Phase, decision: GateDecision, offered: tuple[str, ...] = DRAFT) -> str:
    """The message of the `InputError` that `check_decision` raises."""
    with pytest.raises(InputError) as caught:
        check_decision(program, phase, decision, offered=offered)
    return str(caught.value)


class TestTriChairs:
    def test_a_decision_names_who_took_it(self, program: Program) -> None:
        """A decision without tri-chairs is refused, listing who may decide."""
        decision = replace(APPROVED_APA, tri_chairs=())
        assert refusal(program, APA, decision) == (
            "tri_chairs: name who decided (one or more of usnorthcom, sedena, semar)"
        )

    def test_only_a_tri_chair_decides(self, program: Program) -> None:
        """A name that is not a tri-chair's institution is refused by name."""
        decision = replace(APPROVED_APA, tri_chairs=("sedena", "sedna"))
        assert refusal(program, APA, decision) == (
            "tri_chairs: 'sedna' is not a tri-chair (one of usnorthcom, sedena, semar)"
        )

    def test_a_tri_chair_is_named_once(self, program: Program) -> None:
        """The same tri-chair twice is refused."""
        decision = replace(APPROVED_APA, tri_chairs=("semar", "sedena", "semar"))
        assert refusal(program, APA, decision) == "tri_chairs: a tri-chair is named twice"

    @pytest.mark.parametrize(
        "chairs",
        [("usnorthcom",), ("semar", "usnorthcom"), ("sedena", "semar", "usnorthcom")],
        ids=["one", "two", "all-three"],
    )
    def test_one_two_or_all_three_tri_chairs_decide_in_the_order_given(
        self, program: Program, chairs: tuple[str, ...]
    ) -> None:
        """Any non-empty set of tri-chairs is accepted and kept in its order."""
        assert check_apa(program, replace(APPROVED_APA, tri_chairs=chairs)).tri_chairs == chairs

    def test_the_first_problem_is_the_one_reported(self, program: Program) -> None:
        """An unknown tri-chair is reported before a missing reason and a missing activity."""
        decision = GateDecision(approved=False, tri_chairs=("nobody",), notes=" ", activities=("",))
        assert refusal(program, APA, decision).startswith("tri_chairs: 'nobody' is not a tri-chair")


class TestNotes:
    def test_notes_lose_outer_whitespace_and_windows_line_ends(self, program: Program) -> None:
        """CR LF becomes LF and leading and trailing whitespace goes; inner lines stay."""
        decision = replace(REJECTED, notes=" \r\nAdd the naval exercises.\r\n  Then resubmit. \t\r\n")
        assert check_apa(program, decision).notes == "Add the naval exercises.\n  Then resubmit."

    @pytest.mark.parametrize(
        ("notes", "kept"),
        [
            ("x" * MAX_NOTES, "x" * MAX_NOTES),
            ("  " + "x" * MAX_NOTES + "\r\n", "x" * MAX_NOTES),
            ("a\r\n" * (MAX_NOTES // 2), "a\n" * (MAX_NOTES // 2 - 1) + "a"),
        ],
        ids=["at-the-limit", "at-the-limit-after-tidying", "crlf-counts-as-one"],
    )
    def test_notes_up_to_the_limit_are_kept(self, program: Program, notes: str, kept: str) -> None:
        """2000 characters of notes, counted after tidying, are accepted."""
        assert check_apa(program, replace(APPROVED_APA, notes=notes)).notes == kept

    @pytest.mark.parametrize(
        ("notes", "message"),
        [
            ("x" * (MAX_NOTES + 1), "notes: at most 2000 characters"),
            ("Approved.\x00", "notes: must be text (a NUL character is not)"),
        ],
        ids=["one-over-the-limit", "nul-character"],
    )
    def test_notes_that_are_too_long_or_not_text_are_refused(
        self, program: Program, notes: str, message: str
    ) -> None:
        """Notes over 2000 characters, or with a NUL, are refused, each with its reason."""
        assert refusal(program, APA, replace(APPROVED_APA, notes=notes)) == message

    def test_a_lone_carriage_return_in_notes_becomes_a_line_feed(self, program: Program) -> None:
        """Old Mac line ends are tidied like Windows ones."""
        assert check_apa(program, replace(APPROVED_APA, notes="a\rb")).notes == "a\nb"

    @pytest.mark.parametrize("notes", ["", " \r\n\t "], ids=["empty", "only-whitespace"])
    @pytest.mark.parametrize("phase", [APA, EXERCISE])
    def test_a_rejection_needs_a_reason(self, program: Program, phase: Phase, notes: str) -> None:
        """Rejecting without notes is refused at either gate."""
        assert refusal(program, phase, replace(REJECTED, notes=notes)) == (
            "notes: a rejection needs a reason in the notes"
        )

    def test_an_approval_needs_no_notes(self, program: Program) -> None:
        """Approving with empty notes is accepted."""
        assert check_apa(program, APPROVED_APA) == APPROVED_APA


class TestActivities:
    def test_activities_lose_outer_whitespace(self, program: Program) -> None:
        """Each activity is stripped; the order is kept."""
        decision = replace(APPROVED_APA, activities=("  Fuerzas Amigas 2027", "Ardent Sentry 2027\t"))
        assert check_apa(program, decision).activities == OFFERED

    @pytest.mark.parametrize(
        "activity",
        ["", "   ", "x" * (MAX_ACTIVITY + 1), "Fuerzas\nAmigas", "Fuerzas\rAmigas", "Fuerzas\x00Amigas"],
        ids=["empty", "blank", "one-over-the-limit", "line-feed", "carriage-return", "nul"],
    )
    def test_an_activity_is_one_line_of_1_to_200_characters(self, program: Program, activity: str) -> None:
        """A blank, over-long or multi-line activity is refused."""
        decision = replace(APPROVED_APA, activities=("Fuerzas Amigas 2027", activity))
        assert refusal(program, APA, decision) == "activities: each is one line of 1-200 characters"

    def test_an_activity_of_200_characters_is_kept(self, program: Program) -> None:
        """Exactly 200 characters is within the limit."""
        decision = replace(APPROVED_APA, activities=("x" * MAX_ACTIVITY,))
        assert check_apa(program, decision).activities == ("x" * MAX_ACTIVITY,)

    def test_an_activity_is_listed_once(self, program: Program) -> None:
        """Two activities equal after stripping are refused."""
        decision = replace(APPROVED_APA, activities=("Fuerzas Amigas 2027", " Fuerzas Amigas 2027 "))
        assert refusal(program, APA, decision) == "activities: an activity is listed twice"


class TestApaValidation:
    def test_an_approved_apa_lists_at_least_one_activity(self, program: Program) -> None:
        """Approving the APA with no activity is refused."""
        assert refusal(program, APA, replace(APPROVED_APA, activities=())) == (
            "validated_activities: an approved APA lists at least one activity"
        )

    def test_a_rejected_apa_needs_no_activity(self, program: Program) -> None:
        """A rejection with a reason and no activities is accepted as it is."""
        assert check_apa(program, REJECTED) == REJECTED

    def test_an_apa_lists_at_most_200_activities(self, program: Program) -> None:
        """200 activities are accepted; 201 are refused."""
        many = tuple(f"Activity {n}" for n in range(MAX_ACTIVITIES + 1))
        accepted = check_apa(program, replace(APPROVED_APA, activities=many[:-1]))
        assert len(accepted.activities) == 200
        assert refusal(program, APA, replace(APPROVED_APA, activities=many)) == (
            "validated_activities: at most 200"
        )

    def test_the_apa_validates_only_activities_of_the_draft(self, program: Program) -> None:
        """An activity no body proposed is refused: the tri-chairs validate the draft."""
        decision = replace(APPROVED_APA, activities=("Fuerzas Amigas 2027", "Something new"))
        assert refusal(program, APA, decision, offered=OFFERED) == (
            "validated_activities: 'Something new' is not an activity of the draft APA "
            "(see `roundtable apa show`)"
        )


class TestExerciseSelection:
    @pytest.mark.parametrize("activities", [(), OFFERED], ids=["none", "two"])
    def test_an_approval_selects_exactly_one_exercise(
        self, program: Program, activities: tuple[str, ...]
    ) -> None:
        """Approving the selection with no exercise, or with two, is refused."""
        decision = replace(SELECTED, activities=activities)
        assert refusal(program, EXERCISE, decision, OFFERED) == (
            "exercise: select exactly one exercise or training"
        )

    def test_the_exercise_comes_from_the_validated_apa(self, program: Program) -> None:
        """An exercise the APA does not list is refused, naming what is offered."""
        decision = replace(SELECTED, activities=("Vigilant Shield 2027",))
        assert refusal(program, EXERCISE, decision, OFFERED) == (
            "exercise: 'Vigilant Shield 2027' is not one the visit can observe: "
            "a combined exercise or training of the validated APA, in the second year, not begun yet "
            "(Fuerzas Amigas 2027; Ardent Sentry 2027)"
        )

    def test_nothing_can_be_selected_before_an_apa_is_validated(self, program: Program) -> None:
        """With nothing offered every exercise is refused, without an empty list in the message."""
        assert refusal(program, EXERCISE, SELECTED, offered=()) == (
            "exercise: 'Ardent Sentry 2027' is not one the visit can observe: "
            "a combined exercise or training of the validated APA, in the second year, not begun yet"
        )

    def test_an_offered_exercise_is_accepted_after_tidying(self, program: Program) -> None:
        """An offered exercise with stray whitespace matches and comes back stripped."""
        decision = replace(SELECTED, activities=(" Ardent Sentry 2027 ",))
        assert check_decision(program, EXERCISE, decision, offered=OFFERED) == SELECTED

    def test_a_rejected_selection_needs_no_exercise(self, program: Program) -> None:
        """Rejecting the selection with a reason and no exercise is accepted."""
        assert check_decision(program, EXERCISE, REJECTED, offered=OFFERED) == REJECTED


class TestPhasesWithoutAGate:
    @pytest.mark.parametrize("phase", [p for p in Phase if p not in (APA, EXERCISE)], ids=str)
    def test_only_the_two_gated_phases_take_a_decision(self, program: Program, phase: Phase) -> None:
        """A decision for any other phase is refused, naming the phase."""
        assert refusal(program, phase, APPROVED_APA) == f"phase {phase.value!r} has no gate"


class TestGateDecisionJson:
    @pytest.mark.parametrize(
        "decision",
        [
            APPROVED_APA,
            REJECTED,
            SELECTED,
            GateDecision(
                approved=True,
                tri_chairs=("sedena", "semar"),
                notes="Aprobado: «Fuerzas Amigas» sí.\nSin cambios.",
                activities=OFFERED,
            ),
        ],
        ids=["approved-apa", "rejected", "selected-exercise", "spanish-notes-two-lines"],
    )
    def test_a_decision_survives_a_json_round_trip(self, decision: GateDecision) -> None:
        """`from_json(to_json())` gives back an equal decision."""
        assert GateDecision.from_json(decision.to_json()) == decision

    def test_json_has_sorted_keys_and_keeps_non_ascii_text(self) -> None:
        """The stored text is stable and readable: keys sorted, accents kept."""
        decision = GateDecision(approved=True, tri_chairs=("sedena",), notes="Sí", activities=("Ex A",))
        assert decision.to_json() == (
            '{"activities": ["Ex A"], "approved": true, "notes": "Sí", "tri_chairs": ["sedena"]}'
        )

    def test_notes_and_activities_may_be_left_out(self) -> None:
        """JSON without notes or activities reads as empty ones."""
        decision = GateDecision.from_json('{"approved": false, "tri_chairs": ["semar"]}')
        assert decision == GateDecision(approved=False, tri_chairs=("semar",), notes="", activities=())

    @pytest.mark.parametrize(
        ("approved", "state"), [(True, GateState.approved), (False, GateState.rejected)], ids=str
    )
    def test_a_decision_moves_its_gate_to_approved_or_rejected(
        self, approved: bool, state: GateState
    ) -> None:
        """`state` is the gate's state once the decision is recorded."""
        assert replace(APPROVED_APA, approved=approved).state is state


class TestExpired:
    EXPIRES = dt.datetime(2026, 8, 5, 15, 0, tzinfo=dt.UTC)

    @pytest.mark.parametrize(
        ("now", "result"),
        [
            (EXPIRES - dt.timedelta(microseconds=1), False),
            (EXPIRES, True),
            (EXPIRES + dt.timedelta(days=30), True),
            (EXPIRES.astimezone(dt.timezone(dt.timedelta(hours=-6))), True),
        ],
        ids=["just-before", "at-the-instant", "after", "same-instant-other-zone"],
    )
    def test_a_request_expires_at_its_instant(self, now: dt.datetime, result: bool) -> None:
        """A request runs out of time at `expires_at`, not a moment before."""
        assert expired(self.EXPIRES, now) is result

    def test_a_request_without_expiry_never_runs_out(self) -> None:
        """No `expires_at` means the request waits for ever."""
        assert expired(None, dt.datetime(2100, 1, 1, tzinfo=dt.UTC)) is False
