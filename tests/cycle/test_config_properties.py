"""Property tests of the program loader (hypothesis): whatever text, bytes or mutation of the
shipped program file it is given, it returns a Program or raises one `ConfigError` line
that starts with the file's path; never another exception, never a traceback."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cycle.config import load_program
from cycle.errors import ConfigError
from tests.conftest import SHIPPED

SHIPPED_LINES = SHIPPED.read_text(encoding="utf-8").splitlines(keepends=True)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def load_or_refuse(content: bytes) -> str | None:
    """Load `content` as a program file: None if it loads, else the one-line error message."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "program.toml"
        path.write_bytes(content)
        try:
            load_program(path)
        except ConfigError as exc:
            message = str(exc)
            assert "\n" not in message, message
            assert message.startswith(str(path)), message
            return message
    return None


TOML_TOKENS = st.sampled_from(
    [
        "\n", " ", "=", "[", "]", "[[", "]]", "{", "}", ",", ".", '"', "'", '"""', "#", "\\",
        "schema", "1", "-1", "0x7f", "1e999", "inf", "nan", "true", "2023-02-30", "2023-09-01",
        "09:00", "25:61", "members", "bodies", "template", "items", "at", "anchor", "days",
        "cycles", "history", "start", "months", "timezone", '"America/Denver"', '"x"', "é", "\x00",
        "\ufeff", "\r", "\t",
    ]
)  # fmt: skip


@SETTINGS
@given(st.lists(TOML_TOKENS, max_size=80).map("".join))
def test_toml_ish_text_loads_or_is_one_config_error_line(text: str) -> None:
    """Fragments of TOML in any order: a program, or one ConfigError line naming the file."""
    load_or_refuse(text.encode("utf-8"))


@SETTINGS
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_are_one_config_error_line(content: bytes) -> None:
    """Any bytes at all: one ConfigError line (arbitrary bytes are never a whole program)."""
    assert load_or_refuse(content) is not None


@SETTINGS
@given(st.text(max_size=500))
def test_arbitrary_text_is_one_config_error_line(text: str) -> None:
    """Any Unicode text at all, including surrogate-free control characters: one line."""
    assert load_or_refuse(text.encode("utf-8", errors="surrogatepass")) is not None


TOML_VALUES = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.booleans().map(lambda b: str(b).lower()),
    st.text(max_size=30).map(lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'),
    st.dates(min_value=dt.date(1, 1, 1)).map(lambda d: d.isoformat()),
    st.sampled_from(['"2023-13"', '"25:00"', '"America/Mexico_Cty"', '"ame"', "[]", "{}", '["x", 1]', '""']),
)


@st.composite
def mutated_program(draw: st.DrawFn) -> str:
    """The shipped program with one to three edits: a value replaced, a line dropped, doubled,
    moved or cut short."""
    lines = list(SHIPPED_LINES)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        index = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        edit = draw(st.sampled_from(["value", "drop", "double", "move", "cut"]))
        line = lines[index]
        if edit == "value" and "=" in line and not line.lstrip().startswith("#"):
            key = line.split("=", 1)[0]
            lines[index] = f"{key}= {draw(TOML_VALUES)}\n"
        elif edit == "drop":
            del lines[index]
        elif edit == "double":
            lines.insert(index, line)
        elif edit == "move":
            lines.insert(draw(st.integers(min_value=0, max_value=len(lines))), lines.pop(index))
        elif edit == "cut":
            lines[index] = line[: draw(st.integers(min_value=0, max_value=len(line)))]
    return "".join(lines)


@SETTINGS
@given(mutated_program())
def test_mutations_of_the_shipped_program_load_or_are_one_config_error_line(text: str) -> None:
    """A person editing the real program file gets a program or one line, whatever they break."""
    load_or_refuse(text.encode("utf-8", errors="surrogatepass"))
