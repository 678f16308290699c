"""The APA through its life in the store, on SQLite and PostgreSQL: proposed by the bodies,
validated at the executive-session gate and frozen, amended with reasons, drawn on for the
observation visit — with the plan and the calendars following each step."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from icalendar import Calendar

from calendars.audience import Audience, AudienceKind
from calendars.catalogue import shipped_catalogue
from calendars.feed import FeedRequest, build_feed
from cycle.apa import Amendment, AmendmentKind
from cycle.context import Context
from cycle.deliverable import Action
from cycle.errors import InputError
from cycle.gates import GateDecision
from cycle.items import ItemKind
from cycle.operations import (
    ame_report,
    amend_apa,
    apa_state,
    observable_activities,
    plan,
    propose_activity,
    record,
    withdraw_activity,
)
from cycle.program import Lang
from cycle.progression import decide, offered_activities
from cycle.status import TrackedItem
from cycle.store.reads import tracked_items
from cycle.store.repository import change_log, store_generation
from tests.apa import (
    ACTIVITIES,
    AZTEC_ALLIGATOR,
    FUERZAS_AMIGAS,
    STAFF_EXCHANGE,
    propose_sample,
)

OPENED = dt.datetime(2025, 9, 1, 13, 0, tzinfo=dt.UTC)
SESSION = dt.datetime(2026, 8, 5, 20, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2026, 10, 1, 15, 0, tzinfo=dt.UTC)
SELECTION = dt.datetime(2026, 12, 16, 15, 0, tzinfo=dt.UTC)
APA = "c9/gate/-/apa-validation"
EXERCISE = "c9/gate/-/exercise-selection"
AZTEC = AZTEC_ALLIGATOR.key.to_string()
HURRICANE_SEASON = ("Hurricane season.", dt.date(2027, 5, 10), dt.date(2027, 5, 21))
"""The Aztec Alligator's move the amendment tests make: reason, first and last day."""
FUERZAS = FUERZAS_AMIGAS.key.to_string()
EXCHANGE = STAFF_EXCHANGE.key.to_string()
VISIT = "c9/observation-visit/-/1"
VALIDATED = GateDecision(
    approved=True, tri_chairs=("sedena", "usnorthcom"), activities=(*ACTIVITIES, EXCHANGE)
)


@pytest.fixture
def proposed(ctx: Context) -> Context:
    """Cycle 9 planned, the sample APA proposed."""
    plan(ctx, number=9, now=OPENED, actor="test")
    propose_sample(ctx)
    return ctx


@pytest.fixture
def validated(proposed: Context) -> Context:
    """The tri-chairs validated all three proposals at the executive session."""
    decide(proposed, key=APA, decision=VALIDATED, now=SESSION, actor="cli:secretariat")
    return proposed


def tracked(ctx: Context) -> dict[str, TrackedItem]:
    with ctx.store.session() as session:
        return {t.item.key.to_string(): t for t in tracked_items(session, cycle=9)}


def generation(ctx: Context) -> int:
    with ctx.store.session() as session:
        return store_generation(session)


def feed_events(
    ctx: Context, audience: Audience, lang: Lang = "en", as_of: dt.date = dt.date(2026, 12, 16)
) -> dict[str, Any]:
    """The feed's events by UID, read back with `icalendar`."""
    data = build_feed(
        program=ctx.program,
        catalogue=shipped_catalogue(),
        tracked=list(tracked(ctx).values()),
        request=FeedRequest(audience=audience, lang=lang),
        as_of=as_of,
    )
    return {str(e["uid"]).split("@")[0]: e for e in Calendar.from_ical(data).walk("VEVENT")}


def reschedule(
    ctx: Context, key: str, reason: str, first: dt.date, last: dt.date, *, now: dt.datetime = LATER
) -> Any:
    """The secretariat moves one activity of cycle 9's APA: `amend_apa`'s version and report."""
    amendment = Amendment(AmendmentKind.reschedule, key, reason, first, last)
    return amend_apa(ctx, number=9, amendment=amendment, now=now, actor="secretariat")


