"""VTIMEZONE components that every client reads the same way.

`icalendar`'s `add_missing_timezones()` writes each daylight-saving rule as one RDATE with
dozens of dates, which Mozilla's ical.js (Thunderbird) and vobject read only the first of,
so most of the year comes out an hour off. Here every offset
change in the feed's span is its own STANDARD or DAYLIGHT sub-component with a single
DTSTART, found from the machine's zone database; no COMMENT, and a stable order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

_DAY = dt.timedelta(days=1)
_MINUTE = dt.timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Transition:
    """An offset change: at `at` (UTC) local time goes from `before` to `after`."""

    at: dt.datetime
    before: dt.timedelta
    after: dt.timedelta
    dst: bool
    name: str

    @property
    def local_start(self) -> dt.datetime:
        """The wall-clock time of the change in the old offset, as RFC 5545 wants DTSTART."""
        return (self.at + self.before).replace(tzinfo=None)


def _utc(instant: dt.datetime) -> dt.datetime:
    """A plain UTC datetime (pendulum's subclass does not mix with zoneinfo arithmetic)."""
    return dt.datetime.fromtimestamp(instant.timestamp(), tz=dt.UTC)


def _offset(zone: ZoneInfo, instant: dt.datetime) -> dt.timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def transitions(zone_name: str, start: dt.datetime, end: dt.datetime) -> list[Transition]:
    """Every offset change of `zone_name` between two aware instants, to the minute."""
    zone = ZoneInfo(zone_name)
    found: list[Transition] = []
    current, end = _utc(start), _utc(end)
    previous = _offset(zone, current)
    while current < end:
        following = current + _DAY
        if _offset(zone, following) != previous:
            low, high = current, following
            while high - low > _MINUTE:
                middle = low + (high - low) / 2
                if _offset(zone, middle) == previous:
                    low = middle
                else:
                    high = middle
            at = high.replace(second=0, microsecond=0)
            if _offset(zone, at) == previous:
                at += _MINUTE
            local = at.astimezone(zone)
            after = _offset(zone, at)
            found.append(
                Transition(
                    at=at, before=previous, after=after, dst=bool(local.dst()), name=local.tzname() or ""
                )
            )
            previous = after
        current = following
    return found


def vtimezone(zone_name: str, start: dt.datetime, end: dt.datetime) -> Timezone:
    """A VTIMEZONE valid for every instant between `start` and `end` (aware datetimes).

    It opens with the offset in force at `start`, then one sub-component per change.
    """
    zone = ZoneInfo(zone_name)
    start = _utc(start)
    first = start.astimezone(zone)
    component = Timezone()
    component.add("tzid", zone_name)
    initial = TimezoneDaylight() if first.dst() else TimezoneStandard()
    offset = _offset(zone, start)
    initial.add("dtstart", first.replace(tzinfo=None, second=0, microsecond=0))
    initial.add("tzoffsetfrom", offset)
    initial.add("tzoffsetto", offset)
    initial.add("tzname", first.tzname() or zone_name)
    component.add_component(initial)
    for change in transitions(zone_name, start, end):
        sub = TimezoneDaylight() if change.dst else TimezoneStandard()
        sub.add("dtstart", change.local_start)
        sub.add("tzoffsetfrom", change.before)
        sub.add("tzoffsetto", change.after)
        sub.add("tzname", change.name)
        component.add_component(sub)
    return component
