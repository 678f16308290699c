"""The APA in the store: the bodies' proposals (`activity`) and the frozen versions of
each cycle's APA (`apa_version`). Functions add and flush; the caller commits once."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from sqlmodel import Session, col, select

from cycle.apa import Activity, ApaPlan, ApaVersion
from cycle.errors import InputError, NotFoundError
from cycle.gates import GateDecision, GateState
from cycle.items import ItemKind
from cycle.program import Localized, Phase
from cycle.status import CANCELLED
from cycle.store.models import (
    ActivityRecord,
    ApaVersionRecord,
    GateRecord,
    ItemRecord,
    ObjectiveRecord,
)
from cycle.store.repository import log_change

PROPOSED = "proposed"
WITHDRAWN = "withdrawn"


def _activity(row: ActivityRecord) -> Activity:
    location = (
        Localized(en=row.location_en, es=row.location_es)
        if row.location_en is not None and row.location_es is not None
        else None
    )
    return Activity.from_json(
        {
            "key": row.key,
            "kind": row.kind,
            "title": {"en": row.title_en, "es": row.title_es},
            "first_day": row.first_day.isoformat(),
            "last_day": row.last_day.isoformat(),
            "window": row.window,
            "host": row.host,
            "participants": json.loads(row.participants),
            "line_of_effort": row.line_of_effort,
            "objectives": json.loads(row.objectives),
            "location": {"en": location.en, "es": location.es} if location else None,
        }
    )


def _columns(activity: Activity) -> dict[str, object]:
    return {
        "kind": activity.kind,
        "title_en": activity.title.en,
        "title_es": activity.title.es,
        "first_day": activity.first_day,
        "last_day": activity.last_day,
        "window": activity.window,
        "host": activity.host,
        "participants": json.dumps(list(activity.participants)),
        "line_of_effort": activity.line_of_effort,
        "objectives": json.dumps(list(activity.objectives)),
        "location_en": activity.location.en if activity.location else None,
        "location_es": activity.location.es if activity.location else None,
    }


def unknown_objectives(session: Session, keys: Sequence[str]) -> list[str]:
    """The objective keys among `keys` that the store does not hold."""
    if not keys:
        return []
    known = set(session.exec(select(ObjectiveRecord.key).where(col(ObjectiveRecord.key).in_(keys))))
    return [key for key in keys if key not in known]


def proposals(session: Session, *, cycle: int, withdrawn: bool = False) -> list[Activity]:
    """The cycle's proposals, by first day then key (the draft APA: those not withdrawn)."""
    query = select(ActivityRecord).where(ActivityRecord.cycle == cycle)
    if not withdrawn:
        query = query.where(ActivityRecord.state == PROPOSED)
    rows = session.exec(query.order_by(col(ActivityRecord.first_day), col(ActivityRecord.key)))
    return [_activity(row) for row in rows]


def proposal_states(session: Session, *, cycle: int) -> dict[str, str]:
    rows = session.exec(select(ActivityRecord.key, ActivityRecord.state).where(ActivityRecord.cycle == cycle))
    return dict(rows.all())


def versions(session: Session, *, cycle: int) -> list[ApaVersion]:
    """Every version of the cycle's APA, oldest first."""
    rows = session.exec(
        select(ApaVersionRecord)
        .where(ApaVersionRecord.cycle == cycle)
        .order_by(col(ApaVersionRecord.version))
    )
    return [
        ApaVersion(
            cycle=row.cycle,
            version=row.version,
            validated=row.kind == "validated",
            activities=tuple(Activity.from_json(a) for a in json.loads(row.activities)),
            decided_by=row.decided_by,
            at=row.at,
            reason=row.reason,
            change=json.loads(row.change),
            gate=row.gate,
        )
        for row in rows
    ]


def _in_validated_apa(session: Session, *, cycle: int, key: str) -> int | None:
    """The number of the latest version holding `key`, if the APA is validated and does."""
    found = versions(session, cycle=cycle)
    if found and found[-1].activity(key) is not None:
        return found[-1].version
    return None


