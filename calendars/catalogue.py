"""The message catalogue (config/messages.toml): every word a calendar or page shows,
in English and Spanish, kept in one file beside the program's own names."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cycle.config import shipped_file
from cycle.errors import ConfigError
from cycle.program import LANGS, Lang


def shipped_messages_path() -> Path:
    return shipped_file("messages.toml", Path(__file__).resolve().parent)


@dataclass(frozen=True)
class Catalogue:
    """Messages by `section.key`, each in both languages."""

    messages: dict[str, dict[str, str]]

    def text(self, key: str, lang: Lang, **fields: object) -> str:
        try:
            template = self.messages[key][lang]
        except KeyError:
            raise KeyError(f"message {key!r} is not in the catalogue") from None
        return template.format(**fields) if fields else template


def load_catalogue(path: Path) -> Catalogue:
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the message catalogue: {exc}") from None
    messages: dict[str, dict[str, str]] = {}
    for section, entries in data.items():
        if section == "schema":
            continue
        if not isinstance(entries, dict):
            raise ConfigError(f"{path}: {section}: expected a table of messages")
        for key, value in entries.items():
            if (
                not isinstance(value, dict)
                or set(value) != set(LANGS)
                or not all(isinstance(v, str) and v for v in value.values())
            ):
                raise ConfigError(f"{path}: {section}.{key}: needs non-empty en and es texts")
            messages[f"{section}.{key}"] = value
    return Catalogue(messages)


@cache
def shipped_catalogue() -> Catalogue:
    return load_catalogue(shipped_messages_path())
