"""The `roundtable` command: parse, validate, wire; the work is in cycle.operations.

Heavy imports (the store, and Prefect for the commands that run flows) live inside the
commands, so `roundtable --help` starts fast.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer.exceptions import TyperException

if TYPE_CHECKING:
    from cycle.context import Context
    from cycle.program import Lang
    from cycle.status import CycleStatus, TrackedItem


OVERDUE_SHOWN = 10
"""`status` lists the most late; `deliverables list --overdue` lists them all."""


class LangOption(StrEnum):
    en = "en"
    es = "es"


class ReportFormat(StrEnum):
    md = "md"
    html = "html"
    json = "json"


class StateOption(StrEnum):
    pending = "pending"
    submitted = "submitted"
    accepted = "accepted"
    waived = "waived"


app = typer.Typer(
    name="roundtable",
    help="Plan and run the Mexico–U.S. Bilateral Military Cooperation Roundtable.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
deliverables_app = typer.Typer(help="List deliverables and record their progress.", no_args_is_help=True)
app.add_typer(deliverables_app, name="deliverables")
feeds_app = typer.Typer(
    help="Build and serve the iCalendar feeds coordinators subscribe to.", no_args_is_help=True
)
app.add_typer(feeds_app, name="feeds")
subscribers_app = typer.Typer(
    help="Private feed URLs: add, list and revoke subscribers.", no_args_is_help=True
)
app.add_typer(subscribers_app, name="subscribers")
gates_app = typer.Typer(
    help="The tri-chairs' decisions: list the gates, enter a decision.", no_args_is_help=True
)
app.add_typer(gates_app, name="gates")
apa_app = typer.Typer(help="The Annual Plan of Activities: propose, show, amend.", no_args_is_help=True)
app.add_typer(apa_app, name="apa")
automations_app = typer.Typer(
    help="Notifications of late deliverables through Prefect automations.", no_args_is_help=True
)
app.add_typer(automations_app, name="automations")

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
"""Where `feeds serve` listens by default; pass the public address with --base-url."""


def _lang(option: LangOption) -> Lang:
    return "es" if option is LangOption.es else "en"


def _parse_date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


CycleOpt = Annotated[
    int | None,
    typer.Option("--cycle", min=1, max=1000, help="Cycle number (default: the cycle open on --as-of)."),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="Day to judge by, YYYY-MM-DD (default: today).", callback=_parse_date),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
LangOpt = Annotated[LangOption, typer.Option("--lang", help="Language of titles: en or es.")]
ByOpt = Annotated[str | None, typer.Option("--by", help="Who records it (default: your login name).")]


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    """Plan and run the Mexico–U.S. Bilateral Military Cooperation Roundtable."""
    del debug  # read by main() before typer runs, so that errors at any depth see it


# --- helpers ---------------------------------------------------------------------------


def _context(*, reads_only: bool = False) -> Context:
    """The program and store; commands that only read stored plans skip the schedule check."""
    from cycle.context import open_context
    from cycle.settings import settings_from_env

    return open_context(settings_from_env(os.environ), check_schedule=not reads_only)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _today(as_of: Any) -> dt.date:
    return as_of if isinstance(as_of, dt.date) else dt.datetime.now().astimezone().date()


def _cycle_number(ctx: Context, cycle: int | None, as_of: Any) -> int:
    """The cycle asked for, else the one open on `--as-of` (default today)."""
    from cycle.context import current_cycle

    return cycle if cycle is not None else current_cycle(ctx.program, _today(as_of)).number


def _actor(by: str | None) -> str:
    if by is not None:
        if not by.strip() or len(by) > 200 or any(ch in by for ch in "\r\n\x00"):
            raise typer.BadParameter("give a name of 1-200 characters on one line", param_hint="--by")
        return by.strip()
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _base_url(value: str, param_hint: str) -> str:
    """An http(s) address with a host and nothing a link could be broken by, without its last /."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- reading it checks the port
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or len(value) > 500
        or any(ch.isspace() or ch in "\"'<>\\`" or not ch.isprintable() for ch in value)
    ):
        raise typer.BadParameter(
            f"{value!r} is not an http(s) address such as https://feeds.example.org", param_hint=param_hint
        )
    return value.rstrip("/")


def _print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def _table(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], caption: str | None = None
) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def _when(item: Any) -> str:
    if item.start is not None:
        end_format = "HH:mm" if item.end.date() == item.start.date() else "YYYY-MM-DD HH:mm"
        return f"{item.start.format('YYYY-MM-DD HH:mm')}–{item.end.format(end_format)} {item.timezone}"
    if item.first_day is not None:
        return f"{item.first_day} → {item.last_day}"
    return str(item.due)


# --- commands ----------------------------------------------------------------------------


@app.command()
def init(json_output: JsonOpt = False) -> None:
    """Create or migrate the store and load the program (safe to run again)."""
    ctx = _context()
    from cycle.operations import initialize

    report = initialize(ctx, now=_now(), actor=f"cli:{_actor(None)}")
    if json_output:
        _print_json(
            {
                "store": report.store,
                "schema_before": report.revision_before,
                "schema": report.revision_after,
                "bodies_changed": report.bodies_changed,
                "program": str(ctx.settings.config_path),
            }
        )
        return
    before = "new store" if report.revision_before is None else f"schema {report.revision_before}"
    typer.echo(f"Store {report.store}: {before} -> schema {report.revision_after}")
    typer.echo(
        f"Program {ctx.settings.config_path}: "
        f"{len(ctx.program.bodies)} bodies ({report.bodies_changed} changed)"
    )


@app.command()
def plan(
    cycle: CycleOpt = None,
    as_of: AsOfOpt = None,
    json_output: JsonOpt = False,
    lang: LangOpt = LangOption.en,
) -> None:
    """Plan a cycle into the store: new items added, moved ones revised, dropped ones cancelled."""
    ctx = _context()
    from cycle.operations import plan as plan_cycle
    from cycle.views import cycle_json, tracked_json

    number = _cycle_number(ctx, cycle, as_of)
    report, tracked = plan_cycle(ctx, number=number, now=_now(), actor=f"cli:{_actor(None)}")
    from cycle.cycles import cycle_by_number

    cycle_value = cycle_by_number(ctx.program, number)
    if json_output:
        _print_json(
            {
                "cycle": cycle_json(cycle_value),
                "changes": {
                    "created": len(report.created),
                    "updated": len(report.updated),
                    "cancelled": len(report.cancelled),
                    "restored": len(report.restored),
                    "unchanged": report.unchanged,
                },
                "items": [tracked_json(t, _lang(lang)) for t in tracked],
            }
        )
        return
    _print_plan(ctx, cycle_value, tracked, report, _lang(lang))


def _print_plan(ctx: Context, cycle: Any, tracked: list[TrackedItem], report: Any, lang: Lang) -> None:
    from cycle.items import ItemKind
    from cycle.views import owner_label

    console = _console()
    console.print(
        f"Cycle {cycle.number}: {cycle.start} → {cycle.end} ({cycle.months} months) — "
        f"{len(report.created)} new, {len(report.updated)} revised, {len(report.cancelled)} cancelled, "
        f"{len(report.restored)} restored, {report.unchanged} unchanged"
    )
    shown = [t for t in tracked if t.item.kind is not ItemKind.deliverable]
    rows = [
        (
            _when(t.item),
            t.item.kind.value,
            t.item.title.get(lang),
            owner_label(ctx.program, t.item.owner, lang),
            t.status,
        )
        for t in sorted(shown, key=lambda t: (t.item.dates[0], t.item.key.to_string()))
    ]
    console.print(_table("Schedule", ("when", "kind", "title", "owner", "status"), rows))
    deliverables = [t for t in tracked if t.item.kind is ItemKind.deliverable]
    console.print(
        f"{len(deliverables)} deliverables; `roundtable deliverables list --cycle {cycle.number}` lists them."
    )


