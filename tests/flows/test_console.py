"""The operator's console, the summary and the status table say the same about where the
cycle stands and what blocks it, over every step of a 24-month and a 12-month cycle; and
the console of cycle 9 on 7 December 2026 says what an operator must know first."""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from xml.etree import ElementTree

import pytest

from cycle.context import Context, open_context
from cycle.cycles import cycle_by_number
from cycle.operations import check_deadlines, initialize
from cycle.program import Localized
from cycle.progression import CycleBoard, cycle_board, finish_phase, open_cycle
from cycle.settings import settings_from_env
from flows.common import status_markdown, status_table
from flows.console import blocker_lines, console_markdown, position_line
from flows.timeline import COLOURS, LABELS, TODAY, timeline_svg

NOW = dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Context]:
    context = open_context(settings_from_env({"ROUNDTABLE_HOME": str(tmp_path / "home")}))
    initialize(context, now=NOW, actor="test")
    yield context
    context.store.dispose()


def views(ctx: Context, number: int, as_of: dt.date) -> tuple[CycleBoard, str, str, list[dict[str, object]]]:
    board = cycle_board(ctx, number=number, as_of=as_of)
    overdue = check_deadlines(ctx, number=number, as_of=as_of).overdue
    return (
        board,
        console_markdown(ctx.program, board, overdue),
        status_markdown(ctx, board),
        status_table(board),
    )


def days_across(ctx: Context, number: int) -> list[dt.date]:
    cycle = cycle_by_number(ctx.program, number)
    days = [cycle.start + dt.timedelta(days=d) for d in range(0, (cycle.end - cycle.start).days + 1, 61)]
    return [*days, cycle.end]


@pytest.mark.parametrize("number", [9, 7], ids=["24-month-cycle-9", "12-month-cycle-7"])
def test_every_view_agrees_on_the_step_and_its_blockers(ctx: Context, number: int) -> None:
    """Step by step, the flows complete the cycle; on days across the whole cycle, the
    console and the summary give the same sentence and blockers, and the status table
    marks the same row."""
    open_cycle(ctx, number=number, now=NOW, actor="test")
    seen = []
    while True:
        for day in days_across(ctx, number):
            board, console, summary, table = views(ctx, number, day)
            sp = board.standpoint
            line = position_line(sp)
            assert line in console
            assert line in summary
            for bullet in blocker_lines(sp):
                assert bullet in console
                assert bullet in summary
            for blocker in sp.blockers:
                assert str(blocker.item.key) in console
            marked = [row["phase"] for row in table if str(row["state"]).endswith("← now")]
            assert marked == ([sp.step.name.en] if sp.step else [])
        step = sp.step
        if step is None:
            assert line == "Every step of the cycle is completed."
            break
        seen.append(step.phase.value)
        finish_phase(ctx, number=number, phase=step.phase, outcome={}, now=NOW, actor="test")
    expected = ["executive-session", "observation-visit", "assessment", "close-out"]
    assert seen == (expected if number == 9 else [p for p in expected if p != "observation-visit"])


def test_the_console_of_cycle_9_says_what_blocks_it_and_who_must_act(ctx: Context) -> None:
    """On 7 December 2026, with nothing handed in: the session never started, its 26 inputs
    are missing, the APA validation is four months late and holds up the visit, and the
    exercise selection waits for it."""
    open_cycle(ctx, number=9, now=NOW, actor="test")
    _, console, summary, table = views(ctx, 9, NOW.date())
    assert (
        "The flows are at **Executive session**, not started: it was due to start on 2026-08-04, "
        "125 days ago." in console
    )
    assert "- **26 required inputs are not in** for *Executive session*: " in console
    assert "run *Executive session* (executive-session)" in console
    assert (
        "- *Observation visit*, next, waits for: Tri-chairs validate the Annual Plan of Activities" in console
    )
    assert (
        "| Tri-chairs validate the Annual Plan of Acti… | 2026-08-04 | 125 days late | "
        "not asked yet: run *Executive session* |" in console
    )
    assert "97 overdue: **96** at Tri-chairs' staff, **1** at Chairs of the owning body" in console
    assert (
        "- 2026-12-14: Tri-chairs select the exercise or training to observe — waits for "
        "Tri-chairs validate the Annual Plan of Activities" in console
    )
    assert "## Every input Executive session still needs (26)" in console
    assert (
        "- Gate *Tri-chairs validate the Annual Plan of Activities* (2026-08-04): **pending, 125 days late**"
        in summary
    )
    [session] = [row for row in table if row["phase"] == "Executive session"]
    assert session["state"] == "not-started ← now"
    [visit] = [row for row in table if row["phase"] == "Observation visit"]
    assert visit["gate"] == "pending"


