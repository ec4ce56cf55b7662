"""Instance file -> validated, read-only :class:`~optimiser.input.instance.Instance`.

Steps, in order: read the YAML; replace ``{from_csv: file.csv}`` references by the table's
rows; apply ``--set`` overrides; check the structure against :mod:`optimiser.input.schema`; check
cross-references and the pathway graphs (:mod:`optimiser.input.validation`). Every problem found in
any step is reported together in one :class:`~optimiser.errors.InstanceError`.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any, Mapping

from pydantic import TypeAdapter, ValidationError

from . import scenarios as scenario_mod, schema
from ..errors import MISSING, InstanceError, Problem, describe, format_path
from ..gc_pause import without_gc_pauses
from .evidence import expand_presets
from .instance import Instance
from .paths import apply_overrides, parse_overrides, split_path
from .reading import CsvTable, read_yaml, resolve_csv_references
from .uncertainty_section import check_paths as check_uncertain_paths, record as record_uncertainty, \
    split as split_uncertainty
from .validation import check_semantics

_EXPECTED_BY_TYPE = {
    "missing": "this field (it is required)",
    "extra_forbidden": "a field the format knows (this name is not one: check the spelling; see docs/instance-format.md)",
    "number_type": "a number",
    "number_bool": "a number (true/false is not a number)",
    "number_not_finite": "a finite number (not NaN or an infinity)",
    "number_unbounded": "a number, or .inf for no limit (not NaN or -.inf)",
    "float_type": "a number",
    "float_parsing": "a number",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "string_type": "text",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "tuple_type": "a list",
    "model_type": "a mapping of fields",
    "model_attributes_type": "a mapping of fields",
    "greater_than_equal": "a value >= {ge}",
    "greater_than": "a value > {gt}",
    "less_than_equal": "a value <= {le}",
    "less_than": "a value < {lt}",
    "too_short": "at least {min_length} item(s)",
    "string_too_short": "non-empty text",
    "literal_error": "one of {expected}",
    "union_tag_invalid": "'kind' to be one of {expected_tags}",
    "union_tag_not_found": "a 'kind' field (one of share, transfer)",
}


# ----------------------------------------------------------------------------- reading YAML


# ----------------------------------------------------------------------------- structure

def _lookup(data: Any, loc: tuple) -> Any:
    node = data
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return MISSING
    return node


def _named_loc(data: Any, loc: tuple) -> str:
    """Field path with the item's name beside list positions: ``services[3] (acute).unit_cost``."""
    text = format_path(loc)
    # add a name hint for the first list item on the path
    if len(loc) >= 2 and isinstance(loc[1], int):
        item = _lookup(data, loc[:2])
        if isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"].strip():
            head = format_path(loc[:2])
            text = f"{head} ({item['name']})" + text[len(head):]
    return text


# steps of pydantic's error locations that name a type rather than a field
_TYPE_STEPS = {"float", "int", "str", "bool", "list[tuple[float,float]]", *schema.FORMS.values()}


def _pydantic_problems(exc: ValidationError, data: Any, file: str, prefix: tuple = ()) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = prefix + tuple(
            p for p in err["loc"]
            if not (isinstance(p, str) and (p in _TYPE_STEPS
                                            or p.startswith(("dict[", "tuple[", "function-", "constrained-",
                                                             "Growth", "list[", "Sector", "ShareShift",
                                                             "TransferShift", "literal[", "json-or-python"))))
        )
        key_error = "[key]" in loc  # a mapping's key is wrong, not its value
        if key_error:
            loc = loc[: loc.index("[key]")]
        # pydantic reports the alias 'from' for Edge.from_
        found_value = _lookup(data, loc) if err["type"] != "missing" else MISSING
        if err["type"] == "missing":
            found = "nothing (the field is missing)"
        else:
            found = describe(err.get("input", found_value))
        template = _EXPECTED_BY_TYPE.get(err["type"])
        ctx = err.get("ctx") or {}
        if err["type"] == "wrong_form":  # a value of none of a field's forms (optimiser.input.schema.one_of)
            expected = err["msg"]
        else:
            expected = template.format(**ctx) if template else err["msg"].lower()
        if key_error:
            expected = f"keys that are {expected}"
        problems.append(Problem(file, _named_loc(data, loc), expected, found))
    # a value failing several members of a union is reported once per location
    seen, unique = set(), []
    for p in problems:
        key = (p.path, p.found)
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


