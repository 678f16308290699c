"""The bodies' **Objectives**: their lifecycle, identity and the checks on what people
type about them. Pure: no store, no clock.

    proposed --> active --> achieved
        |          |
        +----------+-----> dropped          (achieved and dropped are final)

An objective is set by a standing body (SST, IB or WG) in a cycle, looks ahead by its
horizon (its target date is the first cycle's start plus the horizon's months), and is
carried over into the next cycle at each close while it is proposed or active. The AM&E
group rates its value and effectiveness on the program's scale at each assessment.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from cycle.cycles import Cycle, add_months
from cycle.deliverable import check_note as check_paragraph
from cycle.errors import InputError, TransitionError
from cycle.program import STANDING_KINDS, Body, BodyStatus, Horizon, Localized, Program


class ObjectiveStatus(StrEnum):
    proposed = "proposed"
    active = "active"
    achieved = "achieved"
    dropped = "dropped"


TRANSITIONS: dict[ObjectiveStatus, frozenset[ObjectiveStatus]] = {
    ObjectiveStatus.proposed: frozenset({ObjectiveStatus.active, ObjectiveStatus.dropped}),
    ObjectiveStatus.active: frozenset({ObjectiveStatus.achieved, ObjectiveStatus.dropped}),
    ObjectiveStatus.achieved: frozenset(),
    ObjectiveStatus.dropped: frozenset(),
}
"""Where each status may go; a status with nowhere to go is final."""

OPEN = frozenset({ObjectiveStatus.proposed, ObjectiveStatus.active})
"""The statuses of an objective still being worked on (counted "open past target")."""

CARRIED_OVER = OPEN
"""The statuses an objective keeps into the next cycle at a close."""

STARTING = (ObjectiveStatus.proposed, ObjectiveStatus.active)
"""The statuses an objective may be added with."""

RATED = frozenset({ObjectiveStatus.active, ObjectiveStatus.achieved})
"""The statuses in which the AM&E group may rate an objective (a proposal has done
nothing yet to rate; a dropped objective is no longer pursued)."""

MAX_TITLE = 300
MAX_INDICATOR = 300
MAX_INDICATORS = 10

_SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
_KEY = re.compile(rf"^({_SLUG})/({_SLUG})$")


def is_final(status: ObjectiveStatus) -> bool:
    """Whether `status` is one an objective never leaves.

    >>> is_final(ObjectiveStatus.achieved)
    True
    """
    return not TRANSITIONS[status]


def carries_over(status: ObjectiveStatus) -> bool:
    """Whether an objective in `status` is carried into the next cycle.

    >>> carries_over(ObjectiveStatus.active), carries_over(ObjectiveStatus.dropped)
    (True, False)
    """
    return status in CARRIED_OVER


def transition(
    before: ObjectiveStatus, after: ObjectiveStatus | None, *, key: str = "objective"
) -> ObjectiveStatus:
    """The status after a progress record that asks for `after` (None or the same status:
    no change), or `TransitionError` saying where it may go instead.

    >>> transition(ObjectiveStatus.proposed, ObjectiveStatus.active)
    <ObjectiveStatus.active: 'active'>
    """
    if after is None or after is before:
        return before
    allowed = TRANSITIONS[before]
    if after in allowed:
        return after
    if not allowed:
        raise TransitionError(f"{key} is {before.value}, which is final: it cannot become {after.value}")
    options = " or ".join(sorted(s.value for s in allowed))
    raise TransitionError(f"{key} is {before.value}: it can become {options}, not {after.value}")


def parse_status(text: str, *, what: str = "status") -> ObjectiveStatus:
    try:
        return ObjectiveStatus(text)
    except ValueError:
        names = ", ".join(s.value for s in ObjectiveStatus)
        raise InputError(f"{what}: {text!r} is not an objective status ({names})") from None


@dataclass(frozen=True, slots=True)
class ObjectiveKey:
    """Identity of an objective: the body that holds it and a slug unique in that body.

    >>> ObjectiveKey.from_string("wg-logistics/shared-fuel-doctrine").to_string()
    'wg-logistics/shared-fuel-doctrine'
    """

    body: str
    slug: str

    def to_string(self) -> str:
        return f"{self.body}/{self.slug}"

    def __str__(self) -> str:
        return self.to_string()

    @classmethod
    def from_string(cls, text: str) -> ObjectiveKey:
        match = _KEY.match(text)
        if match is None or len(match.group(1)) > 60 or len(match.group(2)) > 60:
            raise InputError(f"{text!r} is not an objective key (like wg-logistics/shared-fuel-doctrine)")
        return cls(match.group(1), match.group(2))


def _one_line(text: str, *, what: str, limit: int) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise InputError(f"{what}: must not be empty")
    if any(not ch.isprintable() for ch in cleaned):
        raise InputError(f"{what}: must be one line of text (no line breaks or control characters)")
    if len(cleaned) > limit:
        raise InputError(f"{what}: at most {limit} characters (got {len(cleaned)})")
    return cleaned


def check_title(en: str, es: str) -> Localized:
    """The title in both languages, each one line.

    >>> check_title(" Shared fuel doctrine ", "Doctrina común de combustible").en
    'Shared fuel doctrine'
    """
    return Localized(
        en=_one_line(en, what="title (en)", limit=MAX_TITLE),
        es=_one_line(es, what="title (es)", limit=MAX_TITLE),
    )


def check_indicators(indicators: Sequence[str]) -> tuple[str, ...]:
    """The success indicators: 1 to 10, each one line."""
    if not 1 <= len(indicators) <= MAX_INDICATORS:
        raise InputError(f"success indicators: give 1 to {MAX_INDICATORS} (got {len(indicators)})")
    return tuple(
        _one_line(text, what=f"success indicator {n}", limit=MAX_INDICATOR)
        for n, text in enumerate(indicators, 1)
    )


def check_note(note: str | None, *, required: bool = False) -> str | None:
    """A remark kept in the history: a paragraph of text; empty counts as none."""
    checked = check_paragraph(note)
    if checked is not None and not checked.strip():
        checked = None
    if required and checked is None:
        raise InputError("note: say what was done (it is kept in the objective's history)")
    return checked


def check_percent(value: int) -> int:
    """A progress percentage, 0 to 100.

    >>> check_percent(40)
    40
    """
    if isinstance(value, bool) or not 0 <= value <= 100:
        raise InputError(f"progress: a percentage from 0 to 100 (got {value})")
    return value


def check_body(program: Program, slug: str) -> Body:
    """An active standing body (SST, IB or WG): the bodies that hold objectives."""
    body = next((b for b in program.bodies if b.slug == slug), None)
    if body is None:
        raise InputError(f"body: no body {slug!r} in the program")
    if body.kind not in STANDING_KINDS:
        raise InputError(f"body: {slug} is not a standing body (SST, IB or WG); only those hold objectives")
    if body.status is not BodyStatus.active:
        raise InputError(f"body: {slug} is {body.status.value}, not active; it holds no objectives yet")
    return body


def check_horizon(program: Program, slug: str) -> Horizon:
    horizons = program.objectives.horizons
    found = next((h for h in horizons if h.slug == slug), None)
    if found is None:
        names = ", ".join(h.slug for h in horizons)
        raise InputError(f"horizon: {slug!r} is not one of {names}")
    return found


def check_line_of_effort(program: Program, slug: str | None, body: Body) -> str:
    """The line of effort given, or the body's own when none is."""
    chosen = slug if slug is not None else body.line_of_effort
    if chosen is None:
        raise InputError(f"line of effort: {body.slug} has none of its own; give one")
    if all(line.slug != chosen for line in program.lines_of_effort):
        names = ", ".join(line.slug for line in program.lines_of_effort)
        raise InputError(f"line of effort: {chosen!r} is not one of {names}")
    return chosen


