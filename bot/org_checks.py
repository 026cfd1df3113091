"""The checks that span several entries of the org configuration.

Unique codes, parents that exist and do not go round in a circle, a board and a ward, category
routing, and working-time lists without repeats or overlapping periods.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from bot.org_errors import ConfigProblem, by_line
from bot.org_schema import OrgModel, PeriodModel, UnitModel, WorkingTimeModel, span
from bot.org_yaml import Loc
from domain.org import ROUTE_TO_WARD, UnitKind

LineOf = Callable[[Loc], int]


def check(model: OrgModel, line: LineOf) -> list[ConfigProblem]:
    """Every cross-entry problem of `model`, in file order; `line` finds a location's line."""
    problems = _check_units(model.units, line) + _check_categories(model, line)
    problems += _check_working_time(model.working_time, line)
    return by_line(problems)


def _check_units(units: list[UnitModel], line: LineOf) -> list[ConfigProblem]:
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


def _check_cycles(units: list[UnitModel], line: LineOf) -> list[ConfigProblem]:
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


def _check_kinds(units: list[UnitModel], line: LineOf) -> list[ConfigProblem]:
    kinds = {u.kind for u in units}
    needs = {
        UnitKind.BOARD: 'there is no unit of kind "board" (the board that triages reports)',
        UnitKind.WARD: 'there is no unit of kind "ward" (reports are filed per ward or commune)',
    }
    missing = [text for kind, text in needs.items() if kind not in kinds]
    return [ConfigProblem(line(("units",)), f"units: {text}") for text in missing]


def _check_categories(model: OrgModel, line: LineOf) -> list[ConfigProblem]:
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


def _check_working_time(wt: WorkingTimeModel, line: LineOf) -> list[ConfigProblem]:
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


def _check_overlaps(periods: list[PeriodModel], line: LineOf) -> list[ConfigProblem]:
    problems = []
    order = sorted(range(len(periods)), key=lambda i: periods[i].start)
    for before, after in itertools.pairwise(order):
        if periods[after].start < periods[before].end:
            text = (
                f"working_time: period {after + 1} ({span(periods[after])}) overlaps "
                f"period {before + 1} ({span(periods[before])})"
            )
            problems.append(ConfigProblem(line(("working_time", "periods", after)), text))
    return problems
