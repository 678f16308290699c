"""Reading the program file: TOML in, a validated `Program` out, or one clear line.

Every error names the file, the key path (`bodies[3].members[1]`) and, where it can be
found, the line: `config/roundtable.toml:142: bodies[3].members[1]: unknown institution`.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cycle.apa import ApaPlan
from cycle.cycles import last_day
from cycle.errors import ConfigError
from cycle.program import LANGS, Anchor, KeyPath, Localized, Phase, Program
from cycle.schedule import CyclePlan, TemplateRangeError, plan_cycle

_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)")

_UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")
"""Byte-order marks of UTF-16, which Windows editors offer as "Unicode"."""

MAX_CONFIG_BYTES = 1_000_000
"""A program file is a few dozen kilobytes; anything far larger is a mistake."""


def shipped_file(name: str, package: Path) -> Path:
    """A file of config/ as shipped: inside the wheel under `package/_shipped/`, or in the
    source tree's config/ for an editable install."""
    for candidate in (package / "_shipped" / name, package.parent / "config" / name):
        if candidate.is_file():
            return candidate
    raise ConfigError(f"{package.parent / 'config' / name}: shipped file is missing")


def shipped_config_path() -> Path:
    """The program file that ships with Roundtable (config/roundtable.toml)."""
    return shipped_file("roundtable.toml", Path(__file__).resolve().parent)


@dataclass(frozen=True)
class ProgramSource:
    """Where a program came from, to point errors at a file and a line."""

    path: Path
    text: str

    def error(self, key_path: KeyPath, message: str) -> ConfigError:
        line = locate_line(self.text, key_path)
        where = f"{self.path}:{line}" if line else str(self.path)
        return ConfigError(f"{where}: {format_key_path(key_path)}: {message}")


def load_program(path: Path, *, check_schedule: bool = True) -> tuple[Program, ProgramSource]:
    """Read and validate a program file; raise `ConfigError` with one line on any fault.

    `check_schedule` also plans the history cycles and the next template cycles to prove
    every item fits its cycle; commands that only read stored plans skip it to start fast.
    """
    source = ProgramSource(path=path, text=_read_text(path))
    try:
        data = tomllib.loads(source.text)
    except tomllib.TOMLDecodeError as exc:
        where = _TOML_POSITION.search(str(exc))
        line = f":{where.group(1)}" if where else ""
        raise ConfigError(f"{path}{line}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise ConfigError(f"{path}: arrays or tables nested too deeply for a program file") from None
    if not data:
        raise ConfigError(f"{path}: the program file is empty")
    try:
        program = Program.model_validate(data)
    except ValidationError as exc:
        raise _first_validation_error(source, exc) from None
    check_references(program, source)
    if not check_schedule:
        return program, source
    check_template_fits(program, source)
    return program, source


def plan_or_explain(
    program: Program, source: ProgramSource, number: int, *, apa: ApaPlan | None = None
) -> CyclePlan:
    """`plan_cycle`, with a template that does not fit turned into a `ConfigError`."""
    try:
        return plan_cycle(program, number, apa=apa)
    except TemplateRangeError as exc:
        raise source.error(exc.key_path, f"cycle {number}: {exc.message}") from None


def check_template_fits(program: Program, source: ProgramSource) -> None:
    """Plan every history cycle and the first two template cycles; all must fit."""
    numbers = [entry.cycle for entry in program.history]
    for number in [*numbers, program.cycles.first, program.cycles.first + 1]:
        plan_or_explain(program, source, number)


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ConfigError(f"{path}: program file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the program file: {exc.strerror}") from None
    if not path.is_file():
        raise ConfigError(f"{path}: not a file")
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: {size} bytes is too large for a program file (limit {MAX_CONFIG_BYTES})")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the program file: {exc.strerror}") from None
    if raw.startswith(_UTF16_MARKS):
        raise ConfigError(f"{path}: UTF-16 text, not UTF-8: save the file as UTF-8")
    if b"\x00" in raw:
        raise ConfigError(f"{path}: binary data, not a TOML program file")
    try:
        return raw.decode("utf-8-sig")  # a byte-order mark, as some Windows editors write, is fine
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text: save the file as UTF-8") from None


