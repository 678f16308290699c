"""The schedule engine: the program's facts, cycle windows, time zones, deadlines on
working days of both countries, and stable item identity (DESIGN, "The domain")."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cycle.apa import Activity, ApaPlan, activity_key
from cycle.business_calendar import BusinessCalendar
from cycle.cycles import Cycle, cycle_by_number, cycle_on
from cycle.items import ItemKey, ItemKind, PlannedItem
from cycle.program import Anchor, Localized, Phase, Program
from cycle.schedule import CyclePlan, TemplateRangeError, plan_cycle

D = dt.date
DEADLINE_KINDS = frozenset({ItemKind.deliverable, ItemKind.gate})
VISIT_ANCHORS = frozenset({Anchor.observation_visit, Anchor.observation_visit_end})
HISTORY_CYCLES = range(1, 8)
TEMPLATE_CYCLES = (8, 9, 10, 25, 40)


def _month_of_cycle(cycle: Cycle, day: dt.date) -> int:
    """The 1-based month of `cycle` that holds `day`."""
    return (day.year - cycle.start.year) * 12 + day.month - cycle.start.month + 1


def _only(plan: CyclePlan, kind: ItemKind) -> PlannedItem:
    (item,) = [item for item in plan.items if item.kind is kind]
    return item


def _utc(item: PlannedItem) -> pendulum.DateTime:
    assert item.start is not None
    return item.start.in_timezone("UTC")


def _assert_fits(plan: CyclePlan, calendar: BusinessCalendar) -> None:
    """Every item inside the cycle, every deadline on a working day, every key unique."""
    cycle = plan.cycle
    for item in plan.items:
        first, last = item.dates
        assert cycle.start <= first <= last <= cycle.end, item.key
        if item.kind in DEADLINE_KINDS:
            assert item.due is not None
            assert calendar.is_working_day(item.due), (item.key, item.due)
    keys = [item.key for item in plan.items]
    assert len(set(keys)) == len(keys)


class TestProgramFacts:
    def test_tri_chairs_are_the_usnorthcom_deputy_commander_and_the_sedena_and_semar_chiefs_of_staff(
        self, program: Program
    ) -> None:
        """The tri-chairs are USNORTHCOM's deputy commander and the chiefs of staff of SEDENA and SEMAR."""
        assert [(chair.institution, chair.title.en) for chair in program.tri_chairs] == [
            ("usnorthcom", "Deputy Commander, United States Northern Command"),
            ("sedena", "Chief of Staff of National Defense"),
            ("semar", "Chief of Staff of the Navy"),
        ]

    def test_seventh_roundtable_executive_session_is_in_august_2023_in_colorado_springs(
        self, program: Program
    ) -> None:
        """Cycle 7's executive session opens on 1 August 2023, hosted by USNORTHCOM in Colorado Springs."""
        session = _only(plan_cycle(program, 7), ItemKind.executive_session)
        assert session.start == pendulum.datetime(2023, 8, 1, 9, 0, tz="America/Denver")
        assert session.end == pendulum.datetime(2023, 8, 2, 17, 0, tz="America/Denver")
        assert session.host == "usnorthcom"
        assert session.location is not None
        assert "Colorado Springs" in session.location.en
        assert "Colorado Springs" in session.location.es


