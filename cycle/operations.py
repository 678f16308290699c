"""What the commands and flows do, once: load, decide (a pure function), persist.

Each function takes the clock (`now`, `as_of`) and the actor from its caller and owns
one transaction, so a failure leaves the store as it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cycle.apa import (
    SECOND_YEAR_MONTH,
    Activity,
    Amendment,
    ApaPlan,
    ApaVersion,
    amend,
    carried_out_as_planned,
    check_activity,
    observable,
    parse_activity_key,
)
from cycle.config import plan_or_explain
from cycle.context import Context, current_cycle
from cycle.cycles import Cycle, add_months, cycle_by_number
from cycle.deadlines import Standing
from cycle.deliverable import Action, DeliverableState, check_note
from cycle.errors import InputError
from cycle.items import ItemKey, ItemKind
from cycle.metrics import DeliverableRecordView, Report
from cycle.metrics import report as metrics_report
from cycle.program import Lang, Phase
from cycle.schedule import TemplateRangeError, plan_cycle
from cycle.status import TrackedItem

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from sqlmodel import Session

    from cycle.metrics import ObjectiveFacts, RatingFacts
    from cycle.objectives import RatingAnswer
    from cycle.store.backup import ExportSummary
    from cycle.store.models import ObjectiveEventRecord, ObjectiveRatingRecord, ObjectiveRecord

from cycle.store.apa import (
    PROPOSED,
    apa_plan,
    body_proposals,
    proposal_states,
    proposals,
    save_proposal,
    save_version,
    selected_exercise,
    versions,
    withdraw_proposal,
)
from cycle.store.notices import NoticeView, mark_announced, unannounced_notices
from cycle.store.notices import record_notices as store_notices
from cycle.store.progress import phase_progress
from cycle.store.reads import require_planned, tracked_items
from cycle.store.repository import (
    DeliverableView,
    PlanReport,
    apply_plan,
    list_deliverables,
    pending_deliverable_items,
    record_deliverable_action,
    sync_bodies,
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


def plan(ctx: Context, *, number: int, now: dt.datetime, actor: str) -> tuple[PlanReport, list[TrackedItem]]:
    """Plan cycle `number` into the store (idempotent) and return it as stored: the
    template's items and, once validated, the cycle's APA."""
    ctx.store.require_ready()
    cycle_by_number(ctx.program, number)

    def work(session: Session) -> PlanReport:
        sync_bodies(session, program=ctx.program, now=now, actor=actor)
        return replan(ctx, session, number=number, now=now, actor=actor)

    with _collector_paused():  # thousands of rows and items, no cycles among them (figure 1)
        report = ctx.store.transaction(work)
        with ctx.store.session() as session:
            return report, tracked_items(session, cycle=number, known=report.planned)


def record(
    ctx: Context, *, key: str, action: Action, actor: str, now: dt.datetime, note: str | None = None
) -> DeliverableView:
    checked = check_note(note)
    ctx.store.require_ready()

    def work(session: Session) -> DeliverableView:
        parsed = ItemKey.from_string(key)
        if (
            action is Action.submit
            and parsed.kind is ItemKind.deliverable
            and parsed.body is not None
            and parsed.name == ctx.program.apa.inputs
            and not body_proposals(session, cycle=parsed.cycle, body=parsed.body)
        ):
            raise InputError(
                f"{key}: {parsed.body} has proposed no activity for cycle {parsed.cycle}; propose them with "
                f"`roundtable apa propose` first (or waive the inputs)"
            )
        return record_deliverable_action(session, key=key, action=action, actor=actor, now=now, note=checked)

    return ctx.store.transaction(work)


@dataclass(frozen=True)
class DeadlineCheck:
    """The pending deliverables that are overdue or due soon on `as_of`, most severe first."""

    as_of: dt.date
    cycle: int | None
    overdue: tuple[Standing, ...]
    due_soon: tuple[Standing, ...]


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector while many objects that form no cycles
    are made: allocating them triggers collections that walk the whole heap, about a
    quarter of the overdue check at a million deliverables (benchmarks/check_overdue,
    figure 4) and a sixth of planning a cycle of 60 bodies (figure 1). Reference counting
    still frees what is dropped meanwhile."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def check_deadlines(ctx: Context, *, number: int | None, as_of: dt.date) -> DeadlineCheck:
    """Find what is overdue or due soon, in one cycle or (`number` None) in every planned
    one. Reads only pending deliverables due by the furthest reminder horizon (an indexed
    query), then applies the program's deadline rules to them."""
    ctx.store.require_ready()
    if number is not None:
        cycle_by_number(ctx.program, number)
    horizon = ctx.calendar.add_working_days(as_of, ctx.deadlines.longest_reminder + 1)
    with ctx.store.session() as session, _collector_paused():
        if number is not None:
            require_planned(session, number)
        # Unordered: the standings are sorted by severity, then by due date and key.
        items = pending_deliverable_items(session, cycle=number, due_by=horizon, ordered=False)
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
        require_planned(session, cycle.number)
        views = list_deliverables(session)
    records = [DeliverableRecordView(v.item, v.state, v.record.submitted_at) for v in views]
    result = metrics_report(records, cycle=cycle.number, as_of=as_of, deadlines=ctx.deadlines, lang=lang)
    return with_objectives(ctx, result, lang=lang)


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


