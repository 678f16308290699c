"""AM&E figures on a hand-computed fixture: eight deliverables of cycle 9 and two of
cycle 8, judged on Monday 2 March 2026."""

from __future__ import annotations

import datetime as dt

from cycle.deadlines import Deadlines
from cycle.deliverable import DeliverableState
from cycle.items import ItemKey, ItemKind, PlannedItem
from cycle.metrics import DeliverableRecordView, Figures, report
from cycle.program import Localized, Phase

AS_OF = dt.date(2026, 3, 2)
P, S, A, W = (
    DeliverableState.pending,
    DeliverableState.submitted,
    DeliverableState.accepted,
    DeliverableState.waived,
)


def record(
    cycle: int,
    body: str | None,
    name: str,
    owner: str,
    due: dt.date,
    state: DeliverableState,
    submitted: dt.datetime | None = None,
) -> DeliverableRecordView:
    item = PlannedItem(
        key=ItemKey(cycle, ItemKind.deliverable, body, name),
        phase=Phase.group_meetings,
        title=Localized(en=name, es=name),
        owner=owner,
        due=due,
    )
    return DeliverableRecordView(item, state, submitted)


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


RECORDS = [
    # 1. in the afternoon of its due date: on time
    record(9, "sst-army", "agenda-1", "sst-army", dt.date(2025, 9, 29), S, utc(2025, 9, 29, 23)),
    # 2. 04:30 UTC on the 21st is 22:30 on the 20th in Denver and Mexico City: on time
    record(9, "sst-army", "minutes-1", "sst-army", dt.date(2025, 10, 20), S, utc(2025, 10, 21, 4, 30)),
    # 3. three days late, then accepted
    record(9, "sst-navy", "agenda-1", "sst-navy", dt.date(2025, 10, 6), A, utc(2025, 10, 9, 15)),
    # 4. still pending: 126 days late on 2 March 2026 (5 + 30 + 31 + 31 + 28 + 1)
    record(9, "sst-navy", "minutes-1", "sst-navy", dt.date(2025, 10, 27), P),
    # 5. not due yet: open, not judged
    record(9, "ib-domain-control", "apa-inputs", "ib-domain-control", dt.date(2026, 6, 5), P),
    # 6. waived: neither judged nor open
    record(9, None, "read-ahead", "secretariat", dt.date(2026, 2, 2), W),
    # 7. due today: open, not judged yet
    record(9, "sst-air", "agenda-1", "sst-air", AS_OF, P),
    # 8. the AM&E report, in on its due date (no body: program-wide)
    record(9, None, "ame-report", "ame", dt.date(2026, 2, 27), S, utc(2026, 2, 27, 12)),
    # cycle 8: one on time, one a day late
    record(8, "sst-army", "agenda-1", "sst-army", dt.date(2023, 9, 25), A, utc(2023, 9, 20, 12)),
    record(8, "sst-navy", "agenda-1", "sst-navy", dt.date(2023, 10, 2), A, utc(2023, 10, 3, 18)),
]


def counts(row: Figures) -> tuple[object, ...]:
    return (
        row.key,
        row.judged,
        row.on_time,
        row.late,
        row.overdue,
        row.waived,
        row.open,
        row.on_time_rate,
        row.mean_days_late,
    )


class TestReport:
    def test_cycle_totals(self, deadlines: Deadlines) -> None:
        """Judged 5 (1, 2, 3, 4, 8); on time 3; one late by 3 days, one overdue by 126."""
        result = report(RECORDS, cycle=9, as_of=AS_OF, deadlines=deadlines)
        assert counts(result.totals) == ("total", 5, 3, 1, 1, 1, 6, 0.6, 64.5)
        assert result.totals.total == 8

    def test_trend_over_cycles(self, deadlines: Deadlines) -> None:
        """Cycle 8: one of two on time, one day late; cycle 9 as above."""
        result = report(RECORDS, cycle=9, as_of=AS_OF, deadlines=deadlines)
        assert [counts(r) for r in result.by_cycle] == [
            ("8", 2, 1, 1, 0, 0, 0, 0.5, 1.0),
            ("9", 5, 3, 1, 1, 1, 6, 0.6, 64.5),
        ]

    def test_by_body_or_owner_sorted_by_name(self, deadlines: Deadlines) -> None:
        """Each owner's figures; names from the program file."""
        result = report(RECORDS, cycle=9, as_of=AS_OF, deadlines=deadlines)
        assert [(r.name, *counts(r)[1:]) for r in result.by_body] == [
            (
                "Air Service Staff Talks (Air Forces Northern – Mexican Air Force)",
                0,
                0,
                0,
                0,
                0,
                1,
                None,
                None,
            ),
            ("Army Service Staff Talks (U.S. Army North – Mexican Army)", 2, 2, 0, 0, 0, 2, 1.0, None),
            ("Assessment, Monitoring and Evaluation Group", 1, 1, 0, 0, 0, 1, 1.0, None),
            ("Domain Control Integration Board", 0, 0, 0, 0, 0, 1, None, None),
            (
                "Navy Service Staff Talks (U.S. Naval Forces Northern Command – Mexican Navy)",
                2,
                0,
                1,
                1,
                0,
                1,
                0.0,
                64.5,
            ),
            ("Roundtable secretariat", 0, 0, 0, 0, 1, 0, None, None),
        ]

    def test_by_line_of_effort(self, deadlines: Deadlines) -> None:
        """Army and Navy SSTs and the Domain Control board are domain control; the Air SST
        domain awareness; the read-ahead and the AM&E report program-wide."""
        result = report(RECORDS, cycle=9, as_of=AS_OF, deadlines=deadlines)
        assert [counts(r) for r in result.by_line_of_effort] == [
            ("domain-awareness", 0, 0, 0, 0, 0, 1, None, None),
            ("domain-control", 4, 2, 1, 1, 0, 4, 0.5, 64.5),
            ("program-wide", 1, 1, 0, 0, 1, 1, 1.0, None),
        ]

    def test_a_hand_in_after_the_report_day_was_not_in_yet(self, deadlines: Deadlines) -> None:
        """Reported as of 8 October 2025, the Navy agenda (due 6 October, in on the 9th) was
        still out: overdue by 2 days then, not late by 3; its minutes were not due yet."""
        result = report(RECORDS, cycle=9, as_of=dt.date(2025, 10, 8), deadlines=deadlines)
        navy = next(r for r in result.by_body if r.key == "sst-navy")
        assert counts(navy) == ("sst-navy", 1, 0, 0, 1, 0, 1, 0.0, 2.0)

    def test_a_later_cycle_is_left_out_of_the_trend(self, deadlines: Deadlines) -> None:
        """Reporting on cycle 8 shows cycles up to 8 only."""
        result = report(RECORDS, cycle=8, as_of=AS_OF, deadlines=deadlines)
        assert [r.key for r in result.by_cycle] == ["8"]
        assert counts(result.totals) == ("total", 2, 1, 1, 0, 0, 0, 0.5, 1.0)
