"""The cycle as a picture: its months across, a bar per phase over the phase's window
(coloured by its state), the executive session and the visit among them, and today's line.

An SVG image embedded in the console's markdown as a data URL, which the Prefect UI shows
in the artifact's card (it loads nothing from elsewhere). Pure text: no Prefect.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
from collections.abc import Sequence

from cycle.phases import PhaseRow, PhaseState

WIDTH = 840
"""Fits the artifact's card at 1440 px."""
LABELS = 200
"""Room on the left for the phases' names, cut to `NAME` characters."""
NAME = 30
ROW = 24
TOP = 34
COLOURS = {
    PhaseState.completed: "#2e7d32",
    PhaseState.open: "#1565c0",
    PhaseState.not_started: "#9e9e9e",
}
TODAY = "#c62828"


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first day of every month from `start`'s to `end`'s."""
    firsts, day = [], start.replace(day=1)
    while day <= end:
        firsts.append(day)
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return firsts


def timeline_svg(rows: Sequence[PhaseRow], *, start: dt.date, end: dt.date, as_of: dt.date) -> str:
    """The picture of a cycle from `start` to `end` (its first and last day) on `as_of`:
    today's line is drawn only while the day lies within the cycle."""
    span = (end - start).days + 1
    plot = WIDTH - LABELS - 10

    def x(day: dt.date) -> float:
        return LABELS + plot * max(0, min(span, (day - start).days)) / span

    height = TOP + ROW * len(rows) + 26
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="The cycle from {start} to {end}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
    ]
    bottom = TOP + ROW * len(rows)
    months = _months(start, end)
    every = 3 if len(months) > 12 else 1
    for index, first in enumerate(months):
        left = x(max(first, start))
        parts.append(f'<line x1="{left:.1f}" y1="{TOP - 4}" x2="{left:.1f}" y2="{bottom}" stroke="#e0e0e0"/>')
        if index % every == 0:
            parts.append(f'<text x="{left + 2:.1f}" y="{TOP - 10}" fill="#555555">{first:%Y-%m}</text>')
    for index, row in enumerate(rows):
        y = TOP + index * ROW
        first, last = row.window
        left, right = x(first), x(last + dt.timedelta(days=1))
        colour = COLOURS[row.state]
        name = row.name.en if len(row.name.en) <= NAME else row.name.en[: NAME - 1].rstrip() + "…"
        parts.append(
            f'<text x="{LABELS - 8}" y="{y + ROW / 2 + 4:.1f}" text-anchor="end">{html.escape(name)}</text>'
        )
        parts.append(
            f'<rect x="{left:.1f}" y="{y + 5}" width="{max(right - left, 4):.1f}" height="{ROW - 10}" '
            f'rx="2" fill="{colour}"><title>{html.escape(row.name.en)}: {first} → {last}, '
            f"{row.state.value}</title></rect>"
        )
    if start <= as_of <= end:
        today = x(as_of)
        parts.append(
            f'<line x1="{today:.1f}" y1="{TOP - 4}" x2="{today:.1f}" y2="{bottom + 4}" '
            f'stroke="{TODAY}" stroke-width="2"/>'
        )
        anchor = "end" if today > WIDTH - 80 else "start"
        parts.append(
            f'<text x="{today + (-4 if anchor == "end" else 4):.1f}" y="{bottom + 18}" '
            f'text-anchor="{anchor}" fill="{TODAY}">today, {as_of}</text>'
        )
    for index, (state, colour) in enumerate(COLOURS.items()):
        left = 8 + index * 100
        parts.append(f'<rect x="{left}" y="{bottom + 9}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{left + 14}" y="{bottom + 18}" fill="#555555">{state.value}</text>')
    parts.append("</svg>")
    return "".join(parts)


def timeline_image(rows: Sequence[PhaseRow], *, start: dt.date, end: dt.date, as_of: dt.date) -> str:
    """The picture as a markdown image."""
    encoded = base64.b64encode(timeline_svg(rows, start=start, end=end, as_of=as_of).encode()).decode()
    return f"![The cycle from {start} to {end}, today's line on {as_of}](data:image/svg+xml;base64,{encoded})"
