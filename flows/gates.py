"""The tri-chairs' gates as human-in-the-loop steps of a flow.

Under a deployment, a phase flow records the request in the store and suspends with a
typed run input: the Prefect UI shows its form, whose choices read as a person names
them (the tri-chairs' institutions; the activities by title, dates and host), and
`roundtable gates decide` and the API resume it with the same fields. Prefect then runs
the flow again from the top; its steps converge and `suspend_flow_run` hands back the
answer, which is checked by `cycle.gates.check_decision` and recorded. An answer that
breaks a rule (no activity on an approval, a rejection without its reason) is not
recorded: the same run asks again, saying why, until an answer is recorded or the
request's time is up.

Without a deployment (`roundtable run`, tests) a flow cannot suspend: it records the
request and ends waiting; a decision entered with `roundtable gates decide` is in the store
for the next run.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from prefect import get_run_logger
from prefect.client.schemas.objects import State
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from prefect.runtime import deployment, flow_run
from prefect.states import Completed, Failed
from pydantic import ConfigDict, Field, StringConstraints, create_model

from cycle.apa import Activity as ApaActivity
from cycle.context import Context
from cycle.errors import InputError
from cycle.gates import MAX_ACTIVITY, MAX_NOTES, GateDecision, GateState, timed_out, tri_chair_slugs
from cycle.operations import apa_state, observable_activities
from cycle.program import Phase, Program
from cycle.progression import StepResult, ask, begin_phase, decide, finish_phase
from cycle.store.progress import GateView
from cycle.views import owner_label
from flows.common import ACTOR, announce, context, now, publish_console, publish_status, store_task
from flows.publish_calendars import publish_calendars

SECONDS_PER_DAY = 86_400
MISSING_SHOWN = 5
"""A run's state message names this many missing items; the console artifact has all."""

Activity = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ACTIVITY)]

NO_EXERCISE = "None: the selection is declined / Ninguno: se declina la selección"
"""The exercise form's choice for an answer that selects nothing (a rejection)."""


def _choices(values: Sequence[str]) -> Any:
    """A type whose values are `values` (a form shows them as a list to pick from)."""
    return Literal[tuple(values)]


def _list_of(item: Any) -> Any:
    return list[item]


def activity_label(program: Program, activity: ApaActivity) -> str:
    """What a form shows for an activity: its title, dates and host."""
    return (
        f"{activity.title.en} · {activity.first_day:%d %b %Y} to {activity.last_day:%d %b %Y}"
        f" · {owner_label(program, activity.host)}"
    )


def _labelled(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """label → value, each label made unique (a repeated label gets its value after it)."""
    counts = Counter(label for label, _ in pairs)
    return {(label if counts[label] == 1 else f"{label} ({value})"): value for label, value in pairs}


def _prefill(given: Mapping[str, Any], name: str) -> dict[str, Any]:
    """An unticked box is an answer (no), so the form starts from it or from the last answer."""
    return {"default": bool(given.get(name, False))}


def _answer_required(schema: dict[str, Any]) -> None:
    """Who decided and whether they approved are always asked for, even when the form
    starts from an earlier answer (a default would otherwise make them optional)."""
    schema["required"] = ["approved", "tri_chairs"]


class _GateInput(RunInput):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_answer_required)


