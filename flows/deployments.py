"""Every flow as a deployment: what `roundtable serve` and `roundtable deploy` publish.

Each deployment is named by its title (`flows.catalog`), e.g.
`executive-session/Executive session`, and carries a description.

- check-overdue: daily at 07:00 America/Mexico_City.
- publish-calendars: hourly, and whenever a flow reports `roundtable.plan.changed`.
- the phase flows: on demand, and at their phase's planned start in every planned cycle,
  as scheduled flow runs that follow the plan (`flows.schedules`), not as a schedule of
  the deployment: a schedule would be read from the store once, when serving starts.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from prefect import Flow
from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule
from prefect.deployments.runner import RunnerDeployment
from prefect.events import DeploymentEventTrigger

from cycle.context import Context
from cycle.program import Phase
from flows.assessment import assessment
from flows.catalog import DEPLOYMENTS, LEGACY_DEPLOYMENT, SCHEDULE_ZONE, START_TIME
from flows.check_overdue import check_overdue
from flows.close_cycle import close_cycle
from flows.executive_session import executive_session
from flows.group_meetings import group_meetings
from flows.observation_visit import observation_visit
from flows.plan_cycle import plan_cycle
from flows.publish_calendars import publish_calendars
from flows.recording import amend_apa, record_deliverable, record_objective_progress

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
"""Every flow by its name (the public contract in docs/operating.md)."""

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


def build_deployments() -> list[RunnerDeployment]:
    """Every flow as a deployment named by its title, with its schedule and trigger."""
    deployments = []
    for name, flow in FLOWS.items():
        spec = DEPLOYMENTS[name]
        schedules: list[Any] = []
        triggers: list[Any] = []
        if name == "check-overdue":
            at = f"{START_TIME.minute} {START_TIME.hour} * * *"
            schedules.append(CronSchedule(cron=at, timezone=SCHEDULE_ZONE))
        elif name == "publish-calendars":
            schedules.append(IntervalSchedule(interval=dt.timedelta(hours=1)))
            triggers.append(
                DeploymentEventTrigger(
                    name="publish when the plan changes", expect={"roundtable.plan.changed"}
                )
            )
        deployment = flow.to_deployment(
            name=spec.title,
            description=spec.description,
            tags=["roundtable", f"flow:{name}"],
            schedules=schedules,
            triggers=triggers,
            # Two runs of one flow never run at once: a second waits for the slot. A gate
            # run that suspends gives its slot back (Prefect releases it on the way to
            # Paused), so waiting for the tri-chairs blocks no one.
            concurrency_limit=1,
        )
        assert isinstance(deployment, RunnerDeployment)  # called from sync code: not a coroutine
        plain_optionals(deployment._parameter_openapi_schema.properties)
        deployments.append(deployment)
    return deployments


def plain_optionals(properties: dict[str, Any]) -> None:
    """Give each optional parameter (`cycle: int | None = None`) its own type in the schema,
    so that the UI's form shows a plain field, left empty for the default, rather than a
    choice between a type and "None" (in place). Its `null` default goes too: the form
    leaves an empty field out, and the flow's own default (None) applies."""
    for field in properties.values():
        kinds = field.get("anyOf")
        if isinstance(kinds, list) and len(kinds) == 2 and {"type": "null"} in kinds:
            [kind] = [k for k in kinds if k != {"type": "null"}]
            del field["anyOf"]
            field.update(kind)
            if field.get("default", ...) is None:
                del field["default"]


def remove_legacy_deployments() -> list[str]:
    """Delete the `<flow>/roundtable` deployments that older versions published, so the
    server lists each job once, by its title. Their past runs stay (without a deployment)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    removed = []
    with get_client(sync_client=True) as client:
        for name in FLOWS:
            try:
                old = client.read_deployment_by_name(f"{name}/{LEGACY_DEPLOYMENT}")
            except ObjectNotFound:
                continue
            client.delete_deployment(old.id)
            removed.append(f"{name}/{LEGACY_DEPLOYMENT}")
    return removed


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
    remove_legacy_deployments()
    ids = {}
    for name, deployment in zip(FLOWS, build_deployments(), strict=True):
        flow = FLOWS[name]
        deployment.entrypoint = f"{flow.fn.__module__}.{flow.fn.__name__}"
        ids[name] = str(deployment.apply(work_pool_name=work_pool))
    from flows.choices import offer_deliverables
    from flows.schedules import follow_plan

    with get_client(sync_client=True) as client:
        now = dt.datetime.now(dt.UTC)
        follow_plan(ctx, client, now=now)
        offer_deliverables(ctx, client, today=now.astimezone(zoneinfo.ZoneInfo(SCHEDULE_ZONE)).date())
    return ids


# On demand only (no schedule): their typed parameters are the form the UI shows.

RECORDING_FLOWS: dict[str, Flow[Any, Any]] = {
    "record-deliverable": record_deliverable,
    "record-objective-progress": record_objective_progress,
    "amend-apa": amend_apa,
}
FLOWS.update(RECORDING_FLOWS)
