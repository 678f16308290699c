"""The operator's console: one markdown artifact per cycle, `cycle-{n}-console`, that says
on one screen where the cycle stands, what blocks it, what waits for a decision, what is
late and who must act, and what comes next, and the cycle as a timeline
(`flows.timeline`).

Every line about the step and its blockers comes from `cycle.standpoint` through the
helpers here, which the summary and the status table use too: the views cannot disagree.
Tables keep to five short columns, who must act first, so that they fit the artifact's
card at 1440 px without scrolling sideways. Pure text: no Prefect.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence

from cycle.deadlines import Standing
from cycle.items import ItemKind, PlannedItem
from cycle.phases import PhaseRow, PhaseState
from cycle.program import Phase, Program
from cycle.progression import CycleBoard
from cycle.standpoint import Blocker, Standpoint
from cycle.store.progress import GateView
from cycle.views import owner_label
from flows.catalog import DEPLOYMENTS, STARTS
from flows.timeline import timeline_image

TITLE_WIDTH = 44
"""Titles are cut to this many characters in tables, so a table fits its card."""
INLINE = 5
"""Blocking items named inline; the console's last table lists all of them."""
WORST = 8
"""Late deliverables shown one by one, the most severe first."""
NEXT_DATES = 5


def short(text: str, width: int = TITLE_WIDTH) -> str:
    """`text` cut to `width` characters, with an ellipsis when cut."""
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def cell(text: str) -> str:
    """Text safe in a markdown table cell."""
    return text.replace("|", "/").replace("\n", " ")


def lateness(days: int) -> str:
    return f"{days} day{'s' if days != 1 else ''} late" if days > 0 else "not due yet"


def gate_state(row: PhaseRow, sp: Standpoint) -> str:
    """A phase's gate as every view writes it: its state, and how late if undecided past due."""
    if row.gate is None:
        return ""
    for blocker in (*sp.blockers, *sp.next_needs):
        if blocker.is_gate and blocker.item.phase is row.phase and blocker.days_late > 0:
            return f"{row.gate}, {lateness(blocker.days_late)}"
    return row.gate


def position_line(sp: Standpoint) -> str:
    """Where the cycle stands, by the flows and by the calendar, in one sentence."""
    step = sp.step
    if step is None:
        return "Every step of the cycle is completed."
    first, last = step.window
    if step.state is PhaseState.open:
        state = f"open (its window {first} → {last})"
    elif sp.missed:
        state = f"not started: it was due to start on {first}, {(sp.as_of - first).days} days ago"
    else:
        state = f"not started: it starts on {first}"
    line = f"The flows are at **{step.name.en}**, {state}."
    calendar = sp.calendar
    if calendar is not None and calendar.phase is not step.phase:
        a, b = calendar.window
        where = "is in" if a <= sp.as_of <= b else "has passed"
        line += f" The calendar {where} *{calendar.name.en}* ({a} → {b})."
    return line


def _needs(blockers: Sequence[Blocker]) -> str:
    gates = [b.item.title.en for b in blockers if b.is_gate]
    count = sum(not b.is_gate for b in blockers)
    parts = [*gates, *([f"{count} deliverable{'s' if count != 1 else ''}"] if count else [])]
    return ", ".join(parts)


def blocker_lines(sp: Standpoint, *, listed_below: bool = True) -> list[str]:
    """What blocks the step, and what the step after it waits for, as markdown bullets
    (`listed_below`: the console's last table lists every missing input)."""
    step = sp.step
    if step is None:
        return []
    inputs = [b for b in sp.blockers if not b.is_gate]
    lines = [
        f"- Gate *{g.item.title.en}* ({g.item.key}, due {g.item.due}): "
        f"**{g.status}, {lateness(g.days_late)}**"
        for g in sp.blockers
        if g.is_gate
    ]
    if inputs:
        shown = "; ".join(f"{b.item.key} ({lateness(b.days_late)})" for b in inputs[:INLINE])
        where = " (below)" if listed_below else ""
        more = f"; and {len(inputs) - INLINE} more{where}" if len(inputs) > INLINE else ""
        lines.append(f"- **{len(inputs)} required inputs are not in** for *{step.name.en}*: {shown}{more}")
    if sp.missed:
        flow = STARTS.get(step.phase)
        if flow is not None:
            lines.append(
                f"- **{step.name.en} was due to start on {step.window[0]} and has not started**: "
                f"run *{DEPLOYMENTS[flow].title}* ({flow})"
            )
    following = sp.next_step
    if following is not None and sp.next_needs:
        lines.append(f"- *{following.name.en}*, next, waits for: {_needs(sp.next_needs)}")
    if not lines:
        lines.append(f"- Nothing: *{step.name.en}* has everything it requires.")
    return lines


