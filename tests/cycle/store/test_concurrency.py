"""Operators racing each other: several processes plan the same cycle at the same instant,
on SQLite and on PostgreSQL; the store ends with one copy of every item and no error."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import func, select

from cycle.context import Context, open_context
from cycle.deliverable import Action
from cycle.operations import initialize, record
from cycle.program import Phase
from cycle.progression import ask, cycle_board, open_cycle
from cycle.settings import Settings
from cycle.store.database import Store
from cycle.store.models import CycleRecord, DeliverableRecord, ItemRecord, NoticeRecord
from cycle.store.repository import change_log
from tests.apa import propose_inputs, propose_sample
from tests.conftest import SHIPPED
from tests.cycle.test_phases import STANDING_BODIES

pytestmark = pytest.mark.slow

T0 = dt.datetime(2026, 11, 25, 15, 0, tzinfo=dt.UTC)
AS_OF = dt.date(2026, 11, 25)
EXECUTIVE_INPUTS = [
    *(
        f"c9/deliverable/{body}/{paper}"
        for body in STANDING_BODIES
        for paper in ("apa-inputs", "annual-briefing")
    ),
    "c9/deliverable/-/delegation-roster",
    "c9/deliverable/-/read-ahead",
]

PLANNER = """
import datetime as dt, json, sys, time
from cycle.context import open_context
from cycle.operations import plan
from cycle.settings import settings_from_env
import os
ctx = open_context(settings_from_env(os.environ))
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
report, _ = plan(ctx, number=9, now=dt.datetime.now(dt.UTC), actor=sys.argv[2])
print(json.dumps({"created": len(report.created), "unchanged": report.unchanged}))
"""


def test_simultaneous_planners_leave_one_copy_of_every_item(store: Store, database_url: str) -> None:
    """Four processes planning cycle 9 at once: all succeed, 217 items stored once."""
    env = {**os.environ, "ROUNDTABLE_DATABASE_URL": database_url}
    start = time.time() + 4.0  # after every interpreter has imported and loaded the program
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", PLANNER, str(start), f"operator-{n}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        results.append(json.loads(out))
    assert sum(r["created"] for r in results) == 217
    assert sorted(r["created"] + r["unchanged"] for r in results) == [217] * 4
    with store.session() as session:
        assert session.exec(select(func.count()).select_from(ItemRecord)).one() == 217
        assert session.exec(select(func.count()).select_from(DeliverableRecord)).one() == 146
        assert session.exec(select(func.count()).select_from(CycleRecord)).one() == 1
    assert logged(store, "body-synced", "cycle-opened") == {
        **{("body-synced", None): 15},
        ("cycle-opened", None): 1,
    }
    planned = logged(store, "planned")
    assert (len(planned), set(planned.values())) == (217, {1})


RACER = """
import datetime as dt, json, os, sys, time
from cycle.deliverable import Action
from cycle.gates import GateDecision
from cycle.context import open_context
from cycle.operations import check_deadlines, notices_announced, record, record_notices
from cycle.program import Phase
from cycle.progression import begin_phase, decide, expire, finish_phase, open_cycle
from cycle.settings import settings_from_env

ctx = open_context(settings_from_env(os.environ))
step, start, actor = sys.argv[1], float(sys.argv[2]), sys.argv[3]
keys = sys.argv[4:]
time.sleep(max(0.0, start - time.time()))
now = dt.datetime.now(dt.UTC)
said = []
if step == "plan-cycle":
    said += open_cycle(ctx, number=9, now=now, actor=actor)[1].announcements
elif step == "executive-session":
    phase = Phase.executive_session
    said += begin_phase(ctx, number=9, phase=phase, allow_missing=False, now=now, actor=actor).announcements
    activities = ("c9/activity/sst-army/fuerzas-amigas-2027",)
    chairs = ("sedena", "semar", "usnorthcom")
    approved = GateDecision(approved=True, tri_chairs=chairs, activities=activities)
    said += decide(ctx, key="c9/gate/-/apa-validation", decision=approved, now=now, actor=actor)[1]
    outcome = {"validated_activities": list(activities)}
    said += finish_phase(ctx, number=9, phase=phase, outcome=outcome, now=now, actor=actor).announcements
elif step == "submit":
    for key in keys:
        record(ctx, key=key, action=Action.submit, actor=actor, now=dt.datetime.now(dt.UTC))
elif step == "check-overdue":  # what the flow does: time out requests, record and announce notices
    for _ in range(int(keys[0])):
        said += expire(ctx, now=dt.datetime.now(dt.UTC), actor=actor)
        check = check_deadlines(ctx, number=9, as_of=dt.date(2026, 11, 25))
        notices = record_notices(ctx, check=check, now=dt.datetime.now(dt.UTC), actor=actor)
        notices_announced(ctx, ids=[n.id for n in notices], now=dt.datetime.now(dt.UTC))
