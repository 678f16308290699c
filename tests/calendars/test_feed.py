"""Feeds as coordinators' clients read them: every audience in both languages parses in
`icalendar` and in Thunderbird's ical.js to the same events; identity and change follow
the plan; hostile text never escapes its property."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import recurring_ical_events
from icalendar import Calendar

from calendars.audience import Audience, AudienceKind, every_audience
from calendars.catalogue import shipped_catalogue
from calendars.feed import FeedOptions, FeedRequest, build_feed, uid
from cycle.apa import ApaPlan
from cycle.items import TIMED_KINDS, ItemKind, PlannedItem
from cycle.program import Localized, Program
from cycle.schedule import plan_cycle
from cycle.status import TrackedItem
from tests.apa import SAMPLE, STAFF_EXCHANGE

CHANGED = dt.datetime(2026, 1, 5, 14, 30, tzinfo=dt.UTC)
AS_OF = dt.date(2026, 11, 24)
WINDOW = STAFF_EXCHANGE.key.to_string()
"""The sample activity whose dates are only a window."""


def _tracked(program: Program, *cycles: int) -> list[TrackedItem]:
    return [
        TrackedItem(
            item=item,
            status="pending" if item.kind in (ItemKind.deliverable, ItemKind.gate) else "planned",
            revision=0,
            changed_at=CHANGED,
        )
        for number in cycles
        for item in plan_cycle(program, number, apa=ApaPlan(activities=SAMPLE) if number == 9 else None).items
    ]


@pytest.fixture(scope="module")
def tracked(program: Program) -> list[TrackedItem]:
    return _tracked(program, 8, 9)


def _feed(
    program: Program, tracked: list[TrackedItem], audience: Audience, lang: str = "en", **kw: Any
) -> bytes:
    request = FeedRequest(audience=audience, lang=lang, **kw)  # type: ignore[arg-type]
    return build_feed(
        program=program, catalogue=shipped_catalogue(), tracked=tracked, request=request, as_of=AS_OF
    )


def _events(ics: bytes) -> dict[str, Any]:
    return {str(c["UID"]): c for c in Calendar.from_ical(ics).walk() if c.name in ("VEVENT", "VTODO")}


def _expected_instant(item: PlannedItem) -> str:
    assert item.start is not None
    return dt.datetime.fromtimestamp(item.start.timestamp(), dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class TestEveryAudience:
    def test_every_audience_in_both_languages_reads_the_same_in_icalendar_and_icaljs(
        self,
        program: Program,
        tracked: list[TrackedItem],
        tmp_path: Path,
        icaljs_files: Callable[[list[Path]], dict[str, Any]],
    ) -> None:
        """Same UIDs, summaries and start instants in both parsers, for all 40 feeds."""
        by_uid = {uid(t.item): t.item for t in tracked}
        paths: dict[Path, tuple[Audience, str]] = {}
        for audience in every_audience(program):
            for lang in ("en", "es"):
                path = tmp_path / f"{audience.to_string()}.{lang}.ics"
                path.write_bytes(_feed(program, tracked, audience, lang))
                paths[path] = (audience, lang)
        assert len(paths) == 40  # all, executive, 3 orgs, 13 bodies, deliverables, activities; x2
        parsed = icaljs_files(list(paths))
        for path, (audience, lang) in paths.items():
            ours = _events(path.read_bytes())
            theirs = {item["uid"]: item for item in parsed[str(path)]["items"]}
            assert ours, f"{audience.to_string()} is empty"
            assert set(theirs) == set(ours), audience
            for key, item in theirs.items():
                planned = by_uid[key]
                title = planned.title.get(lang)  # type: ignore[arg-type]
                marked = shipped_catalogue().text("label.overdue_prefix", lang) + title  # type: ignore[arg-type]
                assert item["summary"] == str(ours[key]["SUMMARY"])
                assert item["summary"] in (title, marked)
                if planned.kind in TIMED_KINDS:
                    assert item["start"] == _expected_instant(planned), (audience, key)
                elif planned.kind is ItemKind.activity:
                    assert planned.first_day is not None
                    assert planned.last_day is not None
                    assert (item["start"], item["end"]) == (
                        planned.first_day.isoformat(),
                        (planned.last_day + dt.timedelta(days=1)).isoformat(),
                    )
                    assert item["status"] == ("TENTATIVE" if key.startswith(WINDOW) else "CONFIRMED")
                else:
                    assert item["start"] == planned.due.isoformat() if planned.due else False

    @pytest.mark.parametrize(
        ("audience", "included", "excluded"),
        [
            (
                Audience(AudienceKind.executive),
                ["c9/executive-session/-/1", "c9/gate/-/apa-validation", "c9/deliverable/-/read-ahead"],
                ["c9/meeting/sst-army/1", "c9/deliverable/sst-army/apa-inputs"],
            ),
            (
                Audience(AudienceKind.org, "semar"),
                [
                    "c9/meeting/sst-navy/1",
                    "c9/executive-session/-/1",
                    "c9/deliverable/sst-navy/agenda-1",
                    "c9/gate/-/apa-validation",
                ],
                ["c9/meeting/sst-army/1", "c9/deliverable/-/read-ahead"],
            ),
            (
                Audience(AudienceKind.group, "sst-army"),
                ["c9/meeting/sst-army/1", "c9/deliverable/sst-army/apa-inputs"],
                ["c9/meeting/sst-air/1", "c9/executive-session/-/1"],
            ),
            (
                Audience(AudienceKind.deliverables),
                ["c9/deliverable/-/read-ahead"],
                ["c9/gate/-/apa-validation", "c9/meeting/sst-army/1"],
            ),
            (
                Audience(AudienceKind.all),
                ["c9/meeting/sst-army/1", "c9/gate/-/apa-validation"],
                ["c9/phase/-/opening"],
            ),
        ],
        ids=["executive", "org-semar", "group", "deliverables", "all"],
    )
    def test_each_audience_sees_what_concerns_it(
        self,
        program: Program,
        tracked: list[TrackedItem],
        audience: Audience,
        included: list[str],
        excluded: list[str],
    ) -> None:
        """An audience's feed holds its items and not the others'."""
        uids = set(_events(_feed(program, tracked, audience)))
        assert {f"{k}@roundtable.bmcr" for k in included} <= uids
        assert not {f"{k}@roundtable.bmcr" for k in excluded} & uids

    def test_the_deliverables_feed_filters_by_owner(
        self, program: Program, tracked: list[TrackedItem]
    ) -> None:
        """`owner=secretariat` keeps only the secretariat's deadlines, and says so in its name."""
        ics = _feed(program, tracked, Audience(AudienceKind.deliverables), owner="secretariat")
        keys = sorted(k.removesuffix("@roundtable.bmcr") for k in _events(ics))
        assert keys == [
            "c8/deliverable/-/read-ahead",
            "c8/deliverable/-/signed-minutes",
            "c8/deliverable/-/visit-report",
            "c9/deliverable/-/read-ahead",
            "c9/deliverable/-/signed-minutes",
            "c9/deliverable/-/visit-report",
        ]
        assert Calendar.from_ical(ics)["X-WR-CALNAME"] == "BMCR: deliverables of Roundtable secretariat"


