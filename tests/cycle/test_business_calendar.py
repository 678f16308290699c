"""The business calendar of both countries: a day works only when it is a weekday and a
public holiday in neither the United States nor Mexico."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import pytest

from cycle.business_calendar import BusinessCalendar

D = dt.date


class Holiday(NamedTuple):
    """A 2026 public holiday of one country only, and the next day that works in both."""

    day: dt.date
    country: str
    name: str
    next_day: dt.date


DIFFERING_HOLIDAYS = [
    pytest.param(Holiday(D(2026, 9, 16), "MX", "MX: Independence Day", D(2026, 9, 17)), id="mx-16-september"),
    pytest.param(
        Holiday(D(2026, 11, 16), "MX", "MX: Revolution Day", D(2026, 11, 17)), id="mx-revolution-3rd-monday"
    ),
    pytest.param(
        Holiday(D(2026, 11, 26), "US", "US: Thanksgiving Day", D(2026, 11, 27)), id="us-thanksgiving"
    ),
    pytest.param(
        Holiday(D(2026, 6, 19), "US", "US: Juneteenth National Independence Day", D(2026, 6, 22)),
        id="us-juneteenth",
    ),
    pytest.param(
        Holiday(D(2026, 7, 3), "US", "US: Independence Day (observed)", D(2026, 7, 6)),
        id="us-4-july-observed-friday",
    ),
]


class TestHolidaysThatDiffer:
    @pytest.mark.parametrize("holiday", DIFFERING_HOLIDAYS)
    def test_a_holiday_of_either_country_is_not_a_working_day(
        self, calendar: BusinessCalendar, holiday: Holiday
    ) -> None:
        """A weekday that is a public holiday in only one country is not a working day of both."""
        assert holiday.day.weekday() < 5
        assert calendar.is_working_day(holiday.day) is False

    @pytest.mark.parametrize("holiday", DIFFERING_HOLIDAYS)
    def test_the_holiday_is_a_working_day_in_the_other_country(self, holiday: Holiday) -> None:
        """Each of these holidays belongs to one country only: the other one works that day."""
        other = "US" if holiday.country == "MX" else "MX"
        assert BusinessCalendar((holiday.country,)).is_working_day(holiday.day) is False
        assert BusinessCalendar((other,)).is_working_day(holiday.day) is True

    @pytest.mark.parametrize("holiday", DIFFERING_HOLIDAYS)
    def test_holidays_on_names_the_country(self, calendar: BusinessCalendar, holiday: Holiday) -> None:
        """`holidays_on` lists the holiday once, prefixed with the country that keeps it."""
        assert calendar.holidays_on(holiday.day) == [holiday.name]

    @pytest.mark.parametrize("holiday", DIFFERING_HOLIDAYS)
    def test_a_deadline_on_the_holiday_moves_to_the_next_day_that_works_in_both(
        self, calendar: BusinessCalendar, holiday: Holiday
    ) -> None:
        """`next_working_day` skips the holiday (and any weekend after it) to the exact next working day."""
        assert calendar.next_working_day(holiday.day) == holiday.next_day
        assert calendar.is_working_day(holiday.next_day) is True

    def test_july_4_on_a_saturday_is_a_us_holiday_and_observed_on_friday_july_3(
        self, calendar: BusinessCalendar
    ) -> None:
        """4 July 2026 is a Saturday; the U.S. observes it on Friday 3 July, and Monday 6 July works."""
        assert D(2026, 7, 4).weekday() == 5
        assert calendar.holidays_on(D(2026, 7, 4)) == ["US: Independence Day"]
        assert calendar.next_working_day(D(2026, 7, 4)) == D(2026, 7, 6)

    def test_november_20_works_when_revolution_day_is_observed_on_the_third_monday(
        self, calendar: BusinessCalendar
    ) -> None:
        """Revolution Day 2026 is kept on Monday 16 November, so Friday 20 November is a working day."""
        assert calendar.holidays_on(D(2026, 11, 20)) == []
        assert calendar.is_working_day(D(2026, 11, 20)) is True

    @pytest.mark.parametrize(
        ("day", "names"),
        [
            (D(2026, 1, 1), ["US: New Year's Day", "MX: New Year's Day"]),
            (D(2026, 12, 25), ["US: Christmas Day", "MX: Christmas Day"]),
            (D(2026, 11, 24), []),
        ],
    )
    def test_holidays_on_lists_each_country_in_calendar_order(
        self, calendar: BusinessCalendar, day: dt.date, names: list[str]
    ) -> None:
        """A shared holiday is named once per country, in the calendar's order; a plain day has none."""
        assert calendar.holidays_on(day) == names


