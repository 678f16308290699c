"""The AM&E report in three forms — JSON for scripts, markdown for the Prefect UI, a
self-contained HTML page for people — with the on-time trend across cycles drawn as a
chart (SVG in the page, an image and a bar of blocks per cycle in markdown).

Pure text: no Prefect, so `roundtable report` starts fast."""

from __future__ import annotations

import base64
import html
from typing import Any

from cycle.metrics import Figures, ObjectiveCounts, ObjectiveFigures, Report
from cycle.program import Lang

WORDS: dict[str, dict[Lang, str]] = {
    "title": {"en": "AM&E report: deliverables on time", "es": "Informe de EMV: entregables a tiempo"},
    "as_of": {"en": "as of", "es": "al"},
    "trend": {"en": "On-time rate by cycle", "es": "Tasa de entrega a tiempo por ciclo"},
    "by_body": {"en": "By body or owner", "es": "Por órgano o responsable"},
    "by_loe": {"en": "By line of effort", "es": "Por línea de esfuerzo"},
    "by_cycle": {"en": "By cycle", "es": "Por ciclo"},
    "name": {"en": "", "es": ""},
    "judged": {"en": "judged", "es": "evaluados"},
    "on_time": {"en": "on time", "es": "a tiempo"},
    "late": {"en": "late", "es": "tarde"},
    "overdue": {"en": "overdue", "es": "vencidos"},
    "waived": {"en": "waived", "es": "dispensados"},
    "open": {"en": "open", "es": "abiertos"},
    "rate": {"en": "on-time rate", "es": "tasa a tiempo"},
    "mean": {"en": "mean days late", "es": "días de retraso (media)"},
    "rules": {
        "en": "Judged: due by the report's day and not waived. On time: handed in by the end of the due "
        "date (in the program's westernmost time zone). Overdue: still pending past the due date and its "
        "grace. Mean days late: over the late and the overdue. Open: not yet accepted or waived.",
        "es": "Evaluados: con fecha límite hasta el día del informe y no dispensados. A tiempo: entregados "
        "al final de la fecha límite (en la zona horaria más occidental del programa). Vencidos: aún "
        "pendientes tras la fecha límite y su gracia. Días de retraso: sobre los tardíos y los vencidos. "
        "Abiertos: aún no aceptados ni dispensados.",
    },
}
COLUMNS = ("judged", "on_time", "late", "overdue", "waived", "open", "rate", "mean")


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _mean(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _cells(row: Figures) -> list[str]:
    return [
        str(row.judged),
        str(row.on_time),
        str(row.late),
        str(row.overdue),
        str(row.waived),
        str(row.open),
        _rate(row.on_time_rate),
        _mean(row.mean_days_late),
    ]


def figures_json(row: Figures) -> dict[str, Any]:
    return {
        "key": row.key,
        "name": row.name,
        "total": row.total,
        "judged": row.judged,
        "on_time": row.on_time,
        "late": row.late,
        "overdue": row.overdue,
        "waived": row.waived,
        "open": row.open,
        "on_time_rate": None if row.on_time_rate is None else round(row.on_time_rate, 4),
        "mean_days_late": None if row.mean_days_late is None else round(row.mean_days_late, 2),
    }


def report_json(report: Report) -> dict[str, Any]:
    return {
        "as_of": report.as_of.isoformat(),
        "cycle": report.cycle,
        "totals": figures_json(report.totals),
        "by_cycle": [figures_json(r) for r in report.by_cycle],
        "by_body": [figures_json(r) for r in report.by_body],
        "by_line_of_effort": [figures_json(r) for r in report.by_line_of_effort],
        **objectives_json(report),
    }


def trend_svg(report: Report, lang: Lang = "en") -> str:
    """A bar chart of the on-time rate per cycle (0-100 %), with the count judged under
    each bar; cycles with nothing judged yet show no bar."""
    rows = report.by_cycle
    bar, gap, left, top, height = 46, 18, 48, 36, 180
    width = max(left + len(rows) * (bar + gap) + gap, 360)  # room for the title
    title = html.escape(WORDS["trend"][lang])
    total = top + height + 48
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total}" '
        f'viewBox="0 0 {width} {total}" role="img" aria-label="{title}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{total}" fill="#ffffff"/>',
        f'<text x="{left}" y="20" font-size="14" font-weight="bold">{title}</text>',
    ]
    for share in (0, 25, 50, 75, 100):
        y = top + height - height * share / 100
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width}" y2="{y:.1f}" stroke="#dddddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555555">{share}%</text>')
    for index, row in enumerate(rows):
        x = left + gap + index * (bar + gap)
        rate = row.on_time_rate
        if rate is not None:
            h = height * rate
            colour = "#2e7d32" if rate >= 0.8 else "#f9a825" if rate >= 0.5 else "#c62828"
            parts.append(
                f'<rect x="{x}" y="{top + height - h:.1f}" width="{bar}" height="{h:.1f}" fill="{colour}"/>'
            )
            parts.append(
                f'<text x="{x + bar / 2}" y="{top + height - h - 4:.1f}" '
                f'text-anchor="middle">{rate:.0%}</text>'
            )
        parts.append(
            f'<text x="{x + bar / 2}" y="{top + height + 16}" '
            f'text-anchor="middle">{html.escape(row.name)}</text>'
        )
        parts.append(
            f'<text x="{x + bar / 2}" y="{top + height + 32}" text-anchor="middle" fill="#555555">'
            f"n={row.judged}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _bars(report: Report) -> list[str]:
    """The trend as text: a bar of blocks per cycle (20 blocks = 100 %)."""
    lines = []
    for row in report.by_cycle:
        rate = row.on_time_rate
        blocks = "" if rate is None else "█" * round(rate * 20)
        lines.append(f"{row.name:<10} {blocks:<20} {_rate(rate):>5}  (n={row.judged})")
    return lines


def report_markdown(report: Report, lang: Lang = "en", *, image: bool = True) -> str:
    """Markdown tables, and the trend as an embedded SVG image (the Prefect UI shows it)
    or, with `image=False` (a terminal), as text bars."""
    header = "| | " + " | ".join(WORDS[c][lang] for c in COLUMNS) + " |"
    rule = "|---|" + "---:|" * len(COLUMNS)

    def table(rows: list[Figures]) -> list[str]:
        return [header, rule, *(f"| {r.name} | " + " | ".join(_cells(r)) + " |" for r in rows)]

    lines = [
        f"# {WORDS['title'][lang]} — {report.totals.name}, {WORDS['as_of'][lang]} {report.as_of}",
        "",
        f"**{WORDS['rate'][lang]}: {_rate(report.totals.on_time_rate)}** · "
        f"{WORDS['mean'][lang]}: {_mean(report.totals.mean_days_late)} · "
        f"{WORDS['overdue'][lang]}: {report.totals.overdue} · {WORDS['open'][lang]}: {report.totals.open}",
        "",
        f"## {WORDS['trend'][lang]}",
        "",
    ]
    if image:
        encoded = base64.b64encode(trend_svg(report, lang).encode()).decode()
        lines += [f"![{WORDS['trend'][lang]}](data:image/svg+xml;base64,{encoded})", ""]
    else:
        lines += ["```", *_bars(report), "```", ""]
    lines += [f"## {WORDS['by_cycle'][lang]}", "", *table(report.by_cycle), ""]
    lines += [f"## {WORDS['by_body'][lang]}", "", *table(report.by_body), ""]
    lines += [f"## {WORDS['by_loe'][lang]}", "", *table(report.by_line_of_effort), ""]
    lines += objectives_markdown(report, lang)
    lines += [f"_{WORDS['rules'][lang]}_", ""]
    return "\n".join(lines)


def report_html(report: Report, lang: Lang = "en") -> str:
    """A self-contained page (no script, no outside resource) with the chart and tables."""

    def table(caption: str, rows: list[Figures]) -> str:
        head = "".join(f"<th>{html.escape(WORDS[c][lang])}</th>" for c in COLUMNS)
        body = "".join(
            f"<tr><th scope='row'>{html.escape(r.name)}</th>"
            + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(r))
            + "</tr>"
            for r in rows
        )
        return (
            f"<h2>{html.escape(caption)}</h2><table><thead><tr><th></th>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )

    title = f"{WORDS['title'][lang]} — {report.totals.name}"
    totals = report.totals
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em;color:#222}"
        "table{border-collapse:collapse;margin:0 0 1.5em}"
        "th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}th[scope=row]{text-align:left}"
        ".summary{font-size:1.2em}.rules{color:#555;max-width:60em}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(WORDS['as_of'][lang])} {report.as_of}</p>"
        f"<p class='summary'><strong>{html.escape(WORDS['rate'][lang])}: "
        f"{_rate(totals.on_time_rate)}</strong> · "
        f"{html.escape(WORDS['mean'][lang])}: {_mean(totals.mean_days_late)} · "
        f"{html.escape(WORDS['overdue'][lang])}: {totals.overdue} · "
        f"{html.escape(WORDS['open'][lang])}: {totals.open}</p>"
        f"{trend_svg(report, lang)}"
        f"{table(WORDS['by_cycle'][lang], report.by_cycle)}"
        f"{table(WORDS['by_body'][lang], report.by_body)}"
        f"{table(WORDS['by_loe'][lang], report.by_line_of_effort)}"
        f"{objectives_html(report, lang)}"
        f"<p class='rules'>{html.escape(WORDS['rules'][lang])}</p>"
        "</body></html>\n"
    )