@dataclass(frozen=True)
class GateForm:
    """A gate's form in the Prefect UI, and what its choices stand for.

    Prefect's form shows an enum's values as they are, so each choice is the text a person
    reads (an activity's title, dates and host; a tri-chair's institution), and this maps
    it back to the key or slug the store records. A run is resumed with choices, never
    keys: `answer` turns a decision into them.
    """

    phase: Phase
    chairs: Mapping[str, str]
    """label → tri-chair's institution slug"""
    activities: Mapping[str, str]
    """label → activity key"""

    def model(
        self, about: str = "", refused: str | None = None, previous: Mapping[str, Any] | None = None
    ) -> type[RunInput]:
        """The run input a suspended run waits for, `about` said above it. Asked again, it
        says first why the last answer was refused, and starts from that answer."""
        given = dict(previous or {})
        chairs = _list_of(_choices(tuple(self.chairs)))
        prefilled: dict[str, Any] = {"default": list(given["tri_chairs"])} if given.get("tri_chairs") else {}
        chair_field = (
            chairs,
            Field(
                **prefilled,
                min_length=1,
                title="Tri-chairs who decided / Copresidentes que decidieron",
                description="At least one / Al menos uno.",
            ),
        )
        notes_field = (
            str,
            Field(
                default=str(given.get("notes") or ""),
                max_length=MAX_NOTES,
                title="Notes / Notas",
                description="Why, when the answer is no. / Por qué, si la respuesta es no.",
            ),
        )
        if self.phase is Phase.executive_session:
            name, doc = "ApaValidation", "The tri-chairs' validation of the Annual Plan of Activities."
            keys = tuple(self.activities)
            fields: dict[str, Any] = {
                "approved": (
                    bool,
                    Field(**_prefill(given, "approved"), title="APA validated / APA validado"),
                ),
                "tri_chairs": chair_field,
                "validated_activities": (
                    _list_of(_choices(keys)) if keys else list[Activity],
                    Field(
                        default=list(given.get("validated_activities") or []),
                        title="Validated activities / Actividades validadas",
                        description="An approval needs at least one. / Una aprobación requiere una o más.",
                    ),
                ),
                "notes": notes_field,
            }
            rules = (
                "Tick **APA validated** and the activities the tri-chairs validate (at least one), "
                "or leave it unticked and give the reason in the notes."
            )
        else:
            name, doc = "ExerciseSelection", "The tri-chairs' choice of the exercise or training to observe."
            fields = {
                "approved": (
                    bool,
                    Field(**_prefill(given, "approved"), title="Exercise selected / Ejercicio seleccionado"),
                ),
                "exercise": (
                    _choices((*self.activities, NO_EXERCISE)),
                    Field(
                        default=given.get("exercise") or NO_EXERCISE,
                        title="Exercise or training / Ejercicio o adiestramiento",
                        description="The visit takes its dates and place. / La visita toma fechas y lugar.",
                    ),
                ),
                "tri_chairs": chair_field,
                "notes": notes_field,
            }
            rules = (
                "Tick **Exercise selected** and choose exactly one exercise or training, "
                "or leave it unticked and give the reason in the notes."
            )
        model: type[RunInput] = create_model(name, __base__=_GateInput, __doc__=doc, **fields)
        said = f"{about} {rules}".strip()
        text = (
            said if refused is None else f"**The last answer was refused: {refused}.** Answer again. {said}"
        )
        model._description = text  # what Prefect shows above the form (as its with_initial_data does)
        return model

    def decision(self, answer: Mapping[str, Any]) -> GateDecision:
        """The decision a form's fields hold (choices read back as keys and slugs)."""
        if self.phase is Phase.executive_session:
            chosen = tuple(answer.get("validated_activities") or ())
        else:
            exercise = answer.get("exercise")
            chosen = (exercise,) if exercise and exercise != NO_EXERCISE else ()
        return GateDecision(
            approved=bool(answer["approved"]),
            tri_chairs=tuple(self.chairs.get(c, c) for c in answer["tri_chairs"]),
            notes=str(answer.get("notes") or ""),
            activities=tuple(self.activities.get(a, a) for a in chosen),
        )

    def answer(self, decision: GateDecision) -> dict[str, Any]:
        """The run input that resumes a suspended run with `decision` (its choices)."""
        chair_labels = {slug: label for label, slug in self.chairs.items()}
        activity_labels = {key: label for label, key in self.activities.items()}
        chosen = [activity_labels.get(key, key) for key in decision.activities]
        answer: dict[str, Any] = {
            "approved": decision.approved,
            "tri_chairs": [chair_labels.get(slug, slug) for slug in decision.tri_chairs],
            "notes": decision.notes,
        }
        if self.phase is Phase.executive_session:
            answer["validated_activities"] = chosen
        else:
            answer["exercise"] = chosen[0] if chosen else NO_EXERCISE
        return answer


def gate_form(program: Program, phase: Phase, activities: Sequence[ApaActivity]) -> GateForm:
    """The form of a gate: at the APA validation `activities` is the draft APA, at the
    exercise selection the validated APA's observable activities of the second year."""
    chairs = _labelled([(owner_label(program, slug), slug) for slug in tri_chair_slugs(program)])
    labelled = _labelled([(activity_label(program, a), a.key.to_string()) for a in activities])
    return GateForm(phase=phase, chairs=chairs, activities=labelled)