class TestCalendarProperties:
    def test_calendar_carries_names_refresh_and_a_vtimezone_per_zone(
        self, program: Program, tracked: list[TrackedItem]
    ) -> None:
        """PRODID, METHOD, NAME and X-WR-CALNAME, REFRESH-INTERVAL, X-PUBLISHED-TTL, X-WR-TIMEZONE."""
        text = _feed(program, tracked, Audience(AudienceKind.org, "sedena"), "es").decode()
        for line in (
            "PRODID:-//Roundtable//BMCR calendar feeds//EN",
            "METHOD:PUBLISH",
            "NAME:MRCMB: SEDENA",
            "X-WR-CALNAME:MRCMB: SEDENA",
            "REFRESH-INTERVAL;VALUE=DURATION:PT12H",
            "X-PUBLISHED-TTL:PT12H",
            "X-WR-TIMEZONE:America/Mexico_City",
            "TZID:America/Denver",
            "TZID:America/Mexico_City",
        ):
            assert f"\r\n{line}\r\n" in text

    def test_meetings_have_zone_location_description_and_categories(
        self, program: Program, tracked: list[TrackedItem]
    ) -> None:
        """A meeting says where, who hosts, the line of effort and what is due around it."""
        event = _events(_feed(program, tracked, Audience(AudienceKind.group, "sst-army"), "es"))[
            "c9/meeting/sst-army/2@roundtable.bmcr"
        ]
        assert event["DTSTART"].params["TZID"] == "America/Denver"
        assert str(event["LOCATION"]) == "USNORTHCOM, Colorado Springs, Colorado, Estados Unidos"
        description = str(event["DESCRIPTION"])
        assert "Línea de esfuerzo: Control del dominio" in description
        assert "Anfitrión: USNORTHCOM" in description
        assert "- Agenda de " in description
        assert "reunión 2: 2026-03-31" in description
        assert [str(c) for c in event["CATEGORIES"].cats] == [
            "Reunión",
            "Pláticas de Estado Mayor",
            "Control del dominio",
        ]

    def test_deadlines_are_all_day_with_a_reminder(
        self, program: Program, tracked: list[TrackedItem]
    ) -> None:
        """A deliverable is an all-day event (DTEND the next day) with a VALARM days before."""
        event = _events(_feed(program, tracked, Audience(AudienceKind.deliverables)))[
            "c9/deliverable/-/read-ahead@roundtable.bmcr"
        ]
        text = event.to_ical().decode()
        for line in (
            "DTSTART;VALUE=DATE:20260721",
            "DTEND;VALUE=DATE:20260722",
            "BEGIN:VALARM",
            "TRIGGER:-P3D",
        ):
            assert f"{line}\r\n" in text

    @pytest.mark.parametrize(
        ("state", "status", "percent"),
        [
            ("pending", "NEEDS-ACTION", 0),
            ("submitted", "IN-PROCESS", 50),
            ("accepted", "COMPLETED", 100),
            ("waived", "CANCELLED", 0),
            ("cancelled", "CANCELLED", 0),
        ],
    )
    def test_the_task_form_maps_deliverable_states(
        self, program: Program, state: str, status: str, percent: int
    ) -> None:
        """The VTODO form carries DUE, STATUS and PERCENT-COMPLETE from the deliverable's state."""
        [entry] = [t for t in _tracked(program, 9) if t.item.key.to_string() == "c9/deliverable/-/read-ahead"]
        entry = dataclasses.replace(entry, status=state, changed_at=dt.datetime(2026, 11, 20, tzinfo=dt.UTC))
        todo = _events(_feed(program, [entry], Audience(AudienceKind.deliverables), tasks=True))[
            uid(entry.item)
        ]
        assert todo.name == "VTODO"
        assert (str(todo["STATUS"]), int(todo["PERCENT-COMPLETE"])) == (status, percent)
        assert todo["DUE"].dt == dt.date(2026, 7, 21)


