"""publish-calendars: write every feed in both languages where a static host can serve it,
and move the phase starts on the Prefect server with the plan.

Runs after every flow that changes the plan, when the plan changes, and hourly. Files are
replaced atomically and only when their bytes change, so a run that finds nothing new
writes nothing and subscribers' clients see no change. The phase starts follow the plan
here too (`flows.schedules`), so that deployments run by workers, with no `roundtable
serve` watching the store, follow it as well.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from calendars.catalogue import shipped_catalogue
from calendars.export import export_feeds
from cycle.store.reads import tracked_items
from flows.common import context, dated_run_name, now, store_task, today

FEEDS_DIR = "feeds"
"""Under ROUNDTABLE_HOME."""


def feeds_dir() -> Path:
    return context().settings.home / FEEDS_DIR


@store_task(name="write-feeds")
def write_feeds(out: Path, as_of: dt.date) -> dict[str, Any]:
    ctx = context()
    ctx.store.require_ready()
    with ctx.store.session() as session:
        tracked = tracked_items(session, cycle=None)
    report = export_feeds(
        program=ctx.program, catalogue=shipped_catalogue(), tracked=tracked, out=out, as_of=as_of
    )
    return {"out": str(out), "written": len(report.written), "unchanged": len(report.unchanged)}


@store_task(name="follow-plan")
def follow_plan_on_server() -> dict[str, int]:
    """Move the phase starts' scheduled runs with the plan, and list the open deliverables
    in the recording form (nothing when none is deployed)."""
    from prefect.client.orchestration import get_client

    from flows.choices import offer_deliverables
    from flows.schedules import follow_plan

    with get_client(sync_client=True) as client:
        report = follow_plan(context(), client, now=now())
        offer_deliverables(context(), client, today=today())
    return {
        "created": len(report.created),
        "moved": len(report.moved),
        "removed": len(report.removed),
        "missed": len(report.missed),
    }


@flow(name="publish-calendars", flow_run_name=dated_run_name("publish-calendars"), log_prints=False)
def publish_calendars(as_of: dt.date | None = None) -> dict[str, Any]:
    """Build every calendar feed (both languages) into ROUNDTABLE_HOME/feeds, and move the
    phase starts on the Prefect server with the plan.

    Args:
        as_of: The day the feeds are built for (default: today); cancelled items age out by it.
    """
    day = as_of or today()
    result: dict[str, Any] = write_feeds(feeds_dir(), day)
    get_run_logger().info(
        "feeds in %s: %s written, %s unchanged", result["out"], result["written"], result["unchanged"]
    )
    result["phase_starts"] = follow_plan_on_server()
    return result
