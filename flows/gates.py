"""The tri-chairs' gates as human-in-the-loop steps of a flow.

Under a deployment, a phase flow records the request in the store and suspends with a
typed run input: the Prefect UI shows its form (the tri-chairs as choices, and at the
exercise selection the validated APA's activities as choices), `roundtable gates decide`
and the API resume it with the same fields. Prefect then runs the flow again from the top;
its steps converge and `suspend_flow_run` hands back the answer, which is checked by
`cycle.gates.check_decision` and recorded.

Without a deployment (`roundtable run`, tests) a flow cannot suspend: it records the
request and ends waiting; a decision entered with `roundtable gates decide` is in the store
for the next run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from prefect import get_run_logger
from prefect.client.schemas.objects import State
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from prefect.runtime import deployment, flow_run
from prefect.states import Completed, Failed
from pydantic import Field, StringConstraints, create_model

from cycle.apa import Activity as ApaActivity
from cycle.errors import InputError
from cycle.gates import MAX_ACTIVITY, MAX_NOTES, GateDecision, GateState, tri_chair_slugs
from cycle.program import Phase, Program
from cycle.progression import StepResult, ask, begin_phase, decide, finish_phase
from cycle.store.progress import GateView
from cycle.views import owner_label
from flows.common import ACTOR, announce, context, now, publish_status, store_task
from flows.publish_calendars import publish_calendars

SECONDS_PER_DAY = 86_400
MISSING_SHOWN = 5
"""A run's state message names this many missing items; the console artifact has all."""

Activity = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ACTIVITY)]


def _choices(values: Sequence[str]) -> Any:
    """A type whose values are `values` (a form shows them as a list to pick from)."""
    return Literal[tuple(values)]


def _list_of(item: Any) -> Any:
    return list[item]


def _optional(item: Any) -> Any:
    return item | None


def _listing(activities: Sequence[ApaActivity], program: Program) -> str:
    """One line per activity for a form's description: key, title, dates, host."""
    return "\n".join(
        f"- {a.key}: {a.title.en} / {a.title.es} ({a.first_day} to {a.last_day}"
        f"{', window' if a.window else ''}; {owner_label(program, a.host)})"
        for a in activities
    )


def apa_validation_form(program: Program, draft: Sequence[ApaActivity] = ()) -> type[RunInput]:
    """The form of the APA validation gate: the draft APA's activities to validate."""
    chairs = _list_of(_choices(tri_chair_slugs(program)))
    keys = [a.key.to_string() for a in draft]
    listing = _listing(draft, program) if draft else "The draft is empty: no body has proposed an activity."
    model: type[RunInput] = create_model(
        "ApaValidation",
        __base__=RunInput,
        __doc__="The tri-chairs' validation of the Annual Plan of Activities.",
        approved=(bool, Field(title="APA validated / APA validado")),
        tri_chairs=(
            chairs,
            Field(min_length=1, title="Tri-chairs who decided / Copresidentes que decidieron"),
        ),
        validated_activities=(
            _list_of(_choices(keys)) if keys else list[Activity],
            Field(
                default_factory=list,
                title="Validated activities / Actividades validadas",
                description="The draft APA's activities the tri-chairs validate (needed to approve):\n"
                + listing,
            ),
        ),
        notes=(
            str,
            Field(
                default="",
                max_length=MAX_NOTES,
                title="Notes / Notas",
                description="Required when the APA is not validated: why.",
            ),
        ),
    )
    return model


def exercise_selection_form(program: Program, offered: Sequence[ApaActivity]) -> type[RunInput]:
    """The form of the exercise selection: only the validated APA's observable activities
    of the second year."""
    chairs = _list_of(_choices(tri_chair_slugs(program)))
    keys = [a.key.to_string() for a in offered]
    model: type[RunInput] = create_model(
        "ExerciseSelection",
        __base__=RunInput,
        __doc__="The tri-chairs' choice of the exercise or training to observe.",
        approved=(bool, Field(title="Exercise selected / Ejercicio seleccionado")),
        exercise=(
            _optional(_choices(keys) if keys else Activity),
            Field(
                default=None,
                title="Exercise or training / Ejercicio o adiestramiento",
                description="The visit takes its dates and place:\n" + _listing(offered, program),
            ),
        ),
        tri_chairs=(
            chairs,
            Field(min_length=1, title="Tri-chairs who decided / Copresidentes que decidieron"),
        ),
        notes=(
            str,
            Field(
                default="",
                max_length=MAX_NOTES,
                title="Notes / Notas",
                description="Required when no exercise is selected: why.",
            ),
        ),
    )
    return model


def decision_from_input(phase: Phase, answer: dict[str, Any]) -> GateDecision:
    """A gate decision from a form's fields (as the UI, the CLI or the API send them)."""
    if phase is Phase.executive_session:
        activities = tuple(answer.get("validated_activities") or ())
    else:
        exercise = answer.get("exercise")
        activities = (exercise,) if exercise else ()
    return GateDecision(
        approved=bool(answer["approved"]),
        tri_chairs=tuple(answer["tri_chairs"]),
        notes=str(answer.get("notes") or ""),
        activities=activities,
    )


def input_from_decision(phase: Phase, decision: GateDecision) -> dict[str, Any]:
    """The run input that resumes a suspended flow with `decision`."""
    answer: dict[str, Any] = {
        "approved": decision.approved,
        "tri_chairs": list(decision.tri_chairs),
        "notes": decision.notes,
    }
    if phase is Phase.executive_session:
        answer["validated_activities"] = list(decision.activities)
    else:
        answer["exercise"] = decision.activities[0] if decision.activities else None
    return answer


