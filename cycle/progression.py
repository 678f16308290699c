"""How a cycle moves through its phases: the work of each phase's flow, once.

Each function loads what it needs, decides with the pure rules of `cycle.phases` and
`cycle.gates`, and writes in one transaction. Every one returns the **Announcements** of
what changed (a phase opened or completed, a gate asked or decided), so a flow emits an
event per change, and running a step again, which changes nothing, announces nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cycle.apa import ApaPlan, validated_version
from cycle.context import Context
from cycle.cycles import Cycle, cycle_by_number
from cycle.errors import InputError, NotFoundError
from cycle.gates import GateDecision, GateState, check_decision
from cycle.items import ItemKind
from cycle.operations import apa_state, check_apa_fits, observable_activities, plan, replan
from cycle.phases import (
    Missing,
    PhaseProgress,
    PhaseRow,
    PhaseState,
    board,
    gate_of,
    missing_requirements,
    next_phase,
    open_deliverables,
    phases_of,
    recorded_phase,
)
from cycle.program import Phase
from cycle.standpoint import Standpoint, standpoint
from cycle.status import CycleStatus, TrackedItem, summarize
from cycle.store.apa import apa_plan, proposals, save_version
from cycle.store.objectives import unrated_objectives
from cycle.store.progress import (
    GateView,
    decide_gate,
    expire_gates,
    list_gates,
    open_phase,
    phase_progress,
    record_outcome,
    request_gate,
)
from cycle.store.progress import gate as read_gate
from cycle.store.reads import not_planned, planned_cycle_numbers, tracked_items
from cycle.store.repository import PlanReport

if TYPE_CHECKING:
    from sqlmodel import Session


@dataclass(frozen=True, slots=True)
class Announcement:
    """Something that changed and is worth an event: `roundtable.{name}`."""

    name: str
    cycle: int
    phase: Phase
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CycleBoard:
    """A cycle's state as the flows see it: the status and a row per phase."""

    status: CycleStatus
    rows: list[PhaseRow]
    progress: dict[Phase, PhaseProgress]
    gates: list[GateView]
    requirements: dict[Phase, tuple[Missing, ...]] = field(default_factory=dict)
    """Each phase's required items that are not in or not approved."""

    @property
    def standpoint(self) -> Standpoint:
        """Where the cycle stands and what holds it up: what every view shows."""
        return standpoint(self.rows, self.requirements, self.status.as_of)

    @property
    def recorded_phase(self) -> Phase | None:
        return recorded_phase(self.rows)

    @property
    def phases_completed(self) -> int:
        return sum(r.state is PhaseState.completed for r in self.rows)


@dataclass(frozen=True)
class StepResult:
    """What a phase's step did: whether the phase is ready, what is missing, its outcome."""

    cycle: int
    phase: Phase
    ready: bool
    completed: bool
    missing: tuple[Missing, ...] = ()
    outcome: dict[str, Any] = field(default_factory=dict)
    announcements: tuple[Announcement, ...] = ()


def _load(session: Session, number: int) -> list[TrackedItem]:
    tracked = tracked_items(session, cycle=number)
    if not tracked:
        raise not_planned(number, planned_cycle_numbers(session))
    return tracked


def cycle_board(ctx: Context, *, number: int, as_of: dt.date) -> CycleBoard:
    ctx.store.require_ready()
    cycle = cycle_by_number(ctx.program, number)
    with ctx.store.session() as session:
        tracked = _load(session, number)
        progress = phase_progress(session, cycle=number)
        gates = list_gates(session, cycle=number)
    rows = board(tracked, progress, as_of, ctx.deadlines)
    return CycleBoard(
        status=summarize(cycle, tracked, as_of, ctx.deadlines),
        rows=rows,
        progress=progress,
        gates=gates,
        requirements={r.phase: tuple(missing_requirements(ctx.program, r.phase, tracked)) for r in rows},
    )


