"""Figure 2 — build every feed of the large program (60 bodies, 10 cycles): every
audience, in English and in Spanish, and the deliverables as tasks, as `roundtable feeds
build` and the feed server build them (in memory: writing files is not the question).

Floor: the `icalendar` library building the same components by hand from plain values
(no Roundtable code: no audience rules, no catalogue, no zones of ours) and serialising
them. The floor's bytes are checked equal to Roundtable's, so it is the same work.
Target: within 1.5x. Both run in this process, one thread each, so the figure is their
CPU time: on a shared machine wall time also measures the neighbours (a run of minutes
under a load of 6 once read 3.2x in wall time where its CPU time said 1.07x). Wall time
is printed beside it.

    python -m benchmarks.build_feeds --size full
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass
from typing import Any

from icalendar import (
    Alarm,
    Calendar,
    Component,
    Event,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    Todo,
)
from icalendar.prop import vCategory, vDDDTypes, vDuration, vInt, vRecur, vText, vUnknown, vUTCOffset

from benchmarks.common import arguments, compare, header, interleaved, temporary_home
from benchmarks.plan_program import NOW, context
from benchmarks.program import cycles, write_program
from calendars.catalogue import shipped_catalogue
from calendars.export import feed_files
from calendars.feed import FeedOptions, build_feed
from cycle.context import Context
from cycle.operations import plan
from cycle.status import TrackedItem
from cycle.store.reads import tracked_items

AS_OF = dt.date(2026, 11, 25)
SIZES = {"small": (3, 1, 1), "full": (60, 10, 1)}
"""bodies, cycles, repetitions"""
TARGET = 1.5


@dataclass(frozen=True)
class Plain:
    """A component as plain values: its name, properties (name, value, parameters) and
    subcomponents. What a program without Roundtable would start from."""

    name: str
    properties: tuple[tuple[str, Any, dict[str, str]], ...]
    components: tuple[Plain, ...]


_ESCAPED = re.compile(r"\\(.)")
_UNESCAPED = {"n": "\n", "N": "\n"}

COMPONENTS: dict[str, type[Component]] = {
    "VCALENDAR": Calendar,
    "VEVENT": Event,
    "VTODO": Todo,
    "VALARM": Alarm,
    "VTIMEZONE": Timezone,
    "STANDARD": TimezoneStandard,
    "DAYLIGHT": TimezoneDaylight,
}


_TYPED: tuple[tuple[type, Any], ...] = (
    (vDDDTypes, lambda v: v.dt),
    (vDuration, lambda v: v.td),
    (vUTCOffset, lambda v: v.td),
    (vCategory, lambda v: [str(category) for category in v.cats]),
    (vRecur, dict),
    (vInt, int),
)


def _plain_value(value: Any) -> Any:
    """The Python value a property was made from."""
    if isinstance(value, vUnknown):  # X- and RFC 7986 properties are read back escaped
        return vText(_ESCAPED.sub(lambda m: _UNESCAPED.get(m.group(1), m.group(1)), str(value)))
    for kind, convert in _TYPED:
        if isinstance(value, kind):
            return convert(value)
    return vText(str(value))


def plain(component: Component) -> Plain:
    properties = tuple(
        (name, _plain_value(prop), dict(prop.params))
        for name, found in component.items()
        for prop in (found if isinstance(found, list) else [found])
    )
    return Plain(
        name=str(component.name),
        properties=properties,
        components=tuple(plain(sub) for sub in component.subcomponents),
    )


def by_hand(spec: Plain) -> Component:
    """Build the component with `icalendar` alone."""
    component = COMPONENTS[spec.name]()
    for name, value, parameters in spec.properties:
        component.add(name, value, parameters=parameters)
    for sub in spec.components:
        component.add_component(by_hand(sub))
    return component


def roundtable_feeds(ctx: Context, tracked: list[TrackedItem]) -> list[bytes]:
    catalogue = shipped_catalogue()
    return [
        build_feed(
            program=ctx.program,
            catalogue=catalogue,
            tracked=tracked,
            request=file.request,
            as_of=AS_OF,
            options=FeedOptions(),
        )
        for file in feed_files(ctx.program)
        if file.request is not None
    ]


def floor_feeds(specs: list[Plain]) -> list[bytes]:
    return [by_hand(spec).to_ical() for spec in specs]


def main() -> None:
    args = arguments(__doc__.splitlines()[0] if __doc__ else "")
    bodies, count, repeat = SIZES[args.size]
    header(f"Figure 2: build every feed of {bodies} bodies over {count} cycles", args.size)
    with temporary_home() as home:
        program = write_program(home / "program.toml", bodies)
        ctx = context(program, f"sqlite:///{home / 'roundtable.db'}", home)
        ctx.store.migrate()
        for number in cycles(count):
            plan(ctx, number=number, now=NOW, actor="benchmark")
        with ctx.store.session() as session:
            tracked = tracked_items(session, cycle=None)
        ctx.store.dispose()
        started, started_wall = time.process_time(), time.perf_counter()
        feeds = roundtable_feeds(ctx, tracked)
        first, first_wall = time.process_time() - started, time.perf_counter() - started_wall
        specs = [plain(Calendar.from_ical(feed)) for feed in feeds]
        started, started_wall = time.process_time(), time.perf_counter()
        same = floor_feeds(specs) == feeds
        first_floor, first_floor_wall = time.process_time() - started, time.perf_counter() - started_wall
        events = sum(feed.count(b"BEGIN:VEVENT") + feed.count(b"BEGIN:VTODO") for feed in feeds)
        print(
            f"{len(feeds)} feeds, {events} events and tasks, {sum(map(len, feeds)) / 1e6:.1f} MB; "
            f"the floor's bytes equal Roundtable's: {same}; best of {repeat}"
        )
        if not same:
            raise SystemExit("the floor does not build the same feeds: it would not be a floor")
        timings = interleaved(
            {"roundtable": lambda: roundtable_feeds(ctx, tracked), "floor": lambda: floor_feeds(specs)},
            repeat=repeat - 1,
            clock=time.process_time,
        )
        print(f"first repetition, wall time: {first_wall:.4g} s, floor {first_floor_wall:.4g} s")
        compare(
            "figure 2: build every feed, CPU",
            min((first, *timings["roundtable"].seconds)),
            min((first_floor, *timings["floor"].seconds)),
            target=TARGET,
        )


if __name__ == "__main__":
    main()
