"""The store's tables. Instants are stored in UTC (aware on the way in and out) with the
IANA zone kept beside them; deadlines and windows are dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CheckConstraint, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from cycle.store.types import UTCDateTime

# Named constraints, so migrations can find them again on every database.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _utc(*, nullable: bool) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


class CycleRecord(SQLModel, table=True):
    __tablename__ = "cycle"

    number: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    start: dt.date
    end: dt.date
    months: int
    planned_at: dt.datetime = _utc(nullable=False)


class BodyRecord(SQLModel, table=True):
    __tablename__ = "body"

    slug: str = Field(primary_key=True, max_length=60)
    kind: str = Field(max_length=10)
    status: str = Field(max_length=20)
    name_en: str = Field(sa_type=Text)
    name_es: str = Field(sa_type=Text)
    line_of_effort: str | None = Field(default=None, max_length=60)
    updated_at: dt.datetime = _utc(nullable=False)


class ItemRecord(SQLModel, table=True):
    """One planned item. `status` is `planned` or `cancelled`; `revision` becomes the
    iCalendar SEQUENCE and grows by one at every change."""

    __tablename__ = "planned_item"
    __table_args__ = (
        CheckConstraint("status IN ('planned', 'cancelled')", name="status"),
        Index("ix_planned_item_cycle_kind", "cycle", "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    cycle: int = Field(foreign_key="cycle.number")
    kind: str = Field(max_length=30)
    body: str | None = Field(default=None, max_length=60, index=True)
    phase: str = Field(max_length=30)
    owner: str | None = Field(default=None, max_length=60, index=True)
    host: str | None = Field(default=None, max_length=60)
    title_en: str = Field(sa_type=Text)
    title_es: str = Field(sa_type=Text)
    location_en: str | None = Field(default=None, sa_type=Text)
    location_es: str | None = Field(default=None, sa_type=Text)
    starts_at: dt.datetime | None = _utc(nullable=True)
    ends_at: dt.datetime | None = _utc(nullable=True)
    timezone: str | None = Field(default=None, max_length=64)
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    due: dt.date | None = Field(default=None, index=True)
    activity: str | None = Field(default=None, sa_type=Text)
    """JSON of an APA activity's facts (see cycle.items.ActivityFacts)."""
    status: str = Field(default="planned", max_length=20)
    revision: int = 0
    created_at: dt.datetime = _utc(nullable=False)
    updated_at: dt.datetime = _utc(nullable=False)


class DeliverableRecord(SQLModel, table=True):
    """The lifecycle of a deliverable item: who did what, when."""

    __tablename__ = "deliverable"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'submitted', 'accepted', 'waived')", name="state"),
        # The overdue check reads only pending deliverables: few, once a cycle is under way.
        Index(
            "ix_deliverable_pending",
            "item_id",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
    )

    item_id: int = Field(
        primary_key=True, foreign_key="planned_item.id", sa_column_kwargs={"autoincrement": False}
    )
    state: str = Field(default="pending", max_length=20, index=True)
    submitted_at: dt.datetime | None = _utc(nullable=True)
    submitted_by: str | None = Field(default=None, max_length=200)
    accepted_at: dt.datetime | None = _utc(nullable=True)
    accepted_by: str | None = Field(default=None, max_length=200)
    waived_reason: str | None = Field(default=None, sa_type=Text)
    note: str | None = Field(default=None, sa_type=Text)
    updated_at: dt.datetime = _utc(nullable=False)


class NoticeRecord(SQLModel, table=True):
    """A reminder or escalation the overdue check has decided to give: once per
    deliverable, notice, level and due date (a re-planned due date may notify again).
    `announced_at` is set once its event has been emitted, so a check that dies between
    the two announces it on its next run."""

    __tablename__ = "deliverable_notice"
    __table_args__ = (
        CheckConstraint("notice IN ('due-soon', 'overdue', 'escalated')", name="notice"),
        UniqueConstraint("item_id", "notice", "level", "due"),
    )

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="planned_item.id", index=True)
    notice: str = Field(max_length=20)
    level: int
    level_slug: str | None = Field(default=None, max_length=60)
    due: dt.date
    working_days_late: int = 0
    noticed_at: dt.datetime = _utc(nullable=False)
    announced_at: dt.datetime | None = _utc(nullable=True)


