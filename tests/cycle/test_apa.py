"""The APA's pure rules: what a proposal must hold, what the validation freezes, how an
amendment makes the next version, and what the observation visit may be drawn from."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from cycle.apa import (
    Activity,
    Amendment,
    AmendmentKind,
    ApaVersion,
    activity_key,
    amend,
    carried_out_as_planned,
    check_activity,
    observable,
    parse_activity_key,
    validated_version,
)
from cycle.cycles import Cycle, cycle_by_number
from cycle.errors import InputError
from cycle.program import Localized, Program
from tests.apa import AZTEC_ALLIGATOR, FUERZAS_AMIGAS, SAMPLE, STAFF_EXCHANGE

AT = dt.datetime(2026, 8, 4, 18, 0, tzinfo=dt.UTC)
LATER = AT + dt.timedelta(days=30)
GATE = "c9/gate/-/apa-validation"
AZTEC = AZTEC_ALLIGATOR.key.to_string()
FUERZAS = FUERZAS_AMIGAS.key.to_string()
EXCHANGE = STAFF_EXCHANGE.key.to_string()


@pytest.fixture
def cycle9(program: Program) -> Cycle:
    return cycle_by_number(program, 9)


def refusal(program: Program, cycle: Cycle, activity: Activity) -> str:
    with pytest.raises(InputError) as caught:
        check_activity(program, cycle, activity)
    return str(caught.value)


def version1() -> ApaVersion:
    return validated_version(
        cycle=9, draft=SAMPLE, chosen=(AZTEC, FUERZAS), decided_by="sedena", gate=GATE, at=AT
    )


class TestProposal:
    def test_a_good_proposal_is_kept_with_its_text_tidied(self, program: Program, cycle9: Cycle) -> None:
        """Titles lose outer whitespace; the host is not listed again among the participants."""
        untidy = replace(
            AZTEC_ALLIGATOR,
            title=Localized(en="  Aztec Alligator ", es="Aztec Alligator\t"),
            participants=("semar", "usnorthcom"),
        )
        checked = check_activity(program, cycle9, untidy)
        assert (checked.title, checked.participants) == (
            Localized(en="Aztec Alligator", es="Aztec Alligator"),
            ("usnorthcom",),
        )
        assert checked.institutions == ("semar", "usnorthcom")

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            (
                {"key": activity_key(9, "sst-nav", "x")},
                "body: 'sst-nav' is not an active SST, IB or WG (one of ",
            ),
            (
                {"kind": "parade"},
                "kind: 'parade' is not a kind of activity (one of combined-exercise, training, exchange, "
                "staff-visit)",
            ),
            ({"host": "navy"}, "host: 'navy' is not an institution (one of usnorthcom, sedena, semar)"),
            (
                {"participants": ("usnorthcom", "army")},
                "participants: 'army' is not an institution (one of usnorthcom, sedena, semar)",
            ),
            (
                {"participants": ("usnorthcom", "usnorthcom")},
                "participants: each institution once, at most 20",
            ),
            ({"line_of_effort": "cyber"}, "line_of_effort: 'cyber' is not a line of effort (one of "),
            ({"objectives": ("sst-navy/a", "sst-navy/a")}, "objectives: each objective once, at most 20"),
            (
                {"last_day": dt.date(2027, 6, 1)},
                "last_day: 2027-06-01 is before first_day 2027-06-08",
            ),
            (
                {"first_day": dt.date(2027, 8, 30), "last_day": dt.date(2027, 9, 3)},
                "dates: 2027-08-30 to 2027-09-03 fall outside cycle 9 (2025-09-01 to 2027-08-31)",
            ),
            ({"title": Localized(en="A\nB", es="A")}, "title_en: one line of 1-200 characters"),
            ({"title": Localized(en="A", es=" ")}, "title_es: one line of 1-200 characters"),
            ({"location": Localized(en="x" * 201, es="x")}, "location_en: one line of 1-200 characters"),
            ({"key": activity_key(10, "sst-navy", "x")}, "key: c10/activity/sst-navy/x is not of cycle 9"),
        ],
        ids=[
            "unknown-body",
            "unknown-kind",
            "unknown-host",
            "unknown-participant",
            "participant-twice",
            "unknown-line",
            "objective-twice",
            "ends-before-it-starts",
            "outside-the-cycle",
            "title-on-two-lines",
            "blank-spanish-title",
            "location-too-long",
            "other-cycle",
        ],
    )
    def test_a_bad_proposal_is_refused_naming_the_field(
        self, program: Program, cycle9: Cycle, change: dict[str, object], message: str
    ) -> None:
        """Each fault is one line that starts with the field at fault."""
        assert refusal(program, cycle9, replace(AZTEC_ALLIGATOR, **change)).startswith(message)  # type: ignore[arg-type]

    @pytest.mark.parametrize("slug", ["Aztec", "aztec alligator", "-x", "x--y", "x" * 61, ""])
    def test_an_activity_slug_is_lowercase_words_joined_by_hyphens(self, slug: str) -> None:
        with pytest.raises(InputError, match=r"^slug: "):
            activity_key(9, "sst-navy", slug)

    @pytest.mark.parametrize(
        "text",
        ["c9/deliverable/sst-navy/x", "c9/activity/-/x", "activity/sst-navy/x", "c9/activity/sst-navy"],
    )
    def test_only_an_activity_key_is_an_activity_key(self, text: str) -> None:
        with pytest.raises(InputError):
            parse_activity_key(text)


class TestValidation:
    def test_the_validated_apa_is_what_the_tri_chairs_named_in_draft_order(self) -> None:
        """Version 1 holds the named activities in the draft's order, whatever order they came in."""
        version = version1()
        assert (version.version, version.validated, version.gate) == (1, True, GATE)
        assert [a.key.to_string() for a in version.activities] == [FUERZAS_AMIGAS.key.to_string(), AZTEC]

    def test_an_activity_outside_the_draft_is_refused(self) -> None:
        with pytest.raises(InputError) as caught:
            validated_version(
                cycle=9,
                draft=SAMPLE,
                chosen=("c9/activity/sst-air/x",),
                decided_by="sedena",
                gate=GATE,
                at=AT,
            )
        assert (
            str(caught.value)
            == "validated_activities: c9/activity/sst-air/x is not in the draft APA of cycle 9"
        )

    def test_an_empty_validation_is_refused(self) -> None:
        with pytest.raises(
            InputError, match=r"^validated_activities: an approved APA lists at least one activity$"
        ):
            validated_version(cycle=9, draft=SAMPLE, chosen=(), decided_by="sedena", gate=GATE, at=AT)

    def test_an_activity_round_trips_through_json(self) -> None:
        for activity in SAMPLE:
            assert Activity.from_json(activity.to_json()) == activity


