"""One pass of everything due: what `roundtable run` does, in one process.

Prepares the store, plans the cycle open on `as_of`, runs the flow of every phase whose
window has opened and that is not completed (in phase order), then checks for overdue
deliverables. Calendars are republished by the flows themselves. Without a Prefect
server (`PREFECT_API_URL` unset) it runs in Prefect's ephemeral mode.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from cycle.progression import cycle_board
from flows.check_overdue import check_overdue
from flows.common import context, resolve
from flows.deployments import FLOWS, PHASE_FLOWS
from flows.plan_cycle import plan_cycle


@dataclass(frozen=True)
class FlowReport:
    flow: str
    state: str
    type: str
    message: str


def _report(name: str, state: Any) -> FlowReport:
    return FlowReport(flow=name, state=state.name, type=state.type.value, message=state.message or "")


def run_due(as_of: dt.date) -> tuple[int, list[FlowReport]]:
    """Run everything due on `as_of`; returns the cycle and each flow's final state."""
    number, day = resolve(None, as_of)
    reports = [_report("plan-cycle", plan_cycle(as_of=day, return_state=True))]
    if reports[0].type != "COMPLETED":
        return number, reports
    board = cycle_board(context(), number=number, as_of=day)
    due = [r.phase for r in board.rows if r.window[0] <= day and r.state.value != "completed"]
    names = list(dict.fromkeys(PHASE_FLOWS[phase] for phase in due))
    for name in names:
        if name == "plan-cycle":
            continue  # ran first
        state = FLOWS[name](cycle=number, as_of=day, return_state=True)
        reports.append(_report(name, state))
    reports.append(_report("check-overdue", check_overdue(cycle=number, as_of=day, return_state=True)))
    return number, reports
