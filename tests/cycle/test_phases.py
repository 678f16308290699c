"""The phases of a cycle as pure rules: which a cycle has and in what order, what a phase
requires before its work starts, and the board of recorded progress."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace

import pytest

from cycle.deadlines import Deadlines
from cycle.items import ItemKey, ItemKind, PlannedItem
from cycle.phases import (
    Missing,
    PhaseProgress,
    PhaseRow,
    PhaseState,
    board,
    due_phases,
    gate_of,
    missing_requirements,
    next_phase,
    open_deliverables,
    phases_of,
    recorded_phase,
    required_items,
    template_slug,
)
from cycle.program import Lang, Phase, Program
from cycle.schedule import plan_cycle
from cycle.status import TrackedItem

Plans = dict[int, tuple[PlannedItem, ...]]
"""Planned items by cycle number."""

STANDING_BODIES = (
    "ib-domain-awareness",
    "ib-domain-control",
    "ib-institutional-strengthening",
    "sst-air",
    "sst-army",
    "sst-marines",
    "sst-navy",
    "wg-c2-interoperability",
    "wg-education-training",
    "wg-information-sharing",
    "wg-logistics",
    "wg-strategic-communications",
)
"""The active bodies that owe APA inputs and an annual briefing (not the proposed cyber and
space groups, not the AM&E group), in key order."""

EXECUTIVE_SESSION_NEEDS = [
    *(f"c9/deliverable/{body}/apa-inputs" for body in STANDING_BODIES),  # due 2026-06-05
    "c9/deliverable/-/delegation-roster",  # due 2026-07-06, and "-" sorts before the bodies
    *(f"c9/deliverable/{body}/annual-briefing" for body in STANDING_BODIES),  # due 2026-07-06
    "c9/deliverable/-/read-ahead",  # due 2026-07-21
]

APA_GATE = "c9/gate/-/apa-validation"
READ_AHEAD = "c9/deliverable/-/read-ahead"

CYCLE_9_WINDOWS = {
    Phase.opening: (dt.date(2025, 9, 1), dt.date(2025, 9, 30)),
    Phase.group_meetings: (dt.date(2025, 9, 1), dt.date(2027, 8, 31)),
    Phase.executive_prep: (dt.date(2026, 6, 5), dt.date(2026, 8, 3)),
    Phase.executive_session: (dt.date(2026, 8, 4), dt.date(2026, 8, 26)),
    Phase.observation_visit: (dt.date(2026, 12, 14), dt.date(2027, 5, 15)),
    Phase.assessment: (dt.date(2027, 7, 2), dt.date(2027, 8, 30)),
    Phase.close_out: (dt.date(2027, 8, 31), dt.date(2027, 8, 31)),
}

JULY_7 = dt.date(2026, 7, 7)

ALL_COMPLETED = {phase: PhaseProgress(phase=phase, state=PhaseState.completed) for phase in Phase}


@pytest.fixture(scope="module")
def plans(program: Program) -> Plans:
    """The planned items of cycle 7 (12 months, the last of the history) and cycle 9 (24)."""
    return {number: tuple(plan_cycle(program, number).items) for number in (7, 9)}


def track(items: tuple[PlannedItem, ...], statuses: Mapping[str, str] | None = None) -> list[TrackedItem]:
    """The items with the status given by key; otherwise pending (deliverables, gates) or planned."""
    statuses = statuses or {}
    return [
        TrackedItem(
            item=item,
            status=statuses.get(
                item.key.to_string(),
                "pending" if item.kind in (ItemKind.deliverable, ItemKind.gate) else "planned",
            ),
        )
        for item in items
    ]


def keys(tracked: list[TrackedItem] | list[Missing]) -> list[str]:
    return [t.item.key.to_string() for t in tracked]


def progress(**states: PhaseState) -> dict[Phase, PhaseProgress]:
    """Recorded progress by phase, written with underscores: `executive_prep=PhaseState.open`."""
    return {Phase[name]: PhaseProgress(phase=Phase[name], state=state) for name, state in states.items()}


def item(plans: Plans, key: str) -> PlannedItem:
    parsed = ItemKey.from_string(key)
    return next(i for i in plans[parsed.cycle] if i.key == parsed)


class TestTemplateSlug:
    @pytest.mark.parametrize(
        ("key", "slug"),
        [
            ("c9/deliverable/sst-army/agenda-3", "agenda"),
            ("c9/deliverable/wg-logistics/minutes-1", "minutes"),
            ("c9/deliverable/sst-army/apa-inputs", "apa-inputs"),
            (READ_AHEAD, "read-ahead"),
            (APA_GATE, "apa-validation"),
        ],
        ids=["meeting-agenda", "meeting-minutes", "per-body", "per-cycle", "gate"],
    )
    def test_an_item_comes_from_the_template_item_its_name_starts_with(
        self, program: Program, plans: Plans, key: str, slug: str
    ) -> None:
        """Meeting items drop their `-N`; other items carry the template slug as their name."""
        assert template_slug(program, item(plans, key)) == slug

    def test_only_meeting_items_lose_a_number_suffix(self, program: Program, plans: Plans) -> None:
        """A `-2` after the slug of a per-body item is part of the name, not a meeting number."""
        briefing = item(plans, "c9/deliverable/sst-army/annual-briefing")
        renamed = replace(briefing, key=replace(briefing.key, name="annual-briefing-2"))
        assert template_slug(program, renamed) == "annual-briefing-2"


class TestPhasesOf:
    def test_a_24_month_cycle_has_every_phase_with_its_window(self, plans: Plans) -> None:
        """Cycle 9 has the seven phases, in order, with the windows of its plan."""
        phases = phases_of(track(plans[9]))
        assert {phase: (i.first_day, i.last_day) for phase, i in phases.items()} == CYCLE_9_WINDOWS
        assert list(phases) == list(Phase)

    def test_a_12_month_cycle_has_no_observation_visit(self, plans: Plans) -> None:
        """Cycle 7 has every phase but the observation visit."""
        assert list(phases_of(track(plans[7]))) == [
            Phase.opening,
            Phase.group_meetings,
            Phase.executive_prep,
            Phase.executive_session,
            Phase.assessment,
            Phase.close_out,
        ]

    def test_a_cancelled_phase_is_not_a_phase_of_the_cycle(self, plans: Plans) -> None:
        """A phase item a re-plan cancelled is left out."""
        tracked = track(plans[9], {"c9/phase/-/observation-visit": "cancelled"})
        assert Phase.observation_visit not in phases_of(tracked)


class TestNextPhase:
    @pytest.mark.parametrize(
        ("phase", "following"),
        [
            (Phase.opening, Phase.executive_prep),
            (Phase.executive_prep, Phase.executive_session),
            (Phase.executive_session, Phase.observation_visit),
            (Phase.observation_visit, Phase.assessment),
            (Phase.assessment, Phase.close_out),
            (Phase.close_out, None),
            (Phase.group_meetings, None),
        ],
        ids=str,
    )
    def test_a_24_month_cycle_steps_through_its_phases_in_order(
        self, plans: Plans, phase: Phase, following: Phase | None
    ) -> None:
        """Opening, preparation, session, visit, assessment, close-out; group meetings are no step."""
        assert next_phase(track(plans[9]), phase) is following

    @pytest.mark.parametrize(
        ("phase", "following"),
        [
            (Phase.executive_prep, Phase.executive_session),
            (Phase.executive_session, Phase.assessment),
            (Phase.observation_visit, None),
        ],
        ids=str,
    )
    def test_a_12_month_cycle_goes_from_the_session_to_the_assessment(
        self, plans: Plans, phase: Phase, following: Phase | None
    ) -> None:
        """Without a visit the session is followed by the assessment, and the visit by nothing."""
        assert next_phase(track(plans[7]), phase) is following


class TestRequirements:
    def test_the_executive_session_requires_the_papers_of_active_bodies_and_the_secretariat(
        self, program: Program, plans: Plans
    ) -> None:
        """APA inputs and briefings of the 12 active bodies, the roster and the read-ahead, by due date."""
        assert keys(required_items(program, Phase.executive_session, track(plans[9]))) == (
            EXECUTIVE_SESSION_NEEDS
        )

    def test_a_cancelled_item_is_not_required(self, program: Program, plans: Plans) -> None:
        """Papers of a body a re-plan paused are no longer required."""
        cancelled = {
            "c9/deliverable/wg-logistics/apa-inputs": "cancelled",
            "c9/deliverable/wg-logistics/annual-briefing": "cancelled",
        }
        required = keys(required_items(program, Phase.executive_session, track(plans[9], cancelled)))
        assert required == [k for k in EXECUTIVE_SESSION_NEEDS if k not in cancelled]

    def test_nothing_handed_in_is_all_missing(self, program: Program, plans: Plans) -> None:
        """With every paper pending, all 26 are missing, each with its status."""
        missing = missing_requirements(program, Phase.executive_session, track(plans[9]))
        assert keys(missing) == EXECUTIVE_SESSION_NEEDS
        assert {m.status for m in missing} == {"pending"}

    @pytest.mark.parametrize("state", ["submitted", "accepted", "waived"])
    def test_a_paper_submitted_accepted_or_waived_is_in(
        self, program: Program, plans: Plans, state: str
    ) -> None:
        """Only the read-ahead is missing when every other paper is submitted, accepted or waived."""
        statuses = {key: state for key in EXECUTIVE_SESSION_NEEDS if key != READ_AHEAD}
        missing = missing_requirements(program, Phase.executive_session, track(plans[9], statuses))
        assert missing == [Missing(item=item(plans, READ_AHEAD), status="pending")]

    @pytest.mark.parametrize("state", ["pending", "rejected", "timed-out"])
    def test_the_visit_needs_the_apa_approved(self, program: Program, plans: Plans, state: str) -> None:
        """An APA gate that is not approved is missing for the observation visit, with its state."""
        missing = missing_requirements(program, Phase.observation_visit, track(plans[9], {APA_GATE: state}))
        assert missing == [Missing(item=item(plans, APA_GATE), status=state)]

    def test_an_approved_apa_lets_the_visit_start(self, program: Program, plans: Plans) -> None:
        """With the APA approved nothing is missing for the observation visit."""
        tracked = track(plans[9], {APA_GATE: "approved"})
        assert missing_requirements(program, Phase.observation_visit, tracked) == []

    @pytest.mark.parametrize(
        ("number", "phase", "required"),
        [
            (9, Phase.opening, []),
            (9, Phase.executive_prep, []),
            (9, Phase.assessment, ["c9/deliverable/-/visit-report"]),
            (7, Phase.assessment, []),
        ],
        ids=["opening", "executive-prep", "assessment-24-months", "assessment-12-months-has-no-visit"],
    )
    def test_what_each_phase_requires(
        self,
        program: Program,
        plans: Plans,
        number: int,
        phase: Phase,
        required: list[str],
    ) -> None:
        """Phases without `requires` need nothing; a 12-month assessment has no visit report to wait for."""
        assert keys(required_items(program, phase, track(plans[number]))) == required

    @pytest.mark.parametrize(
        ("key", "lang", "text"),
        [
            (READ_AHEAD, "en", f"{READ_AHEAD} (pending, due 2026-07-21, Roundtable secretariat)"),
            (READ_AHEAD, "es", f"{READ_AHEAD} (pending, due 2026-07-21, Secretariado de la Mesa Redonda)"),
            (
                "c9/deliverable/sst-navy/apa-inputs",
                "en",
                "c9/deliverable/sst-navy/apa-inputs (pending, due 2026-06-05, Navy Service Staff Talks "
                "(U.S. Naval Forces Northern Command – Mexican Navy))",
            ),
        ],
        ids=["english", "spanish", "owned-by-a-body"],
    )
    def test_a_missing_item_says_what_when_and_whose(
        self, program: Program, plans: Plans, key: str, lang: Lang, text: str
    ) -> None:
        """`describe` gives key, status, due date and the owner's name in the language asked."""
        missing = Missing(item=item(plans, key), status="pending")
        assert missing.describe(program, lang) == text


