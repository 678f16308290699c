"""What `roundtable status` reads of the store, without the ORM models.

`status` must start within 1.5x of importing pendulum and sqlmodel (figure 5 of
benchmarks/). Importing `cycle.store.models` maps the store's fourteen SQLModel tables
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
from collections.abc import Mapping, Sequence
from typing import Any

import pendulum
from sqlalchemy import Connection, Date, Integer, Text, column, select, table
from sqlmodel import Session
from sqlmodel.sql.sqltypes import AutoString

from cycle.errors import InputError, StoreError
from cycle.items import ActivityFacts, ItemKey, PlannedItem, due_item, stored_item, stored_key, zone_named
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


def not_planned(number: int, planned: Sequence[int]) -> StoreError:
    """The one refusal of a cycle the store holds no plan of: how to plan it, and which
    cycles are planned."""
    hint = f" (planned: {', '.join(map(str, planned))})" if planned else ""
    return StoreError(
        f"cycle {number} is not planned yet: run `roundtable plan --cycle {number}`"
        f" or the plan-cycle flow{hint}"
    )


def require_planned(session: Session | Connection, number: int) -> None:
    """Refuse, with `not_planned`, a cycle the store holds no plan of."""
    planned = planned_cycle_numbers(session)
    if number not in planned:
        raise not_planned(number, planned)


def tracked_items(
    session: Session, *, cycle: int | None, known: Mapping[str, PlannedItem] | None = None
) -> list[TrackedItem]:
    """Every item of a cycle (or of all cycles) with its status: cancelled, a deliverable or
    gate state, or planned; its revision and the time of its last change.

    `known` are items whose stored content the caller knows already, by key (a plan just
    applied: `PlanReport.planned`): for them only the status columns are read. Why: the
    read-back that `roundtable plan` prints was a sixth of planning (figure 1), most of it
    parsing again the titles, places and instants just written. tests/cycle/store/
    test_repository.py holds the result equal to a full read.

    Reads plain rows, not ORM objects: building three objects per item cost more than
    the rest of a re-plan's read-back (benchmarks/plan_program). For the same reason the
    query goes to the session's connection (the ORM's loading layer around a plain select
    was half of the read-back that `roundtable plan` prints, figure 1), and reads only the
    columns it returns."""
    item, deliverable, gate = PLANNED_ITEM.c, DELIVERABLE.c, GATE.c
    identity = [item.key] if known is not None else [item[name] for name in ITEM_COLUMNS]
    query = (
        select(
            *identity,
            item.status,
            item.revision,
            item.updated_at,
            deliverable.state,
            deliverable.updated_at,
            gate.state,
            gate.updated_at,
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
    session.flush()  # what `session.execute` would do first: pending changes are read back
    rows = session.connection().execute(query).all()  # at once: row by row cost a fifth more
    if known is not None:
        missing = [row[0] for row in rows if row[0] not in known]  # cancelled by the plan
        known = {**known, **_stored_items(session, missing)} if missing else known
    tracked = []
    for (
        *content,
        item_status,
        revision,
        item_updated,
        deliverable_state,
        deliverable_updated,
        gate_state,
        gate_updated,
    ) in rows:
        state, updated = (
            (deliverable_state, deliverable_updated)
            if deliverable_state is not None
            else (gate_state, gate_updated)
        )
        status = CANCELLED if item_status == CANCELLED else (state if state is not None else PLANNED)
        changed = max(item_updated, updated) if updated is not None else item_updated
        built = planned_item_from(*content) if known is None else known[content[0]]
        tracked.append(TrackedItem(item=built, status=status, revision=revision, changed_at=changed))
    return tracked


def _stored_items(session: Session, keys: list[str]) -> dict[str, PlannedItem]:
    """The items stored under `keys`, by key."""
    item = PLANNED_ITEM.c
    query = select(*(item[name] for name in ITEM_COLUMNS)).where(item.key.in_(keys))
    return {row[0]: planned_item_from(*row) for row in session.connection().execute(query).all()}


def to_planned_item(row: Any) -> PlannedItem:
    """Rebuild the domain item from its row, instants back in their own zone."""
    return planned_item_from(
        row.key,
        row.phase,
        row.owner,
        row.host,
        row.title_en,
        row.title_es,
        row.location_en,
        row.location_es,
        row.starts_at,
        row.ends_at,
        row.timezone,
        row.first_day,
        row.last_day,
        row.due,
        row.activity,
    )


ITEM_COLUMNS = (
    "key",  # the kind and body are in the key
    "phase",
    "owner",
    "host",
    "title_en",
    "title_es",
    "location_en",
    "location_es",
    "starts_at",
    "ends_at",
    "timezone",
    "first_day",
    "last_day",
    "due",
    "activity",
)
"""What `planned_item_from` takes, in its order: a query of these columns feeds it whole rows."""
_PHASES = {phase.value: phase for phase in Phase}


def planned_item_from(
    key: str,
    phase: str,
    owner: str | None,
    host: str | None,
    title_en: str,
    title_es: str,
    location_en: str | None,
    location_es: str | None,
    starts_at: dt.datetime | None,
    ends_at: dt.datetime | None,
    timezone: str | None,
    first_day: dt.date | None,
    last_day: dt.date | None,
    due: dt.date | None,
    activity: str | None,
) -> PlannedItem:
    # Positional values, not a row's attributes; the phase by dict, not the enum's call; the
    # key's parts after the cycle parsed once per text: all three showed in the overdue
    # check's profile at a million deliverables (benchmarks/check_overdue, figure 4).
    return stored_item(
        _stored_key(key),
        _PHASES[phase] if phase in _PHASES else Phase(phase),
        _localized(title_en, title_es),
        owner,
        host,
        None if location_en is None or location_es is None else _localized(location_en, location_es),
        None if starts_at is None else _local(starts_at, timezone),
        None if ends_at is None else _local(ends_at, timezone),
        timezone,
        first_day,
        last_day,
        due,
        ActivityFacts.from_json(json.loads(activity)) if activity else None,
    )


DELIVERABLE_COLUMNS = ("key", "phase", "owner", "title_en", "title_es", "due")
"""What `deliverable_from` takes, in its order. The schedule makes a deliverable of its key,
phase, title, owner and due date alone (`cycle/schedule.py`): no host, place, times, window
or activity. tests/cycle/store/test_repository.py holds `pending_deliverable_items`, which
reads these, equal to `list_deliverables`, which reads every column."""


def deliverable_from(
    key: str, phase: str, owner: str | None, title_en: str, title_es: str, due: dt.date | None
) -> PlannedItem:
    """A deliverable's item from its own columns: `planned_item_from` without the columns a
    deliverable leaves empty. Why: the overdue check reads a row per pending deliverable,
    and fewer columns are less to send, convert and pass (benchmarks/check_overdue, figure 4)."""
    return due_item(
        _stored_key(key),
        _PHASES[phase] if phase in _PHASES else Phase(phase),
        _localized(title_en, title_es),
        owner,
        due,
    )


def _stored_key(text: str) -> ItemKey:
    """A stored key's ItemKey: its kind, body and name repeat in every cycle."""
    cycle, _, rest = text.partition("/")
    number = cycle[1:]
    if cycle[:1] != "c" or not (number.isascii() and number.isdigit()) or len(number) > 4:
        return ItemKey.from_string(text)  # not a key: its error names the whole text
    try:
        parsed = _key_rest(rest)
    except InputError:
        return ItemKey.from_string(text)
    return stored_key(int(number), parsed.kind, parsed.body, parsed.name)


@functools.lru_cache(maxsize=4096)
def _key_rest(rest: str) -> ItemKey:
    """The kind, body and name of a key (`rest` is the key after its cycle), validated once."""
    return ItemKey.from_string(f"c0/{rest}")


def _local(instant: dt.datetime, timezone: str | None) -> pendulum.DateTime:
    """A stored instant back in its own zone."""
    assert timezone is not None
    zone = zone_named(timezone)
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
