"""Cycles: numbered windows of 12 or 24 months, from the history and then the template.

Roundtables 1-7 ran on 12-month cycles listed in the program's history; from
`cycles.first` on each cycle opens the day after the previous one closes.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import pendulum

from cycle.errors import NotFoundError
from cycle.program import HistoryEntry, Program

MAX_CYCLE = 1000
"""Far beyond any real program; keeps a typo such as `--cycle 90000` from planning centuries."""


@functools.lru_cache(maxsize=1024)
def last_day(start: dt.date, months: int) -> dt.date:
    """The last day of a window of `months` months opening on `start`.

    >>> last_day(dt.date(2025, 9, 1), 24)
    datetime.date(2027, 8, 31)
    """
    end = pendulum.Date(start.year, start.month, start.day).add(months=months)
    return dt.date(end.year, end.month, end.day) - dt.timedelta(days=1)


def add_months(day: dt.date, months: int) -> dt.date:
    moved = pendulum.Date(day.year, day.month, day.day).add(months=months)
    return dt.date(moved.year, moved.month, moved.day)


@dataclass(frozen=True, slots=True)
class Cycle:
    """One cycle: its number (the number of its roundtable), window and length."""

    number: int
    start: dt.date
    months: int
    history: HistoryEntry | None = None

    @property
    def end(self) -> dt.date:
        """The cycle's last day."""
        return last_day(self.start, self.months)

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    def month_start(self, month: int) -> dt.date:
        """The first day of the cycle's `month`-th month (1-based)."""
        return add_months(self.start.replace(day=1), month - 1)


def cycle_by_number(program: Program, number: int) -> Cycle:
    if number < 1 or number > MAX_CYCLE:
        raise NotFoundError(f"cycle {number}: cycles are numbered 1 to {MAX_CYCLE}")
    entry = program.history_entry(number)
    if entry is not None:
        return Cycle(number=number, start=entry.start, months=entry.months, history=entry)
    template = program.cycles
    if number < template.first:
        raise NotFoundError(f"cycle {number} is not in the program's history")
    start = add_months(template.start, (number - template.first) * template.months)
    return Cycle(number=number, start=start, months=template.months)


def cycle_on(program: Program, day: dt.date) -> Cycle | None:
    """The cycle whose window holds `day`, or None (before the first, or in a gap)."""
    for entry in program.history:
        if entry.start <= day <= last_day(entry.start, entry.months):
            return cycle_by_number(program, entry.cycle)
    template = program.cycles
    if day < template.start:
        return None
    months_in = (day.year - template.start.year) * 12 + day.month - template.start.month
    number = template.first + months_in // template.months
    cycle = cycle_by_number(program, number)
    if cycle.start > day:  # a start day after the 1st of the month
        cycle = cycle_by_number(program, number - 1)
    return cycle


def cycles_through(program: Program, day: dt.date) -> list[Cycle]:
    """Every cycle that has opened on or before `day`, oldest first."""
    cycles = [cycle_by_number(program, entry.cycle) for entry in program.history]
    number = program.cycles.first
    while True:
        cycle = cycle_by_number(program, number)
        if cycle.start > day:
            return [c for c in cycles if c.start <= day]
        cycles.append(cycle)
        number += 1