def refusal(call: Callable[[], object]) -> str:
    with pytest.raises(InputError) as caught:
        call()
    return str(caught.value)


class TestDraftAndValidation:
    def test_the_draft_is_every_standing_proposal(self, proposed: Context) -> None:
        """Before the session the APA is a draft: the bodies' proposals, by date; no version."""
        withdraw_activity(proposed, key=EXCHANGE, now=LATER, actor="wg")
        state = apa_state(proposed, number=9)
        assert [a.key.to_string() for a in state.draft] == [FUERZAS, AZTEC]
        assert [a.key.to_string() for a in state.withdrawn] == [EXCHANGE]
        assert (state.versions, state.selected) == ((), None)
        assert ItemKind.activity not in {t.item.kind for t in tracked(proposed).values()}

    def test_apa_inputs_need_a_proposal_of_the_body(self, proposed: Context) -> None:
        """A body that proposed nothing cannot hand in its APA inputs; one that did can."""
        assert refusal(
            lambda: record(
                proposed, key="c9/deliverable/sst-air/apa-inputs", action=Action.submit, actor="x", now=LATER
            )
        ) == (
            "c9/deliverable/sst-air/apa-inputs: sst-air has proposed no activity for cycle 9; "
            "propose them with `roundtable apa propose` first (or waive the inputs)"
        )
        view = record(
            proposed, key="c9/deliverable/sst-navy/apa-inputs", action=Action.submit, actor="x", now=LATER
        )
        assert view.state.value == "submitted"

    def test_the_last_proposal_behind_handed_in_inputs_stays(self, proposed: Context) -> None:
        """Submitted APA inputs keep at least one proposal behind them, as when they were
        submitted: withdrawing the last is refused (and nothing is written) until the inputs
        are returned; then it goes."""
        inputs = "c9/deliverable/sst-navy/apa-inputs"
        record(proposed, key=inputs, action=Action.submit, actor="x", now=LATER)
        before = generation(proposed)
        assert refusal(lambda: withdraw_activity(proposed, key=AZTEC, now=LATER, actor="navy")) == (
            f"{AZTEC}: it is sst-navy's last proposal, and its APA inputs ({inputs}) are submitted: "
            f"return them first (`roundtable deliverables return {inputs}`) or propose another activity"
        )
        assert generation(proposed) == before
        assert AZTEC in {a.key.to_string() for a in apa_state(proposed, number=9).draft}
        record(proposed, key=inputs, action=Action.return_, actor="x", now=LATER)
        assert withdraw_activity(proposed, key=AZTEC, now=LATER, actor="navy") is True

    def test_validation_freezes_version_1_and_plans_the_activities(self, validated: Context) -> None:
        """The validated activities become version 1 and items of the cycle, with their facts."""
        state = apa_state(validated, number=9)
        [version] = state.versions
        assert (version.version, version.validated, version.decided_by, version.gate) == (
            1,
            True,
            "sedena, usnorthcom",
            APA,
        )
        assert [a.key.to_string() for a in version.activities] == [EXCHANGE, FUERZAS, AZTEC]
        item = tracked(validated)[AZTEC].item
        assert (item.first_day, item.last_day, item.host, item.owner) == (
            dt.date(2027, 6, 8),
            dt.date(2027, 6, 18),
            "semar",
            "sst-navy",
        )
        assert item.activity is not None
        assert (item.activity.kind, item.activity.participants) == ("combined-exercise", ("usnorthcom",))
        assert item.location is not None
        assert item.location.en == "Veracruz, Gulf of Mexico"

    def test_a_validated_proposal_is_frozen(self, validated: Context) -> None:
        """Revising or withdrawing a validated activity is refused: it is amended instead."""
        moved = dataclasses.replace(AZTEC_ALLIGATOR, last_day=dt.date(2027, 6, 25))
        before = generation(validated)
        assert refusal(lambda: propose_activity(validated, activity=moved, now=LATER, actor="navy")) == (
            f"{AZTEC}: is in the validated APA (version 1); change it with `roundtable apa amend`"
        )
        assert refusal(lambda: withdraw_activity(validated, key=AZTEC, now=LATER, actor="navy")) == (
            f"{AZTEC}: is in the validated APA (version 1); drop it with `roundtable apa amend --drop`"
        )
        assert generation(validated) == before

    def test_a_proposal_after_validation_waits_for_an_amendment(self, validated: Context) -> None:
        """A new proposal is in the draft but not in the APA nor the calendars until added."""
        late = dataclasses.replace(
            STAFF_EXCHANGE, key=dataclasses.replace(STAFF_EXCHANGE.key, name="late-visit")
        )
        propose_activity(validated, activity=late, now=LATER, actor="wg")
        assert "c9/activity/wg-c2-interoperability/late-visit" not in tracked(validated)
        amend_apa(
            validated,
            number=9,
            amendment=Amendment(AmendmentKind.add, late.key.to_string(), "Agreed by the IB chairs."),
            now=LATER,
            actor="secretariat",
        )
        assert tracked(validated)["c9/activity/wg-c2-interoperability/late-visit"].status == "planned"