@app.command()
def status(
    cycle: CycleOpt = None,
    as_of: AsOfOpt = None,
    json_output: JsonOpt = False,
    lang: LangOpt = LangOption.en,
) -> None:
    """Where a cycle stands: phase, deliverables done and late, gates, what comes next."""
    ctx = _context(reads_only=True)
    from cycle.context import status as cycle_status

    result = cycle_status(ctx, number=cycle, as_of=_today(as_of))
    if json_output:
        from cycle.views import status_json

        _print_json(status_json(result, _lang(lang)))
        return
    _print_status(ctx, result, _lang(lang))


def _print_status(ctx: Context, result: CycleStatus, lang: Lang) -> None:
    """The status as the operator's console says it: the step, what blocks it and the
    gates' lateness come from the same board, so the two cannot disagree."""
    from rich.markdown import Markdown

    from cycle.progression import cycle_board
    from cycle.views import owner_label
    from flows.console import blocker_lines, lateness, position_line, waits_for

    console = _console()
    cycle = result.cycle
    board = cycle_board(ctx, number=cycle.number, as_of=result.as_of)
    sp = board.standpoint
    console.print(
        f"[bold]Cycle {cycle.number}[/bold] ({cycle.months} months, {cycle.start} → {cycle.end}), "
        f"as of {result.as_of}: {result.state}"
    )
    if result.state == "open":
        console.print(Markdown(position_line(sp)))
        console.print(Markdown("\n".join(["What blocks it:", "", *blocker_lines(sp, listed_below=False)])))
    console.print(
        f"Deliverables: {result.deliverables_done}/{result.deliverables_total} done, "
        f"{result.deliverables_submitted} submitted, {len(result.overdue)} overdue"
    )
    gates = [*result.decided_gates, *result.open_gates]
    if gates:

        def gate_line(g: TrackedItem) -> str:
            late = (result.as_of - g.item.due).days if g.status == "pending" and g.item.due else 0
            return f"- {g.item.title.get(lang)} (due {g.item.due}): **{g.status}" + (
                f", {lateness(late)}**" if late > 0 else "**"
            )

        console.print(Markdown("\n".join(["Gates:", "", *(gate_line(g) for g in gates)])))
    rows: list[tuple[str, ...]]
    if result.overdue:
        rows = [
            (
                o.item.key.to_string(),
                o.item.title.get(lang),
                owner_label(ctx.program, o.item.owner, lang),
                str(o.item.due),
                str(o.days_late),
            )
            for o in result.overdue[:OVERDUE_SHOWN]
        ]
        more = len(result.overdue) - OVERDUE_SHOWN
        caption = f"… and {more} more: roundtable deliverables list --overdue" if more > 0 else None
        console.print(
            _table("Overdue (most late first)", ("key", "title", "owner", "due", "days late"), rows, caption)
        )
    if result.due_soon:
        rows = [
            (i.key.to_string(), i.title.get(lang), owner_label(ctx.program, i.owner, lang), str(i.due))
            for i in result.due_soon
        ]
        console.print(_table("Due within 14 days", ("key", "title", "owner", "due"), rows))
    if result.next_events:
        rows = [(_when(i), i.title.get(lang), waits_for(board, i)) for i in result.next_events]
        console.print(_table("Coming up", ("when", "title", "waits for"), rows))


@app.command("check-overdue")
def check_overdue(
    cycle: Annotated[
        int | None,
        typer.Option("--cycle", min=1, max=1000, help="Only this cycle (default: every planned cycle)."),
    ] = None,
    as_of: AsOfOpt = None,
    json_output: JsonOpt = False,
    lang: LangOpt = LangOption.en,
) -> int:
    """The deliverables overdue (most severe first) and due soon. Exit 0: nothing
    overdue; 1: something is; 2: bad input. Reads only; the check-overdue flow notifies."""
    ctx = _context(reads_only=True)
    from calendars.catalogue import shipped_catalogue
    from cycle.operations import check_deadlines
    from cycle.views import owner_label, standing_json

    language = _lang(lang)
    result = check_deadlines(ctx, number=cycle, as_of=_today(as_of))
    if json_output:
        _print_json(
            {
                "as_of": result.as_of.isoformat(),
                "cycle": result.cycle,
                "overdue": [standing_json(s, language) for s in result.overdue],
                "due_soon": [standing_json(s, language) for s in result.due_soon],
            }
        )
        return 1 if result.overdue else 0
    words = shipped_catalogue()

    def say(key: str, **fields: object) -> str:
        return words.text(f"label.{key}", language, **fields)

    console = _console()
    rows: list[tuple[str, ...]]
    if result.overdue:
        rows = [
            (
                s.item.key.to_string(),
                s.item.title.get(language),
                owner_label(ctx.program, s.item.owner, language),
                str(s.due),
                f"{s.days_late} ({s.working_days_late})",
                s.level.definition.name.get(language) if s.level else "",
            )
            for s in result.overdue
        ]
        heading: tuple[str, ...] = ("key", "title", "owner", "due", "days_late", "level")
        title = say("overdue_count", count=len(result.overdue), day=result.as_of)
        console.print(_table(title, tuple(say(h) for h in heading), rows))
    else:
        console.print(say("nothing_overdue", day=result.as_of))
    if result.due_soon:
        rows = [
            (
                s.item.key.to_string(),
                s.item.title.get(language),
                owner_label(ctx.program, s.item.owner, language),
                str(s.due),
                str(s.working_days_left),
            )
            for s in result.due_soon
        ]
        heading = ("key", "title", "owner", "due", "working_days_left")
        title = say("due_soon_count", count=len(result.due_soon))
        console.print(_table(title, tuple(say(h) for h in heading), rows))
    return 1 if result.overdue else 0


@app.command()
def report(
    cycle: CycleOpt = None,
    as_of: AsOfOpt = None,
    output_format: Annotated[
        ReportFormat, typer.Option("--format", help="md (markdown), html (a page with the chart) or json.")
    ] = ReportFormat.md,
    json_output: JsonOpt = False,
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout.")] = None,
    lang: LangOpt = LangOption.en,
) -> None:
    """The AM&E report: on-time rate, mean days late and open items per body, line of
    effort and cycle, with the trend across cycles as a chart."""
    ctx = _context(reads_only=True)
    from cycle.operations import ame_report
    from flows.report import report_html, report_json, report_markdown

    language = _lang(lang)
    result = ame_report(ctx, number=cycle, as_of=_today(as_of), lang=language)
    chosen = ReportFormat.json if json_output else output_format
    if chosen is ReportFormat.json:
        text = json.dumps(report_json(result), indent=2, ensure_ascii=False) + "\n"
    elif chosen is ReportFormat.html:
        text = report_html(result, language)
    else:
        text = report_markdown(result, language, image=False)
    if out is None:
        sys.stdout.write(text)
        return
    from calendars.export import write_if_changed

    if out.is_dir():
        raise typer.BadParameter(f"{out} is a directory: give a file name", param_hint="--out")
    try:
        write_if_changed(out, text.encode("utf-8"))
    except OSError as exc:
        raise typer.BadParameter(f"cannot write {out}: {exc.strerror or exc}", param_hint="--out") from None
    typer.echo(f"wrote {out}")