# --- objectives -----------------------------------------------------------------------------

OBJECTIVE_WORDS: dict[str, dict[Lang, str]] = {
    "objectives_by_body": {"en": "Objectives by body", "es": "Objetivos por órgano"},
    "objectives_by_loe": {"en": "Objectives by line of effort", "es": "Objetivos por línea de esfuerzo"},
    "ratings": {
        "en": "Objectives' ratings by cycle (value / effectiveness)",
        "es": "Calificaciones de los objetivos por ciclo (valor / eficacia)",
    },
    "proposed": {"en": "proposed", "es": "propuestos"},
    "active": {"en": "active", "es": "activos"},
    "achieved": {"en": "achieved", "es": "logrados"},
    "dropped": {"en": "dropped", "es": "descartados"},
    "past_target": {"en": "open past target", "es": "abiertos tras su meta"},
    "objective": {"en": "objective", "es": "objetivo"},
    "cycle": {"en": "Cycle", "es": "Ciclo"},
    "apa": {
        "en": "APA activities carried out as planned",
        "es": "Actividades del PAA realizadas según lo previsto",
    },
}
OBJECTIVE_COLUMNS = ("proposed", "active", "achieved", "dropped", "past_target")


def counts_json(row: ObjectiveCounts) -> dict[str, Any]:
    return {
        "key": row.key,
        "name": row.name,
        "total": row.total,
        "proposed": row.proposed,
        "active": row.active,
        "achieved": row.achieved,
        "dropped": row.dropped,
        "past_target": row.past_target,
    }