_INSTANCE_ADAPTER = TypeAdapter(schema.InstanceFile)


def check_structure(data: Any, file: str) -> tuple[schema.InstanceFile | None, list[Problem]]:
    """Validate against the schema. On failure, also return a best-effort partial model built from
    the sections and list items that are valid, so cross-reference checks can still run."""
    if not isinstance(data, dict):
        return None, [Problem(file, "(top level)", "a mapping of sections (horizon, budget, services, ...)",
                              describe(data))]
    try:
        return _INSTANCE_ADAPTER.validate_python(data), []
    except ValidationError as exc:
        problems = _pydantic_problems(exc, data, file)
    return _salvage(data), problems


def _salvage(data: dict) -> schema.InstanceFile | None:
    fields = schema.InstanceFile.model_fields
    parts: dict[str, Any] = {}
    for key, field in fields.items():
        if key not in data:
            if not field.is_required():
                parts[key] = field.get_default(call_default_factory=True)
            continue
        value = data[key]
        annotation = field.annotation
        try:
            if isinstance(value, list) and typing.get_origin(annotation) is list and key not in ("sectors",):
                item_type = typing.get_args(annotation)[0]  # list[X]
                adapter = TypeAdapter(item_type)
                items = []
                for item in value:
                    try:
                        items.append(adapter.validate_python(item))
                    except ValidationError:
                        pass
                parts[key] = items
            else:
                parts[key] = TypeAdapter(annotation).validate_python(value)
                if key == "sectors":
                    parts[key] = [schema.Sector(name=s) if isinstance(s, str) else s for s in parts[key]]
        except (ValidationError, AttributeError, IndexError, TypeError):
            continue
    return schema.InstanceFile.model_construct(**parts)


_NAME_HINT = re.compile(r" \([^()]*\)")


def _blame(problem: Problem, file: str, tables: list[CsvTable], origins: list[tuple[tuple, str]]) -> Problem | None:
    """A problem found in the instance, pointed at where its value came from: the ``--set`` (or
    scenario) that set it, or the CSV file, row and column it was read from. None for a problem
    in what a CSV file with problems of its own gave (a consequence of those)."""
    if problem.file != file:
        return problem
    try:
        steps = split_path(_NAME_HINT.sub("", problem.path))
    except ValueError:  # not a field path ('line 3, column 1', '(top level)', ...)
        return problem
    for loc, source in reversed(origins):  # the last override of a field is the one that counts
        if tuple(steps[: len(loc)]) == loc:
            return Problem(source, problem.path, problem.expected, problem.found)
    best = max((t for t in tables if tuple(steps[: len(t.loc)]) == t.loc), key=lambda t: len(t.loc), default=None)
    if best is None:
        return problem
    if steps[len(best.loc):] == ["from_csv"]:  # the reference itself
        return problem
    where = best.where(steps[len(best.loc):])
    if best.broken or (best.flawed and where is not None and where[0] == "the table"):
        return None  # a consequence of the table's own problems, reported already
    if where is None:
        return problem
    text, at_cell = where
    found = problem.found
    if at_cell and found == describe(MISSING):
        found = "an empty cell"
    return Problem(best.file, f"{text} ({problem.path})", problem.expected, found)


