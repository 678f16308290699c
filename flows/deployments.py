"""Every flow as a deployment, with its schedule: what `roundtable serve` and
`roundtable deploy` publish.

- check-overdue: daily at 07:00 America/Mexico_City.
- publish-calendars: hourly, and whenever plan-cycle reports `roundtable.plan.changed`.
- the phase flows: on demand, and at their phase's planned start in every planned cycle
  (07:00 Mexico City on that day); plan-cycle at each cycle's opening, close-cycle on its
  last day. Schedules are read from the store when the deployments are built: restart
  `roundtable serve` after a new cycle is planned to schedule its phases.

Each deployment is named `roundtable`, so `prefect deployment run executive-session/roundtable`
triggers one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from prefect import Flow
from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule, RRuleSchedule
from prefect.deployments.runner import RunnerDeployment
from prefect.events import DeploymentEventTrigger

from cycle.context import Context
from cycle.items import ItemKind
from cycle.program import Phase
from cycle.store.reads import tracked_items
from flows.assessment import assessment
from flows.check_overdue import check_overdue
from flows.close_cycle import close_cycle
from flows.executive_session import executive_session
from flows.group_meetings import group_meetings
from flows.observation_visit import observation_visit
from flows.plan_cycle import plan_cycle
from flows.publish_calendars import publish_calendars
from flows.recording import amend_apa, record_deliverable, record_objective_progress

DEPLOYMENT = "roundtable"
SCHEDULE_ZONE = "America/Mexico_City"
RUN_AT = dt.time(7, 0)

FLOWS: dict[str, Flow[Any, Any]] = {
    "plan-cycle": plan_cycle,
    "group-meetings": group_meetings,
    "executive-session": executive_session,
    "observation-visit": observation_visit,
    "assessment": assessment,
    "close-cycle": close_cycle,
    "check-overdue": check_overdue,
    "publish-calendars": publish_calendars,
}
"""Every flow by its name (the public contract in DESIGN.md)."""

PHASE_FLOWS: dict[Phase, str] = {
    Phase.opening: "plan-cycle",
    Phase.group_meetings: "group-meetings",
    Phase.executive_prep: "executive-session",
    Phase.executive_session: "executive-session",
    Phase.observation_visit: "observation-visit",
    Phase.assessment: "assessment",
    Phase.close_out: "close-cycle",
}
"""The flow that does each phase's work (the executive session's flow checks its
preparation, which has no flow of its own)."""


SCHEDULED_PHASES = (
    Phase.opening,
    Phase.group_meetings,
    Phase.executive_session,
    Phase.observation_visit,
    Phase.assessment,
    Phase.close_out,
)


def planned_starts(ctx: Context) -> dict[str, list[dt.date]]:
    """The days each phase flow is due to run: its phase's first day in every planned cycle."""
    ctx.store.require_ready()
    with ctx.store.session() as session:
        tracked = tracked_items(session, cycle=None)
    starts: dict[str, list[dt.date]] = defaultdict(list)
    for t in tracked:
        item = t.item
        if t.active and item.kind is ItemKind.phase and item.phase in SCHEDULED_PHASES and item.first_day:
            starts[PHASE_FLOWS[item.phase]].append(item.first_day)
    return {name: sorted(set(days)) for name, days in starts.items()}


def on_days(days: Sequence[dt.date]) -> RRuleSchedule | None:
    """A schedule that fires at 07:00 Mexico City time on each of `days`."""
    if not days:
        return None
    stamps = [dt.datetime.combine(day, RUN_AT).strftime("%Y%m%dT%H%M%S") for day in days]
    return RRuleSchedule(rrule=f"DTSTART:{stamps[0]}\nRDATE:{','.join(stamps)}", timezone=SCHEDULE_ZONE)


def build_deployments(ctx: Context) -> list[RunnerDeployment]:
    """Every flow as a deployment named `roundtable`, with its schedule and trigger."""
    starts = planned_starts(ctx)
    deployments = []
    for name, flow in FLOWS.items():
        schedules: list[Any] = []
        triggers: list[Any] = []
        if name == "check-overdue":
            schedules.append(CronSchedule(cron="0 7 * * *", timezone=SCHEDULE_ZONE))
        elif name == "publish-calendars":
            schedules.append(IntervalSchedule(interval=dt.timedelta(hours=1)))
            triggers.append(
                DeploymentEventTrigger(
                    name="publish when the plan changes", expect={"roundtable.plan.changed"}
                )
            )
        else:
            schedule = on_days(starts.get(name, []))
            if schedule is not None:
                schedules.append(schedule)
        deployment = flow.to_deployment(
            name=DEPLOYMENT,
            description=flow.description,
            tags=["roundtable", f"flow:{name}"],
            schedules=schedules,
            triggers=triggers,
            # Two runs of one flow never run at once: a second waits for the slot. A gate
            # run that suspends gives its slot back (Prefect releases it on the way to
            # Paused), so waiting for the tri-chairs blocks no one.
            concurrency_limit=1,
        )
        assert isinstance(deployment, RunnerDeployment)  # called from sync code: not a coroutine
        deployments.append(deployment)
    return deployments


def deploy_to_pool(ctx: Context, *, work_pool: str) -> dict[str, str]:
    """Register every deployment with a process work pool. Workers import the flows by
    module path, so each worker machine needs Roundtable installed, not a copy of a
    directory."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    from cycle.errors import InputError

    with get_client(sync_client=True) as client:
        try:
            pool = client.read_work_pool(work_pool)
        except ObjectNotFound:
            raise InputError(
                f"no work pool {work_pool!r}: create it with "
                f"`prefect work-pool create {work_pool} --type process`"
            ) from None
    if pool.type != "process":
        raise InputError(f"work pool {work_pool!r} is of type {pool.type!r}; Roundtable needs a process pool")
    ids = {}
    for name, deployment in zip(FLOWS, build_deployments(ctx), strict=True):
        flow = FLOWS[name]
        deployment.entrypoint = f"{flow.fn.__module__}.{flow.fn.__name__}"
        ids[name] = str(deployment.apply(work_pool_name=work_pool))
    return ids


# --- recording from the Prefect UI (issue 8) ---------------------------------------------
# On demand only (no schedule): their typed parameters are the form the UI shows.

RECORDING_FLOWS: dict[str, Flow[Any, Any]] = {
    "record-deliverable": record_deliverable,
    "record-objective-progress": record_objective_progress,
    "amend-apa": amend_apa,
}
FLOWS.update(RECORDING_FLOWS)
