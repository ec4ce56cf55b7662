"""The evidence library: published prevention effects, by name, with their sources.

``library.yaml`` (shipped with the package) holds *presets*: one programme and one source each,
with one or more *measures*, each a published relative reduction (e.g. "15% fewer inpatient
admissions"). A prevention effect in an instance file names one with
``preset: <preset id>/<measure id>``; :func:`expand_presets` (called by
:func:`optimiser.input.loading.load_data` after scenarios and ``--set`` overrides, before the schema
check) turns it into the response curve::

    response = [[0, 0], [full_effect_at, reduction]]

the published cut in incidence at the effect's source nodes, reached in full when the driving
service reaches ``full_effect_at`` (activity, or spend with ``driver: spend``), linear from zero
and flat beyond. ``reduction`` on the effect overrides the published figure; an explicit
``response`` replaces the whole curve (the preset then only supplies the citation).

The instance keeps the file as written (``Instance.raw``), so variants made from it
(``with_overrides``, scenarios, sweeps, uncertainty samples) expand the preset again with their
overrides applied. :func:`evidence_table` lists, for a loaded instance, every effect that came from
the library with its figures and citation.
"""

from __future__ import annotations

import copy
import functools
import math
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...errors import MISSING, Problem, describe

LIBRARY_PATH = Path(__file__).with_name("library.yaml")
SECTION = "prevention_effects"


# ----------------------------------------------------------------------------- the library's format

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Citation(_Strict):
    authors: str = Field(min_length=1, description="authors, or the organisation that published the figures")
    year: int
    title: str = Field(min_length=1)
    published_in: str = Field("", description="journal and volume, or the kind of document and its date")
    doi: str | None = Field(None, description="only when seen in the source or its index record")
    url: str | None = None
    verify: bool = Field(False, description="taken from a secondary report: check the primary source")
    note: str = ""

    def text(self) -> str:
        """One-line reference: ``Authors (year). Title. Published in. URL``."""
        parts = [f"{self.authors} ({self.year}). {self.title.rstrip('.')}."]
        if self.published_in:
            parts.append(f"{self.published_in.rstrip('.')}.")
        if self.url:
            parts.append(self.url)
        elif self.doi:
            parts.append(f"https://doi.org/{self.doi}")
        return " ".join(parts)

    def short(self) -> str:
        """``Authors year`` (the first author and 'et al.' for a list of people)."""
        authors = self.authors
        if "," in authors:  # a list of people 'Surname I, Surname I, ...'
            authors = authors.split(",")[0].split()[0] + " et al."
        return f"{authors} {self.year}"


class Measure(_Strict):
    id: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$")
    reduction: float = Field(gt=0, lt=1, description="the published relative reduction, as a fraction")
    measured: str = Field(min_length=1, description="what the source measured")
    attach_to: str = Field(min_length=1, description="the kind of pathway source to attach the effect to")
    mapping: str = Field(min_length=1, description="how the measure becomes model parameters")
    approximate: bool = Field(description="whether that mapping is only approximate")
    verify: bool | None = Field(None, description="check this figure in the primary source (default: the citation's flag)")
    note: str = ""


class Preset(_Strict):
    id: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$")
    title: str = Field(min_length=1)
    programme: str = Field(min_length=1)
    population: str = Field(min_length=1)
    setting: str = Field(min_length=1)
    design: str = Field(min_length=1, description="study design, and what it means for the figures")
    citation: Citation
    see_also: list[str] = []
    measures: list[Measure] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_measures(self) -> "Preset":
        ids = [m.id for m in self.measures]
        if len(set(ids)) != len(ids):
            raise ValueError(f"preset {self.id}: measure ids repeat: {ids}")
        return self

    def measure(self, measure_id: str) -> Measure | None:
        return next((m for m in self.measures if m.id == measure_id), None)


class Library(_Strict):
    version: int
    presets: list[Preset] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_presets(self) -> "Library":
        ids = [p.id for p in self.presets]
        if len(set(ids)) != len(ids):
            raise ValueError(f"preset ids repeat: {ids}")
        return self

    def preset(self, preset_id: str) -> Preset | None:
        return next((p for p in self.presets if p.id == preset_id), None)

    def references(self) -> list[str]:
        """Every ``<preset>/<measure>`` in library order."""
        return [f"{p.id}/{m.id}" for p in self.presets for m in p.measures]


