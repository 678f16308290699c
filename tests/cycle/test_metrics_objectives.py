"""The AM&E figures of the objectives: those held in the cycle counted by status per body
and line of effort, with those still open past their target; ratings cycle by cycle."""

from __future__ import annotations

import datetime as dt

from cycle.metrics import ObjectiveCounts, ObjectiveFacts, RatingFacts, objective_figures
from cycle.program import Program

AS_OF = dt.date(2026, 11, 25)
SHORT, MID = dt.date(2026, 9, 1), dt.date(2027, 9, 1)


def facts(key: str, loe: str, status: str, target: dt.date, first: int = 9, now: int = 9) -> ObjectiveFacts:
    body, slug = key.split("/")
    return ObjectiveFacts(
        key=key,
        body=body,
        line_of_effort=loe,
        title=slug.upper(),
        status=status,
        target=target,
        first_cycle=first,
        cycle=now,
    )


OBJECTIVES = [
    facts("sst-army/a", "domain-control", "active", SHORT),  # open past its target
    facts("sst-army/b", "domain-control", "proposed", MID),
    facts("wg-logistics/c", "domain-control", "achieved", SHORT),  # past, but achieved
    facts("wg-logistics/d", "domain-control", "dropped", SHORT),  # past, but dropped
    facts("sst-air/e", "domain-awareness", "active", MID, first=8),  # carried over from 8
    facts("sst-air/f", "domain-awareness", "active", MID, first=10, now=10),  # not held in 9
    facts("sst-navy/g", "domain-control", "achieved", SHORT, first=8, now=8),  # not held in 9
]
RATINGS = [
    RatingFacts("sst-army/a", 9, 4, 3),
    RatingFacts("sst-army/a", 10, 1, 1),  # after the report's cycle
    RatingFacts("sst-air/e", 8, 2, 2),
    RatingFacts("sst-air/e", 9, 3, 4),
    RatingFacts("sst-navy/g", 8, 5, 5),  # not held in 9
]

Row = tuple[str, int, int, int, int, int]


def rows(found: list[ObjectiveCounts]) -> list[Row]:
    return [(r.key, r.proposed, r.active, r.achieved, r.dropped, r.past_target) for r in found]


def test_objectives_held_in_the_cycle_are_counted_by_body_and_line_of_effort(program: Program) -> None:
    """Cycle 9 holds a-e (e carried over from 8); only a is open past its target."""
    found = objective_figures(OBJECTIVES, RATINGS, cycle=9, as_of=AS_OF, program=program)
    assert rows(found.by_body) == [
        ("sst-air", 0, 1, 0, 0, 0),
        ("sst-army", 1, 1, 0, 0, 1),
        ("wg-logistics", 0, 0, 1, 1, 0),
    ]
    assert [r.name for r in found.by_body] == [program.body(r.key).name.en for r in found.by_body]
    assert rows(found.by_line_of_effort) == [
        ("domain-awareness", 0, 1, 0, 0, 0),
        ("domain-control", 1, 1, 1, 1, 1),
    ]
    assert rows([found.totals]) == [("total", 1, 2, 1, 1, 1)]
    assert (found.totals.name, found.totals.total) == ("Cycle 9", 5)


def test_ratings_over_cycles_up_to_the_reports_cycle(program: Program) -> None:
    found = objective_figures(OBJECTIVES, RATINGS, cycle=9, as_of=AS_OF, program=program, lang="es")
    assert found.cycles == [8, 9]
    assert [(r.key, r.title, r.by_cycle) for r in found.ratings] == [
        ("sst-air/e", "E", {8: (2, 2), 9: (3, 4)}),
        ("sst-army/a", "A", {9: (4, 3)}),
    ]
    assert found.totals.name == "Ciclo 9"
    assert found.by_line_of_effort[0].name == program.line_of_effort("domain-awareness").name.es


def test_no_objectives_give_empty_groups_and_zero_totals(program: Program) -> None:
    found = objective_figures([], [], cycle=9, as_of=AS_OF, program=program)
    assert (found.by_body, found.by_line_of_effort, found.cycles, found.ratings) == ([], [], [], [])
    assert rows([found.totals]) == [("total", 0, 0, 0, 0, 0)]