def form_of(ctx: Context, *, number: int, phase: Phase, as_of: dt.date) -> GateForm:
    """The form the phase's gate shows now, from the store."""
    if phase is Phase.executive_session:
        return gate_form(ctx.program, phase, apa_state(ctx, number=number).draft)
    return gate_form(ctx.program, phase, observable_activities(ctx, number=number, as_of=as_of))


@dataclass(frozen=True)
class GateOutcome:
    """What came of asking: a decision, or nothing yet (the run could not wait)."""

    view: GateView
    decision: GateDecision | None
    timed_out: bool = False
    refused: str | None = None
    """Why the last answer was refused, when the time ran out after it."""

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


@dataclass(frozen=True)
class Recorded:
    """What came of recording an answer: the gate as it now stands, or why the answer was
    refused (nothing recorded)."""

    view: GateView | None
    refused: str | None = None


@store_task(name="record-decision", retries=0)
def record_decision(key: str, decision: GateDecision) -> Recorded:
    """Check and record the tri-chairs' answer (the same answer again changes nothing). A
    refused answer is an outcome, not an error: the run asks again."""
    try:
        view, said = decide(context(), key=key, decision=decision, now=now(), actor=ACTOR)
    except InputError as exc:
        return Recorded(view=None, refused=str(exc))
    announce(said)
    return Recorded(view=view)


def _seconds_left(view: GateView, timeout_days: float) -> int | None:
    if view.expires_at is None:
        return int(timeout_days * SECONDS_PER_DAY) if timeout_days > 0 else None
    return int((view.expires_at - now()).total_seconds())


def take_gate(number: int, day: dt.date, phase: Phase, form: GateForm, timeout_days: float) -> GateOutcome:
    """Ask the tri-chairs and, under a deployment, wait for them and record their answer.

    A refused answer does not end the run: the same run suspends again with a form that says
    why and starts from that answer, until an answer is recorded or the request's time is
    up. Each asking has its own pause key, so when Prefect runs the flow again from the
    top, the earlier askings hand back their answers, are refused again the same way, and
    the run reaches the asking that is open.
    """
    view = request_gate(number, phase, timeout_days)
    key = view.item.key.to_string()
    if view.state in (GateState.approved, GateState.rejected) and view.decision is not None:
        return GateOutcome(view=view, decision=view.decision)
    if deployment.get_id() is None:
        get_run_logger().info(
            "no deployment: cannot wait for %s; decide it with `roundtable gates decide`", key
        )
        return GateOutcome(view=view, decision=None)
    publish_console(number, day)  # the console links the run's form while it waits
    about = f"Cycle {number}: *{view.item.title.en}*, due {view.item.due}."
    refused: str | None = None
    previous: dict[str, Any] | None = None
    for attempt in itertools.count(1):
        left = _seconds_left(view, timeout_days)
        if attempt > 1 and left is not None and left <= 0:
            return GateOutcome(view=view, decision=None, timed_out=True, refused=refused)
        pause = view.item.key.name if attempt == 1 else f"{view.item.key.name}-{attempt}"
        answer = suspend_flow_run(
            wait_for_input=form.model(about, refused, previous), timeout=left, key=pause
        )
        previous = answer.model_dump()
        decision = form.decision(previous)
        recorded = record_decision(key, decision)
        if recorded.view is not None:
            return GateOutcome(view=recorded.view, decision=decision)
        refused = recorded.refused
        get_run_logger().warning("%s: the answer was refused (%s); asking again", key, refused)
    raise AssertionError("unreachable")


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
    # Built once the phase has begun: the exercise selection needs the APA validated.
    asked = take_gate(
        number, day, phase, form_of(context(), number=number, phase=phase, as_of=day), timeout_days
    )
    key = asked.view.item.key.to_string()
    view = asked.view
    if asked.timed_out:
        publish_status(number, day)
        return Failed(
            name="TimedOut",
            message=timed_out(key, view.expires_at)
            + (f" (the last answer was refused: {asked.refused})" if asked.refused else ""),
        )
    if asked.decision is None:
        publish_status(number, day)
        return Completed(
            name="AwaitingDecision",
            message=f"cycle {number}: {key} is asked; no deployment to wait in, so decide it with "
            f"`roundtable gates decide {key}` and run {phase.value} again",
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
