"""The Annual Plan of Activities (APA): what the bodies propose, what the tri-chairs
validate, and how it changes afterwards.

Each standing body proposes **Activities** for a cycle — trainings, exchanges, combined
exercises, staff visits — with their dates (or the window they will fall in), host and
participating institutions, line of effort and the objectives they serve. The **draft**
of the cycle's APA is every proposal not withdrawn. At the executive session the
tri-chairs validate the APA: the activities they name become version 1, frozen. Every
later change is an **Amendment** (add, drop or reschedule one activity) with a reason,
giving the next version; no version is ever edited.

The validated activities become planned items of the cycle (kind `activity`, the same key
as the proposal), so the calendars show them; in the second year of a 24-month cycle the
leadership's observation visit is drawn from the observable ones.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from cycle.cycles import Cycle, add_months
from cycle.errors import InputError
from cycle.items import ItemKey, ItemKind
from cycle.program import STANDING_KINDS, BodyStatus, Localized, Program

MAX_TITLE = 200
MAX_LOCATION = 200
MAX_REASON = 2000
MAX_PARTICIPANTS = 20
MAX_OBJECTIVES = 20
SECOND_YEAR_MONTH = 13
"""The first month of a cycle's second year, when the observation visit happens."""

_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class AmendmentKind(StrEnum):
    add = "add"
    drop = "drop"
    reschedule = "reschedule"


@dataclass(frozen=True, slots=True)
class Activity:
    """One activity of the APA (as proposed, or as a version of the APA holds it)."""

    key: ItemKey
    kind: str
    title: Localized
    first_day: dt.date
    last_day: dt.date
    host: str
    line_of_effort: str
    participants: tuple[str, ...] = ()
    objectives: tuple[str, ...] = ()
    window: bool = False
    location: Localized | None = None

    @property
    def body(self) -> str:
        assert self.key.body is not None
        return self.key.body

    @property
    def institutions(self) -> tuple[str, ...]:
        """The host first, then the other participants."""
        return (self.host, *(p for p in self.participants if p != self.host))

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key.to_string(),
            "kind": self.kind,
            "title": {"en": self.title.en, "es": self.title.es},
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
            "window": self.window,
            "host": self.host,
            "participants": list(self.participants),
            "line_of_effort": self.line_of_effort,
            "objectives": list(self.objectives),
            "location": {"en": self.location.en, "es": self.location.es} if self.location else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Activity:
        location = data.get("location")
        return cls(
            key=ItemKey.from_string(data["key"]),
            kind=data["kind"],
            title=Localized(**data["title"]),
            first_day=dt.date.fromisoformat(data["first_day"]),
            last_day=dt.date.fromisoformat(data["last_day"]),
            window=bool(data.get("window", False)),
            host=data["host"],
            participants=tuple(data.get("participants", ())),
            line_of_effort=data["line_of_effort"],
            objectives=tuple(data.get("objectives", ())),
            location=Localized(**location) if location else None,
        )


@dataclass(frozen=True, slots=True)
class Amendment:
    """One change to a validated APA: add a proposed activity, drop one, or move one."""

    kind: AmendmentKind
    key: str
    reason: str
    first_day: dt.date | None = None
    last_day: dt.date | None = None

    def to_json(self) -> dict[str, Any]:
        change: dict[str, Any] = {"kind": self.kind.value, "key": self.key}
        if self.kind is AmendmentKind.reschedule:
            assert self.first_day is not None
            assert self.last_day is not None
            change |= {"first_day": self.first_day.isoformat(), "last_day": self.last_day.isoformat()}
        return change


@dataclass(frozen=True)
class ApaVersion:
    """A frozen version of a cycle's APA."""

    cycle: int
    version: int
    validated: bool
    """Version 1, as the tri-chairs validated it; later versions are amendments."""
    activities: tuple[Activity, ...]
    decided_by: str
    at: dt.datetime
    reason: str | None = None
    change: dict[str, Any] = field(default_factory=dict)
    gate: str | None = None

    def activity(self, key: str) -> Activity | None:
        return next((a for a in self.activities if a.key.to_string() == key), None)


@dataclass(frozen=True)
class ApaPlan:
    """What the schedule engine takes from the store's APA: the activities of its latest
    version, and the one chosen for the observation visit."""

    activities: tuple[Activity, ...] = ()
    visit: Activity | None = None


# --- proposals --------------------------------------------------------------------------


def activity_key(cycle: int, body: str, slug: str) -> ItemKey:
    """The key an activity is proposed and planned under.

    >>> activity_key(9, "sst-navy", "aztec-alligator-2027").to_string()
    'c9/activity/sst-navy/aztec-alligator-2027'
    """
    if not _SLUG.match(slug) or len(slug) > 60:
        raise InputError(
            f"slug: {slug!r} is not a slug (lowercase letters, digits and hyphens, like ex-2027)"
        )
    return ItemKey(cycle, ItemKind.activity, body, slug)


