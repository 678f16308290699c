"""What an operator does to a gate from a script: `roundtable gates decide`.

The decision is checked first (the same rules as the UI's form). If a served flow run is
suspended waiting for it, that run is resumed with the decision as its input and records
it itself; otherwise the decision is recorded in the store, and the phase flow's next run
goes on from it.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from uuid import UUID

from cycle.context import Context
from cycle.errors import InputError, StoreError
from cycle.gates import GateDecision, GateState, check_decision, expired, timed_out
from cycle.progression import decide, gate_offers
from cycle.store.progress import GateView, gate


@dataclass(frozen=True)
class DecideReport:
    key: str
    resumed_run: str | None
    view: GateView | None
    """The gate as recorded, when the decision was recorded here (not by a resumed run)."""


def waiting_run(key: str, run: str | None) -> UUID | None:
    """The flow run suspended for this gate, if a Prefect server is configured and says so."""
    if run is None or not os.environ.get("PREFECT_API_URL"):
        return None
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            flow_run = client.read_flow_run(UUID(run))
        except ObjectNotFound:
            return None
        if flow_run.state is None or not flow_run.state.is_paused():
            return None
        timeout = flow_run.state.state_details.pause_timeout
        if timeout is not None and timeout < dt.datetime.now(dt.UTC):
            raise InputError(timed_out(key, timeout))
        return flow_run.id


def decide_gate(
    ctx: Context, *, key: str, decision: GateDecision, now: dt.datetime, actor: str
) -> DecideReport:
    from flows.gates import form_of

    ctx.store.require_ready()
    with ctx.store.session() as session:
        current = gate(session, key=key)
    phase = current.item.phase
    offered = gate_offers(ctx, number=current.item.key.cycle, phase=phase, as_of=now.date())
    checked = check_decision(ctx.program, phase, decision, offered=offered)
    if current.state is GateState.pending and expired(current.expires_at, now):
        raise InputError(timed_out(key, current.expires_at))  # whether or not Prefect failed the run yet
    run = waiting_run(key, current.request_run) if current.state is GateState.pending else None
    if run is not None:
        from prefect.exceptions import FlowPauseTimeout, NotPausedError
        from prefect.flow_runs import resume_flow_run

        try:
            form = form_of(ctx, number=current.item.key.cycle, phase=phase, as_of=now.date())
            resume_flow_run(run, run_input=form.answer(checked))
        except (RuntimeError, NotPausedError, FlowPauseTimeout) as exc:
            raise StoreError(f"flow run {run} could not be resumed: {exc}") from None
        return DecideReport(key=key, resumed_run=str(run), view=None)
    view, said = decide(ctx, key=key, decision=checked, now=now, actor=actor)
    if said and os.environ.get("PREFECT_API_URL"):
        from flows.common import announce_outside_run

        announce_outside_run(said)
    return DecideReport(key=key, resumed_run=None, view=view)