class TestAmendments:
    def test_an_amendment_keeps_both_versions_and_the_reason(self, validated: Context) -> None:
        """Rescheduling makes version 2 with its reason; version 1 still holds the old dates;
        the activity's item moves with a higher revision."""
        version, report = reschedule(
            validated, AZTEC, "Hurricane season.", dt.date(2027, 5, 10), dt.date(2027, 5, 21)
        )
        assert report.updated == [AZTEC]
        first, second = apa_state(validated, number=9).versions
        assert (second.version, second.validated, second.reason, second.decided_by) == (
            2,
            False,
            "Hurricane season.",
            "secretariat",
        )
        assert second == version
        assert first.activity(AZTEC) == AZTEC_ALLIGATOR
        assert second.activity(AZTEC) == dataclasses.replace(
            AZTEC_ALLIGATOR, first_day=dt.date(2027, 5, 10), last_day=dt.date(2027, 5, 21)
        )
        entry = tracked(validated)[AZTEC]
        assert (entry.item.first_day, entry.revision) == (dt.date(2027, 5, 10), 1)
        with validated.store.session() as session:
            logged = [(r.action, r.item_key) for r in change_log(session, cycle=9)][-2:]
        assert logged == [("apa-amended", None), ("replanned", AZTEC)]

    def test_a_dropped_activity_is_cancelled_in_the_feeds(self, validated: Context) -> None:
        amend_apa(
            validated,
            number=9,
            amendment=Amendment(AmendmentKind.drop, EXCHANGE, "Merged into the C2 working group."),
            now=LATER,
            actor="secretariat",
        )
        assert tracked(validated)[EXCHANGE].status == "cancelled"
        event = feed_events(validated, Audience(AudienceKind.activities), as_of=LATER.date())[EXCHANGE]
        assert (str(event["status"]), event["sequence"]) == ("CANCELLED", 1)

    def test_nothing_is_amended_before_validation(self, proposed: Context) -> None:
        assert refusal(
            lambda: amend_apa(
                proposed, number=9, amendment=Amendment(AmendmentKind.drop, AZTEC, "r"), now=LATER, actor="x"
            )
        ) == (
            "cycle 9: the APA is not validated yet; the tri-chairs validate it at the executive session, "
            "and only then is it amended"
        )