def _first_validation_error(source: ProgramSource, exc: ValidationError) -> ConfigError:
    errors = exc.errors(include_url=False)
    first = errors[0]
    key_path: KeyPath = tuple(first["loc"])
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    elif first["type"] == "missing":
        message = "required key is missing"
    elif first["type"] == "too_short":  # pydantic says "List should have at least 1 item after validation"
        wanted, has = first["ctx"]["min_length"], first["ctx"]["actual_length"]
        message = f"needs at least {wanted} {'entry' if wanted == 1 else 'entries'} (has {has})"
    elif first["type"] == "string_too_short":
        message = "must not be empty"
    else:
        message = first["msg"]
        if message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        if (
            first["type"] != "value_error"
            and "input" in first
            and not isinstance(first["input"], dict | list)
        ):
            message += f" (got {first['input']!r})"
    more = len(errors) - 1
    error = source.error(key_path, message)
    if more:
        return ConfigError(f"{error} (and {more} more {'error' if more == 1 else 'errors'})")
    return error


def format_key_path(key_path: KeyPath) -> str:
    """`("bodies", 3, "members")` -> `bodies[3].members`."""
    text = ""
    for part in key_path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "(top level)"


def check_references(program: Program, source: ProgramSource) -> None:
    """Cross-checks that a schema cannot express: names that must point somewhere."""
    _check_unique(source, "institutions", [i.slug for i in program.institutions])
    _check_unique(source, "lines_of_effort", [line.slug for line in program.lines_of_effort])
    _check_unique(source, "roles", [r.slug for r in program.roles])
    _check_unique(source, "bodies", [b.slug for b in program.bodies])
    owners: dict[str, str] = {}
    for section, slugs in (
        ("institutions", [i.slug for i in program.institutions]),
        ("roles", [r.slug for r in program.roles]),
        ("bodies", [b.slug for b in program.bodies]),
    ):
        for index, slug in enumerate(slugs):
            if slug in owners:
                raise source.error(
                    (section, index, "slug"), f"slug {slug!r} is already used in {owners[slug]}"
                )
            owners[slug] = section
    institutions = {i.slug for i in program.institutions}
    lines = {line.slug for line in program.lines_of_effort}

    _check_countries(program, source)
    seen_chairs: set[str] = set()
    for index, chair in enumerate(program.tri_chairs):
        _require(source, ("tri_chairs", index, "institution"), chair.institution, institutions, "institution")
        if chair.institution in seen_chairs:
            raise source.error(
                ("tri_chairs", index, "institution"), f"{chair.institution!r} already has a tri-chair"
            )
        seen_chairs.add(chair.institution)

    for index, body in enumerate(program.bodies):
        for m_index, member in enumerate(body.members):
            _require(source, ("bodies", index, "members", m_index), member, institutions, "institution")
        if len(set(body.members)) != len(body.members):
            raise source.error(("bodies", index, "members"), "an institution is listed twice")
        if body.line_of_effort is not None:
            _require(
                source, ("bodies", index, "line_of_effort"), body.line_of_effort, lines, "line of effort"
            )
        for h_index, host in enumerate(body.hosts):
            if host not in body.members:
                raise source.error(
                    ("bodies", index, "hosts", h_index), f"host {host!r} is not a member of {body.slug!r}"
                )
        if body.cadence_months is not None or body.first_month is not None:
            for key in ("cadence_months", "first_month"):
                if getattr(body, key) is None:
                    raise source.error(("bodies", index, key), "required when the body has a meeting cadence")
            if not body.hosts:
                raise source.error(("bodies", index, "hosts"), "a body with a meeting cadence needs hosts")
        if body.end_time <= body.start_time:
            raise source.error(("bodies", index, "end_time"), "meetings must end after they start")

    _check_cycles(program, source, institutions)
    _check_template(program, source, institutions, set(owners))
    _check_deadlines(program, source)
    _check_objectives_and_apa(program, source)


def _check_countries(program: Program, source: ProgramSource) -> None:
    from cycle.business_calendar import country_class

    for index, country in enumerate(program.business_calendar.countries):
        try:  # loads that country alone; holidays' own look-ups import every country
            country_class(country)
        except NotImplementedError:
            raise source.error(
                ("business_calendar", "countries", index), f"no public-holiday data for country {country!r}"
            ) from None
    for index, inst in enumerate(program.institutions):
        if inst.country not in program.business_calendar.countries:
            raise source.error(
                ("institutions", index, "country"),
                f"{inst.country!r} is not in business_calendar.countries",
            )


