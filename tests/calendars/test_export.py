"""Static export: every feed in both languages and an index, written atomically and only
when its bytes change."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from calendars.catalogue import shipped_catalogue
from calendars.export import export_feeds, write_if_changed
from cycle.program import Program
from cycle.schedule import plan_cycle
from cycle.status import TrackedItem

CHANGED = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)


def _tracked(program: Program) -> list[TrackedItem]:
    return [TrackedItem(item=i, status="planned", changed_at=CHANGED) for i in plan_cycle(program, 9).items]


def _export(program: Program, tracked: list[TrackedItem], out: Path) -> tuple[list[str], list[str]]:
    report = export_feeds(
        program=program, catalogue=shipped_catalogue(), tracked=tracked, out=out, as_of=dt.date(2026, 11, 24)
    )
    return report.written, report.unchanged


def test_export_writes_every_feed_and_an_index(program: Program, tmp_path: Path) -> None:
    """40 feeds (19 audiences and the task form, in two languages) and index.html."""
    written, unchanged = _export(program, _tracked(program), tmp_path)
    assert (len(written), unchanged) == (41, [])
    assert (tmp_path / "es" / "org-sedena.ics").read_bytes().startswith(b"BEGIN:VCALENDAR\r\n")
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert '<a href="es/group-sst-army.ics">MRCMB: Pláticas de Estado Mayor del Ejército' in index
    assert "Content-Security-Policy" in index
    assert sorted(p.name for p in tmp_path.rglob(".*.tmp")) == []


def test_an_unchanged_plan_rewrites_nothing_and_a_change_rewrites_only_its_feeds(
    program: Program, tmp_path: Path
) -> None:
    """A second export leaves every file alone; a moved meeting rewrites only the feeds that show it."""
    tracked = _tracked(program)
    _export(program, tracked, tmp_path)
    mtimes = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.ics")}
    written, _ = _export(program, tracked, tmp_path)
    assert written == []
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.ics")} == mtimes
    index = next(i for i, t in enumerate(tracked) if t.item.key.to_string() == "c9/meeting/sst-navy/1")
    tracked[index] = dataclasses.replace(
        tracked[index], revision=1, changed_at=CHANGED + dt.timedelta(days=1)
    )
    written, _ = _export(program, tracked, tmp_path)
    assert sorted(written) == sorted(
        f"{lang}/{name}.ics"
        for lang in ("en", "es")
        for name in ("all", "org-usnorthcom", "org-semar", "group-sst-navy")
    )


def test_a_failed_write_leaves_the_previous_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that dies before its rename keeps the old feed whole and leaves no temporary file."""
    path = tmp_path / "feed.ics"
    assert write_if_changed(path, b"old")
    assert not write_if_changed(path, b"old")

    def disk_full(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("calendars.export.os.fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_if_changed(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["feed.ics"]
