"""The *Record a deliverable* form's list of deliverables, kept in step with the store.

A deployment's form is its parameter schema, which Prefect reads once, when the deployment
is published. So that an operator picks the deliverable instead of typing a key seen
elsewhere, the `deliverable` field of the record-deliverable deployment is given the open
cycle's deliverables still to be handed in or accepted, as a list: each time the store
changes under `roundtable serve` (`flows.schedules.PlanFollower`), at every
publish-calendars run and recording run (which keep it on a work pool), and at
`roundtable deploy`.

Prefect's forms show a list's values as its labels, so each value reads as a person names
the deliverable, and starts with its key within the cycle, which the flow takes from it:
`sst-army/agenda-3 · Agenda for Army Service Staff Talks…: meeting 3 · due 2026-03-02 ·
pending`. The `key` field stays for scripts and the API, which give the key itself.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Sequence
from typing import Any

from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import DeploymentUpdate
from prefect.client.schemas.responses import DeploymentResponse
from prefect.exceptions import ObjectNotFound

from cycle.context import Context
from cycle.cycles import cycle_on
from cycle.deliverable import DONE_STATES, DeliverableState
from cycle.items import ItemKind
from cycle.status import TrackedItem
from cycle.store.reads import tracked_items
from flows.catalog import DEPLOYMENTS

FLOW = "record-deliverable"
FIELD = "deliverable"
SEPARATOR = " · "
TITLE_WIDTH = 60


def deliverable_label(entry: TrackedItem) -> str:
    """What the list shows of one deliverable: key within its cycle, title, due date, state."""
    item = entry.item
    title = item.title.en
    if len(title) > TITLE_WIDTH:
        title = title[: TITLE_WIDTH - 1].rstrip() + "…"
    within = item.key.to_string().removeprefix(f"c{item.key.cycle}/deliverable/")
    return SEPARATOR.join((within, title, f"due {item.due}", entry.status))


def key_of(label: str) -> str:
    """The key within the cycle that a label starts with (a bare key is its own)."""
    return label.split(SEPARATOR, 1)[0].strip()


def open_deliverables(tracked: Sequence[TrackedItem]) -> list[TrackedItem]:
    """The deliverables still to be handed in or accepted, by body then due date."""
    found = [
        t
        for t in tracked
        if t.active and t.item.kind is ItemKind.deliverable and DeliverableState(t.status) not in DONE_STATES
    ]
    return sorted(found, key=lambda t: (t.item.body or "", t.item.due or dt.date.min, t.item.key.to_string()))


def form_schema(base: dict[str, Any], number: int | None, labels: Sequence[str]) -> dict[str, Any]:
    """The deployment's parameter schema with `deliverable` listing `labels` first in the
    form (no list when there are none: the field is then a plain text box)."""
    schema = copy.deepcopy(base)
    properties: dict[str, Any] = schema.setdefault("properties", {})
    field = properties.setdefault(FIELD, {"title": FIELD})
    for stale in ("enum", "anyOf", "type", "default"):
        field.pop(stale, None)
    field["type"] = "string"
    if labels:
        field["enum"] = list(labels)
        field["description"] = (
            f"Pick it from cycle {number}'s deliverables still to hand in or accept (or give key instead)."
        )
    else:
        field["description"] = "The deliverable, from the cycle's list (or give key instead)."
    others = sorted((n for n in properties if n != FIELD), key=lambda n: properties[n].get("position", 0))
    for position, name in enumerate([FIELD, *others]):
        properties[name]["position"] = position
    return schema


def _deployment(client: SyncPrefectClient) -> DeploymentResponse | None:
    try:
        return client.read_deployment_by_name(f"{FLOW}/{DEPLOYMENTS[FLOW].title}")
    except ObjectNotFound:
        return None


def form_published_at(client: SyncPrefectClient) -> dt.datetime | None:
    """When the record-deliverable deployment last changed on the server (None: not there)."""
    deployment = _deployment(client)
    return deployment.updated if deployment else None


def offer_deliverables(ctx: Context, client: SyncPrefectClient, *, today: dt.date) -> dt.datetime | None:
    """Give the record-deliverable deployment the list of the cycle open `today`; returns
    when the deployment last changed, once it has its list, or None when it is not on the
    server."""
    deployment = _deployment(client)
    if deployment is None:
        return None
    current = cycle_on(ctx.program, today)
    entries: list[TrackedItem] = []
    if current is not None:
        with ctx.store.session() as session:
            entries = open_deliverables(tracked_items(session, cycle=current.number))
    labels = [deliverable_label(t) for t in entries]
    schema = form_schema(
        deployment.parameter_openapi_schema or {}, current.number if current else None, labels
    )
    if schema == deployment.parameter_openapi_schema:
        return deployment.updated
    client.update_deployment(deployment.id, DeploymentUpdate(parameter_openapi_schema=schema))
    return form_published_at(client)