class GateRecord(SQLModel, table=True):
    """A decision the tri-chairs take: APA validation, exercise selection."""

    __tablename__ = "gate"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'approved', 'rejected', 'timed-out')", name="state"),
    )

    item_id: int = Field(
        primary_key=True, foreign_key="planned_item.id", sa_column_kwargs={"autoincrement": False}
    )
    state: str = Field(default="pending", max_length=20)
    decided_at: dt.datetime | None = _utc(nullable=True)
    decided_by: str | None = Field(default=None, sa_type=Text)
    decision: str | None = Field(default=None, sa_type=Text)
    """JSON of the latest decision (see cycle.gates.GateDecision); earlier ones are in the
    change log."""
    requested_at: dt.datetime | None = _utc(nullable=True)
    request_run: str | None = Field(default=None, max_length=64)
    """The Prefect flow run waiting for the decision, if one is."""
    expires_at: dt.datetime | None = _utc(nullable=True)
    """When the open request times out."""
    updated_at: dt.datetime = _utc(nullable=False)


class PhaseRecord(SQLModel, table=True):
    """How far the flows have taken a phase of a cycle: open, then completed, with the
    outcome they recorded."""

    __tablename__ = "phase_progress"
    __table_args__ = (CheckConstraint("state IN ('open', 'completed')", name="state"),)

    cycle: int = Field(
        primary_key=True, foreign_key="cycle.number", sa_column_kwargs={"autoincrement": False}
    )
    phase: str = Field(primary_key=True, max_length=30)
    state: str = Field(max_length=20)
    opened_at: dt.datetime = _utc(nullable=False)
    completed_at: dt.datetime | None = _utc(nullable=True)
    outcome: str = Field(default="{}", sa_type=Text)
    """JSON: what the phase's flow recorded (missing inputs, decisions, counts)."""
    updated_at: dt.datetime = _utc(nullable=False)


class ChangeRecord(SQLModel, table=True):
    """Every change to the store, with who made it and when: the audit trail."""

    __tablename__ = "change_log"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = _utc(nullable=False)
    actor: str = Field(max_length=200)
    cycle: int | None = Field(default=None, index=True)
    item_key: str | None = Field(default=None, max_length=200, index=True)
    action: str = Field(max_length=30)
    detail: str = Field(default="{}", sa_type=Text)


class SubscriberRecord(SQLModel, table=True):
    """Someone who subscribes to feeds through a private URL. Only the token's SHA-256 is
    kept: a copy of the database does not give anyone a working URL."""

    __tablename__ = "subscriber"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    token_hash: str = Field(max_length=64, unique=True)
    audiences: str = Field(sa_type=Text)
    """JSON list of audience names, e.g. ["org-sedena", "deliverables"]."""
    lang: str = Field(max_length=2)
    created_at: dt.datetime = _utc(nullable=False)
    revoked_at: dt.datetime | None = _utc(nullable=True)
    last_access_at: dt.datetime | None = _utc(nullable=True)


class ObjectiveRecord(SQLModel, table=True):
    """A body's objective. It is held in one cycle at a time (`cycle`): set in
    `first_cycle`, carried over at each close until achieved or dropped."""

    __tablename__ = "objective"
    __table_args__ = (
        CheckConstraint("status IN ('proposed', 'active', 'achieved', 'dropped')", name="status"),
        UniqueConstraint("body", "slug"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=130, unique=True)
    """`{body}/{slug}`, what people type."""
    body: str = Field(foreign_key="body.slug", max_length=60)
    slug: str = Field(max_length=60)
    horizon: str = Field(max_length=60)
    line_of_effort: str = Field(max_length=60)
    owner: str = Field(max_length=60)
    """The institution that owns it."""
    title_en: str = Field(sa_type=Text)
    title_es: str = Field(sa_type=Text)
    indicators: str = Field(default="[]", sa_type=Text)
    """JSON list of the success indicators."""
    status: str = Field(default="proposed", max_length=20)
    first_cycle: int = Field(foreign_key="cycle.number")
    cycle: int = Field(foreign_key="cycle.number", index=True)
    target: dt.date
    """When the horizon runs out: the first cycle's start plus the horizon's months."""
    progress: int = 0
    """Percent done, as last recorded."""
    created_at: dt.datetime = _utc(nullable=False)
    updated_at: dt.datetime = _utc(nullable=False)


class ObjectiveEventRecord(SQLModel, table=True):
    """The history of an objective: who changed what, when, and at which meeting."""

    __tablename__ = "objective_event"

    id: int | None = Field(default=None, primary_key=True)
    objective_id: int = Field(foreign_key="objective.id", index=True)
    cycle: int
    at: dt.datetime = _utc(nullable=False)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=30)
    """created, progress, carried-over, rated."""
    meeting: str | None = Field(default=None, max_length=200)
    """The key of the body's meeting it was recorded at, if any."""
    status: str = Field(max_length=20)
    """The objective's status after the event."""
    progress: int = 0
    note: str | None = Field(default=None, sa_type=Text)
    detail: str = Field(default="{}", sa_type=Text)
    """JSON: the fields that changed, before and after."""


