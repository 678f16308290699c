"""The context every command opens (the program and the store), and `status`.

Kept apart from cycle.operations, which imports every operation's store code and with it
the ORM models: `roundtable status` needs none of them and must start within 1.5x of
importing pendulum and sqlmodel (figure 5 of benchmarks/). cycle.operations re-imports
what is here, so callers may keep taking everything from there.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from cycle.business_calendar import BusinessCalendar, business_calendar
from cycle.config import ProgramSource, load_program
from cycle.cycles import Cycle, cycle_by_number, cycle_on
from cycle.deadlines import Deadlines
from cycle.errors import NotFoundError
from cycle.program import Program
from cycle.settings import Settings
from cycle.status import CycleStatus, summarize
from cycle.store.database import Store
from cycle.store.reads import not_planned, planned_cycle_numbers, tracked_items


@dataclass(frozen=True)
class Context:
    """A loaded program and an open store: what every command works with."""

    settings: Settings
    program: Program
    source: ProgramSource
    store: Store
    calendar: BusinessCalendar

    @functools.cached_property
    def deadlines(self) -> Deadlines:
        """The program's reminder and escalation rules on its business calendar."""
        return Deadlines(self.program, self.calendar)


def open_context(settings: Settings, *, check_schedule: bool = True) -> Context:
    """Load the program (see `load_program` for `check_schedule`) and open the store."""
    program, source = load_program(settings.config_path, check_schedule=check_schedule)
    return Context(
        settings=settings,
        program=program,
        source=source,
        store=Store.from_url(settings.database_url, origin=settings.database_origin),
        calendar=business_calendar(program),
    )


def current_cycle(program: Program, as_of: dt.date) -> Cycle:
    cycle = cycle_on(program, as_of)
    if cycle is None:
        raise NotFoundError(f"no cycle is open on {as_of}; give --cycle N")
    return cycle


def status(ctx: Context, *, number: int | None, as_of: dt.date) -> CycleStatus:
    ctx.store.require_ready()
    cycle = cycle_by_number(ctx.program, number) if number is not None else current_cycle(ctx.program, as_of)
    with ctx.store.session() as session:
        tracked = tracked_items(session, cycle=cycle.number)
        if not tracked:
            raise not_planned(cycle.number, planned_cycle_numbers(session))
    return summarize(cycle, tracked, as_of, ctx.deadlines)
