"""check-overdue: find the deliverables that are late and say so where operators look.

Daily at 07:00 Mexico City time. Writes the `cycle-{n}-overdue` table (deliverable,
owner, due, days late) and the cycle's status artifacts, emits one
`roundtable.deliverable.overdue` event per late deliverable and run, marks gate requests
whose time ran out as timed out, and ends with a state message that says how many are late.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact
from prefect.client.schemas.objects import State
from prefect.events import emit_event
from prefect.states import Completed

from cycle.progression import Announcement, cycle_board, expire
from cycle.status import OverdueItem
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


@store_task(name="find-overdue")
def find_overdue(number: int, as_of: dt.date) -> list[OverdueItem]:
    return list(cycle_board(context(), number=number, as_of=as_of).status.overdue)


def overdue_row(item: OverdueItem) -> dict[str, Any]:
    program = context().program
    return {
        "deliverable": item.item.title.en,
        "key": item.item.key.to_string(),
        "owner": owner_label(program, item.item.owner),
        "due": item.item.due.isoformat() if item.item.due else "",
        "days late": item.days_late,
        "working days late": item.working_days_late,
    }


@flow(name="check-overdue", flow_run_name=run_name("check-overdue"))
def check_overdue(cycle: int | None = None, as_of: dt.date | None = None) -> State[dict[str, Any]]:
    """Find the cycle's late deliverables on `as_of` (default today) and report them."""
    number, day = resolve(cycle, as_of)
    label_run(number, "check-overdue")
    expire_gate_requests()
    overdue = find_overdue(number, day)
    rows = [overdue_row(o) for o in overdue]
    create_table_artifact(
        key=f"cycle-{number}-overdue",
        table=rows or [{"deliverable": "nothing overdue", "key": "", "owner": "", "due": "", "days late": 0}],
        description=f"Cycle {number}: deliverables overdue on {day}, most late first",
    )
    for item, row in zip(overdue, rows, strict=True):
        emit_event(
            event="roundtable.deliverable.overdue",
            resource={
                "prefect.resource.id": f"roundtable.deliverable.{row['key']}",
                "prefect.resource.name": row["deliverable"],
                "roundtable.owner": item.item.owner or "",
            },
            related=[{**resource(number), "prefect.resource.role": "cycle"}],
            payload={**row, "as_of": day.isoformat()},
        )
    publish_status(number, day)
    message = f"cycle {number}: {len(overdue)} deliverables overdue on {day}" + (
        f", the most late {overdue[0].days_late} days ({overdue[0].item.key})" if overdue else ""
    )
    return Completed(message=message, data={"cycle": number, "as_of": day.isoformat(), "overdue": rows})
