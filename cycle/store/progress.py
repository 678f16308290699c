"""Reading and writing phase progress and gate decisions. Functions add and flush; the
caller commits once. Each write reports whether it changed anything, so a flow that runs
again converges without repeating its events."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from cycle.errors import InputError, NotFoundError
from cycle.gates import GateDecision, GateState, expired, timed_out
from cycle.items import ItemKey, ItemKind, PlannedItem
from cycle.phases import PhaseProgress, PhaseState
from cycle.program import Phase
from cycle.status import CANCELLED
from cycle.store.models import GateRecord, ItemRecord, PhaseRecord
from cycle.store.reads import to_planned_item
from cycle.store.repository import log_change


def phase_progress(session: Session, *, cycle: int) -> dict[Phase, PhaseProgress]:
    rows = session.exec(select(PhaseRecord).where(PhaseRecord.cycle == cycle))
    return {
        Phase(row.phase): PhaseProgress(
            phase=Phase(row.phase),
            state=PhaseState(row.state),
            opened_at=row.opened_at,
            completed_at=row.completed_at,
            outcome=json.loads(row.outcome),
        )
        for row in rows
    }


def open_phase(session: Session, *, cycle: int, phase: Phase, now: dt.datetime, actor: str) -> bool:
    """Mark a phase open; False if it was open or completed already."""
    row = session.get(PhaseRecord, (cycle, phase.value), with_for_update=True)
    if row is not None:
        return False
    session.add(PhaseRecord(cycle=cycle, phase=phase.value, state="open", opened_at=now, updated_at=now))
    log_change(
        session, at=now, actor=actor, action="phase-opened", cycle=cycle, detail={"phase": phase.value}
    )
    session.flush()
    return True


def record_outcome(
    session: Session,
    *,
    cycle: int,
    phase: Phase,
    outcome: dict[str, Any],
    complete: bool,
    now: dt.datetime,
    actor: str,
) -> bool:
    """Store what a phase's flow found (opening the phase if needed) and, with `complete`,
    mark it completed. Returns True when the phase became completed by this call."""
    open_phase(session, cycle=cycle, phase=phase, now=now, actor=actor)
    row = session.get(PhaseRecord, (cycle, phase.value), with_for_update=True)
    assert row is not None
    text = json.dumps(outcome, sort_keys=True, ensure_ascii=False, default=str)
    completing = complete and row.state != "completed"
    if text == row.outcome and not completing:
        return False
    row.outcome = text
    row.updated_at = now
    if completing:
        row.state = "completed"
        row.completed_at = now
        log_change(
            session, at=now, actor=actor, action="phase-completed", cycle=cycle, detail={"phase": phase.value}
        )
    session.flush()
    return completing


@dataclass(frozen=True)
class GateView:
    item: PlannedItem
    state: GateState
    decision: GateDecision | None
    decided_by: str | None
    decided_at: dt.datetime | None
    requested_at: dt.datetime | None
    request_run: str | None
    expires_at: dt.datetime | None


def _view(row: ItemRecord, record: GateRecord) -> GateView:
    return GateView(
        item=to_planned_item(row),
        state=GateState(record.state),
        decision=GateDecision.from_json(record.decision) if record.decision else None,
        decided_by=record.decided_by,
        decided_at=record.decided_at,
        requested_at=record.requested_at,
        request_run=record.request_run,
        expires_at=record.expires_at,
    )


def _gate_rows(session: Session, key: str, *, lock: bool) -> tuple[ItemRecord, GateRecord]:
    parsed = ItemKey.from_string(key)
    if parsed.kind is not ItemKind.gate:
        raise InputError(f"{key} is a {parsed.kind.value}, not a gate")
    query = (
        select(ItemRecord, GateRecord)
        .join(GateRecord, col(GateRecord.item_id) == col(ItemRecord.id))
        .where(ItemRecord.key == key)
    )
    result = session.exec(query.with_for_update() if lock else query).first()
    if result is None:
        raise NotFoundError(f"no gate {key} in the store (see `roundtable gates list`)")
    row, record = result
    if row.status == CANCELLED:
        raise InputError(f"{key} was cancelled by a re-plan; it takes no decision")
    return row, record


def gate(session: Session, *, key: str) -> GateView:
    return _view(*_gate_rows(session, key, lock=False))


def list_gates(session: Session, *, cycle: int | None = None) -> list[GateView]:
    query = (
        select(ItemRecord, GateRecord)
        .join(GateRecord, col(GateRecord.item_id) == col(ItemRecord.id))
        .where(ItemRecord.status != CANCELLED)
        .order_by(col(ItemRecord.due), col(ItemRecord.key))
    )
    if cycle is not None:
        query = query.where(ItemRecord.cycle == cycle)
    return [_view(row, record) for row, record in session.exec(query)]


def request_gate(
    session: Session,
    *,
    key: str,
    run: str | None,
    expires_at: dt.datetime | None,
    now: dt.datetime,
    actor: str,
) -> tuple[GateView, bool]:
    """Ask for a decision. An approved gate is final and is returned as it is; a rejected or
    timed-out one is asked again, unless `run` is the run that asked and took the rejection;
    a pending one takes the new run and expiry. The flag says whether this is a new request."""
    row, record = _gate_rows(session, key, lock=True)
    if record.state == GateState.approved:
        return _view(row, record), False
    asked_by_this_run = run is not None and record.request_run == run and record.requested_at is not None
    if asked_by_this_run and record.state in (GateState.pending, GateState.rejected):
        return _view(row, record), False  # the same run again (Prefect re-runs a resumed flow)
    previous = record.state
    record.state = GateState.pending.value
    record.requested_at, record.request_run, record.expires_at = now, run, expires_at
    record.updated_at = now
    log_change(
        session,
        at=now,
        actor=actor,
        action="gate-requested",
        cycle=row.cycle,
        item_key=key,
        detail={"from": previous, "run": run, "expires_at": expires_at},
    )
    session.flush()
    return _view(row, record), True


def decide_gate(
    session: Session, *, key: str, decision: GateDecision, now: dt.datetime, actor: str
) -> tuple[GateView, bool]:
    """Record a (checked) decision. Recording the same decision again changes nothing;
    an approved gate is final and a different decision on it is refused."""
    row, record = _gate_rows(session, key, lock=True)
    text = decision.to_json()
    if record.state in (GateState.approved, GateState.rejected) and record.decision == text:
        return _view(row, record), False
    if record.state == GateState.approved:
        raise InputError(
            f"{key} was approved on {record.decided_at:%Y-%m-%d} by {record.decided_by}: it is final"
        )
    if record.state == GateState.rejected:
        raise InputError(
            f"{key} was rejected on {record.decided_at:%Y-%m-%d}: run its phase flow again to ask again"
        )
    if record.state == GateState.timed_out or expired(record.expires_at, now):
        raise InputError(timed_out(key, record.expires_at))
    previous = record.state
    record.state = decision.state.value
    record.decision = text
    record.decided_at = now
    record.decided_by = ", ".join(decision.tri_chairs)
    record.expires_at = None
    record.updated_at = now
    log_change(
        session,
        at=now,
        actor=actor,
        action=f"gate-{decision.state.value}",
        cycle=row.cycle,
        item_key=key,
        detail={"from": previous, "decision": json.loads(text)},
    )
    session.flush()
    return _view(row, record), True


def expire_gates(session: Session, *, now: dt.datetime, actor: str) -> list[GateView]:
    """Mark open requests whose time ran out as timed out; returns those it marked."""
    query = (
        select(ItemRecord, GateRecord)
        .join(GateRecord, col(GateRecord.item_id) == col(ItemRecord.id))
        .where(
            GateRecord.state == GateState.pending.value,
            col(GateRecord.expires_at).is_not(None),
            ItemRecord.status != CANCELLED,
        )
        .with_for_update()
    )
    marked = []
    for row, record in session.exec(query):
        if not expired(record.expires_at, now):
            continue
        record.state = GateState.timed_out.value
        record.updated_at = now
        log_change(
            session,
            at=now,
            actor=actor,
            action="gate-timed-out",
            cycle=row.cycle,
            item_key=row.key,
            detail={"run": record.request_run, "expired_at": record.expires_at},
        )
        marked.append(_view(row, record))
    session.flush()
    return marked