@app.command()
def history(
    as_of: AsOfOpt = None,
    json_output: JsonOpt = False,
    lang: LangOpt = LangOption.en,
) -> None:
    """Every roundtable to date: its cycle, cycle length and executive session."""
    ctx = _context()
    from cycle.config import plan_or_explain
    from cycle.cycles import cycles_through
    from cycle.items import ItemKind

    today = _today(as_of)
    rows: list[dict[str, Any]] = []
    for cycle in cycles_through(ctx.program, today):
        session = next(
            i
            for i in plan_or_explain(ctx.program, ctx.source, cycle.number).items
            if i.kind is ItemKind.executive_session
        )
        assert session.start is not None
        assert session.host is not None
        rows.append(
            {
                "roundtable": cycle.number,
                "cycle": {
                    "start": cycle.start.isoformat(),
                    "end": cycle.end.isoformat(),
                    "months": cycle.months,
                },
                "executive_session": {
                    "month": session.start.format("YYYY-MM"),
                    "date": session.start.date().isoformat() if cycle.history is None else None,
                    "host": session.host,
                    "place": session.location.get(_lang(lang)) if session.location else None,
                    "held": session.start.date() < today,
                },
                "observation_visit": cycle.months > 12,
                "assumed": cycle.history.assumed if cycle.history is not None else False,
                "source": "history" if cycle.history is not None else "template",
            }
        )
    if json_output:
        _print_json({"as_of": today.isoformat(), "roundtables": rows})
        return
    table_rows = [
        (
            str(r["roundtable"]),
            f"{r['cycle']['start']} → {r['cycle']['end']}",
            str(r["cycle"]["months"]),
            r["executive_session"]["date"] or r["executive_session"]["month"],
            r["executive_session"]["place"] or "",
            "held" if r["executive_session"]["held"] else "planned",
            "assumed" if r["assumed"] else "",
        )
        for r in rows
    ]
    _console().print(
        _table(
            f"{ctx.program.program.name.get(_lang(lang))} — roundtables to {today}",
            ("#", "cycle", "months", "executive session", "place", "", "note"),
            table_rows,
        )
    )


@app.command()
def run(
    as_of: AsOfOpt = None,
    json_output: JsonOpt = False,
    lang: LangOpt = LangOption.en,
) -> None:
    """One pass of everything due, as Prefect flows: plan the open cycle, run the flow of
    every phase due, check for overdue deliverables, publish the calendars.

    With PREFECT_API_URL set, the flows run against that server; else against the Prefect
    server of a `roundtable up` running on the same ROUNDTABLE_HOME, if one answers (the runs
    then show in its UI); else in Prefect's ephemeral mode, which starts a server of its own.
    """
    ctx = _context()
    prefect = _choose_prefect(ctx)
    _prepare_prefect(ctx, quiet=True)
    from cycle.context import status as cycle_status
    from cycle.operations import initialize
    from flows.main import run_due
    from flows.publish_calendars import FEEDS_DIR

    today = _today(as_of)
    initialize(ctx, now=_now(), actor=f"cli:{_actor(None)}")
    number, reports = run_due(today)
    result = cycle_status(ctx, number=number, as_of=today)
    feeds = ctx.settings.home / FEEDS_DIR / "index.html"
    if json_output:
        from cycle.views import status_json

        _print_json(
            {
                "cycle": number,
                "flows": [
                    {"flow": r.flow, "state": r.state, "type": r.type, "message": r.message} for r in reports
                ],
                "calendars": str(feeds),
                "prefect": prefect,
                "status": status_json(result, _lang(lang)),
            }
        )
        return
    console = _console()
    console.print(_prefect_line(prefect))
    rows = [(r.flow, r.state, r.message) for r in reports]
    console.print(_table(f"Flows run for cycle {number} as of {today}", ("flow", "state", "message"), rows))
    _print_status(ctx, result, _lang(lang))
    console.print(f"Calendars: {feeds}")
    console.print(f"Status: roundtable status --as-of {today}; the runs: roundtable up, then the Prefect UI")


def _choose_prefect(ctx: Context) -> dict[str, str | None]:
    """Which Prefect server `run` uses: PREFECT_API_URL, a running `up`, or ephemeral mode."""
    from flows.runtime import running_up

    if os.environ.get("PREFECT_API_URL"):
        return {"mode": "PREFECT_API_URL", "api": os.environ["PREFECT_API_URL"]}
    api = running_up(ctx.settings.home)
    if api is None:
        return {"mode": "ephemeral", "api": None}
    os.environ["PREFECT_API_URL"] = api
    return {"mode": "up", "api": api}


def _prefect_line(prefect: dict[str, str | None]) -> str:
    if prefect["mode"] == "up":
        return f"Prefect: the server of `roundtable up` at {prefect['api']} (the runs show in its UI)"
    if prefect["mode"] == "PREFECT_API_URL":
        return f"Prefect: the server at {prefect['api']} (PREFECT_API_URL)"
    return "Prefect: ephemeral mode (no `roundtable up` answers for this ROUNDTABLE_HOME)"


def _prepare_prefect(ctx: Context, *, quiet: bool = False) -> None:
    """Prefect's settings for this data directory, before anything imports Prefect."""
    from flows.runtime import prepare_prefect

    prepare_prefect(ctx.settings.home)
    if quiet:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")  # the command prints the outcome


# --- deliverables ------------------------------------------------------------------------