# --- the Annual Plan of Activities ---------------------------------------------------------


def replan(ctx: Context, session: Session, *, number: int, now: dt.datetime, actor: str) -> PlanReport:
    """Plan cycle `number` inside the caller's transaction, with the APA it holds."""
    cycle_plan = plan_or_explain(ctx.program, ctx.source, number, apa=apa_plan(session, cycle=number))
    return apply_plan(session, plan=cycle_plan, now=now, actor=actor)


def check_apa_fits(ctx: Context, *, number: int, apa: ApaPlan, what: str) -> None:
    """`InputError` if the cycle cannot be planned with `apa` (an exercise so late that the
    visit report would fall after the cycle closes, say)."""
    try:
        plan_cycle(ctx.program, number, ctx.calendar, apa=apa)
    except TemplateRangeError as exc:
        raise InputError(f"{what}: the cycle would not fit: {exc.message}") from None


def propose_activity(
    ctx: Context, *, activity: Activity, now: dt.datetime, actor: str
) -> tuple[Activity, str]:
    """Record a body's proposed activity, or revise its standing proposal."""
    ctx.store.require_ready()
    checked = check_activity(ctx.program, cycle_by_number(ctx.program, activity.key.cycle), activity)

    def work(session: Session) -> tuple[Activity, str]:
        require_planned(session, activity.key.cycle)
        return save_proposal(session, activity=checked, now=now, actor=actor)

    return ctx.store.transaction(work)


def withdraw_activity(ctx: Context, *, key: str, now: dt.datetime, actor: str) -> bool:
    """Withdraw a standing proposal. A body's submitted (or accepted) APA inputs must carry
    at least one proposal, as they had to when submitted: the last one is not withdrawn
    until the inputs are returned."""
    parsed = parse_activity_key(key)
    ctx.store.require_ready()

    def work(session: Session) -> bool:
        withdrawn = withdraw_proposal(session, key=parsed.to_string(), now=now, actor=actor)
        body = parsed.body
        if withdrawn and body is not None and not body_proposals(session, cycle=parsed.cycle, body=body):
            handed_in = [
                d
                for d in list_deliverables(
                    session,
                    cycle=parsed.cycle,
                    body=body,
                    states=[DeliverableState.submitted, DeliverableState.accepted],
                )
                if d.item.key.name == ctx.program.apa.inputs
            ]
            for inputs in handed_in:
                inputs_key = inputs.item.key.to_string()
                remedy = (
                    f"return them first (`roundtable deliverables return {inputs_key}`) "
                    "or propose another activity"
                    if inputs.state is DeliverableState.submitted
                    else "propose another activity first"
                )
                raise InputError(
                    f"{parsed.to_string()}: it is {body}'s last proposal, and its APA inputs ({inputs_key}) "
                    f"are {inputs.state.value}: {remedy}"
                )
        return withdrawn

    return ctx.store.transaction(work)


@dataclass(frozen=True)
class ApaState:
    """A cycle's APA: the draft (standing proposals), its versions and the exercise chosen
    for the observation visit."""

    cycle: int
    draft: tuple[Activity, ...]
    versions: tuple[ApaVersion, ...]
    selected: str | None
    withdrawn: tuple[Activity, ...] = ()

    @property
    def latest(self) -> ApaVersion | None:
        return self.versions[-1] if self.versions else None


