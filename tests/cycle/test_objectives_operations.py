"""Objectives through the operations, on both databases: where a new one may be added."""

from __future__ import annotations

import datetime as dt

import pytest

from cycle.context import Context
from cycle.errors import InputError
from cycle.operations import add_objective, plan
from cycle.progression import close_cycle

NOW = dt.datetime(2027, 9, 2, 15, 0, tzinfo=dt.UTC)


def test_no_objective_is_added_to_a_cycle_that_has_closed(ctx: Context) -> None:
    """A closed cycle has carried its objectives over: one added there would never move on."""
    plan(ctx, number=9, now=NOW, actor="test")
    close_cycle(ctx, number=9, as_of=dt.date(2027, 8, 31), now=NOW, actor="test")
    with pytest.raises(InputError) as caught:
        add_objective(
            ctx,
            key="wg-logistics/shared-fuel-doctrine",
            title_en="Shared fuel doctrine",
            title_es="Doctrina común de combustible",
            horizon="short-term",
            owner="sedena",
            indicators=["Doctrine signed"],
            number=9,
            as_of=dt.date(2027, 9, 2),
            now=NOW,
            actor="test",
        )
    assert str(caught.value) == "cycle 9 is closed and its objectives carried over: add it to cycle 10"
