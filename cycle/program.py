"""The program as the program file describes it: typed, validated, immutable.

`cycle.config.load_program` reads a file into a `Program`; the schedule engine reads a
`Program` and never the file. Field names are the TOML keys (see config/roundtable.toml).
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

KeyPath = tuple[str | int, ...]
"""Where a value sits in the program file: `("bodies", 2, "members", 1)`."""

Lang = Literal["en", "es"]
LANGS: tuple[Lang, ...] = ("en", "es")

Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=60),
]


def _one_newline(text: str) -> str:
    """CR LF and lone CR become LF: iCalendar text has one line break (RFC 5545 3.3.11)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=2000), AfterValidator(_one_newline)]


def _check_timezone(name: str) -> str:
    """Accept an IANA zone name that this machine's zone database knows."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as America/Denver)") from None
    return name


TimeZoneName = Annotated[str, AfterValidator(_check_timezone)]

_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


FIRST_YEAR, LAST_YEAR = 1900, 2200
"""Dates outside these years are typos, and would overflow date arithmetic near year 9999."""


def _check_year_month(value: str) -> str:
    match = _YEAR_MONTH.match(value)
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"expected a month as YYYY-MM, got {value!r}")
    if not FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
        raise ValueError(f"year {match.group(1)} is outside {FIRST_YEAR}-{LAST_YEAR}")
    return value


YearMonth = Annotated[str, AfterValidator(_check_year_month)]


def _check_date(value: dt.date) -> dt.date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"year {value.year} is outside {FIRST_YEAR}-{LAST_YEAR}")
    return value


Date = Annotated[dt.date, AfterValidator(_check_date)]


def _check_local_time(value: dt.time) -> dt.time:
    if value.tzinfo is not None:
        raise ValueError("give a local time such as 09:00, without an offset: the zone is the host's")
    return value


LocalTime = Annotated[dt.time, AfterValidator(_check_local_time)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Localized(_Model):
    """A text in both of the program's languages."""

    en: NonEmpty
    es: NonEmpty

    def get(self, lang: Lang) -> str:
        return self.en if lang == "en" else self.es


class Weekday(StrEnum):
    monday = "monday"
    tuesday = "tuesday"
    wednesday = "wednesday"
    thursday = "thursday"
    friday = "friday"

    @property
    def number(self) -> int:
        """Monday is 0, as in `datetime.date.weekday()`."""
        return list(Weekday).index(self)


class BodyKind(StrEnum):
    sst = "sst"
    ib = "ib"
    wg = "wg"
    ame = "ame"


STANDING_KINDS: tuple[BodyKind, ...] = (BodyKind.sst, BodyKind.ib, BodyKind.wg)


class BodyStatus(StrEnum):
    active = "active"
    proposed = "proposed"


class Phase(StrEnum):
    """The phases of a cycle, in the order they open; each has its Prefect flow."""

    opening = "opening"
    group_meetings = "group-meetings"
    executive_prep = "executive-prep"
    executive_session = "executive-session"
    observation_visit = "observation-visit"
    assessment = "assessment"
    close_out = "close-out"


class Anchor(StrEnum):
    cycle_start = "cycle-start"
    cycle_end = "cycle-end"
    executive_session = "executive-session"
    executive_session_end = "executive-session-end"
    observation_visit = "observation-visit"
    observation_visit_end = "observation-visit-end"
    meeting = "meeting"
    meeting_end = "meeting-end"


class ProgramInfo(_Model):
    slug: Slug
    name: Localized
    short: Localized
    founded: int = Field(ge=1900, le=2200)


class BusinessCalendarConfig(_Model):
    countries: list[Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]] = Field(min_length=1)


class Institution(_Model):
    slug: Slug
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    short: NonEmpty
    name: Localized
    timezone: TimeZoneName
    seat: Localized


class TriChair(_Model):
    institution: Slug
    title: Localized


class Role(_Model):
    slug: Slug
    name: Localized


class LineOfEffort(_Model):
    slug: Slug
    name: Localized


class Body(_Model):
    slug: Slug
    kind: BodyKind
    status: BodyStatus = BodyStatus.active
    name: Localized
    members: list[Slug] = Field(min_length=1)
    line_of_effort: Slug | None = None
    cadence_months: int | None = Field(default=None, ge=1, le=24)
    first_month: int | None = Field(default=None, ge=1, le=48)
    week: int = Field(default=1, ge=1, le=4)
    weekday: Weekday = Weekday.tuesday
    meeting_days: int = Field(default=1, ge=1, le=5)
    hosts: list[Slug] = Field(default_factory=list)
    start_time: LocalTime = dt.time(9, 0)
    end_time: LocalTime = dt.time(17, 0)

    @property
    def meets(self) -> bool:
        """Whether the schedule gives this body meetings."""
        return self.status is BodyStatus.active and self.cadence_months is not None


