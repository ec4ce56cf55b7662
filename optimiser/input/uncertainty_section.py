"""The instance file's ``uncertainty`` section: a distribution on each uncertain field.

Read with the rest of the file (:func:`split` takes the section out before the schema sees the
rest; :func:`check_paths` checks every path names a number the file has, after scenarios and
``--set``; :func:`record` keeps the distributions on the instance, ``instance.extra["uncertainty"]``).
A plain solve uses the file's own values; :mod:`optimiser.analyses.uncertainty` samples them.
See that module for the section's form.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..errors import InstanceError, Problem, describe
from .paths import resolve


SECTION = "uncertainty"


KINDS = ("triangular", "uniform", "normal")


_FORMS = ("{triangular: [low, mode, high]}, {uniform: [low, high]} or "
          "{normal: {mean: m, sd: s, low: a, high: b}} (low and high optional)")


@dataclass(frozen=True)
class Distribution:
    """One uncertain value: ``kind`` is triangular, uniform or (truncated) normal."""

    kind: str
    low: float = -math.inf
    high: float = math.inf
    mode: float | None = None
    mean: float | None = None
    sd: float | None = None

    def draw(self, rng: np.random.Generator) -> float:
        """One value, using exactly one uniform number of ``rng`` (so streams stay aligned)."""
        u = float(rng.random())
        if self.kind == "uniform":
            return self.low + u * (self.high - self.low)
        if self.kind == "triangular":
            a, c, b = self.low, self.mode, self.high
            if b == a:
                return a
            f = (c - a) / (b - a)
            if u < f:
                return a + math.sqrt(u * (b - a) * (c - a))
            return b - math.sqrt((1 - u) * (b - a) * (b - c))
        from scipy.special import ndtr, ndtri

        lo = ndtr((self.low - self.mean) / self.sd) if math.isfinite(self.low) else 0.0
        hi = ndtr((self.high - self.mean) / self.sd) if math.isfinite(self.high) else 1.0
        p = lo + u * (hi - lo)
        p = min(max(p, 1e-300), 1 - 1e-16)
        return float(min(max(self.mean + self.sd * float(ndtri(p)), self.low), self.high))

    def expectation(self) -> float:
        """The distribution's mean (for ``central="mean"``)."""
        if self.kind == "uniform":
            return (self.low + self.high) / 2
        if self.kind == "triangular":
            return (self.low + self.mode + self.high) / 3
        from scipy.stats import truncnorm

        a = (self.low - self.mean) / self.sd
        b = (self.high - self.mean) / self.sd
        return float(truncnorm.mean(a, b, loc=self.mean, scale=self.sd))

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "uniform":
            return {"uniform": [self.low, self.high]}
        if self.kind == "triangular":
            return {"triangular": [self.low, self.mode, self.high]}
        body = {"mean": self.mean, "sd": self.sd}
        if math.isfinite(self.low):
            body["low"] = self.low
        if math.isfinite(self.high):
            body["high"] = self.high
        return {"normal": body}

    def __str__(self) -> str:
        kind, body = next(iter(self.to_dict().items()))
        return f"{kind} {body}"


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