@deliverables_app.command("list")
def deliverables_list(
    cycle: CycleOpt = None,
    body: Annotated[str | None, typer.Option("--body", help="Only this body's (slug).")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Only this owner's (slug).")] = None,
    state: Annotated[
        list[StateOption] | None, typer.Option("--state", help="Only these states (repeat).")
    ] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue ones, as of --as-of.")] = False,
    as_of: AsOfOpt = None,
    json_output: JsonOpt = False,
    lang: LangOpt = LangOption.en,
) -> None:
    """List deliverables with their due dates and states."""
    ctx = _context(reads_only=True)
    from cycle.deliverable import DeliverableState, working_days_late
    from cycle.store.repository import list_deliverables
    from cycle.views import owner_label

    today = _today(as_of)
    number = _cycle_number(ctx, cycle, today)
    ctx.store.require_ready()
    rows: list[dict[str, Any]] = []
    with ctx.store.session() as session:
        views = list_deliverables(
            session,
            cycle=number,
            body=body,
            owner=owner,
            states=[DeliverableState(s.value) for s in state or []],
        )
    for view in views:
        due = view.item.due
        assert due is not None
        late = ctx.deadlines.is_overdue(view.item, view.state, today)
        if overdue and not late:
            continue
        rows.append(
            {
                "key": view.item.key.to_string(),
                "title": view.item.title.get(_lang(lang)),
                "body": view.item.body,
                "owner": view.item.owner,
                "due": due.isoformat(),
                "state": view.state.value,
                "overdue": late,
                "working_days_late": working_days_late(due, today, ctx.calendar) if late else 0,
                "submitted_by": view.record.submitted_by,
                "accepted_by": view.record.accepted_by,
            }
        )
    if json_output:
        _print_json({"cycle": number, "as_of": today.isoformat(), "deliverables": rows})
        return
    table_rows = [
        (
            r["key"],
            r["title"],
            owner_label(ctx.program, r["owner"], _lang(lang)),
            r["due"],
            r["state"] + (f" (late {r['working_days_late']}wd)" if r["overdue"] else ""),
        )
        for r in rows
    ]
    _console().print(
        _table(
            f"Cycle {number} deliverables as of {today}",
            ("key", "title", "owner", "due", "state"),
            table_rows,
        )
    )


def _record(*, key: str, action_name: str, by: str | None, note: str | None, json_output: bool) -> None:
    ctx = _context(reads_only=True)
    from cycle.deliverable import Action
    from cycle.operations import record

    view = record(ctx, key=key, action=Action(action_name), actor=_actor(by), now=_now(), note=note)
    if json_output:
        _print_json({"key": key, "state": view.state.value, "by": _actor(by), "note": note})
        return
    typer.echo(f"{key}: {view.state.value} ({view.item.title.en})")


KeyArg = Annotated[str, typer.Argument(help="Deliverable key, e.g. c9/deliverable/sst-army/agenda-2.")]
NoteOpt = Annotated[str | None, typer.Option("--note", help="A remark kept with the record.")]


@deliverables_app.command("submit")
def deliverables_submit(
    key: KeyArg, by: ByOpt = None, note: NoteOpt = None, json_output: JsonOpt = False
) -> None:
    """Record that a deliverable was handed in."""
    _record(key=key, action_name="submit", by=by, note=note, json_output=json_output)


@deliverables_app.command("accept")
def deliverables_accept(
    key: KeyArg, by: ByOpt = None, note: NoteOpt = None, json_output: JsonOpt = False
) -> None:
    """Accept a submitted deliverable."""
    _record(key=key, action_name="accept", by=by, note=note, json_output=json_output)


@deliverables_app.command("return")
def deliverables_return(
    key: KeyArg,
    note: Annotated[str, typer.Option("--note", help="Why it goes back to its owner.")],
    by: ByOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Return a submitted deliverable to its owner (it is pending again)."""
    _record(key=key, action_name="return", by=by, note=note, json_output=json_output)


@deliverables_app.command("waive")
def deliverables_waive(
    key: KeyArg,
    reason: Annotated[str, typer.Option("--reason", help="Why the deliverable is not needed.")],
    by: ByOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Waive a deliverable, with a reason."""
    _record(key=key, action_name="waive", by=by, note=reason, json_output=json_output)


# --- feeds ---------------------------------------------------------------------------------


@feeds_app.command("build")
def feeds_build(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the feeds and index.html into.")],
    as_of: AsOfOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Write every feed in both languages and an index page (for a static host or a CDN).

    Files are replaced atomically and only when their content changed.
    """
    ctx = _context(reads_only=True)
    from calendars.catalogue import shipped_catalogue
    from calendars.export import ExportReport, export_feeds, feed_files
    from cycle.store.reads import tracked_items

    if out.exists() and not out.is_dir():
        raise typer.BadParameter(f"{out} exists and is not a directory", param_hint="--out")
    ctx.store.require_ready()
    with ctx.store.session() as session:
        tracked = tracked_items(session, cycle=None)
    total = len(feed_files(ctx.program))

    def export(progress: Callable[[str], None] | None = None) -> ExportReport:
        return export_feeds(
            program=ctx.program,
            catalogue=shipped_catalogue(),
            tracked=tracked,
            out=out,
            as_of=_today(as_of),
            progress=progress,
        )

    try:
        if sys.stdout.isatty() and not json_output:
            from rich.progress import Progress

            with Progress(transient=True) as bar:
                task = bar.add_task("Building feeds", total=total)
                report = export(lambda _path: bar.advance(task))
        else:
            report = export()
    except OSError as exc:
        raise typer.BadParameter(f"cannot write to {out}: {exc.strerror}", param_hint="--out") from None
    if json_output:
        _print_json({"out": str(out), "written": report.written, "unchanged": len(report.unchanged)})
        return
    typer.echo(f"{out}: {len(report.written)} files written, {len(report.unchanged)} unchanged")


@feeds_app.command("serve")
def feeds_serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Public address for links on subscription pages.")
    ] = None,
    rate_limit: Annotated[
        int,
        typer.Option(
            "--rate-limit", min=0, max=100_000, help="Requests per minute per client address (0: no limit)."
        ),
    ] = 60,
) -> None:
    """Serve subscribers' private feeds and subscription pages (ASGI on uvicorn)."""
    public = _base_url(base_url, "--base-url") if base_url is not None else None
    ctx = _context(reads_only=True)
    import gc
    import logging

    import uvicorn

    from calendars.accesslog import LOG_FORMAT, BufferedAccessLog
    from calendars.catalogue import shipped_catalogue
    from calendars.feed import FeedOptions
    from calendars.ratelimit import RateLimit
    from calendars.server import FeedCache, create_app

    ctx.store.require_ready()
    cache = FeedCache(
        program=ctx.program,
        catalogue=shipped_catalogue(),
        store=ctx.store,
        options=FeedOptions(),
        today=lambda: _today(None),
        now=_now,
    )
    cache.refresh()
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    access_log = BufferedAccessLog(sys.stderr)  # the lines logging would write, in batches
    typer.echo(f"Serving feeds from {ctx.store.description} on http://{host}:{port} (Ctrl-C stops)")
    app = create_app(
        cache,
        base_url=public,
        rate_limit=RateLimit(requests=rate_limit, per_seconds=60),
        access_log=access_log,
    )
    # What is loaded by now (the program, the catalogue, the cache, the libraries: some
    # 100,000 objects) lives as long as the server. Python's full collections walked all of
    # it, holding every request 40-60 ms each time (the p99 of figure 3); frozen, they skip it.
    gc.collect()
    gc.freeze()
    try:
        uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")
    finally:
        access_log.flush()  # the last lines, once the server has stopped


# --- subscribers -------------------------------------------------------------------------


@subscribers_app.command("add")
def subscribers_add(
    name: Annotated[str, typer.Argument(help="Who subscribes (unique), e.g. 'SEDENA liaison office'.")],
    audience: Annotated[
        list[str],
        typer.Option("--audience", help="all, executive, org-SLUG, group-SLUG or deliverables (repeat)."),
    ],
    lang: LangOpt = LangOption.en,
    base_url: Annotated[
        str, typer.Option("--base-url", help="The feed server's public address, as subscribers reach it.")
    ] = DEFAULT_BASE_URL,
    json_output: JsonOpt = False,
) -> None:
    """Create a subscriber and print its private subscription URL (shown only this once)."""
    ctx = _context(reads_only=True)
    from calendars.audience import Audience
    from calendars.tokens import new_token, token_hash
    from cycle.errors import NotFoundError
    from cycle.store.repository import add_subscriber

    if not name.strip() or len(name) > 200 or any(ch in name for ch in "\r\n\x00"):
        raise typer.BadParameter("give a name of 1-200 characters on one line", param_hint="NAME")
    base = _base_url(base_url, "--base-url")
    audiences = []
    for text in dict.fromkeys(audience):
        try:
            audiences.append(Audience.parse(text, ctx.program).to_string())
        except NotFoundError as exc:
            raise typer.BadParameter(f"{exc}", param_hint="--audience") from None
    token = new_token()
    ctx.store.require_ready()
    ctx.store.transaction(
        lambda s: add_subscriber(
            s,
            name=name.strip(),
            token_hash=token_hash(token),
            audiences=audiences,
            lang=_lang(lang),
            now=_now(),
            actor=f"cli:{_actor(None)}",
        )
    )
    page = f"{base}/subscribe/{token}"
    feeds = {a: f"{base}/feeds/{token}/{a}.ics?lang={_lang(lang)}" for a in audiences}
    if json_output:
        _print_json({"name": name.strip(), "subscribe": page, "feeds": feeds})
        return
    typer.echo(f"Subscriber {name.strip()!r} added. Send them this page (it is shown only now):")
    typer.echo(f"  {page}")
    for url in feeds.values():
        typer.echo(f"  {url}")


@subscribers_app.command("list")
def subscribers_list(json_output: JsonOpt = False) -> None:
    """Every subscriber with its audiences, language, state and last access (never tokens)."""
    ctx = _context(reads_only=True)
    from cycle.store.repository import list_subscribers

    ctx.store.require_ready()
    with ctx.store.session() as session:
        records = list_subscribers(session)
    rows = [
        {
            "name": r.name,
            "audiences": json.loads(r.audiences),
            "lang": r.lang,
            "created_at": r.created_at.isoformat(),
            "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
            "last_access_at": r.last_access_at.isoformat() if r.last_access_at else None,
        }
        for r in records
    ]
    if json_output:
        _print_json({"subscribers": rows})
        return
    table_rows = [
        (
            r["name"],
            ", ".join(r["audiences"]),
            r["lang"],
            "revoked" if r["revoked_at"] else "active",
            r["last_access_at"] or "never",
        )
        for r in rows
    ]
    _console().print(_table("Subscribers", ("name", "audiences", "lang", "state", "last access"), table_rows))


@subscribers_app.command("revoke")
def subscribers_revoke(
    name: Annotated[str, typer.Argument(help="The subscriber to cut off.")],
    json_output: JsonOpt = False,
) -> None:
    """Revoke a subscriber's URL; the feed server refuses it from the next request on."""
    ctx = _context(reads_only=True)
    from cycle.store.repository import revoke_subscriber

    ctx.store.require_ready()
    record = ctx.store.transaction(
        lambda s: revoke_subscriber(s, name=name, now=_now(), actor=f"cli:{_actor(None)}")
    )
    if json_output:
        revoked = record.revoked_at.isoformat() if record.revoked_at else None
        _print_json({"name": record.name, "revoked_at": revoked})
        return
    typer.echo(f"Subscriber {record.name!r} revoked.")


# --- gates -------------------------------------------------------------------------------


@gates_app.command("list")
def gates_list(cycle: CycleOpt = None, json_output: JsonOpt = False, lang: LangOpt = LangOption.en) -> None:
    """Every gate with its state, who decided and when, and any open request."""
    ctx = _context(reads_only=True)
    from cycle.store.progress import list_gates

    ctx.store.require_ready()
    with ctx.store.session() as session:
        gates = list_gates(session, cycle=cycle)
    rows = [
        {
            "key": g.item.key.to_string(),
            "title": g.item.title.get(_lang(lang)),
            "due": g.item.due.isoformat() if g.item.due else None,
            "state": g.state.value,
            "decided_by": g.decided_by,
            "decided_at": g.decided_at.isoformat() if g.decided_at else None,
            "decision": json.loads(g.decision.to_json()) if g.decision else None,
            "requested_at": g.requested_at.isoformat() if g.requested_at else None,
            "waiting_run": g.request_run if g.state.value == "pending" else None,
            "expires_at": g.expires_at.isoformat() if g.expires_at else None,
        }
        for g in gates
    ]
    if json_output:
        _print_json({"gates": rows})
        return
    table_rows = [
        (
            str(r["key"]),
            str(r["title"]),
            str(r["due"] or ""),
            str(r["state"]),
            str(r["decided_by"] or ""),
            ("asked, expires " + r["expires_at"][:16]) if r["state"] == "pending" and r["expires_at"] else "",
        )
        for r in rows
    ]
    _console().print(_table("Gates", ("key", "title", "due", "state", "decided by", "request"), table_rows))


@gates_app.command("decide")
def gates_decide(
    key: Annotated[str, typer.Argument(help="The gate, e.g. c9/gate/-/apa-validation.")],
    approve: Annotated[
        bool | None, typer.Option("--approve/--reject", help="The tri-chairs' answer.", show_default=False)
    ] = None,
    tri_chair: Annotated[
        list[str] | None,
        typer.Option("--tri-chair", help="A tri-chair who decided: institution slug (repeat)."),
    ] = None,
    activity: Annotated[
        list[str] | None,
        typer.Option(
            "--activity",
            help="A draft APA activity the tri-chairs validate, by key (repeat; the APA validation).",
        ),
    ] = None,
    exercise: Annotated[
        str | None,
        typer.Option(
            "--exercise", help="The selected exercise or training, by activity key (the exercise selection)."
        ),
    ] = None,
    notes: Annotated[str, typer.Option("--notes", help="Notes; why, for a rejection.")] = "",
    by: ByOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Enter the tri-chairs' decision: resumes the flow run waiting for it, or records it."""
    if approve is None:
        raise typer.BadParameter("give --approve or --reject", param_hint="--approve/--reject")
    ctx = _context(reads_only=True)
    _prepare_prefect(ctx)
    from cycle.gates import GateDecision
    from flows.operator import decide_gate

    activities = [*(activity or []), *([exercise] if exercise else [])]
    report = decide_gate(
        ctx,
        key=key,
        decision=GateDecision(
            approved=approve, tri_chairs=tuple(tri_chair or ()), notes=notes, activities=tuple(activities)
        ),
        now=_now(),
        actor=f"cli:{_actor(by)}",
    )
    if json_output:
        state = report.view.state.value if report.view else None
        _print_json({"key": report.key, "resumed_run": report.resumed_run, "state": state})
        return
    if report.resumed_run is not None:
        typer.echo(f"{key}: resumed flow run {report.resumed_run}, which records the decision and goes on.")
        return
    assert report.view is not None
    typer.echo(
        f"{key}: {report.view.state.value} by {report.view.decided_by}. "
        f"Run the {report.view.item.phase.value} flow to move the cycle on."
    )


# --- the Annual Plan of Activities ---------------------------------------------------------


def _activity_row(activity: Any, program: Any, lang: Lang) -> tuple[str, ...]:
    from cycle.views import owner_label

    return (
        activity.key.to_string(),
        program.apa.kind_name(activity.kind, lang),
        activity.title.get(lang),
        f"{activity.first_day} → {activity.last_day}" + (" (window)" if activity.window else ""),
        ", ".join(owner_label(program, i) for i in activity.institutions),
        ", ".join(activity.objectives),
    )


def activities(count: int) -> str:
    """'1 activity', '2 activities'."""
    return f"{count} activit{'y' if count == 1 else 'ies'}"


ACTIVITY_COLUMNS = ("key", "kind", "title", "dates", "host, participants", "objectives")


@apa_app.command("propose")
def apa_propose(
    body: Annotated[str, typer.Option("--body", help="The proposing body (slug).")],
    slug: Annotated[str, typer.Option("--slug", help="A name for the activity, e.g. aztec-alligator-2027.")],
    kind: Annotated[
        str, typer.Option("--kind", help="combined-exercise, training, exchange, staff-visit...")
    ],
    title_en: Annotated[str, typer.Option("--title-en", help="Title in English.")],
    title_es: Annotated[str, typer.Option("--title-es", help="Title in Spanish.")],
    first: Annotated[str, typer.Option("--first", help="First day, YYYY-MM-DD.", callback=_parse_date)],
    last: Annotated[str, typer.Option("--last", help="Last day, YYYY-MM-DD.", callback=_parse_date)],
    host: Annotated[str, typer.Option("--host", help="Host institution (slug).")],
    line: Annotated[str, typer.Option("--line", help="Line of effort (slug).")],
    participant: Annotated[
        list[str] | None, typer.Option("--participant", help="Another institution taking part (repeat).")
    ] = None,
    objective: Annotated[
        list[str] | None, typer.Option("--objective", help="An objective it serves, body/slug (repeat).")
    ] = None,
    window: Annotated[
        bool, typer.Option("--window", help="The dates are a window the activity will fall in.")
    ] = False,
    location_en: Annotated[str | None, typer.Option("--location-en", help="Place, in English.")] = None,
    location_es: Annotated[str | None, typer.Option("--location-es", help="Place, in Spanish.")] = None,
    cycle: CycleOpt = None,
    as_of: AsOfOpt = None,
    by: ByOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Propose an activity for a cycle's APA (or revise a standing proposal)."""
    ctx = _context(reads_only=True)
    from cycle.apa import Activity, activity_key
    from cycle.operations import propose_activity
    from cycle.program import Localized

    if (location_en is None) != (location_es is None):
        raise typer.BadParameter("give the place in both languages", param_hint="--location-en/--location-es")
    number = _cycle_number(ctx, cycle, as_of)
    assert isinstance(first, dt.date)
    assert isinstance(last, dt.date)
    activity = Activity(
        key=activity_key(number, body, slug),
        kind=kind,
        title=Localized.model_construct(en=title_en, es=title_es),
        first_day=first,
        last_day=last,
        window=window,
        host=host,
        participants=tuple(participant or ()),
        line_of_effort=line,
        objectives=tuple(objective or ()),
        location=Localized.model_construct(en=location_en, es=location_es)
        if location_en and location_es
        else None,
    )
    proposed, done = propose_activity(ctx, activity=activity, now=_now(), actor=_actor(by))
    if json_output:
        _print_json({"done": done, "activity": proposed.to_json()})
        return
    typer.echo(f"{proposed.key}: {done} ({proposed.title.en}, {proposed.first_day} to {proposed.last_day})")


@apa_app.command("withdraw")
def apa_withdraw(
    key: Annotated[str, typer.Argument(help="Activity key, e.g. c9/activity/sst-navy/aztec-alligator-2027.")],
    by: ByOpt = None,
) -> None:
    """Withdraw a proposal that is not in the validated APA."""
    ctx = _context(reads_only=True)
    from cycle.operations import withdraw_activity

    changed = withdraw_activity(ctx, key=key, now=_now(), actor=_actor(by))
    typer.echo(f"{key}: {'withdrawn' if changed else 'was withdrawn already'}")


@apa_app.command("show")
def apa_show(
    cycle: CycleOpt = None,
    as_of: AsOfOpt = None,
    json_output: JsonOpt = False,
    lang: LangOpt = LangOption.en,
) -> None:
    """A cycle's APA: the draft before the executive session, then each version."""
    ctx = _context(reads_only=True)
    from cycle.operations import apa_state

    language = _lang(lang)
    number = _cycle_number(ctx, cycle, as_of)
    state = apa_state(ctx, number=number)
    if json_output:
        _print_json(
            {
                "cycle": number,
                "validated": state.latest is not None,
                "draft": [a.to_json() for a in state.draft],
                "withdrawn": [a.to_json() for a in state.withdrawn],
                "versions": [
                    {
                        "version": v.version,
                        "kind": "validated" if v.validated else "amendment",
                        "at": v.at.isoformat(),
                        "decided_by": v.decided_by,
                        "reason": v.reason,
                        "change": v.change,
                        "activities": [a.key.to_string() for a in v.activities],
                    }
                    for v in state.versions
                ],
                "activities": [a.to_json() for a in state.latest.activities] if state.latest else [],
                "observation_visit": state.selected,
            }
        )
        return
    console = _console()
    latest = state.latest
    if latest is None:
        console.print(
            _table(
                f"Cycle {number}: draft APA ({len(state.draft)} proposed; validated at the session)",
                ACTIVITY_COLUMNS,
                [_activity_row(a, ctx.program, language) for a in state.draft],
            )
        )
        return
    console.print(
        _table(
            f"Cycle {number}: APA version {latest.version} ({activities(len(latest.activities))})",
            ACTIVITY_COLUMNS,
            [_activity_row(a, ctx.program, language) for a in latest.activities],
            caption=f"Observation visit: {state.selected}" if state.selected else None,
        )
    )
    console.print(
        _table(
            "Versions",
            ("version", "at", "by", "change", "reason"),
            [
                (
                    str(v.version),
                    v.at.strftime("%Y-%m-%d %H:%M UTC"),
                    v.decided_by,
                    "validated" if v.validated else " ".join(str(x) for x in v.change.values()),
                    v.reason or "",
                )
                for v in state.versions
            ],
        )
    )


@apa_app.command("amend")
def apa_amend(
    key: Annotated[str, typer.Argument(help="The activity, e.g. c9/activity/sst-navy/aztec-alligator-2027.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the validated APA changes.")],
    add: Annotated[bool, typer.Option("--add", help="Add this standing proposal to the APA.")] = False,
    drop: Annotated[bool, typer.Option("--drop", help="Drop this activity from the APA.")] = False,
    first: Annotated[
        str | None, typer.Option("--first", help="Reschedule: new first day.", callback=_parse_date)
    ] = None,
    last: Annotated[
        str | None, typer.Option("--last", help="Reschedule: new last day.", callback=_parse_date)
    ] = None,
    by: ByOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Amend the validated APA: add, drop or reschedule one activity, with a reason. The
    cycle is planned again, so the calendars follow."""
    from cycle.apa import Amendment, AmendmentKind, parse_activity_key
    from cycle.operations import amend_apa

    ctx = _context(reads_only=True)
    if add and drop:
        raise typer.BadParameter("give --add or --drop, not both", param_hint="--add/--drop")
    if not (add or drop or first or last):
        raise typer.BadParameter(
            "give --add, --drop, or --first with --last", param_hint="--add/--drop/--first"
        )
    kind = AmendmentKind.add if add else AmendmentKind.drop if drop else AmendmentKind.reschedule
    parsed = parse_activity_key(key)
    version, _ = amend_apa(
        ctx,
        number=parsed.cycle,
        amendment=Amendment(
            kind=kind,
            key=parsed.to_string(),
            reason=reason,
            first_day=first if isinstance(first, dt.date) else None,
            last_day=last if isinstance(last, dt.date) else None,
        ),
        now=_now(),
        actor=_actor(by),
    )
    if json_output:
        _print_json({"cycle": version.cycle, "version": version.version, "change": version.change})
        return
    typer.echo(
        f"cycle {version.cycle}: APA version {version.version} ({kind.value} {parsed}); the plan follows"
    )


# --- Prefect: serve, up, deploy ---------------------------------------------------------


@app.command()
def serve() -> None:
    """Serve every flow as a deployment from this process, against the Prefect server in
    PREFECT_API_URL, and keep the phase starts and the cycle's artifacts in step with the
    store while it runs. Ctrl-C stops it."""
    ctx = _context(reads_only=True)
    if not os.environ.get("PREFECT_API_URL"):
        raise typer.BadParameter(
            "PREFECT_API_URL is not set: start a server (`roundtable up` does it all) and point to it",
            param_hint="PREFECT_API_URL",
        )
    _prepare_prefect(ctx)
    import logging

    from prefect import serve as prefect_serve

    from flows.deployments import build_deployments, remove_legacy_deployments
    from flows.schedules import PlanFollower

    logging.basicConfig(level=logging.INFO, format="%(asctime)s | %(levelname)-7s | %(name)s - %(message)s")
    for old in remove_legacy_deployments():
        typer.echo(f"removed the old deployment {old}: each deployment is now named by its title")
    stop = PlanFollower(ctx).start()
    try:
        prefect_serve(*build_deployments())
    finally:
        stop.set()


@automations_app.command("install")
def automations_install(
    webhook: Annotated[
        str | None, typer.Option("--webhook", help="POST each notification as JSON to this URL.")
    ] = None,
    block: Annotated[
        list[str] | None,
        typer.Option("--block", help="Also send through this notification block: BLOCK-TYPE/NAME."),
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Create (or replace) the Prefect automations that send a notification for every
    deliverable that comes due soon, becomes overdue or is escalated, against the Prefect
    server in PREFECT_API_URL."""
    ctx = _context(reads_only=True)
    if not os.environ.get("PREFECT_API_URL"):
        raise typer.BadParameter(
            "PREFECT_API_URL is not set: automations live on a Prefect server (`roundtable up`)",
            param_hint="PREFECT_API_URL",
        )
    _prepare_prefect(ctx, quiet=True)
    from flows.automations import install

    installed = install(webhook=webhook, blocks=list(block or []))
    if json_output:
        _print_json(
            [
                {"name": i.name, "event": i.event, "id": str(i.automation_id), "blocks": list(i.blocks)}
                for i in installed
            ]
        )
        return
    for i in installed:
        typer.echo(f"{i.name}: {i.event} -> {', '.join(i.blocks)} (automation {i.automation_id})")


@app.command()
def deploy(
    work_pool: Annotated[str, typer.Option("--work-pool", help="The process work pool workers poll.")],
    json_output: JsonOpt = False,
) -> None:
    """Register every flow as a deployment of a work pool, for workers on other machines
    (each with Roundtable installed and the same ROUNDTABLE_* settings)."""
    ctx = _context(reads_only=True)
    if not os.environ.get("PREFECT_API_URL"):
        raise typer.BadParameter(
            "PREFECT_API_URL is not set: point it to the Prefect server", param_hint="PREFECT_API_URL"
        )
    _prepare_prefect(ctx)
    from flows.deployments import deploy_to_pool

    ids = deploy_to_pool(ctx, work_pool=work_pool)
    if json_output:
        _print_json({"work_pool": work_pool, "deployments": ids})
        return
    from flows.catalog import DEPLOYMENTS

    for name, deployment_id in ids.items():
        typer.echo(f"{name}/{DEPLOYMENTS[name].title} -> work pool {work_pool} ({deployment_id})")
    typer.echo(f"Start workers with: prefect worker start --pool {work_pool} --type process")


def _open_current_cycle(ctx: Context) -> None:
    """Create the store if need be and, if the cycle open today is not planned, plan and
    open it as plan-cycle would (both are safe to repeat)."""
    from cycle.cycles import cycle_on
    from cycle.operations import initialize
    from cycle.progression import open_cycle
    from cycle.starts import planned_cycles

    actor = f"cli:{_actor(None)}"
    initialize(ctx, now=_now(), actor=actor)
    current = cycle_on(ctx.program, _today(None))
    if current is None or current.number in planned_cycles(ctx):
        return
    report, _ = open_cycle(ctx, number=current.number, now=_now(), actor=actor)
    typer.echo(
        f"Planned and opened cycle {current.number} ({current.start} to {current.end}): "
        f"{len(report.created)} items"
    )


@app.command()
def up(
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="The Prefect server's port.")] = 4200,
    feeds_port: Annotated[
        int, typer.Option("--feeds-port", min=1, max=65535, help="The feed server's port.")
    ] = 8000,
) -> None:
    """Start the Prefect server and UI on 127.0.0.1, the deployments and the feed server
    together; print their addresses; Ctrl-C stops them all. On a store that does not hold
    the open cycle yet, plan and open it first, so the UI has a cycle to show."""
    ctx = _context()
    home = ctx.settings.home
    _open_current_cycle(ctx)
    _prepare_prefect(ctx)
    from flows.up import run_services

    raise SystemExit(run_services(home=home, port=port, feeds_port=feeds_port, echo=typer.echo))


# --- backup and restore -------------------------------------------------------------------


@app.command("export")
def export_(
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (replaced atomically); default: stdout.")
    ] = None,
) -> None:
    """Write the whole store as versioned JSON (restore it with `roundtable import`)."""
    ctx = _context(reads_only=True)
    from cycle.files import write_atomically
    from cycle.operations import export_document
    from cycle.store.backup import dumps, summarize

    document = export_document(ctx)
    data = dumps(document)
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    if out.is_dir():
        raise typer.BadParameter(f"{out} is a directory: give a file name", param_hint="--out")
    try:
        write_atomically(out, data, mode=0o600)
    except OSError as exc:
        raise typer.BadParameter(f"cannot write {out}: {exc.strerror}", param_hint="--out") from None
    summary = summarize(document)
    typer.echo(f"{out}: {summary.total} rows of {len(summary.rows)} tables, schema {summary.schema}")


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="An export written by `roundtable export`.")],
) -> None:
    """Restore an export into a new, empty store and migrate it to this Roundtable's schema."""
    ctx = _context(reads_only=True)
    from cycle.operations import restore

    summary = restore(ctx, path=file)
    typer.echo(
        f"{ctx.store.description}: {summary.total} rows of {len(summary.rows)} tables restored "
        f"from {file} (schema {summary.schema}, now {ctx.store.revision()})"
    )


