"""Working days of both countries: no weekend, no public holiday of any of them.

>>> cal = BusinessCalendar(("US", "MX"))
>>> cal.is_working_day(dt.date(2026, 9, 16))   # Mexican Independence Day
False
>>> cal.next_working_day(dt.date(2026, 11, 26))  # Thanksgiving -> Friday
datetime.date(2026, 11, 27)
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
import threading
from collections.abc import Sequence
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING

import holidays
from holidays.holiday_base import HolidayBase
from holidays.registry import COUNTRIES

if TYPE_CHECKING:
    from cycle.program import Program

_SATURDAY = 5
_SEARCH_LIMIT = 60
"""No run of non-working days is this long; a longer search means bad holiday data."""


_LOADING = threading.Lock()


def business_calendar(program: Program) -> BusinessCalendar:
    """The working days of the program's countries."""
    return BusinessCalendar(program.business_calendar.countries)


@lru_cache(maxsize=32)
def country_class(country: str) -> type[HolidayBase]:
    """The `holidays` class of `country` (an ISO code or the class name), its module alone.

    `holidays.country_holidays` imports the package `holidays.countries`, whose
    `__init__` imports all of its ~250 countries to give one (0.13 s, an eighth of
    `roundtable status`; benchmarks/start_cli). The package's registry names each
    country's module, and those modules import nothing from that package: load just
    the one, under its own name, so a later import of the package reuses it.

    >>> country_class("MX").__name__, country_class("USA").__name__
    ('Mexico', 'UnitedStates')
    """
    found = next(
        ((module, names[0]) for module, names in COUNTRIES.items() if country in names),
        None,
    )
    if found is None:
        raise NotImplementedError(f"Country {country} not available")
    module_name, class_name = found
    qualified = f"holidays.countries.{module_name}"
    with _LOADING:
        module = sys.modules.get(qualified)
        if module is None:
            path = Path(holidays.__file__).parent / "countries" / f"{module_name}.py"
            spec = importlib.util.spec_from_file_location(qualified, path)
            if spec is None or spec.loader is None:  # pragma: no cover - a broken install
                raise NotImplementedError(f"Country {country} not available")
            module = importlib.util.module_from_spec(spec)
            sys.modules[qualified] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[qualified]
                raise
    entity: type[HolidayBase] = getattr(module, class_name)
    return entity


@lru_cache(maxsize=512)
def _holidays(country: str, year: int) -> dict[dt.date, str]:
    return dict(country_class(country)(years=year).items())


@lru_cache(maxsize=256)
def _working_days(countries: tuple[str, ...], year: int) -> tuple[int, tuple[bool, ...]]:
    """The ordinal of 1 January of `year`, and for each day of the year whether it is a
    working day in all `countries`: one look-up per question, where planning a cycle asks
    about 10,000 (benchmarks/plan_program)."""
    first = dt.date(year, 1, 1)
    tables = [_holidays(country, year) for country in countries]
    flags = []
    day = first
    while day.year == year:
        flags.append(day.weekday() < _SATURDAY and all(day not in table for table in tables))
        day += dt.timedelta(days=1)
    return first.toordinal(), tuple(flags)


@lru_cache(maxsize=256)
def _running_counts(countries: tuple[str, ...], year: int) -> tuple[int, ...]:
    """For each day of `year`, the working days of all `countries` from 1 January to it."""
    return tuple(accumulate(_working_days(countries, year)[1]))


def _through(countries: tuple[str, ...], day: dt.date) -> int:
    """Working days from 1 January of `day`'s year to `day`, both included."""
    return _running_counts(countries, day.year)[day.timetuple().tm_yday - 1]


class BusinessCalendar:
    """The shared business calendar of the program's countries (US and MX by default)."""

    def __init__(self, countries: Sequence[str]) -> None:
        self.countries = tuple(countries)

    def holidays_on(self, day: dt.date) -> list[str]:
        """Names of the public holidays on `day`, prefixed with their country."""
        return [
            f"{country}: {name}"
            for country in self.countries
            if (name := _holidays(country, day.year).get(day)) is not None
        ]

    def is_working_day(self, day: dt.date) -> bool:
        first, flags = _working_days(self.countries, day.year)
        return flags[day.toordinal() - first]

    def next_working_day(self, day: dt.date) -> dt.date:
        """`day` itself if it works in every country, else the next day that does."""
        for step in range(_SEARCH_LIMIT):
            candidate = day + dt.timedelta(days=step)
            if self.is_working_day(candidate):
                return candidate
        raise AssertionError(f"no working day within {_SEARCH_LIMIT} days of {day}")

    def add_working_days(self, day: dt.date, count: int) -> dt.date:
        """Move `count` working days from `day` (backwards when negative).

        Zero gives `next_working_day(day)`. Counting starts from the day itself, so
        +10 from a Monday is the Monday two weeks on when no holiday intervenes.
        """
        if count == 0:
            return self.next_working_day(day)
        # A walk over ordinals in the year's table, not a date and a table look-up per day:
        # planning a cycle walks about 10,000 days this way (benchmarks/plan_program, figure 1).
        step = 1 if count > 0 else -1
        remaining = abs(count)
        ordinal = day.toordinal()
        first, flags = _working_days(self.countries, day.year)
        while remaining:
            ordinal += step
            if not 0 <= ordinal - first < len(flags):  # into the next (or previous) year
                first, flags = _working_days(self.countries, dt.date.fromordinal(ordinal).year)
            if flags[ordinal - first]:
                remaining -= 1
        return dt.date.fromordinal(ordinal)

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in the half-open interval (start, end]; 0 when end <= start.

        From running counts per year, not a walk over the days: the overdue check asks
        this for every late deliverable (benchmarks/check_overdue).

        >>> BusinessCalendar(("US", "MX")).working_days_between(dt.date(2026, 9, 14), dt.date(2026, 9, 18))
        3
        """
        if end <= start:
            return 0
        count = _through(self.countries, end) - _through(self.countries, start)
        for year in range(start.year, end.year):
            count += _through(self.countries, dt.date(year, 12, 31))
        return count

    def first_working_run(self, day: dt.date, length: int) -> dt.date:
        """The first date on or after `day` that starts `length` consecutive working days."""
        start = self.next_working_day(day)
        for _ in range(_SEARCH_LIMIT):
            run = [start + dt.timedelta(days=i) for i in range(length)]
            blocked = next((d for d in run if not self.is_working_day(d)), None)
            if blocked is None:
                return start
            start = self.next_working_day(blocked)
        raise AssertionError(f"no {length} consecutive working days near {day}")
