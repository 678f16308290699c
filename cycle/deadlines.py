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
from dataclasses import dataclass, field
from enum import StrEnum

from cycle.business_calendar import BusinessCalendar
from cycle.deliverable import DeliverableState
from cycle.items import ItemKind, PlannedItem, template_slug
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
class Verdict:
    """What the rules say of a pending deliverable of one rule and due date on `as_of`: the
    same for every deliverable that shares them (every body's paper for one meeting)."""

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
    rank: tuple[int, int, int, dt.date] = field(init=False, repr=False, compare=False)
    """Sort key, most severe first: level, working days late, days late; then due date."""

    def __post_init__(self) -> None:
        level = self.level.index if self.level else -1
        object.__setattr__(self, "rank", (-level, -self.working_days_late, -self.days_late, self.due))


@dataclass(frozen=True, slots=True)
class Standing:
    """Where one pending deliverable stands on `as_of`: the item and its verdict.

    Two fields, the verdict shared, rather than the verdict's eight copied into each: the
    overdue check makes one per late deliverable (benchmarks/check_overdue, figure 4)."""

    item: PlannedItem
    verdict: Verdict

    @property
    def due(self) -> dt.date:
        return self.verdict.due

    @property
    def overdue(self) -> bool:
        return self.verdict.overdue

    @property
    def due_soon(self) -> bool:
        return self.verdict.due_soon

    @property
    def days_late(self) -> int:
        """Calendar days after the due date (0 when not past it)."""
        return self.verdict.days_late

    @property
    def working_days_late(self) -> int:
        return self.verdict.working_days_late

    @property
    def working_days_left(self) -> int:
        """Working days in (as_of, due]; 0 once past it."""
        return self.verdict.working_days_left

    @property
    def level(self) -> Level | None:
        """The escalation level reached (overdue items only)."""
        return self.verdict.level

    @property
    def first_level(self) -> Level | None:
        """The level reached on becoming overdue (overdue items only)."""
        return self.verdict.first_level

    @property
    def severity(self) -> tuple[int, int, int]:
        """Sort key, most severe first: level, working days late, days late."""
        return self.verdict.rank[:3]

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


_UNKNOWN = Verdict(
    dt.date.min,
    overdue=False,
    due_soon=False,
    days_late=0,
    working_days_late=0,
    working_days_left=0,
    level=None,
)
"""Not worked out yet (a memo's default: None means nobody needs telling)."""


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
        return self._last_on_time(self.rule(item), item.due)

    def _last_on_time(self, rule: DeadlineRule, due: dt.date) -> dt.date:
        grace = rule.grace_working_days
        return self.calendar.add_working_days(due, grace) if grace else due

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

    def standing(
        self,
        item: PlannedItem,
        state: DeliverableState,
        as_of: dt.date,
        memo: dict[tuple[str, dt.date], Verdict | None] | None = None,
    ) -> Standing | None:
        """Where a deliverable stands on `as_of`; None when nobody needs telling (not
        pending, or neither due soon nor overdue). `memo` keeps the verdicts of one
        `as_of` by deliverable name and due date, for a caller that asks about many."""
        if item.kind is not ItemKind.deliverable or item.due is None or state is not DeliverableState.pending:
            return None
        if memo is None:
            verdict = self._verdict(self.rule(item), item.due, as_of)
        else:
            # Deliverables share due dates (every body's paper for one meeting; the same
            # dates in every cycle), so the working-day counts are made once per name (the
            # rule goes by name) and date: at a million deliverables they were a third of
            # the check (benchmarks/check_overdue, figure 4).
            memo_key = (item.key.name, item.due)
            verdict = memo.get(memo_key, _UNKNOWN)
            if verdict is _UNKNOWN:
                verdict = memo[memo_key] = self._verdict(self.rule(item), item.due, as_of)
        return None if verdict is None else Standing(item, verdict)

    def _verdict(self, rule: DeadlineRule, due: dt.date, as_of: dt.date) -> Verdict | None:
        """The verdict on a pending deliverable due on `due` under `rule`; None when nobody
        needs telling."""
        if as_of <= due:
            left = self.calendar.working_days_between(as_of, due)
            if left > rule.reminder_working_days:
                return None
            return Verdict(
                due,
                overdue=False,
                due_soon=True,
                days_late=0,
                working_days_late=0,
                working_days_left=left,
                level=None,
            )
        if as_of <= self._last_on_time(rule, due):
            return None  # past its due date, within its grace
        late_working = self.calendar.working_days_between(due, as_of)
        reached = [level for level in rule.levels if late_working >= level.after_working_days]
        level = reached[-1] if reached else None
        return Verdict(
            due,
            overdue=True,
            due_soon=False,
            days_late=(as_of - due).days,
            working_days_late=late_working,
            working_days_left=0,
            level=level,
            first_level=rule.levels[0],
        )

    def standings(
        self, deliverables: Iterable[tuple[PlannedItem, DeliverableState]], as_of: dt.date
    ) -> list[Standing]:
        """The standings of every deliverable that is due soon or overdue, most severe
        first, then by due date and key."""
        memo: dict[tuple[str, dt.date], Verdict | None] = {}
        found = [
            s for item, state in deliverables if (s := self.standing(item, state, as_of, memo)) is not None
        ]
        return sorted(found, key=lambda s: (s.verdict.rank, s.item.key.to_string()))
