"""Read the organisation YAML (ORG_CONFIG) into `domain.org.OrgConfig`, or say what is wrong.

Every problem is reported with the file, the line and a plain-English message, e.g.
`org.yaml line 12: unit "bo-de": parent "quan-lb" is not a unit code`.

How: PyYAML composes the text into a node tree (syntax errors carry their line), a YAML 1.2-like
resolver turns it into plain data (`12:00` stays a string, `no` is not False, dates stay text
for the models to check), pydantic v2 models check shapes and values, and a last pass checks
what spans several entries (unique codes, parents, cycles, routing, overlapping periods).
Each problem's location path, e.g. ("units", 3, "parent"), is walked through the node tree to
find its line. The format is documented in docs/configuration.md.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, time
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import holidays
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from domain.org import (
    ROUTE_TO_WARD,
    Category,
    Deadlines,
    OrgConfig,
    Unit,
    UnitKind,
    WorkingTime,
)

SAMPLE_CONFIG = "long_bien_2022.yaml"

Loc = tuple[str | int, ...]


# --- errors -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigProblem:
    line: int | None
    message: str


class OrgConfigError(Exception):
    """The org configuration cannot be used; `str(error)` is one line per problem."""

    def __init__(self, source: str, problems: Sequence[ConfigProblem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__("\n".join(_format(source, p) for p in self.problems))

    @property
    def line(self) -> int | None:
        """The line of the first problem."""
        return self.problems[0].line if self.problems else None


def _format(source: str, problem: ConfigProblem) -> str:
    where = source if problem.line is None else f"{source} line {problem.line}"
    return f"{where}: {problem.message}"


# --- YAML -------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars.

    YAML 1.1 would read `12:00` as the base-60 integer 720, `NO` as False and `2027-02-30`
    as a crash; here they stay strings and the models say what is wrong with them.
    """

    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 - PyYAML's own class table


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."),
)
_Loader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^<<$"), ["<"])


def _compose(text: str, source: str) -> tuple[yaml.Node, Any]:
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise OrgConfigError(source, [ConfigProblem(1, "the file is empty")])
        _raise_on_duplicate_keys(root, source)
        return root, loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        raise OrgConfigError(source, [_syntax_problem(exc)]) from None
    finally:
        loader.dispose()


def _syntax_problem(exc: yaml.MarkedYAMLError) -> ConfigProblem:
    mark = exc.problem_mark or exc.context_mark
    message = f"YAML syntax error: {exc.problem or exc.context}"
    if exc.context and exc.context_mark is not None and exc.problem:
        message += f" ({exc.context} on line {exc.context_mark.line + 1})"
    if "expected <block end>" in message or "mapping values are not allowed" in message:
        message += "; check the indentation of this line and the one before"
    return ConfigProblem(mark.line + 1 if mark is not None else None, message)


def _raise_on_duplicate_keys(root: yaml.Node, source: str) -> None:
    problems: list[ConfigProblem] = []
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen or isinstance(node, yaml.ScalarNode):
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            problems += _duplicates_in(node)
            stack += [child for pair in node.value for child in pair]
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
    if problems:
        raise OrgConfigError(source, sorted(problems, key=lambda p: p.line or 0))


def _duplicates_in(mapping: yaml.MappingNode) -> list[ConfigProblem]:
    first: dict[str, int] = {}
    problems = []
    for key, _value in mapping.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        line = _node_line(key)
        if key.value in first:
            text = f'key "{key.value}" appears twice (first on line {first[key.value]})'
            problems.append(ConfigProblem(line, text))
        else:
            first[key.value] = line
    return problems


def _node_line(node: yaml.Node) -> int:
    return node.start_mark.line + 1 if node.start_mark is not None else 1


def _child(node: yaml.Node, part: str | int, *, key: bool = False) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key_node, value_node in node.value:
            if key_node.value == part:
                found: yaml.Node = key_node if key else value_node
                return found
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
        item: yaml.Node | None = node.value[part] if 0 <= part < len(node.value) else None
        return item
    return None