def _require_phase(cycle: Cycle, tracked: Sequence[TrackedItem], phase: Phase) -> None:
    if phase not in phases_of(tracked):
        raise InputError(f"cycle {cycle.number} ({cycle.months} months) has no {phase.value} phase")


def _complete(
    session: Session,
    *,
    number: int,
    phase: Phase,
    tracked: Sequence[TrackedItem],
    outcome: dict[str, Any],
    now: dt.datetime,
    actor: str,
    open_next: bool = True,
) -> list[Announcement]:
    """Complete a phase and (with `open_next`) open the one after it."""
    said = []
    if open_phase(session, cycle=number, phase=phase, now=now, actor=actor):
        said.append(Announcement("phase.started", number, phase))
    if record_outcome(
        session, cycle=number, phase=phase, outcome=outcome, complete=True, now=now, actor=actor
    ):
        said.append(Announcement("phase.completed", number, phase, {"outcome": outcome}))
    following = next_phase(tracked, phase) if open_next else None
    if following is not None and open_phase(session, cycle=number, phase=following, now=now, actor=actor):
        said.append(Announcement("phase.started", number, following))
    return said


def open_cycle(ctx: Context, *, number: int, now: dt.datetime, actor: str) -> tuple[PlanReport, StepResult]:
    """The plan-cycle step: plan the cycle (idempotent), complete its opening, and start
    its group meetings (the executive preparation opens in its own window)."""
    report, _ = plan(ctx, number=number, now=now, actor=actor)
    outcome = {"items": len(report.created) + len(report.updated) + report.unchanged + len(report.restored)}

    def work(session: Session) -> list[Announcement]:
        tracked = _load(session, number)
        said = []
        if open_phase(session, cycle=number, phase=Phase.group_meetings, now=now, actor=actor):
            said.append(Announcement("phase.started", number, Phase.group_meetings))
        done = phase_progress(session, cycle=number).get(Phase.opening)
        if done is None or done.state is not PhaseState.completed:
            # The executive preparation opens in its own window (group_meetings), not now.
            said += _complete(
                session,
                number=number,
                phase=Phase.opening,
                tracked=tracked,
                outcome=outcome,
                now=now,
                actor=actor,
                open_next=False,
            )
        return said

    said = ctx.store.transaction(work)
    return report, StepResult(
        cycle=number,
        phase=Phase.opening,
        ready=True,
        completed=True,
        outcome=outcome,
        announcements=tuple(said),
    )


def group_meetings(ctx: Context, *, number: int, as_of: dt.date, now: dt.datetime, actor: str) -> StepResult:
    """The group-meetings step: record which meetings have been held and which of their
    agendas and minutes are missing; open the executive preparation when its time has come;
    complete the phase once its last meeting is past."""
    ctx.store.require_ready()

    def work(session: Session) -> StepResult:
        tracked = _load(session, number)
        active = [t for t in tracked if t.active]
        meetings = [t.item for t in active if t.item.kind is ItemKind.meeting]
        held = [m for m in meetings if m.dates[1] < as_of]
        late = [
            t.item.key.to_string()
            for t in open_deliverables(Phase.group_meetings, active)
            if t.item.due is not None and t.item.due < as_of
        ]
        window = phases_of(tracked)[Phase.group_meetings]
        assert window.last_day is not None
        complete = as_of > window.last_day
        outcome = {
            "as_of": as_of.isoformat(),
            "meetings_held": len(held),
            "meetings_total": len(meetings),
            "papers_missing": sorted(late),
        }
        said = []
        if open_phase(session, cycle=number, phase=Phase.group_meetings, now=now, actor=actor):
            said.append(Announcement("phase.started", number, Phase.group_meetings))
        if record_outcome(
            session,
            cycle=number,
            phase=Phase.group_meetings,
            outcome=outcome,
            complete=complete,
            now=now,
            actor=actor,
        ):
            said.append(Announcement("phase.completed", number, Phase.group_meetings, {"outcome": outcome}))
        prep = phases_of(tracked).get(Phase.executive_prep)
        if (
            prep is not None
            and prep.first_day is not None
            and prep.first_day <= as_of
            and open_phase(session, cycle=number, phase=Phase.executive_prep, now=now, actor=actor)
        ):
            said.append(Announcement("phase.started", number, Phase.executive_prep))
        return StepResult(
            cycle=number,
            phase=Phase.group_meetings,
            ready=True,
            completed=complete,
            outcome=outcome,
            announcements=tuple(said),
        )

    return ctx.store.transaction(work)


