"""assessment: the AM&E group's assessment of the cycle.

Needs the observation visit's report in (in a 24-month cycle); attaches the AM&E figures
(on-time rate, days late and open items per body, line of effort and cycle, with the trend
as a chart) as the `cycle-{n}-ame-report` markdown artifact; completes once the AM&E
assessment report is in, and moves the cycle to its close-out.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.client.schemas.objects import State
from prefect.states import Completed

from cycle.operations import ame_report
from cycle.program import Phase
from cycle.progression import StepResult, assess
from flows.common import (
    ACTOR,
    announce,
    context,
    label_run,
    now,
    publish_status,
    resolve,
    run_name,
    store_task,
)
from flows.gates import begin, not_ready
from flows.publish_calendars import publish_calendars
from flows.report import report_markdown


@store_task(name="record-assessment")
def record_assessment(number: int, as_of: dt.date) -> StepResult:
    step = assess(context(), number=number, as_of=as_of, now=now(), actor=ACTOR)
    announce(step.announcements)
    return step


@store_task(name="attach-ame-report")
def attach_ame_report(number: int, as_of: dt.date) -> dict[str, Any]:
    """The AM&E figures of the cycle as a markdown artifact the UI shows with its chart."""
    result = ame_report(context(), number=number, as_of=as_of)
    create_markdown_artifact(
        key=f"cycle-{number}-ame-report",
        markdown=report_markdown(result),
        description=f"Cycle {number}: deliverables on time, as of {as_of}",
    )
    totals = result.totals
    return {"on_time_rate": totals.on_time_rate, "overdue": totals.overdue, "open": totals.open}


@flow(name="assessment", flow_run_name=run_name("assessment"))
def assessment(
    cycle: int | None = None, as_of: dt.date | None = None, allow_missing: bool = False
) -> State[Any]:
    """Open the assessment and complete it once the AM&E report is in."""
    number, day = resolve(cycle, as_of)
    label_run(number, Phase.assessment.value)
    step = begin(number, Phase.assessment, allow_missing)
    if not step.ready:
        publish_status(number, day)
        return not_ready(step)
    if not step.completed:
        step = record_assessment(number, day)
    attach_ame_report(number, day)
    publish_calendars(as_of=day)
    publish_status(number, day)
    if step.completed:
        return Completed(message=f"cycle {number}: assessment completed", data=step.outcome)
    waiting = ", ".join(step.outcome.get("waiting_for", []))
    return Completed(name="Waiting", message=f"cycle {number}: assessment open, waiting for {waiting}")