# --- objectives -----------------------------------------------------------------------------

objectives_app = typer.Typer(
    help="The bodies' objectives: add, list, show, record progress, rate.", no_args_is_help=True
)
app.add_typer(objectives_app, name="objectives")


class ObjectiveStatusOption(StrEnum):
    proposed = "proposed"
    active = "active"
    achieved = "achieved"
    dropped = "dropped"


ObjectiveKeyArg = Annotated[
    str, typer.Argument(help="Objective key, {body}/{slug}, e.g. wg-logistics/shared-fuel-doctrine.")
]


def _objective_line(record: Any, lang: Lang) -> str:
    title = record.title_es if lang == "es" else record.title_en
    return f"{record.key}: {record.status}, {record.progress}% ({title})"


@objectives_app.command("add")
def objectives_add(
    key: ObjectiveKeyArg,
    title_en: Annotated[str, typer.Option("--title-en", help="Title in English (one line).")],
    title_es: Annotated[str, typer.Option("--title-es", help="Title in Spanish (one line).")],
    horizon: Annotated[str, typer.Option("--horizon", help="A configured horizon, e.g. short-term.")],
    owner: Annotated[str, typer.Option("--owner", help="The owner institution: a member of the body.")],
    indicator: Annotated[
        list[str], typer.Option("--indicator", help="A success indicator (repeat, 1 to 10).")
    ],
    line_of_effort: Annotated[
        str | None, typer.Option("--line-of-effort", help="Line of effort (default: the body's).")
    ] = None,
    status: Annotated[
        ObjectiveStatusOption, typer.Option("--status", help="proposed (default) or active.")
    ] = ObjectiveStatusOption.proposed,
    cycle: CycleOpt = None,
    as_of: AsOfOpt = None,
    by: ByOpt = None,
    json_output: JsonOpt = False,
    lang: LangOpt = LangOption.en,
) -> None:
    """Add an objective to a body, in the cycle open on --as-of (or --cycle)."""
    ctx = _context(reads_only=True)
    from cycle.operations import add_objective, objective_json

    record = add_objective(
        ctx,
        key=key,
        title_en=title_en,
        title_es=title_es,
        horizon=horizon,
        owner=owner,
        indicators=indicator,
        line_of_effort=line_of_effort,
        status=status.value,
        number=cycle,
        as_of=_today(as_of),
        now=_now(),
        actor=_actor(by),
    )
    if json_output:
        _print_json(objective_json(record, _lang(lang)))
        return
    typer.echo(f"{_objective_line(record, _lang(lang))}, cycle {record.cycle}, target {record.target}")


