"""Read the organisation YAML (ORG_CONFIG) into `domain.org.OrgConfig`, or say what is wrong.

Every problem is reported with the file, the line and a plain-English message, e.g.
`org.yaml line 12: unit "bo-de": parent "quan-lb" is not a unit code`.

How: `bot.org_yaml` composes the text into a node tree (syntax errors carry their line) and
plain data with YAML 1.2-like scalars (`12:00` stays a string, `no` is not False, dates stay
text for the models to check), the pydantic v2 models of `bot.org_schema` check shapes and
values, and `bot.org_checks` checks what spans several entries (unique codes, parents, cycles,
routing, overlapping periods). Each problem's location path, e.g. ("units", 3, "parent"), is
walked through the node tree to find its line. The format is documented in
docs/configuration.md.
"""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from bot.org_checks import LineOf, check
from bot.org_errors import ConfigProblem, OrgConfigError, by_line
from bot.org_schema import KNOWN_KEYS, OrgModel, to_domain
from bot.org_yaml import Loc, compose, line_of
from domain.org import OrgConfig

__all__ = [
    "SAMPLE_CONFIG",
    "ConfigProblem",
    "LineOf",
    "Loc",
    "OrgConfigError",
    "load_org_config",
    "parse_org_config",
]

SAMPLE_CONFIG = "long_bien_2022.yaml"

_ITEM_NAMES = {"units": "unit", "categories": "category", "periods": "period"}


# --- public API -------------------------------------------------------------------------------


def parse_org_config(text: str, source: str = "<org config>") -> OrgConfig:
    """Check and convert the YAML text; `source` names it in error messages."""
    root, data = compose(text, source)
    try:
        model = OrgModel.model_validate(data)
    except ValidationError as exc:
        problems = [_pydantic_problem(error, root, data) for error in exc.errors()]
        raise OrgConfigError(source, by_line(problems)) from None
    problems = check(model, lambda loc: line_of(root, loc))
    if problems:
        raise OrgConfigError(source, problems)
    return to_domain(model)


def load_org_config(path: Path | str | None = None) -> OrgConfig:
    """The org configuration in `path`, or the bundled Long Biên 2022 sample for None."""
    if path is None:
        sample = resources.files("bot").joinpath(SAMPLE_CONFIG)
        return parse_org_config(sample.read_text(encoding="utf-8"), SAMPLE_CONFIG)
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem = ConfigProblem(None, f"cannot read the file: {exc}")
        raise OrgConfigError(str(path), [problem]) from None
    return parse_org_config(text, str(path))


# --- pydantic errors in plain words -----------------------------------------------------------


def _pydantic_problem(error: ErrorDetails, root: yaml.Node, data: Any) -> ConfigProblem:
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        if key in KNOWN_KEYS:  # a right key in the wrong block (or at the wrong depth)
            text = f'"{key}" does not belong here; check the indentation and the block it is in'
            return ConfigProblem(line_of(root, loc, key=True), _join(loc[:-1], data, text))
        close = difflib.get_close_matches(key, KNOWN_KEYS, n=1)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        text = f'unknown key "{key}"{hint}'
        return ConfigProblem(line_of(root, loc, key=True), _join(loc[:-1], data, text))
    if kind == "missing":
        text = f'"{loc[-1]}" is missing'
        return ConfigProblem(line_of(root, loc), _join(loc[:-1], data, text))
    return ConfigProblem(line_of(root, loc), _join(loc, data, _plain_message(error)))


def _plain_message(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind in ("value_error", "assertion_error"):
        return str(error.get("ctx", {}).get("error", error["msg"]))
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected keys with values here (key: value), not {_yaml_type(error)}"
    if kind == "list_type":
        return f'expected a list here (items starting with "- "), not {_yaml_type(error)}'
    return error["msg"]


def _yaml_type(error: ErrorDetails) -> str:
    value = error.get("input")
    if value is None:
        return "nothing"
    names = {list: "a list", dict: "keys with values", str: "text", bool: "true/false"}
    return names.get(type(value), "a number")


def _join(loc: Loc, data: Any, text: str) -> str:
    return ": ".join([*_describe(loc, data), text])


def _describe(loc: Loc, data: Any) -> list[str]:
    """("units", 3, "kind") -> ['unit "bo-de"', "kind"]: how a person names the place."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int) and parts:
            item = data[part] if isinstance(data, list) and 0 <= part < len(data) else None
            code = item.get("code") if isinstance(item, dict) else None
            singular = _ITEM_NAMES.get(parts[-1])
            if singular and isinstance(code, str):
                parts[-1] = f'{singular} "{code}"'
            else:
                parts[-1] = f"{singular or parts[-1] + ' item'} {part + 1}"
            data = item
        else:
            parts.append(str(part))
            data = data.get(part) if isinstance(data, dict) else None
    return parts
