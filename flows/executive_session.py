"""executive-session: the tri-chairs' session and the APA validation gate.

The session wants every body's APA inputs and annual briefing, the delegation roster and
the read-ahead book in (the phase's `requires` in the program file). With them in, the
flow opens the session and asks the tri-chairs to validate the Annual Plan of Activities;
the form lists the draft APA (every standing proposal of the bodies) and the tri-chairs
tick what they validate. Approved, the validated activities are frozen as version 1 of the
cycle's APA, planned into the cycle (the calendars show them), and the cycle moves on to
the observation visit (or the assessment in a 12-month cycle); rejected, the phase stays
open and running the flow again asks again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow
from prefect.client.schemas.objects import State

from cycle.gates import GateDecision
from cycle.program import Phase
from flows.common import label_run, resolve, run_name
from flows.gates import gated_phase

DEFAULT_TIMEOUT_DAYS = 30.0


def _outcome(decision: GateDecision) -> dict[str, Any]:
    return {"validated_activities": list(decision.activities), "validated_by": list(decision.tri_chairs)}


@flow(name="executive-session", flow_run_name=run_name("executive-session"))
def executive_session(
    cycle: int | None = None,
    as_of: dt.date | None = None,
    allow_missing: bool = False,
    gate_timeout_days: float = DEFAULT_TIMEOUT_DAYS,
) -> State[Any]:
    """Hold the executive session: check its inputs, ask for the APA validation, record it.

    Args:
        cycle: The cycle's number (default: the cycle open on as_of).
        as_of: The day the run is about, as YYYY-MM-DD (default: today).
        allow_missing: Go on without the required deliverables that are not in (each is recorded as skipped).
        gate_timeout_days: How many days the APA validation form waits for the tri-chairs before the
            request times out (0: no limit).
    """
    number, day = resolve(cycle, as_of)
    label_run(number, Phase.executive_session.value)
    return gated_phase(
        number=number,
        day=day,
        phase=Phase.executive_session,
        allow_missing=allow_missing,
        timeout_days=gate_timeout_days,
        outcome=_outcome,
    )
