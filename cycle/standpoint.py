"""Where a cycle stands and what holds it up: the one answer every view gives.

The cycle's **step** is the first phase, in the program's order, that the flows have not
completed. The group meetings run beside the steps, and the executive preparation is the
window in which the executive session's inputs come in (its flow is the session's): neither
is ever the step. What holds
the step up are its **blockers**: the deliverables it requires that are not in and the
gates it requires that are not approved, each with how late it is. The step after it is
named with what it, in turn, needs. By the calendar, the cycle is in the window of the
latest step whose window has opened.

The status table, the summary and the console all read this value, so they cannot
disagree about the step or its blockers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cycle.items import ItemKind, PlannedItem
from cycle.phases import Missing, PhaseRow, PhaseState
from cycle.program import Phase

BESIDE_THE_STEPS = frozenset({Phase.group_meetings, Phase.executive_prep})


@dataclass(frozen=True, slots=True)
class Blocker:
    """A required item that is not in (a deliverable) or not approved (a gate)."""

    item: PlannedItem
    status: str
    days_late: int
    """Days past its due date on the day asked about; 0 if not due yet."""

    @property
    def is_gate(self) -> bool:
        return self.item.kind is ItemKind.gate


@dataclass(frozen=True, slots=True)
class Standpoint:
    as_of: dt.date
    step: PhaseRow | None
    """The first phase the flows have not completed; None once every one is."""
    blockers: tuple[Blocker, ...]
    """What the step requires that is not in, gates first, then the most late first."""
    next_step: PhaseRow | None
    next_needs: tuple[Blocker, ...]
    """What the step after requires that is not in (often the step's own gate)."""
    calendar: PhaseRow | None
    """The step whose window the day lies in, or the last one whose window has opened."""

    @property
    def missed(self) -> bool:
        """The step's start has passed and the flows never took it up."""
        step = self.step
        return step is not None and step.state is PhaseState.not_started and step.window[0] < self.as_of


def blockers_of(missing: Sequence[Missing], as_of: dt.date) -> tuple[Blocker, ...]:
    found = [
        Blocker(
            item=m.item, status=m.status, days_late=max(0, (as_of - m.item.due).days) if m.item.due else 0
        )
        for m in missing
    ]
    return tuple(sorted(found, key=lambda b: (not b.is_gate, -b.days_late, b.item.key.to_string())))


def standpoint(
    rows: Sequence[PhaseRow], requirements: Mapping[Phase, Sequence[Missing]], as_of: dt.date
) -> Standpoint:
    """Where the cycle stands on `as_of`, from its board and each phase's unmet requirements."""
    steps = [r for r in rows if r.phase not in BESIDE_THE_STEPS]
    pending = [i for i, r in enumerate(steps) if r.state is not PhaseState.completed]
    step = steps[pending[0]] if pending else None
    following = steps[pending[0] + 1] if pending and pending[0] + 1 < len(steps) else None
    opened = [r for r in steps if r.window[0] <= as_of]
    inside = [r for r in opened if as_of <= r.window[1]]
    shown = inside or opened
    calendar = shown[-1] if shown else None
    return Standpoint(
        as_of=as_of,
        step=step,
        blockers=blockers_of(requirements.get(step.phase, ()), as_of) if step else (),
        next_step=following,
        next_needs=blockers_of(requirements.get(following.phase, ()), as_of) if following else (),
        calendar=calendar,
    )
