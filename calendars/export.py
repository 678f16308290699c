"""Static export: every feed in both languages plus an index page, for a static host or a
CDN. Each file is written atomically (temporary file, then rename) and only when its
bytes changed, so an unchanged plan touches nothing and caches stay warm."""

from __future__ import annotations

import contextlib
import datetime as dt
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from calendars.audience import Audience, AudienceKind, every_audience
from calendars.catalogue import Catalogue
from calendars.feed import FeedOptions, FeedRequest, build_feed, feed_name
from cycle.files import write_atomically
from cycle.program import LANGS, Program
from cycle.status import TrackedItem


@dataclass(frozen=True, slots=True)
class FeedFile:
    """One exported file: where it goes and what it is."""

    path: str
    request: FeedRequest | None


@dataclass
class ExportReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def feed_files(program: Program) -> list[FeedFile]:
    """`{lang}/{audience}.ics` for every audience, and the deliverables as tasks."""
    files: list[FeedFile] = []
    for lang in LANGS:
        files.extend(
            FeedFile(f"{lang}/{audience.to_string()}.ics", FeedRequest(audience, lang))
            for audience in every_audience(program)
        )
        tasks = FeedRequest(Audience(AudienceKind.deliverables), lang, tasks=True)
        files.append(FeedFile(f"{lang}/deliverables-tasks.ics", tasks))
    return files


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write `data` atomically unless the file already holds exactly it; True if written."""
    with contextlib.suppress(FileNotFoundError):
        if path.read_bytes() == data:
            return False
    write_atomically(path, data)
    return True


def export_feeds(
    *,
    program: Program,
    catalogue: Catalogue,
    tracked: Sequence[TrackedItem],
    out: Path,
    as_of: dt.date,
    options: FeedOptions | None = None,
    progress: Callable[[str], None] | None = None,
) -> ExportReport:
    """Build every feed, then write the ones that changed. Nothing is written until every
    feed is built, and each file is replaced whole: a build stopped at any point leaves
    each file either as it was or complete."""
    report = ExportReport()
    files = feed_files(program)
    built: list[tuple[str, bytes]] = []
    for file in files:
        assert file.request is not None
        data = build_feed(
            program=program,
            catalogue=catalogue,
            tracked=tracked,
            request=file.request,
            as_of=as_of,
            options=options or FeedOptions(),
        )
        built.append((file.path, data))
        if progress is not None:
            progress(file.path)
    built.append(("index.html", index_page(program, catalogue, files).encode("utf-8")))
    for name, data in built:
        (report.written if write_if_changed(out / name, data) else report.unchanged).append(name)
    return report


def index_page(program: Program, catalogue: Catalogue, files: Sequence[FeedFile]) -> str:
    """A bilingual page listing every feed with relative links."""
    sections = []
    for lang in LANGS:
        title = html.escape(program.program.name.get(lang))
        rows = []
        for file in files:
            if file.request is None or file.request.lang != lang:
                continue
            name = feed_name(program, catalogue, file.request)
            href = html.escape(file.path, quote=True)
            rows.append(f'<li><a href="{href}">{html.escape(name)}</a> <code>{href}</code></li>')
        sections.append(f'<section lang="{lang}"><h2>{title}</h2><ul>{"".join(rows)}</ul></section>')
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(program.program.short.en)} calendars / calendarios</title>"
        "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "code{color:#555;font-size:.85em}li{margin:.3rem 0}</style></head><body>"
        f"{''.join(sections)}</body></html>\n"
    )