class TestAmendment:
    def amend(self, cycle: Cycle, amendment: Amendment, selected: str | None = None) -> ApaVersion:
        return amend(
            version1(),
            amendment,
            cycle=cycle,
            proposals=SAMPLE,
            selected=selected,
            decided_by="secretariat",
            at=LATER,
        )

    def refusal(self, cycle: Cycle, amendment: Amendment, selected: str | None = None) -> str:
        with pytest.raises(InputError) as caught:
            self.amend(cycle, amendment, selected)
        return str(caught.value)

    def test_adding_a_standing_proposal_makes_version_2_with_the_reason(self, cycle9: Cycle) -> None:
        """The new version holds the old activities and the added one; version 1 is untouched."""
        before = version1()
        added = self.amend(cycle9, Amendment(AmendmentKind.add, EXCHANGE, " Agreed at the IB. \r\n"))
        assert (added.version, added.validated, added.reason) == (2, False, "Agreed at the IB.")
        assert added.change == {"kind": "add", "key": EXCHANGE}
        assert [a.key.to_string() for a in added.activities] == [FUERZAS, AZTEC, EXCHANGE]
        assert version1() == before

    def test_dropping_an_activity_removes_it_from_the_next_version(self, cycle9: Cycle) -> None:
        dropped = self.amend(cycle9, Amendment(AmendmentKind.drop, AZTEC, "Ship unavailable."))
        assert [a.key.to_string() for a in dropped.activities] == [FUERZAS]

    def test_rescheduling_moves_only_the_dates(self, cycle9: Cycle) -> None:
        moved = self.amend(
            cycle9,
            Amendment(
                AmendmentKind.reschedule,
                AZTEC,
                "Hurricane season.",
                dt.date(2027, 5, 10),
                dt.date(2027, 5, 21),
            ),
        )
        assert moved.activity(AZTEC) == replace(
            AZTEC_ALLIGATOR, first_day=dt.date(2027, 5, 10), last_day=dt.date(2027, 5, 21)
        )
        assert moved.change == {
            "kind": "reschedule",
            "key": AZTEC,
            "first_day": "2027-05-10",
            "last_day": "2027-05-21",
        }

    @pytest.mark.parametrize(
        ("amendment", "selected", "message"),
        [
            (Amendment(AmendmentKind.drop, AZTEC, "  "), None, "reason: an amendment needs a reason"),
            (Amendment(AmendmentKind.add, AZTEC, "r"), None, f"{AZTEC}: is in the APA already (version 1)"),
            (
                Amendment(AmendmentKind.add, "c9/activity/sst-air/x", "r"),
                None,
                "c9/activity/sst-air/x: no standing proposal; propose it with `roundtable apa propose` first",
            ),
            (
                Amendment(AmendmentKind.drop, EXCHANGE, "r"),
                None,
                f"{EXCHANGE}: is not in the APA of cycle 9 (version 1)",
            ),
            (
                Amendment(AmendmentKind.drop, AZTEC, "r"),
                AZTEC,
                f"{AZTEC}: is the exercise selected for the observation visit; reschedule it instead",
            ),
            (
                Amendment(AmendmentKind.reschedule, AZTEC, "r", dt.date(2027, 6, 8), dt.date(2027, 6, 18)),
                None,
                f"{AZTEC}: already runs 2027-06-08 to 2027-06-18",
            ),
            (
                Amendment(AmendmentKind.reschedule, AZTEC, "r", dt.date(2027, 6, 8)),
                None,
                "first_day, last_day: a reschedule gives both new dates",
            ),
            (
                Amendment(AmendmentKind.reschedule, AZTEC, "r", dt.date(2027, 8, 30), dt.date(2027, 9, 2)),
                None,
                "dates: 2027-08-30 to 2027-09-02 fall outside cycle 9 (2025-09-01 to 2027-08-31)",
            ),
        ],
        ids=[
            "no-reason",
            "add-twice",
            "add-unproposed",
            "drop-absent",
            "drop-selected",
            "same-dates",
            "one-date",
            "outside-cycle",
        ],
    )
    def test_a_bad_amendment_is_refused(
        self, cycle9: Cycle, amendment: Amendment, selected: str | None, message: str
    ) -> None:
        assert self.refusal(cycle9, amendment, selected) == message


