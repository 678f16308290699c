"""The `roundtable` command as a person uses it: real store, real program, exit codes,
one-line errors, and JSON that scripts can rely on."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cycle.store.database import SCHEMA_REVISION
from flows.cli import main

ISO_WITH_OFFSET = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$"


class Cli:
    """Runs `roundtable` in-process against a fresh data directory."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *args: str) -> Any:
        code, out, err = self(*args, "--json")
        assert code == 0, err
        return json.loads(out)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ROUNDTABLE_HOME", str(tmp_path / "home"))
    for name in ("ROUNDTABLE_CONFIG", "ROUNDTABLE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


@pytest.fixture
def cli(home: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    del home
    return Cli(capsys)


@pytest.fixture
def planned(cli: Cli) -> Cli:
    assert cli("init")[0] == 0
    assert cli("plan", "--cycle", "9")[0] == 0
    return cli


class TestInit:
    def test_init_creates_the_store_and_is_safe_to_run_again(self, cli: Cli, home: Path) -> None:
        """A second init finds the store at the current schema and changes nothing."""
        first = cli.json("init")
        second = cli.json("init")
        assert (first["schema_before"], first["schema"]) == (None, "0005")
        assert (second["schema_before"], second["schema"], second["bodies_changed"]) == ("0005", "0005", 0)
        assert first["bodies_changed"] == 15
        assert (home / "roundtable.db").is_file()


class TestPlan:
    def test_plan_json_has_the_documented_shape(self, cli: Cli) -> None:
        """plan --json gives the cycle and every item with key, kind, title, owner, dates and status."""
        cli("init")
        data = cli.json("plan", "--cycle", "9")
        assert data["cycle"] == {"number": 9, "start": "2025-09-01", "end": "2027-08-31", "months": 24}
        items = {item["key"]: item for item in data["items"]}
        assert len(items) == 217
        assert {item["kind"] for item in items.values()} == {
            "phase",
            "meeting",
            "executive-session",
            "observation-visit",
            "milestone",
            "deliverable",
            "gate",
        }
        session = items["c9/executive-session/-/1"]
        assert session["start"] == "2026-08-04T09:00:00-06:00"
        assert session["end"] == "2026-08-05T17:00:00-06:00"
        assert session["timezone"] == "America/Denver"
        assert session["due"] is None
        agenda = items["c9/deliverable/sst-army/agenda-2"]
        assert (agenda["due"], agenda["owner"], agenda["body"], agenda["status"]) == (
            "2026-03-31",
            "sst-army",
            "sst-army",
            "pending",
        )
        assert agenda["start"] is None
        for item in items.values():
            assert set(item) >= {
                "key",
                "kind",
                "title",
                "body",
                "owner",
                "start",
                "end",
                "timezone",
                "due",
                "status",
            }
            if item["kind"] in ("meeting", "executive-session", "observation-visit"):
                assert item["timezone"] in ("America/Denver", "America/Mexico_City")
                assert item["start"]
                assert item["end"]
            if item["kind"] == "deliverable":
                assert item["due"]

    def test_plan_json_in_spanish(self, cli: Cli) -> None:
        """--lang es gives the Spanish titles of the same items."""
        cli("init")
        items = {i["key"]: i for i in cli.json("plan", "--cycle", "9", "--lang", "es")["items"]}
        assert items["c9/executive-session/-/1"]["title"] == "Sesión Ejecutiva de la Mesa Redonda"
        assert items["c9/meeting/sst-army/1"]["location"] == "Ciudad de México, México"

    def test_planning_again_reports_no_change(self, cli: Cli) -> None:
        """Re-planning an unchanged program reports every item unchanged."""
        cli("init")
        cli("plan", "--cycle", "9")
        changes = cli.json("plan", "--cycle", "9")["changes"]
        assert changes == {"created": 0, "updated": 0, "cancelled": 0, "restored": 0, "unchanged": 217}

    def test_plan_without_cycle_plans_the_cycle_open_on_as_of(self, cli: Cli) -> None:
        """With no --cycle, plan takes the cycle open on --as-of."""
        cli("init")
        assert cli.json("plan", "--as-of", "2024-02-01")["cycle"]["number"] == 8

    def test_a_twelve_month_cycle_from_the_history_plans_without_a_visit(self, cli: Cli) -> None:
        """Cycle 7 (12 months) has its executive session in Colorado Springs and no visit."""
        cli("init")
        items = cli.json("plan", "--cycle", "7")["items"]
        kinds = [i["kind"] for i in items]
        assert kinds.count("executive-session") == 1
        assert "observation-visit" not in kinds
        [session] = [i for i in items if i["kind"] == "executive-session"]
        assert session["start"].startswith("2023-08-")
        assert session["location"] == "Colorado Springs, Colorado, United States"


class TestStatus:
    def test_status_on_24_november_2026_is_past_the_session_heading_for_the_visit(self, planned: Cli) -> None:
        """Cycle 9 on 2026-11-24: group meetings, APA gate behind, observation visit next."""
        data = planned.json("status", "--as-of", "2026-11-24")
        assert data["cycle"]["number"] == 9
        assert data["state"] == "open"
        assert data["phase"] == "group-meetings"
        assert data["next_phase"]["key"] == "c9/phase/-/observation-visit"
        assert data["next_phase"]["first_day"] == "2026-12-14"
        assert data["deliverables"] == {"total": 146, "done": 0, "submitted": 0, "overdue": 97}
        assert [(g["key"], g["status"], g["days_late"]) for g in data["gates"]] == [
            ("c9/gate/-/apa-validation", "pending", 112),
            ("c9/gate/-/exercise-selection", "pending", 0),
        ]
        assert data["overdue"][0] == {
            "key": "c9/deliverable/sst-army/agenda-1",
            "title": "Agenda for Army Service Staff Talks (U.S. Army North – Mexican Army): meeting 1",
            "owner": "sst-army",
            "due": "2025-09-29",
            "days_late": 421,
            "working_days_late": 282,  # numpy.busday_count with both countries' holidays agrees
        }

    def test_status_in_the_executive_prep_window_names_that_phase(self, planned: Cli) -> None:
        """In July 2026 the cycle is preparing its executive session."""
        data = planned.json("status", "--as-of", "2026-07-01")
        assert data["phase"] == "executive-prep"
        assert data["phase_window"] == ["2026-06-05", "2026-08-03"]

    def test_recorded_deliverables_count_as_done_and_leave_the_overdue_list(self, planned: Cli) -> None:
        """Submitting and accepting a late deliverable moves it from overdue to done."""
        key = "c9/deliverable/sst-army/agenda-1"
        assert planned("deliverables", "submit", key, "--by", "Maj. Ruiz")[0] == 0
        assert planned("deliverables", "accept", key, "--by", "Col. Smith")[0] == 0
        data = planned.json("status", "--as-of", "2026-11-24")
        assert data["deliverables"]["done"] == 1
        assert data["deliverables"]["overdue"] == 96
        assert key not in [o["key"] for o in data["overdue"]]

    def test_status_says_what_the_console_says(self, planned: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
        """The human view names the cycle, the step the flows are at and what blocks it, as
        the console does; a gate past its date is late; an item that waits for a gate says so."""
        monkeypatch.setenv("COLUMNS", "240")
        code, out, _ = planned("status", "--as-of", "2026-11-24")
        assert code == 0
        assert "Cycle 9 (24 months, 2025-09-01 → 2027-08-31), as of 2026-11-24: open" in out
        for said in (
            "The flows are at Opening, not started: it was due to start on 2025-09-01, 449 days ago.",
            "Opening was due to start on 2025-09-01 and has not started: run Plan the cycle (plan-cycle)",
            "Tri-chairs validate the Annual Plan of Activities (due 2026-08-04): pending, 112 days late",
        ):
            assert said in out
        assert re.search(r"to observe \(due 2026-12-14\): pending *\n", out)
        coming = next(
            line for line in out.splitlines() if "Tri-chairs select the exercise" in line and "│" in line
        )
        assert "Tri-chairs validate the Annual Plan of Activities" in coming
        assert "… and 87 more: roundtable deliverables list --overdue" in out


class TestDeliverables:
    def test_list_filters_by_owner_and_overdue(self, planned: Cli) -> None:
        """The secretariat's overdue deliverables on 2026-11-24 are the read-ahead and signed minutes."""
        data = planned.json(
            "deliverables", "list", "--owner", "secretariat", "--overdue", "--as-of", "2026-11-24"
        )
        assert [(d["key"], d["due"], d["working_days_late"]) for d in data["deliverables"]] == [
            ("c9/deliverable/-/read-ahead", "2026-07-21", 85),
            ("c9/deliverable/-/signed-minutes", "2026-08-26", 59),
        ]

    def test_waive_needs_a_reason_option(self, planned: Cli) -> None:
        """waive without --reason is a usage error: exit 2, one line."""
        code, _, err = planned("deliverables", "waive", "c9/deliverable/-/read-ahead")
        assert code == 2
        assert err.count("\n") == 1
        assert "--reason" in err

    def test_an_impossible_transition_is_one_line_and_exit_2(self, planned: Cli) -> None:
        """Accepting a pending deliverable says what is allowed instead."""
        code, _, err = planned("deliverables", "accept", "c9/deliverable/-/read-ahead")
        assert (code, err) == (
            2,
            "roundtable: error: c9/deliverable/-/read-ahead is pending: cannot accept it; "
            "from pending you can submit, waive\n",
        )


class TestFeeds:
    def test_feeds_build_writes_every_feed_once_then_nothing(self, planned: Cli, tmp_path: Path) -> None:
        """A first build writes 42 feeds and the index; a second, with no change, writes none."""
        out = tmp_path / "public"
        first = planned.json("feeds", "build", "--out", str(out))
        second = planned.json("feeds", "build", "--out", str(out))
        assert len(first["written"]) == 43
        assert (second["written"], second["unchanged"]) == ([], 43)
        assert (out / "en" / "group-sst-army.ics").read_bytes().startswith(b"BEGIN:VCALENDAR")

    def test_feeds_build_into_a_file_is_one_line(self, planned: Cli, tmp_path: Path) -> None:
        """--out naming a file is refused before anything is written."""
        target = tmp_path / "feeds"
        target.write_text("not a directory")
        code, _, err = planned("feeds", "build", "--out", str(target))
        assert code == 2
        assert err == (
            f"roundtable feeds build: error: Invalid value for --out: {target} exists and is not a directory "
            "(see --help)\n"
        )


class TestSubscribers:
    def test_add_prints_the_url_once_and_stores_only_a_hash(self, planned: Cli, home: Path) -> None:
        """The token appears in the printed URLs and nowhere in the store; list never shows it."""
        added = planned.json(
            "subscribers",
            "add",
            "SEDENA liaison",
            "--audience",
            "org-sedena",
            "--audience",
            "deliverables",
            "--lang",
            "es",
            "--base-url",
            "https://feeds.example/",
        )
        token = added["subscribe"].removeprefix("https://feeds.example/subscribe/")
        assert len(token) == 32
        assert added["feeds"] == {
            "org-sedena": f"https://feeds.example/feeds/{token}/org-sedena.ics?lang=es",
            "deliverables": f"https://feeds.example/feeds/{token}/deliverables.ics?lang=es",
        }
        store_bytes = b"".join(p.read_bytes() for p in home.iterdir())
        assert token.encode() not in store_bytes
        listed = planned.json("subscribers", "list")["subscribers"]
        assert [(s["name"], s["audiences"], s["lang"], s["revoked_at"]) for s in listed] == [
            ("SEDENA liaison", ["org-sedena", "deliverables"], "es", None)
        ]
        assert token not in json.dumps(listed)

    def test_revoke_marks_the_subscriber_and_keeps_the_name_taken(self, planned: Cli) -> None:
        """A revoked subscriber is listed as revoked; its name cannot be reused by mistake."""
        planned.json("subscribers", "add", "AM&E cell", "--audience", "group-ame")
        assert planned.json("subscribers", "revoke", "AM&E cell")["revoked_at"]
        [listed] = planned.json("subscribers", "list")["subscribers"]
        assert listed["revoked_at"] is not None
        code, _, err = planned("subscribers", "add", "AM&E cell", "--audience", "all")
        assert (code, err) == (
            2,
            "roundtable: error: a subscriber named 'AM&E cell' exists already: pick another name\n",
        )

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (
                ("subscribers", "add", "x", "--audience", "org-nope"),
                "Invalid value for --audience: no institution 'nope'",
            ),
            (("subscribers", "add", "x", "--audience", "group-wg-cyber"), "no active body 'wg-cyber'"),
            (("subscribers", "add", "x", "--audience", "../etc"), "no audience '../etc'"),
            (
                ("subscribers", "add", "x", "--audience", "all", "--base-url", "ftp://x"),
                "is not an http(s) address",
            ),
            (("subscribers", "revoke", "nobody"), "no subscriber named 'nobody'"),
        ],
        ids=["unknown-org", "proposed-body", "path", "base-url", "revoke-unknown"],
    )
    def test_bad_subscriber_input_is_one_line(
        self, planned: Cli, args: tuple[str, ...], message: str
    ) -> None:
        """Unknown audiences, proposed bodies, odd URLs, unknown names: exit 2, one line, nothing stored."""
        code, _, err = planned(*args)
        assert code == 2
        assert err.count("\n") == 1
        assert message in err
        assert planned.json("subscribers", "list")["subscribers"] == []


AGENDA_1 = "c9/deliverable/sst-army/agenda-1"
"""Cycle 9's first deadline: the Army SST's first agenda, due Monday 29 September 2025."""


class TestCheckOverdue:
    def check(self, cli: Cli, *args: str) -> tuple[int, Any]:
        code, out, err = cli("check-overdue", "--cycle", "9", *args, "--json")
        assert err == ""
        return code, json.loads(out)

    def test_before_the_cycle_nothing_is_overdue_and_exit_is_0(self, planned: Cli) -> None:
        """As of a day before cycle 9 opens: exit 0 and empty lists."""
        assert self.check(planned, "--as-of", "2025-08-01") == (
            0,
            {"as_of": "2025-08-01", "cycle": 9, "overdue": [], "due_soon": []},
        )

    def test_on_the_due_date_it_is_due_soon_not_overdue(self, planned: Cli) -> None:
        """On its due date the agenda is a reminder (0 working days left), exit 0."""
        code, found = self.check(planned, "--as-of", "2025-09-29")
        assert (code, found["overdue"]) == (0, [])
        assert [(d["key"], d["working_days_left"], d["level"]) for d in found["due_soon"]] == [
            (AGENDA_1, 0, None)
        ]

    def test_the_day_after_the_due_date_it_is_overdue_and_exit_is_1(self, planned: Cli) -> None:
        """The day after: overdue at the owner level, with the documented JSON shape."""
        code, found = self.check(planned, "--as-of", "2025-09-30")
        assert code == 1
        assert found["overdue"] == [
            {
                "key": AGENDA_1,
                "title": "Agenda for Army Service Staff Talks (U.S. Army North – Mexican Army): meeting 1",
                "owner": "sst-army",
                "due": "2025-09-29",
                "days_late": 1,
                "working_days_late": 1,
                "working_days_left": 0,
                "level": "owner",
                "level_name": "Owner",
            }
        ]

    @pytest.mark.parametrize(
        ("as_of", "days_late", "working_days_late", "level"),
        [
            pytest.param("2025-10-04", 5, 4, "owner", id="saturday-weekend-does-not-count"),
            pytest.param("2025-10-06", 7, 5, "body-chairs", id="fifth-working-day-after-a-weekend"),
            pytest.param("2025-10-13", 14, 9, "body-chairs", id="us-columbus-day-does-not-count"),
            pytest.param("2025-10-14", 15, 10, "body-chairs", id="the-day-after-columbus-day"),
        ],
    )
    def test_days_late_count_weekends_and_holidays_out_of_working_days(
        self, planned: Cli, as_of: str, days_late: int, working_days_late: int, level: str
    ) -> None:
        """Days late are calendar days; working days late skip weekends and either
        country's holidays, and escalation follows the working days."""
        code, found = self.check(planned, "--as-of", as_of)
        first = found["overdue"][0]
        assert (code, first["key"], first["days_late"], first["working_days_late"], first["level"]) == (
            1,
            AGENDA_1,
            days_late,
            working_days_late,
            level,
        )

    def test_most_severe_first_and_in_spanish(self, planned: Cli) -> None:
        """Sorted by level then lateness; --lang es gives Spanish titles and level names."""
        code, found = self.check(planned, "--as-of", "2025-10-14", "--lang", "es")
        assert code == 1
        assert [(d["key"], d["level_name"]) for d in found["overdue"]] == [
            (AGENDA_1, "Presidentes del grupo responsable"),
            ("c9/deliverable/wg-c2-interoperability/agenda-1", "Presidentes del grupo responsable"),
        ]
        assert found["overdue"][0]["title"].startswith("Agenda de Pláticas de Estado Mayor")

    def test_recorded_submission_leaves_the_list(self, planned: Cli) -> None:
        """A submitted deliverable is with its reviewer: exit 0 again."""
        assert planned("deliverables", "submit", AGENDA_1, "--by", "test")[0] == 0
        assert self.check(planned, "--as-of", "2025-09-30")[0] == 0

    def test_table_in_spanish_says_how_many(self, planned: Cli) -> None:
        """Without --json: a table headed in the chosen language."""
        code, out, _ = planned("check-overdue", "--as-of", "2025-09-30", "--lang", "es")
        assert code == 1
        assert "1 entregables vencidos el 2025-09-30" in out
        assert "Escalado a" in out

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            pytest.param(["--as-of", "2025-02-30"], "'2025-02-30' is not a date", id="impossible-date"),
            pytest.param(["--cycle", "0"], "Invalid value for '--cycle'", id="cycle-zero"),
            pytest.param(["--cycle", "10"], "cycle 10 is not planned yet", id="unplanned-cycle"),
            pytest.param(["--lang", "fr"], "Invalid value for '--lang'", id="unknown-language"),
        ],
    )
    def test_bad_input_is_one_line_and_exit_2(self, planned: Cli, args: list[str], message: str) -> None:
        """Exit 2, never 1: a script must tell bad input from overdue work."""
        code, out, err = planned("check-overdue", *args)
        assert (code, out) == (2, "")
        assert err.count("\n") == 1
        assert message in err

    def test_before_init_it_says_to_run_init(self, cli: Cli) -> None:
        """No store yet: exit 2 and the way forward."""
        code, _, err = cli("check-overdue")
        assert code == 2
        assert "is empty: run `roundtable init` first" in err


