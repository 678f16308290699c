"""Where Roundtable keeps its data and finds its program, from the environment.

`ROUNDTABLE_HOME` (data directory; default `$XDG_DATA_HOME/roundtable`, else
`~/.local/share/roundtable`), `ROUNDTABLE_CONFIG` (program file; default the shipped
config/roundtable.toml), `ROUNDTABLE_DATABASE_URL` (default a SQLite file in the home).
A bad value is one `SettingsError` line naming the variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cycle.config import shipped_config_path
from cycle.errors import SettingsError

HOME = "ROUNDTABLE_HOME"
CONFIG = "ROUNDTABLE_CONFIG"
DATABASE_URL = "ROUNDTABLE_DATABASE_URL"
DATABASE_FILE = "roundtable.db"


MAX_VALUE = 4096
"""Longer than any real path or URL; a longer value is a mistake, not a setting."""


@dataclass(frozen=True, slots=True)
class Settings:
    home: Path
    config_path: Path
    database_url: str
    database_origin: str = HOME
    """The variable a person changes to fix the store's location."""


def _value(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name)
    if value is None:
        return None
    if not value.strip():
        raise SettingsError(f"{name} is set but empty: unset it or give a value")
    if "\x00" in value:
        raise SettingsError(f"{name} contains a NUL byte")
    if len(value) > MAX_VALUE:
        raise SettingsError(f"{name} is {len(value)} characters long (limit {MAX_VALUE})")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise SettingsError(f"{name} is not valid UTF-8: set a UTF-8 value (and locale)") from None
    return value


def _path(name: str, text: str) -> Path:
    """A path from a variable, with `~` expanded; odd values are one clear error."""
    try:
        path = Path(text).expanduser()
        path.exists()  # raises on names the OS cannot look up at all
    except (RuntimeError, OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SettingsError(f"{name}={text}: not a usable path ({reason})") from None
    return path


def default_home(environ: Mapping[str, str]) -> Path:
    data = environ.get("XDG_DATA_HOME") or str(Path(environ.get("HOME", "~")) / ".local" / "share")
    return Path(data).expanduser() / "roundtable"


def settings_from_env(environ: Mapping[str, str]) -> Settings:
    home_text = _value(environ, HOME)
    home = _path(HOME, home_text) if home_text else default_home(environ)
    if home.exists() and not home.is_dir():
        raise SettingsError(f"{HOME}={home_text}: exists and is not a directory")

    config_text = _value(environ, CONFIG)
    if config_text is None:
        config_path = shipped_config_path()
    else:
        config_path = _path(CONFIG, config_text)
        if not config_path.exists():
            raise SettingsError(f"{CONFIG}={config_text}: no such file")
        if not config_path.is_file():
            raise SettingsError(f"{CONFIG}={config_text}: not a file")

    url = _value(environ, DATABASE_URL)
    if url is None:
        try:
            url = f"sqlite:///{(home / DATABASE_FILE).resolve()}"
        except (RuntimeError, OSError) as exc:
            raise SettingsError(f"{HOME}={home_text}: not a usable path ({exc})") from None
        return Settings(home=home, config_path=config_path, database_url=url, database_origin=HOME)
    _check_database_url(url)
    return Settings(home=home, config_path=config_path, database_url=url, database_origin=DATABASE_URL)


def _check_database_url(url: str) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise SettingsError(
            f"{DATABASE_URL}: not a database URL (expected sqlite:///PATH or postgresql+psycopg://...)"
        ) from None
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if backend == "sqlite" and parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        if not parsed.database or parsed.database == ":memory:" or parsed.query:
            raise SettingsError(
                f"{DATABASE_URL}: an SQLite store needs a file (sqlite:////absolute/path.db), "
                "not memory or options: it would keep nothing"
            )
        return
    if backend == "postgresql" and (driver == "psycopg" or "+" not in parsed.drivername):
        return  # plain postgresql:// gets psycopg 3 from the store
    raise SettingsError(
        f"{DATABASE_URL}: unsupported database {parsed.drivername!r} "
        "(use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB)"
    )
