"""`roundtable objectives` as a person uses it: add, list, show, progress and rate against
a real store, with JSON scripts can rely on; bad input is one line, exit 2, and leaves
every byte of the data directory as it was."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.flows.test_bad_input import ROUNDTABLE, Cli, snapshot
from tests.flows.test_cli import Cli as InProcess

pytestmark = pytest.mark.slow

KEY = "wg-logistics/shared-fuel-doctrine"
AS_OF = "2026-11-25"
ADD = (
    "objectives",
    "add",
    KEY,
    "--title-en",
    "Shared fuel doctrine",
    "--title-es",
    "Doctrina común de combustible",
    "--horizon",
    "mid-term",
    "--owner",
    "sedena",
    "--indicator",
    "Doctrine signed",
    "--indicator",
    "Two exercises use it",
    "--as-of",
    AS_OF,
    "--by",
    "secretariat",
)


@pytest.fixture
def planned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> InProcess:
    monkeypatch.setenv("ROUNDTABLE_HOME", str(tmp_path / "home"))
    for name in ("ROUNDTABLE_CONFIG", "ROUNDTABLE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    cli = InProcess(capsys)
    assert cli("init")[0] == 0
    assert cli("plan", "--cycle", "9")[0] == 0
    return cli


class TestObjectivesCommands:
    def test_add_progress_rate_and_show_keep_the_whole_history(self, planned: InProcess) -> None:
        """An objective added, moved to active at a meeting and rated shows all three events."""
        added = planned.json(*ADD)
        assert added == {
            "key": KEY,
            "body": "wg-logistics",
            "title": "Shared fuel doctrine",
            "horizon": "mid-term",
            "line_of_effort": "domain-control",
            "owner": "sedena",
            "indicators": ["Doctrine signed", "Two exercises use it"],
            "status": "proposed",
            "progress": 0,
            "first_cycle": 9,
            "cycle": 9,
            "target": "2028-11-25",
        }
        moved = planned.json(
            "objectives", "progress", KEY, "--note", "agreed the draft", "--percent", "40",
            "--status", "active", "--meeting", "c9/meeting/wg-logistics/2", "--by", "wg-chair",
        )  # fmt: skip
        assert (moved["status"], moved["progress"]) == ("active", 40)
        rated = planned.json(
            "objectives", "rate", KEY, "--value", "4", "--effectiveness", "3", "--note", "on track",
            "--as-of", AS_OF, "--by", "ame",
        )  # fmt: skip
        assert {k: rated[k] for k in ("key", "cycle", "value", "effectiveness", "note", "rated_by")} == {
            "key": KEY,
            "cycle": 9,
            "value": 4,
            "effectiveness": 3,
            "note": "on track",
            "rated_by": "ame",
        }
        shown = planned.json("objectives", "show", KEY, "--lang", "es")
        assert shown["title"] == "Doctrina común de combustible"
        assert [
            (e["action"], e["actor"], e["status"], e["progress"], e["meeting"]) for e in shown["history"]
        ] == [
            ("created", "secretariat", "proposed", 0, None),
            ("progress", "wg-chair", "active", 40, "c9/meeting/wg-logistics/2"),
            ("rated", "ame", "active", 40, None),
        ]
        assert shown["history"][1]["detail"] == {"status": ["proposed", "active"], "progress": [0, 40]}
        assert [(r["cycle"], r["value"], r["effectiveness"]) for r in shown["ratings"]] == [(9, 4, 3)]

    def test_list_gives_the_cycles_objectives_and_filters_by_body(self, planned: InProcess) -> None:
        planned.json(*ADD)
        listed = planned.json("objectives", "list", "--as-of", AS_OF)
        assert (listed["cycle"], [o["key"] for o in listed["objectives"]]) == (9, [KEY])
        other = planned.json("objectives", "list", "--cycle", "9", "--body", "sst-army")
        assert other == {"cycle": 9, "objectives": []}
        code, out, err = planned("objectives", "list", "--as-of", AS_OF)
        assert (code, err) == (0, "")
        assert "Cycle 9 objectives" in out
        assert "mid-term" in out

    def test_the_ame_report_counts_the_objectives_and_shows_their_ratings(self, planned: InProcess) -> None:
        """Per body and line of effort by status, and each objective's ratings by cycle;
        the APA share stays empty until the APA side computes it."""
        planned.json(*ADD)
        planned("objectives", "progress", KEY, "--note", "begun", "--percent", "10", "--status", "active")
        planned("objectives", "rate", KEY, "--value", "4", "--effectiveness", "3", "--as-of", AS_OF)
        found = planned.json("report", "--cycle", "9", "--as-of", AS_OF)
        counts = {
            "total": 1,
            "proposed": 0,
            "active": 1,
            "achieved": 0,
            "dropped": 0,
            "past_target": 0,
        }
        assert found["objectives"] == {
            "totals": {"key": "total", "name": "Cycle 9", **counts},
            "by_body": [{"key": "wg-logistics", "name": found["objectives"]["by_body"][0]["name"], **counts}],
            "by_line_of_effort": [{"key": "domain-control", "name": "Domain control", **counts}],
            "ratings": [
                {
                    "key": KEY,
                    "title": "Shared fuel doctrine",
                    "body": "wg-logistics",
                    "by_cycle": {"9": {"value": 4, "effectiveness": 3}},
                }
            ],
        }
        assert found["apa_carried_out_as_planned"] is None
        code, out, _ = planned("report", "--cycle", "9", "--as-of", AS_OF, "--lang", "es")
        assert code == 0
        assert "## Objetivos por órgano\n" in out
        assert f"| {KEY} — Doctrina común de combustible | 4 / 3 |\n" in out


@pytest.fixture(scope="module")
def objective_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with cycle 9 planned and KEY active, written by processes that
    have ended (so SQLite's write-ahead log is checkpointed and gone)."""
    home = tmp_path_factory.mktemp("objectives") / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDTABLE_")}
    env["ROUNDTABLE_HOME"] = str(home)
    progress = ("objectives", "progress", KEY, "--note", "begun", "--percent", "10", "--status", "active")
    for args in (("init",), ("plan", "--cycle", "9"), ADD, progress):
        subprocess.run([str(ROUNDTABLE), *args], env=env, capture_output=True, timeout=120, check=True)
    return home