class TestObservationVisit:
    def test_only_validated_observable_activities_of_the_second_year_are_offered(
        self, validated: Context
    ) -> None:
        """The exchange was validated but is not observable; a proposal not validated is not offered."""
        unvalidated = dataclasses.replace(
            AZTEC_ALLIGATOR, key=dataclasses.replace(AZTEC_ALLIGATOR.key, name="unvalidated-2027")
        )
        propose_activity(validated, activity=unvalidated, now=LATER, actor="navy")
        assert offered_activities(validated, number=9) == (FUERZAS, AZTEC)
        assert [a.title.en for a in observable_activities(validated, number=9)] == [
            FUERZAS_AMIGAS.title.en,
            AZTEC_ALLIGATOR.title.en,
        ]

    def test_choosing_an_exercise_moves_the_visit_in_the_plan_and_the_feeds(self, validated: Context) -> None:
        """The visit takes the exercise's first working days and its place; its UID stays and
        its SEQUENCE rises; what is anchored to the visit moves with it."""
        before = tracked(validated)
        assert before[VISIT].item.start is not None
        assert before[VISIT].item.start.date() == dt.date(2027, 4, 13)
        event_before = feed_events(validated, Audience(AudienceKind.all))[VISIT]
        chosen = GateDecision(approved=True, tri_chairs=("semar",), activities=(AZTEC,))
        decide(validated, key=EXERCISE, decision=chosen, now=SELECTION, actor="cli:secretariat")
        after = tracked(validated)
        visit = after[VISIT]
        assert visit.item.start is not None
        assert visit.item.end is not None
        assert (visit.item.start.date(), visit.item.end.date(), visit.item.host) == (
            dt.date(2027, 6, 8),
            dt.date(2027, 6, 10),
            "semar",
        )
        assert visit.revision == before[VISIT].revision + 1
        assert after["c9/deliverable/-/visit-report"].item.due == dt.date(2027, 7, 12)
        assert (
            after["c9/deliverable/-/visit-report"].item.due
            != before["c9/deliverable/-/visit-report"].item.due
        )
        for lang in ("en", "es"):
            event = feed_events(validated, Audience(AudienceKind.all), lang)[VISIT]
            assert event["sequence"] == event_before["sequence"] + 1
            assert event.decoded("dtstart").date() == dt.date(2027, 6, 8)
        assert str(feed_events(validated, Audience(AudienceKind.all))[VISIT]["location"]) == (
            "SEMAR, Veracruz, Gulf of Mexico"
        )
        assert apa_state(validated, number=9).selected == AZTEC

    def test_rescheduling_the_chosen_exercise_moves_the_visit_and_dropping_it_is_refused(
        self, validated: Context
    ) -> None:
        chosen = GateDecision(approved=True, tri_chairs=("semar",), activities=(AZTEC,))
        decide(validated, key=EXERCISE, decision=chosen, now=SELECTION, actor="cli:secretariat")
        assert (
            refusal(
                lambda: amend_apa(
                    validated,
                    number=9,
                    amendment=Amendment(AmendmentKind.drop, AZTEC, "r"),
                    now=LATER,
                    actor="x",
                )
            )
            == f"{AZTEC}: is the exercise selected for the observation visit; reschedule it instead"
        )
        reschedule(validated, AZTEC, "A week later.", dt.date(2027, 6, 15), dt.date(2027, 6, 25))
        start = tracked(validated)[VISIT].item.start
        assert start is not None
        assert start.date() == dt.date(2027, 6, 15)

    def test_an_exercise_that_would_not_fit_the_cycle_is_refused_and_nothing_written(
        self, validated: Context
    ) -> None:
        """An exercise so late that the visit report would fall after the cycle closes."""
        late = dataclasses.replace(
            AZTEC_ALLIGATOR,
            key=dataclasses.replace(AZTEC_ALLIGATOR.key, name="late-2027"),
            first_day=dt.date(2027, 8, 2),
            last_day=dt.date(2027, 8, 13),
        )
        propose_activity(validated, activity=late, now=LATER, actor="navy")
        amend_apa(
            validated,
            number=9,
            amendment=Amendment(AmendmentKind.add, late.key.to_string(), "Added."),
            now=LATER,
            actor="secretariat",
        )
        before = generation(validated)
        chosen = GateDecision(approved=True, tri_chairs=("semar",), activities=(late.key.to_string(),))
        message = refusal(lambda: decide(validated, key=EXERCISE, decision=chosen, now=SELECTION, actor="x"))
        assert message.startswith(f"{EXERCISE}: the cycle would not fit: puts ")
        assert "after the cycle closes on 2027-08-31" in message
        assert generation(validated) == before


