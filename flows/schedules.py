"""Phase starts as scheduled flow runs that follow the plan.

Each phase flow's deployment gets one scheduled flow run per planned start that is still
ahead: named `cycle-{n}-{flow}`, for cycle `n`, at 07:00 Mexico City on the phase's first
day, tagged `roundtable:planned-start`. The Prefect UI lists them under Runs → Upcoming and
on each deployment's Upcoming tab with their date, time and zone.

`follow_plan` makes the server agree with the store, and is safe to call at any time: a
start that moved moves its run, a start that left the plan has its run deleted, a new one
gets a run, and nothing changes when nothing did. Runs triggered by hand are never touched.

A start that has passed while nobody ran the phase (see `cycle.starts`) is **missed**: the
phase is not run on its own (a phase whose inputs are missing or that waits for the
tri-chairs needs an operator), it is flagged. The deployment gets one Cancelled run named
`Missed` for it, with a message saying what to do, and the event `roundtable.phase.missed`
is emitted once, for automations to notify someone.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.events import emit_event
from prefect.exceptions import ObjectNotFound
from prefect.states import Cancelled, Scheduled

from cycle.context import Context
from cycle.cycles import cycle_on
from cycle.errors import StoreError
from cycle.starts import PhaseStart, phase_starts, planned_cycles, store_version
from flows.catalog import DEPLOYMENTS, SCHEDULE_ZONE, START_TIME
from flows.catalog import STARTS as PHASE_FLOWS
from flows.common import related_phase, resource

PLANNED_TAG = "roundtable:planned-start"
MISSED = "Missed"
LOG = logging.getLogger("roundtable.schedules")


@dataclass
class FollowReport:
    """What one pass changed on the server."""

    created: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.moved or self.removed or self.missed)


def start_time(day: dt.date) -> dt.datetime:
    """When a phase that starts on `day` is run: 07:00 in Mexico City."""
    return dt.datetime.combine(day, START_TIME, tzinfo=zoneinfo.ZoneInfo(SCHEDULE_ZONE))


def start_message(start: PhaseStart, at: dt.datetime) -> str:
    """What the run's page says of it: the phase and its start in Mexico City time (the UI
    shows the time in the viewer's own zone)."""
    return f"planned start of cycle {start.cycle}'s {start.phase.value}: {at:%Y-%m-%d %H:%M} {SCHEDULE_ZONE}"


def run_name(start: PhaseStart) -> str:
    return f"cycle-{start.cycle}-{PHASE_FLOWS[start.phase]}"


def _cycle_of(run: FlowRun) -> int | None:
    for tag in run.tags:
        if tag.startswith("cycle:") and tag[6:].isdigit():
            return int(tag[6:])
    return None


def _scheduled_at(run: FlowRun) -> dt.datetime | None:
    state = run.state
    if state is None or state.type is not StateType.SCHEDULED:
        return None
    return state.state_details.scheduled_time


def _deployment_ids(client: SyncPrefectClient) -> dict[str, UUID]:
    """The phase flows' deployments on the server, by flow name (those not served yet
    are left out: their starts are scheduled once they are)."""
    ids = {}
    for flow in set(PHASE_FLOWS.values()):
        try:
            ids[flow] = client.read_deployment_by_name(f"{flow}/{DEPLOYMENTS[flow].title}").id
        except ObjectNotFound:
            continue
    return ids


def _runs_by_start(client: SyncPrefectClient, ids: dict[str, UUID]) -> dict[tuple[str, int], list[FlowRun]]:
    """Every run of the phase deployments that names its cycle, by (flow, cycle)."""
    flows = {deployment: flow for flow, deployment in ids.items()}
    found: dict[tuple[str, int], list[FlowRun]] = defaultdict(list)
    offset = 0
    while True:
        page = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=list(ids.values()))),
            offset=offset,
            limit=200,
        )
        for run in page:
            number = _cycle_of(run)
            if number is not None and run.deployment_id in flows:
                found[(flows[run.deployment_id], number)].append(run)
        if len(page) < 200:
            return found
        offset += len(page)


def follow_plan(ctx: Context, client: SyncPrefectClient, *, now: dt.datetime) -> FollowReport:
    """Make the scheduled phase runs on the server agree with the plan in the store."""
    report = FollowReport()
    ids = _deployment_ids(client)
    if not ids:
        return report
    as_of = now.astimezone(zoneinfo.ZoneInfo(SCHEDULE_ZONE)).date()
    starts = [s for s in phase_starts(ctx, phases=PHASE_FLOWS, as_of=as_of) if PHASE_FLOWS[s.phase] in ids]
    runs = _runs_by_start(client, ids)
    wanted: set[tuple[str, int]] = set()
    for start in starts:
        flow = PHASE_FLOWS[start.phase]
        key = (flow, start.cycle)
        at = start_time(start.day)
        mine = [r for r in runs.get(key, []) if PLANNED_TAG in r.tags]
        waiting = [r for r in mine if _scheduled_at(r) is not None]
        if at > now:
            wanted.add(key)
            _keep_one_start(client, ids[flow], start, at, waiting, report)
        elif start.missed and not runs.get(key):
            _flag_missed(client, ids[flow], start, report)
    for key, found in runs.items():
        if key in wanted:
            continue
        for run in found:
            scheduled = _scheduled_at(run)
            if PLANNED_TAG in run.tags and scheduled is not None and scheduled > now:
                client.delete_flow_run(run.id)
                report.removed.append(run.name)
    if report.changed:
        LOG.info(
            "phase starts: %d scheduled, %d moved, %d removed, %d missed",
            len(report.created),
            len(report.moved),
            len(report.removed),
            len(report.missed),
        )
    return report


