"""Bad input everywhere a person types, through the real `roundtable` command: malformed
program files (tests/data/bad/), bad arguments, bad environment values and bad gate
answers. Each gives one line on stderr, exit 2 and no traceback, and leaves the store
byte-for-byte as it was (every file of the data directory hashed before and after).

Most cases run `flows.cli.main` in-process for speed; those in SUBPROCESS (and the 10 MB
file) run the installed `roundtable` script in a fresh interpreter."""

from __future__ import annotations

import gc
import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cycle.config import MAX_CONFIG_BYTES, load_program
from tests.conftest import REPO
from tests.flows.test_cli import Cli as InProcess

pytestmark = pytest.mark.slow

DATA = REPO / "tests" / "data"
BAD = DATA / "bad"
ROUNDTABLE = Path(sys.executable).parent / "roundtable"


def expected_errors() -> dict[str, str]:
    """errors.txt: `name.toml<what follows the path in the error line>`, one per file."""
    lines = (BAD / "errors.txt").read_text(encoding="utf-8").splitlines()
    pairs = (line.split(".toml", 1) for line in lines if line and not line.startswith("#"))
    return {f"{name}.toml": rest for name, rest in pairs}


EXPECTED = expected_errors()
SUBPROCESS = {
    "binary-random.toml",
    "encoding-utf-16.toml",
    "syntax-nested-too-deeply.toml",
    "bodies-no-members.toml",
    "cycles-history-overlap.toml",
    "offsets-item-after-the-cycle.toml",
    "zone-path-traversal.toml",
}


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


