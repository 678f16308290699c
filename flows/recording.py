"""Recording from the Prefect UI: flows whose typed parameters are the form an operator
fills in, each calling the same operation as the CLI (`roundtable deliverables …`,
`roundtable objectives progress`), with the same checks.

A mistake ends the run Failed with the operation's one-line message and writes nothing
(each operation checks first and writes in one transaction).

- record-deliverable: submit, accept, return or waive a deliverable, picked from the
  cycle's list (`flows.choices`) or given by its key.
- record-objective-progress: an objective's progress, new status and meeting.
- amend-apa: add, drop or reschedule one activity of a validated APA, with a reason.

Each, once it has recorded, publishes the cycle's console and tables anew, so a run on a
work pool, with no plan follower beside it, leaves no view stale.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Literal

from prefect import flow, get_run_logger
from prefect.client.schemas.objects import State
from prefect.runtime import flow_run
from prefect.states import Completed, Failed

from cycle import operations
from cycle.apa import Amendment, AmendmentKind, parse_activity_key
from cycle.deliverable import Action
from cycle.errors import InputError, RoundtableError
from cycle.items import ItemKey
from flows.choices import key_of, offer_deliverables
from flows.common import context, now, publish_status, resolve, store_task, today
from flows.publish_calendars import publish_calendars

MAX_BY = 200

DeliverableAction = Literal["submit", "accept", "return", "waive"]
ObjectiveStatusChoice = Literal["proposed", "active", "achieved", "dropped"]
AmendmentChoice = Literal["add", "drop", "reschedule"]


def check_by(by: str) -> str:
    """Who records it: a name on one line, as `--by` takes it."""
    name = by.strip()
    if not name or len(name) > MAX_BY or any(not ch.isprintable() for ch in name):
        raise InputError(f"by: give a name of 1-{MAX_BY} characters on one line")
    return name


def _refused(what: str, exc: RoundtableError) -> State[Any]:
    """The run's end for a mistake: the message the CLI gives for it, word for word."""
    get_run_logger().warning("%s: nothing was recorded: %s", what, exc)
    return Failed(name="InvalidInput", message=str(exc))


def whole_key(key: str, cycle: int | None) -> str:
    """A deliverable's key in full: as given when it names its cycle (c9/deliverable/…),
    else under `cycle` (default: the cycle open today), as the overdue table shows keys."""
    key = key.strip()
    if re.match(r"c[0-9]+/", key):
        return key
    number, _ = resolve(cycle, None)
    return f"c{number}/deliverable/{key}"


def chosen_key(deliverable: str | None, key: str | None) -> str:
    """The key of the deliverable picked from the form's list, or typed: one of the two."""
    picked, typed = (deliverable or "").strip(), (key or "").strip()
    if bool(picked) == bool(typed):
        raise InputError("deliverable: pick one from the list, or give its key, not both")
    return key_of(picked) if picked else typed


@dataclass(frozen=True)
class Recording:
    """What came of recording: the deliverable's new state, or why nothing was recorded (a
    refusal is an outcome the run reports, not an error of the task)."""

    key: str
    state: str | None
    refused: str | None = None


@store_task(name="record-deliverable-action", retries=0)
def record_deliverable_action(
    key: str, action: DeliverableAction, by: str, note: str | None, cycle: int | None
) -> Recording:
    try:
        key = whole_key(key, cycle)
        view = operations.record(
            context(), key=key, action=Action(action), actor=check_by(by), now=now(), note=note or None
        )
    except RoundtableError as exc:
        return Recording(key=key, state=None, refused=str(exc))
    return Recording(key=key, state=view.state.value)