def apa_state(ctx: Context, *, number: int) -> ApaState:
    ctx.store.require_ready()
    cycle_by_number(ctx.program, number)
    with ctx.store.session() as session:
        require_planned(session, number)
        everything = proposals(session, cycle=number, withdrawn=True)
        states = proposal_states(session, cycle=number)
        return ApaState(
            cycle=number,
            draft=tuple(a for a in everything if states[a.key.to_string()] == PROPOSED),
            versions=tuple(versions(session, cycle=number)),
            selected=selected_exercise(session, cycle=number),
            withdrawn=tuple(a for a in everything if states[a.key.to_string()] != PROPOSED),
        )


def observable_activities(ctx: Context, *, number: int, as_of: dt.date | None = None) -> tuple[Activity, ...]:
    """What the exercise selection may choose from: the observable activities of the
    second year in the latest version of the validated APA (with `as_of`, only those that
    begin after it: a visit is planned ahead, not into the past)."""
    latest = apa_state(ctx, number=number).latest
    if latest is None:
        return ()
    found = observable(ctx.program, cycle_by_number(ctx.program, number), latest.activities)
    return tuple(a for a in found if as_of is None or a.first_day > as_of)


def _check_observed(ctx: Context, *, cycle: Cycle, exercise: Activity, today: dt.date) -> None:
    """The exercise the visit observes, moved by an amendment, must stay observable: in the
    cycle's second year, and not begun yet."""
    key = exercise.key.to_string()
    if not observable(ctx.program, cycle, [exercise]):
        raise InputError(
            f"{key}: the observation visit observes it, so it stays in the cycle's second year "
            f"(from {add_months(cycle.start, SECOND_YEAR_MONTH - 1)})"
        )
    if exercise.first_day <= today:
        raise InputError(
            f"{key}: the observation visit observes it, so it cannot move to {exercise.first_day}: "
            f"the visit would be in the past"
        )


def amend_apa(
    ctx: Context, *, number: int, amendment: Amendment, now: dt.datetime, actor: str
) -> tuple[ApaVersion, PlanReport]:
    """Amend the validated APA of cycle `number`: a new frozen version with the reason, and
    the cycle re-planned so the calendars follow (the visit too, if its exercise moved)."""
    ctx.store.require_ready()
    cycle = cycle_by_number(ctx.program, number)
    key = parse_activity_key(amendment.key)
    if key.cycle != number:
        raise InputError(f"{amendment.key}: is not an activity of cycle {number}")

    def work(session: Session) -> tuple[ApaVersion, PlanReport]:
        require_planned(session, number)
        found = versions(session, cycle=number)
        if not found:
            raise InputError(
                f"cycle {number}: the APA is not validated yet; the tri-chairs validate it at the executive "
                "session, and only then is it amended"
            )
        selected = selected_exercise(session, cycle=number)
        new = amend(
            found[-1],
            amendment,
            cycle=cycle,
            proposals=proposals(session, cycle=number),
            selected=selected,
            decided_by=actor,
            at=now,
        )
        visit = new.activity(selected) if selected else None
        if visit is not None and visit != found[-1].activity(visit.key.to_string()):
            _check_observed(ctx, cycle=cycle, exercise=visit, today=now.date())
        check_apa_fits(ctx, number=number, apa=ApaPlan(new.activities, visit), what=amendment.key)
        save_version(session, version=new, actor=actor)
        return new, replan(ctx, session, number=number, now=now, actor=actor)

    return ctx.store.transaction(work)


# --- objectives -----------------------------------------------------------------------------
# The bodies' objectives: each operation checks its input with cycle.objectives, then
# writes in one transaction (cycle.store.objectives), so bad input changes nothing.


@dataclass(frozen=True)
class ObjectiveDetail:
    """One objective with its whole history and its ratings."""

    objective: ObjectiveRecord
    history: list[ObjectiveEventRecord]
    ratings: list[ObjectiveRatingRecord]


def _cycle_number(ctx: Context, number: int | None, as_of: dt.date) -> int:
    return (
        cycle_by_number(ctx.program, number) if number is not None else current_cycle(ctx.program, as_of)
    ).number