class TestIdentityAndChange:
    def test_an_unchanged_plan_gives_identical_bytes(self, program: Program) -> None:
        """Two builds from the same stored plan are byte for byte the same."""
        audience = Audience(AudienceKind.all)
        assert _feed(program, _tracked(program, 9), audience) == _feed(
            program, _tracked(program, 9), audience
        )

    def test_a_moved_meeting_keeps_its_uid_with_a_higher_sequence(
        self, program: Program, icaljs: Callable[[bytes], dict[str, Any]]
    ) -> None:
        """Re-planning a meeting to another week: same UID, SEQUENCE from the revision, new time."""
        tracked = _tracked(program, 9)
        key = "c9/meeting/sst-army/1"
        index = next(i for i, t in enumerate(tracked) if t.item.key.to_string() == key)
        old = tracked[index]
        assert old.item.start is not None
        moved = dataclasses.replace(
            old.item,
            start=old.item.start.add(weeks=1),
            end=old.item.end.add(weeks=1) if old.item.end else None,
        )
        tracked[index] = dataclasses.replace(
            old, item=moved, revision=1, changed_at=CHANGED + dt.timedelta(days=3)
        )
        [item] = [
            i
            for i in icaljs(_feed(program, tracked, Audience(AudienceKind.group, "sst-army")))["items"]
            if i["uid"] == f"{key}@roundtable.bmcr"
        ]
        assert item["sequence"] == 1
        assert item["start"] == "2025-10-21T15:00:00.000Z"

    def test_a_cancelled_item_stays_cancelled_then_ages_out(self, program: Program) -> None:
        """Cancelled items show STATUS:CANCELLED for the retention period, then leave the feed."""
        tracked = _tracked(program, 9)
        key = "c9/meeting/sst-army/1"
        index = next(i for i, t in enumerate(tracked) if t.item.key.to_string() == key)
        tracked[index] = dataclasses.replace(
            tracked[index], status="cancelled", revision=1, changed_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
        )
        audience = Audience(AudienceKind.group, "sst-army")
        recent = _events(_feed(program, tracked, audience))[f"{key}@roundtable.bmcr"]
        assert (str(recent["STATUS"]), int(recent["SEQUENCE"])) == ("CANCELLED", 1)
        later = build_feed(
            program=program,
            catalogue=shipped_catalogue(),
            tracked=tracked,
            request=FeedRequest(audience, "en"),
            as_of=dt.date(2026, 12, 1),
            options=FeedOptions(cancelled_retention_days=30),
        )
        assert f"{key}@roundtable.bmcr" not in _events(later)

    def test_recurring_ical_events_returns_the_planned_instants_for_a_window(
        self, program: Program, tracked: list[TrackedItem]
    ) -> None:
        """A window query over the `all` feed finds exactly the meetings planned in it."""
        ics = _feed(program, tracked, Audience(AudienceKind.all))
        found = recurring_ical_events.of(Calendar.from_ical(ics)).between(
            dt.date(2026, 11, 1), dt.date(2026, 12, 1)
        )
        meetings = sorted(
            (str(e["UID"]), e["DTSTART"].dt.astimezone(dt.UTC)) for e in found if "/meeting/" in str(e["UID"])
        )
        planned = sorted(
            (uid(t.item), dt.datetime.fromtimestamp(t.item.start.timestamp(), dt.UTC))
            for t in tracked
            if t.item.kind is ItemKind.meeting
            and t.item.start is not None
            and dt.date(2026, 11, 1) <= t.item.start.date() < dt.date(2026, 12, 1)
        )
        assert meetings == planned
        assert len(planned) == 5


