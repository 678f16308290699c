"""VTIMEZONEs that Thunderbird's parser reads to the same instants as Python's zone data,
across daylight-saving changes and Mexico's abolition of summer time in 2022."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event

from calendars.timezones import transitions, vtimezone

SPAN = (dt.datetime(2015, 9, 1, tzinfo=dt.UTC), dt.datetime(2028, 1, 1, tzinfo=dt.UTC))

LOCAL_TIMES = [
    (
        "America/Denver",
        dt.datetime(2026, 6, 18, 18, 0, tzinfo=ZoneInfo("America/Denver")),
    ),  # MDT: 00:00Z the next day
    ("America/Denver", dt.datetime(2026, 1, 13, 9, 0, tzinfo=ZoneInfo("America/Denver"))),  # MST
    (
        "America/Denver",
        dt.datetime(2023, 8, 1, 9, 0, tzinfo=ZoneInfo("America/Denver")),
    ),  # the seventh roundtable's month
    (
        "America/Denver",
        dt.datetime(2026, 11, 2, 9, 0, tzinfo=ZoneInfo("America/Denver")),
    ),  # the day after the change back
    (
        "America/Mexico_City",
        dt.datetime(2021, 7, 13, 9, 0, tzinfo=ZoneInfo("America/Mexico_City")),
    ),  # still on summer time: 14:00Z
    (
        "America/Mexico_City",
        dt.datetime(2026, 7, 14, 9, 0, tzinfo=ZoneInfo("America/Mexico_City")),
    ),  # no summer time since 2022: 15:00Z
    (
        "America/Mexico_City",
        dt.datetime(2022, 10, 31, 9, 0, tzinfo=ZoneInfo("America/Mexico_City")),
    ),  # the day after the last change
]


def _calendar() -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Roundtable//tests//EN")
    calendar.add("version", "2.0")
    for zone in sorted({zone for zone, _ in LOCAL_TIMES}):
        calendar.add_component(vtimezone(zone, *SPAN))
    for index, (_, local) in enumerate(LOCAL_TIMES):
        event = Event()
        event.add("uid", f"tz-{index}@roundtable.test")
        event.add("dtstamp", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        event.add("summary", local.isoformat())
        event.add("dtstart", local)
        calendar.add_component(event)
    return calendar.to_ical()


def test_thunderbirds_parser_reads_the_same_instants_as_python(
    icaljs: Callable[[bytes], dict[str, Any]],
) -> None:
    """ical.js turns every zoned start into the UTC instant Python's zoneinfo gives."""
    parsed = {item["uid"]: item for item in icaljs(_calendar())["items"]}
    for index, (zone, local) in enumerate(LOCAL_TIMES):
        expected = local.astimezone(dt.UTC)
        item = parsed[f"tz-{index}@roundtable.test"]
        assert item["tzid"] == zone
        assert item["start"] == expected.strftime("%Y-%m-%dT%H:%M:%S.000Z"), item


@pytest.mark.parametrize(
    ("zone", "count", "last"),
    [
        # November 2015, then March and November of 2016-2027
        ("America/Denver", 25, dt.datetime(2027, 11, 7, 8, 0, tzinfo=dt.UTC)),
        # October 2015, then April and October of 2016-2022, and never again
        ("America/Mexico_City", 15, dt.datetime(2022, 10, 30, 7, 0, tzinfo=dt.UTC)),
    ],
)
def test_transitions_are_found_to_the_minute(zone: str, count: int, last: dt.datetime) -> None:
    """Denver changes twice a year; Mexico City last changed on 30 October 2022 at 02:00 CDT."""
    found = transitions(zone, *SPAN)
    assert len(found) == count
    assert found[-1].at == last


def test_the_vtimezone_has_one_dtstart_per_change_and_no_comment() -> None:
    """No multi-valued RDATE (misread by ical.js and vobject) and no COMMENT (invalid there)."""
    text = vtimezone("America/Denver", *SPAN).to_ical().decode()
    assert "RDATE" not in text
    assert "COMMENT" not in text
    assert text.count("BEGIN:DAYLIGHT") == 13  # the opening offset (MDT in September 2015), 12 springs
    assert text.count("BEGIN:STANDARD") == 13  # November 2015-2027
    assert text.count("DTSTART:") == 26