def add_objective(
    ctx: Context,
    *,
    key: str,
    title_en: str,
    title_es: str,
    horizon: str,
    owner: str,
    indicators: Sequence[str],
    line_of_effort: str | None = None,
    status: str = "proposed",
    number: int | None,
    as_of: dt.date,
    now: dt.datetime,
    actor: str,
) -> ObjectiveRecord:
    """Add a body's objective to cycle `number` (default: the one open on `as_of`)."""
    from cycle.objectives import check_new_objective, parse_status
    from cycle.store.objectives import add_objective as store_add

    cycle = cycle_by_number(ctx.program, _cycle_number(ctx, number, as_of))
    new = check_new_objective(
        ctx.program,
        key=key,
        title_en=title_en,
        title_es=title_es,
        horizon=horizon,
        owner=owner,
        indicators=indicators,
        cycle=cycle,
        set_on=as_of,
        line_of_effort=line_of_effort,
        status=parse_status(status),
    )
    ctx.store.require_ready()

    def work(session: Session) -> ObjectiveRecord:
        # A closed cycle has carried its objectives over: one added there would be stranded.
        closing = phase_progress(session, cycle=cycle.number).get(Phase.close_out)
        if closing is not None and closing.state.value == "completed":
            raise InputError(
                f"cycle {cycle.number} is closed and its objectives carried over: "
                f"add it to cycle {cycle.number + 1}"
            )
        return store_add(session, new=new, now=now, actor=actor)

    return ctx.store.transaction(work)


def record_objective_progress(
    ctx: Context,
    *,
    key: str,
    note: str,
    percent: int,
    status: str | None = None,
    meeting: str | None = None,
    now: dt.datetime,
    actor: str,
) -> ObjectiveRecord:
    """Record an objective's progress (the CLI's `objectives progress` and the
    record-objective-progress flow)."""
    from cycle.objectives import ObjectiveKey, check_note, check_percent, parse_status
    from cycle.store.objectives import record_progress

    ObjectiveKey.from_string(key)
    checked_note = check_note(note, required=True)
    assert checked_note is not None
    checked_percent = check_percent(percent)
    new_status = parse_status(status) if status else None
    ctx.store.require_ready()
    return ctx.store.transaction(
        lambda s: record_progress(
            s,
            key=key,
            note=checked_note,
            percent=checked_percent,
            status=new_status,
            meeting=meeting or None,
            now=now,
            actor=actor,
        )
    )


def carry_over_objectives(ctx: Context, *, number: int, now: dt.datetime, actor: str) -> list[str]:
    """Carry cycle `number`'s proposed and active objectives into the next cycle (planned)."""
    from cycle.store.objectives import carry_over

    ctx.store.require_ready()
    return ctx.store.transaction(lambda s: carry_over(s, cycle=number, now=now, actor=actor))


def rate_objective(
    ctx: Context,
    *,
    key: str,
    value: int,
    effectiveness: int,
    note: str | None = None,
    number: int | None,
    as_of: dt.date,
    now: dt.datetime,
    actor: str,
) -> ObjectiveRatingRecord:
    """The AM&E rating of an objective for cycle `number` (default: the one open on `as_of`)."""
    from cycle.objectives import ObjectiveKey, check_note, check_rating
    from cycle.store.objectives import rate_objective as store_rate

    ObjectiveKey.from_string(key)
    checked = (
        check_rating(ctx.program, value, what="value"),
        check_rating(ctx.program, effectiveness, what="effectiveness"),
        check_note(note),
    )
    cycle = _cycle_number(ctx, number, as_of)
    ctx.store.require_ready()
    return ctx.store.transaction(
        lambda s: store_rate(
            s,
            key=key,
            cycle=cycle,
            value=checked[0],
            effectiveness=checked[1],
            note=checked[2],
            now=now,
            actor=actor,
        )
    )


def objectives_in(
    ctx: Context, *, number: int | None, as_of: dt.date, body: str | None = None
) -> tuple[int, list[ObjectiveRecord]]:
    """The objectives held in cycle `number` (default: the one open on `as_of`)."""
    from cycle.errors import InputError
    from cycle.store.objectives import list_objectives

    cycle = _cycle_number(ctx, number, as_of)
    if body is not None and all(b.slug != body for b in ctx.program.bodies):
        raise InputError(f"body: no body {body!r} in the program")
    ctx.store.require_ready()
    with ctx.store.session() as session:
        return cycle, list_objectives(session, cycle=cycle, body=body)


def objective_detail(ctx: Context, *, key: str) -> ObjectiveDetail:
    from cycle.store.objectives import find_objective, objective_history, objective_ratings

    ctx.store.require_ready()
    with ctx.store.session() as session:
        return ObjectiveDetail(
            objective=find_objective(session, key=key),
            history=objective_history(session, key=key),
            ratings=[r for _, r in objective_ratings(session, key=key)],
        )