def begin_phase(
    ctx: Context,
    *,
    number: int,
    phase: Phase,
    allow_missing: bool,
    now: dt.datetime,
    actor: str,
) -> StepResult:
    """Check what `phase` requires and, if all is in, open it. Earlier steps still open are
    completed on the way (their late papers stay with the overdue check). `allow_missing`
    lets an operator go on without some deliverables (they are recorded in the outcome);
    a gate that is not approved is never skipped."""
    if phase is Phase.group_meetings:
        raise InputError(f"cycle {number}: group meetings run beside the steps; run group-meetings instead")
    ctx.store.require_ready()
    cycle = cycle_by_number(ctx.program, number)

    def work(session: Session) -> StepResult:
        tracked = _load(session, number)
        _require_phase(cycle, tracked, phase)
        missing = missing_requirements(ctx.program, phase, tracked)
        progress = phase_progress(session, cycle=number)
        recorded = progress.get(phase)
        # Papers may be waived by the operator, now or when this phase's own begin went on
        # without them (a phase the step before it opened has checked nothing); gates never.
        excused = set(recorded.outcome.get("went_on_without", ())) if recorded else set()
        blocking = [
            m
            for m in missing
            if m.item.kind is ItemKind.gate or not (allow_missing or m.item.key.to_string() in excused)
        ]
        if recorded is not None and recorded.state is PhaseState.completed:
            return StepResult(
                cycle=number, phase=phase, ready=True, completed=True, outcome=dict(recorded.outcome)
            )
        if blocking:
            return StepResult(cycle=number, phase=phase, ready=False, completed=False, missing=tuple(missing))
        said = []
        steps: list[Phase] = [p for p in phases_of(tracked) if p is not Phase.group_meetings]
        for earlier in steps[: steps.index(phase)]:
            state = progress.get(earlier)
            if state is not None and state.state is PhaseState.completed:
                continue
            gate = gate_of(ctx.program, earlier, tracked)
            if gate is not None and gate.status != GateState.approved:
                raise InputError(
                    f"cycle {number}: {earlier.value} is not done, its gate {gate.item.key} is {gate.status}"
                )
            said += _complete(
                session,
                number=number,
                phase=earlier,
                tracked=tracked,
                outcome={"completed_when": f"{phase.value} began"},
                now=now,
                actor=actor,
            )
        for started in (Phase.group_meetings, phase):  # group meetings run through every step
            if open_phase(session, cycle=number, phase=started, now=now, actor=actor):
                said.append(Announcement("phase.started", number, started))
        outcome = dict(recorded.outcome) if recorded else {}  # an earlier went_on_without stays
        if missing:
            outcome["went_on_without"] = [m.item.key.to_string() for m in missing]
        record_outcome(
            session, cycle=number, phase=phase, outcome=outcome, complete=False, now=now, actor=actor
        )
        return StepResult(
            cycle=number,
            phase=phase,
            ready=True,
            completed=False,
            missing=tuple(missing),
            outcome=outcome,
            announcements=tuple(said),
        )

    return ctx.store.transaction(work)


def finish_phase(
    ctx: Context,
    *,
    number: int,
    phase: Phase,
    outcome: dict[str, Any],
    now: dt.datetime,
    actor: str,
) -> StepResult:
    """Record a phase's outcome, complete it and open the next one."""
    ctx.store.require_ready()

    def work(session: Session) -> StepResult:
        tracked = _load(session, number)
        previous = phase_progress(session, cycle=number).get(phase)
        merged = {**(previous.outcome if previous else {}), **outcome}
        said = _complete(
            session, number=number, phase=phase, tracked=tracked, outcome=merged, now=now, actor=actor
        )
        return StepResult(
            cycle=number, phase=phase, ready=True, completed=True, outcome=merged, announcements=tuple(said)
        )

    return ctx.store.transaction(work)


