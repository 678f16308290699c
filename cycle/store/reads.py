"""What `roundtable status` reads of the store, without the ORM models.

`status` must start within 1.5x of importing pendulum and sqlmodel (figure 5 of
benchmarks/). Importing `cycle.store.models` maps the store's fifteen SQLModel tables
(about 0.12 s) and, through the partial index of pending deliverables, loads SQLAlchemy's
PostgreSQL dialect even on SQLite (about 0.05 s): together about half of the command's
own start. This module describes the columns the read path reads as lightweight Core
tables with the models' own types, and reads plain rows through them. The models remain
the schema (migrations are checked against them); tests/cycle/store/test_reads.py keeps
these descriptions equal to theirs, so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from typing import Any

import pendulum
from sqlalchemy import Connection, Date, Integer, Row, Text, column, select, table
from sqlmodel import Session
from sqlmodel.sql.sqltypes import AutoString

from cycle.items import ActivityFacts, ItemKey, PlannedItem
from cycle.program import Localized, Phase
from cycle.status import CANCELLED, TrackedItem
from cycle.store.types import UTCDateTime

PLANNED = "planned"

PLANNED_ITEM = table(
    "planned_item",
    column("id", Integer),
    column("key", AutoString),
    column("cycle", Integer),
    column("kind", AutoString),
    column("body", AutoString),
    column("phase", AutoString),
    column("owner", AutoString),
    column("host", AutoString),
    column("title_en", Text),
    column("title_es", Text),
    column("location_en", Text),
    column("location_es", Text),
    column("starts_at", UTCDateTime()),
    column("ends_at", UTCDateTime()),
    column("timezone", AutoString),
    column("first_day", Date),
    column("last_day", Date),
    column("due", Date),
    column("activity", Text),
    column("status", AutoString),
    column("revision", Integer),
    column("created_at", UTCDateTime()),
    column("updated_at", UTCDateTime()),
)
DELIVERABLE = table(
    "deliverable",
    column("item_id", Integer),
    column("state", AutoString),
    column("updated_at", UTCDateTime()),
)
GATE = table(
    "gate",
    column("item_id", Integer),
    column("state", AutoString),
    column("updated_at", UTCDateTime()),
)
CYCLE = table("cycle", column("number", Integer))

LIGHT_TABLES = (PLANNED_ITEM, DELIVERABLE, GATE, CYCLE)
"""Every description here, for the test that holds them to the models."""


def planned_cycle_numbers(session: Session | Connection) -> list[int]:
    """The numbers of the cycles planned in the store, in order."""
    number = CYCLE.c.number
    return [row.number for row in session.execute(select(number).order_by(number))]


def tracked_items(session: Session | Connection, *, cycle: int | None) -> list[TrackedItem]:
    """Every item of a cycle (or of all cycles) with its status: cancelled, a deliverable or
    gate state, or planned; its revision and the time of its last change.

    Reads plain rows, not ORM objects: building three objects per item cost more than
    the rest of a re-plan's read-back (benchmarks/plan_program)."""
    item, deliverable, gate = PLANNED_ITEM.c, DELIVERABLE.c, GATE.c
    query = (
        select(
            *PLANNED_ITEM.columns,
            deliverable.state.label("deliverable_state"),
            deliverable.updated_at.label("deliverable_updated_at"),
            gate.state.label("gate_state"),
            gate.updated_at.label("gate_updated_at"),
        )
        .select_from(
            PLANNED_ITEM.outerjoin(DELIVERABLE, deliverable.item_id == item.id).outerjoin(
                GATE, gate.item_id == item.id
            )
        )
        .order_by(item.id)
    )
    if cycle is not None:
        query = query.where(item.cycle == cycle)
    tracked = []
    for row in session.execute(query):
        state, updated = (
            (row.deliverable_state, row.deliverable_updated_at)
            if row.deliverable_state is not None
            else (row.gate_state, row.gate_updated_at)
        )
        status = CANCELLED if row.status == CANCELLED else (state if state is not None else PLANNED)
        changed = max(row.updated_at, updated) if updated is not None else row.updated_at
        tracked.append(
            TrackedItem(item=to_planned_item(row), status=status, revision=row.revision, changed_at=changed)
        )
    return tracked


def to_planned_item(row: Any | Row[Any]) -> PlannedItem:
    """Rebuild the domain item from its row (a planned_item row or record), instants back
    in their own zone."""
    location = (
        _localized(row.location_en, row.location_es)
        if row.location_en is not None and row.location_es is not None
        else None
    )
    return PlannedItem(
        key=ItemKey.from_string(row.key),
        phase=Phase(row.phase),
        title=_localized(row.title_en, row.title_es),
        owner=row.owner,
        host=row.host,
        location=location,
        start=None if row.starts_at is None else _local(row.starts_at, row.timezone),
        end=None if row.ends_at is None else _local(row.ends_at, row.timezone),
        timezone=row.timezone,
        first_day=row.first_day,
        last_day=row.last_day,
        due=row.due,
        activity=ActivityFacts.from_json(json.loads(row.activity)) if row.activity else None,
    )


def _local(instant: dt.datetime, timezone: str | None) -> pendulum.DateTime:
    """A stored instant back in its own zone."""
    assert timezone is not None
    zone = _zone(timezone)
    moved = instant.astimezone(zone)  # the standard library's conversion: 7x pendulum's
    return pendulum.DateTime(
        moved.year,
        moved.month,
        moved.day,
        moved.hour,
        moved.minute,
        moved.second,
        moved.microsecond,
        tzinfo=zone,
        fold=moved.fold,
    )


@functools.lru_cache(maxsize=4096)
def _localized(en: str, es: str) -> Localized:
    """One validated (frozen) text per pair: the same titles come back in every cycle,
    and validating each again was a fifth of reading a deliverable (benchmarks/check_overdue)."""
    return Localized(en=en, es=es)


@functools.cache
def _zone(name: str) -> pendulum.Timezone:
    """A zone by name, built once: building one reads its rules (benchmarks/plan_program)."""
    return pendulum.timezone(name)