class CyclesConfig(_Model):
    first: int = Field(ge=1, le=1000)
    start: Date
    months: int = Field(ge=12, le=48)


class HistoryEntry(_Model):
    cycle: int = Field(ge=1)
    start: Date
    months: int = Field(ge=6, le=48)
    executive_session: YearMonth
    host: Slug
    assumed: bool = False

    @property
    def session_year_month(self) -> tuple[int, int]:
        year, month = self.executive_session.split("-")
        return int(year), int(month)


class Offset(_Model):
    """A date relative to an anchor, in calendar days or in working days."""

    anchor: Anchor
    days: int | None = Field(default=None, ge=-400, le=400)
    working_days: int | None = Field(default=None, ge=-250, le=250)


class EventTemplate(_Model):
    """When and where the executive session or the observation visit falls."""

    month: int = Field(ge=1, le=48)
    week: int = Field(default=1, ge=1, le=4)
    weekday: Weekday = Weekday.tuesday
    days: int = Field(default=1, ge=1, le=10)
    start_time: LocalTime = dt.time(9, 0)
    end_time: LocalTime = dt.time(17, 0)
    hosts: list[Slug] = Field(min_length=1)
    rotation_starts_with_cycle: int = Field(default=1, ge=1)
    owner: Slug
    title: Localized

    def host_for(self, cycle_number: int) -> str:
        return self.hosts[(cycle_number - self.rotation_starts_with_cycle) % len(self.hosts)]


class MeetingsTemplate(_Model):
    title: Localized


class PhaseTemplate(_Model):
    slug: Phase
    name: Localized
    requires: list[Slug] = Field(default_factory=list)
    """Template items of earlier phases that must be in before this phase's work starts:
    deliverables submitted, accepted or waived, gates approved."""
    start: Offset
    end: Offset


ItemTemplateKind = Literal["milestone", "deliverable", "gate"]


class ItemTemplate(_Model):
    slug: Slug
    kind: ItemTemplateKind
    phase: Phase
    per: Literal["cycle", "body", "meeting"] = "cycle"
    body_kinds: list[BodyKind] = Field(default_factory=lambda: list(STANDING_KINDS))
    title: Localized
    owner: Slug
    at: Offset


class Template(_Model):
    executive_session: EventTemplate
    observation_visit: EventTemplate | None = None
    meetings: MeetingsTemplate
    phases: list[PhaseTemplate] = Field(min_length=1)
    items: list[ItemTemplate] = Field(default_factory=list)


class EscalationLevel(_Model):
    """A step of escalation for a late deliverable: who hears of it, and how many working
    days late it must be (counted from the due date) before they do."""

    slug: Slug
    name: Localized
    after_working_days: int = Field(ge=0, le=250)


def _default_levels() -> list[EscalationLevel]:
    return [
        EscalationLevel(
            slug="owner",
            name=Localized(en="Owner", es="Responsable"),
            after_working_days=0,
        )
    ]


class DeadlineOverride(_Model):
    """The rules of one kind of deliverable (a template item slug), where they differ."""

    reminder_working_days: int | None = Field(default=None, ge=0, le=60)
    grace_working_days: int | None = Field(default=None, ge=0, le=60)
    escalation: dict[Slug, Annotated[int, Field(ge=0, le=250)]] | None = None
    """Level slug -> working days late; the levels this kind escalates to (in level order)."""


class DeadlinesConfig(_Model):
    """Reminders before a deliverable's due date and escalation after it, in working days
    of every country of the business calendar."""

    reminder_working_days: int = Field(default=5, ge=0, le=60)
    grace_working_days: int = Field(default=0, ge=0, le=60)
    levels: list[EscalationLevel] = Field(default_factory=_default_levels, min_length=1)
    kinds: dict[Slug, DeadlineOverride] = Field(default_factory=dict)


class Horizon(_Model):
    """How far ahead an objective looks: short-, mid- or long-term, and how many months
    from the cycle it was set in that means."""

    slug: Slug
    name: Localized
    months: int = Field(ge=1, le=240)


def _default_horizons() -> list[Horizon]:
    return [
        Horizon(slug="short-term", name=Localized(en="Short-term", es="Corto plazo"), months=12),
        Horizon(slug="mid-term", name=Localized(en="Mid-term", es="Mediano plazo"), months=24),
        Horizon(slug="long-term", name=Localized(en="Long-term", es="Largo plazo"), months=60),
    ]