class TestCycles:
    @pytest.mark.parametrize(
        ("number", "months"),
        [*((n, 12) for n in HISTORY_CYCLES), *((n, 24) for n in TEMPLATE_CYCLES)],
    )
    def test_cycles_1_to_7_last_12_months_and_from_8_on_24_months(
        self, program: Program, number: int, months: int
    ) -> None:
        """Until the seventh roundtable a cycle lasted 12 months; from cycle 8 on it lasts 24."""
        assert cycle_by_number(program, number).months == months

    @pytest.mark.parametrize(
        ("number", "start", "end"),
        [
            (1, D(2015, 9, 1), D(2016, 8, 31)),
            (7, D(2022, 9, 1), D(2023, 8, 31)),
            (8, D(2023, 9, 1), D(2025, 8, 31)),
            (9, D(2025, 9, 1), D(2027, 8, 31)),
            (10, D(2027, 9, 1), D(2029, 8, 31)),
        ],
    )
    def test_cycle_windows(self, program: Program, number: int, start: dt.date, end: dt.date) -> None:
        """Cycle 8 opens on 1 September 2023; each later cycle opens the day after the previous one closes."""
        cycle = cycle_by_number(program, number)
        assert (cycle.start, cycle.end) == (start, end)

    @pytest.mark.parametrize(
        ("day", "number"),
        [
            (D(2026, 11, 24), 9),
            (D(2025, 9, 1), 9),
            (D(2027, 8, 31), 9),
            (D(2025, 8, 31), 8),
            (D(2023, 9, 1), 8),
            (D(2023, 8, 31), 7),
            (D(2015, 9, 1), 1),
        ],
    )
    def test_cycle_on_finds_the_cycle_whose_window_holds_the_day(
        self, program: Program, day: dt.date, number: int
    ) -> None:
        """On 24 November 2026 the current cycle is 9, and each cycle holds its first and last day."""
        cycle = cycle_on(program, day)
        assert cycle is not None
        assert cycle.number == number

    @pytest.mark.parametrize(
        "day",
        [
            pytest.param(D(2020, 3, 1), id="assumed-gap-year"),
            pytest.param(D(2019, 9, 1), id="first-day-of-gap"),
            pytest.param(D(2020, 8, 31), id="last-day-of-gap"),
            pytest.param(D(2015, 8, 31), id="before-the-first-cycle"),
        ],
    )
    def test_cycle_on_is_none_outside_every_cycle(self, program: Program, day: dt.date) -> None:
        """In the assumed year without a roundtable (and before the first cycle) there is no cycle."""
        assert cycle_on(program, day) is None

    @pytest.mark.parametrize("number", TEMPLATE_CYCLES)
    def test_24_month_cycle_has_its_session_in_year_one_and_its_visit_in_year_two(
        self, program: Program, number: int
    ) -> None:
        """A 24-month cycle has its executive session in months 1-12 and its observation visit in 13-24."""
        plan = plan_cycle(program, number)
        session = _only(plan, ItemKind.executive_session)
        visit = _only(plan, ItemKind.observation_visit)
        assert 1 <= _month_of_cycle(plan.cycle, session.dates[0]) <= 12
        assert 1 <= _month_of_cycle(plan.cycle, session.dates[1]) <= 12
        assert 13 <= _month_of_cycle(plan.cycle, visit.dates[0]) <= 24
        assert 13 <= _month_of_cycle(plan.cycle, visit.dates[1]) <= 24

    @pytest.mark.parametrize(
        ("number", "session_day", "session_host", "visit_day", "visit_host"),
        [
            (8, D(2024, 8, 6), "sedena", D(2025, 4, 8), "usnorthcom"),
            (9, D(2026, 8, 4), "usnorthcom", D(2027, 4, 13), "sedena"),
        ],
    )
    def test_24_month_cycle_session_and_visit_dates_and_hosts(
        self,
        program: Program,
        number: int,
        session_day: dt.date,
        session_host: str,
        visit_day: dt.date,
        visit_host: str,
    ) -> None:
        """The session is the 1st Tuesday of month 12, the visit the 2nd Tuesday of month 20; hosts rotate."""
        plan = plan_cycle(program, number)
        session = _only(plan, ItemKind.executive_session)
        visit = _only(plan, ItemKind.observation_visit)
        assert (session.dates[0], session.host) == (session_day, session_host)
        assert (visit.dates[0], visit.host) == (visit_day, visit_host)

    @pytest.mark.parametrize("number", HISTORY_CYCLES)
    def test_12_month_cycle_has_one_session_and_no_visit(self, program: Program, number: int) -> None:
        """A 12-month cycle has one executive session, and no visit, visit phase or visit-anchored item."""
        plan = plan_cycle(program, number)
        kinds = Counter(item.kind for item in plan.items)
        assert kinds[ItemKind.executive_session] == 1
        assert kinds[ItemKind.observation_visit] == 0
        assert [item for item in plan.items if item.phase is Phase.observation_visit] == []
        visit_slugs = {item.slug for item in program.template.items if item.at.anchor in VISIT_ANCHORS}
        assert visit_slugs == {"exercise-selection", "visit-request", "visit-report"}
        assert {item.key.name for item in plan.items} & visit_slugs == set()