def _line_of(root: yaml.Node, loc: Loc, *, key: bool = False) -> int:
    """The line of the node at `loc`, or of the deepest node on the way that exists."""
    node = root
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        child = _child(node, part, key=key and last)
        if child is None:
            break
        node = child
    return _node_line(node)


# --- shapes and values (pydantic) -----------------------------------------------------------

_CODE_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_TIME_RE = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _code(value: str) -> str:
    if not _CODE_RE.fullmatch(value) or len(value) > 32:
        raise ValueError(
            f'code "{value}" must be lowercase ASCII letters, digits and hyphens '
            '(at most 32), e.g. "bo-de"'
        )
    return value


def _hhmm(value: object) -> time:
    if isinstance(value, time):
        return value
    match = _TIME_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f'{value!r} is not a time: write "HH:MM" (24 h), e.g. "08:00"')
    return time(int(match.group(1)), int(match.group(2)))


def _iso_date(value: object) -> date:
    if isinstance(value, str) and _DATE_RE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{value} is not a valid date: {exc}") from None
    raise ValueError(f"{value!r} is not a date: write YYYY-MM-DD, e.g. 2027-02-11")


def _weekday(value: int) -> int:
    if not 0 <= value <= 6:
        raise ValueError(f"weekday {value} is not between 0 (Monday) and 6 (Sunday)")
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(_tz_message(value)) from None
    return value


def _tz_message(value: str) -> str:
    return f'unknown timezone "{value}": use an IANA name such as "Asia/Ho_Chi_Minh"'


def _country(value: str) -> str:
    if value not in holidays.list_supported_countries():
        raise ValueError(
            f'the holidays library knows no country "{value}": use an ISO code such as "VN", '
            "or null for no public holidays"
        )
    return value


_Code = Annotated[str, AfterValidator(_code)]
_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
_Time = Annotated[time, BeforeValidator(_hhmm)]
_Date = Annotated[date, BeforeValidator(_iso_date)]
_Weekday = Annotated[int, AfterValidator(_weekday)]

_DEADLINES = Deadlines()
_WORKING_TIME = WorkingTime()


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _UnitModel(_Model):
    code: _Code
    name: _Text
    kind: UnitKind
    parent: str | None = None
    short_name: _Text | None = None


class _CategoryModel(_Model):
    code: _Code
    name: _Text
    routes_to: str = ROUTE_TO_WARD
    complex: bool = False


class _DeadlinesModel(_Model):
    acknowledge_working_hours: PositiveFloat = _DEADLINES.acknowledge_working_hours
    hot_acknowledge_clock_hours: PositiveFloat = _DEADLINES.hot_acknowledge_clock_hours
    urgent_working_days: PositiveInt = _DEADLINES.urgent_working_days
    normal_working_days: PositiveInt = _DEADLINES.normal_working_days
    complex_working_days: PositiveInt = _DEADLINES.complex_working_days
    verification_working_days: PositiveInt = _DEADLINES.verification_working_days


class _PeriodModel(_Model):
    start: _Time
    end: _Time

    @model_validator(mode="after")
    def _starts_before_end(self) -> _PeriodModel:
        if self.start >= self.end:
            raise ValueError(f"the period must start before it ends ({_span(self)})")
        return self


def _default_periods() -> list[_PeriodModel]:
    return [_PeriodModel(start=s, end=e) for s, e in _WORKING_TIME.periods]


class _WorkingTimeModel(_Model):
    timezone: Annotated[str, AfterValidator(_timezone)] = _WORKING_TIME.timezone
    weekdays: list[_Weekday] = Field(default=list(_WORKING_TIME.weekdays), min_length=1)
    periods: list[_PeriodModel] = Field(default_factory=_default_periods, min_length=1)
    country_holidays: Annotated[str, AfterValidator(_country)] | None = (
        _WORKING_TIME.country_holidays
    )
    extra_days_off: list[_Date] = Field(default_factory=list)
    makeup_working_days: list[_Date] = Field(default_factory=list)