class TestWeekends:
    @pytest.mark.parametrize(
        ("day", "next_day"),
        [
            (D(2026, 11, 21), D(2026, 11, 23)),  # Saturday -> Monday
            (D(2026, 11, 22), D(2026, 11, 23)),  # Sunday -> Monday
            (D(2026, 11, 28), D(2026, 11, 30)),  # Saturday after Thanksgiving -> Monday
            (D(2026, 9, 19), D(2026, 9, 21)),  # Saturday after 16 September -> Monday
        ],
    )
    def test_a_weekend_day_moves_to_the_following_monday(
        self, calendar: BusinessCalendar, day: dt.date, next_day: dt.date
    ) -> None:
        """Saturdays and Sundays never work; a deadline on one moves to Monday."""
        assert calendar.is_working_day(day) is False
        assert calendar.next_working_day(day) == next_day

    def test_a_working_day_stays_where_it_is(self, calendar: BusinessCalendar) -> None:
        """`next_working_day` of a day that works in both countries is that day."""
        assert calendar.next_working_day(D(2026, 11, 24)) == D(2026, 11, 24)


class TestAddWorkingDays:
    @pytest.mark.parametrize(
        ("day", "count", "expected"),
        [
            pytest.param(D(2026, 10, 19), 10, D(2026, 11, 2), id="monday-plus-10-is-monday-two-weeks-on"),
            pytest.param(D(2026, 11, 25), 1, D(2026, 11, 27), id="over-us-thanksgiving"),
            pytest.param(D(2026, 11, 25), 3, D(2026, 12, 1), id="over-thanksgiving-and-weekend"),
            pytest.param(D(2026, 9, 15), 1, D(2026, 9, 17), id="over-mx-independence"),
            pytest.param(D(2026, 11, 13), 1, D(2026, 11, 17), id="over-weekend-and-mx-revolution-day"),
            pytest.param(D(2026, 6, 18), 1, D(2026, 6, 22), id="over-us-juneteenth-and-weekend"),
            pytest.param(D(2026, 7, 2), 1, D(2026, 7, 6), id="over-us-july-4-observed-and-weekend"),
        ],
    )
    def test_forwards_skips_holidays_of_either_country(
        self, calendar: BusinessCalendar, day: dt.date, count: int, expected: dt.date
    ) -> None:
        """Counting forwards passes over weekends and U.S. or Mexican holidays."""
        assert calendar.add_working_days(day, count) == expected

    @pytest.mark.parametrize(
        ("day", "count", "expected"),
        [
            pytest.param(D(2026, 11, 27), -1, D(2026, 11, 25), id="back-over-us-thanksgiving"),
            pytest.param(D(2026, 9, 17), -1, D(2026, 9, 15), id="back-over-mx-independence"),
            pytest.param(D(2026, 11, 17), -1, D(2026, 11, 13), id="back-over-mx-revolution-day-and-weekend"),
            pytest.param(D(2026, 6, 22), -1, D(2026, 6, 18), id="back-over-weekend-and-us-juneteenth"),
            pytest.param(D(2026, 7, 6), -1, D(2026, 7, 2), id="back-over-weekend-and-us-july-4-observed"),
            pytest.param(D(2026, 12, 1), -3, D(2026, 11, 25), id="back-over-weekend-and-thanksgiving"),
            pytest.param(D(2026, 11, 2), -10, D(2026, 10, 19), id="monday-minus-10-is-monday-two-weeks-back"),
        ],
    )
    def test_backwards_skips_holidays_of_either_country(
        self, calendar: BusinessCalendar, day: dt.date, count: int, expected: dt.date
    ) -> None:
        """Counting backwards passes over weekends and U.S. or Mexican holidays."""
        assert calendar.add_working_days(day, count) == expected

    @pytest.mark.parametrize(
        ("day", "expected"),
        [
            (D(2026, 11, 24), D(2026, 11, 24)),  # a working Tuesday stays
            (D(2026, 11, 26), D(2026, 11, 27)),  # Thanksgiving moves to Friday
            (D(2026, 9, 16), D(2026, 9, 17)),  # 16 September moves to Thursday
            (D(2026, 11, 28), D(2026, 11, 30)),  # Saturday moves to Monday
        ],
    )
    def test_zero_is_the_next_working_day(
        self, calendar: BusinessCalendar, day: dt.date, expected: dt.date
    ) -> None:
        """Adding zero working days gives the day itself if it works, else the next working day."""
        assert calendar.add_working_days(day, 0) == expected


