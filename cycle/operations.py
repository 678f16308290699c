"""What the commands and flows do, once: load, decide (a pure function), persist.

Each function takes the clock (`now`, `as_of`) and the actor from its caller and owns
one transaction, so a failure leaves the store as it was.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cycle.business_calendar import BusinessCalendar
from cycle.config import ProgramSource, load_program
from cycle.cycles import Cycle, cycle_by_number, cycle_on
from cycle.deadlines import Deadlines, Standing
from cycle.deliverable import Action, DeliverableState, check_note
from cycle.errors import NotFoundError, StoreError
from cycle.metrics import DeliverableRecordView, Report
from cycle.metrics import report as metrics_report
from cycle.program import Lang, Program
from cycle.schedule import business_calendar, plan_or_explain
from cycle.settings import Settings
from cycle.status import CycleStatus, TrackedItem, summarize
from cycle.store.database import Store

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlmodel import Session

    from cycle.store.backup import ExportSummary

from cycle.store.notices import NoticeView, mark_announced, unannounced_notices
from cycle.store.notices import record_notices as store_notices
from cycle.store.repository import (
    DeliverableView,
    PlanReport,
    apply_plan,
    list_deliverables,
    pending_deliverable_items,
    planned_cycle_numbers,
    record_deliverable_action,
    sync_bodies,
    tracked_items,
)


@dataclass(frozen=True)
class Context:
    """A loaded program and an open store: what every command works with."""

    settings: Settings
    program: Program
    source: ProgramSource
    store: Store
    calendar: BusinessCalendar

    @functools.cached_property
    def deadlines(self) -> Deadlines:
        """The program's reminder and escalation rules on its business calendar."""
        return Deadlines(self.program, self.calendar)


def open_context(settings: Settings, *, check_schedule: bool = True) -> Context:
    """Load the program (see `load_program` for `check_schedule`) and open the store."""
    program, source = load_program(settings.config_path, check_schedule=check_schedule)
    return Context(
        settings=settings,
        program=program,
        source=source,
        store=Store.from_url(settings.database_url, origin=settings.database_origin),
        calendar=business_calendar(program),
    )


@dataclass(frozen=True)
class InitReport:
    store: str
    revision_before: str | None
    revision_after: str | None
    bodies_changed: int


def initialize(ctx: Context, *, now: dt.datetime, actor: str) -> InitReport:
    """Create or migrate the store and load the program's bodies; safe to repeat."""
    before = ctx.store.revision()
    ctx.store.migrate()
    changed = ctx.store.transaction(lambda s: sync_bodies(s, program=ctx.program, now=now, actor=actor))
    return InitReport(
        store=ctx.store.description,
        revision_before=before,
        revision_after=ctx.store.revision(),
        bodies_changed=changed,
    )


def current_cycle(program: Program, as_of: dt.date) -> Cycle:
    cycle = cycle_on(program, as_of)
    if cycle is None:
        raise NotFoundError(f"no cycle is open on {as_of}; give --cycle N")
    return cycle


def plan(ctx: Context, *, number: int, now: dt.datetime, actor: str) -> tuple[PlanReport, list[TrackedItem]]:
    """Plan cycle `number` into the store (idempotent) and return it as stored."""
    ctx.store.require_ready()
    cycle_plan = plan_or_explain(ctx.program, ctx.source, number)

    def work(session: Session) -> PlanReport:
        sync_bodies(session, program=ctx.program, now=now, actor=actor)
        return apply_plan(session, plan=cycle_plan, now=now, actor=actor)

    report = ctx.store.transaction(work)
    with ctx.store.session() as session:
        return report, tracked_items(session, cycle=number)


def status(ctx: Context, *, number: int | None, as_of: dt.date) -> CycleStatus:
    ctx.store.require_ready()
    cycle = cycle_by_number(ctx.program, number) if number is not None else current_cycle(ctx.program, as_of)
    with ctx.store.session() as session:
        tracked = tracked_items(session, cycle=cycle.number)
        if not tracked:
            planned = planned_cycle_numbers(session)
            hint = f" (planned: {', '.join(map(str, planned))})" if planned else ""
            raise StoreError(
                f"cycle {cycle.number} is not planned yet: run `roundtable plan --cycle {cycle.number}`{hint}"
            )
    return summarize(cycle, tracked, as_of, ctx.deadlines)


