"""Plain-data (JSON-ready) views of cycles, items and status, in one language."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cycle.cycles import Cycle
from cycle.deadlines import Standing
from cycle.items import PlannedItem
from cycle.program import Lang, Program
from cycle.status import CycleStatus, OverdueItem, TrackedItem


def cycle_json(cycle: Cycle) -> dict[str, Any]:
    return {
        "number": cycle.number,
        "start": cycle.start.isoformat(),
        "end": cycle.end.isoformat(),
        "months": cycle.months,
    }


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def item_json(item: PlannedItem, status: str, lang: Lang = "en") -> dict[str, Any]:
    """One item: timed ones carry start/end (ISO 8601 with offset) and timezone; phases
    first_day/last_day; milestones, deliverables and gates a due date."""
    return {
        "key": item.key.to_string(),
        "kind": item.kind.value,
        "phase": item.phase.value,
        "title": item.title.get(lang),
        "body": item.body,
        "owner": item.owner,
        "host": item.host,
        "location": item.location.get(lang) if item.location else None,
        "start": _iso(item.start),
        "end": _iso(item.end),
        "timezone": item.timezone,
        "first_day": _iso(item.first_day),
        "last_day": _iso(item.last_day),
        "due": _iso(item.due),
        "status": status,
    }


def tracked_json(tracked: TrackedItem, lang: Lang = "en") -> dict[str, Any]:
    return item_json(tracked.item, tracked.status, lang)


def overdue_json(overdue: OverdueItem, lang: Lang = "en") -> dict[str, Any]:
    return {
        "key": overdue.item.key.to_string(),
        "title": overdue.item.title.get(lang),
        "owner": overdue.item.owner,
        "due": _iso(overdue.item.due),
        "days_late": overdue.days_late,
        "working_days_late": overdue.working_days_late,
    }


def status_json(status: CycleStatus, lang: Lang = "en") -> dict[str, Any]:
    brief = ("key", "kind", "title", "owner", "start", "end", "timezone", "due", "first_day", "last_day")

    def short(item: PlannedItem, state: str = "planned") -> dict[str, Any]:
        full = item_json(item, state, lang)
        return {k: full[k] for k in brief if full[k] is not None}

    return {
        "cycle": cycle_json(status.cycle),
        "as_of": status.as_of.isoformat(),
        "state": status.state,
        "phase": status.phase.value if status.phase else None,
        "phase_window": [d.isoformat() for d in status.phase_window] if status.phase_window else None,
        "next_phase": short(status.next_phase) if status.next_phase else None,
        "deliverables": {
            "total": status.deliverables_total,
            "done": status.deliverables_done,
            "submitted": status.deliverables_submitted,
            "overdue": len(status.overdue),
        },
        "overdue": [overdue_json(o, lang) for o in status.overdue],
        "due_soon": [short(i, "pending") for i in status.due_soon],
        "next": [short(i) for i in status.next_events],
        "gates": [
            {**short(g.item), "status": g.status, "days_late": _gate_days_late(g, status.as_of)}
            for g in (*status.decided_gates, *status.open_gates)
        ],
    }


def _gate_days_late(gate: TrackedItem, as_of: dt.date) -> int:
    """Calendar days an undecided gate is past its due date (0 once decided, or before)."""
    if gate.status != "pending" or gate.item.due is None:
        return 0
    return max(0, (as_of - gate.item.due).days)


def owner_label(program: Program, slug: str | None, lang: Lang = "en") -> str:
    """A short name for an owner: an institution's acronym, a body's slug, a role's name."""
    if slug is None:
        return ""
    for inst in program.institutions:
        if inst.slug == slug:
            return inst.short
    if any(body.slug == slug for body in program.bodies):
        return slug
    try:
        return program.owner_name(slug).get(lang)
    except KeyError:
        return slug


def standing_json(standing: Standing, lang: Lang = "en") -> dict[str, Any]:
    """A deliverable that is overdue or due soon, with its escalation level."""
    level = standing.level
    return {
        "key": standing.item.key.to_string(),
        "title": standing.item.title.get(lang),
        "owner": standing.item.owner,
        "due": standing.due.isoformat(),
        "days_late": standing.days_late,
        "working_days_late": standing.working_days_late,
        "working_days_left": standing.working_days_left,
        "level": level.slug if level else None,
        "level_name": level.definition.name.get(lang) if level else None,
    }
