"""observation-visit: in the second year, the tri-chairs select the combined exercise or
training their delegations will observe, from the Annual Plan of Activities they validated.

The flow needs the APA validated; it offers only the validated APA's combined exercises
and trainings that begin in the second year. Approved, the chosen activity fixes the
visit's dates (its first working days) and place (its host and location): the cycle is
planned again, so the visit keeps its key and calendar UID with a higher SEQUENCE, and the
deadlines anchored to it move with it. The cycle then moves on to the assessment.
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
    return {"exercise": decision.activities[0], "selected_by": list(decision.tri_chairs)}


@flow(name="observation-visit", flow_run_name=run_name("observation-visit"))
def observation_visit(
    cycle: int | None = None,
    as_of: dt.date | None = None,
    allow_missing: bool = False,
    gate_timeout_days: float = DEFAULT_TIMEOUT_DAYS,
) -> State[Any]:
    """Ask the tri-chairs to select the exercise to observe, from the validated APA.

    Args:
        cycle: The cycle's number (default: the cycle open on as_of).
        as_of: The day the run is about, as YYYY-MM-DD (default: today).
        allow_missing: Accepted for symmetry with the other phases; the APA validation it needs is a
            gate and is never skipped.
        gate_timeout_days: How many days the selection form waits for the tri-chairs before the request
            times out (0: no limit).
    """
    number, day = resolve(cycle, as_of)
    label_run(number, Phase.observation_visit.value)
    return gated_phase(
        number=number,
        day=day,
        phase=Phase.observation_visit,
        allow_missing=allow_missing,
        timeout_days=gate_timeout_days,
        outcome=_outcome,
    )
