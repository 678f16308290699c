"""check-overdue: find the deliverables that are late or due soon and tell people, once.

Daily at 07:00 Mexico City time. Applies the program's deadline rules (`[deadlines]`:
reminder lead, grace, escalation levels) to the cycle's pending deliverables, writes the
`cycle-{n}-overdue` table (deliverable, owner, due, days late, level) and the cycle's status
artifacts, and emits one `roundtable.deliverable.due-soon`, `.overdue` or `.escalated`
event per deliverable, due date and level — never again on a later run (the store records
each notice; `roundtable automations install` turns the events into notifications). It
also marks gate requests whose time ran out as timed out, and ends with a state message
that says how many are late.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from prefect.client.schemas.objects import State
from prefect.events import emit_event
from prefect.states import Completed

from cycle.deadlines import Standing
from cycle.operations import DeadlineCheck, check_deadlines, notices_announced, record_notices
from cycle.progression import Announcement, expire
from cycle.store.notices import NoticeView
from cycle.views import owner_label
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


@store_task(name="expire-gate-requests")
def expire_gate_requests() -> list[Announcement]:
    said = expire(context(), now=now(), actor=ACTOR)
    announce(said)
    return said


@store_task(name="check-deadlines")
def find_deadlines(number: int, as_of: dt.date) -> DeadlineCheck:
    return check_deadlines(context(), number=number, as_of=as_of)


@store_task(name="record-notices")
def record_new_notices(check: DeadlineCheck) -> list[NoticeView]:
    """Record the reminders and escalations not given before; return all still unsaid."""
    return record_notices(context(), check=check, now=now(), actor=ACTOR)


@store_task(name="announce-notices")
def announce_notices(notices: list[NoticeView], as_of: dt.date) -> int:
    """Emit one event per notice, then mark them announced (a crash in between announces
    them again on the next run: at least once, never silently lost)."""
    for notice in notices:
        emit_event(**notice_event(notice, as_of))
    notices_announced(context(), ids=[n.id for n in notices], now=now())
    if notices:
        get_run_logger().info("announced %d notices", len(notices))
    return len(notices)


def notice_event(notice: NoticeView, as_of: dt.date) -> dict[str, Any]:
    """The `roundtable.deliverable.*` event of a notice: the deliverable is the resource,
    its cycle the related resource; the payload says what, whose, when and how late."""
    program = context().program
    item = notice.item
    level = program.deadlines.levels[notice.level] if notice.level_slug else None
    key = item.key.to_string()
    return {
        "event": f"roundtable.deliverable.{notice.notice.value}",
        "resource": {
            "prefect.resource.id": f"roundtable.deliverable.{key}",
            "prefect.resource.name": item.title.en,
            "roundtable.owner": item.owner or "",
            "roundtable.level": notice.level_slug or "",
        },
        "related": [{**resource(item.key.cycle), "prefect.resource.role": "cycle"}],
        "payload": {
            "key": key,
            "deliverable": item.title.en,
            "deliverable_es": item.title.es,
            "owner": owner_label(program, item.owner),
            "due": notice.due.isoformat(),
            "notice": notice.notice.value,
            "level": notice.level_slug,
            "level_name": level.name.en if level else None,
            "level_name_es": level.name.es if level else None,
            "working days late": notice.working_days_late,
            "as_of": as_of.isoformat(),
        },
    }


NOTHING_OVERDUE = {
    "level": "",
    "owner": "",
    "key": "nothing overdue",
    "due": "",
    "late": 0,
}
"""The table's one row when nothing is late (the UI shows an empty table as nothing)."""


def overdue_row(standing: Standing) -> dict[str, Any]:
    program = context().program
    item = standing.item
    return {  # who must act first, then the key that Record a deliverable takes
        "level": standing.level.definition.slug if standing.level else "",
        "owner": owner_label(program, item.owner),
        "key": item.key.to_string().removeprefix(f"c{item.key.cycle}/deliverable/"),
        "due": standing.due.isoformat(),
        "late": standing.working_days_late,
    }


@flow(name="check-overdue", flow_run_name=run_name("check-overdue"))
def check_overdue(cycle: int | None = None, as_of: dt.date | None = None) -> State[dict[str, Any]]:
    """Find the cycle's late and soon-due deliverables on `as_of` (default today), report
    them and announce each new reminder or escalation once.

    Args:
        cycle: The cycle's number (default: the cycle open on as_of).
        as_of: The day to judge lateness on, as YYYY-MM-DD (default: today).
    """
    number, day = resolve(cycle, as_of)
    label_run(number, "check-overdue")
    expire_gate_requests()
    check = find_deadlines(number, day)
    rows = [overdue_row(s) for s in check.overdue]
    create_table_artifact(
        key=f"cycle-{number}-overdue",
        table=rows or [NOTHING_OVERDUE],
        description=f"Cycle {number}: deliverables overdue on {day}, most severe first; late is in "
        f"working days; keys are under c{number}/deliverable/, as *Record a deliverable* takes them",
    )
    sent = announce_notices(record_new_notices(check), day)
    publish_status(number, day)
    message = f"cycle {number}: {len(check.overdue)} deliverables overdue on {day}" + (
        f", the most severe {check.overdue[0].working_days_late} working days late "
        f"({check.overdue[0].item.key})"
        if check.overdue
        else ""
    )
    message += f"; {len(check.due_soon)} due soon; {sent} new notices"
    return Completed(
        # Named so that a run that found something overdue stands out in the runs list.
        name="Overdue" if check.overdue else "Completed",
        message=message,
        data={"cycle": number, "as_of": day.isoformat(), "overdue": rows, "due_soon": len(check.due_soon)},
    )