def _keep_one_start(
    client: SyncPrefectClient,
    deployment_id: UUID,
    start: PhaseStart,
    at: dt.datetime,
    waiting: list[FlowRun],
    report: FollowReport,
) -> None:
    """One scheduled run at `at` for the start: create it, or move the one there is."""
    for extra in waiting[1:]:
        client.delete_flow_run(extra.id)
        report.removed.append(extra.name)
    if not waiting:
        client.create_flow_run_from_deployment(
            deployment_id,
            parameters={"cycle": start.cycle},
            name=run_name(start),
            tags=[PLANNED_TAG, f"cycle:{start.cycle}", f"phase:{start.phase.value}"],
            state=Scheduled(scheduled_time=at, message=start_message(start, at)),
        )
        report.created.append(run_name(start))
        return
    run = waiting[0]
    if _scheduled_at(run) != at:
        client.set_flow_run_state(
            run.id,
            Scheduled(
                scheduled_time=at, message=f"planned start of {start.phase.value}, moved with the plan"
            ),
            force=True,
        )
        report.moved.append(run_name(start))


def missed_message(start: PhaseStart) -> str:
    flow = PHASE_FLOWS[start.phase]
    return (
        f"cycle {start.cycle}: {start.phase.value} was due to start on {start.day} and nobody ran it; "
        f"run the deployment {flow}/{DEPLOYMENTS[flow].title} to take it up now"
    )


def _flag_missed(
    client: SyncPrefectClient, deployment_id: UUID, start: PhaseStart, report: FollowReport
) -> None:
    message = missed_message(start)
    client.create_flow_run_from_deployment(
        deployment_id,
        parameters={"cycle": start.cycle},
        name=run_name(start),
        tags=[PLANNED_TAG, f"cycle:{start.cycle}", f"phase:{start.phase.value}"],
        state=Cancelled(name=MISSED, message=message),
    )
    payload: dict[str, Any] = {
        "cycle": start.cycle,
        "phase": start.phase.value,
        "flow": PHASE_FLOWS[start.phase],
        "due": start.day.isoformat(),
        "message": message,
    }
    emit_event(
        event="roundtable.phase.missed",
        resource=resource(start.cycle),
        related=[related_phase(start.cycle, start.phase.value)],
        payload=payload,
    )
    report.missed.append(run_name(start))


class PlanFollower:
    """Keeps the server in step with the store from a long-running process (`roundtable
    serve`): whenever the store changes (a flow, the CLI, an import, in any process) or the
    day does, it follows the plan, lists the open deliverables in the *Record a
    deliverable* form (`flows.choices`) and refreshes the open cycle's artifacts. It looks every
    `every` seconds; the store's version is one small query. A form published anew (serve
    starting, `deploy`) loses its list; the next look gives it back."""

    def __init__(self, ctx: Context, *, every: float = 5.0) -> None:
        self.ctx = ctx
        self.every = every
        self._seen: tuple[int, dt.date] | None = None
        self._form_at: dt.datetime | None = None
        """When the recording form was last given its list (the deployment's `updated`)."""

    def step(self, now: dt.datetime) -> FollowReport | None:
        """One look: None when nothing changed since the last one that did its work."""
        from prefect.client.orchestration import get_client

        from flows.choices import form_published_at, offer_deliverables
        from flows.common import publish_status

        try:
            self.ctx.store.require_ready()
        except StoreError:
            return None  # not initialised yet: look again
        seen = (store_version(self.ctx), now.astimezone(zoneinfo.ZoneInfo(SCHEDULE_ZONE)).date())
        with get_client(sync_client=True) as client:
            if seen == self._seen:
                if form_published_at(client) != self._form_at:  # serve or deploy published it anew
                    self._form_at = offer_deliverables(self.ctx, client, today=seen[1])
                return None
            if not _deployment_ids(client):
                return None  # not served yet: look again
            report = follow_plan(self.ctx, client, now=now)
            self._form_at = offer_deliverables(self.ctx, client, today=seen[1])
            if self._form_at is None:
                return report  # the recording deployment is not served yet: look again
        current = cycle_on(self.ctx.program, seen[1])
        if current is not None and current.number in planned_cycles(self.ctx):
            publish_status(current.number, seen[1])  # a task run of its own: artifacts need a run
        self._seen = seen
        return report

    def run(self, stop: threading.Event) -> None:
        """Look until `stop` is set. A failed look (the server restarting, the store busy)
        is logged and tried again at the next one."""
        while True:
            try:
                self.step(dt.datetime.now(dt.UTC))
            except Exception:  # the follower must outlive a passing fault; logged with its traceback
                LOG.exception("following the plan failed; trying again in %.0f s", self.every)
            if stop.wait(self.every):
                return

    def start(self) -> threading.Event:
        """Run in a daemon thread; set the returned event to stop it."""
        stop = threading.Event()
        threading.Thread(target=self.run, args=(stop,), name="roundtable-plan-follower", daemon=True).start()
        return stop
