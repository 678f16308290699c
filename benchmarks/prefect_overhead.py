"""Figure 6 — Prefect's overhead: cycle 9 driven through every phase flow in Prefect's
ephemeral mode (plan-cycle, group-meetings, executive-session asked then approved,
observation-visit asked then approved, assessment, close-cycle, check-overdue; each with
its publish-calendars subflow, artifacts and events), against the same `cycle/` and
`calendars/` calls made in the same order without Prefect. The same deliverables are
handed in and the same gate decisions entered between the runs, in both.

The ephemeral server's start is timed apart (a first, empty flow). The overhead per task
run is the difference divided by the task runs the Prefect API recorded (flow runs,
subflows included, are counted and shown beside).

    python -m benchmarks.prefect_overhead --size full
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import arguments, header, temporary_home

OPEN = dt.date(2025, 9, 1)
AS_OF = dt.date(2026, 11, 25)
VISIT_DAY = dt.date(2026, 12, 15)
ASSESSMENT_DAY = dt.date(2027, 7, 15)
LAST_DAY = dt.date(2027, 8, 31)
NUMBER = 9
NOW = dt.datetime(2026, 11, 25, 15, 0, tzinfo=dt.UTC)
CHAIRS = ("usnorthcom", "sedena", "semar")
APA = "c9/gate/-/apa-validation"
EXERCISE = "c9/gate/-/exercise-selection"
ACTIVITIES = ("c9/activity/sst-army/combined-exercise-a", "c9/activity/sst-navy/combined-exercise-b")
"""What the bodies propose and the tri-chairs validate: two combined exercises of the second
year (A begins on the visit's template date, so choosing it leaves the plan as it was)."""
PAGE, MAX_PAGES = 200, 100
SIZES = {"small": False, "full": True}
"""whether to drive the whole cycle (small: plan-cycle and check-overdue only)"""


def isolate(home: Path) -> None:
    """A home of our own for Roundtable and for Prefect, before Prefect is imported."""
    (home / "prefect").mkdir(parents=True, exist_ok=True)
    os.environ["ROUNDTABLE_HOME"] = str(home / "roundtable")
    os.environ["PREFECT_HOME"] = str(home / "prefect")
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["DO_NOT_TRACK"] = "1"
    os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"
    os.environ.pop("PREFECT_API_URL", None)
    for name in ("ROUNDTABLE_CONFIG", "ROUNDTABLE_DATABASE_URL"):
        os.environ.pop(name, None)


# --- what people do between the runs, the same in both ---------------------------------------


def propose(ctx: Any, key: str, first: dt.date) -> None:
    """A body proposes a combined exercise of ten days for the APA."""
    from cycle.apa import Activity
    from cycle.items import ItemKey
    from cycle.operations import propose_activity
    from cycle.program import Localized

    activity = Activity(
        key=ItemKey.from_string(key),
        kind="combined-exercise",
        title=Localized(en=f"Exercise {key}", es=f"Ejercicio {key}"),
        first_day=first,
        last_day=first + dt.timedelta(days=9),
        host="sedena",
        line_of_effort="domain-control",
    )
    propose_activity(ctx, activity=activity, now=NOW, actor="bodies")


def submit(ctx: Any, *, phases: set[str]) -> None:
    """Hand in the phases' deliverables; a body's APA inputs after it has proposed."""
    from cycle.deliverable import Action, DeliverableState
    from cycle.operations import record
    from cycle.store.repository import list_deliverables

    with ctx.store.session() as session:
        pending = list_deliverables(session, cycle=NUMBER, states=[DeliverableState.pending])
    for view in pending:
        if view.item.phase.value in phases:
            if view.item.key.name == ctx.program.apa.inputs:
                propose(ctx, f"c{NUMBER}/activity/{view.item.body}/inputs", dt.date(2027, 2, 1))
            record(ctx, key=view.item.key.to_string(), action=Action.submit, actor="secretariat", now=NOW)


def prepare_session(ctx: Any) -> None:
    """Before the executive session: the two exercises proposed, the inputs handed in."""
    propose(ctx, ACTIVITIES[0], dt.date(2027, 4, 13))
    propose(ctx, ACTIVITIES[1], dt.date(2027, 6, 8))
    submit(ctx, phases={"executive-prep"})


def approve(ctx: Any, key: str, activities: tuple[str, ...]) -> None:
    from cycle.gates import GateDecision
    from cycle.progression import decide

    decision = GateDecision(approved=True, tri_chairs=CHAIRS, notes="", activities=activities)
    decide(ctx, key=key, decision=decision, now=NOW, actor="cli:secretariat")


# --- the same steps without Prefect ------------------------------------------------------------


class Plain:
    """Each flow's calls into cycle/ and calendars/, in its order, with no Prefect."""

    def __init__(self, ctx: Any, feeds: Path) -> None:
        self.ctx = ctx
        self.feeds = feeds

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def publish(self, as_of: dt.date) -> None:
        from calendars.catalogue import shipped_catalogue
        from calendars.export import export_feeds
        from cycle.store.reads import tracked_items

        self.ctx.store.require_ready()
        with self.ctx.store.session() as session:
            tracked = tracked_items(session, cycle=None)
        export_feeds(
            program=self.ctx.program,
            catalogue=shipped_catalogue(),
            tracked=tracked,
            out=self.feeds,
            as_of=as_of,
        )

    def status(self, number: int, as_of: dt.date) -> None:
        from cycle.progression import cycle_board

        cycle_board(self.ctx, number=number, as_of=as_of)

    def plan_cycle(self, as_of: dt.date) -> None:
        from cycle.operations import initialize
        from cycle.progression import open_cycle

        initialize(self.ctx, now=self.now(), actor="plain")
        open_cycle(self.ctx, number=NUMBER, now=self.now(), actor="plain")
        self.publish(as_of)
        self.status(NUMBER, as_of)

    def group_meetings(self, as_of: dt.date) -> None:
        from cycle.progression import group_meetings

        group_meetings(self.ctx, number=NUMBER, as_of=as_of, now=self.now(), actor="plain")
        self.publish(as_of)
        self.status(NUMBER, as_of)

    def gated(self, phase_name: str, as_of: dt.date) -> None:
        from cycle.gates import GateState
        from cycle.program import Phase
        from cycle.progression import ask, begin_phase, finish_phase

        phase = Phase(phase_name)
        step = begin_phase(
            self.ctx, number=NUMBER, phase=phase, allow_missing=False, now=self.now(), actor="plain"
        )
        if step.completed or not step.ready:
            self.status(NUMBER, as_of)
            return
        expires = self.now() + dt.timedelta(days=30)
        view, _ = ask(
            self.ctx, number=NUMBER, phase=phase, run=None, expires_at=expires, now=self.now(), actor="plain"
        )
        if view.state is not GateState.approved:
            self.status(NUMBER, as_of)
            return
        finish_phase(self.ctx, number=NUMBER, phase=phase, outcome={}, now=self.now(), actor="plain")
        self.publish(as_of)
        self.status(NUMBER, as_of)

    def assessment(self, as_of: dt.date) -> None:
        from cycle.program import Phase
        from cycle.progression import assess, begin_phase

        step = begin_phase(
            self.ctx,
            number=NUMBER,
            phase=Phase.assessment,
            allow_missing=False,
            now=self.now(),
            actor="plain",
        )
        if step.ready and not step.completed:
            assess(self.ctx, number=NUMBER, as_of=as_of, now=self.now(), actor="plain")
        self.publish(as_of)
        self.status(NUMBER, as_of)

    def close_cycle(self, as_of: dt.date) -> None:
        from cycle.progression import close_cycle, open_cycle

        close_cycle(self.ctx, number=NUMBER, as_of=as_of, now=self.now(), actor="plain")
        open_cycle(self.ctx, number=NUMBER + 1, now=self.now(), actor="plain")
        self.status(NUMBER + 1, as_of)
        self.publish(as_of)
        self.status(NUMBER, as_of)

    def check_overdue(self, as_of: dt.date) -> None:
        from cycle.operations import check_deadlines, notices_announced, record_notices
        from cycle.progression import expire

        expire(self.ctx, now=self.now(), actor="plain")
        check = check_deadlines(self.ctx, number=NUMBER, as_of=as_of)
        notices = record_notices(self.ctx, check=check, now=self.now(), actor="plain")
        notices_announced(self.ctx, ids=[n.id for n in notices], now=self.now())
        self.status(NUMBER, as_of)


# --- the drive ------------------------------------------------------------------------------------


Step = tuple[str, Callable[[], Any]]


def drive(steps: list[Step], between: dict[str, Callable[[], None]]) -> float:
    """Seconds spent in the steps (not in what people do between them)."""
    spent = 0.0
    for name, step in steps:
        if name in between:
            between[name]()
        started = time.perf_counter()
        step()
        spent += time.perf_counter() - started
    return spent


def steps_of(runner: Any, full: bool) -> list[Step]:
    """The flows in the order a cycle needs them (a name may repeat: asked, then approved)."""
    if not full:
        return [
            ("plan-cycle", lambda: runner.plan_cycle(OPEN)),
            ("check-overdue", lambda: runner.check_overdue(AS_OF)),
        ]
    return [
        ("plan-cycle", lambda: runner.plan_cycle(OPEN)),
        ("group-meetings", lambda: runner.group_meetings(AS_OF)),
        ("executive-session", lambda: runner.gated("executive-session", AS_OF)),
        ("executive-session again", lambda: runner.gated("executive-session", AS_OF)),
        ("observation-visit", lambda: runner.gated("observation-visit", VISIT_DAY)),
        ("observation-visit again", lambda: runner.gated("observation-visit", VISIT_DAY)),
        ("assessment", lambda: runner.assessment(ASSESSMENT_DAY)),
        ("close-cycle", lambda: runner.close_cycle(LAST_DAY)),
        ("check-overdue", lambda: runner.check_overdue(LAST_DAY)),
    ]


class Flows:
    """The phase flows themselves, called as a scheduler would (no deployment)."""

    def __init__(self) -> None:
        from flows import (
            assessment,
            check_overdue,
            close_cycle,
            executive_session,
            group_meetings,
            observation_visit,
            plan_cycle,
        )

        self.flows: dict[str, Callable[..., Any]] = {
            "plan-cycle": plan_cycle.plan_cycle,
            "group-meetings": group_meetings.group_meetings,
            "executive-session": executive_session.executive_session,
            "observation-visit": observation_visit.observation_visit,
            "assessment": assessment.assessment,
            "close-cycle": close_cycle.close_cycle,
            "check-overdue": check_overdue.check_overdue,
        }

    def run(self, name: str, as_of: dt.date) -> None:
        state = self.flows[name](cycle=NUMBER, as_of=as_of, return_state=True)
        if state.is_failed() or state.is_crashed():
            raise SystemExit(f"{name} ended {state.name}: {state.message}")

    def plan_cycle(self, as_of: dt.date) -> None:
        self.run("plan-cycle", as_of)

    def group_meetings(self, as_of: dt.date) -> None:
        self.run("group-meetings", as_of)

    def gated(self, name: str, as_of: dt.date) -> None:
        self.run(name, as_of)

    def assessment(self, as_of: dt.date) -> None:
        self.run("assessment", as_of)

    def close_cycle(self, as_of: dt.date) -> None:
        self.run("close-cycle", as_of)

    def check_overdue(self, as_of: dt.date) -> None:
        self.run("check-overdue", as_of)


def between_steps(ctx_of: Callable[[], Any]) -> dict[str, Callable[[], None]]:
    return {
        "executive-session": lambda: prepare_session(ctx_of()),
        "executive-session again": lambda: approve(ctx_of(), APA, ACTIVITIES),
        "observation-visit again": lambda: approve(ctx_of(), EXERCISE, ACTIVITIES[:1]),
        "assessment": lambda: submit(ctx_of(), phases={"observation-visit", "assessment"}),
    }


def count_runs() -> tuple[int, int]:
    """Task runs and flow runs the Prefect API holds (all ours: a fresh PREFECT_HOME)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        tasks = 0
        for page in range(MAX_PAGES):
            found = len(client.read_task_runs(limit=PAGE, offset=page * PAGE))
            tasks += found
            if found < PAGE:
                break
        return tasks, client.count_flow_runs()


def main() -> None:
    args = arguments(__doc__.splitlines()[0] if __doc__ else "")
    full = SIZES[args.size]
    header("Figure 6: Prefect's overhead over a whole cycle", args.size)
    with temporary_home() as home:
        isolate(home / "prefect-run")
        from prefect import flow

        import flows.common
        from cycle.context import open_context
        from cycle.settings import settings_from_env

        @flow(name="benchmark-warm-up")
        def warm_up() -> None:
            return None

        started = time.perf_counter()
        warm_up()
        startup = time.perf_counter() - started
        before = count_runs()
        with_prefect = drive(steps_of(Flows(), full), between_steps(flows.common.context))
        tasks, flow_runs = (after - already for after, already in zip(count_runs(), before, strict=True))
        flows.common.context().store.dispose()

        isolate(home / "plain-run")
        ctx = open_context(settings_from_env(os.environ))
        plain = Plain(ctx, home / "plain-run" / "roundtable" / "feeds")
        without = drive(steps_of(plain, full), between_steps(lambda: ctx))
        ctx.store.dispose()

    overhead = with_prefect - without
    print(f"ephemeral Prefect server start (first flow): {startup:.1f} s, apart from the figure")
    calls = len(steps_of(plain, full))
    print(f"{calls} flow calls: {flow_runs} flow runs (subflows included), {tasks} task runs")
    print(f"with Prefect: {with_prefect:.2f} s; the same calls without it: {without:.2f} s")
    print(
        f"figure 6: Prefect adds {overhead:.2f} s ({with_prefect / without:.2f}x), "
        f"{overhead / max(tasks, 1) * 1000:.0f} ms per task run "
        f"({overhead / max(tasks + flow_runs, 1) * 1000:.0f} ms per task or flow run)"
    )


if __name__ == "__main__":
    main()
