"""Static export: every feed in both languages and an index, written atomically and only
when its bytes change."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from calendars.catalogue import shipped_catalogue
from calendars.export import export_feeds, feed_files, write_if_changed
from cycle.apa import ApaPlan
from cycle.program import Program
from cycle.schedule import plan_cycle
from cycle.status import TrackedItem
from tests.apa import SAMPLE

CHANGED = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)


def _tracked(program: Program, changed: dt.datetime = CHANGED) -> list[TrackedItem]:
    """Cycle 9 with the sample APA validated, as planned items."""
    items = plan_cycle(program, 9, apa=ApaPlan(activities=SAMPLE)).items
    return [TrackedItem(item=i, status="planned", changed_at=changed) for i in items]


def _export(program: Program, tracked: list[TrackedItem], out: Path) -> tuple[list[str], list[str]]:
    report = export_feeds(
        program=program, catalogue=shipped_catalogue(), tracked=tracked, out=out, as_of=dt.date(2026, 11, 24)
    )
    return report.written, report.unchanged


def test_export_writes_every_feed_and_an_index(program: Program, tmp_path: Path) -> None:
    """42 feeds (20 audiences and the task form, in two languages) and index.html."""
    written, unchanged = _export(program, _tracked(program), tmp_path)
    assert (len(written), unchanged) == (43, [])
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

    monkeypatch.setattr("cycle.files.os.fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_if_changed(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["feed.ics"]


KILLED_BUILD = """
import datetime as dt, os, signal, sys
import calendars.export as export
from cycle.config import load_program, shipped_config_path
from tests.calendars.test_export import CHANGED, _export, _tracked

out, survive = sys.argv[1], int(sys.argv[2])
written = export.write_if_changed
calls = []

def write_then_die(path, data):
    if len(calls) == survive:
        os.kill(os.getpid(), signal.SIGKILL)
    calls.append(path)
    return written(path, data)

export.write_if_changed = write_then_die
program, _ = load_program(shipped_config_path())
_export(program, _tracked(program, CHANGED + dt.timedelta(days=1)), __import__("pathlib").Path(out))
sys.exit(3)  # never killed
"""


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def builds(program: Program, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A previous build, and the next one after every item changed (every feed differs)."""
    previous, new = tmp_path_factory.mktemp("previous"), tmp_path_factory.mktemp("new")
    _export(program, _tracked(program), previous)
    _export(program, _tracked(program, CHANGED + dt.timedelta(days=1)), new)
    return previous, new


@pytest.mark.parametrize("survive", [0, 1, 20, 40])
@pytest.mark.slow
def test_a_build_killed_half_way_leaves_every_file_old_or_new_and_whole(
    program: Program, builds: tuple[Path, Path], tmp_path: Path, survive: int
) -> None:
    """SIGKILL after `survive` files are replaced (0: every feed built, none written): those
    files are the new build's, every other file the previous build's; the next build
    completes it."""
    previous, new = builds
    out = tmp_path / "out"
    shutil.copytree(previous, out)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    child = subprocess.run(
        [sys.executable, "-c", KILLED_BUILD, str(out), str(survive)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    names = [f.path for f in feed_files(program)]
    files = _files(out)
    assert sorted(files) == sorted([*names, "index.html"])
    assert [n for n in names if files[n] == (new / n).read_bytes()] == names[:survive]
    assert [n for n in names if files[n] == (previous / n).read_bytes()] == names[survive:]
    _export(program, _tracked(program, CHANGED + dt.timedelta(days=1)), out)
    assert _files(out) == _files(new)
