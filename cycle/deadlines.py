"""Deadlines: when a deliverable is due soon, when it is overdue, and how far it has
escalated. Pure rules over the program's `[deadlines]` section and the business calendar.

For a pending deliverable due on D, on day A (`as_of`), with the rule of its kind:

- **due soon** while A <= D and at most `reminder_working_days` working days of every
  country lie in (A, D];
- **overdue** from the day after D plus `grace_working_days` working days (with no grace:
  from the day after D, weekend or not);
- **escalated** to the highest level whose `after_working_days` the working days late
  (in (D, A]) have reached; the first level (at 0) is reached as soon as it is overdue.

Submitted, accepted and waived deliverables are neither due soon nor overdue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from cycle.business_calendar import BusinessCalendar
from cycle.deliverable import DeliverableState
from cycle.items import ItemKind, PlannedItem
from cycle.phases import template_slug
from cycle.program import EscalationLevel, Program


class Notice(StrEnum):
    """What the check tells people, once per deliverable, due date and level: the suffix
    of the `roundtable.deliverable.*` event."""

    due_soon = "due-soon"
    overdue = "overdue"
    escalated = "escalated"


@dataclass(frozen=True, slots=True)
class Level:
    """An escalation level as one kind of deliverable uses it."""

    index: int
    """Position in the program's `deadlines.levels` (0: the first, reached when overdue)."""
    slug: str
    after_working_days: int
    definition: EscalationLevel


@dataclass(frozen=True, slots=True)
class DeadlineRule:
    reminder_working_days: int
    grace_working_days: int
    levels: tuple[Level, ...]


@dataclass(frozen=True, slots=True)
class Standing:
    """Where one pending deliverable stands on `as_of`."""

    item: PlannedItem
    due: dt.date
    overdue: bool
    due_soon: bool
    days_late: int
    """Calendar days after the due date (0 when not past it)."""
    working_days_late: int
    working_days_left: int
    """Working days in (as_of, due]; 0 once past it."""
    level: Level | None
    """The escalation level reached (overdue items only)."""
    first_level: Level | None = None
    """The level reached on becoming overdue (overdue items only)."""

    @property
    def severity(self) -> tuple[int, int, int]:
        """Sort key, most severe first: level, working days late, days late."""
        return (
            -(self.level.index if self.level else -1),
            -self.working_days_late,
            -self.days_late,
        )

    def notices(self) -> list[tuple[Notice, Level | None]]:
        """The notices this standing calls for, each with its level: due soon (no level);
        overdue (the first level); escalated to the level reached, if past the first.
        Levels skipped between two checks are not announced after the fact: the current
        one says it all."""
        if self.due_soon:
            return [(Notice.due_soon, None)]
        if not self.overdue or self.level is None or self.first_level is None:
            return []
        said: list[tuple[Notice, Level | None]] = [(Notice.overdue, self.first_level)]
        if self.level != self.first_level:
            said.append((Notice.escalated, self.level))
        return said