@without_gc_pauses
def load_data(data: dict, file: str = "<instance>", base_dir: Path | None = None,
              overrides: Mapping[str, Any] | None = None, scenarios: list[str] | tuple[str, ...] | None = None,
              csv_resolved: bool = False):
    """Validate an instance given as a Python mapping (as read from YAML).

    ``scenarios`` names scenarios of the mapping's ``scenarios`` section to apply (see
    :mod:`optimiser.input.scenarios`); priority, lowest first: the mapping < the scenarios, in order <
    ``overrides``. ``csv_resolved`` says the mapping's ``{from_csv: ...}`` tables were read
    already (an instance's own ``raw``), so the tree is not walked again. ``data`` is not changed.
    """
    try:
        return _load_data(data, file, base_dir, overrides, scenarios, csv_resolved)
    except RecursionError:  # YAML allows 1,000 levels; the checks walk the tree recursively
        raise InstanceError([Problem(file, "(file)", "lists and mappings nested at most a few hundred deep",
                                     "deeper nesting")]) from None


def _load_data(data, file, base_dir, overrides, scenarios, csv_resolved):
    problems: list[Problem] = []
    tables: list[CsvTable] = []
    origins: list[tuple[tuple[str, ...], str]] = []
    if not csv_resolved:
        data, csv_problems = resolve_csv_references(data, base_dir or Path("."), file, tables=tables)
        problems += csv_problems
    section = data.get(scenario_mod.SECTION) if isinstance(data, dict) else None
    defined: dict = {}
    if isinstance(data, dict):
        data, defined, scenario_problems = scenario_mod.split(data, file)
        problems += scenario_problems
    uncertain: dict = {}
    if isinstance(data, dict):  # the 'uncertainty' section, kept on the instance (optimiser.uncertainty)
        data, uncertain, uncertainty_problems = split_uncertainty(data, file)
        problems += uncertainty_problems
    broken = {n for n in section if n not in defined} if isinstance(section, dict) else set()
    selection, selection_problems = scenario_mod.select(defined, scenarios, file, broken=broken)
    problems += selection_problems
    steps = [(f"{file}: {scenario_mod.where(name)}", {p: v for p, v in selection.overrides.items()
                                                         if p in selection.by_scenario[name]})
             for name in selection.names]
    if overrides:
        steps.append(("--set", overrides))
    for source, step in steps:
        try:
            data = apply_overrides(data, step, source=source, origins=origins)
        except InstanceError as exc:
            problems += exc.problems
    expanded, preset_problems = expand_presets(data, file)  # evidence presets -> curves; raw keeps the file's form
    problems += preset_problems + check_uncertain_paths(uncertain, data, file)
    model, structure_problems = check_structure(expanded, file)
    problems += structure_problems
    if model is not None:
        problems += check_semantics(model, data, file)
    if problems:
        problems = [b for b in (_blame(p, file, tables, origins) for p in problems) if b is not None]
        raise InstanceError(sorted(set(problems), key=problems.index))
    inst = Instance.from_model(model, raw=data, source=file, overrides=dict(overrides or {}))
    inst = scenario_mod.record(inst, selection, dict(overrides or {}), defined)
    return record_uncertainty(inst, uncertain)


@without_gc_pauses
def load(path: str | Path, overrides: Mapping[str, Any] | list[str] | None = None,
         scenarios: list[str] | tuple[str, ...] | str | None = None):
    """Read, check and return the instance in ``path``.

    ``overrides`` is a mapping ``{"path.to.field": value}`` or a list of ``"path=value"`` strings
    (as given to ``--set``); ``scenarios`` names scenarios defined in the file's ``scenarios``
    section (as given to ``--scenario``). Both are applied before validation, so the result is
    checked as a whole; ``overrides`` take priority over scenarios, which take priority over the
    file. Raises :class:`~optimiser.errors.InstanceError` listing every problem found.
    """
    path = Path(path)
    if isinstance(overrides, (list, tuple)):
        overrides = parse_overrides(overrides)
    if isinstance(scenarios, str):
        scenarios = [scenarios]
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise InstanceError([Problem(str(path), "(top level)", "a mapping of sections", describe(data))])
    return load_data(data, file=str(path), base_dir=path.parent, overrides=overrides, scenarios=scenarios)
