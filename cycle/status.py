"""Where a cycle stands on a given day: its phase, what is done, due, late, and next.

Pure: built from the planned items with their states and an `as_of` date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cycle.cycles import Cycle
from cycle.deliverable import DONE_STATES, DeliverableState, working_days_late
from cycle.items import ItemKind, PlannedItem
from cycle.program import Phase

if TYPE_CHECKING:
    from cycle.deadlines import Deadlines

CANCELLED = "cancelled"
BACKGROUND_PHASE = Phase.group_meetings
"""Group meetings run through the whole cycle; the current phase is another one if any."""


@dataclass(frozen=True, slots=True)
class TrackedItem:
    """A planned item with its stored status (`planned`, `cancelled`, or a deliverable
    or gate state)."""

    item: PlannedItem
    status: str
    revision: int = 0
    changed_at: dt.datetime | None = None
    """The last change of the item or of its deliverable or gate record (UTC)."""

    @property
    def active(self) -> bool:
        return self.status != CANCELLED


@dataclass(frozen=True, slots=True)
class OverdueItem:
    item: PlannedItem
    days_late: int
    working_days_late: int


@dataclass(frozen=True, slots=True)
class CycleStatus:
    cycle: Cycle
    as_of: dt.date
    phase: Phase | None
    phase_window: tuple[dt.date, dt.date] | None
    next_phase: PlannedItem | None
    deliverables_total: int
    deliverables_done: int
    deliverables_submitted: int
    overdue: tuple[OverdueItem, ...]
    due_soon: tuple[PlannedItem, ...]
    next_events: tuple[PlannedItem, ...]
    open_gates: tuple[TrackedItem, ...]
    decided_gates: tuple[TrackedItem, ...]

    @property
    def state(self) -> str:
        if self.as_of < self.cycle.start:
            return "not-open"
        if self.as_of > self.cycle.end:
            return "closed"
        return "open"


def summarize(
    cycle: Cycle,
    tracked: Sequence[TrackedItem],
    as_of: dt.date,
    deadlines: Deadlines,
    *,
    soon_days: int = 14,
    upcoming: int = 5,
) -> CycleStatus:
    active = [t for t in tracked if t.active]
    phases = [t.item for t in active if t.item.kind is ItemKind.phase]
    current = _current_phase(phases, as_of)
    later = sorted(
        (p for p in phases if p.first_day is not None and p.first_day > as_of),
        key=lambda p: (p.first_day, p.key.to_string()),
    )
    deliverables = [t for t in active if t.item.kind is ItemKind.deliverable]
    states = [DeliverableState(t.status) for t in deliverables]
    overdue = sorted(
        (
            OverdueItem(
                item=t.item,
                days_late=(as_of - t.item.due).days,
                working_days_late=working_days_late(t.item.due, as_of, deadlines.calendar),
            )
            for t in deliverables
            if t.item.due is not None and deadlines.is_overdue(t.item, DeliverableState(t.status), as_of)
        ),
        key=lambda o: (-o.days_late, o.item.key.to_string()),
    )
    soon_limit = as_of + dt.timedelta(days=soon_days)
    due_soon = sorted(
        (
            t.item
            for t in deliverables
            if t.status == DeliverableState.pending
            and t.item.due is not None
            and as_of <= t.item.due <= soon_limit
        ),
        key=lambda i: (i.due, i.key.to_string()),
    )
    events = sorted(
        (
            t.item
            for t in active
            if t.item.kind
            in (
                ItemKind.meeting,
                ItemKind.executive_session,
                ItemKind.observation_visit,
                ItemKind.milestone,
                ItemKind.gate,
            )
            and t.item.dates[1] >= as_of
        ),
        key=lambda i: (i.dates[0], i.key.to_string()),
    )[:upcoming]
    gates = [t for t in active if t.item.kind is ItemKind.gate]
    return CycleStatus(
        cycle=cycle,
        as_of=as_of,
        phase=current.phase if current else None,
        phase_window=(current.first_day, current.last_day)
        if current and current.first_day and current.last_day
        else None,
        next_phase=later[0] if later else None,
        deliverables_total=len(deliverables),
        deliverables_done=sum(s in DONE_STATES for s in states),
        deliverables_submitted=sum(s is DeliverableState.submitted for s in states),
        overdue=tuple(overdue),
        due_soon=tuple(due_soon),
        next_events=tuple(events),
        open_gates=tuple(g for g in gates if g.status == "pending"),
        decided_gates=tuple(g for g in gates if g.status != "pending"),
    )


def _current_phase(phases: Sequence[PlannedItem], as_of: dt.date) -> PlannedItem | None:
    """The phase open on `as_of` that opened last; group meetings only if nothing else is."""
    open_now = [
        p
        for p in phases
        if p.first_day is not None and p.last_day is not None and p.first_day <= as_of <= p.last_day
    ]
    foreground = [p for p in open_now if p.phase is not BACKGROUND_PHASE]
    candidates = foreground or open_now
    if not candidates:
        return None
    return max(candidates, key=lambda p: (p.first_day, list(Phase).index(p.phase)))
