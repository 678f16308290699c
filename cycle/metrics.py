"""AM&E metrics: how well deliverables arrive on time, per cycle, per body and per line
of effort. Pure: built from deliverables with their state and hand-in instant.

For each deliverable due on or before `as_of` (the ones that can be judged):

- **on time**: handed in (submitted, then maybe accepted) by the end of its due date in
  the program's westernmost time zone — a hand-in counts on the earliest local date any
  of the program's institutions had at that instant, so nobody is late by a time zone;
- **late**: handed in after that; its days late are the calendar days from the due date
  to the hand-in day;
- **overdue**: still pending past its due date (and grace) on `as_of` (a hand-in after
  `as_of` had not happened then); its days late run to `as_of`;
- **waived**: left out of the rate.

The **on-time rate** is on time / (on time + late + overdue); the **mean days late** is
over the late and the overdue ones. **Open** counts every deliverable nobody has closed
yet (pending or submitted, whatever its due date).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cycle.deadlines import Deadlines
from cycle.deliverable import DeliverableState
from cycle.items import PlannedItem
from cycle.objectives import OPEN, ObjectiveStatus
from cycle.program import Lang, Program

PROGRAM_WIDE = "program-wide"
"""The line of effort of items that belong to no body (sessions, visits, the AM&E)."""


@dataclass(frozen=True, slots=True)
class DeliverableRecordView:
    """What the metrics need of a stored deliverable."""

    item: PlannedItem
    state: DeliverableState
    submitted_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Figures:
    """The on-time figures of one group of deliverables."""

    key: str
    name: str
    total: int
    judged: int
    """Due on or before `as_of` and not waived: what the rate is over."""
    on_time: int
    late: int
    overdue: int
    waived: int
    open: int
    days_late_total: int

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.judged if self.judged else None

    @property
    def mean_days_late(self) -> float | None:
        lateness = self.late + self.overdue
        return self.days_late_total / lateness if lateness else None


@dataclass(frozen=True)
class Report:
    as_of: dt.date
    cycle: int
    by_cycle: list[Figures]
    by_body: list[Figures]
    by_line_of_effort: list[Figures]
    totals: Figures
    objectives: ObjectiveFigures | None = None
    """The bodies' objectives and their ratings (see `objective_figures`)."""
    apa_carried_out_as_planned: float | None = None
    """The share (0-1) of the cycle's validated APA activities over by the report's day that
    were carried out as validated; None before any is over (operations.ame_report)."""


def hand_in_day(instant: dt.datetime, program: Program) -> dt.date:
    """The earliest local date any of the program's institutions had at `instant`.

    >>> from cycle.config import load_program, shipped_config_path
    >>> program, _ = load_program(shipped_config_path(), check_schedule=False)
    >>> hand_in_day(dt.datetime(2025, 9, 30, 4, 30, tzinfo=dt.UTC), program)  # 22:30 in Denver
    datetime.date(2025, 9, 29)
    """
    return min(instant.astimezone(zoneinfo.ZoneInfo(i.timezone)).date() for i in program.institutions)


def _figures(
    key: str,
    name: str,
    records: Sequence[DeliverableRecordView],
    *,
    as_of: dt.date,
    deadlines: Deadlines,
) -> Figures:
    on_time = late = overdue = waived = open_ = days_late = judged = 0
    for record in records:
        item, state = record.item, record.state
        assert item.due is not None
        if state not in (DeliverableState.accepted, DeliverableState.waived):
            open_ += 1
        if state is DeliverableState.waived:
            waived += 1
            continue
        if item.due > as_of:
            continue
        handed = hand_in_day(record.submitted_at, deadlines.program) if record.submitted_at else None
        if state is DeliverableState.pending or (handed is not None and handed > as_of):
            # Not in yet on `as_of` (a later hand-in did not exist then).
            if deadlines.is_overdue(item, DeliverableState.pending, as_of):
                judged += 1
                overdue += 1
                days_late += (as_of - item.due).days
            continue  # due that day or within its grace: not judged yet
        if handed is None:
            continue  # handed in, but when is not recorded: not judged either way
        judged += 1
        if handed <= item.due:
            on_time += 1
        else:
            late += 1
            days_late += (handed - item.due).days
    return Figures(
        key=key,
        name=name,
        total=len(records),
        judged=judged,
        on_time=on_time,
        late=late,
        overdue=overdue,
        waived=waived,
        open=open_,
        days_late_total=days_late,
    )


def _grouped(
    records: Iterable[DeliverableRecordView],
    group: Callable[[DeliverableRecordView], tuple[str, str]],
    *,
    as_of: dt.date,
    deadlines: Deadlines,
    order: Callable[[str], Any] = lambda _key: 0,
) -> list[Figures]:
    groups: dict[tuple[str, str], list[DeliverableRecordView]] = {}
    for record in records:
        groups.setdefault(group(record), []).append(record)
    return [
        _figures(key, name, members, as_of=as_of, deadlines=deadlines)
        for (key, name), members in sorted(groups.items(), key=lambda pair: (order(pair[0][0]), pair[0][1]))
    ]