def objectives_json(report: Report) -> dict[str, Any]:
    """The objectives' part of the JSON report, and the share of the APA carried out as
    planned (None before any validated activity is over)."""
    found: ObjectiveFigures | None = report.objectives
    apa = report.apa_carried_out_as_planned
    share = {"apa_carried_out_as_planned": None if apa is None else round(apa, 4)}
    if found is None:
        return {"objectives": None, **share}
    return {
        "objectives": {
            "totals": counts_json(found.totals),
            "by_body": [counts_json(r) for r in found.by_body],
            "by_line_of_effort": [counts_json(r) for r in found.by_line_of_effort],
            "ratings": [
                {
                    "key": r.key,
                    "title": r.title,
                    "body": r.body,
                    "by_cycle": {
                        str(n): {"value": v, "effectiveness": e} for n, (v, e) in r.by_cycle.items()
                    },
                }
                for r in found.ratings
            ],
        },
        **share,
    }


def _objective_tables(report: Report, lang: Lang) -> list[tuple[str, list[str], list[list[str]]]]:
    """The objectives' tables: caption, column heads, rows (the first cell a row's name)."""
    found = report.objectives
    if found is None:
        return []
    heads = [OBJECTIVE_WORDS[c][lang] for c in OBJECTIVE_COLUMNS]

    def counts(rows: list[ObjectiveCounts]) -> list[list[str]]:
        return [[r.name, *(str(getattr(r, c)) for c in OBJECTIVE_COLUMNS)] for r in [*rows, found.totals]]

    word = OBJECTIVE_WORDS
    tables = [
        (word["objectives_by_body"][lang], heads, counts(found.by_body)),
        (word["objectives_by_loe"][lang], heads, counts(found.by_line_of_effort)),
    ]
    if found.ratings:
        rated = [
            [f"{r.key} — {r.title}", *(_pair(r.by_cycle.get(n)) for n in found.cycles)] for r in found.ratings
        ]
        tables.append((word["ratings"][lang], [f"{word['cycle'][lang]} {n}" for n in found.cycles], rated))
    return tables


def _pair(rating: tuple[int, int] | None) -> str:
    return "—" if rating is None else f"{rating[0]} / {rating[1]}"


def _apa_line(report: Report, lang: Lang) -> str | None:
    share = report.apa_carried_out_as_planned
    return None if share is None else f"{OBJECTIVE_WORDS['apa'][lang]}: {_rate(share)}"


def objectives_markdown(report: Report, lang: Lang = "en") -> list[str]:
    lines: list[str] = []
    for caption, heads, rows in _objective_tables(report, lang):
        lines += [f"## {caption}", "", "| | " + " | ".join(heads) + " |", "|---|" + "---:|" * len(heads)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        lines.append("")
    apa = _apa_line(report, lang)
    if apa is not None:
        lines += [f"**{apa}**", ""]
    return lines


def objectives_html(report: Report, lang: Lang = "en") -> str:
    parts = []
    for caption, heads, rows in _objective_tables(report, lang):
        head = "".join(f"<th>{html.escape(h)}</th>" for h in heads)
        body = "".join(
            f"<tr><th scope='row'>{html.escape(row[0])}</th>"
            + "".join(f"<td>{html.escape(c)}</td>" for c in row[1:])
            + "</tr>"
            for row in rows
        )
        parts.append(
            f"<h2>{html.escape(caption)}</h2><table><thead><tr><th></th>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )
    apa = _apa_line(report, lang)
    if apa is not None:
        parts.append(f"<p class='summary'><strong>{html.escape(apa)}</strong></p>")
    return "".join(parts)