print(json.dumps([[a.name, a.phase.value] for a in said]))
"""


def race(database_url: str, *runs: list[str]) -> list[list[list[str]]]:
    """Start one process per run at the same instant; each must end without an error.
    Returns what each announced."""
    env = {**os.environ, "ROUNDTABLE_DATABASE_URL": database_url}
    start = time.time() + 4.0  # after every interpreter has imported and loaded the program
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, step, str(start), f"operator-{n}", *rest],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n, (step, *rest) in enumerate(runs)
    ]
    said = []
    for process in processes:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err
        said.append(json.loads(out))
    return said


@pytest.fixture
def ctx(store: Store, database_url: str, tmp_path: Path) -> Iterator[Context]:
    """The shipped program over the test's (migrated, empty) store."""
    del store
    context = open_context(Settings(home=tmp_path, config_path=SHIPPED, database_url=database_url))
    yield context
    context.store.dispose()


def logged(store: Store, *actions: str) -> Counter[tuple[str, str | None]]:
    """How often each action was logged, by item or phase."""
    with store.session() as session:
        rows = change_log(session)
    return Counter(
        (row.action, row.item_key or json.loads(row.detail).get("phase"))
        for row in rows
        if row.action in actions
    )


PHASE_LOG = ("phase-opened", "phase-completed", "gate-approved")


class TestTwoRunsOfAPhaseAtOnce:
    def test_plan_cycle_opens_the_cycle_once(self, store: Store, database_url: str, ctx: Context) -> None:
        """Three plan-cycle steps at once: each phase opened or completed, and announced, once."""
        initialize(ctx, now=T0, actor="cli:test")
        said = race(database_url, ["plan-cycle"], ["plan-cycle"], ["plan-cycle"])
        assert sorted(a for run in said for a in run) == [
            ["phase.completed", "opening"],
            ["phase.started", "group-meetings"],
            ["phase.started", "opening"],
        ]
        assert logged(store, *PHASE_LOG) == {
            ("phase-opened", "opening"): 1,
            ("phase-opened", "group-meetings"): 1,
            ("phase-completed", "opening"): 1,
        }

    def test_executive_session_records_the_session_once(
        self, store: Store, database_url: str, ctx: Context
    ) -> None:
        """Three executive-session steps at once (begin, decide, complete): one decision,
        each phase step once, and nothing announced twice."""
        open_cycle(ctx, number=9, now=T0, actor="prefect")
        propose_sample(ctx)
        propose_inputs(ctx, EXECUTIVE_INPUTS)
        for key in EXECUTIVE_INPUTS:
            record(ctx, key=key, action=Action.submit, actor="secretariat", now=T0)
        said = race(database_url, ["executive-session"], ["executive-session"], ["executive-session"])
        announced = [tuple(a) for run in said for a in run]
        assert sorted(announced) == sorted(
            {
                ("phase.started", "executive-prep"),
                ("phase.completed", "executive-prep"),
                ("phase.started", "executive-session"),
                ("gate.decided", "executive-session"),
                ("phase.completed", "executive-session"),
                ("phase.started", "observation-visit"),
            }
        )
        assert logged(store, *PHASE_LOG) == {
            ("phase-opened", "opening"): 1,
            ("phase-opened", "group-meetings"): 1,
            ("phase-completed", "opening"): 1,
            ("phase-opened", "executive-prep"): 1,
            ("phase-completed", "executive-prep"): 1,
            ("phase-opened", "executive-session"): 1,
            ("gate-approved", "c9/gate/-/apa-validation"): 1,
            ("phase-completed", "executive-session"): 1,
            ("phase-opened", "observation-visit"): 1,
        }


def test_check_overdue_racing_submissions_loses_no_submission(
    store: Store, database_url: str, ctx: Context
) -> None:
    """One coordinator submits all but three late deliverables while two overdue checks run
    (time out a gate request, record and announce reminders and escalations): every
    submission is kept and logged once, every notice given once, and only the three that
    were never handed in are late after. The three hold notices whichever process wins."""
    open_cycle(ctx, number=9, now=T0, actor="prefect")
    ask(ctx, number=9, phase=Phase.executive_session, run="r1", expires_at=T0, now=T0, actor="prefect")
    late = [o.item.key.to_string() for o in cycle_board(ctx, number=9, as_of=AS_OF).status.overdue]
    assert len(late) == 97
    propose_inputs(ctx, late)
    kept_back, handed_in = late[:3], late[3:]
    said = race(database_url, ["submit", *handed_in], ["check-overdue", "15"], ["check-overdue", "15"])
    assert sorted(a for run in said for a in run) == [["gate.timed-out", "executive-session"]]
    assert logged(store, "deliverable-submit", "gate-timed-out") == {
        **{("deliverable-submit", key): 1 for key in handed_in},
        ("gate-timed-out", "c9/gate/-/apa-validation"): 1,
    }
    still_late = cycle_board(ctx, number=9, as_of=AS_OF).status.overdue
    assert sorted(o.item.key.to_string() for o in still_late) == sorted(kept_back)
    with store.session() as session:
        notices = list(session.exec(select(NoticeRecord)))
        noticed = {item.key for n in notices if (item := session.get(ItemRecord, n.item_id))}
    given = logged(store, "notice-overdue", "notice-escalated", "notice-due-soon")
    assert set(kept_back) <= noticed
    assert sum(given.values()) == len(notices)
    assert [n.id for n in notices if n.announced_at is None] == []