class TestReport:
    def test_json_report_has_totals_trend_bodies_and_lines_of_effort(self, planned: Cli) -> None:
        """As of 1 October 2025 only the first agenda (due 29 September) can be judged: 2
        days overdue."""
        found = planned.json("report", "--cycle", "9", "--as-of", "2025-10-01")
        assert set(found) == {
            "as_of",
            "cycle",
            "totals",
            "by_cycle",
            "by_body",
            "by_line_of_effort",
            "objectives",
            "apa_carried_out_as_planned",
        }
        assert found["totals"] == {
            "key": "total",
            "name": "Cycle 9",
            "total": 146,
            "judged": 1,
            "on_time": 0,
            "late": 0,
            "overdue": 1,
            "waived": 0,
            "open": 146,
            "on_time_rate": 0.0,
            "mean_days_late": 2.0,
        }
        assert [r["key"] for r in found["by_cycle"]] == ["9"]
        assert [r["key"] for r in found["by_line_of_effort"]] == [
            "domain-awareness",
            "domain-control",
            "institutional-strengthening",
            "program-wide",
        ]

    @pytest.mark.parametrize(
        ("fmt", "start"),
        [
            pytest.param(
                "md", "# AM&E report: deliverables on time — Cycle 9, as of 2025-10-01", id="markdown"
            ),
            pytest.param("html", '<!doctype html><html lang="en">', id="html"),
        ],
    )
    def test_formats_and_out_file(self, planned: Cli, tmp_path: Path, fmt: str, start: str) -> None:
        """--format md|html to stdout, or written whole to --out."""
        code, out, _ = planned("report", "--as-of", "2025-10-01", "--format", fmt)
        assert code == 0
        assert out.startswith(start)
        target = tmp_path / f"report.{fmt}"
        assert planned("report", "--as-of", "2025-10-01", "--format", fmt, "--out", str(target))[0] == 0
        assert target.read_text(encoding="utf-8") == out

    def test_html_draws_the_trend_and_escapes_names(self, planned: Cli) -> None:
        """The page carries its chart as inline SVG and no script."""
        _, out, _ = planned("report", "--as-of", "2025-10-01", "--format", "html", "--lang", "es")
        assert "<svg" in out
        assert "Tasa de entrega a tiempo por ciclo" in out
        assert "<script" not in out

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            pytest.param(["--format", "pdf"], "Invalid value for '--format'", id="format"),
            pytest.param(["--cycle", "10"], "cycle 10 is not planned yet", id="unplanned"),
            pytest.param(["--out", "/"], "is a directory", id="out-is-a-directory"),
        ],
    )
    def test_bad_input_is_one_line(self, planned: Cli, args: list[str], message: str) -> None:
        code, out, err = planned("report", *args)
        assert (code, out) == (2, "")
        assert err.count("\n") == 1
        assert message in err


