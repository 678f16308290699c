"""Building one **Feed**: the items an audience sees, as iCalendar bytes in one language.

Byte-stable by construction: UIDs come from item keys, SEQUENCE from the revision,
DTSTAMP and LAST-MODIFIED from the item's last change (never "now"), components are
sorted, and the VTIMEZONEs are written by `calendars.timezones`. So an unchanged plan
gives identical bytes, and so an identical ETag.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, Todo, vDuration, vText

from calendars.audience import Audience, AudienceKind, shows
from calendars.catalogue import Catalogue
from calendars.timezones import vtimezone
from cycle.business_calendar import business_calendar
from cycle.deadlines import Deadlines, Standing
from cycle.deliverable import DeliverableState
from cycle.items import TIMED_KINDS, ItemKind, PlannedItem
from cycle.program import Lang, Program
from cycle.status import CANCELLED, TrackedItem

PRODID = "-//Roundtable//BMCR calendar feeds//EN"
UID_DOMAIN = "roundtable.bmcr"


@dataclass(frozen=True, slots=True)
class FeedOptions:
    """How feeds are written; the defaults are what `feeds build` and `feeds serve` use."""

    alarm_days: int = 3
    """A deadline's reminder fires this many days before it (Google and Outlook ignore VTODO)."""
    cancelled_retention_days: int = 60
    """A cancelled item stays in feeds (STATUS:CANCELLED) this long after it was cancelled."""
    refresh: dt.timedelta = dt.timedelta(hours=12)
    """REFRESH-INTERVAL and X-PUBLISHED-TTL: how often clients should poll."""


@dataclass(frozen=True, slots=True)
class FeedRequest:
    audience: Audience
    lang: Lang
    owner: str | None = None
    tasks: bool = False
    """Deadlines as VTODO (DUE, STATUS, PERCENT-COMPLETE) for clients that use tasks."""


def uid(item: PlannedItem) -> str:
    return f"{item.key.to_string()}@{UID_DOMAIN}"


def build_feed(
    *,
    program: Program,
    catalogue: Catalogue,
    tracked: Sequence[TrackedItem],
    request: FeedRequest,
    as_of: dt.date,
    options: FeedOptions = FeedOptions(),
) -> bytes:
    """The feed's bytes. `as_of` decides which cancelled items have aged out and which
    deadlines are marked overdue (by the program's `[deadlines]` rules)."""
    lang = request.lang
    chosen = sorted(
        (
            t
            for t in tracked
            if shows(request.audience, t.item, program, owner=request.owner) and _retained(t, as_of, options)
        ),
        key=lambda t: t.item.key.to_string(),
    )
    writer = _Writer(program, catalogue, lang, options, tracked, as_of)
    calendar = Calendar()
    name = feed_name(program, catalogue, request)
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    description = catalogue.text("calendar.description", lang, program_name=program.program.name.get(lang))
    # Explicit TEXT: icalendar leaves X- properties unescaped, so a newline in a body's
    # name would otherwise break the line (and a comma would be read as a list).
    for key, value in (
        ("name", name),
        ("x-wr-calname", name),
        ("description", description),
        ("x-wr-caldesc", description),
    ):
        calendar.add(key, vText(value))
    calendar.add("refresh-interval", options.refresh, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(options.refresh))
    calendar.add("x-wr-timezone", _main_zone(request, chosen, program))

    timed = [t.item for t in chosen if t.item.kind in TIMED_KINDS]
    for zone in sorted({item.timezone for item in timed if item.timezone}):
        starts = [i.start for i in timed if i.timezone == zone and i.start is not None]
        ends = [i.end for i in timed if i.timezone == zone and i.end is not None]
        span_start = min(starts) - dt.timedelta(days=7)
        span_end = max(ends) + dt.timedelta(days=7)
        calendar.add_component(vtimezone(zone, span_start, span_end))

    for entry in chosen:
        if entry.item.kind in TIMED_KINDS:
            calendar.add_component(writer.timed_event(entry))
        elif entry.item.activity is not None:
            calendar.add_component(writer.activity_event(entry))
        elif request.tasks and entry.item.kind is ItemKind.deliverable:
            calendar.add_component(writer.todo(entry))
        else:
            calendar.add_component(writer.deadline_event(entry))
    data: bytes = calendar.to_ical()
    return data


