"""Program-file loading and validation: every fault is one line naming file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from cycle.config import MAX_CONFIG_BYTES, format_key_path, load_program, locate_line, shipped_config_path
from cycle.errors import ConfigError
from flows.cli import main
from tests.conftest import SHIPPED


def shipped_text() -> str:
    return SHIPPED.read_text(encoding="utf-8")


def write_mutated(tmp_path: Path, old: str, new: str, blamed: str | None = None) -> tuple[Path, int]:
    """Write the shipped file with `old` replaced by `new`; return the path and the blamed line.

    The blamed line is the 1-based line, in the written text, of `blamed` (a part of `new`;
    by default the start of `new`).
    """
    shipped = shipped_text()
    assert shipped.count(old) == 1, f"{old!r} must occur exactly once in the shipped file"
    start = shipped.index(old)
    text = shipped[:start] + new + shipped[start + len(old) :]
    assert text != shipped
    offset = new.index(blamed) if blamed is not None else 0
    line = text.count("\n", 0, start + offset) + 1
    path = tmp_path / "roundtable.toml"
    path.write_text(text, encoding="utf-8")
    return path, line


def config_error(path: Path) -> str:
    """The message of the `ConfigError` that loading `path` raises, checked to be one line."""
    with pytest.raises(ConfigError) as caught:
        load_program(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


class TestShippedProgram:
    def test_shipped_program_loads_with_three_institutions(self) -> None:
        """The program file that ships with Roundtable is valid and names its three institutions."""
        program, source = load_program(shipped_config_path())
        assert [i.slug for i in program.institutions] == ["usnorthcom", "sedena", "semar"]
        assert source.path == shipped_config_path()
        assert source.text == shipped_text()


# Each case: (old text, new text, text of `new` on the blamed line, key path, message).
UNKNOWN_KEYS = [
    pytest.param(
        "schema = 1\n", "schema = 1\nschemas = 2\n", "schemas", "schemas", "unknown key", id="top-level"
    ),
    pytest.param(
        'slug = "sst-air"\n',
        'slug = "sst-air"\ncolour = "blue"\n',
        "colour",
        "bodies[1].colour",
        "unknown key",
        id="inside-a-body",
    ),
    pytest.param(
        'at = { anchor = "cycle-end", days = -60 }',
        'at = { anchor = "cycle-end", dayz = -60 }',
        "at",
        "template.items[12].at.dayz",
        "unknown key",
        id="inside-an-inline-table",
    ),
    pytest.param(
        "schema = 1\n",
        "schema = 1\nschemas = 2\nextra = 3\n",
        "schemas",
        "schemas",
        "unknown key (and 1 more error)",
        id="first-of-two-counts-one-more",
    ),
    pytest.param(
        "schema = 1\n",
        "schema = 1\nschemas = 2\nextra = 3\nmore = 4\n",
        "schemas",
        "schemas",
        "unknown key (and 2 more errors)",
        id="first-of-three-counts-two-more",
    ),
]


class TestSchema:
    @pytest.mark.parametrize(("old", "new", "blamed", "key_path", "message"), UNKNOWN_KEYS)
    def test_unknown_key_names_file_line_and_key_path(
        self, tmp_path: Path, old: str, new: str, blamed: str, key_path: str, message: str
    ) -> None:
        """A key the schema does not know is reported at its line with its full key path."""
        path, line = write_mutated(tmp_path, old, new, blamed)
        assert config_error(path) == f"{path}:{line}: {key_path}: {message}"

    def test_required_key_missing_points_at_its_table_header(self, tmp_path: Path) -> None:
        """A missing required key is reported at the header of the table that lacks it."""
        path, _ = write_mutated(
            tmp_path, 'owner = "ame"\nat = { anchor = "cycle-start" }', 'at = { anchor = "cycle-start" }'
        )
        header = path.read_text(encoding="utf-8").splitlines().index("[[template.items]]") + 1
        assert config_error(path) == f"{path}:{header}: template.items[0].owner: required key is missing"

    def test_impossible_date_is_a_toml_error_with_its_line(self, tmp_path: Path) -> None:
        """`start = 2023-02-30` fails TOML parsing, and the message gives the line and column."""
        path, line = write_mutated(tmp_path, "start = 2023-09-01", "start = 2023-02-30")
        error = config_error(path)
        assert error.startswith(f"{path}:{line}: not valid TOML: ")
        assert error.endswith(f"(at line {line}, column 9)")

    def test_impossible_date_as_a_string_is_a_schema_error(self, tmp_path: Path) -> None:
        """A quoted impossible date reaches the schema, which names the key and the value."""
        path, line = write_mutated(tmp_path, "start = 2023-09-01", 'start = "2023-02-30"')
        assert config_error(path) == (
            f"{path}:{line}: cycles.start: Input should be a valid date or datetime, "
            "day value is outside expected range (got '2023-02-30')"
        )

    def test_unsupported_schema_version_is_rejected(self, tmp_path: Path) -> None:
        """Only schema 1 is understood."""
        path, line = write_mutated(tmp_path, "schema = 1\n", "schema = 2\n")
        assert config_error(path) == f"{path}:{line}: schema: Input should be 1 (got 2)"

    @pytest.mark.parametrize(
        ("old", "new", "key_path", "message"),
        [
            pytest.param(
                'executive_session = "2023-08"',
                'executive_session = "2023-13"',
                "history[6].executive_session",
                "expected a month as YYYY-MM, got '2023-13'",
                id="history-month-13",
            ),
            pytest.param(
                'timezone = "America/Denver"',
                'timezone = "America/Mexico_Cty"',
                "institutions[0].timezone",
                "unknown time zone 'America/Mexico_Cty' (use an IANA name such as America/Denver)",
                id="misspelt-time-zone",
            ),
        ],
    )
    def test_checked_value_names_key_and_value(
        self, tmp_path: Path, old: str, new: str, key_path: str, message: str
    ) -> None:
        """A value that fails its own check (month, time zone) is reported with its line and key."""
        path, line = write_mutated(tmp_path, old, new)
        # Prefix only: the message currently repeats the value as " (got ...)" (reported).
        assert config_error(path).startswith(f"{path}:{line}: {key_path}: {message}")


# Each case: (old text, new text, text of `new` on the blamed line, key path, message).
CROSS_CHECKS = [
    pytest.param(
        'members = ["usnorthcom", "semar"]\nline_of_effort = "domain-control"',
        'members = ["usnorthcom", "semarr"]\nline_of_effort = "domain-control"',
        "members",
        "bodies[2].members[1]",
        "unknown institution 'semarr' (known: sedena, semar, usnorthcom)",
        id="member-unknown-institution",
    ),
    pytest.param(
        'hosts = ["semar", "usnorthcom"]',
        'hosts = ["sedena", "usnorthcom"]',
        "hosts",
        "bodies[2].hosts[0]",
        "host 'sedena' is not a member of 'sst-navy'",
        id="host-not-a-member",
    ),
    pytest.param(
        'slug = "sst-air"',
        'slug = "sst-army"',
        "slug",
        "bodies[1].slug",
        "duplicate slug 'sst-army'",
        id="two-bodies-one-slug",
    ),
    pytest.param(
        'slug = "sst-air"',
        'slug = "sedena"',
        "slug",
        "bodies[1].slug",
        "slug 'sedena' is already used in institutions",
        id="body-slug-is-an-institution",
    ),
    pytest.param(
        'slug = "sst-air"',
        'slug = "secretariat"',
        "slug",
        "bodies[1].slug",
        "slug 'secretariat' is already used in roles",
        id="body-slug-is-a-role",
    ),
    pytest.param(
        'owner = "ame"\nat = { anchor = "cycle-start" }',
        'owner = "amee"\nat = { anchor = "cycle-start" }',
        "owner",
        "template.items[0].owner",
        "unknown owner 'amee' (an institution, body or role slug, 'body' or 'host')",
        id="item-owner-unknown",
    ),
    pytest.param(
        'owner = "ame"\nat = { anchor = "cycle-start" }',
        'owner = "body"\nat = { anchor = "cycle-start" }',
        "owner",
        "template.items[0].owner",
        "'body' needs per = 'body' or 'meeting'",
        id="body-owner-per-cycle",
    ),
    pytest.param(
        'owner = "host"\nat = { anchor = "executive-session", days = -30 }',
        'owner = "host"\nat = { anchor = "cycle-start", days = 30 }',
        "owner",
        "template.items[5].owner",
        "'host' needs an executive-session or observation-visit anchor",
        id="host-owner-cycle-start-anchor",
    ),
    pytest.param(
        '"{body}: inputs',
        '"{bodyy}: inputs',
        "",
        "template.items[3].title.en",
        "unknown placeholder {bodyy} (allowed: {body})",
        id="title-placeholder-misspelt",
    ),
    pytest.param(
        'es = "{body}: aportaciones',
        'es = "{cuerpo}: aportaciones',
        "",
        "template.items[3].title.es",
        "unknown placeholder {cuerpo} (allowed: {body})",
        id="spanish-title-placeholder",
    ),
    pytest.param(
        '"{body}: inputs',
        '"{}: inputs',
        "",
        "template.items[3].title.en",
        "unknown placeholder {} (allowed: {body})",
        id="title-positional-placeholder",
    ),
    pytest.param(
        'title = { en = "{body}: meeting {n}"',
        'title = { en = "{body}: meeting {n.real}"',
        "",
        "template.meetings.title.en",
        "unknown placeholder {n.real} (allowed: {body}, {n})",
        id="meeting-title-attribute-placeholder",
    ),
    pytest.param(
        'at = { anchor = "cycle-end", days = -60 }',
        'at = { anchor = "cycle-end", days = -60, working_days = -40 }',
        "",
        "template.items[12].at",
        "give either days or working_days, not both",
        id="days-and-working-days",
    ),
    pytest.param(
        'at = { anchor = "observation-visit-end", days = 30 }',
        'at = { anchor = "meeting-end", days = 30 }',
        "",
        "template.items[11].at.anchor",
        "anchor 'meeting-end' needs per = 'meeting'",
        id="meeting-anchor-per-cycle",
    ),
    pytest.param(
        'slug = "close"\n',
        'slug = "opening"\n',
        "",
        "template.items[13].slug",
        "duplicate slug 'opening'",
        id="two-items-one-slug",
    ),
    pytest.param(
        'slug = "close-out"\nname',
        'slug = "assessment"\nname',
        "",
        "template.phases[6].slug",
        "phase 'assessment' is listed twice",
        id="phase-listed-twice",
    ),
    pytest.param(
        "month = 12\nweek = 1",
        "month = 13\nweek = 1",
        "",
        "template.executive_session.month",
        "the executive session must fall in months 1-12",
        id="executive-session-month-13",
    ),
    pytest.param(
        "month = 20\n",
        "month = 12\n",
        "",
        "template.observation_visit.month",
        "the observation visit must fall in year two (months 13-24)",
        id="observation-visit-month-12",
    ),
    pytest.param(
        "cycle = 3\n",
        "cycle = 9\n",
        "",
        "history[2].cycle",
        "expected cycle 3 next in the history",
        id="history-out-of-order",
    ),
    pytest.param(
        "start = 2020-09-01",
        "start = 2018-10-01",
        "",
        "history[4].start",
        "cycle 5 overlaps cycle 4",
        id="history-overlapping",
    ),
    pytest.param(
        'executive_session = "2019-08"',
        'executive_session = "2020-08"',
        "",
        "history[3].executive_session",
        "2020-08 is outside cycle 4 (2018-09-01 to 2019-08-31)",
        id="history-session-outside-its-cycle",
    ),
    pytest.param(
        'host = "semar"\nassumed',
        'host = "navy"\nassumed',
        "",
        "history[3].host",
        "unknown institution 'navy' (known: sedena, semar, usnorthcom)",
        id="history-host-unknown",
    ),
    pytest.param(
        "first = 8",
        "first = 9",
        "",
        "cycles.first",
        "the history ends with cycle 7, so the template must start at cycle 8",
        id="cycles-first-leaves-a-gap",
    ),
    pytest.param(
        "start = 2023-09-01",
        "start = 2023-08-01",
        "",
        "cycles.start",
        "cycle 8 overlaps the last cycle of the history",
        id="cycles-start-overlaps-history",
    ),
]


class TestCrossChecks:
    @pytest.mark.parametrize(("old", "new", "blamed", "key_path", "message"), CROSS_CHECKS)
    def test_broken_reference_names_file_line_and_key_path(
        self, tmp_path: Path, old: str, new: str, blamed: str, key_path: str, message: str
    ) -> None:
        """A check the schema cannot express fails as `PATH:LINE: KEYPATH: message`."""
        path, line = write_mutated(tmp_path, old, new, blamed)
        assert config_error(path) == f"{path}:{line}: {key_path}: {message}"


class TestTemplateFits:
    @pytest.mark.parametrize(
        ("old", "new", "key_path", "message"),
        [
            pytest.param(
                'at = { anchor = "cycle-end", days = -60 }',
                'at = { anchor = "cycle-end", days = 5 }',
                "template.items[12].at",
                "cycle 1: puts 'AM&E assessment report' on 2016-09-06, after the cycle closes on 2016-08-31",
                id="ame-report-after-cycle-end",
            ),
            pytest.param(
                'at = { anchor = "executive-session-end", working_days = 15 }',
                'at = { anchor = "executive-session-end", working_days = 40 }',
                "template.items[8].at",
                "cycle 1: puts 'Signed minutes and validated Annual Plan of Activities' on 2016-09-30, "
                "after the cycle closes on 2016-08-31",
                id="signed-minutes-past-a-12-month-cycle",
            ),
            pytest.param(
                'at = { anchor = "cycle-start" }',
                'at = { anchor = "cycle-start", days = -1 }',
                "template.items[0].at",
                "cycle 1: puts 'Cycle opens: AM&E feedback on the last cycle presented' on 2015-08-31, "
                "before the cycle opens on 2015-09-01",
                id="opening-before-cycle-start",
            ),
        ],
    )
    def test_offset_outside_its_cycle_names_item_and_cycle(
        self, tmp_path: Path, old: str, new: str, key_path: str, message: str
    ) -> None:
        """An offset that puts an item outside its cycle is blamed on the item's `at`, naming the cycle."""
        path, line = write_mutated(tmp_path, old, new)
        assert config_error(path) == f"{path}:{line}: {key_path}: {message}"


