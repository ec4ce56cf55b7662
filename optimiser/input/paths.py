"""Field paths and overrides: ``horizon.discount_rate`` or ``services[ward].unit_cost`` as given to
``--set``, to a scenario or to ``--vary``; parsing them strictly and applying them to an instance's
raw mapping (a copy: the mapping given is not changed).
"""

from __future__ import annotations

import copy
import re
import typing
from typing import Any, Mapping

from . import schema
from ..errors import InstanceError, Problem, describe, format_path
from .reading import parse_value


# ----------------------------------------------------------------------------- overrides

_NAME = re.compile(r"[^.\[\]]+")
PATH_EXAMPLE = "a field path such as horizon.discount_rate or services[ward].unit_cost"


def parse_override(text: str) -> tuple[str, Any]:
    """``"horizon.discount_rate=0.03"`` -> ``("horizon.discount_rate", 0.03)`` (value read as YAML,
    strictly: no tags; text that is not YAML is kept as text). A malformed ``PATH=VALUE`` raises
    :class:`~optimiser.errors.InstanceError` naming the override."""
    if not isinstance(text, str) or "=" not in text:
        raise InstanceError([Problem("--set", str(text), "PATH=VALUE, e.g. horizon.discount_rate=0.03",
                                     f"{text!r} (no '=')")])
    path, _, raw = text.partition("=")
    path = path.strip()
    if not path:
        raise InstanceError([Problem("--set", text, "PATH=VALUE with a field path before '=', e.g. "
                                     "horizon.discount_rate=0.03", "nothing before '='")])
    try:
        split_path(path)
    except ValueError as exc:
        raise InstanceError([Problem("--set", text, PATH_EXAMPLE, str(exc))]) from None
    return path, parse_value(raw, "--set", path)


def parse_overrides(texts) -> dict[str, Any]:
    """Several ``PATH=VALUE`` texts (as given to ``--set``) as one mapping; every malformed one,
    and a field set twice, is reported together."""
    out: dict[str, Any] = {}
    given: dict[tuple, str] = {}
    problems: list[Problem] = []
    for text in texts:
        try:
            path, value = parse_override(text)
        except InstanceError as exc:
            problems += exc.problems
            continue
        steps = tuple(split_path(path))
        if steps in given:
            problems.append(Problem("--set", path, "each field set once", f"set twice: {given[steps]!r} and "
                                    f"{text!r}"))
            continue
        given[steps] = text
        out[path] = value
    if problems:
        raise InstanceError(problems)
    return out


def split_path(path: str) -> list[str]:
    """``"services[ward].unit_cost"`` -> ``["services", "ward", "unit_cost"]``; raises ValueError
    (saying what is wrong) for an empty path, an empty step or an unbalanced bracket."""
    if not isinstance(path, str):
        raise ValueError(f"{describe(path)}, not text")
    steps: list[str] = []
    pos, n = 0, len(path)
    if not path.strip():
        raise ValueError("an empty path")
    while pos < n:
        ch = path[pos]
        if ch == "[":
            end = path.find("]", pos)
            if end < 0:
                raise ValueError(f"an unclosed '[' (character {pos + 1} of {path!r})")
            inner = path[pos + 1: end].strip()
            if not steps:
                raise ValueError(f"'[' with no field name before it in {path!r}")
            if not inner or "[" in inner:
                raise ValueError(f"{'an empty []' if not inner else 'a [ inside [...]'} in {path!r}")
            steps.append(inner)
            pos = end + 1
        elif ch == "]":
            raise ValueError(f"a ']' with no '[' before it (character {pos + 1} of {path!r})")
        elif ch == ".":
            raise ValueError(f"an empty step (character {pos + 1} of {path!r})")
        else:
            name = _NAME.match(path, pos).group().strip()
            if not name:
                raise ValueError(f"an empty step (character {pos + 1} of {path!r})")
            steps.append(name)
            pos = _NAME.match(path, pos).end()
        if pos < n and path[pos] == ".":
            pos += 1
            if pos == n:
                raise ValueError(f"a '.' at the end of {path!r}")
        elif pos < n and path[pos] == "]":
            raise ValueError(f"a ']' with no '[' before it (character {pos + 1} of {path!r})")
        elif pos < n and path[pos] != "[":
            raise ValueError(f"'.' or '[' after ']' (character {pos + 1} of {path!r})")
    return steps


def child_key(node: Any, step: str, adding: bool = False) -> Any:
    """The list index or mapping key that one path ``step`` names in ``node``, or None.

    A list item is picked by position or by its ``name``; a mapping key that looks like a number
    matches a numeric key (years). With ``adding``, a missing mapping key is returned as the key
    to create (a number where the mapping's keys are all numbers).
    """
    numeric = step.lstrip("-").isdigit()
    if isinstance(node, list):
        if numeric and -len(node) <= int(step) < len(node):
            return int(step)
        named = [j for j, item in enumerate(node) if isinstance(item, dict) and item.get("name") == step]
        return named[0] if len(named) == 1 else None
    if isinstance(node, dict):
        if step in node:
            return step
        if numeric and (int(step) in node or (adding and node and all(isinstance(k, int) for k in node))):
            return int(step)
        return step if adding else None
    return None