class Deadlines:
    """The `[deadlines]` rules of a program, applied on its business calendar."""

    def __init__(self, program: Program, calendar: BusinessCalendar) -> None:
        self.program = program
        self.calendar = calendar
        config = program.deadlines
        self._levels = {level.slug: (index, level) for index, level in enumerate(config.levels)}
        default_levels = tuple(
            Level(index, level.slug, level.after_working_days, level)
            for index, level in enumerate(config.levels)
        )
        self.default = DeadlineRule(config.reminder_working_days, config.grace_working_days, default_levels)
        self._rules: dict[str, DeadlineRule] = {}
        self._by_name: dict[str, DeadlineRule] = {}
        for slug, override in config.kinds.items():
            levels = default_levels
            if override.escalation is not None:
                levels = tuple(
                    Level(self._levels[name][0], name, after, self._levels[name][1])
                    for name, after in override.escalation.items()
                )
            self._rules[slug] = DeadlineRule(
                reminder_working_days=self.default.reminder_working_days
                if override.reminder_working_days is None
                else override.reminder_working_days,
                grace_working_days=self.default.grace_working_days
                if override.grace_working_days is None
                else override.grace_working_days,
                levels=levels,
            )

    @property
    def longest_reminder(self) -> int:
        """The longest reminder lead of any kind, in working days."""
        return max(r.reminder_working_days for r in (self.default, *self._rules.values()))

    def rule(self, item: PlannedItem) -> DeadlineRule:
        name = item.key.name
        found = self._by_name.get(name)
        if found is None:  # the template look-up, once per name: the check asks for every row
            found = self._by_name[name] = self._rules.get(template_slug(self.program, item), self.default)
        return found

    def level(self, index: int) -> EscalationLevel:
        return self.program.deadlines.levels[index]

    def last_on_time_day(self, item: PlannedItem) -> dt.date:
        """The last day before the deliverable counts as overdue: its due date plus grace."""
        assert item.due is not None
        grace = self.rule(item).grace_working_days
        return self.calendar.add_working_days(item.due, grace) if grace else item.due

    def first_overdue_day(self, item: PlannedItem) -> dt.date:
        """The first day the deliverable counts as overdue if still pending."""
        return self.last_on_time_day(item) + dt.timedelta(days=1)

    def level_reached_on(self, standing: Standing) -> dt.date:
        """The day an overdue deliverable reached its current level (its `after_working_days`-th
        working day late, and never before it became overdue)."""
        assert standing.level is not None
        first = self.first_overdue_day(standing.item)
        after = standing.level.after_working_days
        return max(first, self.calendar.add_working_days(standing.due, after)) if after else first

    def is_overdue(self, item: PlannedItem, state: DeliverableState, as_of: dt.date) -> bool:
        """Pending after its due date (plus grace). A submitted deliverable is with its
        reviewer, not late.

        >>> from cycle.config import load_program, shipped_config_path
        >>> from cycle.business_calendar import business_calendar
        >>> program, _ = load_program(shipped_config_path(), check_schedule=False)
        >>> deadlines = Deadlines(program, business_calendar(program))
        >>> from cycle.items import ItemKey
        >>> from cycle.program import Localized, Phase
        >>> item = PlannedItem(ItemKey(9, ItemKind.deliverable, None, "read-ahead"), Phase.executive_prep,
        ...                    Localized(en="x", es="x"), "secretariat", due=dt.date(2026, 7, 21))
        >>> deadlines.is_overdue(item, DeliverableState.pending, dt.date(2026, 7, 21))
        False
        >>> deadlines.is_overdue(item, DeliverableState.pending, dt.date(2026, 7, 22))
        True
        """
        return (
            state is DeliverableState.pending and item.due is not None and as_of > self.last_on_time_day(item)
        )

    def standing(self, item: PlannedItem, state: DeliverableState, as_of: dt.date) -> Standing | None:
        """Where a deliverable stands on `as_of`; None when nobody needs telling (not
        pending, or neither due soon nor overdue)."""
        if item.kind is not ItemKind.deliverable or item.due is None or state is not DeliverableState.pending:
            return None
        rule = self.rule(item)
        due = item.due
        if as_of <= due:
            left = self.calendar.working_days_between(as_of, due)
            if left > rule.reminder_working_days:
                return None
            return Standing(
                item=item,
                due=due,
                overdue=False,
                due_soon=True,
                days_late=0,
                working_days_late=0,
                working_days_left=left,
                level=None,
            )
        if not self.is_overdue(item, state, as_of):
            return None  # past its due date, within its grace
        late_working = self.calendar.working_days_between(due, as_of)
        reached = [level for level in rule.levels if late_working >= level.after_working_days]
        return Standing(
            item=item,
            due=due,
            overdue=True,
            due_soon=False,
            days_late=(as_of - due).days,
            working_days_late=late_working,
            working_days_left=0,
            level=reached[-1] if reached else None,
            first_level=rule.levels[0],
        )

    def standings(
        self, deliverables: Iterable[tuple[PlannedItem, DeliverableState]], as_of: dt.date
    ) -> list[Standing]:
        """The standings of every deliverable that is due soon or overdue, most severe
        first, then by due date and key."""
        found = [s for item, state in deliverables if (s := self.standing(item, state, as_of)) is not None]
        return sorted(found, key=lambda s: (s.severity, s.due, s.item.key.to_string()))