HOSTILE = (
    "Junta\r\nBEGIN:VEVENT\nUID:evil\r\nEND:VEVENT; a, b \\ c; "
    "Señalización de la Secretaría — ¿sí? 🇲🇽🇺🇸 " + "x" * 1000
)


def test_hostile_text_round_trips_exactly_and_never_makes_a_component(
    program: Program, icaljs: Callable[[bytes], dict[str, Any]]
) -> None:
    """CR, LF, BEGIN:VEVENT, ; , \\ , a 1,000-character line, emoji and accents stay text.

    iCalendar TEXT has one kind of line break, so names are loaded with CR LF and lone CR
    made LF; from there the text round-trips exactly.
    """
    name = Localized(en=HOSTILE, es=HOSTILE)
    assert name.en == HOSTILE.replace("\r\n", "\n")
    hostile_program = program.model_copy(
        update={
            "bodies": [
                b.model_copy(update={"name": name}) if b.slug == "sst-army" else b for b in program.bodies
            ]
        }
    )
    tracked = _tracked(hostile_program, 9)
    ics = _feed(hostile_program, tracked, Audience(AudienceKind.group, "sst-army"))
    expected_count = sum(1 for t in tracked if t.item.body == "sst-army")
    assert ics.split(b"\r\n").count(b"BEGIN:VEVENT") == expected_count
    assert max(len(line) for line in ics.split(b"\r\n")) <= 75
    parsed = icaljs(ics)["items"]
    assert len(parsed) == expected_count
    meeting = next(i for i in parsed if i["uid"] == "c9/meeting/sst-army/1@roundtable.bmcr")
    assert meeting["summary"] == f"{name.en}: meeting 1"
    assert str(_events(ics)["c9/meeting/sst-army/1@roundtable.bmcr"]["SUMMARY"]) == f"{name.en}: meeting 1"


