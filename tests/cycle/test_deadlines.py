"""Deadline rules: due soon, overdue, grace and escalation, in working days of both
countries, with the shipped program's `[deadlines]` (levels at 0, 5 and 15 working days;
agendas remind 3 working days ahead; minutes have 2 working days of grace; the read-ahead
book goes to the tri-chairs' staff after 3).

September 2026: Monday 7 is Labor Day (US), Wednesday 16 is Independence Day (MX).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cycle.deadlines import Deadlines, Notice
from cycle.deliverable import DeliverableState
from cycle.items import ItemKey, ItemKind, PlannedItem
from cycle.program import Localized, Phase
from tests.cycle.test_config import config_error, write_mutated

FRI_11 = dt.date(2026, 9, 11)
PENDING = DeliverableState.pending


def deliverable(name: str, due: dt.date, body: str | None = "sst-army") -> PlannedItem:
    return PlannedItem(
        key=ItemKey(9, ItemKind.deliverable, body, name),
        phase=Phase.executive_prep,
        title=Localized(en=name, es=name),
        owner=body or "secretariat",
        due=due,
    )


def day(n: int) -> dt.date:
    return dt.date(2026, 9, n)


class TestOverdue:
    @pytest.mark.parametrize(
        ("as_of", "overdue"),
        [
            pytest.param(day(10), False, id="before-due"),
            pytest.param(FRI_11, False, id="on-due-date"),
            pytest.param(day(12), True, id="saturday-after-a-friday-due-date"),
            pytest.param(day(14), True, id="monday-after-the-weekend"),
        ],
    )
    def test_overdue_from_the_day_after_the_due_date(
        self, deadlines: Deadlines, as_of: dt.date, overdue: bool
    ) -> None:
        """With no grace a pending deliverable is overdue from the day after it was due,
        weekend or not."""
        assert deadlines.is_overdue(deliverable("apa-inputs", FRI_11), PENDING, as_of) is overdue

    @pytest.mark.parametrize(
        "state", [DeliverableState.submitted, DeliverableState.accepted, DeliverableState.waived]
    )
    def test_a_handed_in_deliverable_is_never_overdue(
        self, deadlines: Deadlines, state: DeliverableState
    ) -> None:
        """Submitted, accepted or waived: nobody is late."""
        item = deliverable("apa-inputs", FRI_11)
        assert not deadlines.is_overdue(item, state, day(30))
        assert deadlines.standing(item, state, day(30)) is None

    @pytest.mark.parametrize(
        ("as_of", "overdue"),
        [
            pytest.param(day(14), False, id="first-working-day-of-grace"),
            pytest.param(day(15), False, id="last-working-day-of-grace"),
            pytest.param(day(16), True, id="mexican-holiday-after-the-grace"),
        ],
    )
    def test_minutes_have_two_working_days_of_grace(
        self, deadlines: Deadlines, as_of: dt.date, overdue: bool
    ) -> None:
        """Minutes due Friday the 11th are late only after Monday 14 and Tuesday 15."""
        item = deliverable("minutes-2", FRI_11)
        assert deadlines.is_overdue(item, PENDING, as_of) is overdue
        assert (deadlines.standing(item, PENDING, as_of) is not None) is overdue


class TestDueSoon:
    @pytest.mark.parametrize(
        ("as_of", "left"),
        [
            pytest.param(day(10), None, id="four-working-days-ahead"),
            pytest.param(FRI_11, 3, id="three-ahead-over-a-weekend"),
            pytest.param(day(15), 1, id="one-ahead-across-independence-day"),
            pytest.param(day(17), 0, id="on-the-due-date"),
            pytest.param(day(18), None, id="past-it"),
        ],
    )
    def test_an_agenda_is_due_soon_three_working_days_ahead(
        self, deadlines: Deadlines, as_of: dt.date, left: int | None
    ) -> None:
        """Agendas remind 3 working days ahead; 16 September does not count (MX holiday)."""
        standing = deadlines.standing(deliverable("agenda-3", day(17)), PENDING, as_of)
        if left is None:
            assert standing is None or not standing.due_soon
        else:
            assert standing is not None
            assert (standing.due_soon, standing.working_days_left, standing.notices()) == (
                True,
                left,
                [(Notice.due_soon, None)],
            )

    def test_default_reminder_is_five_working_days(self, deadlines: Deadlines) -> None:
        """APA inputs due Friday 18 are due soon from Thursday 10 (five working days:
        11, 14, 15, 17, 18), not from Wednesday 9."""
        item = deliverable("apa-inputs", day(18))
        assert deadlines.standing(item, PENDING, day(9)) is None
        standing = deadlines.standing(item, PENDING, day(10))
        assert standing is not None
        assert standing.working_days_left == 5


class TestEscalation:
    @pytest.mark.parametrize(
        ("as_of", "working_days_late", "level"),
        [
            pytest.param(day(12), 0, "owner", id="saturday"),
            pytest.param(day(18), 4, "owner", id="four-working-days-independence-day-skipped"),
            pytest.param(day(21), 5, "body-chairs", id="fifth-working-day"),
            pytest.param(dt.date(2026, 10, 2), 14, "body-chairs", id="fourteenth"),
            pytest.param(dt.date(2026, 10, 5), 15, "tri-chairs-staff", id="fifteenth"),
        ],
    )
    def test_levels_are_reached_on_their_working_day(
        self, deadlines: Deadlines, as_of: dt.date, working_days_late: int, level: str
    ) -> None:
        """Owner at due, the body's chairs after 5 working days late, the tri-chairs'
        staff after 15; 16 September (MX) and the weekends do not count."""
        standing = deadlines.standing(deliverable("apa-inputs", FRI_11), PENDING, as_of)
        assert standing is not None
        assert standing.level is not None
        assert (standing.working_days_late, standing.level.slug) == (working_days_late, level)

    def test_a_us_holiday_delays_escalation_too(self, deadlines: Deadlines) -> None:
        """Due Friday 4 September: Labor Day (Monday 7) does not count, so the fifth
        working day late is Monday 14, not Friday 11."""
        item = deliverable("apa-inputs", day(4))
        found = []
        for as_of in (FRI_11, day(14)):
            standing = deadlines.standing(item, PENDING, as_of)
            assert standing is not None
            assert standing.level is not None
            found.append((standing.working_days_late, standing.level.slug))
        assert found == [(4, "owner"), (5, "body-chairs")]

    def test_read_ahead_skips_the_body_chairs(self, deadlines: Deadlines) -> None:
        """The read-ahead book's own escalation: owner at due, tri-chairs' staff after 3
        working days (Thursday 17, because the 16th is a holiday)."""
        item = deliverable("read-ahead", FRI_11, body=None)
        on_16, on_17 = (deadlines.standing(item, PENDING, as_of) for as_of in (day(16), day(17)))
        assert on_16 is not None
        assert on_16.level is not None
        assert on_17 is not None
        assert on_17.level is not None
        assert (on_16.level.slug, on_17.level.slug, on_17.level.index) == ("owner", "tri-chairs-staff", 2)

    def test_notices_say_overdue_and_the_level_reached(self, deadlines: Deadlines) -> None:
        """An item found at the third level is announced overdue and escalated to that
        level, not to the one it skipped between two checks."""
        standing = deadlines.standing(deliverable("apa-inputs", FRI_11), PENDING, dt.date(2026, 10, 5))
        assert standing is not None
        assert [(notice, level.slug if level else None) for notice, level in standing.notices()] == [
            (Notice.overdue, "owner"),
            (Notice.escalated, "tri-chairs-staff"),
        ]

    def test_standings_sort_most_severe_first(self, deadlines: Deadlines) -> None:
        """Level first, then working days late; due-soon items after the late ones."""
        items = [
            (deliverable("agenda-1", day(30)), PENDING),
            (deliverable("annual-briefing", day(25)), PENDING),
            (deliverable("apa-inputs", day(1)), PENDING),
            (deliverable("apa-inputs", FRI_11, body="sst-navy"), PENDING),
        ]
        found = deadlines.standings(items, day(28))
        assert [(s.item.key.to_string(), s.level.slug if s.level else None) for s in found] == [
            ("c9/deliverable/sst-army/apa-inputs", "tri-chairs-staff"),  # 17 working days late
            ("c9/deliverable/sst-navy/apa-inputs", "body-chairs"),  # 10
            ("c9/deliverable/sst-army/annual-briefing", "owner"),
            ("c9/deliverable/sst-army/agenda-1", None),
        ]


LEVELS = """[[deadlines.levels]]
slug = "body-chairs"
name = { en = "Chairs of the owning body", es = "Presidentes del grupo responsable" }
after_working_days = 5
"""


class TestDeadlinesConfig:
    @pytest.mark.parametrize(
        ("old", "new", "blamed", "message"),
        [
            pytest.param(
                "after_working_days = 15\n",
                "after_working_days = 5\n",
                "after_working_days",
                "deadlines.levels[2].after_working_days: must be more than 5 (level 'body-chairs')",
                id="levels-must-rise",
            ),
            pytest.param(
                "[deadlines.kinds.agenda]\n",
                "[deadlines.kinds.agendas]\n",
                "[deadlines",
                "deadlines.kinds.agendas: unknown deliverable of the template 'agendas'",
                id="unknown-kind",
            ),
            pytest.param(
                "escalation = { owner = 0, tri-chairs-staff = 3 }",
                "escalation = { owner = 0, tri-chair-staff = 3 }",
                "escalation",
                "deadlines.kinds.read-ahead.escalation.tri-chair-staff: unknown escalation level",
                id="unknown-level",
            ),
            pytest.param(
                "escalation = { owner = 0, tri-chairs-staff = 3 }",
                "escalation = { tri-chairs-staff = 3 }",
                "escalation",
                "deadlines.kinds.read-ahead.escalation: the first level is reached when the deliverable",
                id="kind-without-a-level-at-zero",
            ),
            pytest.param(
                "escalation = { owner = 0, tri-chairs-staff = 3 }",
                "escalation = { owner = 0, tri-chairs-staff = 3, body-chairs = 5 }",
                "escalation",
                "deadlines.kinds.read-ahead.escalation.body-chairs: levels come in the order of",
                id="kind-levels-out-of-order",
            ),
            pytest.param(
                "reminder_working_days = 5\ngrace",
                "reminder_working_days = -1\ngrace",
                "reminder",
                "deadlines.reminder_working_days: Input should be greater than or equal to 0",
                id="negative-reminder",
            ),
        ],
    )
    def test_bad_deadline_rules_name_their_key(
        self, tmp_path: Path, old: str, new: str, blamed: str, message: str
    ) -> None:
        """A rule that cannot work is one line naming file, line and key."""
        path, line = write_mutated(tmp_path, old, new, blamed)
        assert config_error(path).startswith(f"{path}:{line}: {message}")

    def test_first_level_must_be_reached_at_due(self, tmp_path: Path) -> None:
        """A first level after 0 would leave overdue items with nobody told."""
        old = 'name = { en = "Owner", es = "Responsable" }\nafter_working_days = 0\n'
        new = 'name = { en = "Owner", es = "Responsable" }\nafter_working_days = 1\n'
        path, line = write_mutated(tmp_path, old, new, "after_working_days")
        assert config_error(path) == (
            f"{path}:{line}: deadlines.levels[0].after_working_days: the first level is reached when a "
            "deliverable becomes overdue: it must be 0"
        )