class RatingLevel(_Model):
    """One step of the AM&E scale an objective's value and effectiveness are rated on."""

    value: int = Field(ge=0, le=100)
    name: Localized


def _default_ratings() -> list[RatingLevel]:
    names = [
        ("Very low", "Muy bajo"),
        ("Low", "Bajo"),
        ("Adequate", "Adecuado"),
        ("High", "Alto"),
        ("Very high", "Muy alto"),
    ]
    return [RatingLevel(value=n, name=Localized(en=en, es=es)) for n, (en, es) in enumerate(names, 1)]


class ObjectivesConfig(_Model):
    horizons: list[Horizon] = Field(default_factory=_default_horizons, min_length=1)
    ratings: list[RatingLevel] = Field(default_factory=_default_ratings, min_length=2)
    """The scale, lowest first, used for both value and effectiveness."""

    def horizon(self, slug: str) -> Horizon:
        return next(h for h in self.horizons if h.slug == slug)


class ActivityKindConfig(_Model):
    """A kind of APA activity. `observable` kinds (combined exercises, trainings) are what
    the leadership's observation visit may be drawn from."""

    slug: Slug
    name: Localized
    observable: bool = False


def _default_activity_kinds() -> list[ActivityKindConfig]:
    return [
        ActivityKindConfig(
            slug="combined-exercise",
            name=Localized(en="Combined exercise", es="Ejercicio combinado"),
            observable=True,
        ),
        ActivityKindConfig(
            slug="training", name=Localized(en="Training", es="Adiestramiento"), observable=True
        ),
        ActivityKindConfig(slug="exchange", name=Localized(en="Exchange", es="Intercambio")),
        ActivityKindConfig(slug="staff-visit", name=Localized(en="Staff visit", es="Visita de estado mayor")),
    ]


class ApaConfig(_Model):
    inputs: Slug = "apa-inputs"
    """The per-body deliverable that carries a body's proposals: it cannot be submitted
    before the body has proposed an activity for the cycle (it may be waived)."""
    kinds: list[ActivityKindConfig] = Field(default_factory=_default_activity_kinds, min_length=1)

    def kind(self, slug: str) -> ActivityKindConfig:
        return next(k for k in self.kinds if k.slug == slug)

    def kind_name(self, slug: str, lang: Lang) -> str:
        """The kind's name; its slug if the program file no longer has it (an activity
        stored before the kind was removed)."""
        found = next((k for k in self.kinds if k.slug == slug), None)
        return found.name.get(lang) if found is not None else slug


class Program(_Model):
    """The whole program file, validated."""

    schema_version: Literal[1] = Field(alias="schema")
    program: ProgramInfo
    business_calendar: BusinessCalendarConfig
    institutions: list[Institution] = Field(min_length=1)
    tri_chairs: list[TriChair] = Field(min_length=1)
    roles: list[Role] = Field(default_factory=list)
    lines_of_effort: list[LineOfEffort] = Field(min_length=1)
    bodies: list[Body] = Field(min_length=1)
    cycles: CyclesConfig
    history: list[HistoryEntry] = Field(default_factory=list)
    template: Template
    deadlines: DeadlinesConfig = Field(default_factory=DeadlinesConfig)
    objectives: ObjectivesConfig = Field(default_factory=ObjectivesConfig)
    apa: ApaConfig = Field(default_factory=ApaConfig)

    def institution(self, slug: str) -> Institution:
        return next(i for i in self.institutions if i.slug == slug)

    def body(self, slug: str) -> Body:
        return next(b for b in self.bodies if b.slug == slug)

    def line_of_effort(self, slug: str) -> LineOfEffort:
        return next(line for line in self.lines_of_effort if line.slug == slug)

    def line_of_effort_name(self, slug: str, lang: Lang) -> str:
        """The line's name; its slug if the program file no longer has it."""
        found = next((line for line in self.lines_of_effort if line.slug == slug), None)
        return found.name.get(lang) if found is not None else slug

    def owner_name(self, slug: str) -> Localized:
        """The name of whoever a slug names: an institution, a body or a role."""
        for inst in self.institutions:
            if inst.slug == slug:
                return inst.name
        for body in self.bodies:
            if body.slug == slug:
                return body.name
        for role in self.roles:
            if role.slug == slug:
                return role.name
        raise KeyError(slug)

    def phase_template(self, phase: Phase) -> PhaseTemplate:
        return next(p for p in self.template.phases if p.slug is phase)

    def item_template(self, slug: str) -> ItemTemplate:
        return next(i for i in self.template.items if i.slug == slug)

    def history_entry(self, number: int) -> HistoryEntry | None:
        return next((h for h in self.history if h.cycle == number), None)