class TestGateOf:
    @pytest.mark.parametrize(
        ("number", "phase", "gate"),
        [
            (9, Phase.executive_session, APA_GATE),
            (9, Phase.observation_visit, "c9/gate/-/exercise-selection"),
            (9, Phase.opening, None),
            (7, Phase.executive_session, "c7/gate/-/apa-validation"),
            (7, Phase.observation_visit, None),
        ],
        ids=["apa", "exercise", "opening-has-none", "12-month-apa", "12-month-has-no-selection"],
    )
    def test_a_phase_has_at_most_its_templates_gate(
        self,
        program: Program,
        plans: Plans,
        number: int,
        phase: Phase,
        gate: str | None,
    ) -> None:
        """The APA validation and the exercise selection are the gates; a 12-month cycle has the first."""
        found = gate_of(program, phase, track(plans[number]))
        assert (found.item.key.to_string() if found else None) == gate


class TestOpenDeliverables:
    @pytest.mark.parametrize(
        ("state", "open_keys"),
        [
            ("pending", ["c9/deliverable/-/signed-minutes"]),
            ("submitted", []),
            ("waived", []),
        ],
    )
    def test_a_phase_waits_only_for_its_own_papers_not_handed_in(
        self, plans: Plans, state: str, open_keys: list[str]
    ) -> None:
        """The executive session's only paper is the signed minutes; once in, nothing is open."""
        tracked = track(plans[9], {"c9/deliverable/-/signed-minutes": state})
        assert keys(open_deliverables(Phase.executive_session, tracked)) == open_keys


