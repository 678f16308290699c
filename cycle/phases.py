"""How far a cycle's phases have come, and what a phase needs before its work starts.

The flows record each **Phase** of a cycle as open, then completed (`PhaseProgress`).
What a phase needs is configuration: a phase template's `requires` names the earlier
deliverables (which must be in: submitted, accepted or waived) and gates (which must be
approved). Everything here is pure: plain data in, plain data out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from cycle.deliverable import DONE_STATES, DeliverableState
from cycle.gates import GateState
from cycle.items import ItemKind, PlannedItem, template_slug
from cycle.program import Lang, Localized, Phase, Program
from cycle.status import TrackedItem

if TYPE_CHECKING:
    from cycle.deadlines import Deadlines

IN_STATES = frozenset({DeliverableState.submitted, *DONE_STATES})
"""A deliverable in one of these states has been handed in."""


class PhaseState(StrEnum):
    not_started = "not-started"
    open = "open"
    completed = "completed"


@dataclass(frozen=True, slots=True)
class PhaseProgress:
    """What the flows recorded of one phase of one cycle."""

    phase: Phase
    state: PhaseState
    opened_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    outcome: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Missing:
    """A required item that is not in yet (a deliverable) or not approved (a gate)."""

    item: PlannedItem
    status: str

    def describe(self, program: Program, lang: Lang = "en") -> str:
        owner = program.owner_name(self.item.owner).get(lang) if self.item.owner else "-"
        return f"{self.item.key} ({self.status}, due {self.item.due}, {owner})"


@dataclass(frozen=True, slots=True)
class PhaseRow:
    """One line of the cycle board: a phase with its window, state and deliverables."""

    phase: Phase
    name: Localized
    window: tuple[dt.date, dt.date]
    state: PhaseState
    deliverables_done: int
    """Accepted or waived: nobody needs to work on them any more."""
    deliverables_in: int
    """Handed in: submitted, accepted or waived."""
    deliverables_total: int
    overdue: int
    gate: str | None
    """The state of the phase's gate, if it has one."""


def phases_of(tracked: Sequence[TrackedItem]) -> dict[Phase, PlannedItem]:
    """The phases a cycle has (a 12-month cycle has no observation visit), in order."""
    found = {t.item.phase: t.item for t in tracked if t.active and t.item.kind is ItemKind.phase}
    return {phase: found[phase] for phase in Phase if phase in found}


def next_phase(tracked: Sequence[TrackedItem], phase: Phase) -> Phase | None:
    """The phase the cycle moves to once `phase` is completed (group meetings run in the
    background from the opening and are not a step of their own)."""
    order = [p for p in phases_of(tracked) if p is not Phase.group_meetings]
    if phase is Phase.group_meetings:
        return None
    if phase not in order:
        return None
    index = order.index(phase)
    return order[index + 1] if index + 1 < len(order) else None


def required_items(program: Program, phase: Phase, tracked: Sequence[TrackedItem]) -> list[TrackedItem]:
    """The live items of a cycle that `phase` requires, by due date."""
    wanted = set(program.phase_template(phase).requires)
    return sorted(
        (
            t
            for t in tracked
            if t.active
            and t.item.kind in (ItemKind.deliverable, ItemKind.gate)
            and template_slug(program, t.item) in wanted
        ),
        key=lambda t: (t.item.due or dt.date.min, t.item.key.to_string()),
    )


def missing_requirements(program: Program, phase: Phase, tracked: Sequence[TrackedItem]) -> list[Missing]:
    """What stops `phase` from starting its work: required deliverables not in, required
    gates not approved."""
    missing = []
    for t in required_items(program, phase, tracked):
        if t.item.kind is ItemKind.gate:
            if t.status != GateState.approved:
                missing.append(Missing(item=t.item, status=t.status))
        elif DeliverableState(t.status) not in IN_STATES:
            missing.append(Missing(item=t.item, status=t.status))
    return missing


def gate_of(program: Program, phase: Phase, tracked: Sequence[TrackedItem]) -> TrackedItem | None:
    """The phase's gate in this cycle, if the template gives it one."""
    slugs = {t.slug for t in program.template.items if t.kind == "gate" and t.phase is phase}
    return next(
        (t for t in tracked if t.active and t.item.kind is ItemKind.gate and t.item.key.name in slugs), None
    )


def open_deliverables(phase: Phase, tracked: Sequence[TrackedItem]) -> list[TrackedItem]:
    """The phase's own deliverables not handed in yet."""
    return [
        t
        for t in tracked
        if t.active
        and t.item.kind is ItemKind.deliverable
        and t.item.phase is phase
        and DeliverableState(t.status) not in IN_STATES
    ]


def board(
    tracked: Sequence[TrackedItem],
    progress: Mapping[Phase, PhaseProgress],
    as_of: dt.date,
    deadlines: Deadlines,
) -> list[PhaseRow]:
    """The cycle board: every phase the cycle has, with its recorded state and its
    deliverables done, total and overdue on `as_of`."""
    rows = []
    for phase, item in phases_of(tracked).items():
        assert item.first_day is not None
        assert item.last_day is not None
        own = [
            t for t in tracked if t.active and t.item.kind is ItemKind.deliverable and t.item.phase is phase
        ]
        states = [DeliverableState(t.status) for t in own]
        gate = next(
            (
                t.status
                for t in tracked
                if t.active and t.item.kind is ItemKind.gate and t.item.phase is phase
            ),
            None,
        )
        recorded = progress.get(phase)
        rows.append(
            PhaseRow(
                phase=phase,
                name=item.title,
                window=(item.first_day, item.last_day),
                state=recorded.state if recorded else PhaseState.not_started,
                deliverables_done=sum(s in DONE_STATES for s in states),
                deliverables_in=sum(s in IN_STATES for s in states),
                deliverables_total=len(states),
                overdue=sum(deadlines.is_overdue(t.item, s, as_of) for t, s in zip(own, states, strict=True)),
                gate=gate,
            )
        )
    return rows


def recorded_phase(rows: Sequence[PhaseRow]) -> Phase | None:
    """The phase the flows have taken the cycle to: the latest open step, else the step
    after the last completed one (group meetings run beside the steps)."""
    steps = [r for r in rows if r.phase is not Phase.group_meetings]
    open_steps = [r for r in steps if r.state is PhaseState.open]
    if open_steps:
        return open_steps[-1].phase
    completed = [i for i, r in enumerate(steps) if r.state is PhaseState.completed]
    if not completed:
        return None
    after = completed[-1] + 1
    return steps[after].phase if after < len(steps) else steps[completed[-1]].phase


def due_phases(rows: Sequence[PhaseRow], as_of: dt.date) -> list[Phase]:
    """Phases whose window has opened by `as_of` and that the flows have not completed."""
    return [r.phase for r in rows if r.window[0] <= as_of and r.state is not PhaseState.completed]
