"""The schedule engine: (program, cycle number) -> the cycle's dated items.

Pure: the same program and number always give the same plan, with no clock and no I/O
beyond the holiday tables. Deliverables and gates that land on a weekend or on a public
holiday of either country move to the next day that works in both; meetings, sessions and
visits take the first run of consecutive working days from their nominal date; milestones
and phase windows keep their dates.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Iterator
from dataclasses import dataclass

import pendulum

from cycle.apa import Activity, ApaPlan
from cycle.business_calendar import BusinessCalendar, business_calendar
from cycle.cycles import Cycle, cycle_by_number
from cycle.items import ActivityFacts, ItemKey, ItemKind, PlannedItem, zone_named
from cycle.program import (
    LANGS,
    Anchor,
    Body,
    BodyStatus,
    EventTemplate,
    ItemTemplate,
    KeyPath,
    Localized,
    Offset,
    Phase,
    Program,
    Weekday,
)


@dataclass(frozen=True, slots=True)
class CyclePlan:
    cycle: Cycle
    items: tuple[PlannedItem, ...]

    def by_key(self) -> dict[str, PlannedItem]:
        return {item.key.to_string(): item for item in self.items}


class TemplateRangeError(Exception):
    """The template puts an item outside its cycle; `key_path` is the config key to blame."""

    def __init__(self, key_path: KeyPath, message: str) -> None:
        super().__init__(message)
        self.key_path = key_path
        self.message = message


def plan_cycle(
    program: Program, number: int, calendar: BusinessCalendar | None = None, *, apa: ApaPlan | None = None
) -> CyclePlan:
    """Every dated item of cycle `number`, in a stable order.

    `apa` is what the store holds of the cycle's Annual Plan of Activities: its validated
    activities become items of the cycle, and the exercise chosen for the observation
    visit sets the visit's dates and place (everything anchored to the visit follows)."""
    calendar = calendar or business_calendar(program)
    cycle = cycle_by_number(program, number)
    planner = _Planner(program, cycle, calendar, apa or ApaPlan())
    return CyclePlan(cycle=cycle, items=tuple(planner.items()))


def nth_weekday(month_start: dt.date, week: int, weekday: Weekday) -> dt.date:
    """The `week`-th `weekday` of the month that opens on `month_start`.

    >>> nth_weekday(dt.date(2026, 8, 1), 1, Weekday.tuesday)
    datetime.date(2026, 8, 4)
    """
    shift = (weekday.number - month_start.weekday()) % 7
    return month_start + dt.timedelta(days=shift + 7 * (week - 1))


@dataclass(frozen=True, slots=True)
class _Event:
    """A timed occurrence that other items are anchored to."""

    item: PlannedItem
    first_day: dt.date
    last_day: dt.date
    host: str


