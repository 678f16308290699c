"""The reminders and escalations the overdue check has given: recorded once each, then
marked announced once their event is out. Functions add and flush; the caller commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from cycle.deadlines import Notice, Standing
from cycle.items import PlannedItem
from cycle.store.models import ItemRecord, NoticeRecord
from cycle.store.reads import to_planned_item
from cycle.store.repository import log_change


@dataclass(frozen=True, slots=True)
class NoticeView:
    id: int
    item: PlannedItem
    notice: Notice
    level: int
    level_slug: str | None
    due: dt.date
    working_days_late: int
    noticed_at: dt.datetime
    announced_at: dt.datetime | None


def _view(row: ItemRecord, record: NoticeRecord) -> NoticeView:
    assert record.id is not None
    return NoticeView(
        id=record.id,
        item=to_planned_item(row),
        notice=Notice(record.notice),
        level=record.level,
        level_slug=record.level_slug,
        due=record.due,
        working_days_late=record.working_days_late,
        noticed_at=record.noticed_at,
        announced_at=record.announced_at,
    )


def record_notices(
    session: Session, *, standings: Sequence[Standing], now: dt.datetime, actor: str
) -> list[NoticeView]:
    """Record every notice the standings call for that was not given before (for the same
    deliverable, notice, level and due date); return the new ones."""
    keys = sorted({s.item.key.to_string() for s in standings})
    rows = (
        {row.key: row for row in session.exec(select(ItemRecord).where(col(ItemRecord.key).in_(keys)))}
        if keys
        else {}
    )
    given = (
        {
            (n.item_id, n.notice, n.level, n.due)
            for n in session.exec(
                select(NoticeRecord).where(col(NoticeRecord.item_id).in_([r.id for r in rows.values()]))
            )
        }
        if rows
        else set()
    )
    new: list[tuple[ItemRecord, NoticeRecord]] = []
    for standing in standings:
        row = rows[standing.item.key.to_string()]
        assert row.id is not None
        for notice, level in standing.notices():
            index = level.index if level else 0
            if (row.id, notice.value, index, standing.due) in given:
                continue
            record = NoticeRecord(
                item_id=row.id,
                notice=notice.value,
                level=index,
                level_slug=level.slug if level else None,
                due=standing.due,
                working_days_late=standing.working_days_late,
                noticed_at=now,
            )
            session.add(record)
            new.append((row, record))
            given.add((row.id, notice.value, index, standing.due))
            log_change(
                session,
                at=now,
                actor=actor,
                cycle=row.cycle,
                item_key=row.key,
                action=f"notice-{notice.value}",
                detail={"level": record.level_slug, "due": standing.due.isoformat()},
            )
    session.flush()
    return [_view(row, record) for row, record in new]


def unannounced_notices(session: Session) -> list[NoticeView]:
    """Notices recorded whose event has not gone out yet, oldest first."""
    query = (
        select(ItemRecord, NoticeRecord)
        .join(NoticeRecord, col(NoticeRecord.item_id) == col(ItemRecord.id))
        .where(col(NoticeRecord.announced_at).is_(None))
        .order_by(col(NoticeRecord.id))
    )
    return [_view(row, record) for row, record in session.exec(query)]


def mark_announced(session: Session, *, ids: Sequence[int], now: dt.datetime) -> None:
    for record in session.exec(select(NoticeRecord).where(col(NoticeRecord.id).in_(list(ids)))):
        record.announced_at = now
        session.add(record)
    session.flush()