def check_owner(body: Body, slug: str) -> str:
    """The owner institution: one of the body's members."""
    if slug not in body.members:
        raise InputError(f"owner: {slug!r} is not a member of {body.slug} ({', '.join(body.members)})")
    return slug


def target_date(cycle: Cycle, horizon: Horizon, set_on: dt.date) -> dt.date:
    """When an objective should be achieved: the horizon's months from the day it was set
    (or from its cycle's start, if it was set for a cycle that had not opened yet).

    >>> from cycle.program import Localized
    >>> short = Horizon(slug="short-term", name=Localized(en="Short-term", es="Corto plazo"), months=12)
    >>> target_date(Cycle(9, dt.date(2025, 9, 1), 24), short, dt.date(2026, 12, 1))
    datetime.date(2027, 12, 1)
    >>> target_date(Cycle(9, dt.date(2025, 9, 1), 24), short, dt.date(2025, 6, 1))
    datetime.date(2026, 9, 1)
    """
    return add_months(max(set_on, cycle.start), horizon.months)


def check_rating(program: Program, value: int, *, what: str) -> int:
    """A value of the program's AM&E scale."""
    scale = [level.value for level in program.objectives.ratings]
    if isinstance(value, bool) or value not in scale:
        raise InputError(f"{what}: {value} is not on the rating scale ({', '.join(map(str, scale))})")
    return value


@dataclass(frozen=True)
class NewObjective:
    """An objective as checked, ready to be stored."""

    key: ObjectiveKey
    title: Localized
    horizon: str
    line_of_effort: str
    owner: str
    indicators: tuple[str, ...]
    status: ObjectiveStatus
    first_cycle: int
    target: dt.date


def check_new_objective(
    program: Program,
    *,
    key: str,
    title_en: str,
    title_es: str,
    horizon: str,
    owner: str,
    indicators: Sequence[str],
    cycle: Cycle,
    set_on: dt.date,
    line_of_effort: str | None = None,
    status: ObjectiveStatus = ObjectiveStatus.proposed,
) -> NewObjective:
    """Every check on a new objective, in the order a person reads the form."""
    parsed = ObjectiveKey.from_string(key)
    body = check_body(program, parsed.body)
    if status not in STARTING:
        raise InputError(f"status: a new objective is proposed or active, not {status.value}")
    chosen = check_horizon(program, horizon)
    return NewObjective(
        key=parsed,
        title=check_title(title_en, title_es),
        horizon=chosen.slug,
        line_of_effort=check_line_of_effort(program, line_of_effort, body),
        owner=check_owner(body, owner),
        indicators=check_indicators(indicators),
        status=status,
        first_cycle=cycle.number,
        target=target_date(cycle, chosen, set_on),
    )


@dataclass(frozen=True)
class RatingAnswer:
    """The AM&E group's rating of one objective, as a form or the CLI gives it."""

    key: str
    value: int
    effectiveness: int
    note: str | None = None


def check_rating_answer(program: Program, answer: RatingAnswer) -> RatingAnswer:
    """Every check on a rating: the key, both values on the scale, the note."""
    ObjectiveKey.from_string(answer.key)
    return RatingAnswer(
        key=answer.key,
        value=check_rating(program, answer.value, what=f"{answer.key}: value"),
        effectiveness=check_rating(program, answer.effectiveness, what=f"{answer.key}: effectiveness"),
        note=check_note(answer.note),
    )