class TestWorkingDaysBetween:
    @pytest.mark.parametrize(
        ("start", "end", "expected"),
        [
            pytest.param(D(2026, 11, 20), D(2026, 11, 30), 5, id="week-of-thanksgiving"),
            pytest.param(D(2026, 9, 11), D(2026, 9, 18), 4, id="week-of-16-september"),
            pytest.param(D(2026, 11, 13), D(2026, 11, 17), 1, id="weekend-and-revolution-day"),
            pytest.param(D(2026, 10, 19), D(2026, 11, 2), 10, id="two-plain-weeks"),
            pytest.param(D(2026, 11, 24), D(2026, 11, 24), 0, id="same-day"),
            pytest.param(D(2026, 11, 30), D(2026, 11, 20), 0, id="end-before-start"),
        ],
    )
    def test_counts_working_days_after_start_up_to_and_including_end(
        self, calendar: BusinessCalendar, start: dt.date, end: dt.date, expected: int
    ) -> None:
        """Counts working days of both countries in (start, end]; 0 when end <= start."""
        assert calendar.working_days_between(start, end) == expected

    @pytest.mark.parametrize("count", [1, 3, 10, 15, 30])
    def test_inverts_add_working_days_from_a_working_day(
        self, calendar: BusinessCalendar, count: int
    ) -> None:
        """From a working day, `count` working days forward are exactly `count` working days between."""
        start = D(2026, 11, 10)
        assert calendar.working_days_between(start, calendar.add_working_days(start, count)) == count


class TestFirstWorkingRun:
    @pytest.mark.parametrize(
        ("day", "expected"),
        [
            pytest.param(D(2026, 11, 17), D(2026, 11, 17), id="tue-wed-thu-free"),
            pytest.param(D(2026, 11, 19), D(2026, 11, 23), id="thu-would-cross-the-weekend"),
            pytest.param(D(2026, 11, 25), D(2026, 11, 30), id="would-cross-thanksgiving-then-weekend"),
            pytest.param(D(2026, 9, 14), D(2026, 9, 21), id="would-cross-16-september-then-weekend"),
            pytest.param(D(2026, 11, 12), D(2026, 11, 17), id="would-cross-weekend-then-revolution-day"),
            pytest.param(D(2026, 6, 17), D(2026, 6, 22), id="would-cross-juneteenth"),
            pytest.param(D(2026, 11, 21), D(2026, 11, 23), id="starts-on-a-saturday"),
        ],
    )
    def test_a_three_day_run_starts_on_the_first_day_of_three_working_days_in_a_row(
        self, calendar: BusinessCalendar, day: dt.date, expected: dt.date
    ) -> None:
        """A 3-day run never crosses a weekend or a holiday of either country: it moves to the next run."""
        start = calendar.first_working_run(day, 3)
        assert start == expected
        assert all(calendar.is_working_day(start + dt.timedelta(days=i)) for i in range(3))

    def test_a_one_day_run_is_the_next_working_day(self, calendar: BusinessCalendar) -> None:
        """A run of one day is simply the next working day."""
        assert calendar.first_working_run(D(2026, 11, 26), 1) == D(2026, 11, 27)