def parse_distribution(body: Any, file: str, where: str) -> tuple[Distribution | None, list[Problem]]:
    if not isinstance(body, dict) or len(body) != 1 or next(iter(body)) not in KINDS:
        found = describe(body) if not isinstance(body, dict) else (
            "a mapping with keys " + ", ".join(map(str, body)) if body else "an empty mapping")
        return None, [Problem(file, where, "a distribution: " + _FORMS, found)]
    kind, args = next(iter(body.items()))
    at = f"{where}.{kind}"
    if kind in ("uniform", "triangular"):
        n = 2 if kind == "uniform" else 3
        names = "[low, high]" if kind == "uniform" else "[low, mode, high]"
        if not isinstance(args, list) or len(args) != n or not all(_number(v) for v in args):
            return None, [Problem(file, at, f"a list of {n} numbers {names}", describe(args))]
        vals = [float(v) for v in args]
        if vals != sorted(vals):
            return None, [Problem(file, at, f"{names} in increasing order (low <= "
                                  + ("mode <= high)" if n == 3 else "high)"), str(args))]
        if kind == "uniform":
            return Distribution("uniform", low=vals[0], high=vals[1]), []
        return Distribution("triangular", low=vals[0], mode=vals[1], high=vals[2]), []
    # normal
    if not isinstance(args, dict):
        return None, [Problem(file, at, "a mapping {mean, sd, low, high} (low and high optional)", describe(args))]
    problems = []
    for key in args:
        if key not in ("mean", "sd", "low", "high"):
            problems.append(Problem(file, f"{at}.{key}", "a field of a normal distribution (mean, sd, low, high; "
                                    "check the spelling)", repr(key)))
    for key in ("mean", "sd"):
        if key not in args:
            problems.append(Problem(file, f"{at}.{key}", "this field (it is required)",
                                    "nothing (the field is missing)"))
    for key in ("mean", "sd", "low", "high"):
        if key in args and not _number(args[key]):
            problems.append(Problem(file, f"{at}.{key}", "a number", describe(args[key])))
    if problems:
        return None, problems
    sd = float(args["sd"])
    if sd <= 0:
        return None, [Problem(file, f"{at}.sd", "a standard deviation > 0", repr(args["sd"]))]
    low, high = float(args.get("low", -math.inf)), float(args.get("high", math.inf))
    if not low < high:
        return None, [Problem(file, at, "low < high", f"low {args.get('low')}, high {args.get('high')}")]
    return Distribution("normal", low=low, high=high, mean=float(args["mean"]), sd=sd), []


def split(data: Mapping[str, Any], file: str) -> tuple[dict[str, Any], dict[str, Distribution], list[Problem]]:
    """Take the ``uncertainty`` section out of ``data``: the rest of the file, the well-formed
    distributions (path -> Distribution, in the file's order) and a problem for every one that
    is not."""
    rest = {k: v for k, v in data.items() if k != SECTION}
    section = data.get(SECTION)
    if section is None:
        return rest, {}, []
    if not isinstance(section, dict):
        return rest, {}, [Problem(file, SECTION, "a mapping of field path -> distribution, e.g. "
                                  "{services[ward].unit_cost: {uniform: [900, 1100]}}", describe(section))]
    found: dict[str, Distribution] = {}
    problems: list[Problem] = []
    for path, body in section.items():
        if not isinstance(path, str) or not path.strip():
            problems.append(Problem(file, SECTION, "field paths written as text, e.g. services[ward].unit_cost",
                                    repr(path)))
            continue
        dist, p = parse_distribution(body, file, f"{SECTION}.{path.strip()}")
        problems += p
        if dist is not None:
            if path.strip() in found:
                problems.append(Problem(file, f"{SECTION}.{path.strip()}", "each field once", "it is given twice"))
            found[path.strip()] = dist
    return rest, found, problems


def check_paths(distributions: Mapping[str, Distribution], data: Any, file: str) -> list[Problem]:
    """Every uncertain path must name a number in the file (after scenarios and overrides)."""
    problems = []
    for path in distributions:
        ok, value, why = resolve(data, path)
        if not ok:
            problems.append(Problem(file, f"{SECTION}.{path}", "the path of a number in the file (written like a "
                                    "--set path, e.g. services[ward].unit_cost)", why))
        elif not _number(value):
            problems.append(Problem(file, f"{SECTION}.{path}", "the path of a single number in the file",
                                    describe(value)))
    return problems


def record(instance, distributions: Mapping[str, Distribution]):
    """The instance with its distributions kept (``instance.extra["uncertainty"]``); a new
    instance, the one given left as it was."""
    from types import MappingProxyType

    extra = dict(instance.extra or {})
    extra[SECTION] = MappingProxyType(dict(distributions))
    return instance.with_record(extra=extra)


def carry(original, variant):
    """Give ``variant`` (made from ``original`` by overrides or scenarios, which rebuild the
    instance from its raw mapping, where the section no longer is) ``original``'s distributions,
    their paths checked again."""
    dists = instance_distributions(original)
    if not dists or instance_distributions(variant):
        return variant
    problems = check_paths(dists, dict(variant.raw), variant.source)
    if problems:
        raise InstanceError(problems)
    return record(variant, dists)


def instance_distributions(instance) -> dict[str, Distribution]:
    """The distributions of an instance's ``uncertainty`` section (empty when it has none)."""
    return dict((instance.extra or {}).get(SECTION, {}) or {})
