"""plan-cycle: plan a cycle into the store and open it.

Planning is idempotent: new items are added, moved ones revised (their SEQUENCE grows),
dropped ones cancelled. The cycle's opening is completed and its group meetings begin.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow, get_run_logger

from cycle.operations import initialize
from cycle.program import Phase
from cycle.progression import StepResult, open_cycle
from cycle.store.repository import PlanReport
from flows.common import (
    ACTOR,
    announce,
    context,
    label_run,
    now,
    publish_status,
    resolve,
    resource,
    run_name,
    store_task,
)
from flows.publish_calendars import publish_calendars


@store_task(name="migrate-store")
def migrate_store() -> str | None:
    """Create or migrate the store and load the program's bodies (safe to repeat)."""
    return initialize(context(), now=now(), actor=ACTOR).revision_after


@store_task(name="plan-into-store")
def plan_into_store(number: int) -> tuple[PlanReport, StepResult]:
    report, step = open_cycle(context(), number=number, now=now(), actor=ACTOR)
    announce(step.announcements)
    return report, step


@flow(name="plan-cycle", flow_run_name=run_name("plan-cycle"))
def plan_cycle(cycle: int | None = None, as_of: dt.date | None = None) -> dict[str, Any]:
    """Plan cycle `cycle` (default: the one open on `as_of`), open it, publish it.

    Args:
        cycle: The cycle's number (default: the cycle open on as_of).
        as_of: The day the run is about, as YYYY-MM-DD (default: today).
    """
    number, day = resolve(cycle, as_of)
    label_run(number, Phase.opening.value)
    migrate_store()
    report, _ = plan_into_store(number)
    changes = {
        "created": len(report.created),
        "updated": len(report.updated),
        "cancelled": len(report.cancelled),
        "restored": len(report.restored),
        "unchanged": report.unchanged,
    }
    if report.changed:
        from prefect.events import emit_event

        emit_event(event="roundtable.plan.changed", resource=resource(number), payload=changes)
    get_run_logger().info("cycle %s planned: %s", number, changes)
    publish_calendars(as_of=day)
    return {"cycle": number, "changes": changes, "status": publish_status(number, day)}