def snapshot(home: Path) -> dict[str, str]:
    """Every file under the data directory with the SHA-256 of its bytes."""
    return {
        str(path.relative_to(home)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(home.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def planned_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with a store initialised and cycle 9 planned from the shipped program,
    by processes that have ended (so SQLite's write-ahead log is checkpointed and gone)."""
    home = tmp_path_factory.mktemp("planned") / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDTABLE_")}
    env["ROUNDTABLE_HOME"] = str(home)
    for args in (["init"], ["plan", "--cycle", "9"]):
        subprocess.run([str(ROUNDTABLE), *args], env=env, capture_output=True, timeout=120, check=True)
    assert sorted(p.name for p in home.iterdir()) == ["roundtable.db"]
    return home


class Cli:
    """`roundtable` against the planned store, in-process or as a subprocess."""

    def __init__(self, home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
        self.home = home
        self.monkeypatch = monkeypatch
        self.capsys = capsys
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDTABLE_")}
        self.env["ROUNDTABLE_HOME"] = str(home)

    def setenv(self, name: str, value: str) -> None:
        self.env[name] = value

    def __call__(self, *args: str, subprocess_run: bool = False) -> Outcome:
        if subprocess_run:
            result = subprocess.run(
                [str(ROUNDTABLE), *args],
                env=self.env,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=120,
                check=False,
            )
            return Outcome(result.returncode, result.stdout, result.stderr)
        with self.monkeypatch.context() as patch:
            for name in [k for k in os.environ if k.startswith("ROUNDTABLE_")]:
                patch.delenv(name)
            for name, value in self.env.items():
                if name.startswith("ROUNDTABLE_"):
                    patch.setenv(name, value)
            code, out, err = InProcess(self.capsys)(*args)
        gc.collect()  # the command's store is unreachable now: close its connections as an exit would
        return Outcome(code, out, err)


@pytest.fixture
def cli(planned_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(planned_home, monkeypatch, capsys)


@pytest.fixture
def unchanged_store(planned_home: Path) -> Iterator[None]:
    """Fails the test if any byte of the data directory changed, or a file came or went."""
    before = snapshot(planned_home)
    yield
    assert snapshot(planned_home) == before


def assert_one_line_refusal(outcome: Outcome, line: str | None = None) -> None:
    """Exit 2, nothing on stdout, one line on stderr (exactly `line` if given), no traceback."""
    assert outcome.code == 2, outcome
    assert outcome.out == ""
    assert outcome.err.count("\n") == 1, outcome.err
    assert outcome.err.endswith("\n")
    assert "Traceback" not in outcome.err
    if line is not None:
        assert outcome.err == line


def test_the_corpus_holds_at_least_40_files_each_with_its_expected_line() -> None:
    """Every malformed file has an expected error line, and every line has its file."""
    files = {path.name for path in BAD.glob("*.toml")}
    assert len(files) >= 40
    assert files == set(EXPECTED)


def test_the_compact_program_behind_the_corpus_is_valid() -> None:
    """Without its one fault, each mutated file is this valid program (so the fault is the cause)."""
    program, _ = load_program(DATA / "compact-program.toml")
    assert [b.slug for b in program.bodies] == ["sst-army", "wg-logistics", "ame"]


@pytest.mark.usefixtures("unchanged_store")
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_malformed_program_file_is_one_line_exit_2_and_the_store_unchanged(cli: Cli, name: str) -> None:
    """`init` or `plan` (alternately) with a bad ROUNDTABLE_CONFIG prints the file's exact error line."""
    path = BAD / name
    cli.setenv("ROUNDTABLE_CONFIG", str(path))
    command = ["init"] if sorted(EXPECTED).index(name) % 2 == 0 else ["plan", "--cycle", "9"]
    outcome = cli(*command, subprocess_run=name in SUBPROCESS)
    assert_one_line_refusal(outcome, f"roundtable: error: {path}{EXPECTED[name]}\n")


@pytest.mark.usefixtures("unchanged_store")
def test_a_10_mb_program_file_is_refused_by_its_size(cli: Cli, tmp_path: Path) -> None:
    """A 10 MB file (the compact program padded with comments) is refused before it is read."""
    path = tmp_path / "huge.toml"
    size = 10 * 1024 * 1024
    base = (DATA / "compact-program.toml").read_bytes()
    path.write_bytes(base + b"#" * (size - len(base)))
    cli.setenv("ROUNDTABLE_CONFIG", str(path))
    outcome = cli("init", subprocess_run=True)
    assert_one_line_refusal(
        outcome,
        f"roundtable: error: {path}: {size} bytes is too large for a program file "
        f"(limit {MAX_CONFIG_BYTES})\n",
    )


LONG_NOTE = "x" * 2001
READ_AHEAD = "c9/deliverable/-/read-ahead"
APA = "c9/gate/-/apa-validation"
DECIDE_APA = ("gates", "decide", APA)

BAD_ARGUMENTS = [
    pytest.param(
        ("plan", "--cycle", "abc"),
        "roundtable plan: error: Invalid value for '--cycle': Input should be a valid integer, "
        "unable to parse string as an integer (see --help)",
        id="cycle-not-a-number",
    ),
    pytest.param(
        ("plan", "--cycle", "1001"),
        "roundtable plan: error: Invalid value for '--cycle': Input should be less than or equal to 1000 "
        "(see --help)",
        id="cycle-too-large",
    ),
    pytest.param(
        ("status", "--as-of", "2026-02-30"),
        "roundtable status: error: Invalid value for '--as-of': '2026-02-30' is not a date (YYYY-MM-DD) "
        "(see --help)",
        id="impossible-date",
    ),
    pytest.param(
        ("status", "--lang", "fr"),
        "roundtable status: error: Invalid value for '--lang': 'fr' is not one of 'en', 'es'. (see --help)",
        id="unknown-language",
    ),
    pytest.param(
        ("deliverables", "list", "--state", "done"),
        "roundtable deliverables list: error: Invalid value for '--state': 'done' is not one of "
        "'pending', 'submitted', 'accepted', 'waived'. (see --help)",
        id="unknown-state",
    ),
    pytest.param(
        ("deliverables", "submit", "../../etc/passwd"),
        "roundtable: error: '../../etc/passwd' is not an item key (like c9/deliverable/sst-army/agenda-2)",
        id="key-that-is-a-path",
    ),
    pytest.param(
        ("deliverables", "submit", "c9/deliverable/-/nothing"),
        "roundtable: error: no deliverable c9/deliverable/-/nothing in the store "
        "(see `roundtable deliverables list`)",
        id="unknown-key",
    ),
    pytest.param(
        ("deliverables", "submit", APA),
        "roundtable: error: c9/gate/-/apa-validation is a gate, not a deliverable",
        id="gate-key-for-a-deliverable",
    ),
    pytest.param(
        ("deliverables", "accept", READ_AHEAD),
        "roundtable: error: c9/deliverable/-/read-ahead is pending: cannot accept it; "
        "from pending you can submit, waive",
        id="impossible-transition",
    ),
    pytest.param(
        ("deliverables", "submit", READ_AHEAD, "--by", "a\nb"),
        "roundtable deliverables submit: error: Invalid value for --by: give a name of 1-200 characters "
        "on one line (see --help)",
        id="name-on-two-lines",
    ),
    pytest.param(
        ("deliverables", "submit", READ_AHEAD, "--note", LONG_NOTE),
        "roundtable: error: note: at most 2000 characters (got 2001)",
        id="note-too-long",
    ),
    pytest.param(
        ("deliverables", "waive", READ_AHEAD),
        "roundtable deliverables waive: error: Missing option '--reason'. (see --help)",
        id="waive-without-reason",
    ),
    pytest.param(
        ("feeds", "build", "--out", "/etc/hostname"),
        "roundtable feeds build: error: Invalid value for --out: /etc/hostname exists and is not a "
        "directory (see --help)",
        id="out-is-a-file",
    ),
    pytest.param(
        ("feeds", "serve", "--port", "70000"),
        "roundtable feeds serve: error: Invalid value for '--port': Input should be less than or equal "
        "to 65535 (see --help)",
        id="port-out-of-range",
    ),
    pytest.param(
        ("feeds", "serve", "--base-url", "https://feeds.example.org/?x=<script>"),
        "roundtable feeds serve: error: Invalid value for --base-url: "
        "'https://feeds.example.org/?x=<script>' is not an http(s) address such as "
        "https://feeds.example.org (see --help)",
        id="serve-base-url-with-markup",
    ),
    pytest.param(
        ("subscribers", "add", "", "--audience", "all"),
        "roundtable subscribers add: error: Invalid value for NAME: give a name of 1-200 characters on one "
        "line (see --help)",
        id="empty-subscriber-name",
    ),
    pytest.param(
        ("subscribers", "add", "x", "--audience", "../../etc"),
        "roundtable subscribers add: error: Invalid value for --audience: no audience '../../etc' "
        "(see --help)",
        id="audience-that-is-a-path",
    ),
    pytest.param(
        ("subscribers", "add", "x", "--audience", "all", "--base-url", 'https://a"><script>'),
        "roundtable subscribers add: error: Invalid value for --base-url: 'https://a\"><script>' is not an "
        "http(s) address such as https://feeds.example.org (see --help)",
        id="base-url-with-markup",
    ),
    pytest.param(
        ("subscribers", "add", "x", "--audience", "all", "--base-url", "https://:8000"),
        "roundtable subscribers add: error: Invalid value for --base-url: 'https://:8000' is not an "
        "http(s) address such as https://feeds.example.org (see --help)",
        id="base-url-without-host",
    ),
    pytest.param(
        ("subscribers", "revoke", "nobody"),
        "roundtable: error: no subscriber named 'nobody' (see `roundtable subscribers list`)",
        id="revoke-unknown",
    ),
    pytest.param(
        ("nonsense",),
        "roundtable: error: No such command 'nonsense'. (see --help)",
        id="unknown-command",
    ),
]


@pytest.mark.usefixtures("unchanged_store")
@pytest.mark.parametrize(("args", "line"), BAD_ARGUMENTS)
def test_a_bad_argument_is_one_line_exit_2_and_the_store_unchanged(
    cli: Cli, args: tuple[str, ...], line: str
) -> None:
    """Each bad argument is named in one line; nothing is written."""
    assert_one_line_refusal(cli(*args), line + "\n")


PROPOSE = (
    *("apa", "propose", "--cycle", "9", "--body", "sst-navy", "--slug", "aztec-2027", "--title-en", "Aztec"),
    *("--title-es", "Azteca", "--host", "semar", "--line", "domain-control"),
)
JUNE = ("--first", "2027-06-08", "--last", "2027-06-18")
ACTIVITY = "c9/activity/sst-navy/aztec-2027"
BAD_APA_ARGUMENTS = [
    pytest.param(
        (*PROPOSE, "--kind", "parade", *JUNE),
        "roundtable: error: kind: 'parade' is not a kind of activity "
        "(one of combined-exercise, training, exchange, staff-visit)",
        id="unknown-kind",
    ),
    pytest.param(
        (*PROPOSE, "--kind", "training", "--first", "2027-02-30", "--last", "2027-06-18"),
        "roundtable apa propose: error: Invalid value for '--first': '2027-02-30' is not a date (YYYY-MM-DD) "
        "(see --help)",
        id="not-a-date",
    ),
    pytest.param(
        (*PROPOSE, "--kind", "training", "--first", "2027-08-30", "--last", "2027-09-18"),
        "roundtable: error: dates: 2027-08-30 to 2027-09-18 fall outside cycle 9 (2025-09-01 to 2027-08-31)",
        id="outside-the-cycle",
    ),
    pytest.param(
        (*PROPOSE, "--kind", "training", *JUNE, "--location-en", "Veracruz"),
        "roundtable apa propose: error: Invalid value for --location-en/--location-es: "
        "give the place in both languages (see --help)",
        id="place-in-one-language",
    ),
    pytest.param(
        (*PROPOSE, "--kind", "training", *JUNE, "--objective", "sst-navy/none"),
        "roundtable: error: objectives: no objective sst-navy/none (see `roundtable objectives list`)",
        id="unknown-objective",
    ),
    pytest.param(
        (*PROPOSE, "--kind", "training", *JUNE, "--participant", "army"),
        "roundtable: error: participants: 'army' is not an institution (one of usnorthcom, sedena, semar)",
        id="unknown-participant",
    ),
    pytest.param(
        (*PROPOSE[:7], "Aztec", *PROPOSE[8:], "--kind", "training", *JUNE),
        "roundtable: error: slug: 'Aztec' is not a slug "
        "(lowercase letters, digits and hyphens, like ex-2027)",
        id="bad-slug",
    ),
    pytest.param(
        ("apa", "amend", ACTIVITY, "--reason", "r", "--drop"),
        "roundtable: error: cycle 9: the APA is not validated yet; "
        "the tri-chairs validate it at the executive session, and only then is it amended",
        id="amend-before-validation",
    ),
    pytest.param(
        ("apa", "amend", ACTIVITY, "--reason", "r"),
        "roundtable apa amend: error: Invalid value for --add/--drop/--first: give --add, --drop, or --first "
        "with --last (see --help)",
        id="amend-without-a-change",
    ),
    pytest.param(
        ("apa", "amend", ACTIVITY, "--reason", "r", "--drop", "--add"),
        "roundtable apa amend: error: Invalid value for --add/--drop: give --add or --drop, not both "
        "(see --help)",
        id="amend-two-changes",
    ),
    pytest.param(
        ("apa", "amend", "c9/gate/-/apa-validation", "--reason", "r", "--drop"),
        "roundtable: error: 'c9/gate/-/apa-validation' is not an activity key "
        "(like c9/activity/sst-navy/aztec-alligator-2027)",
        id="amend-a-gate",
    ),
    pytest.param(
        ("apa", "withdraw", "c9/activity/sst-navy/none"),
        "roundtable: error: no proposed activity c9/activity/sst-navy/none",
        id="withdraw-unknown",
    ),
    pytest.param(
        ("apa", "show", "--cycle", "12"),
        "roundtable: error: cycle 12 is not planned yet: run `roundtable plan --cycle 12`"
        " or the plan-cycle flow (planned: 9)",
        id="show-unplanned-cycle",
    ),
    pytest.param(
        ("deliverables", "submit", "c9/deliverable/sst-air/apa-inputs"),
        "roundtable: error: c9/deliverable/sst-air/apa-inputs: sst-air has proposed no activity for cycle 9; "
        "propose them with `roundtable apa propose` first (or waive the inputs)",
        id="apa-inputs-without-a-proposal",
    ),
]


@pytest.mark.usefixtures("unchanged_store")
@pytest.mark.parametrize(("args", "line"), BAD_APA_ARGUMENTS)
def test_a_bad_apa_argument_is_one_line_exit_2_and_the_store_unchanged(
    cli: Cli, args: tuple[str, ...], line: str
) -> None:
    """Proposals, amendments and APA inputs are checked before anything is written."""
    assert_one_line_refusal(cli(*args), line + "\n")


CHAIRS = "(one of usnorthcom, sedena, semar)"
BAD_GATE_ANSWERS = [
    pytest.param(
        (APA,),
        "roundtable gates decide: error: Invalid value for --approve/--reject: give --approve or --reject "
        "(see --help)",
        id="no-answer",
    ),
    pytest.param(
        (APA, "--approve", "--activity", "X"),
        "roundtable: error: tri_chairs: name who decided (one or more of usnorthcom, sedena, semar)",
        id="nobody-decided",
    ),
    pytest.param(
        (APA, "--approve", "--tri-chair", "nobody", "--activity", "X"),
        f"roundtable: error: tri_chairs: 'nobody' is not a tri-chair {CHAIRS}",
        id="unknown-tri-chair",
    ),
    pytest.param(
        (APA, "--approve", "--tri-chair", "sedena", "--tri-chair", "sedena", "--activity", "X"),
        "roundtable: error: tri_chairs: a tri-chair is named twice",
        id="tri-chair-twice",
    ),
    pytest.param(
        (APA, "--approve", "--tri-chair", "sedena"),
        "roundtable: error: validated_activities: an approved APA lists at least one activity",
        id="approved-apa-without-activities",
    ),
    pytest.param(
        (APA, "--approve", "--tri-chair", "sedena", "--activity", "a\nb"),
        "roundtable: error: activities: each is one line of 1-200 characters",
        id="activity-on-two-lines",
    ),
    pytest.param(
        (APA, "--approve", "--tri-chair", "sedena", "--activity", "X", "--activity", " X "),
        "roundtable: error: activities: an activity is listed twice",
        id="activity-twice",
    ),
    pytest.param(
        (APA, "--approve", "--tri-chair", "sedena", "--activity", "c9/activity/sst-navy/none"),
        "roundtable: error: validated_activities: 'c9/activity/sst-navy/none' "
        "is not an activity of the draft APA (see `roundtable apa show`)",
        id="activity-not-in-the-draft",
    ),
    pytest.param(
        (APA, "--reject", "--tri-chair", "sedena"),
        "roundtable: error: notes: a rejection needs a reason in the notes",
        id="rejection-without-reason",
    ),
    pytest.param(
        (APA, "--reject", "--tri-chair", "sedena", "--notes", "n" * 2001),
        "roundtable: error: notes: at most 2000 characters",
        id="notes-too-long",
    ),
    pytest.param(
        ("c9/gate/-/exercise-selection", "--approve", "--tri-chair", "sedena", "--exercise", "Ex A"),
        "roundtable: error: exercise: 'Ex A' is not one the visit can observe: "
        "a combined exercise or training of the validated APA, in the second year, not begun yet",
        id="exercise-not-in-the-apa",
    ),
    pytest.param(
        (READ_AHEAD, "--approve", "--tri-chair", "sedena", "--activity", "X"),
        "roundtable: error: c9/deliverable/-/read-ahead is a deliverable, not a gate",
        id="deliverable-key",
    ),
    pytest.param(
        ("c9/gate/-/nothing", "--approve", "--tri-chair", "sedena", "--activity", "X"),
        "roundtable: error: no gate c9/gate/-/nothing in the store (see `roundtable gates list`)",
        id="unknown-gate",
    ),
]


@pytest.mark.usefixtures("unchanged_store")
@pytest.mark.parametrize(("args", "line"), BAD_GATE_ANSWERS)
def test_a_bad_gate_answer_is_one_line_exit_2_and_the_store_unchanged(
    cli: Cli, args: tuple[str, ...], line: str
) -> None:
    """`gates decide` checks the answer by the gate rules before anything is recorded."""
    assert_one_line_refusal(cli("gates", "decide", *args), line + "\n")


@pytest.mark.usefixtures("unchanged_store")
def test_a_bad_gate_answer_through_the_installed_script_is_one_line(cli: Cli) -> None:
    """The same refusal from the `roundtable` script in a fresh interpreter (which imports Prefect)."""
    outcome = cli("gates", "decide", APA, "--reject", "--tri-chair", "semar", subprocess_run=True)
    assert_one_line_refusal(outcome, "roundtable: error: notes: a rejection needs a reason in the notes\n")


BAD_ENVIRONMENT = [
    pytest.param(
        "ROUNDTABLE_CONFIG",
        "",
        "ROUNDTABLE_CONFIG is set but empty: unset it or give a value",
        id="config-empty",
    ),
    pytest.param(
        "ROUNDTABLE_CONFIG", "{data}", "ROUNDTABLE_CONFIG={data}: not a file", id="config-directory"
    ),
    pytest.param(
        "ROUNDTABLE_CONFIG",
        "{data}/nothing.toml",
        "ROUNDTABLE_CONFIG={data}/nothing.toml: no such file",
        id="config-missing",
    ),
    pytest.param(
        "ROUNDTABLE_CONFIG",
        "{home}/roundtable.db",
        "{home}/roundtable.db: binary data, not a TOML program file",
        id="config-is-the-store",
    ),
    pytest.param(
        "ROUNDTABLE_HOME",
        "{home}/roundtable.db",
        "ROUNDTABLE_HOME={home}/roundtable.db: exists and is not a directory",
        id="home-is-a-file",
    ),
    pytest.param(
        "ROUNDTABLE_HOME",
        "~nosuchuser/x",
        "ROUNDTABLE_HOME=~nosuchuser/x: not a usable path (Could not determine home directory.)",
        id="home-of-an-unknown-user",
    ),
    pytest.param(
        "ROUNDTABLE_DATABASE_URL",
        "mysql://root@localhost/x",
        "ROUNDTABLE_DATABASE_URL: unsupported database 'mysql' (use sqlite:///PATH or "
        "postgresql+psycopg://USER@HOST/DB)",
        id="db-mysql",
    ),
    pytest.param(
        "ROUNDTABLE_DATABASE_URL",
        "sqlite:///:memory:",
        "ROUNDTABLE_DATABASE_URL: an SQLite store needs a file (sqlite:////absolute/path.db), not "
        "memory or options: it would keep nothing",
        id="db-memory",
    ),
    pytest.param(
        "ROUNDTABLE_DATABASE_URL",
        "not a url",
        "ROUNDTABLE_DATABASE_URL: not a database URL (expected sqlite:///PATH or postgresql+psycopg://...)",
        id="db-not-a-url",
    ),
    pytest.param(
        "ROUNDTABLE_DATABASE_URL",
        "sqlite:///{home}",
        "ROUNDTABLE_DATABASE_URL: cannot open the store at sqlite:///{home}: unable to open database file",
        id="db-directory",
    ),
    pytest.param(
        "ROUNDTABLE_DATABASE_URL",
        "sqlite:///{data}/compact-program.toml",
        "ROUNDTABLE_DATABASE_URL: cannot open the store at sqlite:///{data}/compact-program.toml: "
        "file is not a database",
        id="db-not-a-database",
    ),
    pytest.param(
        "ROUNDTABLE_DATABASE_URL",
        "postgresql+psycopg://u@127.0.0.1:99999/x",
        "ROUNDTABLE_DATABASE_URL: cannot open the store at postgresql+psycopg://u@127.0.0.1:99999/x: "
        'connection is bad: invalid port number: "99999"',
        id="db-port-out-of-range",
    ),
]


@pytest.mark.usefixtures("unchanged_store")
@pytest.mark.parametrize(("variable", "value", "line"), BAD_ENVIRONMENT)
def test_a_bad_environment_value_names_the_variable_and_changes_nothing(
    cli: Cli, variable: str, value: str, line: str
) -> None:
    """`init` (the command that writes most) refuses a bad variable in one line, exit 2."""
    fill = {"home": str(cli.home), "data": str(DATA)}
    cli.setenv(variable, value.format(**fill))
    subprocess_run = variable == "ROUNDTABLE_DATABASE_URL" and "postgresql" in value
    assert_one_line_refusal(
        cli("init", subprocess_run=subprocess_run), f"roundtable: error: {line.format(**fill)}\n"
    )