def _waiting(board: CycleBoard, as_of: dt.date) -> list[str]:
    open_gates = [g for g in board.gates if g.state.value == "pending"]
    if not open_gates:
        return ["Nothing waits for a decision."]
    lines = ["| gate | due | late | where to answer |", "|---|---|---|---|"]
    for g in open_gates:
        due = g.item.due
        late = lateness((as_of - due).days) if due else ""
        flow = STARTS.get(g.item.phase) if g.item.phase else None
        first = [
            m.item.title.en
            for m in board.requirements.get(g.item.phase, ())
            if g.item.phase
            if m.item.kind is ItemKind.gate and m.item.key != g.item.key
        ]
        if g.request_run:
            where = f"[the run's form](/runs/flow-run/{g.request_run})"
        elif first:
            where = f"after *{short(first[0], 36)}*"
        elif flow is not None:
            where = f"not asked yet: run *{DEPLOYMENTS[flow].title}*"
        else:
            where = "not asked yet"
        lines.append(f"| {cell(short(g.item.title.en))} | {due} | {late} | {where} |")
    return lines


def _decided(gates: Sequence[GateView]) -> list[str]:
    """The gates the tri-chairs have answered, with what their answer holds."""
    lines = []
    for g in gates:
        if g.decision is None or g.state.value not in ("approved", "rejected"):
            continue
        when = f" on {g.decided_at:%Y-%m-%d}" if g.decided_at else ""
        line = f"- *{g.item.title.en}*: **{g.state.value}** by {g.decided_by}{when}"
        count = len(g.decision.activities)
        if g.state.value == "rejected":
            line += f": {cell(short(g.decision.notes, 80))}"
        elif g.item.phase is Phase.executive_session:
            line += f" — {count} activit{'y' if count == 1 else 'ies'} validated"
        elif count:
            line += f" — the visit observes `{g.decision.activities[0]}`"
        lines.append(line)
    return lines


def _late(program: Program, overdue: Sequence[Standing]) -> list[str]:
    if not overdue:
        return ["Nothing is overdue."]
    levels = Counter(s.level.definition.name.en if s.level else "-" for s in overdue)
    lines = [
        f"{len(overdue)} overdue: " + ", ".join(f"**{count}** at {name}" for name, count in levels.items()),
        "",
        "| level | owner | deliverable | due | late (work days) |",
        "|---|---|---|---|---:|",
    ]
    for s in overdue[:WORST]:
        level = s.level.definition.name.en if s.level else ""
        lines.append(
            f"| {cell(level)} | {cell(owner_label(program, s.item.owner))} "
            f"| {cell(short(s.item.title.en, 36))} "
            f"| {s.due} | {s.working_days_late} |"
        )
    if len(overdue) > WORST:
        lines += ["", f"… and {len(overdue) - WORST} more in the `cycle-N-overdue` table (with their keys)."]
    return lines


def _next_dates(board: CycleBoard) -> list[str]:
    lines = []
    for item in board.status.next_events[:NEXT_DATES]:
        waits = waits_for(board, item)
        lines.append(f"- {item.dates[0]}: {item.title.en}" + (f" — waits for {waits}" if waits else ""))
    return lines or ["Nothing is planned ahead in this cycle."]


def waits_for(board: CycleBoard, item: PlannedItem) -> str:
    """What must happen first for an item of a phase that cannot start yet."""
    if item.kind is ItemKind.meeting or item.phase is None:
        return ""
    missing = [m for m in board.requirements.get(item.phase, ()) if m.item.key != item.key]
    gates = [m.item.title.en for m in missing if m.item.kind is ItemKind.gate]
    return ", ".join(gates)


def console_markdown(program: Program, board: CycleBoard, overdue: Sequence[Standing]) -> str:
    """The console of one cycle on the board's day."""
    sp = board.standpoint
    cycle = board.status.cycle
    inputs = [b for b in sp.blockers if not b.is_gate]
    lines = [
        f"# Cycle {cycle.number} · as of {sp.as_of}",
        "",
        f"{cycle.start} → {cycle.end} ({cycle.months} months). {position_line(sp)}",
        "",
        "## What blocks it",
        "",
        *blocker_lines(sp),
        "",
        "## Waiting for a decision",
        "",
        *_waiting(board, sp.as_of),
        "",
        *(["## Decided", "", *decided, ""] if (decided := _decided(board.gates)) else []),
        "## Late deliverables, by who must act",
        "",
        *_late(program, overdue),
        "",
        "## Next dates",
        "",
        *_next_dates(board),
        "",
        "## The cycle at a glance",
        "",
        timeline_image(board.rows, start=cycle.start, end=cycle.end, as_of=sp.as_of),
    ]
    skipped = [
        f"- {phase.value} went on without: {', '.join(keys)}"
        for phase, progress in board.progress.items()
        if (keys := progress.outcome.get("went_on_without"))
    ]
    if skipped:
        lines += ["", "## Went on without", "", *skipped]
    if inputs:
        lines += [
            "",
            f"## Every input {sp.step.name.en if sp.step else ''} still needs ({len(inputs)})",
            "",
            "| owner | key (for *Record a deliverable*) | due | late |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {cell(owner_label(program, b.item.owner))} | `{b.item.key}` "
            f"| {b.item.due} | {b.days_late} d |"
            for b in inputs
        ]
    return "\n".join(lines) + "\n"