def assess(ctx: Context, *, number: int, as_of: dt.date, now: dt.datetime, actor: str) -> StepResult:
    """The assessment step: complete once the AM&E report (the phase's deliverables) is in
    and the AM&E group has rated every active objective of the cycle (`ratings_awaited`
    names those it has not)."""
    del as_of
    ctx.store.require_ready()
    with ctx.store.session() as session:
        waiting = open_deliverables(Phase.assessment, _load(session, number))
        unrated = [r.key for r in unrated_objectives(session, cycle=number)]
        earlier = phase_progress(session, cycle=number).get(Phase.assessment)
    if waiting or unrated:
        keys = [t.item.key.to_string() for t in waiting]

        def work(session: Session) -> dict[str, Any]:
            previous = phase_progress(session, cycle=number).get(Phase.assessment)
            outcome = {**(previous.outcome if previous else {}), "waiting_for": keys}
            outcome.pop("ratings_awaited", None)
            if unrated:
                outcome["ratings_awaited"] = unrated
            record_outcome(
                session,
                cycle=number,
                phase=Phase.assessment,
                outcome=outcome,
                complete=False,
                now=now,
                actor=actor,
            )
            return outcome

        outcome = ctx.store.transaction(work)
        return StepResult(cycle=number, phase=Phase.assessment, ready=True, completed=False, outcome=outcome)
    done: dict[str, Any] = {"waiting_for": []}
    if earlier is not None and "ratings_awaited" in earlier.outcome:
        done["ratings_awaited"] = []
    return finish_phase(ctx, number=number, phase=Phase.assessment, outcome=done, now=now, actor=actor)


def close_cycle(ctx: Context, *, number: int, as_of: dt.date, now: dt.datetime, actor: str) -> StepResult:
    """The close-cycle step: on or after the cycle's last day, record what is left open and
    complete every phase (the close-cycle flow then plans and opens the next cycle)."""
    cycle = cycle_by_number(ctx.program, number)
    if as_of < cycle.end:
        raise InputError(f"cycle {number} closes on {cycle.end}, not before (as of {as_of})")
    ctx.store.require_ready()
    with ctx.store.session() as session:
        tracked = _load(session, number)
    leftover = sorted(
        t.item.key.to_string() for phase in phases_of(tracked) for t in open_deliverables(phase, tracked)
    )

    def work(session: Session) -> list[Announcement]:
        said: list[Announcement] = []
        progress = phase_progress(session, cycle=number)
        for phase in phases_of(tracked):
            state = progress.get(phase)
            if state is not None and state.state is PhaseState.completed:
                continue
            outcome = {**(state.outcome if state else {}), "closed_with_cycle": True}
            if phase is Phase.close_out:
                outcome = {"left_open": leftover}
            if open_phase(session, cycle=number, phase=phase, now=now, actor=actor):
                said.append(Announcement("phase.started", number, phase))
            if record_outcome(
                session, cycle=number, phase=phase, outcome=outcome, complete=True, now=now, actor=actor
            ):
                said.append(Announcement("phase.completed", number, phase, {"outcome": outcome}))
        return said

    said = ctx.store.transaction(work)
    return StepResult(
        cycle=number,
        phase=Phase.close_out,
        ready=True,
        completed=True,
        outcome={"left_open": leftover},
        announcements=tuple(said),
    )


# --- gates -----------------------------------------------------------------------------


def offered_activities(ctx: Context, *, number: int, as_of: dt.date | None = None) -> tuple[str, ...]:
    """What the exercise selection may choose from: the keys of the validated APA's
    observable activities (combined exercises, trainings) of the second year, with `as_of`
    only those that begin after it."""
    return tuple(a.key.to_string() for a in observable_activities(ctx, number=number, as_of=as_of))