def save_proposal(
    session: Session, *, activity: Activity, now: dt.datetime, actor: str
) -> tuple[Activity, str]:
    """Record a (checked) proposal, or revise a standing one; returns it and what was done
    (proposed, revised, unchanged, restored). A proposal the validated APA holds is frozen."""
    missing = unknown_objectives(session, activity.objectives)
    if missing:
        raise InputError(f"objectives: no objective {', '.join(missing)} (see `roundtable objectives list`)")
    key = activity.key.to_string()
    values = _columns(activity)
    row = session.exec(select(ActivityRecord).where(ActivityRecord.key == key).with_for_update()).first()
    if row is None:
        session.add(
            ActivityRecord(
                key=key,
                cycle=activity.key.cycle,
                body=activity.body,
                state=PROPOSED,
                proposed_by=actor,
                proposed_at=now,
                updated_at=now,
                **values,  # type: ignore[arg-type]
            )
        )
        log_change(
            session, at=now, actor=actor, action="activity-proposed", cycle=activity.key.cycle, item_key=key
        )
        session.flush()
        return activity, "proposed"
    version = _in_validated_apa(session, cycle=row.cycle, key=key)
    changes = {k: [str(getattr(row, k)), str(v)] for k, v in values.items() if getattr(row, k) != v}
    if row.state == PROPOSED and not changes:
        return activity, "unchanged"
    if version is not None:
        raise InputError(
            f"{key}: is in the validated APA (version {version}); change it with `roundtable apa amend`"
        )
    done = "restored" if row.state == WITHDRAWN else "revised"
    for name, value in values.items():
        setattr(row, name, value)
    row.state = PROPOSED
    row.updated_at = now
    log_change(
        session, at=now, actor=actor, action=f"activity-{done}", cycle=row.cycle, item_key=key, detail=changes
    )
    session.flush()
    return activity, done


def withdraw_proposal(session: Session, *, key: str, now: dt.datetime, actor: str) -> bool:
    """Withdraw a standing proposal; False if it was withdrawn already."""
    row = session.exec(select(ActivityRecord).where(ActivityRecord.key == key).with_for_update()).first()
    if row is None:
        raise NotFoundError(f"no proposed activity {key}")
    if row.state == WITHDRAWN:
        return False
    version = _in_validated_apa(session, cycle=row.cycle, key=key)
    if version is not None:
        raise InputError(
            f"{key}: is in the validated APA (version {version}); drop it with `roundtable apa amend --drop`"
        )
    row.state = WITHDRAWN
    row.updated_at = now
    log_change(session, at=now, actor=actor, action="activity-withdrawn", cycle=row.cycle, item_key=key)
    session.flush()
    return True


def body_proposals(session: Session, *, cycle: int, body: str) -> int:
    """How many standing proposals a body has for the cycle."""
    rows = session.exec(
        select(ActivityRecord.key).where(
            ActivityRecord.cycle == cycle, ActivityRecord.body == body, ActivityRecord.state == PROPOSED
        )
    )
    return len(rows.all())


def save_version(session: Session, *, version: ApaVersion, actor: str) -> None:
    """Freeze a new version of a cycle's APA (its number must be the next one)."""
    existing = versions(session, cycle=version.cycle)
    expected = existing[-1].version + 1 if existing else 1
    if version.version != expected:
        raise InputError(f"cycle {version.cycle}: APA version {version.version} is not next ({expected} is)")
    session.add(
        ApaVersionRecord(
            cycle=version.cycle,
            version=version.version,
            kind="validated" if version.validated else "amendment",
            activities=json.dumps(
                [a.to_json() for a in version.activities], ensure_ascii=False, sort_keys=True
            ),
            change=json.dumps(version.change, sort_keys=True),
            reason=version.reason,
            decided_by=version.decided_by,
            gate=version.gate,
            at=version.at,
        )
    )
    log_change(
        session,
        at=version.at,
        actor=actor,
        action="apa-validated" if version.validated else "apa-amended",
        cycle=version.cycle,
        detail={
            "version": version.version,
            "activities": [a.key.to_string() for a in version.activities],
            **({"change": version.change, "reason": version.reason} if not version.validated else {}),
        },
    )
    session.flush()


def selected_exercise(session: Session, *, cycle: int) -> str | None:
    """The activity the tri-chairs chose for the cycle's observation visit, if they have."""
    query = (
        select(GateRecord.decision)
        .join(ItemRecord, col(GateRecord.item_id) == col(ItemRecord.id))
        .where(
            ItemRecord.cycle == cycle,
            ItemRecord.kind == ItemKind.gate.value,
            ItemRecord.phase == Phase.observation_visit.value,
            ItemRecord.status != CANCELLED,
            GateRecord.state == GateState.approved.value,
        )
    )
    decision = session.exec(query).first()
    if decision is None:
        return None
    chosen = GateDecision.from_json(decision).activities
    return chosen[0] if chosen else None


def apa_plan(session: Session, *, cycle: int) -> ApaPlan:
    """What the schedule engine needs of the cycle's APA: its latest version's activities
    and the one chosen for the observation visit."""
    found = versions(session, cycle=cycle)
    if not found:
        return ApaPlan()
    latest = found[-1]
    selected = selected_exercise(session, cycle=cycle)
    return ApaPlan(activities=latest.activities, visit=latest.activity(selected) if selected else None)