class _OrgModel(_Model):
    name: _Text
    units: list[_UnitModel] = Field(min_length=1)
    categories: list[_CategoryModel] = Field(min_length=1)
    deadlines: _DeadlinesModel = Field(default_factory=_DeadlinesModel)
    working_time: _WorkingTimeModel = Field(default_factory=_WorkingTimeModel)


_MODELS: tuple[type[_Model], ...] = (
    _OrgModel,
    _UnitModel,
    _CategoryModel,
    _DeadlinesModel,
    _WorkingTimeModel,
    _PeriodModel,
)
_KNOWN_KEYS = sorted({name for model in _MODELS for name in model.model_fields})
_ITEM_NAMES = {"units": "unit", "categories": "category", "periods": "period"}


def _span(period: _PeriodModel) -> str:
    return f"{period.start:%H:%M}–{period.end:%H:%M}"


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


def _pydantic_problem(error: ErrorDetails, root: yaml.Node, data: Any) -> ConfigProblem:
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        close = difflib.get_close_matches(key, _KNOWN_KEYS, n=1)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        text = f'unknown key "{key}"{hint}'
        return ConfigProblem(_line_of(root, loc, key=True), _join(loc[:-1], data, text))
    if kind == "missing":
        text = f'"{loc[-1]}" is missing'
        return ConfigProblem(_line_of(root, loc), _join(loc[:-1], data, text))
    return ConfigProblem(_line_of(root, loc), _join(loc, data, _plain_message(error)))


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


# --- what spans several entries ------------------------------------------------------------

LineOf = Callable[[Loc], int]


def _check_units(units: list[_UnitModel], line: LineOf) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    first: dict[str, int] = {}
    for index, unit in enumerate(units):
        loc: Loc = ("units", index, "code")
        if unit.code == ROUTE_TO_WARD:
            text = f'the unit code "{ROUTE_TO_WARD}" is reserved (routes_to: ward = own ward)'
            problems.append(ConfigProblem(line(loc), text))
        elif unit.code in first:
            text = f'unit code "{unit.code}" is used twice (first on line {first[unit.code]})'
            problems.append(ConfigProblem(line(loc), text))
        else:
            first[unit.code] = line(loc)
    for index, unit in enumerate(units):
        if unit.parent is not None and unit.parent not in first:
            text = f'unit "{unit.code}": parent "{unit.parent}" is not a unit code'
            problems.append(ConfigProblem(line(("units", index, "parent")), text))
    if len(first) < len(units):  # duplicates make the parent links ambiguous
        return problems + _check_kinds(units, line)
    return problems + _check_cycles(units, line) + _check_kinds(units, line)


def _check_cycles(units: list[_UnitModel], line: LineOf) -> list[ConfigProblem]:
    parents = {u.code: u.parent for u in units}
    problems: list[ConfigProblem] = []
    reported: set[str] = set()
    for index, unit in enumerate(units):
        chain = [unit.code]
        while (parent := parents.get(chain[-1])) is not None and parent not in chain:
            chain.append(parent)
        if parent == unit.code and unit.code not in reported:
            reported.update(chain)
            loop = " → ".join([*chain, unit.code])
            text = f'unit "{unit.code}": the parents go round in a circle ({loop})'
            problems.append(ConfigProblem(line(("units", index, "parent")), text))
    return problems


def _check_kinds(units: list[_UnitModel], line: LineOf) -> list[ConfigProblem]:
    kinds = {u.kind for u in units}
    needs = {
        UnitKind.BOARD: 'there is no unit of kind "board" (the board that triages reports)',
        UnitKind.WARD: 'there is no unit of kind "ward" (reports are filed per ward or commune)',
    }
    missing = [text for kind, text in needs.items() if kind not in kinds]
    return [ConfigProblem(line(("units",)), f"units: {text}") for text in missing]


