"""Reading and writing the store. Functions add and flush; the caller commits once."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col, func, select

from cycle.deliverable import Action, DeliverableState, transition
from cycle.errors import InputError, NotFoundError
from cycle.items import ItemKey, ItemKind, PlannedItem
from cycle.program import Program
from cycle.schedule import CyclePlan
from cycle.status import CANCELLED
from cycle.store.models import (
    BodyRecord,
    ChangeRecord,
    CycleRecord,
    DeliverableRecord,
    GateRecord,
    ItemRecord,
    SubscriberRecord,
)
from cycle.store.reads import DELIVERABLE_COLUMNS, ITEM_COLUMNS, PLANNED, deliverable_from, to_planned_item

# The columns that carry an item's content: a change in any of them is a new revision.
# (The kind and body are also in the item's key, which the read path parses instead.)
CONTENT_COLUMNS = ("kind", "body", *ITEM_COLUMNS[1:])


@dataclass
class PlanReport:
    """What one planning pass changed, by item key."""

    cycle: int
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    unchanged: int = 0
    planned: dict[str, PlannedItem] = field(default_factory=dict, repr=False)
    """Every item of the plan applied, by key: what the store now holds for each of them."""

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.cancelled or self.restored)


def item_columns(item: PlannedItem) -> dict[str, Any]:
    """The stored form of a planned item's content."""
    return {
        "kind": item.kind.value,
        "body": item.body,
        "phase": item.phase.value,
        "owner": item.owner,
        "host": item.host,
        "title_en": item.title.en,
        "title_es": item.title.es,
        "location_en": item.location.en if item.location else None,
        "location_es": item.location.es if item.location else None,
        "starts_at": item.start.in_timezone("UTC") if item.start else None,
        "ends_at": item.end.in_timezone("UTC") if item.end else None,
        "timezone": item.timezone,
        "first_day": item.first_day,
        "last_day": item.last_day,
        "due": item.due,
        "activity": (
            json.dumps(item.activity.to_json(), sort_keys=True, ensure_ascii=False) if item.activity else None
        ),
    }