def unrated_objectives(ctx: Context, *, number: int) -> list[ObjectiveRecord]:
    """The active objectives of cycle `number` the AM&E group has not rated yet."""
    from cycle.store.objectives import unrated_objectives as unrated

    ctx.store.require_ready()
    with ctx.store.session() as session:
        return unrated(session, cycle=number)


def objective_json(record: ObjectiveRecord, lang: Lang = "en") -> dict[str, Any]:
    """An objective as `--json` and artifacts show it."""
    return {
        "key": record.key,
        "body": record.body,
        "title": record.title_es if lang == "es" else record.title_en,
        "horizon": record.horizon,
        "line_of_effort": record.line_of_effort,
        "owner": record.owner,
        "indicators": json.loads(record.indicators),
        "status": record.status,
        "progress": record.progress,
        "first_cycle": record.first_cycle,
        "cycle": record.cycle,
        "target": record.target.isoformat(),
    }


def objective_event_json(event: ObjectiveEventRecord) -> dict[str, Any]:
    return {
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "cycle": event.cycle,
        "meeting": event.meeting,
        "status": event.status,
        "progress": event.progress,
        "note": event.note,
        "detail": json.loads(event.detail),
    }


def rating_json(rating: ObjectiveRatingRecord) -> dict[str, Any]:
    return {
        "cycle": rating.cycle,
        "value": rating.value,
        "effectiveness": rating.effectiveness,
        "note": rating.note,
        "rated_by": rating.rated_by,
        "rated_at": rating.rated_at.isoformat(),
    }


def rate_objectives(
    ctx: Context, *, number: int, answers: Sequence[RatingAnswer], now: dt.datetime, actor: str
) -> list[ObjectiveRatingRecord]:
    """Several ratings for cycle `number` at once (the assessment's form): all are checked
    before any is written, and all are written in one transaction."""
    from cycle.objectives import check_rating_answer
    from cycle.store.objectives import rate_objective as store_rate

    checked = [check_rating_answer(ctx.program, a) for a in answers]
    cycle_by_number(ctx.program, number)
    ctx.store.require_ready()
    return ctx.store.transaction(
        lambda s: [
            store_rate(
                s,
                key=a.key,
                cycle=number,
                value=a.value,
                effectiveness=a.effectiveness,
                note=a.note,
                now=now,
                actor=actor,
            )
            for a in checked
        ]
    )


def objective_facts(ctx: Context, *, lang: Lang = "en") -> tuple[list[ObjectiveFacts], list[RatingFacts]]:
    """Every stored objective and rating, as the AM&E figures take them."""
    from cycle.metrics import ObjectiveFacts, RatingFacts
    from cycle.store.objectives import list_objectives, objective_ratings

    with ctx.store.session() as session:
        records = list_objectives(session)
        ratings = objective_ratings(session)
    facts = [
        ObjectiveFacts(
            key=r.key,
            body=r.body,
            line_of_effort=r.line_of_effort,
            title=r.title_es if lang == "es" else r.title_en,
            status=r.status,
            target=r.target,
            first_cycle=r.first_cycle,
            cycle=r.cycle,
        )
        for r in records
    ]
    return facts, [RatingFacts(key, r.cycle, r.value, r.effectiveness) for key, r in ratings]


def apa_carried_out_as_planned(ctx: Context, *, number: int, as_of: dt.date) -> float | None:
    """The share (0-1) of cycle `number`'s validated APA activities that should be over by
    `as_of` and were carried out as validated (neither dropped nor moved by an amendment);
    None before the APA is validated or before any of its activities is over."""
    with ctx.store.session() as session:
        found = versions(session, cycle=number)
    if not found:
        return None
    kept, due = carried_out_as_planned(found[0], found[-1], as_of=as_of)
    return kept / due if due else None


def with_objectives(ctx: Context, result: Report, *, lang: Lang = "en") -> Report:
    """The AM&E report with the objectives' figures and the APA share added."""
    import dataclasses

    from cycle.metrics import objective_figures

    objectives, ratings = objective_facts(ctx, lang=lang)
    figures = objective_figures(
        objectives, ratings, cycle=result.cycle, as_of=result.as_of, program=ctx.program, lang=lang
    )
    return dataclasses.replace(
        result,
        objectives=figures,
        apa_carried_out_as_planned=apa_carried_out_as_planned(ctx, number=result.cycle, as_of=result.as_of),
    )
