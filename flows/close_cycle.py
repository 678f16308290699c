"""close-cycle: on the cycle's last day, close it and open the next one.

Records what is left open (it stays in the store and the feeds), completes every phase,
then plans the next cycle and opens it, and carries the bodies' objectives that are still
proposed or active into it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow
from prefect.client.schemas.objects import State
from prefect.states import Completed

from cycle.cycles import cycle_by_number
from cycle.errors import NotFoundError
from cycle.operations import carry_over_objectives
from cycle.program import Phase
from cycle.progression import StepResult
from cycle.progression import close_cycle as close
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
from flows.plan_cycle import plan_into_store
from flows.publish_calendars import publish_calendars


@store_task(name="close-in-store")
def close_in_store(number: int, as_of: dt.date) -> StepResult:
    step = close(context(), number=number, as_of=as_of, now=now(), actor=ACTOR)
    announce(step.announcements)
    return step


@store_task(name="carry-over-objectives")
def carry_over(number: int) -> list[str]:
    """Carry the closing cycle's proposed and active objectives into the next one."""
    return carry_over_objectives(context(), number=number, now=now(), actor=ACTOR)


@flow(name="close-cycle", flow_run_name=run_name("close-cycle"))
def close_cycle(cycle: int | None = None, as_of: dt.date | None = None) -> State[Any]:
    """Close cycle `cycle` (on or after its last day) and open the next one.

    Args:
        cycle: The cycle's number (default: the cycle open on as_of).
        as_of: The day of closing, as YYYY-MM-DD (default: today); not before the cycle's last day.
    """
    number, day = resolve(cycle, as_of)
    label_run(number, Phase.close_out.value)
    step = close_in_store(number, day)
    try:
        following = cycle_by_number(context().program, number + 1).number
    except NotFoundError:
        following = None
    carried: list[str] = []
    if following is not None:
        plan_into_store(following)
        carried = carry_over(number)
        publish_status(following, day)
    publish_calendars(as_of=day)
    publish_status(number, day)
    left = step.outcome["left_open"]
    opened = f"; cycle {following} is open" if following is not None else ""
    if carried:
        opened += f" with {len(carried)} objectives carried over"
    return Completed(
        message=f"cycle {number} closed with {len(left)} deliverables left open{opened}",
        data={"cycle": number, "left_open": left, "next": following, "carried_over": carried},
    )
