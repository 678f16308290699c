"""The objectives in the flows, under Prefect's test harness: the close carries them over,
the recording flows write what the CLI writes, the assessment waits for their ratings, and
the status artifact shows their state."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

import flows.common
from cycle.operations import add_objective, objective_detail, objectives_in, record_objective_progress
from flows.close_cycle import close_cycle
from tests.flows.conftest import AS_OF, NOW, Api, run

NEXT_CYCLE_DAY = dt.date(2027, 9, 1)


def add(key: str, status: str = "active", *, owner: str = "sedena") -> None:
    add_objective(
        flows.common.context(),
        key=key,
        title_en=f"Objective {key}",
        title_es=f"Objetivo {key}",
        horizon="short-term",
        owner=owner,
        indicators=["Done"],
        status=status,
        number=9,
        as_of=AS_OF,
        now=NOW,
        actor="secretariat",
    )


def move(key: str, status: str | None, percent: int = 50) -> None:
    record_objective_progress(
        flows.common.context(), key=key, note="met", percent=percent, status=status, now=NOW, actor="wg"
    )


def history(key: str) -> list[tuple[str, int, str, dict[str, Any]]]:
    detail = objective_detail(flows.common.context(), key=key)
    return [(e.action, e.cycle, e.status, json.loads(e.detail)) for e in detail.history]


def held_in(number: int) -> list[tuple[str, str, int, int]]:
    _, records = objectives_in(flows.common.context(), number=number, as_of=AS_OF)
    return [(r.key, r.status, r.first_cycle, r.cycle) for r in records]


ACTIVE, PROPOSED, ACHIEVED, DROPPED = (
    "sst-army/a-active",
    "sst-army/b-proposed",
    "wg-logistics/c-achieved",
    "wg-logistics/d-dropped",
)


@pytest.mark.usefixtures("planned")
class TestCloseCycleCarriesObjectives:
    def test_active_and_proposed_carry_over_with_their_history_achieved_and_dropped_do_not(
        self, api: Api
    ) -> None:
        """The issue's rule, through the close-cycle flow: cycle 10 holds the open ones with
        their whole history; the achieved and the dropped stay in cycle 9."""
        del api
        add(ACTIVE)
        add(PROPOSED, "proposed")
        add(ACHIEVED)
        add(DROPPED, "proposed")
        move(ACTIVE, None, 60)
        move(ACHIEVED, "achieved", 100)
        move(DROPPED, "dropped", 0)
        done = run(close_cycle, cycle=9, as_of=NEXT_CYCLE_DAY)
        assert done.state.is_completed()
        assert done.state.message == (
            "cycle 9 closed with 146 deliverables left open; cycle 10 is open with 2 objectives carried over"
        )
        assert done.result["carried_over"] == [ACTIVE, PROPOSED]
        assert held_in(10) == [(ACTIVE, "active", 9, 10), (PROPOSED, "proposed", 9, 10)]
        assert held_in(9) == [
            (ACTIVE, "active", 9, 10),
            (PROPOSED, "proposed", 9, 10),
            (ACHIEVED, "achieved", 9, 9),
            (DROPPED, "dropped", 9, 9),
        ]
        assert history(ACTIVE) == [
            ("created", 9, "active", history(ACTIVE)[0][3]),
            ("progress", 9, "active", {"progress": [0, 60]}),
            ("carried-over", 10, "active", {"cycle": [9, 10]}),
        ]
        assert [a for a, *_ in history(PROPOSED)] == ["created", "carried-over"]
        assert [a for a, *_ in history(ACHIEVED)] == ["created", "progress"]
        assert [a for a, *_ in history(DROPPED)] == ["created", "progress"]
        again = run(close_cycle, cycle=9, as_of=NEXT_CYCLE_DAY)
        assert again.result["carried_over"] == []
        assert [a for a, *_ in history(ACTIVE)] == ["created", "progress", "carried-over"]
