"""The deliverable lifecycle and the overdue rule.

    pending --submit--> submitted --accept--> accepted
       ^                    |
       +------return--------+          pending|submitted --waive(reason)--> waived

Whether a deliverable is overdue, due soon or escalated is decided by `cycle.deadlines`.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from cycle.business_calendar import BusinessCalendar
from cycle.errors import TransitionError


class DeliverableState(StrEnum):
    pending = "pending"
    submitted = "submitted"
    accepted = "accepted"
    waived = "waived"


class Action(StrEnum):
    submit = "submit"
    accept = "accept"
    return_ = "return"
    waive = "waive"


_TRANSITIONS: dict[tuple[DeliverableState, Action], DeliverableState] = {
    (DeliverableState.pending, Action.submit): DeliverableState.submitted,
    (DeliverableState.submitted, Action.accept): DeliverableState.accepted,
    (DeliverableState.submitted, Action.return_): DeliverableState.pending,
    (DeliverableState.pending, Action.waive): DeliverableState.waived,
    (DeliverableState.submitted, Action.waive): DeliverableState.waived,
}

DONE_STATES = frozenset({DeliverableState.accepted, DeliverableState.waived})
"""States in which a deliverable no longer needs anyone's work."""


def transition(state: DeliverableState, action: Action, *, key: str = "deliverable") -> DeliverableState:
    """The state after `action`, or `TransitionError` saying why it is not allowed.

    >>> transition(DeliverableState.pending, Action.submit)
    <DeliverableState.submitted: 'submitted'>
    """
    try:
        return _TRANSITIONS[(state, action)]
    except KeyError:
        allowed = sorted(a.value for (s, a) in _TRANSITIONS if s is state)
        hint = f"; from {state.value} you can {', '.join(allowed)}" if allowed else ""
        raise TransitionError(f"{key} is {state.value}: cannot {action.value} it{hint}") from None


def working_days_late(due: dt.date, as_of: dt.date, calendar: BusinessCalendar) -> int:
    """Working days of both countries after `due`, up to and including `as_of`."""
    return calendar.working_days_between(due, as_of)
