"""Who a feed is for, and which items it shows them.

`all`; `executive` (the executive session, the observation visit, the gates and the
leadership deliverables); `org-{institution}` (what it hosts, attends or owes);
`group-{body}` (one body's meetings, deadlines and APA activities); `deliverables` (every
deadline, optionally one owner's); `activities` (the validated Annual Plan of Activities).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from cycle.errors import NotFoundError
from cycle.items import ItemKind, PlannedItem
from cycle.program import BodyStatus, Program

_AUDIENCE = re.compile(r"^(all|executive|deliverables|activities|org-[a-z0-9-]+|group-[a-z0-9-]+)$")


class AudienceKind(StrEnum):
    all = "all"
    executive = "executive"
    org = "org"
    group = "group"
    deliverables = "deliverables"
    activities = "activities"


@dataclass(frozen=True, slots=True)
class Audience:
    kind: AudienceKind
    slug: str | None = None

    def to_string(self) -> str:
        return f"{self.kind.value}-{self.slug}" if self.slug else self.kind.value

    @classmethod
    def parse(cls, text: str, program: Program) -> Audience:
        """The audience a name stands for; `NotFoundError` for anything else."""
        if not _AUDIENCE.match(text):
            raise NotFoundError(f"no audience {text!r}")
        if text.startswith("org-"):
            slug = text.removeprefix("org-")
            if slug not in {i.slug for i in program.institutions}:
                raise NotFoundError(f"no institution {slug!r}")
            return cls(AudienceKind.org, slug)
        if text.startswith("group-"):
            slug = text.removeprefix("group-")
            if slug not in {b.slug for b in program.bodies if b.status is BodyStatus.active}:
                raise NotFoundError(f"no active body {slug!r}")
            return cls(AudienceKind.group, slug)
        return cls(AudienceKind(text))


def every_audience(program: Program) -> list[Audience]:
    """All the feeds the program publishes, in a stable order."""
    audiences = [Audience(AudienceKind.all), Audience(AudienceKind.executive)]
    audiences += [Audience(AudienceKind.org, i.slug) for i in program.institutions]
    audiences += [
        Audience(AudienceKind.group, b.slug) for b in program.bodies if b.status is BodyStatus.active
    ]
    audiences.append(Audience(AudienceKind.deliverables))
    audiences.append(Audience(AudienceKind.activities))
    return audiences


_EVENT_KINDS = frozenset({ItemKind.executive_session, ItemKind.observation_visit})


def shows(audience: Audience, item: PlannedItem, program: Program, *, owner: str | None = None) -> bool:  # noqa: PLR0911 (one rule per audience)
    """Whether `item` belongs in the feed of `audience` (phases are windows, not events)."""
    if item.kind is ItemKind.phase:
        return False
    if audience.kind is AudienceKind.all:
        return True
    if audience.kind is AudienceKind.deliverables:
        return item.kind is ItemKind.deliverable and (owner is None or item.owner == owner)
    if audience.kind is AudienceKind.activities:
        return item.kind is ItemKind.activity
    if audience.kind is AudienceKind.group:
        return audience.slug in (item.body, item.owner)
    if audience.kind is AudienceKind.executive:
        if item.kind in _EVENT_KINDS or item.kind is ItemKind.gate:
            return True
        return item.kind is ItemKind.deliverable and item.body is None
    # org: what the institution hosts, attends (its bodies' meetings, every session and
    # visit), decides (its tri-chair sits at every gate) or owes (its own deliverables and
    # its bodies'); milestones mark the cycle for everyone.
    slug = audience.slug
    if item.activity is not None:  # an APA activity: its host and participants
        return slug == item.host or slug in item.activity.participants
    if slug in (item.host, item.owner) or item.kind in _EVENT_KINDS:
        return True
    if item.body is not None:
        body = next((b for b in program.bodies if b.slug == item.body), None)
        return body is not None and slug in body.members
    return item.kind in (ItemKind.gate, ItemKind.milestone)