def _check_categories(model: _OrgModel, line: LineOf) -> list[ConfigProblem]:
    unit_codes = {u.code for u in model.units}
    problems: list[ConfigProblem] = []
    first: dict[str, int] = {}
    for index, category in enumerate(model.categories):
        code_line = line(("categories", index, "code"))
        if category.code in first:
            earlier = first[category.code]
            text = f'category code "{category.code}" is used twice (first on line {earlier})'
            problems.append(ConfigProblem(code_line, text))
        first.setdefault(category.code, code_line)
        if category.routes_to != ROUTE_TO_WARD and category.routes_to not in unit_codes:
            text = (
                f'category "{category.code}": routes_to "{category.routes_to}" is neither '
                f'"{ROUTE_TO_WARD}" nor a unit code'
            )
            problems.append(ConfigProblem(line(("categories", index, "routes_to")), text))
    return problems


def _check_working_time(wt: _WorkingTimeModel, line: LineOf) -> list[ConfigProblem]:
    problems = _check_unique(wt.weekdays, ("working_time", "weekdays"), "weekday", line)
    problems += _check_unique(wt.extra_days_off, ("working_time", "extra_days_off"), "day", line)
    makeup_loc: Loc = ("working_time", "makeup_working_days")
    problems += _check_unique(wt.makeup_working_days, makeup_loc, "day", line)
    for index, day in enumerate(wt.makeup_working_days):
        if day in wt.extra_days_off:
            text = f"{day} is both an extra day off and a make-up working day"
            problems.append(ConfigProblem(line((*makeup_loc, index)), text))
    return problems + _check_overlaps(wt.periods, line)


def _check_unique(
    values: Sequence[object], loc: Loc, what: str, line: LineOf
) -> list[ConfigProblem]:
    problems = []
    for index, value in enumerate(values):
        if value in values[:index]:
            text = f"{loc[-1]}: {what} {value} is listed twice"
            problems.append(ConfigProblem(line((*loc, index)), text))
    return problems


def _check_overlaps(periods: list[_PeriodModel], line: LineOf) -> list[ConfigProblem]:
    problems = []
    order = sorted(range(len(periods)), key=lambda i: periods[i].start)
    for before, after in itertools.pairwise(order):
        if periods[after].start < periods[before].end:
            text = (
                f"working_time: period {after + 1} ({_span(periods[after])}) overlaps "
                f"period {before + 1} ({_span(periods[before])})"
            )
            problems.append(ConfigProblem(line(("working_time", "periods", after)), text))
    return problems


def _check(model: _OrgModel, line: LineOf) -> list[ConfigProblem]:
    problems = _check_units(model.units, line) + _check_categories(model, line)
    problems += _check_working_time(model.working_time, line)
    return sorted(problems, key=lambda p: p.line or 0)


# --- to the domain ----------------------------------------------------------------------------


def _to_domain(model: _OrgModel) -> OrgConfig:
    wt = model.working_time
    return OrgConfig(
        name=model.name,
        units=tuple(
            Unit(u.code, u.name, u.kind, parent=u.parent, short_name=u.short_name)
            for u in model.units
        ),
        categories=tuple(
            Category(c.code, c.name, routes_to=c.routes_to, complex=c.complex)
            for c in model.categories
        ),
        deadlines=Deadlines(**model.deadlines.model_dump()),
        working_time=WorkingTime(
            timezone=wt.timezone,
            weekdays=tuple(sorted(wt.weekdays)),
            periods=tuple(sorted((p.start, p.end) for p in wt.periods)),
            country_holidays=wt.country_holidays,
            extra_days_off=tuple(sorted(wt.extra_days_off)),
            makeup_working_days=tuple(sorted(wt.makeup_working_days)),
        ),
    )


# --- public API -------------------------------------------------------------------------------


def parse_org_config(text: str, source: str = "<org config>") -> OrgConfig:
    """Check and convert the YAML text; `source` names it in error messages."""
    root, data = _compose(text, source)
    try:
        model = _OrgModel.model_validate(data)
    except ValidationError as exc:
        problems = [_pydantic_problem(error, root, data) for error in exc.errors()]
        raise OrgConfigError(source, sorted(problems, key=lambda p: p.line or 0)) from None
    problems = _check(model, lambda loc: _line_of(root, loc))
    if problems:
        raise OrgConfigError(source, problems)
    return _to_domain(model)


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
