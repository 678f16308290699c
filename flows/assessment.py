"""assessment: the AM&E group's assessment of the cycle.

Needs the observation visit's report in (in a 24-month cycle); attaches the AM&E figures
(on-time rate, days late and open items per body, line of effort and cycle, with the trend
as a chart) as the `cycle-{n}-ame-report` markdown artifact; completes once the AM&E
assessment report is in, and moves the cycle to its close-out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.client.schemas.objects import State
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from prefect.runtime import deployment
from prefect.states import Completed, Failed
from pydantic import Field, create_model

from cycle.deliverable import MAX_NOTE
from cycle.errors import RoundtableError
from cycle.objectives import RatingAnswer
from cycle.operations import ame_report, rate_objectives, unrated_objectives
from cycle.program import Phase, Program
from cycle.progression import StepResult, assess
from flows.common import (
    ACTOR,
    announce,
    context,
    label_run,
    now,
    publish_status,
    resolve,
    run_name,
    store_task,
)
from flows.gates import SECONDS_PER_DAY, begin, not_ready
from flows.publish_calendars import publish_calendars
from flows.report import report_markdown


@store_task(name="record-assessment")
def record_assessment(number: int, as_of: dt.date) -> StepResult:
    step = assess(context(), number=number, as_of=as_of, now=now(), actor=ACTOR)
    announce(step.announcements)
    return step


@store_task(name="attach-ame-report")
def attach_ame_report(number: int, as_of: dt.date) -> dict[str, Any]:
    """The AM&E figures of the cycle as a markdown artifact the UI shows with its chart."""
    result = ame_report(context(), number=number, as_of=as_of)
    create_markdown_artifact(
        key=f"cycle-{number}-ame-report",
        markdown=report_markdown(result),
        description=f"Cycle {number}: deliverables on time, as of {as_of}",
    )
    totals = result.totals
    return {"on_time_rate": totals.on_time_rate, "overdue": totals.overdue, "open": totals.open}


# --- the AM&E ratings of the objectives --------------------------------------------------

RATINGS_KEY = "objective-ratings"
DEFAULT_RATINGS_TIMEOUT_DAYS = 30.0


def rating_field(key: str) -> str:
    """The form field of an objective: its key as a name (`/` and `-` are not allowed).

    >>> rating_field("wg-logistics/shared-fuel-doctrine")
    'wg_logistics__shared_fuel_doctrine'
    """
    return key.replace("/", "__").replace("-", "_")


def ratings_form(program: Program, objectives: Sequence[tuple[str, str]]) -> type[RunInput]:
    """The form of the ratings: who rates, then a group per (key, title) objective with its
    value and effectiveness (the program's scale as choices) and a note."""
    levels = program.objectives.ratings
    scale: Any = Literal[tuple(level.value for level in levels)]
    meaning = ", ".join(f"{level.value} {level.name.en} / {level.name.es}" for level in levels)
    group = create_model(
        "ObjectiveRating",
        value=(scale, Field(title="Value / Valor", description=meaning)),
        effectiveness=(scale, Field(title="Effectiveness / Eficacia", description=meaning)),
        note=(str, Field(default="", max_length=MAX_NOTE, title="Note / Nota")),
    )
    fields: dict[str, Any] = {
        rating_field(key): (group, Field(title=f"{key} — {title}")) for key, title in objectives
    }
    model: type[RunInput] = create_model(
        "ObjectiveRatings",
        __base__=RunInput,
        __doc__="The AM&E group's ratings of the cycle's active objectives.",
        rated_by=(
            str,
            Field(min_length=1, max_length=200, title="Rated by / Calificado por"),
        ),
        **fields,
    )
    return model


def answers_from_input(keys: Sequence[str], answer: dict[str, Any]) -> list[RatingAnswer]:
    """The ratings a filled-in form gives, one per objective key."""
    return [
        RatingAnswer(
            key=key,
            value=int(answer[rating_field(key)]["value"]),
            effectiveness=int(answer[rating_field(key)]["effectiveness"]),
            note=str(answer[rating_field(key)].get("note") or "") or None,
        )
        for key in keys
    ]


@store_task(name="ratings-awaited")
def ratings_awaited(number: int) -> list[tuple[str, str]]:
    """The active objectives of the cycle not rated yet: key and title."""
    return [(r.key, r.title_en) for r in unrated_objectives(context(), number=number)]


@store_task(name="record-ratings", retries=0)
def record_ratings(number: int, answers: list[RatingAnswer], rated_by: str) -> int:
    return len(rate_objectives(context(), number=number, answers=answers, now=now(), actor=rated_by.strip()))


def take_ratings(number: int, timeout_days: float) -> State[Any] | None:
    """Ask the AM&E group for the ratings the cycle awaits and, under a deployment, wait
    for them and record them; a run's end if the answer cannot be recorded."""
    awaited = ratings_awaited(number)
    if not awaited:
        return None
    if deployment.get_id() is None:
        get_run_logger().info(
            "no deployment: cannot wait for the ratings of %s objectives; give them with "
            "`roundtable objectives rate`",
            len(awaited),
        )
        return None
    timeout = int(timeout_days * SECONDS_PER_DAY) if timeout_days > 0 else None
    form = ratings_form(context().program, awaited)
    answer = suspend_flow_run(wait_for_input=form, timeout=timeout, key=RATINGS_KEY).model_dump()
    try:
        record_ratings(number, answers_from_input([k for k, _ in awaited], answer), str(answer["rated_by"]))
    except RoundtableError as exc:
        return Failed(
            name="InvalidRatings",
            message=f"cycle {number}: {exc}; nothing was recorded: run assessment again to ask again",
        )
    return None


def _waiting_message(number: int, outcome: dict[str, Any]) -> str:
    waiting = list(outcome.get("waiting_for", []))
    rated = outcome.get("ratings_awaited", [])
    if rated:
        waiting.append(f"ratings of {len(rated)} objectives (give them with `roundtable objectives rate`)")
    return f"cycle {number}: assessment open, waiting for {', '.join(waiting)}"


@flow(name="assessment", flow_run_name=run_name("assessment"))
def assessment(
    cycle: int | None = None,
    as_of: dt.date | None = None,
    allow_missing: bool = False,
    ratings_timeout_days: float = DEFAULT_RATINGS_TIMEOUT_DAYS,
) -> State[Any]:
    """Open the assessment and complete it once the AM&E report is in and the cycle's
    active objectives are rated.

    Args:
        cycle: The cycle's number (default: the cycle open on as_of).
        as_of: The day the run is about, as YYYY-MM-DD (default: today).
        allow_missing: Go on without the required deliverables that are not in (each is recorded as skipped).
        ratings_timeout_days: How many days the ratings form waits before the request times out
            (0: no limit).
    """
    number, day = resolve(cycle, as_of)
    label_run(number, Phase.assessment.value)
    step = begin(number, Phase.assessment, allow_missing)
    if not step.ready:
        publish_status(number, day)
        return not_ready(step)
    if not step.completed:
        refused = take_ratings(number, ratings_timeout_days)
        if refused is not None:
            publish_status(number, day)
            return refused
        step = record_assessment(number, day)
    attach_ame_report(number, day)
    publish_calendars(as_of=day)
    publish_status(number, day)
    if step.completed:
        return Completed(message=f"cycle {number}: assessment completed", data=step.outcome)
    return Completed(name="Waiting", message=_waiting_message(number, step.outcome))
