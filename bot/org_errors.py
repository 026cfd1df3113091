"""The errors of the org configuration loader: one problem per line, with file and line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


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


def by_line(problems: Sequence[ConfigProblem]) -> list[ConfigProblem]:
    """The problems in file order; those without a line first."""
    return sorted(problems, key=lambda p: p.line or 0)
