"""Notifications: Prefect automations that turn the check's `roundtable.deliverable.*`
events into messages through Prefect notification blocks.

`roundtable automations install` creates (or replaces, so running it again is safe) one
automation per event — due soon, overdue, escalated — each sending every event through the
chosen blocks: a webhook Roundtable saves as the block `roundtable-webhook` (a Custom
Webhook block posting JSON: `subject`, `body`, and the event's payload in `body` as JSON),
and any notification block an operator configured in the Prefect UI (an email block, Slack,
Teams…), named `BLOCK-TYPE/NAME`. The check emits each event once per deliverable, due date
and level, so each notification is sent once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast
from uuid import UUID

from cycle.deadlines import Notice
from cycle.errors import InputError

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient

WEBHOOK_BLOCK = "roundtable-webhook"
"""The name of the Custom Webhook block `--webhook URL` saves."""

SUBJECTS = {
    Notice.due_soon: "Roundtable reminder: {{ event.payload.deliverable }} is due on {{ event.payload.due }}",
    Notice.overdue: "Roundtable: {{ event.payload.deliverable }} is overdue (due {{ event.payload.due }})",
    Notice.escalated: "Roundtable escalation to {{ event.payload.level_name }}: "
    "{{ event.payload.deliverable }} is {{ event.payload['working days late'] }} working days late",
}
BODY = "{{ event.payload | tojson }}"
"""The event's payload as JSON: key, deliverable (en/es), owner, due, notice, level, as_of."""


@dataclass(frozen=True)
class Installed:
    name: str
    event: str
    automation_id: UUID
    blocks: tuple[str, ...]


def automation_name(notice: Notice) -> str:
    return f"roundtable: deliverable {notice.value}"


def _webhook_block(url: str) -> tuple[str, UUID]:
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    block = CustomWebhookNotificationBlock(
        name="Roundtable",
        url=url,
        json_data={"subject": "{{subject}}", "body": "{{body}}"},
        headers={"Content-Type": "application/json"},
    )
    block_id = block.save(WEBHOOK_BLOCK, overwrite=True, _sync=True)  # type: ignore[call-arg]
    return f"custom-webhook/{WEBHOOK_BLOCK}", cast("UUID", block_id)


def _named_block(client: SyncPrefectClient, reference: str) -> tuple[str, UUID]:
    from prefect.exceptions import ObjectNotFound

    slug, _, name = reference.partition("/")
    if not slug or not name:
        raise InputError(f"--block {reference!r}: give BLOCK-TYPE/NAME, e.g. sendgrid-email/secretariat")
    try:
        document = client.read_block_document_by_name(name=name, block_type_slug=slug)
    except ObjectNotFound:
        raise InputError(
            f"--block {reference!r}: no such block on the Prefect server (create it in the UI: Blocks)"
        ) from None
    return reference, document.id


def install(*, webhook: str | None, blocks: list[str]) -> list[Installed]:
    """Create or replace the three automations, sending through the webhook and/or the
    named blocks. Needs a Prefect server (`PREFECT_API_URL`): an ephemeral one forgets
    automations when the process ends."""
    from prefect.client.orchestration import get_client
    from prefect.events.actions import SendNotification
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    if webhook is None and not blocks:
        raise InputError("give --webhook URL or --block BLOCK-TYPE/NAME: where notifications go")
    if webhook is not None and not webhook.startswith(("http://", "https://")):
        raise InputError(f"--webhook {webhook!r}: give an http:// or https:// URL")
    with get_client(sync_client=True) as client:
        targets = [_named_block(client, reference) for reference in blocks]
        if webhook is not None:
            targets.insert(0, _webhook_block(webhook))
        installed = []
        for notice in Notice:
            name = automation_name(notice)
            for old in client.read_automations_by_name(name):
                client.delete_automation(old.id)
            event = f"roundtable.deliverable.{notice.value}"
            automation_id = client.create_automation(
                AutomationCore(
                    name=name,
                    description=f"Send every {event} event through {', '.join(t[0] for t in targets)}",
                    trigger=EventTrigger(
                        expect={event},
                        match={"prefect.resource.id": "roundtable.deliverable.*"},
                        for_each={"prefect.resource.id"},
                        posture=Posture.Reactive,
                        threshold=1,
                    ),
                    actions=[
                        SendNotification(block_document_id=block_id, subject=SUBJECTS[notice], body=BODY)
                        for _, block_id in targets
                    ],
                )
            )
            installed.append(Installed(name, event, automation_id, tuple(t[0] for t in targets)))
    return installed