@dataclass(frozen=True)
class GateOutcome:
    """What came of asking: a decision, or nothing yet (the run could not wait)."""

    view: GateView
    decision: GateDecision | None

    @property
    def approved(self) -> bool:
        return self.decision is not None and self.decision.approved


@store_task(name="request-gate")
def request_gate(number: int, phase: Phase, timeout_days: float) -> GateView:
    """Record the request for the phase's gate (with this run and its expiry)."""
    ctx = context()
    expires = now() + dt.timedelta(days=timeout_days) if timeout_days > 0 else None
    view, said = ask(
        ctx, number=number, phase=phase, run=flow_run.get_id(), expires_at=expires, now=now(), actor=ACTOR
    )
    announce(said)
    return view


def take_gate(number: int, phase: Phase, form: type[RunInput], timeout_days: float) -> GateOutcome:
    """Ask the tri-chairs and, under a deployment, wait for them (see the module's text)."""
    view = request_gate(number, phase, timeout_days)
    if view.state is GateState.approved:
        return GateOutcome(view=view, decision=view.decision)
    if view.state is GateState.rejected and view.decision is not None:
        return GateOutcome(view=view, decision=view.decision)
    if deployment.get_id() is None:
        get_run_logger().info(
            "no deployment: cannot wait for %s; decide it with `roundtable gates decide`", view.item.key
        )
        return GateOutcome(view=view, decision=None)
    timeout = int(timeout_days * SECONDS_PER_DAY) if timeout_days > 0 else None
    answer = suspend_flow_run(wait_for_input=form, timeout=timeout, key=view.item.key.name)
    return GateOutcome(view=view, decision=decision_from_input(phase, answer.model_dump()))


# --- the steps a gated phase flow takes ------------------------------------------------


@store_task(name="begin-phase")
def begin(number: int, phase: Phase, allow_missing: bool) -> StepResult:
    """Check what the phase requires and open it if all is in."""
    step = begin_phase(
        context(), number=number, phase=phase, allow_missing=allow_missing, now=now(), actor=ACTOR
    )
    announce(step.announcements)
    return step


def not_ready(step: StepResult) -> State[Any]:
    """The run's end when the phase cannot start: what is missing, most urgent first."""
    shown = [f"{m.item.key} ({m.status}, due {m.item.due})" for m in step.missing[:MISSING_SHOWN]]
    more = len(step.missing) - len(shown)
    message = (
        f"cycle {step.cycle} cannot start {step.phase.value}: {len(step.missing)} required items are not in: "
        + "; ".join(shown)
        + (f"; and {more} more (see the cycle-{step.cycle}-console artifact)" if more > 0 else "")
    )
    get_run_logger().warning(message)
    # An expected outcome, not a failure: Completed-typed, so Prefect raises nothing and
    # logs no traceback; its name tells it apart in the runs list and to automations.
    return Completed(
        name="NotReady", message=message, data={"missing": [str(m.item.key) for m in step.missing]}
    )


@store_task(name="record-decision", retries=0)
def record_decision(key: str, decision: GateDecision) -> GateView:
    """Check and record the tri-chairs' answer (the same answer again changes nothing)."""
    view, said = decide(context(), key=key, decision=decision, now=now(), actor=ACTOR)
    announce(said)
    return view


@store_task(name="complete-phase")
def complete(number: int, phase: Phase, outcome: dict[str, Any]) -> StepResult:
    step = finish_phase(context(), number=number, phase=phase, outcome=outcome, now=now(), actor=ACTOR)
    announce(step.announcements)
    return step


def gated_phase(
    *,
    number: int,
    day: dt.date,
    phase: Phase,
    form: Callable[[], type[RunInput]],
    allow_missing: bool,
    timeout_days: float,
    outcome: Callable[[GateDecision], dict[str, Any]],
) -> State[Any]:
    """A phase whose work is a tri-chair decision: check what it requires, open it, ask,
    wait, record the answer; on approval complete it and move the cycle on."""
    step = begin(number, phase, allow_missing)
    if step.completed:
        publish_status(number, day)
        return Completed(message=f"cycle {number}: {phase.value} was completed already", data=step.outcome)
    if not step.ready:
        publish_status(number, day)
        return not_ready(step)
    asked = take_gate(number, phase, form(), timeout_days)
    key = asked.view.item.key.to_string()
    if asked.decision is None:
        publish_status(number, day)
        return Completed(
            name="AwaitingDecision",
            message=f"cycle {number}: {key} is asked; no deployment to wait in, so decide it with "
            f"`roundtable gates decide {key}` and run {phase.value} again",
        )
    try:
        view = record_decision(key, asked.decision)
    except InputError as exc:
        publish_status(number, day)
        return Failed(
            name="InvalidDecision",
            message=f"{key}: {exc}; nothing was recorded: run {phase.value} again to ask again",
        )
    if view.state is GateState.rejected:
        publish_calendars(as_of=day)
        publish_status(number, day)
        return Completed(
            name="Rejected",
            message=f"cycle {number}: {key} was not approved by {view.decided_by}: {asked.decision.notes} "
            f"— the phase stays open; run {phase.value} again to ask again",
        )
    finished = complete(number, phase, outcome(asked.decision))
    publish_calendars(as_of=day)
    publish_status(number, day)
    return Completed(
        message=f"cycle {number}: {phase.value} completed ({key} approved by {view.decided_by})",
        data=finished.outcome,
    )