BAD = [
    pytest.param(
        ("objectives", "add", "wg-logistics", *ADD[3:]),
        "'wg-logistics' is not an objective key (like wg-logistics/shared-fuel-doctrine)",
        id="add-key",
    ),
    pytest.param(
        ADD, f"objective {KEY} exists already (see `roundtable objectives show {KEY}`)", id="add-twice"
    ),
    pytest.param(
        ("objectives", "add", "ame/x", *ADD[3:]),
        "body: ame is not a standing body (SST, IB or WG); only those hold objectives",
        id="add-ame",
    ),
    pytest.param(
        (*ADD[:8], "someday", *ADD[9:]),
        "horizon: 'someday' is not one of short-term, mid-term, long-term",
        id="add-horizon",
    ),
    pytest.param(
        (*ADD[:10], "nobody", *ADD[11:]),
        "owner: 'nobody' is not a member of wg-logistics (usnorthcom, sedena, semar)",
        id="add-owner",
    ),
    pytest.param(
        (*ADD, "--status", "achieved"),
        "status: a new objective is proposed or active, not achieved",
        id="add-status",
    ),
    pytest.param(
        (*ADD[:3], "--title-en", "a\tb", *ADD[5:]),
        "title (en): must be one line of text (no line breaks or control characters)",
        id="add-title",
    ),
    pytest.param(
        ("objectives", "progress", KEY, "--note", "x", "--percent", "101"),
        "progress: a percentage from 0 to 100 (got 101)",
        id="progress-percent",
    ),
    pytest.param(
        ("objectives", "progress", KEY, "--note", " ", "--percent", "20"),
        "note: say what was done (it is kept in the objective's history)",
        id="progress-note",
    ),
    pytest.param(
        ("objectives", "progress", KEY, "--note", "x", "--percent", "20", "--status", "proposed"),
        f"{KEY} is active: it can become achieved or dropped, not proposed",
        id="progress-status",
    ),
    pytest.param(
        (
            "objectives",
            "progress",
            KEY,
            "--note",
            "x",
            "--percent",
            "20",
            "--meeting",
            "c9/meeting/sst-army/1",
        ),
        "meeting: c9/meeting/sst-army/1 is not a meeting of wg-logistics, whose objective this is",
        id="progress-meeting",
    ),
    pytest.param(
        ("objectives", "progress", "wg-logistics/none", "--note", "x", "--percent", "20"),
        "no objective wg-logistics/none in the store (see `roundtable objectives list`)",
        id="progress-unknown",
    ),
    pytest.param(
        ("objectives", "rate", KEY, "--value", "0", "--effectiveness", "3", "--as-of", AS_OF),
        "value: 0 is not on the rating scale (1, 2, 3, 4, 5)",
        id="rate-value",
    ),
    pytest.param(
        ("objectives", "rate", KEY, "--value", "3", "--effectiveness", "3", "--cycle", "8"),
        f"{KEY} is not held in cycle 8 (cycles 9-9)",
        id="rate-cycle",
    ),
    pytest.param(
        ("objectives", "list", "--cycle", "9", "--body", "nobody"),
        "body: no body 'nobody' in the program",
        id="list-body",
    ),
]


@pytest.mark.parametrize(("args", "line"), BAD)
def test_bad_objective_input_is_one_line_exit_2_and_the_store_unchanged(
    objective_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    line: str,
) -> None:
    """Each mistake is named in one line; no byte of the data directory changes."""
    before = snapshot(objective_home)
    outcome = Cli(objective_home, monkeypatch, capsys)(*args)
    assert (outcome.code, outcome.out, outcome.err) == (2, "", f"roundtable: error: {line}\n")
    assert snapshot(objective_home) == before