def test_every_table_keeps_to_the_card(ctx: Context) -> None:
    """At most five columns, and no cell past 46 characters but a deliverable's key: the
    artifact's card at 1440 px holds the tables without sideways scrolling."""
    open_cycle(ctx, number=9, now=NOW, actor="test")
    _, console, summary, table = views(ctx, 9, NOW.date())
    for text in (console, summary):
        for row in (line for line in text.splitlines() if line.startswith("|")):
            cells = [c.strip() for c in row.strip("|").split("|")]
            assert len(cells) <= 5, row
            assert all(len(c) <= 46 or re.fullmatch(r"`c\d+/[^`]+`", c) for c in cells), row
    assert all(len(row) <= 6 for row in table)


def test_the_timeline_draws_each_phase_over_its_window_and_todays_line(ctx: Context) -> None:
    """The console's picture: a bar per phase from its first to its last day, coloured by
    its state, and today's red line where 7 December 2026 falls in the 24 months."""
    open_cycle(ctx, number=9, now=NOW, actor="test")
    board, console, _, _ = views(ctx, 9, NOW.date())
    [encoded] = re.findall(r"\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)", console)
    svg = ElementTree.fromstring(base64.b64decode(encoded))  # noqa: S314 -- the code's own picture
    ns = "{http://www.w3.org/2000/svg}"
    width = float(svg.attrib["width"])
    bars = {
        str(bar.findtext(f"{ns}title")).split(":")[0]: bar
        for bar in svg.iter(f"{ns}rect")
        if bar.find(f"{ns}title") is not None
    }
    assert list(bars) == [row.name.en for row in board.rows]
    cycle = board.status.cycle
    span = (cycle.end - cycle.start).days + 1

    def at(day: dt.date) -> float:
        return LABELS + (width - LABELS - 10) * (day - cycle.start).days / span

    for row in board.rows:
        bar = bars[row.name.en]
        assert float(bar.attrib["x"]) == pytest.approx(at(row.window[0]), abs=0.1)
        assert bar.attrib["fill"] == COLOURS[row.state]
    [today] = [line for line in svg.iter(f"{ns}line") if line.attrib.get("stroke") == TODAY]
    assert float(today.attrib["x1"]) == pytest.approx(at(NOW.date()), abs=0.1)
    assert any(text.text == "today, 2026-12-07" for text in svg.iter(f"{ns}text"))


def test_the_timeline_escapes_names_and_draws_no_today_outside_the_cycle(ctx: Context) -> None:
    open_cycle(ctx, number=9, now=NOW, actor="test")
    board = cycle_board(ctx, number=9, as_of=NOW.date())
    cycle = board.status.cycle
    rows = [replace(board.rows[0], name=Localized(en='<b>&"x"', es="x")), *board.rows[1:]]
    svg = timeline_svg(rows, start=cycle.start, end=cycle.end, as_of=cycle.end + dt.timedelta(days=1))
    tree = ElementTree.fromstring(svg)  # noqa: S314 -- the code's own picture
    assert '<b>&"x"' in [t.text for t in tree.iter("{http://www.w3.org/2000/svg}text")]
    assert f'stroke="{TODAY}"' not in svg