def _check_cycles(program: Program, source: ProgramSource, institutions: set[str]) -> None:
    cycles = program.cycles
    if cycles.start.day != 1:
        raise source.error(("cycles", "start"), "cycles open on the first day of a month")
    for index, entry in enumerate(program.history):
        if entry.start.day != 1:
            raise source.error(("history", index, "start"), "cycles open on the first day of a month")
    expected = 1
    previous_end = None
    for index, entry in enumerate(program.history):
        if entry.cycle != expected:
            raise source.error(("history", index, "cycle"), f"expected cycle {expected} next in the history")
        expected += 1
        if previous_end is not None and entry.start <= previous_end:
            raise source.error(
                ("history", index, "start"), f"cycle {entry.cycle} overlaps cycle {entry.cycle - 1}"
            )
        previous_end = last_day(entry.start, entry.months)
        _require(source, ("history", index, "host"), entry.host, institutions, "institution")
        year, month = entry.session_year_month
        if not (
            entry.start.replace(day=1) <= entry.start.replace(year=year, month=month, day=1) <= previous_end
        ):
            raise source.error(
                ("history", index, "executive_session"),
                f"{entry.executive_session} is outside cycle {entry.cycle} ({entry.start} to {previous_end})",
            )
    if expected != cycles.first:
        raise source.error(
            ("cycles", "first"),
            f"the history ends with cycle {expected - 1}, so the template must start at cycle {expected}",
        )
    if previous_end is not None and cycles.start <= previous_end:
        raise source.error(
            ("cycles", "start"), f"cycle {cycles.first} overlaps the last cycle of the history"
        )


def _check_template(
    program: Program, source: ProgramSource, institutions: set[str], owners: set[str]
) -> None:
    template = program.template
    session, visit = template.executive_session, template.observation_visit
    year_one = min(12, program.cycles.months)
    if session.month > year_one:
        raise source.error(
            ("template", "executive_session", "month"),
            f"the executive session must fall in months 1-{year_one}",
        )
    for name, event in (("executive_session", session), ("observation_visit", visit)):
        if event is None:
            continue
        for index, host in enumerate(event.hosts):
            _require(source, ("template", name, "hosts", index), host, institutions, "institution")
        if event.end_time <= event.start_time and event.days == 1:
            raise source.error(("template", name, "end_time"), "must be after start_time")
        if event.owner not in owners:
            raise source.error(("template", name, "owner"), f"unknown owner {event.owner!r}")
        _check_placeholders(source, ("template", name, "title"), event.title, set())
    _check_placeholders(source, ("template", "meetings", "title"), template.meetings.title, {"body", "n"})
    if visit is not None and not 13 <= visit.month <= program.cycles.months:
        raise source.error(
            ("template", "observation_visit", "month"),
            f"the observation visit must fall in year two (months 13-{program.cycles.months})",
        )

    phases = [p.slug for p in template.phases]
    for index, slug in enumerate(phases):
        if phases.index(slug) != index:
            raise source.error(("template", "phases", index, "slug"), f"phase {slug.value!r} is listed twice")
    for phase in Phase:
        if phase not in phases:
            raise source.error(("template", "phases"), f"phase {phase.value!r} is missing")
    for index, phase_template in enumerate(template.phases):
        for key in ("start", "end"):
            offset = getattr(phase_template, key)
            _check_offset(source, ("template", "phases", index, key), offset, per="cycle")

    _check_unique(source, ("template", "items"), [item.slug for item in template.items])
    _check_requirements(program, source)
    allowed = {"cycle": set(), "body": {"body"}, "meeting": {"body", "meeting"}}
    for index, item in enumerate(template.items):
        _check_placeholders(source, ("template", "items", index, "title"), item.title, allowed[item.per])
        _check_offset(source, ("template", "items", index, "at"), item.at, per=item.per)
        if item.owner == "body":
            if item.per == "cycle":
                raise source.error(
                    ("template", "items", index, "owner"), "'body' needs per = 'body' or 'meeting'"
                )
        elif item.owner == "host":
            if item.at.anchor not in _EVENT_ANCHORS:
                raise source.error(
                    ("template", "items", index, "owner"),
                    "'host' needs an executive-session or observation-visit anchor",
                )
        elif item.owner not in owners:
            raise source.error(
                ("template", "items", index, "owner"),
                f"unknown owner {item.owner!r} (an institution, body or role slug, 'body' or 'host')",
            )