def owner_name(program: Program, slug: str | None, lang: Lang) -> str:
    """An institution's acronym, else the name of the body or role a slug stands for."""
    if slug is None:
        return ""
    for inst in program.institutions:
        if inst.slug == slug:
            return inst.short
    try:
        return program.owner_name(slug).get(lang)
    except KeyError:
        return slug


def feed_name(program: Program, catalogue: Catalogue, request: FeedRequest) -> str:
    """The calendar's name as clients show it (NAME and X-WR-CALNAME)."""
    lang, audience = request.lang, request.audience
    short = program.program.short.get(lang)
    if audience.kind is AudienceKind.org and audience.slug:
        name = catalogue.text(
            "calendar.org", lang, program=short, org=program.institution(audience.slug).short
        )
    elif audience.kind is AudienceKind.group and audience.slug:
        body = program.body(audience.slug).name.get(lang)
        name = catalogue.text("calendar.group", lang, program=short, body=body)
    elif audience.kind is AudienceKind.deliverables and request.owner:
        owner = owner_name(program, request.owner, lang)
        name = catalogue.text("calendar.deliverables_owner", lang, program=short, owner=owner)
    else:
        name = catalogue.text(f"calendar.{audience.kind.value}", lang, program=short)
    return f"{name} ({catalogue.text('label.tasks', lang)})" if request.tasks else name


def _retained(entry: TrackedItem, as_of: dt.date, options: FeedOptions) -> bool:
    if entry.status != CANCELLED or entry.changed_at is None:
        return True
    return (as_of - entry.changed_at.date()).days <= options.cancelled_retention_days


def _main_zone(request: FeedRequest, chosen: Sequence[TrackedItem], program: Program) -> str:
    """X-WR-TIMEZONE: the institution's own zone, else the zone most events happen in."""
    if request.audience.kind is AudienceKind.org and request.audience.slug:
        return program.institution(request.audience.slug).timezone
    zones = Counter(t.item.timezone for t in chosen if t.item.timezone)
    if not zones:
        return program.institutions[0].timezone
    return min(zones, key=lambda zone: (-zones[zone], zone))


_TODO_STATUS = {
    "pending": ("NEEDS-ACTION", 0),
    "submitted": ("IN-PROCESS", 50),
    "accepted": ("COMPLETED", 100),
    "waived": ("CANCELLED", 0),
    CANCELLED: ("CANCELLED", 0),
}