def executive_prep_row(tracked: list[TrackedItem], deadlines: Deadlines) -> PhaseRow:
    """The executive preparation's row of the board on 2026-07-07 (its papers are due by then)."""
    return next(r for r in board(tracked, {}, JULY_7, deadlines) if r.phase is Phase.executive_prep)


class TestBoard:
    def test_each_phase_shows_its_window_state_papers_and_gate(
        self, plans: Plans, deadlines: Deadlines
    ) -> None:
        """Done is accepted or waived, in adds submitted, overdue is pending past the due date
        and its grace (minutes have two working days of grace in the shipped program)."""
        statuses = {
            READ_AHEAD: "accepted",
            "c9/deliverable/-/delegation-roster": "waived",
            "c9/deliverable/sst-army/apa-inputs": "submitted",
            APA_GATE: "approved",
        }
        recorded = progress(opening=PhaseState.completed, executive_prep=PhaseState.open)
        board_rows = board(track(plans[9], statuses), recorded, JULY_7, deadlines)
        assert {r.phase: r.window for r in board_rows} == CYCLE_9_WINDOWS
        counts = [
            (r.phase, r.state, r.deliverables_done, r.deliverables_in, r.deliverables_total, r.overdue)
            for r in board_rows
        ]
        assert counts == [
            (Phase.opening, PhaseState.completed, 0, 0, 0, 0),
            (Phase.group_meetings, PhaseState.not_started, 0, 0, 116, 46),  # 58 agendas, 58 minutes
            # Done: accepted and waived; in: those and the submitted one. Late: 11 APA inputs, 12 briefings.
            (Phase.executive_prep, PhaseState.open, 2, 3, 26, 23),
            (Phase.executive_session, PhaseState.not_started, 0, 0, 1, 0),
            (Phase.observation_visit, PhaseState.not_started, 0, 0, 2, 0),
            (Phase.assessment, PhaseState.not_started, 0, 0, 1, 0),
            (Phase.close_out, PhaseState.not_started, 0, 0, 0, 0),
        ]
        assert [r.gate for r in board_rows] == [None, None, None, "approved", "pending", None, None]

    def test_a_row_is_named_by_its_phase_item(self, plans: Plans, deadlines: Deadlines) -> None:
        """A row's name is its phase item's title in both languages."""
        prep = executive_prep_row(track(plans[9]), deadlines)
        assert (prep.name.en, prep.name.es) == (
            "Executive session preparation",
            "Preparación de la Sesión Ejecutiva",
        )

    def test_cancelled_papers_do_not_count(self, plans: Plans, deadlines: Deadlines) -> None:
        """Papers of a paused body leave both the total and the overdue count."""
        cancelled = {
            "c9/deliverable/wg-logistics/apa-inputs": "cancelled",
            "c9/deliverable/wg-logistics/annual-briefing": "cancelled",
        }
        prep = executive_prep_row(track(plans[9], cancelled), deadlines)
        assert (prep.deliverables_total, prep.overdue) == (24, 23)  # of 26 and 25