def _check_deadlines(program: Program, source: ProgramSource) -> None:
    """Escalation levels rise with lateness, the first is reached when a deliverable
    becomes overdue, and every kind named is a deliverable of the template."""
    deadlines = program.deadlines
    level_slugs = [level.slug for level in deadlines.levels]
    _check_unique(source, ("deadlines", "levels"), level_slugs)
    if deadlines.levels[0].after_working_days != 0:
        raise source.error(
            ("deadlines", "levels", 0, "after_working_days"),
            "the first level is reached when a deliverable becomes overdue: it must be 0",
        )
    for index in range(1, len(deadlines.levels)):
        before, level = deadlines.levels[index - 1], deadlines.levels[index]
        if level.after_working_days <= before.after_working_days:
            raise source.error(
                ("deadlines", "levels", index, "after_working_days"),
                f"must be more than {before.after_working_days} (level {before.slug!r}): "
                "levels rise with lateness",
            )
    deliverables = [i.slug for i in program.template.items if i.kind == "deliverable"]
    for slug, override in deadlines.kinds.items():
        key_path: KeyPath = ("deadlines", "kinds", slug)
        _require(source, key_path, slug, deliverables, "deliverable of the template")
        if override.escalation is None:
            continue
        steps = list(override.escalation.items())
        for name, _after in steps:
            _require(source, (*key_path, "escalation", name), name, level_slugs, "escalation level")
        if not steps or steps[0][1] != 0:
            raise source.error(
                (*key_path, "escalation"),
                "the first level is reached when the deliverable becomes overdue: give one at 0",
            )
        order = [level_slugs.index(name) for name, _ in steps]
        for position in range(1, len(steps)):
            if order[position] <= order[position - 1] or steps[position][1] <= steps[position - 1][1]:
                raise source.error(
                    (*key_path, "escalation", steps[position][0]),
                    "levels come in the order of deadlines.levels, each later than the one before",
                )


def _check_objectives_and_apa(program: Program, source: ProgramSource) -> None:
    """Horizons and activity kinds are named once; the rating scale rises; a program with
    an observation visit can observe at least one kind of activity."""
    _check_unique(source, ("objectives", "horizons"), [h.slug for h in program.objectives.horizons])
    ratings = program.objectives.ratings
    for index in range(1, len(ratings)):
        if ratings[index].value <= ratings[index - 1].value:
            raise source.error(
                ("objectives", "ratings", index, "value"),
                f"must be more than {ratings[index - 1].value}: the scale rises, lowest first",
            )
    _check_unique(source, ("apa", "kinds"), [k.slug for k in program.apa.kinds])
    per_body = [i.slug for i in program.template.items if i.kind == "deliverable" and i.per == "body"]
    _require(source, ("apa", "inputs"), program.apa.inputs, per_body, "per-body deliverable of the template")
    if program.template.observation_visit is not None and not any(k.observable for k in program.apa.kinds):
        raise source.error(
            ("apa", "kinds"), "mark at least one kind observable: the observation visit is drawn from them"
        )


GATE_PHASES = (Phase.executive_session, Phase.observation_visit)
"""The phases whose flows ask the tri-chairs for a decision: one gate each at most."""


def _check_requirements(program: Program, source: ProgramSource) -> None:
    template = program.template
    order = list(Phase)
    items = {item.slug: item for item in template.items}
    for index, item in enumerate(template.items):
        if item.kind != "gate":
            continue
        if item.phase not in GATE_PHASES:
            raise source.error(
                ("template", "items", index, "phase"),
                f"a gate belongs to {' or '.join(p.value for p in GATE_PHASES)}, not {item.phase.value!r}",
            )
        if item.per != "cycle":
            raise source.error(("template", "items", index, "per"), "a gate is taken once per cycle")
        earlier = [i.slug for i in template.items[:index] if i.kind == "gate" and i.phase is item.phase]
        if earlier:
            raise source.error(
                ("template", "items", index, "phase"),
                f"phase {item.phase.value!r} has a gate already ({earlier[0]!r})",
            )
    for index, phase_template in enumerate(template.phases):
        for position, slug in enumerate(phase_template.requires):
            key_path: KeyPath = ("template", "phases", index, "requires", position)
            required = items.get(slug)
            if required is None or required.kind == "milestone":
                raise source.error(key_path, f"{slug!r} is not a deliverable or gate of the template")
            if order.index(required.phase) >= order.index(phase_template.slug):
                raise source.error(
                    key_path,
                    f"{slug!r} belongs to phase {required.phase.value!r}, "
                    f"which does not come before {phase_template.slug.value!r}",
                )