class TestTimeZones:
    @pytest.mark.parametrize(
        ("key", "host", "local", "utc"),
        [
            pytest.param(
                "c9/meeting/sst-marines/2",
                "semar",
                pendulum.datetime(2026, 7, 14, 9, 0, tz="America/Mexico_City"),
                pendulum.datetime(2026, 7, 14, 15, 0, tz="UTC"),
                id="mexico-city-july",
            ),
            pytest.param(
                "c9/meeting/wg-logistics/3",
                "sedena",
                pendulum.datetime(2026, 7, 21, 9, 0, tz="America/Mexico_City"),
                pendulum.datetime(2026, 7, 21, 15, 0, tz="UTC"),
                id="mexico-city-july-sedena",
            ),
            pytest.param(
                "c9/meeting/ib-institutional-strengthening/1",
                "semar",
                pendulum.datetime(2026, 1, 27, 9, 0, tz="America/Mexico_City"),
                pendulum.datetime(2026, 1, 27, 15, 0, tz="UTC"),
                id="mexico-city-january-same-offset-no-dst-since-2022",
            ),
            pytest.param(
                "c9/meeting/ib-institutional-strengthening/2",
                "usnorthcom",
                pendulum.datetime(2026, 7, 28, 9, 0, tz="America/Denver"),
                pendulum.datetime(2026, 7, 28, 15, 0, tz="UTC"),
                id="colorado-springs-july-mdt",
            ),
            pytest.param(
                "c9/meeting/sst-marines/1",
                "usnorthcom",
                pendulum.datetime(2026, 1, 13, 9, 0, tz="America/Denver"),
                pendulum.datetime(2026, 1, 13, 16, 0, tz="UTC"),
                id="colorado-springs-january-mst",
            ),
            pytest.param(
                "c7/meeting/sst-army/1",
                "sedena",
                pendulum.datetime(2022, 10, 11, 9, 0, tz="America/Mexico_City"),
                pendulum.datetime(2022, 10, 11, 14, 0, tz="UTC"),
                id="mexico-city-october-2022-still-on-summer-time",
            ),
        ],
    )
    def test_a_0900_meeting_is_at_the_hosts_local_time(
        self, program: Program, key: str, host: str, local: pendulum.DateTime, utc: pendulum.DateTime
    ) -> None:
        """09:00 is 15:00 UTC in Mexico City after Oct 2022; in Colorado Springs 15:00 (Jul), 16:00 (Jan)."""
        item = plan_cycle(program, ItemKey.from_string(key).cycle).by_key()[key]
        assert item.host == host
        assert item.timezone == program.institution(host).timezone
        assert item.start == local
        assert _utc(item) == utc

    @pytest.mark.parametrize("number", [8, 9, 10])
    def test_every_0900_meeting_has_the_utc_hour_of_its_zone_and_month(
        self, program: Program, number: int
    ) -> None:
        """After 2022 Mexico City is always UTC-6; Colorado Springs is UTC-6 in July and UTC-7 in January."""
        expected_utc_hour = {
            ("America/Mexico_City", 1): 15,
            ("America/Mexico_City", 7): 15,
            ("America/Denver", 1): 16,
            ("America/Denver", 7): 15,
        }
        checked: Counter[tuple[str, int]] = Counter()
        for item in plan_cycle(program, number).items:
            if item.kind is not ItemKind.meeting or item.start is None or item.timezone is None:
                continue
            zone_month = (item.timezone, item.start.month)
            if zone_month in expected_utc_hour and item.start.hour == 9:
                assert _utc(item).hour == expected_utc_hour[zone_month], item.key
                checked[zone_month] += 1
        assert set(checked) == set(expected_utc_hour)


