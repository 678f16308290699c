"""Objectives in the store, on real SQLite and PostgreSQL: added in a planned cycle,
moved on with a history of who changed what, carried over at a close while proposed or
active, rated once per cycle; every change is in the history and the change log."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlmodel import Session, select

from cycle.cycles import cycle_by_number
from cycle.errors import InputError, NotFoundError, StoreError, TransitionError
from cycle.objectives import NewObjective, ObjectiveStatus, check_new_objective
from cycle.program import Program
from cycle.schedule import plan_cycle
from cycle.store.database import Store
from cycle.store.models import ChangeRecord, ObjectiveRecord
from cycle.store.objectives import (
    add_objective,
    carry_over,
    list_objectives,
    objective_history,
    objective_ratings,
    rate_objective,
    record_progress,
    unrated_objectives,
)
from cycle.store.repository import apply_plan, sync_bodies

T0 = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(hours=1)
T2 = T0 + dt.timedelta(hours=2)
KEY = "wg-logistics/shared-fuel-doctrine"
MEETING = "c9/meeting/wg-logistics/2"

S = ObjectiveStatus


def new(program: Program, key: str = KEY, status: S = S.proposed, cycle: int = 9) -> NewObjective:
    return check_new_objective(
        program,
        key=key,
        title_en="Shared fuel doctrine",
        title_es="Doctrina común de combustible",
        horizon="mid-term",
        owner="sedena",
        indicators=["Doctrine signed", "Two exercises use it"],
        cycle=cycle_by_number(program, cycle),
        set_on=cycle_by_number(program, cycle).start,
        status=status,
    )


@pytest.fixture
def planned(store: Store, program: Program) -> Store:
    """Cycle 9 planned (with the bodies)."""
    with store.session() as session:
        sync_bodies(session, program=program, now=T0, actor="test")
        apply_plan(session, plan=plan_cycle(program, 9), now=T0, actor="test")
        session.commit()
    return store


def plan_next(store: Store, program: Program) -> None:
    with store.session() as session:
        apply_plan(session, plan=plan_cycle(program, 10), now=T0, actor="test")
        session.commit()


def write(store: Store, work: Any) -> Any:
    return store.transaction(work)


def history(store: Store, key: str = KEY) -> list[tuple[str, int, str, int, str | None, dict[str, Any]]]:
    with store.session() as session:
        return [
            (e.action, e.cycle, e.status, e.progress, e.actor, json.loads(e.detail))
            for e in objective_history(session, key=key)
        ]


def logged(store: Store) -> list[tuple[str, int | None, dict[str, Any]]]:
    with store.session() as session:
        rows = session.exec(select(ChangeRecord).where(ChangeRecord.action.startswith("objective-")))  # type: ignore[attr-defined]
        return [(r.action, r.cycle, json.loads(r.detail)) for r in rows]


def progress(
    session: Session, status: S | None = None, *, percent: int = 10, meeting: str | None = None
) -> Any:
    return record_progress(
        session, key=KEY, note="met", percent=percent, status=status, meeting=meeting, now=T1, actor="wg"
    )


class TestAdd:
    def test_an_added_objective_is_stored_with_its_target_and_a_created_event(
        self, planned: Store, program: Program
    ) -> None:
        """Mid-term from cycle 9 (opens 2025-09-01) is due 2027-09-01; history and log say who."""
        record = write(planned, lambda s: add_objective(s, new=new(program), now=T0, actor="sec"))
        assert (record.key, record.body, record.slug, record.status, record.first_cycle, record.cycle) == (
            KEY,
            "wg-logistics",
            "shared-fuel-doctrine",
            "proposed",
            9,
            9,
        )
        assert (record.target, record.line_of_effort, record.owner, record.progress) == (
            dt.date(2027, 9, 1),
            "domain-control",
            "sedena",
            0,
        )
        assert json.loads(record.indicators) == ["Doctrine signed", "Two exercises use it"]
        created = {
            "status": [None, "proposed"],
            "horizon": "mid-term",
            "line_of_effort": "domain-control",
            "owner": "sedena",
            "target": "2027-09-01",
        }
        assert history(planned) == [("created", 9, "proposed", 0, "sec", created)]
        assert logged(planned) == [("objective-created", 9, {"objective": KEY, **created})]

    def test_adding_the_same_key_twice_is_refused(self, planned: Store, program: Program) -> None:
        write(planned, lambda s: add_objective(s, new=new(program), now=T0, actor="sec"))
        with pytest.raises(InputError, match=r"^objective wg-logistics/shared-fuel-doctrine exists already"):
            write(planned, lambda s: add_objective(s, new=new(program, status=S.active), now=T1, actor="sec"))

    def test_an_unplanned_cycle_takes_no_objectives(self, planned: Store, program: Program) -> None:
        with pytest.raises(StoreError, match=r"^cycle 10 is not planned yet"):
            write(planned, lambda s: add_objective(s, new=new(program, cycle=10), now=T0, actor="sec"))


class TestProgress:
    def test_progress_moves_status_and_percent_and_names_the_meeting(
        self, planned: Store, program: Program
    ) -> None:
        write(planned, lambda s: add_objective(s, new=new(program), now=T0, actor="sec"))
        record = write(planned, lambda s: progress(s, S.active, percent=25, meeting=MEETING))
        assert (record.status, record.progress, record.updated_at) == ("active", 25, T1)
        assert history(planned)[-1] == (
            "progress",
            9,
            "active",
            25,
            "wg",
            {"status": ["proposed", "active"], "progress": [0, 25]},
        )
        with planned.session() as session:
            last = objective_history(session, key=KEY)[-1]
        assert (last.meeting, last.note, last.at) == (MEETING, "met", T1)

    @pytest.mark.parametrize(
        ("meeting", "message"),
        [
            (
                "c9/deliverable/wg-logistics/agenda-2",
                "meeting: c9/deliverable/wg-logistics/agenda-2 is not a meeting but a deliverable",
            ),
            (
                "c9/meeting/wg-cyber/1",
                "meeting: c9/meeting/wg-cyber/1 is not a meeting of wg-logistics, whose objective this is",
            ),
            (
                "c10/meeting/wg-logistics/1",
                "meeting: c10/meeting/wg-logistics/1 is not in cycle 9, "
                "which wg-logistics/shared-fuel-doctrine is in",
            ),
            (
                "c9/meeting/wg-logistics/99",
                "meeting: c9/meeting/wg-logistics/99 is not in the plan (see `roundtable plan --cycle 9`)",
            ),
        ],
    )
    def test_the_meeting_must_be_a_planned_meeting_of_the_body_in_its_cycle(
        self, planned: Store, program: Program, meeting: str, message: str
    ) -> None:
        write(planned, lambda s: add_objective(s, new=new(program), now=T0, actor="sec"))
        with pytest.raises(InputError) as caught:
            write(planned, lambda s: progress(s, meeting=meeting))
        assert str(caught.value) == message
        assert [e[0] for e in history(planned)] == ["created"]

    def test_a_final_objective_takes_no_more_progress_and_bad_moves_are_refused(
        self, planned: Store, program: Program
    ) -> None:
        write(planned, lambda s: add_objective(s, new=new(program), now=T0, actor="sec"))
        with pytest.raises(TransitionError, match="it can become active or dropped, not achieved"):
            write(planned, lambda s: progress(s, S.achieved))
        write(planned, lambda s: progress(s, S.dropped))
        with pytest.raises(
            InputError, match=r"^wg-logistics/shared-fuel-doctrine is dropped: it takes no more"
        ):
            write(planned, progress)

    def test_an_unknown_objective_is_not_found(self, planned: Store) -> None:
        with pytest.raises(NotFoundError, match=r"^no objective wg-logistics/none in the store"):
            write(
                planned,
                lambda s: record_progress(
                    s,
                    key="wg-logistics/none",
                    note="x",
                    percent=1,
                    status=None,
                    meeting=None,
                    now=T1,
                    actor="x",
                ),
            )


class TestCarryOver:
    def test_active_and_proposed_carry_over_with_their_history_achieved_and_dropped_do_not(
        self, planned: Store, program: Program
    ) -> None:
        """The issue's rule: objectives go on until achieved or dropped, history and all."""
        keys = {
            "active": "sst-army/a-active",
            "proposed": "sst-army/b-proposed",
            "achieved": "sst-army/c-achieved",
            "dropped": "sst-army/d-dropped",
        }

        def setup(session: Session) -> None:
            for name, key in keys.items():
                start = S.active if name in ("active", "achieved") else S.proposed
                add_objective(
                    session,
                    new=check_new_objective(
                        program,
                        key=key,
                        title_en=name,
                        title_es=name,
                        horizon="short-term",
                        owner="sedena",
                        indicators=["x"],
                        cycle=cycle_by_number(program, 9),
                        set_on=dt.date(2025, 9, 1),
                        status=start,
                    ),
                    now=T0,
                    actor="sec",
                )
            for name, status in (("achieved", S.achieved), ("dropped", S.dropped), ("active", None)):
                record_progress(
                    session,
                    key=keys[name],
                    note=name,
                    percent=50,
                    status=status,
                    meeting=None,
                    now=T1,
                    actor="sst",
                )

        write(planned, setup)
        with pytest.raises(StoreError, match=r"^cycle 10 is not planned yet"):
            write(planned, lambda s: carry_over(s, cycle=9, now=T2, actor="close"))
        plan_next(planned, program)
        moved = write(planned, lambda s: carry_over(s, cycle=9, now=T2, actor="close"))
        assert moved == [keys["active"], keys["proposed"]]
        assert write(planned, lambda s: carry_over(s, cycle=9, now=T2, actor="close")) == []
        with planned.session() as session:
            in_10 = [(r.key, r.status, r.first_cycle, r.cycle) for r in list_objectives(session, cycle=10)]
            in_9 = [r.key for r in list_objectives(session, cycle=9)]
        assert in_10 == [(keys["active"], "active", 9, 10), (keys["proposed"], "proposed", 9, 10)]
        assert in_9 == sorted(keys.values())
        assert [e[:4] for e in history(planned, keys["active"])] == [
            ("created", 9, "active", 0),
            ("progress", 9, "active", 50),
            ("carried-over", 10, "active", 50),
        ]
        assert history(planned, keys["active"])[-1][5] == {"cycle": [9, 10]}
        assert [e[0] for e in history(planned, keys["achieved"])] == ["created", "progress"]
        assert [a for a, _, _ in logged(planned)].count("objective-carried-over") == 2