class TestUnreadableFiles:
    @pytest.mark.parametrize(
        ("content", "message"),
        [
            pytest.param(b"", ": the program file is empty", id="empty"),
            pytest.param(b"# a comment\n\n# another\n", ": the program file is empty", id="only-comments"),
            pytest.param(
                b"#" * MAX_CONFIG_BYTES, ": the program file is empty", id="exactly-the-size-limit-is-read"
            ),
            pytest.param(
                b"schema = 1\n\x00\x01\x02", ": binary data, not a TOML program file", id="nul-bytes"
            ),
            pytest.param(
                '# program\nname = "Secretaría"\n'.encode("latin-1"),
                ":2: not UTF-8 text: save the file as UTF-8",
                id="latin-1",
            ),
            pytest.param(
                b"#" * (MAX_CONFIG_BYTES + 1),
                f": {MAX_CONFIG_BYTES + 1} bytes is too large for a program file (limit {MAX_CONFIG_BYTES})",
                id="over-the-size-limit",
            ),
        ],
    )
    def test_unusable_content_is_one_line_naming_the_file(
        self, tmp_path: Path, content: bytes, message: str
    ) -> None:
        """Empty, binary, non-UTF-8 or oversized content is refused with the file's path."""
        path = tmp_path / "roundtable.toml"
        path.write_bytes(content)
        assert config_error(path) == f"{path}{message}"

    def test_text_that_is_not_toml_gives_line_and_column(self, tmp_path: Path) -> None:
        """A TOML syntax error names the file and where in it parsing stopped."""
        path = tmp_path / "roundtable.toml"
        path.write_text("# header\nthis is not = = toml\n", encoding="utf-8")
        error = config_error(path)
        assert error.startswith(f"{path}:2: not valid TOML: ")
        assert error.endswith("(at line 2, column 6)")

    def test_missing_file_is_not_found(self, tmp_path: Path) -> None:
        """A path with nothing behind it is reported as not found."""
        path = tmp_path / "nowhere.toml"
        assert config_error(path) == f"{path}: program file not found"

    def test_directory_is_not_a_file(self, tmp_path: Path) -> None:
        """A directory given as the program file is refused."""
        assert config_error(tmp_path) == f"{tmp_path}: not a file"


