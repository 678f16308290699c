"""group-meetings: the standing bodies' meetings through both years.

Records which meetings have been held and which of their agendas and minutes are late,
opens the executive session's preparation when its time comes, and completes the phase
once the last meeting is past.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow
from prefect.client.schemas.objects import State
from prefect.states import Completed

from cycle.program import Phase
from cycle.progression import StepResult
from cycle.progression import group_meetings as record_meetings
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
from flows.publish_calendars import publish_calendars


@store_task(name="record-meetings")
def record_meetings_held(number: int, as_of: dt.date) -> StepResult:
    step = record_meetings(context(), number=number, as_of=as_of, now=now(), actor=ACTOR)
    announce(step.announcements)
    return step


@flow(name="group-meetings", flow_run_name=run_name("group-meetings"))
def group_meetings(cycle: int | None = None, as_of: dt.date | None = None) -> State[dict[str, Any]]:
    """Record the group meetings held by `as_of` and the papers they still owe.

    Args:
        cycle: The cycle's number (default: the cycle open on as_of).
        as_of: Meetings that ended before this day (YYYY-MM-DD; default: today) count as held.
    """
    number, day = resolve(cycle, as_of)
    label_run(number, Phase.group_meetings.value)
    step = record_meetings_held(number, day)
    publish_calendars(as_of=day)
    publish_status(number, day)
    held, total = step.outcome["meetings_held"], step.outcome["meetings_total"]
    late = len(step.outcome["papers_missing"])
    message = f"cycle {number}: {held} of {total} meetings held, {late} agendas or minutes late"
    return Completed(message=message, data={"cycle": number, **step.outcome})