def change_row(
    *,
    at: dt.datetime,
    actor: str,
    action: str,
    cycle: int | None = None,
    item_key: str | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One change-log row's columns."""
    return {
        "at": at,
        "actor": actor,
        "action": action,
        "cycle": cycle,
        "item_key": item_key,
        "detail": json.dumps(detail or {}, sort_keys=True, default=str),
    }


def log_change(
    session: Session,
    *,
    at: dt.datetime,
    actor: str,
    action: str,
    cycle: int | None = None,
    item_key: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        ChangeRecord(
            **change_row(at=at, actor=actor, action=action, cycle=cycle, item_key=item_key, detail=detail)
        )
    )


def sync_bodies(session: Session, *, program: Program, now: dt.datetime, actor: str) -> int:
    """Bring the body table in line with the program; returns how many rows changed."""
    existing = {row.slug: row for row in session.exec(select(BodyRecord))}
    changed = 0
    for body in program.bodies:
        values: dict[str, Any] = {
            "kind": body.kind.value,
            "status": body.status.value,
            "name_en": body.name.en,
            "name_es": body.name.es,
            "line_of_effort": body.line_of_effort,
        }
        row = existing.get(body.slug)
        if row is None:
            session.add(BodyRecord(slug=body.slug, updated_at=now, **values))
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            row.updated_at = now
        else:
            continue
        changed += 1
        log_change(session, at=now, actor=actor, action="body-synced", detail={"body": body.slug})
    session.flush()
    return changed


def apply_plan(session: Session, *, plan: CyclePlan, now: dt.datetime, actor: str) -> PlanReport:
    """Upsert a cycle's plan: new items added, changed ones revised, vanished ones cancelled.

    Recorded progress (deliverable and gate states) is never touched. Unchanged items are
    not written at all, so re-planning an unchanged program changes nothing.
    """
    cycle = plan.cycle
    report = PlanReport(cycle=cycle.number)
    record = session.get(CycleRecord, cycle.number)
    if record is None:
        session.add(
            CycleRecord(
                number=cycle.number, start=cycle.start, end=cycle.end, months=cycle.months, planned_at=now
            )
        )
        log_change(session, at=now, actor=actor, action="cycle-opened", cycle=cycle.number)
    elif (record.start, record.end, record.months) != (cycle.start, cycle.end, cycle.months):
        record.start, record.end, record.months, record.planned_at = cycle.start, cycle.end, cycle.months, now
        log_change(session, at=now, actor=actor, action="cycle-moved", cycle=cycle.number)
    session.flush()

    existing = {
        row.key: row for row in session.exec(select(ItemRecord).where(ItemRecord.cycle == cycle.number))
    }
    # New items, their deliverable and gate records and every change-log row are written
    # with one multi-row INSERT each (in plan order, so the log keeps it): building an ORM
    # object per row cost several times the database's own work (benchmarks/plan_program).
    new_rows: list[dict[str, Any]] = []
    tracked_kinds: dict[str, ItemKind] = {}
    logged: list[dict[str, Any]] = []
    for item in plan.items:
        key = item.key.to_string()
        report.planned[key] = item
        values = item_columns(item)
        row = existing.pop(key, None)
        if row is None:
            new_rows.append(
                {
                    "key": key,
                    "cycle": cycle.number,
                    "status": PLANNED,
                    "revision": 0,
                    "created_at": now,
                    "updated_at": now,
                    **values,
                }
            )
            if item.kind in (ItemKind.deliverable, ItemKind.gate):
                tracked_kinds[key] = item.kind
            report.created.append(key)
            logged.append(change_row(at=now, actor=actor, action="planned", cycle=cycle.number, item_key=key))
            continue
        changes = {
            k: [_jsonable(getattr(row, k)), _jsonable(v)] for k, v in values.items() if getattr(row, k) != v
        }
        if row.status == CANCELLED:
            report.restored.append(key)
            action = "restored"
        elif changes:
            report.updated.append(key)
            action = "replanned"
        else:
            report.unchanged += 1
            continue
        for name, value in values.items():
            setattr(row, name, value)
        row.status = PLANNED
        row.revision += 1
        row.updated_at = now
        logged.append(
            change_row(at=now, actor=actor, action=action, cycle=cycle.number, item_key=key, detail=changes)
        )

    for key, row in existing.items():
        if row.status == CANCELLED:
            continue
        row.status = CANCELLED
        row.revision += 1
        row.updated_at = now
        report.cancelled.append(key)
        logged.append(change_row(at=now, actor=actor, action="cancelled", cycle=cycle.number, item_key=key))

    session.flush()  # the revised and cancelled rows
    connection = session.connection()
    if new_rows:
        connection.execute(insert(ItemRecord), new_rows)
        ids = connection.execute(
            select(col(ItemRecord.key), col(ItemRecord.id)).where(ItemRecord.cycle == cycle.number)
        ).all()
        records: dict[ItemKind, list[dict[str, Any]]] = {ItemKind.deliverable: [], ItemKind.gate: []}
        for key, item_id in ids:
            if key in tracked_kinds:
                records[tracked_kinds[key]].append(
                    {"item_id": item_id, "state": "pending", "updated_at": now}
                )
        for model, kind in ((DeliverableRecord, ItemKind.deliverable), (GateRecord, ItemKind.gate)):
            if records[kind]:
                connection.execute(insert(model), sorted(records[kind], key=lambda r: r["item_id"]))
    if logged:
        connection.execute(insert(ChangeRecord), logged)
    return report


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


@dataclass(frozen=True)
class DeliverableView:
    item: PlannedItem
    item_status: str
    record: DeliverableRecord

    @property
    def state(self) -> DeliverableState:
        return DeliverableState(self.record.state)


def list_deliverables(
    session: Session,
    *,
    cycle: int | None = None,
    body: str | None = None,
    owner: str | None = None,
    states: Sequence[DeliverableState] = (),
    due_by: dt.date | None = None,
) -> list[DeliverableView]:
    """A cycle's live deliverables (cancelled ones take no more records), by due date;
    with `due_by`, only those due on or before it."""
    query = select(ItemRecord, DeliverableRecord).join(
        DeliverableRecord, col(DeliverableRecord.item_id) == col(ItemRecord.id)
    )
    if cycle is not None:
        query = query.where(ItemRecord.cycle == cycle)
    if body is not None:
        query = query.where(ItemRecord.body == body)
    if owner is not None:
        query = query.where(ItemRecord.owner == owner)
    if states:
        query = query.where(col(DeliverableRecord.state).in_([s.value for s in states]))
    if due_by is not None:
        query = query.where(col(ItemRecord.due) <= due_by)
    query = query.where(ItemRecord.status != CANCELLED)
    query = query.order_by(col(ItemRecord.due), col(ItemRecord.key))
    return [
        DeliverableView(item=to_planned_item(row), item_status=row.status, record=record)
        for row, record in session.exec(query)
    ]


def pending_deliverable_items(
    session: Session, *, cycle: int | None = None, due_by: dt.date | None = None, ordered: bool = True
) -> list[PlannedItem]:
    """What `list_deliverables(states=[pending])` finds, in the same order, as items only:
    the overdue check needs nothing else, and reading plain rows of the item's columns
    instead of two ORM objects per deliverable was most of its time at a million
    deliverables (benchmarks/check_overdue). `ordered=False` leaves them in the database's
    order, for a caller that sorts them itself: the sort was a quarter of the query there."""
    item = SQLModel.metadata.tables[ItemRecord.__tablename__]
    query = (
        sa_select(*(item.columns[name] for name in DELIVERABLE_COLUMNS))
        .select_from(item)
        .join(DeliverableRecord, col(DeliverableRecord.item_id) == col(ItemRecord.id))
        .where(col(DeliverableRecord.state) == DeliverableState.pending.value)
        .where(col(ItemRecord.status) != CANCELLED)
    )
    if cycle is not None:
        query = query.where(col(ItemRecord.cycle) == cycle)
    if due_by is not None:
        query = query.where(col(ItemRecord.due) <= due_by)
    if ordered:
        query = query.order_by(col(ItemRecord.due), col(ItemRecord.key))
    return [deliverable_from(*row) for row in session.connection().execute(query).all()]


def record_deliverable_action(
    session: Session,
    *,
    key: str,
    action: Action,
    actor: str,
    now: dt.datetime,
    note: str | None = None,
) -> DeliverableView:
    """Move a deliverable through its lifecycle and log who did it; `note` is the reason
    for a waiver (required) or a return, or a remark on a submission or acceptance."""
    parsed = ItemKey.from_string(key)
    if parsed.kind is not ItemKind.deliverable:
        raise InputError(f"{key} is a {parsed.kind.value}, not a deliverable")
    result = session.exec(
        select(ItemRecord, DeliverableRecord)
        .join(DeliverableRecord, col(DeliverableRecord.item_id) == col(ItemRecord.id))
        .where(ItemRecord.key == key)
        .with_for_update()
    ).first()
    if result is None:
        raise NotFoundError(f"no deliverable {key} in the store (see `roundtable deliverables list`)")
    row, record = result
    if row.status == CANCELLED:
        raise InputError(f"{key} was cancelled by a re-plan; it takes no more records")
    new_state = transition(DeliverableState(record.state), action, key=key)
    if action is Action.waive and not (note and note.strip()):
        raise InputError("a waiver needs a reason (--reason)")
    previous = record.state
    record.state = new_state.value
    record.updated_at = now
    if action is Action.submit:
        record.submitted_at, record.submitted_by = now, actor
    elif action is Action.accept:
        record.accepted_at, record.accepted_by = now, actor
    elif action is Action.return_:
        record.submitted_at = record.submitted_by = None  # the change log keeps the history
    elif action is Action.waive:
        record.waived_reason = note
    record.note = note  # the remark of the latest step; earlier ones are in the change log
    log_change(
        session,
        at=now,
        actor=actor,
        action=f"deliverable-{action.value}",
        cycle=row.cycle,
        item_key=key,
        detail={"from": previous, "to": new_state.value, "note": note},
    )
    session.flush()
    return DeliverableView(item=to_planned_item(row), item_status=row.status, record=record)


def change_log(
    session: Session, *, item_key: str | None = None, cycle: int | None = None
) -> list[ChangeRecord]:
    query = select(ChangeRecord)
    if item_key is not None:
        query = query.where(ChangeRecord.item_key == item_key)
    if cycle is not None:
        query = query.where(ChangeRecord.cycle == cycle)
    return list(session.exec(query.order_by(col(ChangeRecord.id))))


# --- subscribers -------------------------------------------------------------------------


def add_subscriber(
    session: Session,
    *,
    name: str,
    token_hash: str,
    audiences: Sequence[str],
    lang: str,
    now: dt.datetime,
    actor: str,
) -> SubscriberRecord:
    """Record a subscriber; the caller gives the token's hash, never the token."""
    if session.exec(select(SubscriberRecord).where(SubscriberRecord.name == name)).first() is not None:
        raise InputError(f"a subscriber named {name!r} exists already: pick another name")
    record = SubscriberRecord(
        name=name, token_hash=token_hash, audiences=json.dumps(list(audiences)), lang=lang, created_at=now
    )
    session.add(record)
    log_change(
        session, at=now, actor=actor, action="subscriber-added", detail={"name": name, "audiences": audiences}
    )
    session.flush()
    return record


def list_subscribers(session: Session) -> list[SubscriberRecord]:
    return list(session.exec(select(SubscriberRecord).order_by(col(SubscriberRecord.name))))


def revoke_subscriber(session: Session, *, name: str, now: dt.datetime, actor: str) -> SubscriberRecord:
    record = session.exec(select(SubscriberRecord).where(SubscriberRecord.name == name)).first()
    if record is None:
        raise NotFoundError(f"no subscriber named {name!r} (see `roundtable subscribers list`)")
    if record.revoked_at is None:
        record.revoked_at = now
        log_change(session, at=now, actor=actor, action="subscriber-revoked", detail={"name": name})
        session.flush()
    return record


def subscriber_by_hash(session: Session, *, token_hash: str) -> SubscriberRecord | None:
    return session.exec(select(SubscriberRecord).where(SubscriberRecord.token_hash == token_hash)).first()


def store_generation(session: Session) -> int:
    """A number that grows with every change to the plan, deliverables, gates or
    subscribers (the change log's newest id): caches compare it to know they are stale."""
    return int(session.exec(select(func.max(ChangeRecord.id))).one() or 0)


def read_generation(connection: Connection) -> int:
    """`store_generation` on a bare connection: a quarter of the cost of a session, for
    the feed server, which asks before every request (benchmarks/serve_feeds)."""
    return int(connection.execute(_GENERATION).scalar() or 0)


_GENERATION = select(func.max(ChangeRecord.id))
