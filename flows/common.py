"""What every Roundtable flow shares: the store, the cycle a run is about, its name and
tags, the events it emits and the artifacts that show a cycle in the Prefect UI.

Flows are thin: they call `cycle.progression` for the work and these helpers to
say what happened. Tasks wrap the store, which can fail, and retry what a retry can fix.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, TypeVar

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import State, TaskRun
from prefect.context import FlowRunContext
from prefect.events import emit_event
from prefect.runtime import flow_run
from prefect.tasks import Task

from cycle.context import Context, open_context
from cycle.cycles import cycle_by_number, cycle_on
from cycle.errors import NotFoundError, RoundtableError, StoreError
from cycle.metrics import ObjectiveFigures
from cycle.operations import ApaState, apa_state, check_deadlines
from cycle.program import Phase
from cycle.progression import Announcement, CycleBoard, cycle_board
from cycle.settings import settings_from_env
from cycle.views import owner_label
from flows.console import blocker_lines, console_markdown, gate_state, lateness, position_line, short

ACTOR = "prefect"

P = ParamSpec("P")
R = TypeVar("R")


def context() -> Context:
    """The program and store named by the environment (ROUNDTABLE_*), loaded once per
    process for the same settings."""
    settings = settings_from_env(os.environ)
    return _cached_context(str(settings.config_path), settings.database_url, settings.database_origin)


@functools.lru_cache(maxsize=4)
def _cached_context(config_path: str, database_url: str, origin: str) -> Context:
    del config_path, database_url, origin  # the cache key; open_context reads the same settings
    return open_context(settings_from_env(os.environ))


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    return dt.datetime.now().astimezone().date()


def resolve(cycle: int | None, as_of: dt.date | None) -> tuple[int, dt.date]:
    """The cycle a run is about (default: the one open on `as_of`) and its day."""
    program = context().program
    day = as_of or today()
    if cycle is not None:
        return cycle_by_number(program, cycle).number, day
    found = cycle_on(program, day)
    if found is None:
        raise NotFoundError(f"no cycle is open on {day}; give the cycle parameter")
    return found.number, day


def run_name(flow_name: str) -> Callable[[], str]:
    """A `flow_run_name` that names the cycle and phase, e.g. `cycle-9-executive-session`."""

    def name() -> str:
        parameters = flow_run.get_parameters()
        cycle, as_of = parameters.get("cycle"), parameters.get("as_of")
        if isinstance(as_of, str):
            as_of = dt.date.fromisoformat(as_of)
        try:
            number, _ = resolve(cycle, as_of)
        except RoundtableError:
            return f"{flow_name}-cycle-{cycle or 'unknown'}"
        return f"cycle-{number}-{flow_name}"

    return name


def dated_run_name(flow_name: str) -> Callable[[], str]:
    """A `flow_run_name` for flows about every cycle: the name and the day."""

    def name() -> str:
        return f"{flow_name}-{flow_run.get_parameters().get('as_of') or today()}"

    return name


def label_run(number: int, phase: str) -> None:
    """Tag the running flow run `cycle:N` and `phase:NAME` (the cycle is known only once
    the run has worked it out from `as_of`)."""
    run_context = FlowRunContext.get()
    if run_context is None or run_context.flow_run is None:
        return
    current = list(run_context.flow_run.tags)
    wanted = [t for t in (f"cycle:{number}", f"phase:{phase}") if t not in current]
    if wanted:
        with get_client(sync_client=True) as client:
            client.update_flow_run(run_context.flow_run.id, tags=[*current, *wanted])
        run_context.flow_run.tags = [*current, *wanted]


def _retry_store_errors(_task: Any, _run: TaskRun, state: State[Any]) -> bool:
    """Retry a store task only for what a retry can fix: a lost connection or a busy
    database. Mistakes (bad input, a missing plan) fail at once with their message."""
    try:
        state.result()
    except StoreError as exc:
        return "not planned" not in str(exc) and "roundtable init" not in str(exc)
    except RoundtableError:
        return False
    except Exception:  # noqa: BLE001 - an unexpected error from the driver: worth another try
        return True
    return False


def store_task(*, name: str, retries: int = 2) -> Callable[[Callable[P, R]], Task[P, R]]:
    """A task that reads or writes the store. Such tasks are idempotent, so they are never
    cached (a rerun converges on the store's state) and are retried on connection errors."""

    def wrap(fn: Callable[P, R]) -> Task[P, R]:
        decorate = task(
            name=name,
            retries=retries,
            retry_delay_seconds=[2, 10],
            retry_condition_fn=_retry_store_errors,
            cache_policy=NO_CACHE,
        )
        return decorate(fn)

    return wrap


def resource(number: int) -> dict[str, str]:
    return {
        "prefect.resource.id": f"roundtable.cycle.{number}",
        "prefect.resource.name": f"Cycle {number}",
        "roundtable.cycle": str(number),
    }


def related_phase(number: int, phase: str) -> dict[str, str]:
    return {
        "prefect.resource.id": f"roundtable.cycle.{number}.phase.{phase}",
        "prefect.resource.role": "phase",
        "prefect.resource.name": phase,
        "roundtable.phase": phase,
    }


def announce(announcements: Iterable[Announcement]) -> None:
    """Emit `roundtable.*` events for what a step changed, and log them."""
    logger = get_run_logger()
    for said in announcements:
        announce_outside_run([said])
        logger.info("cycle %s %s: %s", said.cycle, said.phase.value, said.name)


def announce_outside_run(announcements: Iterable[Announcement]) -> None:
    """Emit `roundtable.*` events from a command (no flow run to log to)."""
    for said in announcements:
        emit_event(
            event=f"roundtable.{said.name}",
            resource=resource(said.cycle),
            related=[related_phase(said.cycle, said.phase.value)],
            payload={"cycle": said.cycle, "phase": said.phase.value, **said.detail},
        )


# --- artifacts ----------------------------------------------------------------------------


def status_table(board: CycleBoard) -> list[dict[str, Any]]:
    """A row per phase; the step the flows are at (`cycle.standpoint`) is marked, and a gate
    undecided past its due date says how late. Six short columns: the card's width."""
    sp = board.standpoint
    return [
        {
            "phase": row.name.en,
            "state": row.state.value
            + (" ← now" if sp.step is not None and row.phase is sp.step.phase else ""),
            "gate": gate_state(row, sp),
            "overdue": row.overdue,
            "done": f"{row.deliverables_done}/{row.deliverables_total}",
            "window": f"{row.window[0]} → {row.window[1]}",
        }
        for row in board.rows
    ]


def status_markdown(ctx: Context, board: CycleBoard) -> str:
    """The summary: the cycle's figures, where it stands and what blocks it (the same
    sentences as the console), the gates, the most late and what comes next."""
    status = board.status
    cycle = status.cycle
    sp = board.standpoint
    lines = [
        f"# Cycle {cycle.number} ({cycle.start} → {cycle.end}, {cycle.months} months)",
        "",
        f"As of **{status.as_of}** the cycle is **{status.state}**. {position_line(sp)}",
        "",
        f"- Deliverables: {status.deliverables_done}/{status.deliverables_total} done, "
        f"{status.deliverables_submitted} submitted, **{len(status.overdue)} overdue**",
        f"- Phases completed: {board.phases_completed} of {len(board.rows)}",
    ]
    for gate in board.gates:
        decided = f" by {gate.decided_by} on {gate.decided_at:%Y-%m-%d}" if gate.decided_at else ""
        late = next((b.days_late for b in (*sp.blockers, *sp.next_needs) if b.item.key == gate.item.key), 0)
        state = f"{gate.state.value}, {lateness(late)}" if late else gate.state.value
        lines.append(f"- Gate *{gate.item.title.en}* ({gate.item.due}): **{state}**{decided}")
    lines += ["", "## What blocks it", "", *blocker_lines(sp)]
    skipped = {
        phase: outcome.outcome.get("went_on_without") or outcome.outcome.get("waiting_for")
        for phase, outcome in board.progress.items()
    }
    for phase, keys in skipped.items():
        if keys:
            lines.append(f"- {phase.value} is waiting for or went on without: {', '.join(keys)}")
    if status.overdue:
        lines += ["", "## Most late", "", "| owner | deliverable | due | days late |", "|---|---|---|---:|"]
        lines += [
            f"| {owner_label(ctx.program, o.item.owner)} | {short(o.item.title.en)} "
            f"| {o.item.due} | {o.days_late} |"
            for o in status.overdue[:10]
        ]
    if status.next_events:
        lines += ["", "## Coming up", ""]
        lines += [f"- {i.dates[0]}: {i.title.en}" for i in status.next_events]
    return "\n".join(lines) + "\n"


@store_task(name="publish-status")
def publish_status(number: int, as_of: dt.date) -> dict[str, Any]:
    """Show the cycle in the Prefect UI (`show_cycle`), as a step of a flow."""
    return show_cycle(number, as_of)


@store_task(name="publish-console")
def publish_console(number: int, as_of: dt.date) -> None:
    """Show the cycle's console alone (as a run that is about to wait does)."""
    ctx = context()
    _console(ctx, cycle_board(ctx, number=number, as_of=as_of))


def _console(ctx: Context, board: CycleBoard) -> None:
    number, as_of = board.status.cycle.number, board.standpoint.as_of
    create_markdown_artifact(
        key=f"cycle-{number}-console",
        markdown=console_markdown(
            ctx.program, board, check_deadlines(ctx, number=number, as_of=as_of).overdue
        ),
        description=f"Cycle {number} as of {as_of}: where it stands, what blocks it, who must act",
    )


def show_cycle(number: int, as_of: dt.date) -> dict[str, Any]:
    """Show the cycle in the Prefect UI: the `cycle-{n}-status` table (a row per phase), a
    markdown summary, a progress bar of phases completed, the `cycle-{n}-apa` table and,
    once the cycle holds objectives, the `cycle-{n}-objectives` table. Call it inside a flow
    or task run (`publish_status`): Prefect links every artifact to a run."""
    ctx = context()
    board = cycle_board(ctx, number=number, as_of=as_of)
    apa = apa_state(ctx, number=number)
    description = f"Cycle {number} as of {as_of}: phases, deliverables done/total, overdue; {apa_line(apa)}"
    objectives = objectives_state(ctx, number=number, as_of=as_of)
    create_table_artifact(key=f"cycle-{number}-status", table=status_table(board), description=description)
    _console(ctx, board)
    if objectives.by_body:
        create_table_artifact(
            key=f"cycle-{number}-objectives",
            table=objective_rows(objectives),
            description=f"Cycle {number} as of {as_of}: the objectives held in the cycle, per body",
        )
    create_markdown_artifact(
        key=f"cycle-{number}-summary",
        markdown=status_markdown(ctx, board)
        + f"\n- {apa_line(apa)}\n"
        + objectives_summary(objectives, board),
        description=f"Cycle {number} as of {as_of}",
    )
    publish_apa(ctx, apa)
    share = 100.0 * board.phases_completed / len(board.rows) if board.rows else 0.0
    create_progress_artifact(
        key=f"cycle-{number}-progress",
        progress=share,
        description=f"Cycle {number}: {board.phases_completed} of {len(board.rows)} phases completed",
    )
    return {
        "phase": board.status.phase.value if board.status.phase else None,
        "recorded_phase": board.recorded_phase.value if board.recorded_phase else None,
        "overdue": len(board.status.overdue),
        "phases_completed": board.phases_completed,
    }


def apa_table(ctx: Context, state: ApaState) -> list[dict[str, Any]]:
    """The rows of the `cycle-{n}-apa` artifact: the latest version's activities (or the
    draft before validation), the visit's exercise marked."""
    latest = state.latest
    activities = latest.activities if latest is not None else state.draft
    standing = "draft" if latest is None else f"v{latest.version}"
    return [
        {  # what a reader looks for first comes first: the UI's table scrolls sideways
            "activity": a.title.en,
            "dates": f"{a.first_day} → {a.last_day}" + (" (window)" if a.window else ""),
            "apa": standing + (" · observed" if a.key.to_string() == state.selected else ""),
            "host": owner_label(ctx.program, a.host),
            "kind": ctx.program.apa.kind_name(a.kind, "en"),
            "participants": ", ".join(owner_label(ctx.program, p) for p in a.participants),
            "body": a.body,
            "objectives": ", ".join(a.objectives),
            "key": a.key.to_string(),
        }
        for a in activities
    ]


def apa_line(state: ApaState) -> str:
    """The APA in one line: draft or version, activities, the visit's exercise."""
    latest = state.latest
    if latest is None:
        return f"APA: draft, {len(state.draft)} proposed activities (validated at the executive session)"
    count = len(latest.activities)
    line = f"APA: version {latest.version}, {count} activit{'y' if count == 1 else 'ies'}"
    exercise = latest.activity(state.selected) if state.selected else None
    return line + (f"; observation visit to {exercise.title.en}" if exercise is not None else "")


def publish_apa(ctx: Context, state: ApaState) -> None:
    """Show the cycle's APA in the Prefect UI: the `cycle-{n}-apa` table."""
    latest = state.latest
    amendments = latest.version - 1 if latest is not None else 0
    description = apa_line(state) + (
        f" ({amendments} amendment{'s' if amendments != 1 else ''} since validation)" if latest else ""
    )
    create_table_artifact(
        key=f"cycle-{state.cycle}-apa", table=apa_table(ctx, state), description=description
    )


# --- the objectives in the status ---------------------------------------------------------


def objectives_state(ctx: Context, *, number: int, as_of: dt.date) -> ObjectiveFigures:
    """The objectives held in the cycle, counted by status per body."""
    from cycle.metrics import objective_figures
    from cycle.operations import objective_facts

    facts, ratings = objective_facts(ctx)
    return objective_figures(facts, ratings, cycle=number, as_of=as_of, program=ctx.program)


def objective_rows(figures: ObjectiveFigures) -> list[dict[str, Any]]:
    """The `cycle-{n}-objectives` table: a row per body holding objectives, its counts by
    status and those still open past their target. (A table of its own: mixed into the
    status table's phase rows, its counts had to borrow the phases' columns.)"""
    return [
        {
            "body": row.name,
            "proposed": row.proposed,
            "active": row.active,
            "achieved": row.achieved,
            "dropped": row.dropped,
            "open past target": row.past_target,
            "key": row.key,
        }
        for row in figures.by_body
    ]


def objectives_summary(figures: ObjectiveFigures, board: CycleBoard) -> str:
    """The summary's objectives section (nothing when the cycle holds none), with the
    ratings the open assessment awaits."""
    if not figures.by_body:
        return ""
    totals = figures.totals
    assessment = board.progress.get(Phase.assessment)
    awaited = assessment.outcome.get("ratings_awaited") if assessment is not None else None
    lines = [
        "",
        "## Objectives",
        "",
        f"{totals.total} held in the cycle: {totals.proposed} proposed, {totals.active} active, "
        f"{totals.achieved} achieved, {totals.dropped} dropped; "
        f"**{totals.past_target} open past their target**",
        "",
        "| body | proposed | active | achieved | dropped | open past target |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.name} | {r.proposed} | {r.active} | {r.achieved} | {r.dropped} | {r.past_target} |"
        for r in figures.by_body
    ]
    if awaited:
        lines += ["", f"- The assessment awaits the ratings of: {', '.join(awaited)}"]
    return "\n".join(lines) + "\n"