class TestActivitiesInTheFeeds:
    def test_the_activities_feed_holds_the_validated_apa_in_both_languages(self, validated: Context) -> None:
        """All-day events over their dates; a window is tentative; the kind is a category."""
        english = feed_events(validated, Audience(AudienceKind.activities), "en")
        spanish = feed_events(validated, Audience(AudienceKind.activities), "es")
        assert sorted(english) == sorted(spanish) == sorted([AZTEC, FUERZAS, EXCHANGE])
        aztec = english[AZTEC]
        assert (aztec.decoded("dtstart"), aztec.decoded("dtend")) == (
            dt.date(2027, 6, 8),
            dt.date(2027, 6, 19),
        )
        assert (str(aztec["status"]), str(aztec["transp"])) == ("CONFIRMED", "TRANSPARENT")
        assert str(aztec["location"]) == "SEMAR, Veracruz, Gulf of Mexico"
        assert aztec.categories == [
            "APA activity",
            "Combined exercise",
            "Domain control",
            "Service Staff Talks",
        ]
        assert str(english[EXCHANGE]["status"]) == "TENTATIVE"
        assert str(spanish[AZTEC]["summary"]) == "Ejercicio combinado Phoenix/Aztec Alligator 2027"
        assert "Participantes: USNORTHCOM" in str(spanish[AZTEC]["description"])
        assert "Fechas por definir dentro de este periodo." in str(spanish[EXCHANGE]["description"])

    @pytest.mark.parametrize(
        ("audience", "expected"),
        [
            (Audience(AudienceKind.all), {AZTEC, FUERZAS, EXCHANGE}),
            (Audience(AudienceKind.org, "semar"), {AZTEC, EXCHANGE}),
            (Audience(AudienceKind.org, "sedena"), {FUERZAS, EXCHANGE}),
            (Audience(AudienceKind.org, "usnorthcom"), {AZTEC, FUERZAS, EXCHANGE}),
            (Audience(AudienceKind.group, "sst-navy"), {AZTEC}),
            (Audience(AudienceKind.group, "sst-air"), set()),
            (Audience(AudienceKind.executive), set()),
            (Audience(AudienceKind.deliverables), set()),
        ],
        ids=lambda value: value.to_string() if isinstance(value, Audience) else None,
    )
    def test_an_activity_is_in_the_feeds_of_its_body_host_and_participants(
        self, validated: Context, audience: Audience, expected: set[str]
    ) -> None:
        events = feed_events(validated, audience)
        assert {uid for uid in events if "/activity/" in uid} == expected


class TestCarriedOutAsPlanned:
    @pytest.mark.parametrize(
        ("as_of", "share"),
        [
            (dt.date(2026, 9, 30), None),  # validated, nothing over yet
            (dt.date(2026, 12, 16), 1.0),  # the exchange's window is over, as validated
            (dt.date(2027, 8, 1), 2 / 3),  # the Aztec Alligator was moved by an amendment
        ],
        ids=["none-over", "one-over", "all-over"],
    )
    def test_the_ame_report_shows_the_share_of_the_apa_carried_out_as_planned(
        self, validated: Context, as_of: dt.date, share: float | None
    ) -> None:
        reschedule(validated, AZTEC, *HURRICANE_SEASON)
        report = ame_report(validated, number=9, as_of=as_of)
        assert report.apa_carried_out_as_planned == (None if share is None else pytest.approx(share))

    def test_before_validation_there_is_no_share(self, proposed: Context) -> None:
        assert ame_report(proposed, number=9, as_of=dt.date(2027, 8, 1)).apa_carried_out_as_planned is None