@store_task(name="refresh-the-deliverable-list")
def refresh_the_list() -> None:
    """The form's list shows the new state (under `serve` its watcher does it too; on a
    work pool nothing else would)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        offer_deliverables(context(), client, today=today())


def refresh_the_console(key: str) -> None:
    """The deliverable's cycle shows what was just recorded in its console and tables,
    wherever the run ran (under `serve` the plan follower would also do it, a few seconds
    later)."""
    publish_status(ItemKey.from_string(key).cycle, today())


def _recording_run_name() -> str:
    parameters = flow_run.get_parameters()
    picked, typed = parameters.get("deliverable"), parameters.get("key")
    shown = key_of(picked) if picked else (typed or "").strip()
    return f"record-deliverable-{parameters.get('action')}-{shown}"


@flow(name="record-deliverable", flow_run_name=_recording_run_name)
def record_deliverable(
    action: DeliverableAction,
    by: str,
    deliverable: str | None = None,
    key: str | None = None,
    note: str | None = None,
    cycle: int | None = None,
) -> State[Any]:
    """Record a deliverable's submission, acceptance, return (with a note) or waiver
    (the note is the reason), as `roundtable deliverables …` does.

    Args:
        action: What happened: submit (handed in), accept, return (sent back, with a note) or waive.
        by: Who records it (your name or office); kept in the change log.
        deliverable: The deliverable, picked from the cycle's list (or give key instead).
        key: Or its key, as the overdue table shows it (sst-army/agenda-1) or whole (c9/deliverable/…).
        note: Why: needed to return or waive a deliverable, optional otherwise.
        cycle: The cycle of a key given without it (default: the cycle open today).
    """
    try:
        given = chosen_key(deliverable, key)
    except InputError as exc:
        return _refused("record-deliverable", exc)
    done = record_deliverable_action(given, action, by, note, cycle)
    if done.refused is not None:
        get_run_logger().warning("%s: nothing was recorded: %s", done.key, done.refused)
        return Failed(name="InvalidInput", message=done.refused)
    refresh_the_list()
    refresh_the_console(done.key)
    return Completed(
        message=f"{done.key}: {done.state}", data={"key": done.key, "state": done.state, "by": by.strip()}
    )


@store_task(name="record-progress", retries=0)
def record_progress(
    key: str, note: str, percent: int, status: ObjectiveStatusChoice | None, meeting: str | None, by: str
) -> dict[str, Any]:
    stored = operations.record_objective_progress(
        context(),
        key=key,
        note=note,
        percent=percent,
        status=status,
        meeting=meeting or None,
        now=now(),
        actor=check_by(by),
    )
    return {"key": stored.key, "status": stored.status, "progress": stored.progress, "cycle": stored.cycle}


@flow(name="record-objective-progress", flow_run_name="record-objective-progress-{key}")
def record_objective_progress(
    key: str,
    note: str,
    percent: int,
    by: str,
    status: ObjectiveStatusChoice | None = None,
    meeting: str | None = None,
) -> State[Any]:
    """Record how far an objective has come (0-100 %), with a new status if it changes and
    the body's meeting it was reported at, as `roundtable objectives progress` does.

    Args:
        key: The objective's key, e.g. c9/objective/sst-army/... (`roundtable objectives list`).
        note: What was done since the last report.
        percent: How far the objective has come, 0 to 100.
        by: Who records it (your name or office); kept in the change log.
        status: The objective's new status, if it changes (leave empty to keep it).
        meeting: The key of the body's meeting it was reported at, if any.
    """
    try:
        stored = record_progress(key, note, percent, status, meeting, by)
    except RoundtableError as exc:
        return _refused(key, exc)
    publish_status(stored["cycle"], today())
    return Completed(message=f"{key}: {stored['status']}, {stored['progress']}%", data=stored)


@store_task(name="amend-activity", retries=0)
def amend_activity(
    activity: str,
    change: AmendmentChoice,
    reason: str,
    first_day: dt.date | None,
    last_day: dt.date | None,
    by: str,
) -> dict[str, Any]:
    key = parse_activity_key(activity)
    version, _ = operations.amend_apa(
        context(),
        number=key.cycle,
        amendment=Amendment(
            kind=AmendmentKind(change),
            key=key.to_string(),
            reason=reason,
            first_day=first_day,
            last_day=last_day,
        ),
        now=now(),
        actor=check_by(by),
    )
    return {
        "cycle": version.cycle,
        "version": version.version,
        "change": version.change,
        "reason": version.reason,
    }


@flow(name="amend-apa", flow_run_name="amend-apa-{change}-{activity}")
def amend_apa(
    activity: str,
    change: AmendmentChoice,
    reason: str,
    by: str,
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
) -> State[Any]:
    """Amend a validated APA, as `roundtable apa amend` does: add a standing proposal, drop
    an activity, or reschedule it (`first_day` and `last_day`), with the reason. The cycle
    is planned again, so the calendars, the visit (if its exercise moved) and the phase
    starts follow.

    Args:
        activity: The activity's key, e.g. c9/activity/sst-navy/aztec-alligator-2027 (the cycle's APA table).
        change: add (a standing proposal into the APA), drop, or reschedule.
        reason: Why the APA changes; kept with the new APA version.
        by: Who records it (your name or office); kept in the change log.
        first_day: The new first day, to reschedule (YYYY-MM-DD).
        last_day: The new last day, to reschedule (YYYY-MM-DD).
    """
    try:
        amended = amend_activity(activity, change, reason, first_day, last_day, by)
    except RoundtableError as exc:
        return _refused(activity, exc)
    publish_calendars()
    publish_status(amended["cycle"], today())
    return Completed(
        message=f"cycle {amended['cycle']}: APA version {amended['version']} ({change} {activity})",
        data=amended,
    )