class TestObservable:
    def test_only_exercises_and_trainings_of_the_second_year_are_observable(
        self, program: Program, cycle9: Cycle
    ) -> None:
        """The exchange is neither observable nor in year two; a first-year exercise is not offered."""
        early = replace(FUERZAS_AMIGAS, first_day=dt.date(2026, 8, 31), last_day=dt.date(2026, 9, 4))
        training = replace(AZTEC_ALLIGATOR, kind="training")
        chosen = observable(program, cycle9, [*SAMPLE, early, training])
        assert chosen == (FUERZAS_AMIGAS, AZTEC_ALLIGATOR, training)

    def test_a_12_month_cycle_offers_nothing(self, program: Program) -> None:
        assert observable(program, cycle_by_number(program, 7), SAMPLE) == ()


class TestCarriedOutAsPlanned:
    def test_counts_the_validated_activities_due_that_kept_their_dates(self) -> None:
        """Of the activities over by `as_of`, those neither dropped nor moved count as carried out."""
        validated = version1()
        moved = amend(
            validated,
            Amendment(AmendmentKind.reschedule, AZTEC, "r", dt.date(2027, 7, 5), dt.date(2027, 7, 9)),
            cycle=Cycle(9, dt.date(2025, 9, 1), 24),
            proposals=SAMPLE,
            selected=None,
            decided_by="secretariat",
            at=LATER,
        )
        assert carried_out_as_planned(validated, moved, as_of=dt.date(2027, 4, 22)) == (0, 0)
        assert carried_out_as_planned(validated, moved, as_of=dt.date(2027, 4, 23)) == (1, 1)
        assert carried_out_as_planned(validated, moved, as_of=dt.date(2027, 8, 1)) == (1, 2)
