"""Planned items and their identity.

An item's **ItemKey** (cycle, kind, body, name) is stable across re-plans; its text form
is the item's iCalendar UID and what people type on the command line.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import pendulum

from cycle.errors import InputError
from cycle.program import Localized, Phase, Program


@functools.cache
def zone_named(name: str) -> pendulum.Timezone:
    """An IANA zone by name, built once per process: building one reads its rules, and
    pendulum given a name looks it up again for every instant (a quarter of the schedule,
    figure 1 of benchmarks/plan_program; the read-back puts each instant back in its zone)."""
    return pendulum.timezone(name)


class ItemKind(StrEnum):
    phase = "phase"
    meeting = "meeting"
    executive_session = "executive-session"
    observation_visit = "observation-visit"
    milestone = "milestone"
    deliverable = "deliverable"
    gate = "gate"
    activity = "activity"


TIMED_KINDS = frozenset({ItemKind.meeting, ItemKind.executive_session, ItemKind.observation_visit})

_KEY = re.compile(r"^c([0-9]{1,4})/([a-z-]+)/([a-z0-9-]+)/([a-z0-9-]+)$")


@dataclass(frozen=True, slots=True)
class ItemKey:
    """Identity of a planned item.

    >>> key = ItemKey(9, ItemKind.deliverable, "sst-army", "agenda-2")
    >>> key.to_string()
    'c9/deliverable/sst-army/agenda-2'
    >>> ItemKey.from_string("c9/gate/-/apa-validation").body is None
    True
    """

    cycle: int
    kind: ItemKind
    body: str | None
    name: str

    def to_string(self) -> str:
        return f"c{self.cycle}/{self.kind.value}/{self.body or '-'}/{self.name}"

    def __str__(self) -> str:
        return self.to_string()

    @classmethod
    def from_string(cls, text: str) -> ItemKey:
        match = _KEY.match(text)
        if match is None:
            raise InputError(f"{text!r} is not an item key (like c9/deliverable/sst-army/agenda-2)")
        number, kind, body, name = match.groups()
        try:
            item_kind = ItemKind(kind)
        except ValueError:
            raise InputError(f"{text!r}: unknown item kind {kind!r}") from None
        return cls(int(number), item_kind, None if body == "-" else body, name)


@dataclass(frozen=True, slots=True)
class ActivityFacts:
    """What an APA activity item carries beyond its dates, host and place."""

    kind: str
    line_of_effort: str
    participants: tuple[str, ...] = ()
    objectives: tuple[str, ...] = ()
    window: bool = False
    """The dates are the window the activity will fall in."""

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "line_of_effort": self.line_of_effort,
            "participants": list(self.participants),
            "objectives": list(self.objectives),
            "window": self.window,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ActivityFacts:
        participants = data.get("participants") or []
        objectives = data.get("objectives") or []
        assert isinstance(participants, list)
        assert isinstance(objectives, list)
        return cls(
            kind=str(data["kind"]),
            line_of_effort=str(data["line_of_effort"]),
            participants=tuple(str(p) for p in participants),
            objectives=tuple(str(o) for o in objectives),
            window=bool(data.get("window", False)),
        )


@dataclass(frozen=True, slots=True)
class PlannedItem:
    """One dated thing in a cycle's plan.

    Timed items (meetings, the executive session, the observation visit) have aware
    `start`/`end` instants and the IANA `timezone` they happen in; phases have a window of
    dates (`first_day`, `last_day`); milestones, deliverables and gates have a `due` date.
    """

    key: ItemKey
    phase: Phase
    title: Localized
    owner: str | None
    host: str | None = None
    location: Localized | None = None
    start: pendulum.DateTime | None = None
    end: pendulum.DateTime | None = None
    timezone: str | None = None
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    due: dt.date | None = None
    activity: ActivityFacts | None = None

    @property
    def kind(self) -> ItemKind:
        return self.key.kind

    @property
    def body(self) -> str | None:
        return self.key.body

    @property
    def dates(self) -> tuple[dt.date, dt.date]:
        """The first and last calendar day the item touches (local dates for timed items)."""
        if self.start is not None and self.end is not None:
            return self.start.date(), self.end.date()
        if self.first_day is not None and self.last_day is not None:
            return self.first_day, self.last_day
        assert self.due is not None, f"{self.key} has no date"
        return self.due, self.due


def _slot_setter(cls: type, name: str) -> Callable[[object, object], None]:
    setter: Callable[[object, object], None] = cls.__dict__[name].__set__
    return setter


_new = object.__new__
_KEY_SLOTS = ("cycle", "kind", "body", "name")
_ITEM_SLOTS = (
    "key", "phase", "title", "owner", "host", "location", "start", "end", "timezone", "first_day",
    "last_day", "due", "activity",
)  # fmt: skip
"""Every field of ItemKey and PlannedItem: a test fails when a field is added and not here."""
_set_cycle, _set_kind, _set_body, _set_name = (_slot_setter(ItemKey, n) for n in _KEY_SLOTS)
_set_item = {name: _slot_setter(PlannedItem, name) for name in _ITEM_SLOTS}
_set_key, _set_phase, _set_title, _set_owner, _set_due = (
    _set_item[n] for n in ("key", "phase", "title", "owner", "due")
)
_EMPTY_WHEN_DUE = tuple(
    setter for name, setter in _set_item.items() if name not in ("key", "phase", "title", "owner", "due")
)


def stored_key(cycle: int, kind: ItemKind, body: str | None, name: str) -> ItemKey:
    """`ItemKey(cycle, kind, body, name)` of parts already checked, made in half the time.

    Why: a frozen dataclass's `__init__` sets each field through `object.__setattr__`, the
    generic path around its own `__setattr__` that refuses changes; setting the fields
    through their slots' descriptors makes the very same object. The overdue check makes a
    key and an item per pending deliverable, and their constructors were half of its own
    work at a million deliverables (benchmarks/check_overdue, figure 4). tests/cycle/
    test_items.py holds both makers equal to the constructors."""
    key = _new(ItemKey)
    _set_cycle(key, cycle)
    _set_kind(key, kind)
    _set_body(key, body)
    _set_name(key, name)
    return key


def due_item(
    key: ItemKey, phase: Phase, title: Localized, owner: str | None, due: dt.date | None
) -> PlannedItem:
    """`PlannedItem(key, phase, title, owner, due=due)`, made as `stored_key` makes keys."""
    item = _new(PlannedItem)
    _set_key(item, key)
    _set_phase(item, phase)
    _set_title(item, title)
    _set_owner(item, owner)
    _set_due(item, due)
    for empty in _EMPTY_WHEN_DUE:
        empty(item, None)
    return item


_ALL_ITEM_SETTERS = tuple(_set_item[name] for name in _ITEM_SLOTS)


def stored_item(*fields: object) -> PlannedItem:
    """`PlannedItem(*fields)` with every field given in order, made as `stored_key` makes
    keys: the read-back of a plan makes one per item (figure 1)."""
    item = _new(PlannedItem)
    for setter, value in zip(_ALL_ITEM_SETTERS, fields, strict=True):
        setter(item, value)
    return item


_MEETING_SUFFIX = re.compile(r"-[0-9]+$")


def template_slug(program: Program, item: PlannedItem) -> str:
    """The template item an item was made from (meeting items carry a `-N` suffix)."""
    name = item.key.name
    stripped = _MEETING_SUFFIX.sub("", name)
    if stripped != name and any(t.slug == stripped and t.per == "meeting" for t in program.template.items):
        return stripped
    return name