class TestHistory:
    def test_history_lists_every_roundtable_to_date(self, cli: Cli) -> None:
        """As of 2026-11-24: nine roundtables, 1-7 on 12-month cycles, 8-9 on 24-month cycles."""
        data = cli.json("history", "--as-of", "2026-11-24")
        rows = data["roundtables"]
        assert [r["roundtable"] for r in rows] == list(range(1, 10))
        assert [r["cycle"]["months"] for r in rows] == [12] * 7 + [24] * 2
        seventh = rows[6]
        assert seventh["executive_session"]["month"] == "2023-08"
        assert seventh["executive_session"]["place"] == "Colorado Springs, Colorado, United States"
        assert seventh["assumed"] is False
        assert [r["assumed"] for r in rows[1:6]] == [True] * 5
        assert rows[8]["executive_session"]["date"] == "2026-08-04"
        assert rows[0]["executive_session"]["month"].startswith("2016-")


class TestBadInput:
    @pytest.mark.parametrize(
        ("args", "fragment"),
        [
            (("plan", "--cycle", "abc"), "roundtable plan: error: Invalid value for '--cycle'"),
            (("plan", "--cycle", "0"), "--cycle"),
            (("status", "--as-of", "2026-13-01"), "'2026-13-01' is not a date (YYYY-MM-DD)"),
            (("status", "--lang", "fr"), "--lang"),
            (("deliverables", "submit"), "Missing argument 'key'"),
            (("nonsense",), "No such command 'nonsense'"),
        ],
        ids=["cycle-not-int", "cycle-zero", "bad-date", "bad-lang", "missing-key", "unknown-command"],
    )
    def test_bad_arguments_are_one_line_and_exit_2(
        self, cli: Cli, args: tuple[str, ...], fragment: str
    ) -> None:
        """Every bad argument gives one line on stderr naming the problem, and exit code 2."""
        code, out, err = cli(*args)
        assert code == 2
        assert out == ""
        assert err.startswith("roundtable")
        assert err.count("\n") == 1
        assert fragment in err

    @pytest.mark.parametrize(
        ("variable", "value", "fragment"),
        [
            (
                "ROUNDTABLE_DATABASE_URL",
                "mysql://root@localhost/x",
                "ROUNDTABLE_DATABASE_URL: unsupported database",
            ),
            ("ROUNDTABLE_DATABASE_URL", "not a url", "ROUNDTABLE_DATABASE_URL: not a database URL"),
            ("ROUNDTABLE_DATABASE_URL", "", "ROUNDTABLE_DATABASE_URL is set but empty"),
            (
                "ROUNDTABLE_CONFIG",
                "/nonexistent/program.toml",
                "ROUNDTABLE_CONFIG=/nonexistent/program.toml: no such file",
            ),
            (
                "ROUNDTABLE_HOME",
                "/etc/hostname",
                "ROUNDTABLE_HOME=/etc/hostname: exists and is not a directory",
            ),
        ],
        ids=["db-mysql", "db-garbage", "db-empty", "config-missing", "home-is-a-file"],
    )
    def test_bad_environment_names_the_variable(
        self, cli: Cli, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, fragment: str
    ) -> None:
        """A bad environment value is one line naming the variable, exit 2."""
        monkeypatch.setenv(variable, value)
        code, _, err = cli("status")
        assert code == 2
        assert err == f"roundtable: error: {fragment}\n" or (err.count("\n") == 1 and fragment in err)

    @pytest.mark.parametrize(
        ("variable", "value", "fragment"),
        [
            ("ROUNDTABLE_HOME", "~nosuchuser/x", "ROUNDTABLE_HOME=~nosuchuser/x: not a usable path"),
            ("ROUNDTABLE_HOME", "/srv/" + "x" * 5000, "ROUNDTABLE_HOME is 5005 characters long (limit 4096)"),
            ("ROUNDTABLE_HOME", "/srv/\udcff", "ROUNDTABLE_HOME is not valid UTF-8"),
            (
                "ROUNDTABLE_CONFIG",
                "~nosuchuser/p.toml",
                "ROUNDTABLE_CONFIG=~nosuchuser/p.toml: not a usable path",
            ),
            ("ROUNDTABLE_DATABASE_URL", "sqlite://", "an SQLite store needs a file"),
            ("ROUNDTABLE_DATABASE_URL", "sqlite:///:memory:", "an SQLite store needs a file"),
            ("ROUNDTABLE_DATABASE_URL", "sqlite+pysqlcipher:////tmp/x.db", "unsupported database"),
            (
                "ROUNDTABLE_DATABASE_URL",
                "postgresql+psycopg://nobody@127.0.0.1:1/x",
                "ROUNDTABLE_DATABASE_URL: cannot open the store at postgresql+psycopg://nobody@127.0.0.1:1/x",
            ),
        ],
        ids=[
            "home-unknown-user",
            "home-too-long",
            "home-not-utf8",
            "config-unknown-user",
            "db-memory",
            "db-memory-file",
            "db-other-driver",
            "db-refused",
        ],
    )
    def test_odd_environment_values_are_one_line_and_write_nothing(
        self,
        cli: Cli,
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
        variable: str,
        value: str,
        fragment: str,
    ) -> None:
        """Values the OS or the database cannot use are named, exit 2, and leave no files."""
        monkeypatch.setenv(variable, value)
        before = sorted(tmp_path.rglob("*"))
        code, _, err = cli("init")
        assert code == 2
        assert err.count("\n") == 1
        assert fragment in err
        assert sorted(tmp_path.rglob("*")) == before

    def test_a_file_that_is_not_a_database_is_one_line(
        self, cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """A store URL pointing at some other file says so instead of a traceback."""
        junk = tmp_path / "notes.db"
        junk.write_text("these are not the tables you are looking for\n" * 100)
        monkeypatch.setenv("ROUNDTABLE_DATABASE_URL", f"sqlite:///{junk}")
        code, _, err = cli("status")
        assert code == 2
        assert err == (
            f"roundtable: error: ROUNDTABLE_DATABASE_URL: cannot open the store at sqlite:///{junk}: "
            "file is not a database\n"
        )

    def test_a_data_directory_that_cannot_be_made_is_one_line(
        self, cli: Cli, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """init under a path whose parent is a file names the directory it could not create."""
        monkeypatch.setenv("ROUNDTABLE_HOME", "/etc/hostname/roundtable")
        code, _, err = cli("init")
        assert (code, err) == (
            2,
            "roundtable: error: cannot create the data directory /etc/hostname/roundtable: Not a directory\n",
        )

    @pytest.mark.parametrize(
        ("args", "fragment"),
        [
            (("status", "--debug"), "No such option: --debug"),
            (("--debug",), "Missing command"),
            (
                ("deliverables", "submit", "c9/deliverable/-/read-ahead", "--by", "jos\udce9"),
                "argument 5 is not valid UTF-8",
            ),
        ],
        ids=["debug-after-command", "debug-alone", "latin-1-terminal"],
    )
    def test_usage_errors_stay_one_line_even_with_debug(
        self, cli: Cli, args: tuple[str, ...], fragment: str
    ) -> None:
        """--debug shows tracebacks for failures, never for a mistyped command line."""
        code, _, err = cli(*args)
        assert code == 2
        assert err.count("\n") == 1
        assert fragment in err

    def test_status_before_init_says_to_run_init_and_creates_nothing(self, cli: Cli, home: Path) -> None:
        """Asking for status on a fresh machine points at `roundtable init` and writes no file."""
        code, _, err = cli("status")
        assert code == 2
        assert "run `roundtable init` first" in err
        assert not (home / "roundtable.db").exists()

    def test_status_of_an_unplanned_cycle_says_how_to_plan_it(self, cli: Cli) -> None:
        """A cycle that was never planned gets the command that plans it."""
        cli("init")
        code, _, err = cli("status", "--cycle", "10")
        assert (code, err) == (
            2,
            "roundtable: error: cycle 10 is not planned yet: run `roundtable plan --cycle 10`"
            " or the plan-cycle flow\n",
        )

    @pytest.mark.usefixtures("home")
    def test_debug_shows_the_traceback(self) -> None:
        """--debug lets the exception through for a developer to read."""
        from cycle.errors import StoreError

        with pytest.raises(StoreError):
            main(["--debug", "status"])


def _run(args: list[str], env: dict[str, str], *, probe: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a fresh interpreter; with `probe`, report whether Prefect got imported."""
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write('PREFECT-IMPORTED' if any("
        "m == 'prefect' or m.startswith('prefect.') for m in sys.modules) else ''))\n"
        "from flows.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    command = (
        [sys.executable, "-c", code, *args]
        if probe
        else [str(Path(sys.executable).parent / "roundtable"), *args]
    )
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.slow
class TestFastStart:
    @pytest.fixture
    def env(self, tmp_path: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDTABLE_")}
        env["ROUNDTABLE_HOME"] = str(tmp_path / "home")
        return env

    @pytest.mark.parametrize(
        "args", [["--help"], ["status", "--as-of", "2026-11-24", "--json"]], ids=["help", "status"]
    )
    def test_help_and_status_never_import_prefect(self, env: dict[str, str], args: list[str]) -> None:
        """`roundtable --help` and `status` start without importing Prefect."""
        assert _run(["init"], env).returncode == 0
        assert _run(["plan", "--cycle", "9"], env).returncode == 0
        result = _run(args, env, probe=True)
        assert result.returncode == 0, result.stderr
        assert "PREFECT-IMPORTED" not in result.stderr

    def test_the_installed_console_script_runs_the_main_job(self, env: dict[str, str]) -> None:
        """The `roundtable` script on PATH runs `run` end to end on the embedded defaults:
        the due flows in Prefect's ephemeral mode, calendars published."""
        result = _run(["run", "--as-of", "2026-11-24", "--json"], env)
        assert result.returncode == 0, result.stderr
        data = json.loads(result.stdout)
        assert data["cycle"] == 9
        assert [(f["flow"], f["state"]) for f in data["flows"]] == [
            ("plan-cycle", "Completed"),
            ("group-meetings", "Completed"),
            ("executive-session", "NotReady"),
            ("check-overdue", "Overdue"),
        ]
        assert data["status"]["phase"] == "group-meetings"
        assert Path(data["calendars"]).is_file()


class TestExportImport:
    def test_export_to_a_file_matches_stdout_and_is_private(self, planned: Cli, home: Path) -> None:
        """`export --out` writes what `export` prints, readable by its owner only."""
        code, printed, _ = planned("export")
        assert code == 0
        out = home / "backups" / "store.json"
        code, said, _ = planned("export", "--out", str(out))
        assert code == 0
        assert said == f"{out}: 614 rows of 14 tables, schema {SCHEMA_REVISION}\n"
        assert out.read_text(encoding="utf-8") == printed
        assert out.stat().st_mode & 0o777 == 0o600
        assert [p.name for p in out.parent.iterdir()] == ["store.json"]

    def test_import_restores_into_a_new_store(
        self, planned: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A second home, `import`, and the export is the same."""
        out = home / "store.json"
        assert planned("export", "--out", str(out))[0] == 0
        monkeypatch.setenv("ROUNDTABLE_HOME", str(home.parent / "restored"))
        code, said, err = planned("import", str(out))
        assert code == 0, err
        schema = f"schema {SCHEMA_REVISION}, now {SCHEMA_REVISION}"
        assert said.endswith(f"614 rows of 14 tables restored from {out} ({schema})\n")
        assert planned("export")[1] == out.read_text(encoding="utf-8")

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            ("", "not a Roundtable export (bad JSON at line 1, column 1)"),
            (
                '{"format": "roundtable-export", "version": 7}',
                "export version 7 is not one this Roundtable reads (1)",
            ),
        ],
        ids=["empty", "future-version"],
    )
    def test_import_of_a_bad_file_is_one_line_and_exit_2(
        self, cli: Cli, home: Path, content: str, message: str
    ) -> None:
        """Nothing is created: not even the data directory's database file."""
        path = home.parent / "bad.json"
        path.write_text(content, encoding="utf-8")
        assert cli("import", str(path)) == (2, "", f"roundtable: error: {path}: {message}\n")
        assert not (home / "roundtable.db").exists()

    def test_import_into_a_store_in_use_is_refused(self, planned: Cli, home: Path) -> None:
        """Import never merges into a store that holds anything."""
        out = home / "store.json"
        planned("export", "--out", str(out))
        code, _, err = planned("import", str(out))
        assert code == 2
        assert err.endswith(
            "is not empty (15 in body, 233 in change_log, 1 in cycle, 146 in deliverable, "
            "2 in gate, 217 in planned_item): import only into a new store\n"
        )


AZTEC = "c9/activity/sst-navy/aztec-alligator-2027"
PROPOSE_AZTEC = (
    *("apa", "propose", "--cycle", "9", "--body", "sst-navy", "--slug", "aztec-alligator-2027"),
    *("--kind", "combined-exercise", "--title-en", "Phoenix/Aztec Alligator 2027"),
    *("--title-es", "Phoenix/Aztec Alligator 2027", "--first", "2027-06-08", "--last", "2027-06-18"),
    *("--host", "semar", "--participant", "usnorthcom", "--line", "domain-control"),
    *("--location-en", "Veracruz", "--location-es", "Veracruz", "--by", "Cmdr. Ruiz"),
)


class TestApa:
    def test_propose_validate_amend_and_show(self, planned: Cli) -> None:
        """A proposal, its body's inputs handed in, the validation by `gates decide`, an
        amendment: `apa show --json` has the draft, both versions and the reason."""
        proposed = planned.json(*PROPOSE_AZTEC)
        assert proposed["done"] == "proposed"
        assert proposed["activity"]["key"] == AZTEC
        assert planned.json(*PROPOSE_AZTEC)["done"] == "unchanged"
        assert planned("deliverables", "submit", "c9/deliverable/sst-navy/apa-inputs")[0] == 0
        shown = planned.json("apa", "show", "--cycle", "9")
        assert (shown["validated"], [a["key"] for a in shown["draft"]], shown["versions"]) == (
            False,
            [AZTEC],
            [],
        )
        decided = planned.json(
            "gates",
            "decide",
            "c9/gate/-/apa-validation",
            "--approve",
            "--tri-chair",
            "semar",
            "--activity",
            AZTEC,
        )
        assert decided["state"] == "approved"
        amended = planned.json(
            "apa",
            "amend",
            AZTEC,
            "--reason",
            "Hurricane season",
            "--first",
            "2027-05-10",
            "--last",
            "2027-05-20",
        )
        assert (amended["version"], amended["change"]["kind"]) == (2, "reschedule")
        shown = planned.json("apa", "show", "--cycle", "9")
        assert [(v["version"], v["kind"], v["reason"]) for v in shown["versions"]] == [
            (1, "validated", None),
            (2, "amendment", "Hurricane season"),
        ]
        assert shown["activities"][0]["first_day"] == "2027-05-10"
        code, out, _ = planned("apa", "show", "--cycle", "9")
        assert code == 0
        assert "APA version 2 (1 activity)" in out
        items = {i["key"]: i for i in planned.json("plan", "--cycle", "9")["items"]}
        assert (items[AZTEC]["kind"], items[AZTEC]["first_day"], items[AZTEC]["status"]) == (
            "activity",
            "2027-05-10",
            "planned",
        )

    def test_withdraw_takes_a_proposal_out_of_the_draft(self, planned: Cli) -> None:
        planned.json(*PROPOSE_AZTEC)
        code, out, _ = planned("apa", "withdraw", AZTEC)
        assert (code, out) == (0, f"{AZTEC}: withdrawn\n")
        assert planned("apa", "withdraw", AZTEC)[1] == f"{AZTEC}: was withdrawn already\n"
        shown = planned.json("apa", "show", "--cycle", "9")
        assert (shown["draft"], [a["key"] for a in shown["withdrawn"]]) == ([], [AZTEC])