def gate_offers(ctx: Context, *, number: int, phase: Phase, as_of: dt.date) -> tuple[str, ...]:
    """The activities a gate's decision on `as_of` may name: the draft APA at its
    validation; at the exercise selection the validated APA's observable activities of
    the second year that begin after `as_of`."""
    if phase is Phase.executive_session:
        return tuple(a.key.to_string() for a in apa_state(ctx, number=number).draft)
    if phase is Phase.observation_visit:
        return offered_activities(ctx, number=number, as_of=as_of)
    return ()


def gate_for(ctx: Context, *, number: int, phase: Phase) -> GateView:
    ctx.store.require_ready()
    with ctx.store.session() as session:
        tracked = _load(session, number)
        item = gate_of(ctx.program, phase, tracked)
        if item is None:
            raise NotFoundError(f"cycle {number} has no gate in its {phase.value} phase")
        return next(g for g in list_gates(session, cycle=number) if g.item.key == item.item.key)


def ask(
    ctx: Context,
    *,
    number: int,
    phase: Phase,
    run: str | None,
    expires_at: dt.datetime | None,
    now: dt.datetime,
    actor: str,
) -> tuple[GateView, list[Announcement]]:
    """Ask for the phase's gate decision (unless it is approved already)."""
    key = gate_for(ctx, number=number, phase=phase).item.key.to_string()
    view, new = ctx.store.transaction(
        lambda s: request_gate(s, key=key, run=run, expires_at=expires_at, now=now, actor=actor)
    )
    said = []
    if new:
        said.append(
            Announcement(
                "gate.requested",
                number,
                phase,
                {"gate": key, "run": run, "expires_at": expires_at.isoformat() if expires_at else None},
            )
        )
    return view, said


def decide(
    ctx: Context, *, key: str, decision: GateDecision, now: dt.datetime, actor: str
) -> tuple[GateView, list[Announcement]]:
    """Check and record a gate decision; recording the same one again changes nothing."""
    ctx.store.require_ready()
    with ctx.store.session() as session:
        current = read_gate(session, key=key)
    number = current.item.key.cycle
    phase = current.item.phase
    checked = check_decision(
        ctx.program, phase, decision, offered=gate_offers(ctx, number=number, phase=phase, as_of=now.date())
    )

    def work(session: Session) -> tuple[GateView, bool]:
        view, new = decide_gate(session, key=key, decision=checked, now=now, actor=actor)
        if new and checked.approved:
            # The APA is frozen as validated, or the visit moves to the chosen exercise:
            # either way the cycle is planned again, so the calendars follow.
            if phase is Phase.executive_session:
                version = validated_version(
                    cycle=number,
                    draft=proposals(session, cycle=number),
                    chosen=checked.activities,
                    decided_by=view.decided_by or actor,
                    gate=key,
                    at=now,
                )
                check_apa_fits(ctx, number=number, apa=ApaPlan(version.activities), what=key)
                save_version(session, version=version, actor=actor)
            else:
                check_apa_fits(ctx, number=number, apa=apa_plan(session, cycle=number), what=key)
            replan(ctx, session, number=number, now=now, actor=actor)
        return view, new

    view, new = ctx.store.transaction(work)
    said = []
    if new:
        said.append(
            Announcement(
                "gate.decided",
                number,
                phase,
                {
                    "gate": key,
                    "state": view.state.value,
                    "decided_by": view.decided_by,
                    "notes": checked.notes,
                },
            )
        )
    return view, said


def expire(ctx: Context, *, now: dt.datetime, actor: str) -> list[Announcement]:
    """Mark gate requests whose time ran out as timed out."""
    ctx.store.require_ready()
    marked = ctx.store.transaction(lambda s: expire_gates(s, now=now, actor=actor))
    return [
        Announcement(
            "gate.timed-out",
            g.item.key.cycle,
            g.item.phase,
            {
                "gate": g.item.key.to_string(),
                "expired_at": g.expires_at.isoformat() if g.expires_at else None,
            },
        )
        for g in marked
    ]
