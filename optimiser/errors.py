"""Errors a planner can act on: every problem names the file, the field, what was expected
and what was found."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable


def format_path(loc: Iterable[Any]) -> str:
    """``('services', 3, 'unit_cost')`` -> ``services[3].unit_cost``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def describe(value: Any, limit: int = 60) -> str:
    """A short readable rendering of a found value."""
    if value is _MISSING:
        return "nothing (the field is missing)"
    text = repr(value)
    if isinstance(value, dict):
        text = "a mapping with keys " + ", ".join(map(str, list(value)[:6])) + (
            ", ..." if len(value) > 6 else ""
        )
    elif isinstance(value, list):
        text = f"a list of {len(value)} item(s)"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Missing:
    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return "<missing>"


_MISSING = _Missing()
MISSING = _MISSING


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an instance file."""

    file: str
    path: str
    expected: str
    found: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: expected {self.expected}; found {self.found}"


class BudgetshiftError(Exception):
    """Base class of every error budgetshift raises on purpose."""


class InstanceError(BudgetshiftError):
    """The instance file (or an override) is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the instance:"
        super().__init__("\n".join([head] + [f"  - {p}" for p in self.problems]))


class SolverError(BudgetshiftError):
    """HiGHS failed in a way that is not an answer about the plan."""