def record(
    ctx: Context, *, key: str, action: Action, actor: str, now: dt.datetime, note: str | None = None
) -> DeliverableView:
    checked = check_note(note)
    ctx.store.require_ready()
    return ctx.store.transaction(
        lambda s: record_deliverable_action(s, key=key, action=action, actor=actor, now=now, note=checked)
    )


@dataclass(frozen=True)
class DeadlineCheck:
    """The pending deliverables that are overdue or due soon on `as_of`, most severe first."""

    as_of: dt.date
    cycle: int | None
    overdue: tuple[Standing, ...]
    due_soon: tuple[Standing, ...]


def check_deadlines(ctx: Context, *, number: int | None, as_of: dt.date) -> DeadlineCheck:
    """Find what is overdue or due soon, in one cycle or (`number` None) in every planned
    one. Reads only pending deliverables due by the furthest reminder horizon (an indexed
    query), then applies the program's deadline rules to them."""
    ctx.store.require_ready()
    if number is not None:
        cycle_by_number(ctx.program, number)
    horizon = ctx.calendar.add_working_days(as_of, ctx.deadlines.longest_reminder + 1)
    with ctx.store.session() as session:
        if number is not None and number not in planned_cycle_numbers(session):
            raise StoreError(f"cycle {number} is not planned yet: run `roundtable plan --cycle {number}`")
        items = pending_deliverable_items(session, cycle=number, due_by=horizon)
    standings = ctx.deadlines.standings(((item, DeliverableState.pending) for item in items), as_of)
    return DeadlineCheck(
        as_of=as_of,
        cycle=number,
        overdue=tuple(s for s in standings if s.overdue),
        due_soon=tuple(
            sorted((s for s in standings if s.due_soon), key=lambda s: (s.due, s.item.key.to_string()))
        ),
    )


def record_notices(ctx: Context, *, check: DeadlineCheck, now: dt.datetime, actor: str) -> list[NoticeView]:
    """Record the reminders and escalations `check` calls for that were not given before,
    and return every notice still to announce (these, and any a crash left unannounced)."""

    def work(session: Session) -> list[NoticeView]:
        store_notices(session, standings=[*check.overdue, *check.due_soon], now=now, actor=actor)
        return unannounced_notices(session)

    return ctx.store.transaction(work)


def notices_announced(ctx: Context, *, ids: Sequence[int], now: dt.datetime) -> None:
    if ids:
        ctx.store.transaction(lambda s: mark_announced(s, ids=ids, now=now))


def ame_report(ctx: Context, *, number: int | None, as_of: dt.date, lang: Lang = "en") -> Report:
    """The AM&E on-time figures of cycle `number` (default: the one open on `as_of`), with
    the trend over every planned cycle up to it."""
    ctx.store.require_ready()
    cycle = cycle_by_number(ctx.program, number) if number is not None else current_cycle(ctx.program, as_of)
    with ctx.store.session() as session:
        if cycle.number not in planned_cycle_numbers(session):
            raise StoreError(
                f"cycle {cycle.number} is not planned yet: run `roundtable plan --cycle {cycle.number}`"
            )
        views = list_deliverables(session)
    records = [DeliverableRecordView(v.item, v.state, v.record.submitted_at) for v in views]
    return metrics_report(records, cycle=cycle.number, as_of=as_of, deadlines=ctx.deadlines, lang=lang)


def export_document(ctx: Context) -> dict[str, Any]:
    """The whole store as an export document (see cycle.store.backup)."""
    from cycle.store.backup import export_store

    info = ctx.program.program
    identity = {"slug": info.slug, "name": info.name.model_dump(), "short": info.short.model_dump()}
    return export_store(ctx.store, program=identity)


def restore(ctx: Context, *, path: Path) -> ExportSummary:
    """Import an export file into the (new, empty) store and migrate it to the newest schema."""
    from cycle.store.backup import import_store, read_export

    document = read_export(path)
    return import_store(ctx.store, document, program_slug=ctx.program.program.slug)