def parse_activity_key(text: str) -> ItemKey:
    key = ItemKey.from_string(text.strip())
    if key.kind is not ItemKind.activity or key.body is None:
        raise InputError(f"{text!r} is not an activity key (like c9/activity/sst-navy/aztec-alligator-2027)")
    return key


def _line(value: str, what: str, limit: int) -> str:
    text = value.strip()
    if not text or len(text) > limit or any(ch in text for ch in "\r\n\x00"):
        raise InputError(f"{what}: one line of 1-{limit} characters")
    return text


def check_reason(reason: str | None) -> str:
    text = (reason or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise InputError("reason: an amendment needs a reason")
    if "\x00" in text or len(text) > MAX_REASON:
        raise InputError(f"reason: text of at most {MAX_REASON} characters")
    return text


def check_dates(cycle: Cycle, first_day: dt.date, last_day: dt.date) -> None:
    if last_day < first_day:
        raise InputError(f"last_day: {last_day} is before first_day {first_day}")
    if first_day < cycle.start or last_day > cycle.end:
        raise InputError(
            f"dates: {first_day} to {last_day} fall outside cycle {cycle.number} "
            f"({cycle.start} to {cycle.end})"
        )


def check_activity(program: Program, cycle: Cycle, activity: Activity) -> Activity:
    """The activity with its text tidied, or `InputError` naming the first problem. The
    objectives it serves are checked against the store by the caller."""
    body = next((b for b in program.bodies if b.slug == activity.body), None)
    if body is None or body.status is not BodyStatus.active or body.kind not in STANDING_KINDS:
        standing = ", ".join(
            b.slug for b in program.bodies if b.status is BodyStatus.active and b.kind in STANDING_KINDS
        )
        raise InputError(f"body: {activity.body!r} is not an active SST, IB or WG (one of {standing})")
    if activity.key.cycle != cycle.number:
        raise InputError(f"key: {activity.key} is not of cycle {cycle.number}")
    kinds = [k.slug for k in program.apa.kinds]
    if activity.kind not in kinds:
        raise InputError(f"kind: {activity.kind!r} is not a kind of activity (one of {', '.join(kinds)})")
    institutions = [i.slug for i in program.institutions]
    if activity.host not in institutions:
        raise InputError(f"host: {activity.host!r} is not an institution (one of {', '.join(institutions)})")
    for participant in activity.participants:
        if participant not in institutions:
            raise InputError(
                f"participants: {participant!r} is not an institution (one of {', '.join(institutions)})"
            )
    if (
        len(set(activity.participants)) != len(activity.participants)
        or len(activity.participants) > MAX_PARTICIPANTS
    ):
        raise InputError(f"participants: each institution once, at most {MAX_PARTICIPANTS}")
    lines = [line.slug for line in program.lines_of_effort]
    if activity.line_of_effort not in lines:
        raise InputError(
            f"line_of_effort: {activity.line_of_effort!r} is not a line of effort (one of {', '.join(lines)})"
        )
    if len(set(activity.objectives)) != len(activity.objectives) or len(activity.objectives) > MAX_OBJECTIVES:
        raise InputError(f"objectives: each objective once, at most {MAX_OBJECTIVES}")
    check_dates(cycle, activity.first_day, activity.last_day)
    title = Localized(
        en=_line(activity.title.en, "title_en", MAX_TITLE), es=_line(activity.title.es, "title_es", MAX_TITLE)
    )
    location = None
    if activity.location is not None:
        location = Localized(
            en=_line(activity.location.en, "location_en", MAX_LOCATION),
            es=_line(activity.location.es, "location_es", MAX_LOCATION),
        )
    participants = tuple(p for p in activity.participants if p != activity.host)
    return replace(activity, title=title, location=location, participants=participants)


# --- validation and amendments ------------------------------------------------------------


def validated_version(
    *,
    cycle: int,
    draft: Sequence[Activity],
    chosen: Iterable[str],
    decided_by: str,
    gate: str,
    at: dt.datetime,
) -> ApaVersion:
    """Version 1: the draft's activities the tri-chairs named, in the draft's order."""
    names = set(chosen)
    unknown = sorted(names - {a.key.to_string() for a in draft})
    if unknown:
        raise InputError(
            f"validated_activities: {', '.join(unknown)} is not in the draft APA of cycle {cycle}"
        )
    activities = tuple(a for a in draft if a.key.to_string() in names)
    if not activities:
        raise InputError("validated_activities: an approved APA lists at least one activity")
    return ApaVersion(
        cycle=cycle, version=1, validated=True, activities=activities, decided_by=decided_by, at=at, gate=gate
    )


def amend(
    current: ApaVersion,
    amendment: Amendment,
    *,
    cycle: Cycle,
    proposals: Sequence[Activity],
    selected: str | None,
    decided_by: str,
    at: dt.datetime,
) -> ApaVersion:
    """The next version of the APA with `amendment` applied, or `InputError`.

    `proposals` are the cycle's standing proposals (what `add` may bring in); `selected`
    is the activity chosen for the observation visit, which may move but not be dropped.
    """
    reason = check_reason(amendment.reason)
    if amendment.kind is not AmendmentKind.reschedule and (amendment.first_day or amendment.last_day):
        raise InputError(
            f"first_day, last_day: only a reschedule takes new dates, not {amendment.kind.value}"
        )
    in_apa = current.activity(amendment.key)
    activities = list(current.activities)
    if amendment.kind is AmendmentKind.add:
        if in_apa is not None:
            raise InputError(f"{amendment.key}: is in the APA already (version {current.version})")
        proposal = next((p for p in proposals if p.key.to_string() == amendment.key), None)
        if proposal is None:
            raise InputError(
                f"{amendment.key}: no standing proposal; propose it with `roundtable apa propose` first"
            )
        activities.append(proposal)
    elif in_apa is None:
        raise InputError(
            f"{amendment.key}: is not in the APA of cycle {current.cycle} (version {current.version})"
        )
    elif amendment.kind is AmendmentKind.drop:
        if amendment.key == selected:
            raise InputError(
                f"{amendment.key}: is the exercise selected for the observation visit; reschedule it instead"
            )
        activities.remove(in_apa)
    else:
        if amendment.first_day is None or amendment.last_day is None:
            raise InputError("first_day, last_day: a reschedule gives both new dates")
        check_dates(cycle, amendment.first_day, amendment.last_day)
        if (amendment.first_day, amendment.last_day) == (in_apa.first_day, in_apa.last_day):
            raise InputError(f"{amendment.key}: already runs {in_apa.first_day} to {in_apa.last_day}")
        # New dates are firm: a window becomes the activity's dates.
        activities[activities.index(in_apa)] = replace(
            in_apa, first_day=amendment.first_day, last_day=amendment.last_day, window=False
        )
    return ApaVersion(
        cycle=current.cycle,
        version=current.version + 1,
        validated=False,
        activities=tuple(activities),
        decided_by=decided_by,
        at=at,
        reason=reason,
        change=amendment.to_json(),
    )


# --- the observation visit ----------------------------------------------------------------


def observable(program: Program, cycle: Cycle, activities: Iterable[Activity]) -> tuple[Activity, ...]:
    """The activities the observation visit may be drawn from: combined exercises and
    trainings (the observable kinds) that begin in the cycle's second year.

    >>> from cycle.config import load_program, shipped_config_path
    >>> from cycle.cycles import cycle_by_number
    >>> program, _ = load_program(shipped_config_path(), check_schedule=False)
    >>> ex = Activity(activity_key(9, "sst-navy", "ex"), "combined-exercise", Localized(en="Ex", es="Ej"),
    ...               dt.date(2027, 4, 12), dt.date(2027, 4, 23), "semar", "domain-control")
    >>> [a.key.name for a in observable(program, cycle_by_number(program, 9), [ex])]
    ['ex']
    >>> [a.key.name for a in observable(program, cycle_by_number(program, 9), [replace(ex, kind="exchange")])]
    []
    """
    kinds = {k.slug for k in program.apa.kinds if k.observable}
    if cycle.months < SECOND_YEAR_MONTH:
        return ()
    second_year = add_months(cycle.start, SECOND_YEAR_MONTH - 1)
    return tuple(a for a in activities if a.kind in kinds and second_year <= a.first_day <= cycle.end)


def carried_out_as_planned(validated: ApaVersion, latest: ApaVersion, *, as_of: dt.date) -> tuple[int, int]:
    """Of the validated activities that should be over by `as_of`, how many were carried
    out as validated: not dropped, and on their validated dates (or, for one validated as a
    window, on dates inside it): (as planned, due)."""
    due = [a for a in validated.activities if a.last_day < as_of]
    kept = 0
    for activity in due:
        now = latest.activity(activity.key.to_string())
        if now is None:
            continue
        if (now.first_day, now.last_day) == (activity.first_day, activity.last_day) or (
            activity.window and activity.first_day <= now.first_day and now.last_day <= activity.last_day
        ):
            kept += 1
    return kept, len(due)
