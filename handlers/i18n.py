"""Message catalogs: every user-facing text lives in locales/<lang>.yaml, Vietnamese first."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

DEFAULT_LANGUAGE = "vi"
_LOCALES = Path(__file__).parent / "locales"


@cache
def _load(language: str) -> dict[str, str]:
    """`vi.yaml` plus any `vi.<part>.yaml` (one part per feature keeps the files readable)."""
    messages: dict[str, str] = {}
    for path in [_LOCALES / f"{language}.yaml", *sorted(_LOCALES.glob(f"{language}.*.yaml"))]:
        with path.open(encoding="utf-8") as stream:
            raw: dict[str, Any] = yaml.safe_load(stream)
        part = _flatten(raw)
        clash = messages.keys() & part.keys()
        if clash:
            raise ValueError(f"{path.name} repeats keys: {sorted(clash)[:5]}")
        messages.update(part)
    return messages


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value).rstrip("\n")
    return flat


def available_languages() -> list[str]:
    return sorted(p.stem for p in _LOCALES.glob("*.yaml") if "." not in p.stem)


class Catalog:
    def __init__(self, language: str = DEFAULT_LANGUAGE) -> None:
        self.language = language
        self._messages = _load(language)

    def t(self, key: str, **values: object) -> str:
        return self._messages[key].format(**values)

    def has(self, key: str) -> bool:
        return key in self._messages

    def keys(self) -> set[str]:
        return set(self._messages)