AGENDA_1 = "c9/deliverable/sst-army/agenda-1@roundtable.bmcr"
"""Due Monday 29 September 2025: overdue from the 30th, escalated to the body's chairs on
Monday 6 October (5 working days) and to the tri-chairs' staff on 21 October (15)."""


def _deliverables_feed(
    program: Program, tracked: list[TrackedItem], as_of: dt.date, lang: str = "en"
) -> bytes:
    request = FeedRequest(audience=Audience(AudienceKind.deliverables), lang=lang)  # type: ignore[arg-type]
    return build_feed(
        program=program, catalogue=shipped_catalogue(), tracked=tracked, request=request, as_of=as_of
    )


class TestOverdueMarks:
    @pytest.mark.parametrize(
        ("lang", "summary", "category", "note"),
        [
            pytest.param(
                "en",
                "OVERDUE: Agenda for Army Service Staff Talks (U.S. Army North – Mexican Army): meeting 1",
                "Overdue",
                "Overdue since 2025-09-30; escalated to: Chairs of the owning body.",
                id="en",
            ),
            pytest.param(
                "es",
                "VENCIDO: Agenda de Pláticas de Estado Mayor del Ejército (Ejército Norte de EE. UU. – "
                "Ejército Mexicano): reunión 1",
                "Vencido",
                "Vencido desde el 2025-09-30; escalado a: Presidentes del grupo responsable.",
                id="es",
            ),
        ],
    )
    def test_an_overdue_deadline_is_marked_in_title_category_and_description(
        self, program: Program, tracked: list[TrackedItem], lang: str, summary: str, category: str, note: str
    ) -> None:
        """A pending deliverable past its due date: prefix, category and a line saying since
        when and to whom it went, in the feed's language."""
        event = _events(_deliverables_feed(program, tracked, dt.date(2025, 10, 8), lang))[AGENDA_1]
        assert str(event["SUMMARY"]) == summary
        assert category in [str(c) for c in event["CATEGORIES"].cats]
        assert str(event["DESCRIPTION"]).endswith(note)

    @pytest.mark.parametrize(
        ("status", "as_of"),
        [
            pytest.param("pending", dt.date(2025, 9, 29), id="on-its-due-date"),
            pytest.param("submitted", dt.date(2025, 10, 8), id="handed-in"),
            pytest.param("waived", dt.date(2025, 10, 8), id="waived"),
        ],
    )
    def test_a_deadline_that_is_not_late_is_not_marked(
        self, program: Program, tracked: list[TrackedItem], status: str, as_of: dt.date
    ) -> None:
        """On the due date, or once handed in or waived, the title is the plain title."""
        changed = [dataclasses.replace(t, status=status) if uid(t.item) == AGENDA_1 else t for t in tracked]
        event = _events(_deliverables_feed(program, changed, as_of))[AGENDA_1]
        assert str(event["SUMMARY"]).startswith("Agenda for Army")
        assert "Overdue" not in [str(c) for c in event["CATEGORIES"].cats]

    def test_the_mark_changes_the_bytes_only_when_the_level_changes(
        self, program: Program, tracked: list[TrackedItem]
    ) -> None:
        """Between two escalations the feed is byte-identical from day to day (no daily
        re-download); the day a level is reached its DTSTAMP moves to that day."""
        planned_early = dt.datetime(2025, 9, 1, 12, tzinfo=dt.UTC)
        tracked = [dataclasses.replace(t, changed_at=planned_early) for t in tracked]
        stamps = {}
        feeds = {}
        for day in (dt.date(2025, 9, 29), dt.date(2025, 10, 3), dt.date(2025, 10, 6), dt.date(2025, 10, 7)):
            feeds[day] = _deliverables_feed(program, tracked, day)
            stamps[day] = _events(feeds[day])[AGENDA_1]["DTSTAMP"].dt
        assert stamps == {
            dt.date(2025, 9, 29): planned_early,
            dt.date(2025, 10, 3): dt.datetime(2025, 9, 30, tzinfo=dt.UTC),
            dt.date(2025, 10, 6): dt.datetime(2025, 10, 6, tzinfo=dt.UTC),
            dt.date(2025, 10, 7): dt.datetime(2025, 10, 6, tzinfo=dt.UTC),
        }
        assert feeds[dt.date(2025, 10, 3)] != feeds[dt.date(2025, 10, 6)]
        later = _deliverables_feed(program, tracked, dt.date(2025, 10, 8))
        assert _events(later)[AGENDA_1].to_ical() == _events(feeds[dt.date(2025, 10, 7)])[AGENDA_1].to_ical()

    def test_a_gate_undecided_past_its_date_is_marked_late_from_the_next_day(
        self, program: Program, tracked: list[TrackedItem]
    ) -> None:
        """The APA validation, due 4 August 2026: plain on its date; from the 5th marked
        late in title, category and description, with DTSTAMP on the 5th and the same bytes
        day after day; plain again once decided."""
        gate = "c9/gate/-/apa-validation@roundtable.bmcr"

        def event(as_of: dt.date, status: str = "pending") -> Any:
            entries = [dataclasses.replace(t, status=status) if uid(t.item) == gate else t for t in tracked]
            request = FeedRequest(audience=Audience(AudienceKind.executive), lang="en")
            ics = build_feed(
                program=program, catalogue=shipped_catalogue(), tracked=entries, request=request, as_of=as_of
            )
            return _events(ics)[gate]

        on_the_day = event(dt.date(2026, 8, 4))
        assert not str(on_the_day["SUMMARY"]).startswith("OVERDUE")
        late = event(dt.date(2026, 8, 5))
        assert str(late["SUMMARY"]).startswith("OVERDUE: Tri-chairs validate")
        assert "Overdue" in [str(c) for c in late["CATEGORIES"].cats]
        assert str(late["DESCRIPTION"]).endswith("Not decided by its date: late since 2026-08-05.")
        assert late["DTSTAMP"].dt == dt.datetime(2026, 8, 5, tzinfo=dt.UTC)
        assert event(dt.date(2026, 12, 7)).to_ical() == late.to_ical()
        decided = event(dt.date(2026, 12, 7), status="approved")
        assert not str(decided["SUMMARY"]).startswith("OVERDUE")
        assert "late since" not in str(decided["DESCRIPTION"])


def test_an_activity_whose_kind_the_program_no_longer_has_is_named_by_its_slug(
    program: Program, tracked: list[TrackedItem]
) -> None:
    """A kind or line of effort removed from the program file after activities were stored
    does not break the feeds: the slug stands in for its name."""
    from cycle.program import ApaConfig

    edited = program.model_copy(
        update={"apa": ApaConfig(kinds=[k for k in program.apa.kinds if k.slug != "exchange"])}
    )
    ics = _feed(edited, tracked, Audience(AudienceKind.activities))
    event = _events(ics)[uid(next(t.item for t in tracked if t.item.key.to_string() == WINDOW))]
    assert event.categories[:2] == ["APA activity", "exchange"]