@objectives_app.command("list")
def objectives_list(
    cycle: CycleOpt = None,
    body: Annotated[str | None, typer.Option("--body", help="Only this body's (slug).")] = None,
    as_of: AsOfOpt = None,
    json_output: JsonOpt = False,
    lang: LangOpt = LangOption.en,
) -> None:
    """List the objectives held in a cycle (set in it or carried into it)."""
    ctx = _context(reads_only=True)
    from cycle.operations import objective_json, objectives_in

    today = _today(as_of)
    number, records = objectives_in(ctx, number=cycle, as_of=today, body=body)
    rows = [objective_json(r, _lang(lang)) for r in records]
    if json_output:
        _print_json({"cycle": number, "objectives": rows})
        return
    table_rows = [
        (
            r["key"],
            r["title"],
            r["horizon"],
            r["owner"],
            r["status"],
            f"{r['progress']}%",
            r["target"]
            + (
                " (past)" if r["target"] < today.isoformat() and r["status"] in ("proposed", "active") else ""
            ),
        )
        for r in rows
    ]
    _console().print(
        _table(
            f"Cycle {number} objectives",
            ("key", "title", "horizon", "owner", "status", "progress", "target"),
            table_rows,
        )
    )


@objectives_app.command("show")
def objectives_show(
    key: ObjectiveKeyArg, json_output: JsonOpt = False, lang: LangOpt = LangOption.en
) -> None:
    """One objective with its history (who changed what, when) and its ratings."""
    ctx = _context(reads_only=True)
    from cycle.operations import objective_detail, objective_event_json, objective_json, rating_json

    detail = objective_detail(ctx, key=key)
    data = {
        **objective_json(detail.objective, _lang(lang)),
        "history": [objective_event_json(e) for e in detail.history],
        "ratings": [rating_json(r) for r in detail.ratings],
    }
    if json_output:
        _print_json(data)
        return
    console = _console()
    console.print(_objective_line(detail.objective, _lang(lang)))
    console.print(
        f"{data['body']} · {data['horizon']} · {data['line_of_effort']} · owner {data['owner']} · "
        f"cycles {data['first_cycle']}-{data['cycle']} · target {data['target']}"
    )
    for number, text in enumerate(data["indicators"], 1):
        console.print(f"  {number}. {text}")
    history_rows = [
        (
            e["at"][:16].replace("T", " "),
            e["actor"],
            e["action"],
            str(e["cycle"]),
            e["status"],
            f"{e['progress']}%",
            e["meeting"] or "",
            e["note"] or "",
        )
        for e in data["history"]
    ]
    console.print(
        _table(
            "History",
            ("at (UTC)", "by", "what", "cycle", "status", "progress", "meeting", "note"),
            history_rows,
        )
    )
    if data["ratings"]:
        rating_rows = [
            (str(r["cycle"]), str(r["value"]), str(r["effectiveness"]), r["rated_by"], r["note"] or "")
            for r in data["ratings"]
        ]
        console.print(_table("Ratings", ("cycle", "value", "effectiveness", "by", "note"), rating_rows))