class TestRecordedPhase:
    @pytest.mark.parametrize(
        ("number", "recorded", "phase"),
        [
            (9, {}, None),
            (9, progress(group_meetings=PhaseState.open), None),
            (9, progress(opening=PhaseState.open), Phase.opening),
            (9, progress(opening=PhaseState.completed), Phase.executive_prep),
            (9, progress(opening=PhaseState.completed, executive_prep=PhaseState.open), Phase.executive_prep),
            (
                9,
                progress(opening=PhaseState.open, executive_session=PhaseState.open),
                Phase.executive_session,
            ),
            (
                9,
                progress(executive_session=PhaseState.completed, group_meetings=PhaseState.open),
                Phase.observation_visit,
            ),
            (9, ALL_COMPLETED, Phase.close_out),
            (7, progress(executive_session=PhaseState.completed), Phase.assessment),
        ],
        ids=[
            "nothing-recorded",
            "group-meetings-are-no-step",
            "open-step",
            "step-after-the-completed-one",
            "open-step-after-completed-one",
            "latest-of-two-open-steps",
            "after-the-session-comes-the-visit",
            "all-completed-stays-at-close-out",
            "12-month-cycle-skips-the-visit",
        ],
    )
    def test_the_recorded_phase_is_the_latest_open_step_else_the_one_after_the_last_completed(
        self,
        plans: Plans,
        deadlines: Deadlines,
        number: int,
        recorded: dict[Phase, PhaseProgress],
        phase: Phase | None,
    ) -> None:
        """Where the flows have taken the cycle, whatever the calendar says."""
        as_of = dt.date(2026, 1, 1) if number == 9 else dt.date(2023, 1, 1)
        assert recorded_phase(board(track(plans[number]), recorded, as_of, deadlines)) is phase


