"""The bodies' objectives in the store: added, moved on at the bodies' meetings, carried
over at each close, rated at each assessment. Every change writes an `objective_event`
(the objective's own history) and a change-log row. Functions add and flush; the caller
commits once.

An objective is **held** in every cycle from the one it was set in (`first_cycle`) to the
one it is in now (`cycle`): listing cycle N gives those with first_cycle <= N <= cycle.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from cycle.errors import InputError, NotFoundError
from cycle.items import ItemKey, ItemKind
from cycle.objectives import (
    CARRIED_OVER,
    RATED,
    NewObjective,
    ObjectiveKey,
    ObjectiveStatus,
    is_final,
    transition,
)
from cycle.store.models import (
    ItemRecord,
    ObjectiveEventRecord,
    ObjectiveRatingRecord,
    ObjectiveRecord,
)
from cycle.store.reads import PLANNED, require_planned
from cycle.store.repository import log_change


def find_objective(session: Session, *, key: str, lock: bool = False) -> ObjectiveRecord:
    """The objective `key` names, or `NotFoundError`; `lock` holds it for an update."""
    ObjectiveKey.from_string(key)
    query = select(ObjectiveRecord).where(ObjectiveRecord.key == key)
    if lock:
        query = query.with_for_update()
    found = session.exec(query).first()
    if found is None:
        raise NotFoundError(f"no objective {key} in the store (see `roundtable objectives list`)")
    return found


def _record_event(
    session: Session,
    *,
    objective: ObjectiveRecord,
    action: str,
    at: dt.datetime,
    actor: str,
    detail: dict[str, Any],
    cycle: int | None = None,
    note: str | None = None,
    meeting: str | None = None,
) -> None:
    """One history event of the objective and its change-log row."""
    assert objective.id is not None
    number = objective.cycle if cycle is None else cycle
    session.add(
        ObjectiveEventRecord(
            objective_id=objective.id,
            cycle=number,
            at=at,
            actor=actor,
            action=action,
            meeting=meeting,
            status=objective.status,
            progress=objective.progress,
            note=note,
            detail=json.dumps(detail, sort_keys=True, default=str),
        )
    )
    log_change(
        session,
        at=at,
        actor=actor,
        action=f"objective-{action}",
        cycle=number,
        detail={"objective": objective.key, **detail, **({"note": note} if note else {})},
    )


def add_objective(session: Session, *, new: NewObjective, now: dt.datetime, actor: str) -> ObjectiveRecord:
    """Store a checked new objective in its first cycle (which must be planned)."""
    require_planned(session, new.first_cycle)
    key = new.key.to_string()
    if session.exec(select(ObjectiveRecord.id).where(ObjectiveRecord.key == key)).first() is not None:
        raise InputError(f"objective {key} exists already (see `roundtable objectives show {key}`)")
    record = ObjectiveRecord(
        key=key,
        body=new.key.body,
        slug=new.key.slug,
        horizon=new.horizon,
        line_of_effort=new.line_of_effort,
        owner=new.owner,
        title_en=new.title.en,
        title_es=new.title.es,
        indicators=json.dumps(list(new.indicators), ensure_ascii=False),
        status=new.status.value,
        first_cycle=new.first_cycle,
        cycle=new.first_cycle,
        target=new.target,
        progress=0,
        created_at=now,
        updated_at=now,
    )
    session.add(record)
    session.flush()
    _record_event(
        session,
        objective=record,
        action="created",
        at=now,
        actor=actor,
        detail={
            "status": [None, record.status],
            "horizon": record.horizon,
            "line_of_effort": record.line_of_effort,
            "owner": record.owner,
            "target": record.target.isoformat(),
        },
    )
    session.flush()
    return record


def _check_meeting(session: Session, *, objective: ObjectiveRecord, meeting: str) -> str:
    """A planned meeting of the objective's body in the cycle the objective is in."""
    parsed = ItemKey.from_string(meeting)
    where = f"meeting: {meeting} is not"
    if parsed.kind is not ItemKind.meeting:
        raise InputError(f"{where} a meeting but a {parsed.kind.value}")
    if parsed.body != objective.body:
        raise InputError(f"{where} a meeting of {objective.body}, whose objective this is")
    if parsed.cycle != objective.cycle:
        raise InputError(f"{where} in cycle {objective.cycle}, which {objective.key} is in")
    row = session.exec(select(ItemRecord.status).where(ItemRecord.key == meeting)).first()
    if row is None:
        raise InputError(f"{where} in the plan (see `roundtable plan --cycle {objective.cycle}`)")
    if row != PLANNED:
        raise InputError(f"{where} planned: it was cancelled by a re-plan")
    return meeting


def record_progress(
    session: Session,
    *,
    key: str,
    note: str,
    percent: int,
    status: ObjectiveStatus | None,
    meeting: str | None,
    now: dt.datetime,
    actor: str,
) -> ObjectiveRecord:
    """Record how far an objective has come (with an optional new status, and the body's
    meeting it was reported at). The note and the percentage are checked by the caller."""
    record = find_objective(session, key=key, lock=True)
    before = ObjectiveStatus(record.status)
    if is_final(before):
        raise InputError(f"{key} is {before.value}: it takes no more progress records")
    after = transition(before, status, key=key)
    at_meeting = _check_meeting(session, objective=record, meeting=meeting) if meeting else None
    detail: dict[str, Any] = {}
    if after is not before:
        detail["status"] = [before.value, after.value]
    if percent != record.progress:
        detail["progress"] = [record.progress, percent]
    record.status, record.progress, record.updated_at = after.value, percent, now
    _record_event(
        session,
        objective=record,
        action="progress",
        at=now,
        actor=actor,
        detail=detail,
        note=note,
        meeting=at_meeting,
    )
    session.flush()
    return record