class TestTheVisitStaysWithItsExercise:
    def choose(self, ctx: Context, key: str, now: dt.datetime = SELECTION) -> None:
        decide(
            ctx,
            key=EXERCISE,
            decision=GateDecision(approved=True, tri_chairs=("semar",), activities=(key,)),
            now=now,
            actor="cli:secretariat",
        )

    def add_exercise(self, ctx: Context, name: str, first: dt.date, last: dt.date) -> str:
        exercise = dataclasses.replace(
            AZTEC_ALLIGATOR,
            key=dataclasses.replace(AZTEC_ALLIGATOR.key, name=name),
            kind="training",
            first_day=first,
            last_day=last,
        )
        propose_activity(ctx, activity=exercise, now=LATER, actor="navy")
        amend_apa(
            ctx,
            number=9,
            amendment=Amendment(AmendmentKind.add, exercise.key.to_string(), "Added."),
            now=LATER,
            actor="secretariat",
        )
        return exercise.key.to_string()

    @pytest.mark.parametrize(
        ("first", "last", "visit"),
        [
            (dt.date(2027, 4, 8), dt.date(2027, 4, 11), (dt.date(2027, 4, 8), dt.date(2027, 4, 9))),
            (dt.date(2027, 4, 10), dt.date(2027, 4, 11), (dt.date(2027, 4, 10), dt.date(2027, 4, 11))),
        ],
        ids=["thursday-to-sunday", "a-weekend"],
    )
    def test_a_short_exercise_is_visited_inside_its_dates(
        self, validated: Context, first: dt.date, last: dt.date, visit: tuple[dt.date, dt.date]
    ) -> None:
        """A Thursday-to-Sunday training is visited Thursday and Friday; a weekend one on
        the weekend: never after the exercise has ended."""
        self.choose(validated, self.add_exercise(validated, "short-2027", first, last))
        planned = tracked(validated)[VISIT].item
        assert planned.start is not None
        assert planned.end is not None
        assert (planned.start.date(), planned.end.date()) == visit

    def test_an_exercise_that_has_begun_is_not_offered(self, validated: Context) -> None:
        """On the day Fuerzas Amigas begins it can no longer be chosen; Aztec Alligator can."""
        assert offered_activities(validated, number=9, as_of=dt.date(2027, 4, 12)) == (FUERZAS, AZTEC)
        assert offered_activities(validated, number=9, as_of=dt.date(2027, 4, 13)) == (AZTEC,)
        late = dt.datetime(2027, 4, 14, 15, 0, tzinfo=dt.UTC)
        assert refusal(lambda: self.choose(validated, FUERZAS, now=late)).startswith(
            f"exercise: '{FUERZAS}' is not one the visit can observe: "
        )

    @pytest.mark.parametrize(
        ("first", "last", "message"),
        [
            (
                dt.date(2026, 8, 10),
                dt.date(2026, 8, 20),
                f"{AZTEC}: the observation visit observes it, so it stays in the cycle's second year "
                "(from 2026-09-01)",
            ),
            (
                dt.date(2026, 12, 10),
                dt.date(2026, 12, 20),
                f"{AZTEC}: the observation visit observes it, so it cannot move to 2026-12-10: "
                "the visit would be in the past",
            ),
        ],
        ids=["into-year-one", "into-the-past"],
    )
    def test_the_observed_exercise_cannot_move_out_of_reach(
        self, validated: Context, first: dt.date, last: dt.date, message: str
    ) -> None:
        self.choose(validated, AZTEC)
        before = generation(validated)
        today = dt.datetime(2026, 12, 20, 15, 0, tzinfo=dt.UTC)
        assert refusal(lambda: reschedule(validated, AZTEC, "r", first, last, now=today)) == message
        assert generation(validated) == before


class TestWindows:
    def test_rescheduling_a_window_gives_it_firm_dates_still_as_planned(self, validated: Context) -> None:
        """The exchange was validated as a window; firm dates inside it are no longer tentative
        and it still counts as carried out as planned."""
        reschedule(validated, EXCHANGE, "Dates agreed.", dt.date(2026, 10, 19), dt.date(2026, 10, 23))
        event = feed_events(validated, Audience(AudienceKind.activities), as_of=LATER.date())[EXCHANGE]
        assert str(event["status"]) == "CONFIRMED"
        assert "Dates to be set within this window." not in str(event["description"])
        report = ame_report(validated, number=9, as_of=dt.date(2026, 12, 16))
        assert report.apa_carried_out_as_planned == 1.0