class TestDeadlines:
    @pytest.mark.parametrize("number", [1, 7, 8, 9, 10])
    def test_every_deliverable_and_gate_is_due_on_a_working_day_of_both_countries(
        self, program: Program, calendar: BusinessCalendar, number: int
    ) -> None:
        """No deliverable or gate is due on a weekend or on a U.S. or Mexican public holiday."""
        deadlines = [item for item in plan_cycle(program, number).items if item.kind in DEADLINE_KINDS]
        assert deadlines
        assert [(item.key, item.due) for item in deadlines if not calendar.is_working_day(item.due)] == []

    @pytest.mark.parametrize(
        ("key", "due", "owner"),
        [
            pytest.param(
                "c9/deliverable/sst-army/apa-inputs", D(2026, 6, 5), "sst-army", id="session-60-days"
            ),
            pytest.param(
                "c9/deliverable/sst-army/annual-briefing",
                D(2026, 7, 6),
                "sst-army",
                id="sunday-moves-to-monday",
            ),
            pytest.param(
                "c9/deliverable/-/delegation-roster", D(2026, 7, 6), "usnorthcom", id="owned-by-session-host"
            ),
            pytest.param(
                "c9/deliverable/-/read-ahead", D(2026, 7, 21), "secretariat", id="session-10-working-days"
            ),
            pytest.param("c9/gate/-/apa-validation", D(2026, 8, 4), "tri-chairs", id="apa-validation-gate"),
            pytest.param(
                "c9/deliverable/-/signed-minutes",
                D(2026, 8, 26),
                "secretariat",
                id="session-end-15-working-days",
            ),
            pytest.param("c9/gate/-/exercise-selection", D(2026, 12, 14), "tri-chairs", id="visit-120-days"),
            pytest.param(
                "c9/deliverable/-/visit-request", D(2027, 3, 16), "sedena", id="sunday-then-benito-juarez-day"
            ),
            pytest.param(
                "c9/deliverable/-/visit-report", D(2027, 5, 17), "secretariat", id="saturday-moves-to-monday"
            ),
            pytest.param("c9/deliverable/-/ame-report", D(2027, 7, 2), "ame", id="cycle-end-60-days"),
        ],
    )
    def test_cycle_9_deadlines(self, program: Program, key: str, due: dt.date, owner: str) -> None:
        """Cycle 9's executive, visit and assessment deadlines fall on these exact working days."""
        item = plan_cycle(program, 9).by_key()[key]
        assert (item.due, item.owner) == (due, owner)

    @pytest.mark.parametrize(
        ("key", "due", "working"),
        [
            pytest.param("c9/milestone/-/opening", D(2025, 9, 1), False, id="opening-on-us-labor-day"),
            pytest.param("c9/milestone/-/close", D(2027, 8, 31), True, id="close-on-a-tuesday"),
            pytest.param("c8/milestone/-/close", D(2025, 8, 31), False, id="close-on-a-sunday"),
            pytest.param("c7/milestone/-/opening", D(2022, 9, 1), True, id="history-opening"),
        ],
    )
    def test_milestones_keep_their_dates_even_on_non_working_days(
        self, program: Program, calendar: BusinessCalendar, key: str, due: dt.date, working: bool
    ) -> None:
        """Milestones stay on the cycle's first and last day, even when that day is a holiday or a weekend."""
        item = plan_cycle(program, ItemKey.from_string(key).cycle).by_key()[key]
        assert item.due == due
        assert calendar.is_working_day(due) is working

    @pytest.mark.parametrize("number", [7, 8, 9])
    def test_agenda_is_10_working_days_before_and_minutes_10_working_days_after_each_meeting(
        self, program: Program, calendar: BusinessCalendar, number: int
    ) -> None:
        """A meeting's agenda is due 10 working days before its first day, its minutes 10 after its last."""
        plan = plan_cycle(program, number)
        items = plan.by_key()
        meetings = [item for item in plan.items if item.kind is ItemKind.meeting]
        assert meetings
        for meeting in meetings:
            first, last = meeting.dates
            agenda = items[f"c{number}/deliverable/{meeting.body}/agenda-{meeting.key.name}"]
            minutes = items[f"c{number}/deliverable/{meeting.body}/minutes-{meeting.key.name}"]
            assert agenda.due == calendar.add_working_days(first, -10), meeting.key
            assert minutes.due == calendar.add_working_days(last, 10), meeting.key
            assert agenda.due is not None
            assert minutes.due is not None
            assert calendar.working_days_between(agenda.due, first) == 10, meeting.key
            assert calendar.working_days_between(last, minutes.due) == 10, meeting.key

    @pytest.mark.parametrize(
        ("meeting", "first", "last", "agenda", "minutes"),
        [
            pytest.param(
                "c9/meeting/ib-domain-awareness/3",
                D(2026, 11, 24),
                D(2026, 11, 25),
                D(2026, 11, 6),
                D(2026, 12, 10),
                id="over-veterans-day-revolution-day-and-thanksgiving",
            ),
            pytest.param(
                "c9/meeting/sst-army/1",
                D(2025, 10, 14),
                D(2025, 10, 16),
                D(2025, 9, 29),
                D(2025, 10, 30),
                id="agenda-over-columbus-day",
            ),
            pytest.param(
                "c9/meeting/sst-navy/2",
                D(2026, 6, 9),
                D(2026, 6, 11),
                D(2026, 5, 26),
                D(2026, 6, 26),
                id="minutes-over-juneteenth",
            ),
        ],
    )
    def test_agenda_and_minutes_dates_skip_holidays_of_both_countries(
        self,
        program: Program,
        meeting: str,
        first: dt.date,
        last: dt.date,
        agenda: dt.date,
        minutes: dt.date,
    ) -> None:
        """The 10-working-day counts around a meeting skip U.S. and Mexican holidays (exact dates)."""
        items = plan_cycle(program, 9).by_key()
        key = ItemKey.from_string(meeting)
        assert items[meeting].dates == (first, last)
        assert items[f"c9/deliverable/{key.body}/agenda-{key.name}"].due == agenda
        assert items[f"c9/deliverable/{key.body}/minutes-{key.name}"].due == minutes