LOCATE_TEXT = """\
a = 1
b = { c = 2 }

[t]
x = 1
"y" = 2

[[arr]]
k = 1

[[arr]]
k = 2
inner = { d = 1 }

[t.sub]  # a comment
z = 3
"""


class TestLocateLine:
    @pytest.mark.parametrize(
        ("key_path", "line"),
        [
            pytest.param(("a",), 1, id="top-level-key"),
            pytest.param(("b", "c"), 2, id="key-in-top-level-inline-table"),
            pytest.param(("t",), 4, id="table-header"),
            pytest.param(("t", "x"), 5, id="key-in-table"),
            pytest.param(("t", "y"), 6, id="quoted-key"),
            pytest.param(("t", "missing"), 4, id="missing-key-points-at-header"),
            pytest.param(("arr", 0, "k"), 9, id="first-array-table"),
            pytest.param(("arr", 1, "k"), 12, id="second-array-table"),
            pytest.param(("arr", 1), 11, id="array-table-header"),
            pytest.param(("arr", 1, "inner", "d"), 13, id="key-in-inline-table-points-at-its-line"),
            pytest.param(("arr", 1, "missing"), 11, id="missing-key-in-array-table"),
            pytest.param(("t", "sub"), 15, id="header-with-comment"),
            pytest.param(("t", "sub", "z"), 16, id="key-in-subtable"),
            pytest.param(("arr", 2, "k"), None, id="array-index-past-the-end"),
            pytest.param(("nope",), None, id="unknown-top-level-key"),
            pytest.param((), None, id="empty-key-path"),
        ],
    )
    def test_line_of_key_path(self, key_path: tuple[str | int, ...], line: int | None) -> None:
        """Each key path resolves to the 1-based line that defines it, its header, or None."""
        assert locate_line(LOCATE_TEXT, key_path) == line

    def test_empty_text_has_no_lines(self) -> None:
        """Nothing is found in an empty text."""
        assert locate_line("", ("a",)) is None

    def test_crlf_line_endings_count_the_same(self) -> None:
        """Windows line endings do not shift the reported line."""
        assert locate_line(LOCATE_TEXT.replace("\n", "\r\n"), ("arr", 1, "k")) == 12

    def test_shipped_file_lines_match_the_text(self) -> None:
        """In the shipped file, the fourth body's second member is on the fourth `members` line."""
        text = shipped_text()
        members_lines = [
            n for n, line in enumerate(text.splitlines(), start=1) if line.startswith("members =")
        ]
        assert locate_line(text, ("bodies", 3, "members", 1)) == members_lines[3]