class _Planner:
    def __init__(self, program: Program, cycle: Cycle, calendar: BusinessCalendar, apa: ApaPlan) -> None:
        self.program = program
        self.cycle = cycle
        self.calendar = calendar
        self.apa = apa

    def key(self, kind: ItemKind, body: str | None, name: str) -> ItemKey:
        return ItemKey(self.cycle.number, kind, body, name)

    def items(self) -> Iterator[PlannedItem]:
        session = self._executive_session()
        visit = self._observation_visit()
        meetings = {body.slug: list(self._meetings(index, body)) for index, body in self._meeting_bodies()}
        anchors: dict[Anchor, dt.date] = {
            Anchor.cycle_start: self.cycle.start,
            Anchor.cycle_end: self.cycle.end,
            Anchor.executive_session: session.first_day,
            Anchor.executive_session_end: session.last_day,
        }
        hosts = {Anchor.executive_session: session.host, Anchor.executive_session_end: session.host}
        if visit is not None:
            anchors |= {
                Anchor.observation_visit: visit.first_day,
                Anchor.observation_visit_end: visit.last_day,
            }
            hosts |= {Anchor.observation_visit: visit.host, Anchor.observation_visit_end: visit.host}

        yield from self._phases(anchors)
        yield session.item
        if visit is not None:
            yield visit.item
        for body_meetings in meetings.values():
            yield from (event.item for event in body_meetings)
        for index, template in enumerate(self.program.template.items):
            yield from self._template_items(index, template, anchors, hosts, meetings)
        yield from (self._activity(activity) for activity in self.apa.activities)

    # --- events ------------------------------------------------------------------------

    def _executive_session(self) -> _Event:
        template = self.program.template.executive_session
        history = self.cycle.history
        if history is not None:
            year, month = history.session_year_month
            month_start, host = dt.date(year, month, 1), history.host
            key_path: KeyPath = ("history", history.cycle - 1, "executive_session")
        else:
            month_start = self.cycle.month_start(template.month)
            host = template.host_for(self.cycle.number)
            key_path = ("template", "executive_session", "month")
        return self._event(
            template=template,
            kind=ItemKind.executive_session,
            month_start=month_start,
            host=host,
            phase=Phase.executive_session,
            key_path=key_path,
        )

    def _observation_visit(self) -> _Event | None:
        template = self.program.template.observation_visit
        if template is None or template.month > self.cycle.months:
            return None  # a 12-month cycle has its executive session and no visit
        if self.apa.visit is not None:
            return self._visit_at(template, self.apa.visit)
        return self._event(
            template=template,
            kind=ItemKind.observation_visit,
            month_start=self.cycle.month_start(template.month),
            host=template.host_for(self.cycle.number),
            phase=Phase.observation_visit,
            key_path=("template", "observation_visit", "month"),
        )

    def _event(
        self,
        *,
        template: EventTemplate,
        kind: ItemKind,
        month_start: dt.date,
        host: str,
        phase: Phase,
        key_path: KeyPath,
    ) -> _Event:
        first = self.calendar.first_working_run(
            nth_weekday(month_start, template.week, template.weekday), template.days
        )
        last = first + dt.timedelta(days=template.days - 1)
        item = self._timed_item(
            key=self.key(kind, None, "1"),
            phase=phase,
            title=template.title,
            owner=template.owner,
            host=host,
            first=first,
            last=last,
            start_time=template.start_time,
            end_time=template.end_time,
        )
        self._require_inside(first, last, key_path, template.title.en)
        return _Event(item=item, first_day=first, last_day=last, host=host)

    def _visit_at(self, template: EventTemplate, exercise: Activity) -> _Event:
        """The visit during the chosen exercise, hosted where it is: its first run of working
        days, as long as the template's visit (shorter if the exercise is); an exercise with
        no working day (a weekend) is visited on its own first days."""
        first, days = visit_days(self.calendar, exercise, template.days)
        last = first + dt.timedelta(days=days - 1)
        if all(i.slug != exercise.host for i in self.program.institutions):
            raise TemplateRangeError(
                ("institutions",),
                f"the exercise chosen for the observation visit ({exercise.key.to_string()}) is hosted by "
                f"{exercise.host!r}, which is no longer an institution of the program file: the visit needs "
                "its time zone and seat; restore the institution",
            )
        item = self._timed_item(
            key=self.key(ItemKind.observation_visit, None, "1"),
            phase=Phase.observation_visit,
            title=template.title,
            owner=template.owner,
            host=exercise.host,
            first=first,
            last=last,
            start_time=template.start_time,
            end_time=template.end_time,
        )
        if exercise.location is not None:
            item = dataclasses.replace(item, location=exercise.location)
        self._require_inside(first, last, ("template", "observation_visit", "month"), template.title.en)
        return _Event(item=item, first_day=first, last_day=last, host=exercise.host)

    def _activity(self, activity: Activity) -> PlannedItem:
        """A validated APA activity: all-day, on its dates or over its window."""
        return PlannedItem(
            key=activity.key,
            phase=Phase.group_meetings,
            title=activity.title,
            owner=activity.body,
            host=activity.host,
            location=activity.location or self._seat(activity.host),
            first_day=activity.first_day,
            last_day=activity.last_day,
            activity=ActivityFacts(
                kind=activity.kind,
                line_of_effort=activity.line_of_effort,
                participants=activity.participants,
                objectives=activity.objectives,
                window=activity.window,
            ),
        )

    def _seat(self, host: str) -> Localized | None:
        """Where an activity's host sits; none once the program file no longer has the
        institution (the stored activity keeps its own facts, and its item stays planned)."""
        found = next((i for i in self.program.institutions if i.slug == host), None)
        return found.seat if found is not None else None

    def _meeting_bodies(self) -> Iterator[tuple[int, Body]]:
        for index, body in enumerate(self.program.bodies):
            if body.meets:
                yield index, body

    def _meetings(self, body_index: int, body: Body) -> Iterator[_Event]:
        assert body.cadence_months is not None
        assert body.first_month is not None
        title_template = self.program.template.meetings.title
        month, number = body.first_month, 1
        while month <= self.cycle.months:
            nominal = nth_weekday(self.cycle.month_start(month), body.week, body.weekday)
            first = self.calendar.first_working_run(nominal, body.meeting_days)
            last = first + dt.timedelta(days=body.meeting_days - 1)
            host = body.hosts[(number - 1) % len(body.hosts)]
            title = Localized(
                **{
                    lang: title_template.get(lang).format(body=body.name.get(lang), n=number)
                    for lang in LANGS
                }
            )
            item = self._timed_item(
                key=self.key(ItemKind.meeting, body.slug, str(number)),
                phase=Phase.group_meetings,
                title=title,
                owner=body.slug,
                host=host,
                first=first,
                last=last,
                start_time=body.start_time,
                end_time=body.end_time,
            )
            self._require_inside(first, last, ("bodies", body_index, "first_month"), title.en)
            yield _Event(item=item, first_day=first, last_day=last, host=host)
            month += body.cadence_months
            number += 1

    def _timed_item(
        self,
        *,
        key: ItemKey,
        phase: Phase,
        title: Localized,
        owner: str,
        host: str,
        first: dt.date,
        last: dt.date,
        start_time: dt.time,
        end_time: dt.time,
    ) -> PlannedItem:
        institution = self.program.institution(host)
        zone = institution.timezone
        return PlannedItem(
            key=key,
            phase=phase,
            title=title,
            owner=owner,
            host=host,
            location=institution.seat,
            start=_at(first, start_time, zone),
            end=_at(last, end_time, zone),
            timezone=zone,
        )

    # --- phases, milestones, deliverables, gates ----------------------------------------

    def _phases(self, anchors: dict[Anchor, dt.date]) -> Iterator[PlannedItem]:
        for index, template in enumerate(self.program.template.phases):
            first = self._resolve(template.start, anchors, move=False)
            last = self._resolve(template.end, anchors, move=False)
            if first is None or last is None:
                continue  # anchored to the visit, in a cycle without one
            key_path: KeyPath = ("template", "phases", index)
            if last < first:
                raise TemplateRangeError(
                    key_path, f"phase {template.slug.value} ends ({last}) before it starts ({first})"
                )
            self._require_inside(first, last, key_path, template.name.en)
            yield PlannedItem(
                key=self.key(ItemKind.phase, None, template.slug.value),
                phase=template.slug,
                title=template.name,
                owner=None,
                first_day=first,
                last_day=last,
            )

    def _template_items(
        self,
        index: int,
        template: ItemTemplate,
        anchors: dict[Anchor, dt.date],
        hosts: dict[Anchor, str],
        meetings: dict[str, list[_Event]],
    ) -> Iterator[PlannedItem]:
        kind = ItemKind(template.kind)
        move = kind is not ItemKind.milestone
        key_path: KeyPath = ("template", "items", index, "at")
        if template.per == "cycle":
            due = self._resolve(template.at, anchors, move=move)
            if due is not None:
                yield self._dated_item(
                    body=None,
                    name=template.slug,
                    due=due,
                    title=template.title,
                    template=template,
                    kind=kind,
                    hosts=hosts,
                    key_path=key_path,
                )
            return
        for body in self.program.bodies:
            if body.status is not BodyStatus.active or body.kind not in template.body_kinds:
                continue
            if template.per == "body":
                due = self._resolve(template.at, anchors, move=move)
                if due is not None:
                    title = _fill(template.title, body=body.name)
                    yield self._dated_item(
                        body=body.slug,
                        name=template.slug,
                        due=due,
                        title=title,
                        template=template,
                        kind=kind,
                        hosts=hosts,
                        key_path=key_path,
                    )
                continue
            for number, meeting in enumerate(meetings.get(body.slug, []), start=1):
                local = anchors | {Anchor.meeting: meeting.first_day, Anchor.meeting_end: meeting.last_day}
                due = self._resolve(template.at, local, move=move)
                assert due is not None
                title = _fill(template.title, body=body.name, meeting=meeting.item.title)
                name = f"{template.slug}-{number}"
                yield self._dated_item(
                    body=body.slug,
                    name=name,
                    due=due,
                    title=title,
                    template=template,
                    kind=kind,
                    hosts=hosts,
                    key_path=key_path,
                )

    def _dated_item(
        self,
        *,
        template: ItemTemplate,
        kind: ItemKind,
        body: str | None,
        name: str,
        due: dt.date,
        title: Localized,
        hosts: dict[Anchor, str],
        key_path: KeyPath,
    ) -> PlannedItem:
        if template.owner == "body":
            owner = body
        elif template.owner == "host":
            owner = hosts[template.at.anchor]
        else:
            owner = template.owner
        self._require_inside(due, due, key_path, title.en)
        return PlannedItem(
            key=self.key(kind, body, name), phase=template.phase, title=title, owner=owner, due=due
        )

    def _resolve(self, offset: Offset, anchors: dict[Anchor, dt.date], *, move: bool) -> dt.date | None:
        base = anchors.get(offset.anchor)
        if base is None:
            return None
        if offset.working_days is not None:
            return self.calendar.add_working_days(base, offset.working_days)
        day = base + dt.timedelta(days=offset.days or 0)
        return self.calendar.next_working_day(day) if move else day

    def _require_inside(self, first: dt.date, last: dt.date, key_path: KeyPath, what: str) -> None:
        if first < self.cycle.start:
            raise TemplateRangeError(
                key_path, f"puts {what!r} on {first}, before the cycle opens on {self.cycle.start}"
            )
        if last > self.cycle.end:
            raise TemplateRangeError(
                key_path, f"puts {what!r} on {last}, after the cycle closes on {self.cycle.end}"
            )