def _section_model(annotation: Any) -> Any:
    """The pydantic model a field's annotation holds (``X``, ``X | None``), or, for a list of
    models, ``("list", X)``; None for anything else (numbers, names, year values, unions of forms)."""
    from pydantic import BaseModel

    def model(t):
        return t if isinstance(t, type) and issubclass(t, BaseModel) else None

    if model(annotation):
        return annotation
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list and args and model(args[0]):
        return ("list", args[0])
    if args and origin is not list:
        found = [a for a in args if a is not type(None)]
        if len(found) == 1 and model(found[0]):
            return found[0]
    return None


def _field_of(model: Any, step: str) -> Any:
    """The section model under field ``step`` of ``model`` (by name or alias), see
    :func:`_section_model`; None where the schema has no such section."""
    if model is None or isinstance(model, tuple):
        return None
    for name, f in model.model_fields.items():
        if step in (name, f.alias):
            return _section_model(f.annotation)
    return None


def apply_overrides(data: dict, overrides: Mapping[str, Any], source: str = "--set",
                    origins: list | None = None) -> dict:
    """Return a copy of ``data`` with each ``path: value`` set.

    Paths are dotted field names; list items are picked by position (``services[2]``) or by
    their ``name`` (``services[acute_inpatient]`` or ``services.acute_inpatient``). The path up to
    the last step must exist in the file; the last step may add a field, which the schema then
    checks (an unknown field name is an error like any other typo).

    ``data`` is not changed: the mappings and lists on each path are copied before they are
    written (copy on write), and the rest of the tree is shared with ``data`` — nothing in loading
    changes a tree in place, and copying every table of a national instance for each variant of a
    sweep would cost more than solving it warm.

    Each field set is appended to ``origins`` as ``(steps, source)``, its path as the keys
    followed (so that a problem later found in the value blames ``source``, not the file).
    """
    data = _shallow(data)
    problems = []
    for path, value in overrides.items():
        try:
            steps = split_path(path)
        except ValueError as exc:
            problems.append(Problem(source, str(path), PATH_EXAMPLE, str(exc)))
            continue
        node: Any = data
        model: Any = schema.InstanceFile   # the schema's section at ``node`` (None once off the map)
        followed: list[str] = []
        for i, step in enumerate(steps):
            last = i == len(steps) - 1
            key = child_key(node, step, adding=last and isinstance(node, dict))
            if isinstance(node, list):
                model = model[1] if isinstance(model, tuple) else None
            else:
                model = _field_of(model, step)
            if key is None and not last and isinstance(node, dict) and model is not None \
                    and not isinstance(model, tuple):
                node[step] = {}   # an optional section the file leaves out
                key = step
            if key is None:
                where = format_path(steps[:i])
                if isinstance(node, list):
                    problems.append(Problem(source, path, f"an item of {where or 'the list'} by position or name",
                                            f"no item {step!r}"))
                elif isinstance(node, dict):
                    problems.append(Problem(source, path, "a path to an existing field",
                                            f"no field {step!r} under {where or 'the top level'}"))
                else:
                    problems.append(Problem(source, path, "a path to an existing field",
                                            f"{where} is a single value, not a section"))
                break
            followed.append(str(key))
            if last:
                node[key] = copy.deepcopy(value)
                if origins is not None:
                    origins.append((tuple(followed), source))
            else:
                node[key] = _shallow(node[key])
                node = node[key]
    if problems:
        raise InstanceError(problems)
    return data


def _shallow(node: Any) -> Any:
    """A copy of one mapping or list (its items shared), or the value itself."""
    if isinstance(node, dict):
        return dict(node)
    if isinstance(node, list):
        return list(node)
    return node


def resolve(data: Any, path: str) -> tuple[bool, Any, str]:
    """Follow ``path`` (``--set`` syntax) in ``data`` without changing it: (found, value, why not)."""
    try:
        steps = split_path(path)
    except ValueError as exc:
        return False, None, str(exc)
    node = data
    if not steps:
        return False, None, "an empty path"
    done = ""
    for step in steps:
        where = done or "the top level"
        done += f"[{step}]" if isinstance(node, list) else (f".{step}" if done else step)
        key = child_key(node, step)
        if key is None:
            if isinstance(node, list):
                return False, None, f"no item {step!r} in {where}"
            if isinstance(node, dict):
                return False, None, f"no field {step!r} under {where}"
            return False, None, f"{where} is a single value, not a section"
        node = node[key]
    return True, node, ""
