"""Column types shared by the store's models and its light read path (cycle.store.reads)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware datetime stored in UTC; naive values are refused, never guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True
    _last: tuple[dt.datetime | None, str, dt.datetime | None] = (None, "", None)
    """The last value bound, its dialect and what it became. Why: a plan stamps every row it
    writes (items, deliverables, gates, change log) with the same instant, and converting
    it again for each of them showed in figure 1's profile (benchmarks/plan_program). The
    value is compared by identity: a datetime never changes, and another one is converted."""

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        last = self._last
        if last[0] is value and last[1] == dialect.name:
            return last[2]
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime")
        utc = value.astimezone(dt.UTC)
        bound = utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc
        self._last = (value, dialect.name, bound)
        return bound

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:  # noqa: ARG002
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