class _Writer:
    def __init__(
        self,
        program: Program,
        catalogue: Catalogue,
        lang: Lang,
        options: FeedOptions,
        tracked: Sequence[TrackedItem],
        as_of: dt.date,
    ) -> None:
        self.program = program
        self.catalogue = catalogue
        self.lang = lang
        self.options = options
        self.bodies = {body.slug: body for body in program.bodies}
        # The live deliverables by cycle and body, to find those due around a meeting,
        # session or visit without a pass over every item for each (quadratic at scale:
        # benchmarks/build_feeds).
        self.deliverables: dict[tuple[int, str | None], list[PlannedItem]] = {}
        for entry in tracked:
            if entry.item.kind is ItemKind.deliverable and entry.active:
                self.deliverables.setdefault((entry.item.key.cycle, entry.item.body), []).append(entry.item)
        self.as_of = as_of
        self.deadlines = Deadlines(program, business_calendar(program))

    def _overdue(self, entry: TrackedItem) -> tuple[Standing, dt.date] | None:
        """A pending deliverable past its due date (and grace) on `as_of`, with the day it
        reached its current escalation level: the feed changes on that day, not daily."""
        item = entry.item
        if item.kind is not ItemKind.deliverable or entry.status != DeliverableState.pending.value:
            return None
        standing = self.deadlines.standing(item, DeliverableState.pending, self.as_of)
        if standing is None or not standing.overdue or standing.level is None:
            return None
        return standing, self.deadlines.level_reached_on(standing)

    def _late_gate(self, entry: TrackedItem) -> dt.date | None:
        """The first day a gate still undecided after its due date was late: the feed
        changes on that day, not daily."""
        item = entry.item
        if item.kind is not ItemKind.gate or entry.status != "pending" or item.due is None:
            return None
        return item.due + dt.timedelta(days=1) if item.due < self.as_of else None

    def text(self, key: str, **fields: object) -> str:
        return self.catalogue.text(key, self.lang, **fields)

    def owner(self, slug: str | None) -> str:
        return owner_name(self.program, slug, self.lang)

    def _common(self, component: Event | Todo, entry: TrackedItem) -> None:
        item = entry.item
        changed = (entry.changed_at or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).astimezone(dt.UTC)
        summary = item.title.get(self.lang)
        categories = self._categories(item)
        description = self._description(entry)
        overdue = self._overdue(entry)
        if overdue is not None:
            standing, since = overdue
            changed = max(changed, dt.datetime.combine(since, dt.time(), dt.UTC))
            summary = self.text("label.overdue_prefix") + summary
            categories.append(self.text("label.overdue"))
            assert standing.level is not None
            level = standing.level.definition.name.get(self.lang)
            description += "\n" + self.text(
                "label.overdue_since",
                day=self.deadlines.first_overdue_day(item),
                level=level,
            )
        late_since = self._late_gate(entry)
        if late_since is not None:
            changed = max(changed, dt.datetime.combine(late_since, dt.time(), dt.UTC))
            summary = self.text("label.overdue_prefix") + summary
            categories.append(self.text("label.overdue"))
            description += "\n" + self.text("label.undecided_since", day=late_since)
        component.add("uid", uid(item))
        component.add("dtstamp", changed)
        component.add("last-modified", changed)
        component.add("sequence", entry.revision)
        component.add("summary", summary)
        component.add("categories", categories)
        component.add("description", description)

    def _categories(self, item: PlannedItem) -> list[str]:
        categories = [self.text(f"category.{item.kind.value}")]
        if item.activity is not None:
            categories.append(self.program.apa.kind_name(item.activity.kind, self.lang))
            categories.append(self.program.line_of_effort_name(item.activity.line_of_effort, self.lang))
        if item.body is not None:
            body = self.bodies.get(item.body)
            if body is not None:
                categories.append(self.text(f"category.{body.kind.value}"))
                if body.line_of_effort and item.activity is None:
                    categories.append(self.program.line_of_effort(body.line_of_effort).name.get(self.lang))
        return categories

    def _description(self, entry: TrackedItem) -> str:
        item = entry.item
        lines = []
        if item.body is not None:
            body = self.bodies.get(item.body)
            if body is not None:
                lines.append(f"{self.text('label.body')}: {body.name.get(self.lang)}")
                if body.line_of_effort:
                    loe = self.program.line_of_effort(body.line_of_effort).name.get(self.lang)
                    lines.append(f"{self.text('label.line_of_effort')}: {loe}")
        if item.activity is not None:
            lines += self._activity_lines(item)
        if item.host is not None:
            lines.append(f"{self.text('label.host')}: {self.owner(item.host)}")
        if item.owner is not None and item.owner != item.body and item.kind not in TIMED_KINDS:
            lines.append(f"{self.text('label.owner')}: {self.owner(item.owner)}")
        if item.kind in (ItemKind.deliverable, ItemKind.gate):
            lines.append(f"{self.text('label.state')}: {self.text(f'state.{entry.status}')}")
        around = self._due_around(item)
        if around:
            lines.append(f"{self.text('label.due_around')}:")
            lines += [f"- {other.title.get(self.lang)}: {other.due}" for other in around]
        return "\n".join(lines)

    def _activity_lines(self, item: PlannedItem) -> list[str]:
        facts = item.activity
        assert facts is not None
        kind = self.program.apa.kind_name(facts.kind, self.lang)
        loe = self.program.line_of_effort_name(facts.line_of_effort, self.lang)
        lines = [self.text("label.apa"), f"{self.text('label.activity_kind')}: {kind}"]
        if facts.window:
            lines.append(self.text("label.window"))
        body = self.bodies.get(item.body) if item.body else None
        if body is None or body.line_of_effort != facts.line_of_effort:
            lines.append(f"{self.text('label.line_of_effort')}: {loe}")  # the body's is shown already
        if facts.participants:
            names = ", ".join(self.owner(p) for p in facts.participants)
            lines.append(f"{self.text('label.participants')}: {names}")
        if facts.objectives:
            lines.append(f"{self.text('label.objectives')}: {', '.join(facts.objectives)}")
        return lines

    def _due_around(self, item: PlannedItem) -> list[PlannedItem]:
        """The deliverables tied to a meeting (its agenda and minutes) or to a session/visit."""
        candidates = self.deliverables.get((item.key.cycle, item.body), [])
        if item.kind is ItemKind.meeting:
            suffix = f"-{item.key.name}"
            related = [other for other in candidates if other.key.name.endswith(suffix)]
        elif item.kind in (ItemKind.executive_session, ItemKind.observation_visit):
            related = [
                other
                for other in candidates
                if other.phase.value in (item.kind.value, "executive-prep")
                and (item.kind is ItemKind.executive_session or other.phase.value == item.kind.value)
            ]
        else:
            return []
        return sorted(related, key=lambda i: (i.due or dt.date.min, i.key.to_string()))

    def timed_event(self, entry: TrackedItem) -> Event:
        item = entry.item
        assert item.start is not None
        assert item.end is not None
        assert item.timezone is not None
        event = self._event(
            entry, _zoned(item.start, item.timezone), _zoned(item.end, item.timezone), "OPAQUE"
        )
        if item.location is not None and item.host is not None:
            event.add("location", f"{self.owner(item.host)}, {item.location.get(self.lang)}")
        return event

    def _event(self, entry: TrackedItem, start: dt.date, end: dt.date, transparency: str) -> Event:
        event = Event()
        self._common(event, entry)
        event.add("dtstart", start)
        event.add("dtend", end)
        event.add("status", "CANCELLED" if entry.status == CANCELLED else "CONFIRMED")
        event.add("transp", transparency)
        return event

    def activity_event(self, entry: TrackedItem) -> Event:
        """An APA activity: all-day over its dates (or its window, then tentative), free
        time (the reader may not take part), at its host's place."""
        item = entry.item
        assert item.first_day is not None
        assert item.last_day is not None
        assert item.activity is not None
        event = self._event(entry, item.first_day, item.last_day + dt.timedelta(days=1), "TRANSPARENT")
        if item.activity.window and entry.status != CANCELLED:
            event["status"] = vText("TENTATIVE")
        if item.location is not None and item.host is not None:
            event.add("location", f"{self.owner(item.host)}, {item.location.get(self.lang)}")
        return event

    def deadline_event(self, entry: TrackedItem) -> Event:
        """An all-day event on the due date, with a reminder for deliverables."""
        item = entry.item
        assert item.due is not None
        event = self._event(entry, item.due, item.due + dt.timedelta(days=1), "TRANSPARENT")
        if item.kind is ItemKind.deliverable and entry.status == "pending" and self.options.alarm_days > 0:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add(
                "description", self.text("label.reminder", title=item.title.get(self.lang), due=item.due)
            )
            alarm.add("trigger", -dt.timedelta(days=self.options.alarm_days))
            event.add_component(alarm)
        return event

    def todo(self, entry: TrackedItem) -> Todo:
        item = entry.item
        assert item.due is not None
        todo = Todo()
        self._common(todo, entry)
        todo.add("due", item.due)
        status, percent = _TODO_STATUS.get(entry.status, ("NEEDS-ACTION", 0))
        todo.add("status", status)
        todo.add("percent-complete", percent)
        return todo


def _zoned(instant: dt.datetime, zone: str) -> dt.datetime:
    """The instant in its own zone, or in UTC when that wall time is skipped or repeated
    by a daylight-saving change (parsers resolve those differently)."""
    instant = dt.datetime.fromtimestamp(instant.timestamp(), tz=dt.UTC)
    local = instant.astimezone(ZoneInfo(zone))
    wall = local.replace(tzinfo=None)
    roundtrip = [wall.replace(tzinfo=ZoneInfo(zone), fold=fold).astimezone(dt.UTC) for fold in (0, 1)]
    if roundtrip[0] != roundtrip[1]:
        return instant.astimezone(dt.UTC)
    return local
