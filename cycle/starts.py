"""When each phase of a cycle starts, and which starts have passed without the flows
taking the phase up (**missed** starts).

A phase's **start** is its window's first day. A start is missed when that day is before
the day asked about and the flows have recorded nothing of the phase (not opened, not
completed): nobody ran its flow, or its run found the phase not ready. Only the cycles
that have not ended count; a cycle that ended long ago is history, not a reminder.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from cycle.context import Context
from cycle.cycles import cycle_by_number
from cycle.phases import PhaseRow, PhaseState
from cycle.program import Phase
from cycle.progression import cycle_board
from cycle.store.reads import planned_cycle_numbers
from cycle.store.repository import store_generation


@dataclass(frozen=True, slots=True)
class PhaseStart:
    """The first day of one phase of one cycle, and what the flows made of it."""

    cycle: int
    phase: Phase
    day: dt.date
    state: PhaseState
    missed: bool


def starts_of(
    number: int, rows: Sequence[PhaseRow], phases: Collection[Phase], as_of: dt.date
) -> list[PhaseStart]:
    """The starts of `phases` in one cycle's board, in the board's order."""
    return [
        PhaseStart(
            cycle=number,
            phase=row.phase,
            day=row.window[0],
            state=row.state,
            missed=row.window[0] < as_of and row.state is PhaseState.not_started,
        )
        for row in rows
        if row.phase in phases
    ]


def phase_starts(ctx: Context, *, phases: Collection[Phase], as_of: dt.date) -> list[PhaseStart]:
    """The starts of `phases` in every planned cycle that has not ended by `as_of`."""
    starts: list[PhaseStart] = []
    for number in planned_cycles(ctx):
        if cycle_by_number(ctx.program, number).end < as_of:
            continue
        board = cycle_board(ctx, number=number, as_of=as_of)
        starts += starts_of(number, board.rows, phases, as_of)
    return starts


def store_version(ctx: Context) -> int:
    """A number that grows with every change to the store: whoever shows the store's state
    compares it with the one it showed to know that it is stale."""
    with ctx.store.session() as session:
        return store_generation(session)


def planned_cycles(ctx: Context) -> list[int]:
    """The numbers of the cycles planned in the store, in order."""
    ctx.store.require_ready()
    with ctx.store.session() as session:
        return planned_cycle_numbers(session)