def carry_over(session: Session, *, cycle: int, now: dt.datetime, actor: str) -> list[str]:
    """Carry every objective of `cycle` that is still proposed or active into the next one
    (which must be planned); returns their keys. Running it again carries nothing."""
    following = cycle + 1
    require_planned(session, following)
    rows = session.exec(
        select(ObjectiveRecord)
        .where(ObjectiveRecord.cycle == cycle)
        .where(col(ObjectiveRecord.status).in_([s.value for s in CARRIED_OVER]))
        .order_by(col(ObjectiveRecord.key))
        .with_for_update()
    ).all()
    for record in rows:
        record.cycle, record.updated_at = following, now
        _record_event(
            session,
            objective=record,
            action="carried-over",
            at=now,
            actor=actor,
            detail={"cycle": [cycle, following]},
        )
    session.flush()
    return [r.key for r in rows]


def rate_objective(
    session: Session,
    *,
    key: str,
    cycle: int,
    value: int,
    effectiveness: int,
    note: str | None,
    now: dt.datetime,
    actor: str,
) -> ObjectiveRatingRecord:
    """The AM&E rating of an objective for a cycle it is held in (values checked against
    the scale by the caller). Rating again replaces the rating; the history keeps both."""
    record = find_objective(session, key=key, lock=True)
    if not record.first_cycle <= cycle <= record.cycle:
        raise InputError(f"{key} is not held in cycle {cycle} (cycles {record.first_cycle}-{record.cycle})")
    if ObjectiveStatus(record.status) not in RATED:
        raise InputError(f"{key} is {record.status}: only active or achieved objectives are rated")
    assert record.id is not None
    rating = session.exec(
        select(ObjectiveRatingRecord)
        .where(ObjectiveRatingRecord.objective_id == record.id)
        .where(ObjectiveRatingRecord.cycle == cycle)
    ).first()
    before = (rating.value, rating.effectiveness, rating.note) if rating else (None, None, None)
    if before == (value, effectiveness, note):
        assert rating is not None
        return rating  # the same rating again changes nothing
    if rating is None:
        rating = ObjectiveRatingRecord(
            objective_id=record.id,
            cycle=cycle,
            value=value,
            effectiveness=effectiveness,
            note=note,
            rated_by=actor,
            rated_at=now,
        )
        session.add(rating)
    else:
        rating.value, rating.effectiveness, rating.note = value, effectiveness, note
        rating.rated_by, rating.rated_at = actor, now
    _record_event(
        session,
        objective=record,
        action="rated",
        at=now,
        actor=actor,
        cycle=cycle,
        note=note,
        detail={
            "rated_cycle": cycle,
            "value": [before[0], value],
            "effectiveness": [before[1], effectiveness],
        },
    )
    session.flush()
    return rating


# --- reading ------------------------------------------------------------------------------


def list_objectives(
    session: Session,
    *,
    cycle: int | None = None,
    body: str | None = None,
    statuses: Sequence[ObjectiveStatus] = (),
) -> list[ObjectiveRecord]:
    """The objectives held in `cycle` (or in any), of `body` (or of all), by key."""
    query = select(ObjectiveRecord)
    if cycle is not None:
        query = query.where(ObjectiveRecord.first_cycle <= cycle).where(ObjectiveRecord.cycle >= cycle)
    if body is not None:
        query = query.where(ObjectiveRecord.body == body)
    if statuses:
        query = query.where(col(ObjectiveRecord.status).in_([s.value for s in statuses]))
    return list(session.exec(query.order_by(col(ObjectiveRecord.key))))


def objective_history(session: Session, *, key: str) -> list[ObjectiveEventRecord]:
    """Every change to the objective, oldest first."""
    record = find_objective(session, key=key)
    return list(
        session.exec(
            select(ObjectiveEventRecord)
            .where(ObjectiveEventRecord.objective_id == record.id)
            .order_by(col(ObjectiveEventRecord.id))
        )
    )


def objective_ratings(
    session: Session, *, key: str | None = None, upto: int | None = None
) -> list[tuple[str, ObjectiveRatingRecord]]:
    """Ratings with their objective's key (of one objective, or all; of cycles up to
    `upto`), by key and cycle."""
    query = select(ObjectiveRecord.key, ObjectiveRatingRecord).join(
        ObjectiveRecord, col(ObjectiveRecord.id) == col(ObjectiveRatingRecord.objective_id)
    )
    if key is not None:
        query = query.where(ObjectiveRecord.key == find_objective(session, key=key).key)
    if upto is not None:
        query = query.where(ObjectiveRatingRecord.cycle <= upto)
    query = query.order_by(col(ObjectiveRecord.key), col(ObjectiveRatingRecord.cycle))
    return [(k, rating) for k, rating in session.exec(query)]


def unrated_objectives(session: Session, *, cycle: int) -> list[ObjectiveRecord]:
    """The active objectives held in `cycle` that have no rating for it yet."""
    rated = set(
        session.exec(select(ObjectiveRatingRecord.objective_id).where(ObjectiveRatingRecord.cycle == cycle))
    )
    active = list_objectives(session, cycle=cycle, statuses=[ObjectiveStatus.active])
    return [r for r in active if r.id not in rated]
