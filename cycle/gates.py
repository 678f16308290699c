"""The tri-chairs' decisions: what a gate's answer holds and when it is acceptable.

Two gates exist in the template: at the executive session the tri-chairs validate the
Annual Plan of Activities (APA), and in the second year they select, from the validated
APA, the exercise or training their delegations will observe. The same checks apply to an
answer from the Prefect UI's form, from `roundtable gates decide` and from the API.

    pending --request--> pending (asked)  --decide--> approved | rejected
    pending (asked) --timeout--> timed-out
    rejected | timed-out --request--> pending (asked again)

An approved gate is final: its phase moves on and asking again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cycle.errors import InputError
from cycle.program import Phase, Program

MAX_NOTES = 2000
MAX_ACTIVITY = 200
MAX_ACTIVITIES = 200


class GateState(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    timed_out = "timed-out"


DECIDED_STATES = frozenset({GateState.approved, GateState.rejected})


@dataclass(frozen=True, slots=True)
class GateDecision:
    """An answer to a gate.

    `activities` are the keys of the validated activities at the APA validation, or of
    the one selected exercise or training at the exercise selection.
    """

    approved: bool
    tri_chairs: tuple[str, ...]
    notes: str = ""
    activities: tuple[str, ...] = ()

    @property
    def state(self) -> GateState:
        return GateState.approved if self.approved else GateState.rejected

    def to_json(self) -> str:
        return json.dumps(
            {
                "approved": self.approved,
                "tri_chairs": list(self.tri_chairs),
                "notes": self.notes,
                "activities": list(self.activities),
            },
            sort_keys=True,
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> GateDecision:
        data: dict[str, Any] = json.loads(text)
        return cls(
            approved=bool(data["approved"]),
            tri_chairs=tuple(data["tri_chairs"]),
            notes=str(data.get("notes", "")),
            activities=tuple(data.get("activities", ())),
        )


def tri_chair_slugs(program: Program) -> tuple[str, ...]:
    return tuple(chair.institution for chair in program.tri_chairs)


def check_decision(
    program: Program,
    phase: Phase,
    decision: GateDecision,
    *,
    offered: Sequence[str] = (),
) -> GateDecision:
    """The decision with its text tidied, or `InputError` naming the first problem.

    `offered` is what the decision may name: at the APA validation the draft APA's
    activities, at the exercise selection the validated APA's observable activities of
    the second year (activity keys, like c9/activity/sst-navy/aztec-alligator-2027).

    >>> from cycle.config import load_program, shipped_config_path
    >>> program, _ = load_program(shipped_config_path(), check_schedule=False)
    >>> ex = "c9/activity/sst-navy/ex"
    >>> answer = GateDecision(True, ("sedena",), "", (ex,))
    >>> check_decision(program, Phase.executive_session, answer, offered=(ex,))
    GateDecision(approved=True, tri_chairs=('sedena',), notes='', activities=('c9/activity/sst-navy/ex',))
    """
    chairs = tri_chair_slugs(program)
    if not decision.tri_chairs:
        raise InputError(f"tri_chairs: name who decided (one or more of {', '.join(chairs)})")
    for slug in decision.tri_chairs:
        if slug not in chairs:
            raise InputError(f"tri_chairs: {slug!r} is not a tri-chair (one of {', '.join(chairs)})")
    if len(set(decision.tri_chairs)) != len(decision.tri_chairs):
        raise InputError("tri_chairs: a tri-chair is named twice")
    notes = decision.notes.replace("\r\n", "\n").replace("\r", "\n").strip()
    if "\x00" in notes:
        raise InputError("notes: must be text (a NUL character is not)")
    if len(notes) > MAX_NOTES:
        raise InputError(f"notes: at most {MAX_NOTES} characters")
    if not decision.approved and not notes:
        raise InputError("notes: a rejection needs a reason in the notes")
    activities = tuple(a.strip() for a in decision.activities)
    for activity in activities:
        if not activity or len(activity) > MAX_ACTIVITY or any(ch in activity for ch in "\r\n\x00"):
            raise InputError(f"activities: each is one line of 1-{MAX_ACTIVITY} characters")
    if len(set(activities)) != len(activities):
        raise InputError("activities: an activity is listed twice")
    if phase is Phase.executive_session:
        if decision.approved and not activities:
            raise InputError("validated_activities: an approved APA lists at least one activity")
        if len(activities) > MAX_ACTIVITIES:
            raise InputError(f"validated_activities: at most {MAX_ACTIVITIES}")
        for activity in activities:
            if activity not in offered:
                raise InputError(
                    f"validated_activities: {activity!r} is not an activity of the draft APA"
                    " (see `roundtable apa show`)"
                )
    elif phase is Phase.observation_visit:
        if decision.approved and len(activities) != 1:
            raise InputError("exercise: select exactly one exercise or training")
        for activity in activities:
            if activity not in offered:
                raise InputError(
                    f"exercise: {activity!r} is not one the visit can observe: a combined exercise or "
                    "training of the validated APA, in the second year, not begun yet"
                    + (f" ({'; '.join(offered)})" if offered else "")
                )
    else:
        raise InputError(f"phase {phase.value!r} has no gate")
    return GateDecision(
        approved=decision.approved, tri_chairs=decision.tri_chairs, notes=notes, activities=activities
    )


def timed_out(key: str, expires_at: dt.datetime | None) -> str:
    """What a person is told who answers a request that ran out of time."""
    when = f" on {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else ""
    return f"{key}: the request timed out{when}; run its phase flow again to ask again"


def expired(expires_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether an open request has run out of time.

    >>> expired(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    True
    >>> expired(None, dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    False
    """
    return expires_at is not None and now >= expires_at