class ObjectiveRatingRecord(SQLModel, table=True):
    """The AM&E group's rating of an objective at a cycle's assessment."""

    __tablename__ = "objective_rating"
    __table_args__ = (UniqueConstraint("objective_id", "cycle"),)

    id: int | None = Field(default=None, primary_key=True)
    objective_id: int = Field(foreign_key="objective.id", index=True)
    cycle: int = Field(foreign_key="cycle.number")
    value: int
    effectiveness: int
    note: str | None = Field(default=None, sa_type=Text)
    rated_by: str = Field(max_length=200)
    rated_at: dt.datetime = _utc(nullable=False)


class ActivityRecord(SQLModel, table=True):
    """An activity a body proposes for a cycle's Annual Plan of Activities. What the
    tri-chairs validated is frozen in `apa_version`; this row is the proposal."""

    __tablename__ = "activity"
    __table_args__ = (CheckConstraint("state IN ('proposed', 'withdrawn')", name="state"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    """`c{cycle}/activity/{body}/{slug}`: the item key it is planned under."""
    cycle: int = Field(foreign_key="cycle.number", index=True)
    body: str = Field(foreign_key="body.slug", max_length=60)
    kind: str = Field(max_length=60)
    title_en: str = Field(sa_type=Text)
    title_es: str = Field(sa_type=Text)
    first_day: dt.date
    last_day: dt.date
    window: bool = False
    """The dates are a window the activity will fall in, not its dates."""
    host: str = Field(max_length=60)
    participants: str = Field(default="[]", sa_type=Text)
    line_of_effort: str = Field(max_length=60)
    objectives: str = Field(default="[]", sa_type=Text)
    """JSON list of the keys of the objectives it serves."""
    location_en: str | None = Field(default=None, sa_type=Text)
    location_es: str | None = Field(default=None, sa_type=Text)
    state: str = Field(default="proposed", max_length=20)
    proposed_by: str = Field(max_length=200)
    proposed_at: dt.datetime = _utc(nullable=False)
    updated_at: dt.datetime = _utc(nullable=False)


class ApaVersionRecord(SQLModel, table=True):
    """A frozen version of a cycle's APA: version 1 as the tri-chairs validated it, each
    later one an amendment with its reason. Never updated."""

    __tablename__ = "apa_version"
    __table_args__ = (
        CheckConstraint("kind IN ('validated', 'amendment')", name="kind"),
        UniqueConstraint("cycle", "version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    cycle: int = Field(foreign_key="cycle.number")
    version: int
    kind: str = Field(max_length=20)
    activities: str = Field(sa_type=Text)
    """JSON list of the activities as they stand in this version."""
    change: str = Field(default="{}", sa_type=Text)
    """JSON: what the amendment changed (empty for the validation)."""
    reason: str | None = Field(default=None, sa_type=Text)
    decided_by: str = Field(sa_type=Text)
    gate: str | None = Field(default=None, max_length=200)
    at: dt.datetime = _utc(nullable=False)


__all__ = [
    "ActivityRecord",
    "ApaVersionRecord",
    "BodyRecord",
    "ChangeRecord",
    "CycleRecord",
    "DeliverableRecord",
    "GateRecord",
    "ItemRecord",
    "NoticeRecord",
    "ObjectiveEventRecord",
    "ObjectiveRatingRecord",
    "ObjectiveRecord",
    "PhaseRecord",
    "SubscriberRecord",
]