def report(
    records: Sequence[DeliverableRecordView],
    *,
    cycle: int,
    as_of: dt.date,
    deadlines: Deadlines,
    lang: Lang = "en",
) -> Report:
    """The AM&E figures: the trend over every cycle in `records` up to `cycle`, and for
    `cycle` its bodies (owners) and lines of effort."""
    program = deadlines.program

    def owner(record: DeliverableRecordView) -> tuple[str, str]:
        slug = record.item.owner or "-"
        try:
            return slug, program.owner_name(slug).get(lang)
        except KeyError:
            return slug, slug

    def line_of_effort(record: DeliverableRecordView) -> tuple[str, str]:
        body = next((b for b in program.bodies if b.slug == record.item.body), None)
        if body is None or body.line_of_effort is None:
            return PROGRAM_WIDE, {"en": "Program-wide", "es": "De todo el programa"}[lang]
        return body.line_of_effort, program.line_of_effort(body.line_of_effort).name.get(lang)

    def cycle_of(record: DeliverableRecordView) -> tuple[str, str]:
        number = record.item.key.cycle
        return str(number), {"en": f"Cycle {number}", "es": f"Ciclo {number}"}[lang]

    upto = [r for r in records if r.item.key.cycle <= cycle]
    chosen = [r for r in upto if r.item.key.cycle == cycle]
    return Report(
        as_of=as_of,
        cycle=cycle,
        by_cycle=_grouped(upto, cycle_of, as_of=as_of, deadlines=deadlines, order=int),
        by_body=_grouped(chosen, owner, as_of=as_of, deadlines=deadlines),
        by_line_of_effort=_grouped(chosen, line_of_effort, as_of=as_of, deadlines=deadlines),
        totals=_figures(
            "total",
            {"en": f"Cycle {cycle}", "es": f"Ciclo {cycle}"}[lang],
            chosen,
            as_of=as_of,
            deadlines=deadlines,
        ),
    )


# --- objectives -----------------------------------------------------------------------------
# The bodies' objectives held in the cycle, counted by status per body and per line of
# effort, with those still open past their horizon's target date; and the AM&E ratings of
# each, cycle by cycle.

OBJECTIVE_STATUSES = tuple(ObjectiveStatus)


@dataclass(frozen=True, slots=True)
class ObjectiveFacts:
    """What the figures need of a stored objective."""

    key: str
    body: str
    line_of_effort: str
    title: str
    status: str
    target: dt.date
    first_cycle: int
    cycle: int


@dataclass(frozen=True, slots=True)
class RatingFacts:
    key: str
    cycle: int
    value: int
    effectiveness: int


@dataclass(frozen=True, slots=True)
class ObjectiveCounts:
    """Objectives of one group by status; `past_target`: still open (proposed or active)
    after their target date."""

    key: str
    name: str
    proposed: int
    active: int
    achieved: int
    dropped: int
    past_target: int

    @property
    def total(self) -> int:
        return self.proposed + self.active + self.achieved + self.dropped


@dataclass(frozen=True, slots=True)
class RatingsOverCycles:
    """One objective's ratings: cycle -> (value, effectiveness)."""

    key: str
    title: str
    body: str
    by_cycle: dict[int, tuple[int, int]]


@dataclass(frozen=True)
class ObjectiveFigures:
    by_body: list[ObjectiveCounts]
    by_line_of_effort: list[ObjectiveCounts]
    totals: ObjectiveCounts
    cycles: list[int]
    """The cycles with ratings, oldest first: the columns of the ratings table."""
    ratings: list[RatingsOverCycles]


def _counts(key: str, name: str, members: Sequence[ObjectiveFacts], as_of: dt.date) -> ObjectiveCounts:
    by_status = {status.value: sum(o.status == status for o in members) for status in OBJECTIVE_STATUSES}
    return ObjectiveCounts(
        key=key,
        name=name,
        past_target=sum(o.status in OPEN and o.target < as_of for o in members),
        **by_status,
    )


def objective_figures(
    objectives: Sequence[ObjectiveFacts],
    ratings: Sequence[RatingFacts],
    *,
    cycle: int,
    as_of: dt.date,
    program: Program,
    lang: Lang = "en",
) -> ObjectiveFigures:
    """The objectives held in `cycle` (set in it or carried into it) per body and line of
    effort, and their ratings in every cycle up to `cycle`."""
    held = sorted((o for o in objectives if o.first_cycle <= cycle <= o.cycle), key=lambda o: o.key)

    def grouped(attribute: str, name: Callable[[str], str]) -> list[ObjectiveCounts]:
        groups: dict[str, list[ObjectiveFacts]] = {}
        for objective in held:
            groups.setdefault(getattr(objective, attribute), []).append(objective)
        return [_counts(slug, name(slug), members, as_of) for slug, members in sorted(groups.items())]

    def body_name(slug: str) -> str:
        return program.body(slug).name.get(lang)

    def line_name(slug: str) -> str:
        return program.line_of_effort(slug).name.get(lang)

    rated: dict[str, dict[int, tuple[int, int]]] = {}
    for rating in ratings:
        if rating.cycle <= cycle:
            rated.setdefault(rating.key, {})[rating.cycle] = (rating.value, rating.effectiveness)
    return ObjectiveFigures(
        by_body=grouped("body", body_name),
        by_line_of_effort=grouped("line_of_effort", line_name),
        totals=_counts("total", {"en": f"Cycle {cycle}", "es": f"Ciclo {cycle}"}[lang], held, as_of),
        cycles=sorted({number for by_cycle in rated.values() for number in by_cycle}),
        ratings=[
            RatingsOverCycles(
                key=o.key, title=o.title, body=o.body, by_cycle=dict(sorted(rated[o.key].items()))
            )
            for o in held
            if o.key in rated
        ],
    )