class TestIdentity:
    @pytest.mark.parametrize("number", [1, 7, 8, 9])
    def test_keys_are_unique_within_a_plan(self, program: Program, number: int) -> None:
        """No two items of a plan share a key."""
        keys = [item.key.to_string() for item in plan_cycle(program, number).items]
        assert [key for key, count in Counter(keys).items() if count > 1] == []

    @pytest.mark.parametrize("number", [7, 9])
    def test_key_text_parses_back_to_the_same_key(self, program: Program, number: int) -> None:
        """`ItemKey.from_string(key.to_string())` gives the key back for every planned item."""
        for item in plan_cycle(program, number).items:
            assert ItemKey.from_string(item.key.to_string()) == item.key

    @pytest.mark.parametrize("number", [7, 9])
    def test_planning_twice_gives_equal_items(self, program: Program, number: int) -> None:
        """The schedule engine is pure: the same program and cycle number give the same plan."""
        assert plan_cycle(program, number).items == plan_cycle(program, number).items


class TestProperties:
    @settings(max_examples=40, deadline=None)
    @given(number=st.integers(min_value=1, max_value=40))
    def test_every_cycle_fits_its_window_and_plans_the_same_twice(
        self, program: Program, calendar: BusinessCalendar, number: int
    ) -> None:
        """Any cycle 1-40 fits its window, on working days, with unique keys, and plans the same twice."""
        plan = plan_cycle(program, number, calendar)
        _assert_fits(plan, calendar)
        assert plan_cycle(program, number, calendar) == plan

    @settings(max_examples=60, deadline=None)
    @given(
        data=st.data(),
        number=st.sampled_from([7, 8, 9]),
        offset=st.one_of(
            st.builds(lambda days: {"days": days}, st.integers(min_value=-400, max_value=400)),
            st.builds(lambda count: {"working_days": count}, st.integers(min_value=-120, max_value=120)),
        ),
    )
    def test_a_changed_item_offset_either_fits_or_raises_template_range_error(
        self,
        program: Program,
        calendar: BusinessCalendar,
        data: st.DataObject,
        number: int,
        offset: dict[str, int],
    ) -> None:
        """Moving one item's offset gives a plan that fits, or a TemplateRangeError blaming that item."""
        index = data.draw(st.integers(min_value=0, max_value=len(program.template.items) - 1), label="index")
        raw: dict[str, Any] = program.model_dump(by_alias=True)
        anchor = raw["template"]["items"][index]["at"]["anchor"]
        raw["template"]["items"][index]["at"] = {"anchor": anchor, **offset}
        changed = Program.model_validate(raw)
        blamed: tuple[str | int, ...] | None = None
        try:
            plan = plan_cycle(changed, number, calendar)
        except TemplateRangeError as exc:
            blamed = exc.key_path
        else:
            _assert_fits(plan, calendar)
        assert blamed in {None, ("template", "items", index, "at")}


class TestAnInstitutionTheProgramNoLongerHas:
    """An activity stored while its host was in the program file, planned after the
    institution was removed from it (the file still validates: no body names it)."""

    GONE = "sre"

    def _activity(self, *, observable: bool) -> Activity:
        return Activity(
            key=activity_key(9, "sst-navy", "gulf-exercise-2027"),
            kind="combined-exercise" if observable else "exchange",
            title=Localized(en="Gulf exercise", es="Ejercicio del Golfo"),
            first_day=D(2027, 6, 8),
            last_day=D(2027, 6, 11),
            host=self.GONE,
            participants=("semar",),
            line_of_effort="domain-control",
        )

    def test_its_activity_is_still_planned_without_a_seat(
        self, program: Program, calendar: BusinessCalendar
    ) -> None:
        assert all(i.slug != self.GONE for i in program.institutions)
        activity = self._activity(observable=False)
        plan = plan_cycle(program, 9, calendar, apa=ApaPlan(activities=(activity,)))
        item = plan.by_key()[activity.key.to_string()]
        assert (item.host, item.location, item.first_day) == (self.GONE, None, D(2027, 6, 8))

    def test_a_visit_to_its_exercise_is_refused_naming_the_institution(
        self, program: Program, calendar: BusinessCalendar
    ) -> None:
        activity = self._activity(observable=True)
        with pytest.raises(
            TemplateRangeError, match="hosted by 'sre', which is no longer an institution"
        ) as caught:
            plan_cycle(program, 9, calendar, apa=ApaPlan(activities=(activity,), visit=activity))
        assert caught.value.key_path == ("institutions",)