@objectives_app.command("progress")
def objectives_progress(
    key: ObjectiveKeyArg,
    note: Annotated[str, typer.Option("--note", help="What was done (kept in the history).")],
    percent: Annotated[int, typer.Option("--percent", help="How far along it is now, 0 to 100.")],
    status: Annotated[
        ObjectiveStatusOption | None, typer.Option("--status", help="A new status, if it changes.")
    ] = None,
    meeting: Annotated[
        str | None,
        typer.Option(
            "--meeting", help="The body's meeting it was reported at, e.g. c9/meeting/wg-logistics/2."
        ),
    ] = None,
    by: ByOpt = None,
    json_output: JsonOpt = False,
    lang: LangOpt = LangOption.en,
) -> None:
    """Record an objective's progress, optionally with a new status and the meeting."""
    ctx = _context(reads_only=True)
    from cycle.operations import objective_json, record_objective_progress

    record = record_objective_progress(
        ctx,
        key=key,
        note=note,
        percent=percent,
        status=status.value if status else None,
        meeting=meeting,
        now=_now(),
        actor=_actor(by),
    )
    if json_output:
        _print_json(objective_json(record, _lang(lang)))
        return
    typer.echo(_objective_line(record, _lang(lang)))


@objectives_app.command("rate")
def objectives_rate(
    key: ObjectiveKeyArg,
    value: Annotated[int, typer.Option("--value", help="Its value, on the configured scale.")],
    effectiveness: Annotated[
        int, typer.Option("--effectiveness", help="Its effectiveness, on the configured scale.")
    ],
    note: NoteOpt = None,
    cycle: CycleOpt = None,
    as_of: AsOfOpt = None,
    by: ByOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Record the AM&E rating of an objective for a cycle (rating again replaces it)."""
    ctx = _context(reads_only=True)
    from cycle.operations import rate_objective, rating_json

    rating = rate_objective(
        ctx,
        key=key,
        value=value,
        effectiveness=effectiveness,
        note=note,
        number=cycle,
        as_of=_today(as_of),
        now=_now(),
        actor=_actor(by),
    )
    if json_output:
        _print_json({"key": key, **rating_json(rating)})
        return
    typer.echo(
        f"{key}: cycle {rating.cycle} rated value {rating.value}, effectiveness {rating.effectiveness}"
    )


# --- entry point ---------------------------------------------------------------------------


def _fail(message: str, command: str = "roundtable") -> NoReturn:
    sys.stderr.write(f"{command}: error: {message}\n")
    raise SystemExit(2)


def main(argv: Sequence[str] | None = None, *, runner: Callable[..., Any] | None = None) -> None:
    """Run the CLI: Roundtable errors and bad arguments become one line and exit 2."""
    from cycle.errors import RoundtableError

    args = list(sys.argv[1:] if argv is None else argv)
    debug = args[:1] == ["--debug"]
    for position, arg in enumerate(args, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            _fail(f"argument {position} is not valid UTF-8 text: use a UTF-8 terminal (locale)")
    try:
        result = (runner or app)(args=args, prog_name="roundtable", standalone_mode=False)
    except RoundtableError as exc:
        if debug:
            raise
        _fail(str(exc))
    except TyperException as exc:  # a usage error, never a bug: one line even with --debug
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `roundtable`: show the help
            sys.stdout.write(exc.format_message() + "\n")
            return
        ctx = getattr(exc, "ctx", None)
        message = exc.format_message().replace("Value error, ", "")  # pydantic's prefix, for enums
        _fail(f"{message} (see --help)", ctx.command_path if ctx is not None else "roundtable")
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    if isinstance(result, int) and result:
        raise SystemExit(result)


if __name__ == "__main__":
    main()