class TestFormatKeyPath:
    @pytest.mark.parametrize(
        ("key_path", "text"),
        [
            pytest.param(("bodies", 3, "members", 1), "bodies[3].members[1]", id="indices"),
            pytest.param(("template", "items", 12, "at", "dayz"), "template.items[12].at.dayz", id="nested"),
            pytest.param(("schema",), "schema", id="one-key"),
            pytest.param((), "(top level)", id="empty"),
        ],
    )
    def test_key_path_reads_like_toml(self, key_path: tuple[str | int, ...], text: str) -> None:
        """Keys join with dots and list indices go in brackets."""
        assert format_key_path(key_path) == text


class TestCommandLine:
    def test_bad_program_file_fails_init_before_writing(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`roundtable init` with a bad program file exits 2 with one line and writes nothing."""
        path, line = write_mutated(
            tmp_path,
            'members = ["usnorthcom", "semar"]\nline_of_effort = "domain-control"',
            'members = ["usnorthcom", "semarr"]\nline_of_effort = "domain-control"',
        )
        home = tmp_path / "home"
        home.mkdir()
        monkeypatch.setenv("ROUNDTABLE_HOME", str(home))
        monkeypatch.setenv("ROUNDTABLE_CONFIG", str(path))
        monkeypatch.delenv("ROUNDTABLE_DATABASE_URL", raising=False)
        with pytest.raises(SystemExit) as caught:
            main(["init"])
        assert caught.value.code == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err == (
            f"roundtable: error: {path}:{line}: bodies[2].members[1]: "
            "unknown institution 'semarr' (known: sedena, semar, usnorthcom)\n"
        )
        assert list(home.iterdir()) == []

    def test_missing_program_file_names_the_variable(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`ROUNDTABLE_CONFIG` naming a missing file exits 2 with one line naming the variable."""
        home = tmp_path / "home"
        home.mkdir()
        missing = tmp_path / "missing.toml"
        monkeypatch.setenv("ROUNDTABLE_HOME", str(home))
        monkeypatch.setenv("ROUNDTABLE_CONFIG", str(missing))
        monkeypatch.delenv("ROUNDTABLE_DATABASE_URL", raising=False)
        with pytest.raises(SystemExit) as caught:
            main(["init"])
        assert caught.value.code == 2
        assert capsys.readouterr().err == f"roundtable: error: ROUNDTABLE_CONFIG={missing}: no such file\n"
        assert list(home.iterdir()) == []


class TestRegressions:
    """Faults found by review of the first loader, each stated as the rule it broke."""

    @pytest.mark.parametrize(
        "placeholder",
        ["{body:d}", "{body!x}", "{body!r}"],
        ids=["format-spec", "bad-conversion", "conversion"],
    )
    def test_placeholders_with_a_format_or_conversion_are_a_config_error(
        self, tmp_path: Path, placeholder: str
    ) -> None:
        """`{body:d}` in a title is refused at load, never a ValueError traceback while planning."""
        old = 'title = { en = "{body}: inputs to the Annual Plan of Activities"'
        new = f'title = {{ en = "{placeholder}: inputs to the Annual Plan of Activities"'
        path, line = write_mutated(tmp_path, old, new)
        message = config_error(path)
        assert message.startswith(f"{path}:{line}: template.items[3].title.en: placeholders take no format")

    def test_a_checked_value_is_named_once(self, tmp_path: Path) -> None:
        """A validator that already quotes the bad value does not get a second '(got ...)'."""
        path, line = write_mutated(tmp_path, 'timezone = "America/Denver"', 'timezone = "America/Mexico_Cty"')
        assert config_error(path) == (
            f"{path}:{line}: institutions[0].timezone: unknown time zone 'America/Mexico_Cty' "
            "(use an IANA name such as America/Denver)"
        )

    def test_a_missing_phase_points_at_the_phases_list(self, tmp_path: Path) -> None:
        """A phase left out of [[template.phases]] is blamed on the first entry's line."""
        old = """[[template.phases]]
slug = "close-out"
name = { en = "Close-out", es = "Cierre" }
start = { anchor = "cycle-end" }
end = { anchor = "cycle-end" }
"""
        path, _ = write_mutated(tmp_path, old, "")
        first = shipped_text().split("\n").index("[[template.phases]]") + 1
        assert config_error(path) == f"{path}:{first}: template.phases: phase 'close-out' is missing"

    def test_a_byte_order_mark_is_accepted(self, tmp_path: Path) -> None:
        """A program saved as UTF-8 with a BOM (as Windows Notepad does) loads."""
        path = tmp_path / "roundtable.toml"
        path.write_bytes(b"\xef\xbb\xbf" + SHIPPED.read_bytes())
        program, _ = load_program(path)
        assert len(program.institutions) == 3

    @pytest.mark.parametrize(
        ("old", "new", "key_path"),
        [
            ("start = 2023-09-01", "start = 2023-09-15", "cycles.start"),
            ("start = 2015-09-01", "start = 2015-09-02", "history[0].start"),
        ],
        ids=["template", "history"],
    )
    def test_cycles_open_on_the_first_of_a_month(
        self, tmp_path: Path, old: str, new: str, key_path: str
    ) -> None:
        """Months of a cycle count from its first day, so a cycle must open on the 1st."""
        path, line = write_mutated(tmp_path, old, new)
        assert config_error(path) == f"{path}:{line}: {key_path}: cycles open on the first day of a month"

    @pytest.mark.parametrize(
        ("old", "new", "key_path", "message"),
        [
            (
                'start_time = "09:00"\nend_time = "17:00"\n\n[[bodies]]\nslug = "sst-air"',
                'start_time = "09:00:00+05:00"\nend_time = "17:00"\n\n[[bodies]]\nslug = "sst-air"',
                "bodies[0].start_time",
                "give a local time such as 09:00, without an offset: the zone is the host's",
            ),
            (
                'executive_session = "2016-08"',
                'executive_session = "0000-08"',
                "history[0].executive_session",
                "year 0000 is outside 1900-2200",
            ),
            ("start = 2023-09-01", "start = 9999-09-01", "cycles.start", "year 9999 is outside 1900-2200"),
        ],
        ids=["time-with-offset", "year-zero", "year-9999"],
    )
    def test_values_that_would_crash_date_arithmetic_are_refused(
        self, tmp_path: Path, old: str, new: str, key_path: str, message: str
    ) -> None:
        """Offsets on local times and years far outside the program's are config errors, not tracebacks."""
        path, line = write_mutated(tmp_path, old, new)
        assert config_error(path) == f"{path}:{line}: {key_path}: {message}"


class TestRegressionsFromTheBadInputCorpus:
    """Faults the malformed files of tests/data/bad/ found, each stated as the rule it broke."""

    def test_arrays_nested_too_deeply_are_a_config_error_not_a_recursion_error(self, tmp_path: Path) -> None:
        """tomllib recurses per nesting level: 2000 nested arrays were a RecursionError traceback."""
        path = tmp_path / "roundtable.toml"
        path.write_text("schema = 1\nx = " + "[" * 2000 + "]" * 2000 + "\n", encoding="utf-8")
        assert config_error(path) == f"{path}: arrays or tables nested too deeply for a program file"

    @pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
    def test_a_utf16_file_is_named_as_utf16_not_as_binary(self, tmp_path: Path, encoding: str) -> None:
        """Windows editors save "Unicode" as UTF-16 with a byte-order mark: say so, not "binary data"."""
        path = tmp_path / "roundtable.toml"
        text = shipped_text()
        path.write_bytes(
            text.encode(encoding) if encoding == "utf-16" else ("\ufeff" + text).encode(encoding)
        )
        assert config_error(path) == f"{path}: UTF-16 text, not UTF-8: save the file as UTF-8"

    @pytest.mark.parametrize(
        ("old", "new", "key_path", "message"),
        [
            (
                'members = ["usnorthcom", "sedena"]\nline_of_effort = "domain-control"',
                'members = []\nline_of_effort = "domain-control"',
                "bodies[0].members",
                "needs at least 1 entry (has 0)",
            ),
            (
                'countries = ["US", "MX"]',
                "countries = []",
                "business_calendar.countries",
                "needs at least 1 entry (has 0)",
            ),
            ('short = { en = "BMCR"', 'short = { en = ""', "program.short.en", "must not be empty"),
        ],
        ids=["body-without-members", "no-countries", "empty-text"],
    )
    def test_an_empty_list_or_text_is_said_in_words_not_in_pydantic_terms(
        self, tmp_path: Path, old: str, new: str, key_path: str, message: str
    ) -> None:
        """Not "List should have at least 1 item after validation, not 0"."""
        path, line = write_mutated(tmp_path, old, new)
        assert config_error(path) == f"{path}:{line}: {key_path}: {message}"