_EVENT_ANCHORS = {
    Anchor.executive_session,
    Anchor.executive_session_end,
    Anchor.observation_visit,
    Anchor.observation_visit_end,
}


def _check_offset(source: ProgramSource, key_path: KeyPath, offset: Any, *, per: str) -> None:
    if offset.days is not None and offset.working_days is not None:
        raise source.error(key_path, "give either days or working_days, not both")
    if offset.anchor in (Anchor.meeting, Anchor.meeting_end) and per != "meeting":
        raise source.error((*key_path, "anchor"), f"anchor {offset.anchor.value!r} needs per = 'meeting'")


def _check_placeholders(
    source: ProgramSource, key_path: KeyPath, title: Localized, allowed: set[str]
) -> None:
    for lang in LANGS:
        text = title.get(lang)
        try:
            fields = [
                (name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(text)
            ]
        except ValueError as exc:
            raise source.error((*key_path, lang), f"bad braces in {text!r}: {exc}") from None
        names = {name for name, _, _ in fields if name is not None}
        if any(spec or conversion for name, spec, conversion in fields if name is not None):
            raise source.error((*key_path, lang), f"placeholders take no format or conversion in {text!r}")
        unknown = names - allowed
        if unknown:
            hint = ", ".join("{" + n + "}" for n in sorted(allowed)) or "none"
            raise source.error(
                (*key_path, lang), f"unknown placeholder {{{sorted(unknown)[0]}}} (allowed: {hint})"
            )


def _check_unique(source: ProgramSource, section: str | KeyPath, slugs: Sequence[str]) -> None:
    prefix: KeyPath = (section,) if isinstance(section, str) else section
    seen: set[str] = set()
    for index, slug in enumerate(slugs):
        if slug in seen:
            raise source.error((*prefix, index, "slug"), f"duplicate slug {slug!r}")
        seen.add(slug)


def _require(source: ProgramSource, key_path: KeyPath, value: str, known: Iterable[str], what: str) -> None:
    known_set = set(known)
    if value not in known_set:
        raise source.error(key_path, f"unknown {what} {value!r} (known: {', '.join(sorted(known_set))})")


# --- Finding the line of a key path ---------------------------------------------------

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$")


def locate_line(text: str, key_path: KeyPath) -> int | None:
    """The 1-based line that defines `key_path` in a TOML text, or None if not found.

    Good enough for the program file's shapes: tables, arrays of tables and keys with
    inline values. A key inside an inline table or array points at its enclosing line.
    """
    lines = text.splitlines()
    # Each header resolves to the key path it opens, e.g. [[bodies]] #4 -> ("bodies", 3).
    headers: list[tuple[int, KeyPath]] = []
    array_counts: dict[KeyPath, int] = {}
    for number, line in enumerate(lines, start=1):
        match = _HEADER.match(line)
        if match is None:
            continue
        parts: KeyPath = tuple(p.strip().strip('"') for p in match.group(2).split("."))
        if match.group(1) == "[[":
            index = array_counts.get(parts, 0)
            array_counts[parts] = index + 1
            parts = (*parts, index)
        headers.append((number, parts))

    best: tuple[int, KeyPath] | None = None
    for number, parts in headers:
        if parts[:-1] == key_path and isinstance(parts[-1], int):
            return number  # a whole array of tables: its first entry
        if key_path[: len(parts)] == parts and (best is None or len(parts) > len(best[1])):
            best = (number, parts)
    if best is None:
        start, end, rest = 0, (headers[0][0] - 1 if headers else len(lines)), key_path
    else:
        start = best[0]
        following = [n for n, _ in headers if n > start]
        end = following[0] - 1 if following else len(lines)
        rest = key_path[len(best[1]) :]
    if not rest or not isinstance(rest[0], str):
        return best[0] if best else None
    key = re.compile(rf'^\s*"?{re.escape(rest[0])}"?\s*=')
    for number in range(start + 1, end + 1):
        if key.match(lines[number - 1]):
            return number
    return best[0] if best else None