class TestDuePhases:
    @pytest.mark.parametrize(
        ("as_of", "recorded", "due"),
        [
            (dt.date(2025, 8, 31), {}, []),
            (dt.date(2025, 9, 1), {}, [Phase.opening, Phase.group_meetings]),
            (dt.date(2026, 6, 4), progress(opening=PhaseState.completed), [Phase.group_meetings]),
            (
                dt.date(2026, 6, 5),
                progress(opening=PhaseState.completed),
                [Phase.group_meetings, Phase.executive_prep],
            ),
            (
                dt.date(2026, 6, 5),
                progress(opening=PhaseState.completed, executive_prep=PhaseState.open),
                [Phase.group_meetings, Phase.executive_prep],
            ),
            (dt.date(2027, 8, 31), {}, list(Phase)),
            (
                dt.date(2027, 8, 31),
                ALL_COMPLETED,
                [],
            ),
        ],
        ids=[
            "before-the-cycle",
            "first-day",
            "day-before-the-preparation",
            "first-day-of-the-preparation",
            "open-is-still-due",
            "last-day-nothing-done",
            "last-day-all-done",
        ],
    )
    def test_a_phase_is_due_from_its_first_day_until_completed(
        self,
        plans: Plans,
        deadlines: Deadlines,
        as_of: dt.date,
        recorded: dict[Phase, PhaseProgress],
        due: list[Phase],
    ) -> None:
        """Phases whose window has opened by `as_of` and that are not completed, in order."""
        assert due_phases(board(track(plans[9]), recorded, as_of, deadlines), as_of) == due