def read_library(path: str | Path = LIBRARY_PATH) -> Library:
    """Read and validate a library file (the shipped one by default)."""
    data = yaml.load(Path(path).read_text(encoding="utf-8"),  # libyaml's parser where built: 6x faster
                     Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return Library.model_validate(data)


@functools.cache
def library() -> Library:
    """The shipped library, read once (a read-only, validated object; presets in file order)."""
    return read_library(LIBRARY_PATH)


def lookup(reference: str) -> tuple[Preset, Measure]:
    """``"carefirst_pcmh/ed_visits"`` -> (preset, measure); KeyError naming the known ones."""
    lib = library()
    preset_id, _, measure_id = str(reference).partition("/")
    preset = lib.preset(preset_id)
    measure = preset.measure(measure_id) if preset is not None else None
    if measure is None:
        raise KeyError(f"no evidence preset {reference!r}; known: {', '.join(lib.references())}")
    return preset, measure


def _verify(preset: Preset, measure: Measure) -> bool:
    return bool(preset.citation.verify if measure.verify is None else measure.verify)


_COLUMNS = ["reference", "preset", "measure", "title", "reduction", "measured", "attach_to", "approximate",
            "mapping", "programme", "population", "setting", "design", "citation", "citation_short", "url",
            "doi", "verify", "note"]


def presets() -> pd.DataFrame:
    """Every measure of every preset, one row each, in library order.

    Columns: ``reference`` (``preset/measure``, as written in an instance file), ``preset``,
    ``measure``, ``title``, ``reduction`` (published, a fraction), ``measured``, ``attach_to``,
    ``approximate``, ``mapping``, ``programme``, ``population``, ``setting``, ``design``,
    ``citation`` (one line), ``citation_short``, ``url``, ``doi``, ``verify``, ``note`` (the
    measure's note, else the citation's).
    """
    rows = []
    for p in library().presets:
        for m in p.measures:
            rows.append({
                "reference": f"{p.id}/{m.id}", "preset": p.id, "measure": m.id, "title": p.title,
                "reduction": m.reduction, "measured": m.measured, "attach_to": m.attach_to,
                "approximate": m.approximate, "mapping": m.mapping, "programme": p.programme,
                "population": p.population, "setting": p.setting, "design": p.design,
                "citation": p.citation.text(), "citation_short": p.citation.short(), "url": p.citation.url,
                "doi": p.citation.doi, "verify": _verify(p, m), "note": m.note or p.citation.note,
            })
    return pd.DataFrame(rows, columns=_COLUMNS)


# ----------------------------------------------------------------------------- instance files

def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _where(item: dict, index: int) -> str:
    name = item.get("name")
    return f"{SECTION}[{name}]" if isinstance(name, str) and name else f"{SECTION}[{index}]"


def _default_description(preset: Preset, measure: Measure) -> str:
    return (f"{preset.title}: {measure.reduction * 100:.3g}% reduction in {measure.measured} "
            f"({preset.citation.short()})")


def expand_presets(data: dict, file: str) -> tuple[dict, list[Problem]]:
    """Fill in every prevention effect that names an evidence preset; return a NEW mapping.

    For an item of ``data["prevention_effects"]`` with ``preset: "<preset>/<measure>"``:

    * no ``response``: ``response = [[0, 0], [full_effect_at, reduction]]``, with ``reduction``
      the item's own (an override) or else the published one; ``full_effect_at`` (> 0) is required;
    * ``response`` given: it is kept, and ``full_effect_at`` / ``reduction`` must not be given
      (nor on an effect without ``preset``: they only set a preset's curve);
    * ``description`` defaults to the preset's; every other field (lag, floor, driver, segments,
      sources, ...) is left as written, and ``preset`` / ``full_effect_at`` / ``reduction`` stay on
      the item (the schema keeps them as the record of where the curve came from).

    Problems (unknown preset or measure, missing or non-positive ``full_effect_at``, ``reduction``
    outside [0, 1], both a response and preset figures) name the file, the field path
    (``prevention_effects[<name>].<field>``), what was expected and what was found; a faulty item
    gets a placeholder curve so the schema check reports no second problem for it. The input is
    never modified; unchanged parts are shared with it.
    """
    if not isinstance(data, dict) or not isinstance(data.get(SECTION), list):
        return (dict(data) if isinstance(data, dict) else data), []
    items = data[SECTION]
    if not any(isinstance(it, dict) and any(f in it for f in ("preset", "full_effect_at", "reduction"))
               for it in items):
        return dict(data), []
    lib = library()
    known = ", ".join(lib.references())
    problems: list[Problem] = []
    out_items = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or item.get("preset") is None:
            loose = [f for f in ("full_effect_at", "reduction") if isinstance(item, dict) and f in item]
            if loose:  # only meaningful with a preset
                item = {k: v for k, v in item.items() if k not in loose}
                for f in loose:
                    problems.append(Problem(file, f"{_where(item, i)}.{f}", f"{f} only together with 'preset' "
                                            "(it sets the preset's curve); without a preset, write 'response'",
                                            describe(data[SECTION][i][f])))
            out_items.append(item)
            continue
        new = copy.deepcopy(item)
        where = _where(item, i)

        def problem(field: str, expected: str, found: Any) -> None:
            problems.append(Problem(file, f"{where}.{field}", expected, describe(found)))

        ref = item["preset"]
        preset = measure = None
        if not isinstance(ref, str) or not ref:
            problem("preset", f"an evidence-library preset written '<preset>/<measure>', one of: {known}", ref)
        else:
            preset_id, slash, measure_id = ref.partition("/")
            preset = lib.preset(preset_id)
            if preset is None:
                problem("preset", f"an evidence-library preset written '<preset>/<measure>', one of: {known} "
                                  "(budgetshift evidence lists them)", ref)
            else:
                measure = preset.measure(measure_id) if slash else None
                if measure is None:
                    choices = ", ".join(f"{preset.id}/{m.id}" for m in preset.measures)
                    problem("preset", f"a measure of preset {preset.id!r}, written '<preset>/<measure>': one of "
                                      f"{choices}", ref)
        if measure is None:
            new.pop("preset")  # reported above; keep the schema check from reporting it again
        elif not new.get("description"):
            new["description"] = _default_description(preset, measure)

        if "response" in item:
            for field in ("full_effect_at", "reduction"):
                if field in item:
                    problem(field, f"no {field} when 'response' is given (the response is the whole curve; give "
                                   "either response, or full_effect_at and optionally reduction)", item[field])
                    del new[field]
            out_items.append(new)
            continue

        ok = measure is not None
        full = item.get("full_effect_at", MISSING)
        if full is MISSING:
            problem("full_effect_at", "the driver level at which the published effect is reached in full (activity, "
                                      "or spend with driver: spend): a number > 0", MISSING)
            ok = False
        elif not _is_number(full) or full <= 0:
            problem("full_effect_at", "a number > 0 (the driver level at which the published effect is reached "
                                      "in full)", full)
            new.pop("full_effect_at")
            ok = False
        reduction = measure.reduction if measure is not None else None
        if "reduction" in item:
            given = item["reduction"]
            if not _is_number(given) or not 0 <= given <= 1:
                problem("reduction", "a fraction between 0 and 1 (an override of the published reduction"
                                     + (f" {measure.reduction:g}" if measure is not None else "") + ")", given)
                new.pop("reduction")
                ok = False
            else:
                reduction = float(given)
        new["response"] = [[0, 0], [float(full), reduction]] if ok else [[0, 0], [1, 0]]
        out_items.append(new)
    out = dict(data)
    out[SECTION] = out_items
    return out, problems


# ----------------------------------------------------------------------------- results

_TABLE_COLUMNS = ["effect", "preset", "measure", "published_reduction", "reduction_used", "overridden",
                  "full_effect_at", "driver", "curve", "citation", "url", "verify", "approximate", "mapping"]


def evidence_table(inst) -> pd.DataFrame:
    """One row per prevention effect of ``inst`` (an Instance, or anything with ``.instance``) that
    names an evidence preset.

    Columns: ``effect``; ``preset`` and ``measure`` (ids); ``published_reduction``;
    ``reduction_used`` (the curve's final level); ``overridden`` (the two differ);
    ``full_effect_at`` (the driver level where the curve first reaches that level); ``driver``
    (activity or spend); ``curve`` (``preset``: made from the preset, ``response``: the file's own
    response, the preset giving only the citation); ``citation`` (one line), ``url``, ``verify``
    (check the primary source), ``approximate`` and ``mapping`` (how the measure maps to the model).
    """
    inst = getattr(inst, "instance", inst)
    rows = []
    for e in getattr(inst.model, SECTION, None) or []:
        ref = getattr(e, "preset", None)
        if not ref:
            continue
        preset, measure = lookup(ref)
        xs = [float(x) for x, _ in e.response]
        ys = [float(y) for _, y in e.response]
        used = ys[-1]
        full = next(x for x, y in zip(xs, ys) if y >= used - 1e-12)
        rows.append({
            "effect": e.name, "preset": preset.id, "measure": measure.id,
            "published_reduction": measure.reduction, "reduction_used": used,
            "overridden": not math.isclose(used, measure.reduction, rel_tol=0, abs_tol=1e-12),
            "full_effect_at": full, "driver": e.driver,
            "curve": "preset" if getattr(e, "full_effect_at", None) is not None else "response",
            "citation": preset.citation.text(), "url": preset.citation.url, "verify": _verify(preset, measure),
            "approximate": measure.approximate, "mapping": measure.mapping,
        })
    return pd.DataFrame(rows, columns=_TABLE_COLUMNS)


__all__ = ["Citation", "LIBRARY_PATH", "Library", "Measure", "Preset", "evidence_table", "expand_presets",
           "library", "lookup", "presets", "read_library"]
