"""The fast makers of keys and items (figure 4) make the very objects the constructors make."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pendulum
import pytest

from cycle.items import (
    _ITEM_SLOTS,
    _KEY_SLOTS,
    ActivityFacts,
    ItemKey,
    ItemKind,
    PlannedItem,
    due_item,
    stored_item,
    stored_key,
)
from cycle.program import Localized, Phase


def test_the_makers_know_every_field() -> None:
    """A field added to ItemKey or PlannedItem must be added to the makers too."""
    assert tuple(f.name for f in dataclasses.fields(ItemKey)) == _KEY_SLOTS
    assert tuple(f.name for f in dataclasses.fields(PlannedItem)) == _ITEM_SLOTS


@pytest.mark.parametrize("body", ["sst-army", None])
def test_stored_key_is_the_constructors_key(body: str | None) -> None:
    made = stored_key(9, ItemKind.deliverable, body, "agenda-2")
    built = ItemKey(9, ItemKind.deliverable, body, "agenda-2")
    assert made == built
    assert hash(made) == hash(built)
    assert made.to_string() == built.to_string()
    assert type(made) is ItemKey
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.name = "x"  # type: ignore[misc]


def test_due_item_is_the_constructors_item_with_every_other_field_empty() -> None:
    key = ItemKey(9, ItemKind.deliverable, "sst-army", "agenda-2")
    title = Localized(en="Agenda", es="Agenda")
    made = due_item(key, Phase.group_meetings, title, "sst-army", dt.date(2026, 11, 25))
    built = PlannedItem(key, Phase.group_meetings, title, "sst-army", due=dt.date(2026, 11, 25))
    assert made == built
    assert hash(made) == hash(built)
    assert all(getattr(made, name) == getattr(built, name) for name in _ITEM_SLOTS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.owner = "x"  # type: ignore[misc]


def test_stored_item_is_the_constructors_item_field_for_field() -> None:
    zone = pendulum.timezone("America/Mexico_City")
    fields = (
        ItemKey(9, ItemKind.meeting, "sst-army", "meeting-1"),
        Phase.group_meetings,
        Localized(en="SST Army 1", es="CEE Ejército 1"),
        "sst-army",
        "sedena",
        Localized(en="Mexico City", es="Ciudad de México"),
        pendulum.datetime(2026, 3, 10, 9, 0, tz=zone),
        pendulum.datetime(2026, 3, 12, 17, 0, tz=zone),
        "America/Mexico_City",
        None,
        None,
        None,
        ActivityFacts(kind="sst", line_of_effort="readiness"),
    )
    made, built = stored_item(*fields), PlannedItem(*fields)  # type: ignore[arg-type]
    assert made == built
    assert hash(made) == hash(built)
    with pytest.raises(ValueError, match="zip"):
        stored_item(*fields[:-1])  # every field, or none made