def visit_days(calendar: BusinessCalendar, exercise: Activity, days: int) -> tuple[dt.date, int]:
    """The first day and length of a visit of up to `days` days inside the exercise.

    >>> from cycle.apa import activity_key
    >>> from cycle.program import Localized
    >>> ex = Activity(activity_key(9, "sst-navy", "ex"), "training", Localized(en="T", es="T"),
    ...               dt.date(2026, 11, 5), dt.date(2026, 11, 8), "semar", "domain-control")
    >>> visit_days(BusinessCalendar(["US", "MX"]), ex, 3)  # Thursday to Sunday
    (datetime.date(2026, 11, 5), 2)
    """
    span = (exercise.last_day - exercise.first_day).days + 1
    for length in range(min(days, span), 0, -1):
        first = calendar.first_working_run(exercise.first_day, length)
        if first + dt.timedelta(days=length - 1) <= exercise.last_day:
            return first, length
    return exercise.first_day, min(days, span)


def _at(day: dt.date, time: dt.time, zone: str) -> pendulum.DateTime:
    return pendulum.datetime(day.year, day.month, day.day, time.hour, time.minute, tz=zone_named(zone))


@functools.lru_cache(maxsize=4096)
def _fill(template: Localized, *, body: Localized, meeting: Localized | None = None) -> Localized:
    """A template's text for a body (and meeting), validated once: the same titles come
    back in every cycle, and formatting and validating each again showed in figure 1's
    profile (benchmarks/plan_program). The texts are frozen, so sharing one is safe."""
    values = {}
    for lang in LANGS:
        fields = {"body": body.get(lang)}
        if meeting is not None:
            fields["meeting"] = meeting.get(lang)
        values[lang] = template.get(lang).format(**fields)
    return Localized(**values)