class TestRatings:
    def test_rating_again_replaces_the_rating_and_both_are_in_the_history(
        self, planned: Store, program: Program
    ) -> None:
        write(planned, lambda s: add_objective(s, new=new(program, status=S.active), now=T0, actor="sec"))
        assert [r.key for r in write(planned, lambda s: unrated_objectives(s, cycle=9))] == [KEY]

        def rate(value: int, effectiveness: int, at: dt.datetime) -> Any:
            return write(
                planned,
                lambda s: rate_objective(
                    s,
                    key=KEY,
                    cycle=9,
                    value=value,
                    effectiveness=effectiveness,
                    note="ok",
                    now=at,
                    actor="ame",
                ),
            )

        rate(3, 4, T1)
        rate(3, 4, T1)  # the same again: nothing new
        rate(4, 4, T2)
        with planned.session() as session:
            ratings = [
                (k, r.cycle, r.value, r.effectiveness, r.rated_at) for k, r in objective_ratings(session)
            ]
            assert unrated_objectives(session, cycle=9) == []
        assert ratings == [(KEY, 9, 4, 4, T2)]
        rated = [e for e in history(planned) if e[0] == "rated"]
        assert [e[5] for e in rated] == [
            {"rated_cycle": 9, "value": [None, 3], "effectiveness": [None, 4]},
            {"rated_cycle": 9, "value": [3, 4], "effectiveness": [4, 4]},
        ]

    def test_only_active_or_achieved_objectives_held_in_the_cycle_are_rated(
        self, planned: Store, program: Program
    ) -> None:
        write(planned, lambda s: add_objective(s, new=new(program), now=T0, actor="sec"))
        with pytest.raises(InputError, match=r"is proposed: only active or achieved objectives are rated$"):
            write(
                planned,
                lambda s: rate_objective(
                    s, key=KEY, cycle=9, value=3, effectiveness=3, note=None, now=T1, actor="ame"
                ),
            )
        with pytest.raises(InputError, match=r"is not held in cycle 8 \(cycles 9-9\)$"):
            write(
                planned,
                lambda s: rate_objective(
                    s, key=KEY, cycle=8, value=3, effectiveness=3, note=None, now=T1, actor="ame"
                ),
            )


def test_objectives_list_by_body(planned: Store, program: Program) -> None:
    write(planned, lambda s: add_objective(s, new=new(program), now=T0, actor="sec"))
    write(planned, lambda s: add_objective(s, new=new(program, key="sst-army/x"), now=T0, actor="sec"))
    with planned.session() as session:
        assert [r.key for r in list_objectives(session, body="sst-army")] == ["sst-army/x"]
        assert [r.key for r in list_objectives(session)] == ["sst-army/x", KEY]
        assert session.exec(select(ObjectiveRecord)).all()
