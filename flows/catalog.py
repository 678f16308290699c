"""Every deployment Roundtable publishes: its flow, its title and what it says of itself.

The title is the deployment's name on the Prefect server, so `prefect deployment run
'check-overdue/Check overdue'` runs one, and the UI's deployments list reads
as a list of jobs rather than one name eleven times. The description is what the
deployment's page shows: what it does, when it runs, what it needs.

No Prefect here: the CLI prints these names without importing it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cycle.program import Phase

SCHEDULE_ZONE = "America/Mexico_City"
START_TIME = dt.time(7, 0)
"""Phase flows start, and check-overdue runs, at 07:00 Mexico City time."""


@dataclass(frozen=True)
class DeploymentSpec:
    title: str
    description: str


DEPLOYMENTS: dict[str, DeploymentSpec] = {
    "plan-cycle": DeploymentSpec(
        "Plan the cycle",
        "Plans the cycle into the store (new items added, moved ones revised, dropped ones "
        "cancelled), completes its opening, starts its group meetings and republishes the calendars. "
        "Runs at each planned cycle's opening, 07:00 Mexico City; safe to run again at any time. "
        "Needs only the program file.",
    ),
    "group-meetings": DeploymentSpec(
        "Group meetings",
        "Records which SST, IB and WG meetings have been held and which of their agendas and minutes "
        "are still missing; opens the executive preparation when its window comes. Runs when the "
        "group-meetings phase starts; run it by hand whenever you want the meetings brought up to date.",
    ),
    "executive-session": DeploymentSpec(
        "Executive session",
        "Checks that every body's APA inputs and annual briefing, the delegation roster and the "
        "read-ahead book are in, then waits for the tri-chairs' decision on the Annual Plan of "
        "Activities (the run's form). Runs when the executive session's phase starts. Needs those "
        "inputs handed in, or allow_missing to go on without them.",
    ),
    "observation-visit": DeploymentSpec(
        "Observation visit",
        "Waits for the tri-chairs to choose, from the validated APA, the exercise or training the "
        "leadership visit observes (the run's form); the visit takes its dates and place. Runs when "
        "the observation-visit phase starts. Needs the APA validated at the executive session.",
    ),
    "assessment": DeploymentSpec(
        "Assessment",
        "Waits for the AM&E group's assessment report and the ratings of the cycle's objectives, and "
        "attaches the AM&E report. Runs when the assessment phase starts.",
    ),
    "close-cycle": DeploymentSpec(
        "Close the cycle",
        "Closes the cycle, carries open objectives over and opens the next cycle. Runs on the cycle's "
        "last day. Needs the assessment completed.",
    ),
    "check-overdue": DeploymentSpec(
        "Check overdue",
        "Finds the deliverables due soon, overdue or escalated, records and announces each notice "
        "once, and refreshes the cycle's status and overdue tables. Runs daily at 07:00 "
        "America/Mexico_City.",
    ),
    "publish-calendars": DeploymentSpec(
        "Publish calendars",
        "Writes every iCalendar feed and the feeds' index page. Runs hourly and whenever the plan "
        "changes (the event roundtable.plan.changed).",
    ),
    "record-deliverable": DeploymentSpec(
        "Record a deliverable",
        "Records a deliverable as handed in, accepted, returned or waived, as `roundtable deliverables` "
        "does. On demand: fill in its form, picking the deliverable from the open cycle's list (kept up "
        "to date while `roundtable serve` runs), or giving its key as the cycle's overdue table shows it.",
    ),
    "record-objective-progress": DeploymentSpec(
        "Objective progress",
        "Records an objective's status and progress. On demand: fill in its form.",
    ),
    "amend-apa": DeploymentSpec(
        "Amend the APA",
        "Amends the validated APA: moves, changes or cancels one activity, as a new APA version; the "
        "calendars and phase starts follow. On demand: fill in its form. Needs the APA validated.",
    ),
}
"""By flow name (the public contract): each deployment's title and description."""

STARTS: dict[Phase, str] = {
    Phase.opening: "plan-cycle",
    Phase.executive_session: "executive-session",
    Phase.observation_visit: "observation-visit",
    Phase.assessment: "assessment",
    Phase.close_out: "close-cycle",
}
"""The phases whose first day starts a flow run, and the flow that does the phase's work.
The group meetings start on the cycle's first day, when plan-cycle opens them: they need
no run of their own at that moment (run group-meetings by hand to bring them up to date)."""

LEGACY_DEPLOYMENT = "roundtable"
"""The name every deployment had before each had a title of its own: `serve` and `deploy`
remove these from the server so that the list holds each job once."""
