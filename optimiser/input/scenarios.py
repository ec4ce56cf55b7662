"""Named scenarios: sets of overrides kept inside the instance file.

An instance file may end with a ``scenarios:`` section::

    scenarios:
      budget_plus_5m:
        description: five million more in the base year, growing with the pool
        overrides: {budget.pooled.value: 2240000000}
      no_shift:
        overrides: {"shift_policies[kent_prevention_shift].increase_pp": 0}

A scenario is a set of ``path: value`` overrides, written exactly like ``--set`` paths. Several
scenarios may be chosen at once (``--scenario a --scenario b``); they are combined, and two chosen
scenarios that set the same field (or one field and a part of it) is an error naming both.

Priority, lowest first: the file as written < the chosen scenarios (in the order given) <
``--set`` overrides. The section is taken out of the file before the schema sees the rest, and the
scenarios applied (with the overrides they set) are recorded on the instance
(``instance.extra["scenarios"]``) and in every result's summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..errors import Problem, describe
from .paths import split_path

SECTION = "scenarios"
_FIELDS = ("description", "overrides")
# a scenario name may not contain these: '+' combines scenarios in `budgetshift compare`
_FORBIDDEN_IN_NAMES = "+[],="


@dataclass(frozen=True)
class Scenario:
    """One named set of overrides."""

    name: str
    overrides: Mapping[str, Any]
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"description": self.description, "overrides": dict(self.overrides)}


@dataclass(frozen=True)
class Selection:
    """The scenarios chosen for one load, merged in priority order."""

    names: tuple[str, ...] = ()
    overrides: dict[str, Any] = field(default_factory=dict)   # the merged overrides they set
    by_scenario: dict[str, dict[str, Any]] = field(default_factory=dict)


def where(name: str, path: str | None = None) -> str:
    """The field path of a scenario (or of one of its overrides) in the file, for messages."""
    loc = f"{SECTION}.{name}"
    return loc if path is None else f"{loc}.overrides[{path}]"


def split(data: Mapping[str, Any], file: str) -> tuple[dict[str, Any], dict[str, Scenario], list[Problem]]:
    """Take the ``scenarios`` section out of ``data``.

    Returns the rest of the file (for the schema), the scenarios that are well formed, and a
    problem for every one that is not (all of them, not just the first).
    """
    rest = {k: v for k, v in data.items() if k != SECTION}
    if SECTION not in data:
        return rest, {}, []
    section = data[SECTION]
    problems: list[Problem] = []
    if section is None:
        return rest, {}, []
    if not isinstance(section, dict):
        return rest, {}, [Problem(file, SECTION, "a mapping of scenario name -> {description, overrides}",
                                  describe(section))]
    found: dict[str, Scenario] = {}
    for name, body in section.items():
        if not isinstance(name, str) or not name.strip() or any(c in name for c in _FORBIDDEN_IN_NAMES) \
                or name != name.strip():
            problems.append(Problem(file, f"{SECTION}.{name}", "a scenario name: non-empty text without "
                                    f"spaces at either end or any of {' '.join(_FORBIDDEN_IN_NAMES)}",
                                    repr(name)))
            continue
        if not isinstance(body, dict):
            problems.append(Problem(file, where(name), "a mapping with 'overrides' (and optionally "
                                    "'description')", describe(body)))
            continue
        bad = False
        for key in body:
            if key not in _FIELDS:
                bad = True
                problems.append(Problem(file, f"{where(name)}.{key}", "a field of a scenario (description, "
                                        "overrides; check the spelling)", repr(key)))
        description = body.get("description", "")
        if description is None:
            description = ""
        if not isinstance(description, str):
            bad = True
            problems.append(Problem(file, f"{where(name)}.description", "text", describe(description)))
        if "overrides" not in body:
            bad = True
            problems.append(Problem(file, f"{where(name)}.overrides", "this field (it is required): a "
                                    "mapping of field path -> value, e.g. {budget.pooled: 2.3e9}",
                                    "nothing (the field is missing)"))
            overrides = {}
        else:
            overrides = body["overrides"]
            if overrides is None:
                overrides = {}
            if not isinstance(overrides, dict):
                bad = True
                problems.append(Problem(file, f"{where(name)}.overrides", "a mapping of field path -> value, "
                                        "e.g. {budget.pooled: 2.3e9}", describe(overrides)))
                overrides = {}
            for path in overrides:
                if not isinstance(path, str) or not path.strip():
                    bad = True
                    problems.append(Problem(file, f"{where(name)}.overrides", "field paths written as text, "
                                            "e.g. budget.pooled or services[ward].unit_cost", repr(path)))
                    continue
                try:
                    _steps(path)
                except ValueError as exc:
                    bad = True
                    problems.append(Problem(file, where(name, path), "a field path such as budget.pooled or "
                                            "services[ward].unit_cost", str(exc)))
        if not bad:
            found[name] = Scenario(name=name, overrides={p.strip(): v for p, v in overrides.items()},
                                   description=description)
    return rest, found, problems


def _steps(path: str) -> tuple[str, ...]:
    """A path as its steps, so ``services[ward].unit_cost`` and ``services.ward.unit_cost`` match."""

    return tuple(split_path(path))


def _overlap(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """One path is the other, or a part of it (``budget.pooled`` and ``budget.pooled.2027``)."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def select(defined: Mapping[str, Scenario], names: list[str] | tuple[str, ...] | None, file: str,
           broken: set[str] = frozenset()) -> tuple[Selection, list[Problem]]:
    """Merge the overrides of the scenarios ``names`` (in order), with a problem for every name the
    file does not define and for every field two of them set."""
    problems: list[Problem] = []
    chosen: list[str] = []
    for name in names or ():
        if not isinstance(name, str):
            problems.append(Problem(file, "--scenario", "a scenario name", describe(name)))
        elif name in chosen:
            continue
        elif name in defined:
            chosen.append(name)
        elif name in broken:
            continue  # its definition is already reported
        else:
            known = sorted(set(defined) | set(broken))
            expected = ("one of the scenarios defined in the file: " + ", ".join(known)) if known else \
                "a scenario defined in the file's 'scenarios' section (this file defines none)"
            problems.append(Problem(file, "--scenario", expected, repr(name)))
    merged: dict[str, Any] = {}
    owner: dict[tuple[str, ...], tuple[str, str]] = {}
    by_scenario: dict[str, dict[str, Any]] = {}
    for name in chosen:
        by_scenario[name] = dict(defined[name].overrides)
        for path, value in defined[name].overrides.items():
            steps = _steps(path)
            clash = next(((s, o) for s, o in owner.items() if _overlap(s, steps)), None)
            if clash is not None:
                other, other_path = clash[1]
                problems.append(Problem(
                    file, where(name, path),
                    f"each field set by at most one of the chosen scenarios ({', '.join(chosen)})",
                    f"scenario '{name}' sets {path} and scenario '{other}' sets {other_path}"))
                continue
            owner[steps] = (name, path)
            merged[path] = value
    return Selection(names=tuple(chosen), overrides=merged, by_scenario=by_scenario), problems


def definitions(instance) -> dict[str, Scenario]:
    """The scenarios defined in the file an instance was loaded from."""
    return dict((instance.extra or {}).get("scenario_definitions", {}))


def applied(instance) -> list[str]:
    """Names of the scenarios applied to an instance, in the order given."""
    return list((instance.extra or {}).get("scenarios", ()))


def record(instance, selection: Selection, set_overrides: Mapping[str, Any],
           defined: Mapping[str, Scenario]):
    """A freshly built instance with a note of which scenarios and overrides made it (a new
    instance: the one given is left as it was)."""
    extra = dict(instance.extra or {})
    extra.update(scenarios=tuple(selection.names), scenario_overrides=dict(selection.overrides),
                 set_overrides=dict(set_overrides), scenario_definitions=dict(defined))
    return instance.with_record(extra=extra, overrides={**selection.overrides, **dict(set_overrides)})
