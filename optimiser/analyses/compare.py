"""Side by side: several instance files, scenarios or variants, solved and compared.

    import optimiser
    cmp = optimiser.compare(["a.yaml", "b.yaml"])                      # two files
    cmp = optimiser.compare("kent.yaml", scenarios=["no_shift", "agreed_5pp"])   # a file and its scenarios
    cmp.runs                      # one row per run (index 'instance'): status, costs, scenarios, overrides
    cmp.table("allocation")       # any result table, every run stacked, index level 'instance'
    cmp.spend_by_sector           # tidy: instance | sector, year, quantity, unit, value, difference, ...
    cmp.side_by_side("outcomes")  # wide: one column per run, then the difference to the first run
    cmp.input_differences         # the input fields that differ between the runs, a column per run
    cmp.write("out/compare")      # CSV per table + comparison.xlsx + every run's own tables

One run and many are read the same way: every tidy table has an ``instance`` index level (the
run's label), and a comparison of one run is a valid comparison. Differences are always against
the first run, as ``value - first`` and ``100 * (value - first) / |first|``.

Runs are solved by the execution engine (:mod:`optimiser.analyses.execution`): in worker processes when
there is more than one run and more than one core (by default only when the runs are slow enough
to repay starting the workers, see :func:`solve_runs`); ``workers=1`` solves in this process. The
answer is the same either way, in the order the runs were given.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from formulations.families import key_duals

from ..errors import InstanceError, Problem
from ..output.files import read_result, records, to_json, write_tables_atomically as _write
from ..output.formatting import differences, outcome_views
from . import execution
from ..input import scenarios as scenario_mod
from ..input.instance import Instance
from ..input.loading import load
from ..input.paths import parse_overrides
from ..input.variants import with_scenarios
from ..output.excel import write_workbook

# constraint families whose shadow prices a planner reads (others are counted in `binding`), in the
# order shown: the registry's key duals (formulations/families.py, ``Block.key_dual``)
KEY_CONSTRAINTS = key_duals()
# the side-by-side tables, in the order they are shown and written
TABLES = {
    "runs": "one row per run: file, scenarios, overrides, status, costs",
    "totals": "total and discounted cost of each run",
    "spend_by_sector": "spend per sector and year (base year included)",
    "sector_shares": "share of spend per sector and year",
    "shift": "shift policies: required against achieved per year",
    "outcomes": "outcomes per year against their targets",
    "programme_returns": "each prevention programme over the whole plan: spend above the base year, cases avoided, "
                         "downstream spend avoided, net cost, return per £1, cost per outcome and who saves "
                         "(money discounted), and in cash: cash released, cash return per £1, terminal value",
    "cash_flow": "cash flow per budget holder and year (instances with contracts, cost behaviour or transition "
                 "costs): programme and transition investment, cash released, demand growth, cumulative net, "
                 "payback year",
    "binding": "number of binding rows per constraint family",
    "shadow_prices": "shadow prices of the key constraints that bind in some run",
    "input_differences": "input fields that differ between the runs (after scenarios and overrides)",
}
NOT_SET = "(not set)"


# ----------------------------------------------------------------------------- input differences

def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """An instance mapping as ``{field path: value}``, paths written as ``--set`` takes them
    (named list items by name: ``services[ward].unit_cost``; others by position)."""
    out: dict[str, Any] = {}
    if isinstance(data, Mapping) and data:
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(data, list) and data and all(isinstance(v, Mapping) for v in data):
        names = [v.get("name") for v in data]
        by_name = all(isinstance(n, str) for n in names) and len(set(names)) == len(names)
        for i, value in enumerate(data):
            out.update(flatten(value, f"{prefix}[{names[i] if by_name else i}]"))
    else:
        out[prefix or "(top level)"] = data
    return out


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return f"{value:.12g}" if isinstance(value, float) else str(value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b) or (math.isnan(float(a)) and math.isnan(float(b)))
    return a == b


def input_differences(raws: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """The fields whose values differ between the runs: index ``field``, a column per run (values
    as text; ``(not set)`` where the run's file leaves the field out)."""
    labels = list(raws)
    flat = {label: flatten(dict(raw)) for label, raw in raws.items()}
    order: list[str] = []
    seen: set[str] = set()
    for label in labels:
        for path in flat[label]:
            if path not in seen:
                seen.add(path)
                order.append(path)
    missing = object()
    rows = []
    for path in order:
        values = [flat[label].get(path, missing) for label in labels]
        first = values[0]
        if all(v is not missing and first is not missing and _same(v, first) for v in values):
            continue
        rows.append([path] + [NOT_SET if v is missing else _show(v) for v in values])
    df = pd.DataFrame(rows, columns=["field"] + labels).set_index("field")
    df.columns.name = "instance"
    return df


# ----------------------------------------------------------------------------- runs

@dataclass(frozen=True)
class Run:
    """One column of a comparison: an instance (a file, possibly with scenarios and overrides)."""

    label: str
    instance: Any
    file: str
    scenarios: tuple[str, ...] = ()


def solve_runs(runs: list[Run], workers: int | None = None, progress: bool = False,
               options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Solve every run with the execution engine (:mod:`optimiser.analyses.execution`); ``{label: Result}``
    in the order given (each without its programme and instance, wherever it was solved).

    ``workers=1`` solves each run in this process; ``workers=N`` (N > 1) in up to N worker
    processes. ``workers=None`` (auto) solves the first run here and, when more than one core is
    available and the others would take at least
    :data:`~optimiser.analyses.execution.AUTO_PARALLEL_SECONDS` one after another, the rest in one worker
    process per core; otherwise here too. A run whose solve raises stops the comparison with that
    error.
    """

    task = execution.SolveEach([run.instance for run in runs], options)
    results, _ = execution.run(task, task.points(), workers="auto" if workers is None else int(workers),
                               progress=progress, label="solving", failures="raise")
    return {run.label: result for run, result in zip(runs, results)}


# ----------------------------------------------------------------------------- labels and loading

def _scenario_specs(scenarios) -> list[tuple[str, ...]]:
    """``["a", "b+c", ("d", "e")]`` -> ``[("a",), ("b", "c"), ("d", "e")]``."""
    if scenarios is None:
        return []
    if isinstance(scenarios, str):
        scenarios = [scenarios]
    specs = []
    for s in scenarios:
        names = tuple(p.strip() for p in s.split("+")) if isinstance(s, str) else tuple(s)
        names = tuple(n for n in names if n)
        if names and names not in specs:
            specs.append(names)
    return specs


def _stem(source: str, fallback: str) -> str:
    if source and not source.startswith("<"):
        return Path(source).stem
    return fallback


def _unique(labels: list[str], sources: list[str]) -> list[str]:
    """Labels made unique: by the file's folder where two files share a name, else by number."""
    out = list(labels)
    for i, lab in enumerate(labels):
        clash = [j for j, other in enumerate(labels) if other == lab]
        if len(clash) > 1 and len({sources[j] for j in clash}) == len(clash) and sources[i]:
            parent = Path(sources[i]).parent.name
            out[i] = f"{parent}/{lab}" if parent else lab
    counts: dict[str, int] = {}
    for i, lab in enumerate(list(out)):
        if out.count(lab) > 1 or lab in counts:
            counts[lab] = counts.get(lab, 0) + 1
            out[i] = f"{lab} #{counts[lab]}"
    return out


def build_runs(items, scenarios=None, *, overrides: Mapping[str, Any] | list[str] | None = None,
               include_base: bool = True) -> list[Run]:
    """Load every item (a path or an :class:`~optimiser.input.instance.Instance`; a mapping gives labels),
    once as written (``include_base``) and once per scenario (``"a+b"`` combines two). Every problem
    in every file is reported together."""

    if isinstance(overrides, (list, tuple)):
        overrides = parse_overrides(overrides)
    overrides = dict(overrides or {})
    if isinstance(items, (str, Path, Instance)):
        items = [items]
    given_labels: list[str | None]
    if isinstance(items, Mapping):
        given_labels, items = list(items), list(items.values())
    else:
        items = list(items)
        given_labels = [None] * len(items)
    if not items:
        raise ValueError("compare needs at least one instance file or instance")
    specs = _scenario_specs(scenarios)
    problems: list[Problem] = []
    bases: list[Any] = []
    for item in items:
        try:
            if isinstance(item, Instance):
                bases.append(item.with_overrides(overrides) if overrides else item)
                if overrides:  # with_overrides forgets the scenario definitions: keep them
                    extra = dict(bases[-1].extra or {})
                    extra["scenario_definitions"] = scenario_mod.definitions(item)
                    extra["scenarios"] = scenario_mod.applied(item)
                    bases[-1] = bases[-1].with_record(extra=extra)
            else:
                bases.append(load(item, overrides=overrides))
        except InstanceError as exc:
            problems += exc.problems
            bases.append(None)
    if problems:
        raise InstanceError(problems)
    known = sorted({n for b in bases for n in scenario_mod.definitions(b)})
    files = ", ".join(str(b.source) for b in bases)
    for spec in specs:
        if any(all(n in scenario_mod.definitions(b) for n in spec) for b in bases):
            continue
        unknown = [n for n in spec if n not in known]
        for name in unknown:
            problems.append(Problem(files, "--scenario", "a scenario defined in the file(s)"
                                    + (": one of " + ", ".join(known) if known else " (none defines any)"),
                                    repr(name)))
        if not unknown:
            problems.append(Problem(files, "--scenario", "scenarios combined with '+' that one file defines "
                                    "together", repr("+".join(spec))))
    if problems:
        raise InstanceError(problems)
    runs: list[tuple[str, Any, str, tuple[str, ...]]] = []
    for base, item, given in zip(bases, items, given_labels):
        stem = given or _stem(base.source, base.name)
        if include_base or not specs:
            runs.append((stem, base, base.source, tuple(scenario_mod.applied(base))))
        for spec in specs:
            if not all(n in scenario_mod.definitions(base) for n in spec):
                continue
            try:
                if isinstance(item, Instance):
                    inst = with_scenarios(base, list(spec))
                else:
                    inst = load(item, overrides=overrides, scenarios=list(spec))
            except InstanceError as exc:
                problems += exc.problems
                continue
            runs.append((f"{stem}+{'+'.join(spec)}", inst, inst.source, tuple(scenario_mod.applied(inst))))
    if problems:
        raise InstanceError(sorted(set(problems), key=problems.index))
    labels = _unique([r[0] for r in runs], [r[2] for r in runs])
    return [Run(label=lab, instance=inst, file=src, scenarios=sc) for lab, (_, inst, src, sc) in zip(labels, runs)]


# ----------------------------------------------------------------------------- the comparison

def _tidy(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Frames per run stacked with an ``instance`` index level, runs in the order given."""
    parts = [df.assign(instance=label) for label, df in frames.items() if df is not None]
    if not parts:
        return pd.DataFrame(index=pd.Index([], name="instance"))
    out = pd.concat(parts, ignore_index=True)
    return out.set_index("instance")


def _with_differences(tidy: pd.DataFrame, keys: list[str], labels: list[str]) -> pd.DataFrame:
    """Add ``difference`` (value - the first run's) and ``difference_pct`` to a tidy value table."""
    if tidy.empty:
        return tidy.assign(difference=pd.Series(dtype=float), difference_pct=pd.Series(dtype=float))
    flat = tidy.reset_index()
    first = flat[flat["instance"] == labels[0]][keys + ["value"]].rename(columns={"value": "_first"})
    flat = flat.merge(first, on=keys, how="left") if keys else flat.assign(_first=np.nan)
    flat["difference"], flat["difference_pct"] = differences(flat["value"], flat["_first"])
    flat = flat.drop(columns="_first")
    return flat.set_index("instance")


def _readable_key(col: str) -> str:
    text = col.replace("_", " ")
    return text[:1].upper() + text[1:]


@dataclass
class Comparison:
    """Several runs side by side. Build it with :func:`compare` (or :meth:`from_folder`)."""

    labels: list[str]
    runs: pd.DataFrame
    tables_by_run: dict[str, dict[str, pd.DataFrame]]
    summaries: dict[str, dict[str, Any]]
    input_differences: pd.DataFrame | None = None
    results: dict[str, Any] = field(default_factory=dict)
    currency: str = "GBP"

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_results(cls, results: Mapping[str, Any], raws: Mapping[str, Mapping] | None = None,
                     files: Mapping[str, str] | None = None) -> "Comparison":
        tables = {label: dict(r.tables) for label, r in results.items()}
        summaries = {label: dict(r.summary) for label, r in results.items()}
        cmp = cls.from_tables(tables, summaries, raws=raws, files=files)
        cmp.results = dict(results)
        return cmp

    @classmethod
    def from_tables(cls, tables: Mapping[str, Mapping[str, pd.DataFrame]], summaries: Mapping[str, Mapping],
                    raws: Mapping[str, Mapping] | None = None, files: Mapping[str, str] | None = None,
                    input_diff: pd.DataFrame | None = None) -> "Comparison":
        labels = list(tables)
        rows = []
        for label in labels:
            s = summaries[label]
            rows.append({
                "instance": label,
                "file": (files or {}).get(label, s.get("source")),
                "name": s.get("instance"),
                "scenarios": "+".join(s.get("scenarios") or []),
                "overrides": ", ".join(f"{k}={v}" for k, v in (s.get("overrides") or {}).items()),
                "status": s.get("status"),
                "message": s.get("status_message"),
                "objective": s.get("objective"),
                "total_cost": s.get("total_cost", np.nan),
                "discounted_cost": s.get("discounted_cost", np.nan),
            })
        runs = pd.DataFrame(rows, columns=["instance", "file", "name", "scenarios", "overrides", "status",
                                           "message", "objective", "total_cost", "discounted_cost"])
        runs = runs.set_index("instance")
        runs["objective"] = pd.to_numeric(runs["objective"], errors="coerce")
        if input_diff is None and raws is not None:
            input_diff = input_differences({label: raws[label] for label in labels})
        currency = next((summaries[lab].get("currency") for lab in labels if summaries[lab].get("currency")), "GBP")
        return cls(labels=labels, runs=runs, tables_by_run={k: dict(v) for k, v in tables.items()},
                   summaries={k: dict(v) for k, v in summaries.items()}, input_differences=input_diff,
                   currency=currency)

    @classmethod
    def from_folder(cls, directory: str | Path) -> "Comparison":
        """Read a comparison written by :meth:`write` (``budgetshift compare --out``)."""

        directory = Path(directory)
        doc = json.loads((directory / "comparison.json").read_text(encoding="utf-8"))
        tables, summaries, files = {}, {}, {}
        for run in doc["runs"]:
            t, s = read_result(directory / run["folder"])
            tables[run["instance"]] = t
            summaries[run["instance"]] = s
            files[run["instance"]] = run.get("file")
        diff = None
        path = directory / "input_differences.csv"
        if path.is_file() and doc.get("input_differences", True):
            try:
                raw = pd.read_csv(path, dtype=str, keep_default_na=False)
                diff = raw.rename(columns={"Field": "field"}).set_index("field")
                diff.columns.name = "instance"
            except pd.errors.EmptyDataError:
                diff = None
        return cls.from_tables(tables, summaries, files=files, input_diff=diff)

    # ------------------------------------------------------------------ tidy tables
    def table(self, name: str) -> pd.DataFrame:
        """Result table ``name`` of every run, stacked, with an ``instance`` index level (runs
        without a plan have no rows)."""
        return _tidy({label: t.get(name) for label, t in self.tables_by_run.items()})

    @property
    def totals(self) -> pd.DataFrame:
        """Total and discounted cost of each run (the objective is in :attr:`runs`)."""
        parts = []
        for label in self.labels:
            r = self.runs.loc[label]
            parts.append(pd.DataFrame({"quantity": ["total cost", "discounted cost"],
                                       "unit": [self.currency, self.currency],
                                       "value": [r["total_cost"], r["discounted_cost"]]}).assign(instance=label))
        tidy = pd.concat(parts, ignore_index=True).set_index("instance")
        tidy["value"] = pd.to_numeric(tidy["value"], errors="coerce")
        return _with_differences(tidy, ["quantity"], self.labels)

    @property
    def spend_by_sector(self) -> pd.DataFrame:
        t = self.table("sector_shares")
        if t.empty:
            return _with_differences(pd.DataFrame(columns=["sector", "year", "quantity", "unit", "value"],
                                                  index=pd.Index([], name="instance")), ["sector", "year"], self.labels)
        tidy = t[["sector", "year"]].assign(quantity="spend", unit=self.currency, value=t["spend"])
        return _with_differences(tidy, ["sector", "year"], self.labels)

    @property
    def sector_shares(self) -> pd.DataFrame:
        t = self.table("sector_shares")
        if t.empty:
            return _with_differences(pd.DataFrame(columns=["sector", "year", "quantity", "unit", "value"],
                                                  index=pd.Index([], name="instance")), ["sector", "year"], self.labels)
        tidy = t[["sector", "year"]].assign(quantity="share", unit="fraction", value=t["share"])
        return _with_differences(tidy, ["sector", "year"], self.labels)

    @property
    def shift(self) -> pd.DataFrame:
        t = self.table("shift")
        cols = ["policy", "year", "quantity", "unit", "value"]
        if t.empty:
            return _with_differences(pd.DataFrame(columns=cols, index=pd.Index([], name="instance")),
                                     ["policy", "year", "quantity"], self.labels)
        flat = t.reset_index()
        flat["unit"] = np.where(flat["kind"] == "share", "fraction", self.currency)
        margin = (flat["achieved"] - flat["required"]).to_numpy(dtype=float)
        # achieved meets required up to the solver's tolerance: show that as 0
        scale = np.where(flat["kind"] == "share", 1.0, np.maximum(1.0, flat["required"].abs().to_numpy(dtype=float)))
        flat["margin"] = np.where(np.abs(margin) <= 1e-9 * scale, 0.0, margin)
        long = flat.melt(id_vars=["instance", "policy", "year", "unit"], value_vars=["required", "achieved", "margin"],
                         var_name="quantity", value_name="value")
        order = {"required": 0, "achieved": 1, "margin": 2}
        long["_o"] = long["quantity"].map(order)
        long["_r"] = long["instance"].map({lab: i for i, lab in enumerate(self.labels)})
        long = long.sort_values(["_r", "policy", "year", "_o"], kind="stable").drop(columns=["_o", "_r"])
        tidy = long[["instance"] + cols].set_index("instance")
        return _with_differences(tidy, ["policy", "year", "quantity"], self.labels)

    @property
    def outcomes(self) -> pd.DataFrame:
        t = self.table("outcomes")
        cols = ["outcome", "year", "quantity", "unit", "value"]
        if t.empty:
            return _with_differences(pd.DataFrame(columns=cols, index=pd.Index([], name="instance")),
                                     ["outcome", "year", "quantity"], self.labels)
        flat = t.reset_index()
        quantities = ["value"] + [c for c in ("at_most", "at_least") if flat[c].notna().any()]
        long = flat.melt(id_vars=["instance", "outcome", "year", "unit"], value_vars=quantities,
                         var_name="quantity", value_name="amount")
        long["quantity"] = long["quantity"].map({"value": "value", "at_most": "target (at most)",
                                                 "at_least": "target (at least)"})
        long = long.dropna(subset=["amount"]) if len(quantities) > 1 else long
        long["_o"] = long["quantity"].map({"value": 0, "target (at most)": 1, "target (at least)": 2})
        long["_r"] = long["instance"].map({lab: i for i, lab in enumerate(self.labels)})
        long["_p"] = long["outcome"].map({o: i for i, o in enumerate(dict.fromkeys(flat["outcome"]))})
        long = long.sort_values(["_r", "_p", "year", "_o"], kind="stable")
        tidy = long.rename(columns={"amount": "value"})[["instance"] + cols].set_index("instance")
        return _with_differences(tidy, ["outcome", "year", "quantity"], self.labels)

    def outcome_views(self) -> dict:
        """How each outcome is shown to a planner (:class:`~optimiser.output.formatting.OutcomeView`),
        judged on every run's figures so all runs are shown alike."""

        t = self.table("outcomes")
        return outcome_views(t.reset_index()) if not t.empty else {}

    @property
    def programme_returns(self) -> pd.DataFrame:
        """Each prevention programme's return over the whole plan (the ``total`` rows of the runs'
        programme_returns, programme_outcomes and savings_by_holder tables), tidy: programme,
        quantity, unit, value. Money is discounted at each run's own rate; outcomes are counted as
        they happen and their cost per unit is discounted cost over discounted outcome."""
        cols = ["programme", "quantity", "unit", "value"]
        cur = self.currency
        parts = []
        for label in self.labels:
            t = self.tables_by_run.get(label) or {}
            ret = t.get("programme_returns")
            if ret is None or not len(ret):
                continue
            rows = []
            tot = ret[ret["period"].astype(str) == "total"]
            for r in tot.itertuples(index=False):
                rows += [(r.programme, "spend above base year (discounted)", cur, r.discounted_extra_spend),
                         (r.programme, "cases avoided", "cases", r.cases_avoided),
                         (r.programme, "downstream spend avoided (discounted)", cur, r.discounted_spend_avoided),
                         (r.programme, "net cost (discounted; below 0: saves money)", cur, r.discounted_net_cost),
                         (r.programme, "return per £1 (discounted)", "ratio", r.discounted_return_per_pound)]
                if hasattr(r, "discounted_cash_released"):
                    rows += [(r.programme, "cash released (discounted)", cur, r.discounted_cash_released),
                             (r.programme, "cash return per £1 (discounted)", "ratio",
                              r.discounted_cash_return_per_pound)]
                if hasattr(r, "discounted_terminal_value") and not pd.isna(r.discounted_terminal_value):
                    rows += [(r.programme, "terminal value (discounted, after the plan)", cur,
                              r.discounted_terminal_value),
                             (r.programme, "return per £1 with terminal value (discounted)", "ratio",
                              r.discounted_return_with_terminal_value)]
            po = t.get("programme_outcomes")
            if po is not None and len(po):
                for r in po[po["period"].astype(str) == "total"].itertuples(index=False):
                    unit = r.unit if isinstance(r.unit, str) and r.unit else str(r.outcome)
                    rows += [(r.programme, str(r.measure), unit, r.improvement),
                             (r.programme, f"cost per {r.measure} (discounted)", cur, r.discounted_cost_per_unit),
                             (r.programme, f"net cost per {r.measure} (discounted; below 0: saves money)", cur,
                              r.discounted_net_cost_per_unit)]
            sh = t.get("savings_by_holder")
            if sh is not None and len(sh):
                sh = sh[sh["period"].astype(str) == "total"]
                whole = sh.groupby("programme")["discounted_savings"].transform("sum")
                for r, w in zip(sh.itertuples(index=False), whole):
                    rows += [(r.programme, f"savings to {r.holder} (discounted)", cur, r.discounted_savings),
                             (r.programme, f"share of savings to {r.holder}", "fraction",
                              r.discounted_savings / w if abs(w) > 1e-6 else np.nan)]
                    if hasattr(r, "discounted_cash_released"):
                        rows += [(r.programme, f"cash released to {r.holder} (discounted)", cur,
                                  r.discounted_cash_released)]
            df = pd.DataFrame(rows, columns=cols)
            rank = {p_: i for i, p_ in enumerate(dict.fromkeys(list(tot["programme"]) + list(df["programme"])))}
            df = df.iloc[np.argsort(df["programme"].map(rank).to_numpy(), kind="stable")]
            parts.append(df.assign(instance=label))
        if not parts:
            return _with_differences(pd.DataFrame(columns=cols, index=pd.Index([], name="instance")),
                                     ["programme", "quantity"], self.labels)
        tidy = pd.concat(parts, ignore_index=True)
        value = pd.to_numeric(tidy["value"], errors="coerce").to_numpy(dtype=float)
        tidy["value"] = np.where(np.abs(value) <= 1e-6, 0.0, value)  # the solver's rounding, not a figure
        return _with_differences(tidy.set_index("instance"), ["programme", "quantity"], self.labels)

    @property
    def cash_flow(self) -> pd.DataFrame:
        """Each run's cash flow per holder (the runs' cash_flow tables), tidy: holder, year,
        quantity, unit, value; quantities invested (programme and transition investment), cash
        released, demand growth, cumulative net per year, and a ``payback year`` row per holder
        (year ``plan``; blank: no payback within the plan)."""
        cols = ["holder", "year", "quantity", "unit", "value"]
        cur = self.currency
        parts = []
        for label in self.labels:
            flow = (self.tables_by_run.get(label) or {}).get("cash_flow")
            if flow is None or not len(flow):
                continue
            rows = []
            for r in flow.itertuples(index=False):
                y = str(int(r.year))
                rows += [(r.holder, y, "invested", cur, r.invested), (r.holder, y, "cash released", cur, r.saved),
                         (r.holder, y, "demand growth (not investment)", cur, getattr(r, "demand_growth", np.nan)),
                         (r.holder, y, "cumulative net", cur, r.cumulative_net)]
            for r in flow.drop_duplicates("holder").itertuples(index=False):
                rows.append((r.holder, "plan", "payback year", "year", r.payback_year))
            parts.append(pd.DataFrame(rows, columns=cols).assign(instance=label))
        if not parts:
            return _with_differences(pd.DataFrame(columns=cols, index=pd.Index([], name="instance")),
                                     ["holder", "year", "quantity"], self.labels)
        tidy = pd.concat(parts, ignore_index=True)
        value = pd.to_numeric(tidy["value"], errors="coerce").to_numpy(dtype=float)
        tidy["value"] = np.where(np.abs(value) <= 1e-6, 0.0, value)
        return _with_differences(tidy.set_index("instance"), ["holder", "year", "quantity"], self.labels)

    @property
    def binding(self) -> pd.DataFrame:
        t = self.table("constraints")
        cols = ["constraint", "quantity", "unit", "value"]
        if t.empty:
            return _with_differences(pd.DataFrame(columns=cols, index=pd.Index([], name="instance")),
                                     ["constraint"], self.labels)
        flat = t.reset_index()
        g = flat.groupby(["instance", "constraint"], sort=False)["binding"].sum().reset_index()
        g = g.assign(quantity="binding rows", unit="rows", value=g["binding"].astype(float))
        return _with_differences(g[["instance"] + cols].set_index("instance"), ["constraint"], self.labels)

    @property
    def shadow_prices(self) -> pd.DataFrame:
        """Duals of the key constraints (budget, shift, targets, floors, growth and shrink limits)
        on every row with a non-zero dual in at least one run."""
        t = self.table("constraints")
        cols = ["constraint", "keys", "quantity", "unit", "value"]
        if t.empty:
            return _with_differences(pd.DataFrame(columns=cols, index=pd.Index([], name="instance")),
                                     ["constraint", "keys"], self.labels)
        flat = t.reset_index()
        flat = flat[flat["constraint"].isin(KEY_CONSTRAINTS)]
        live = flat[flat["dual"].fillna(0).abs() > 1e-9][["constraint", "keys"]]
        flat = flat.merge(live.drop_duplicates(), on=["constraint", "keys"])
        dual = flat["dual"].to_numpy(dtype=float)
        flat = flat.assign(quantity="shadow price", unit=flat["dual_unit"].fillna(""),
                           value=np.where(np.abs(dual) <= 1e-9, 0.0, dual))
        order = {c: i for i, c in enumerate(KEY_CONSTRAINTS)}
        flat["_o"] = flat["constraint"].map(order)
        flat["_r"] = flat["instance"].map({lab: i for i, lab in enumerate(self.labels)})
        flat = flat.sort_values(["_r", "_o"], kind="stable")
        return _with_differences(flat[["instance"] + cols].set_index("instance"), ["constraint", "keys"], self.labels)

    # ------------------------------------------------------------------ side by side
    _KEYS = {"totals": ["quantity"], "spend_by_sector": ["sector", "year"], "sector_shares": ["sector", "year"],
             "shift": ["policy", "year", "quantity"], "outcomes": ["outcome", "year", "quantity"],
             "programme_returns": ["programme", "quantity"], "cash_flow": ["holder", "year", "quantity"],
             "binding": ["constraint"],
             "shadow_prices": ["constraint", "keys"]}

    def side_by_side(self, name: str, tidy: pd.DataFrame | None = None) -> pd.DataFrame:
        """A comparison table with one column per run, then, for every run after the first, its
        difference to the first (``Δ label``) and the difference in per cent (``Δ% label``).
        Headers are readable and carry the unit where all rows share one. ``tidy`` replaces the
        tidy table ``name`` (e.g. the outcomes as a planner reads them, for a report)."""
        if name == "runs":
            return self._runs_table()
        if name == "input_differences":
            return self._input_table()
        keys = self._KEYS[name]
        tidy = getattr(self, name) if tidy is None else tidy
        flat = tidy.reset_index()
        units = flat["unit"].dropna().unique() if "unit" in flat else []
        one_unit = units[0] if len(units) == 1 else None
        row_keys = keys + ([] if one_unit is not None or "unit" not in flat else ["unit"])
        base = flat[row_keys].drop_duplicates() if len(flat) else pd.DataFrame(columns=row_keys)
        out = base.reset_index(drop=True)
        for label in self.labels:
            part = flat[flat["instance"] == label][keys + ["value"]].rename(columns={"value": label})
            out = out.merge(part, on=keys, how="left") if len(out) else out.assign(**{label: pd.Series(dtype=float)})
        first = self.labels[0]
        cols = list(row_keys) + [first]
        for label in self.labels[1:]:
            out[f"Δ {label}"], out[f"Δ% {label}"] = differences(out[label], out[first])
            cols += [label, f"Δ {label}", f"Δ% {label}"]
        out = out[cols]
        suffix = f" ({one_unit})" if one_unit else ""
        rename = {k: _readable_key(k) for k in row_keys}
        for label in self.labels:
            rename[label] = f"{label}{suffix}"
            rename[f"Δ {label}"] = f"Δ {label}{suffix}"
            rename[f"Δ% {label}"] = f"Δ% {label} (%)"
        return out.rename(columns=rename)

    def _runs_table(self) -> pd.DataFrame:
        out = self.runs.reset_index()
        cur = self.currency
        return out.rename(columns={"instance": "Instance", "file": "File", "name": "Name", "scenarios": "Scenarios",
                                   "overrides": "Overrides", "status": "Status", "message": "Message",
                                   "objective": "Objective", "total_cost": f"Total cost ({cur})",
                                   "discounted_cost": f"Discounted cost ({cur})"})

    def _input_table(self) -> pd.DataFrame:
        if self.input_differences is None:
            return pd.DataFrame(columns=["Field"] + self.labels)
        out = self.input_differences.reset_index().rename(columns={"field": "Field"})
        out.columns.name = None
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every side-by-side table (what ``--out`` writes), in :data:`TABLES` order."""
        out = {name: self.side_by_side(name) for name in TABLES}
        if self.input_differences is None:
            out.pop("input_differences")
        return out

    def tidy_tables(self) -> dict[str, pd.DataFrame]:
        """Every comparison table in tidy form (index ``instance``), as ``--json`` prints them."""
        return {name: getattr(self, name) for name in self._KEYS}

    # ------------------------------------------------------------------ output
    def to_dict(self) -> dict[str, Any]:
        """One JSON-ready document: the runs, every tidy comparison table and the input differences."""
        runs = records(self.runs.reset_index())
        for r in runs:
            r["scenarios"] = self.summaries[r["instance"]].get("scenarios") or []
            r["overrides"] = self.summaries[r["instance"]].get("overrides") or {}
        doc: dict[str, Any] = {"instances": list(self.labels), "runs": runs,
                               "baseline": self.labels[0], "currency": self.currency}
        for name, df in self.tidy_tables().items():
            doc[name] = records(df.reset_index())
        if self.input_differences is not None:
            doc["input_differences"] = [
                {"field": f, "values": {lab: row[lab] for lab in self.labels}}
                for f, row in self.input_differences.iterrows()]
        return doc

    def write(self, directory: str | Path, overwrite: bool = False, workbook: bool = True) -> Path:
        """Every side-by-side table as CSV and (``workbook``) one sheet each of ``comparison.xlsx``;
        ``comparison.json``; and each run's own result tables in ``runs/<label>/`` — atomically."""

        tables = self.tables()
        folders = _folders(self.labels)
        doc = {"instances": list(self.labels), "baseline": self.labels[0],
               "tables": {name: f"{name}.csv" for name in tables},
               "workbook": "comparison.xlsx" if workbook else None,
               "input_differences": self.input_differences is not None,
               "runs": [{"instance": lab, "folder": folders[lab], "file": self.runs.loc[lab, "file"],
                         "status": self.runs.loc[lab, "status"]} for lab in self.labels]}

        def extra(tmp: Path) -> None:
            for label in self.labels:
                summary = dict(self.summaries[label])
                summary["tables"] = {name: f"{name}.csv" for name in self.tables_by_run[label]}
                stats = (self.results.get(label).stats if label in self.results else {}) or {}
                summary["model"] = {k: v for k, v in stats.items()
                                    if not k.endswith("_seconds") and k != "build_steps_seconds"}
                sub = tmp / folders[label]
                sub.mkdir(parents=True)
                for name, df in self.tables_by_run[label].items():
                    df.to_csv(sub / f"{name}.csv", index=False, float_format="%.10g", lineterminator="\n")
                (sub / "summary.json").write_text(to_json(summary) + "\n", encoding="utf-8")
            if workbook:
                about = {"runs": ", ".join(self.labels), "differences against": self.labels[0],
                         "currency": self.currency}
                write_workbook(tmp / "comparison.xlsx", tables, descriptions=TABLES,
                               headers={n: list(df.columns) for n, df in tables.items()}, about=about,
                               currency=self.currency, title="budgetshift comparison")

        return _write(directory, tables, {"comparison": doc}, overwrite=overwrite, extra=extra)


def _folders(labels: list[str]) -> dict[str, str]:
    out, used = {}, set()
    for i, label in enumerate(labels):
        slug = re.sub(r"[^A-Za-z0-9._+-]+", "_", label).strip("._") or f"run{i + 1}"
        name, k = slug, 2
        while name.lower() in used:
            name, k = f"{slug}_{k}", k + 1
        used.add(name.lower())
        out[label] = f"runs/{name}"
    return out


# ----------------------------------------------------------------------------- the API call

def compare(items, scenarios: Iterable[str] | str | None = None, *, overrides=None, include_base: bool = True,
            workers: int | None = None, progress: bool = False, time_limit: float | None = None,
            threads: int | None = None, backend: str = "highs") -> Comparison:
    """Solve every run and compare them side by side.

    ``items``: instance files and/or :class:`~optimiser.input.instance.Instance` objects (a mapping
    ``{label: item}`` names the runs). ``scenarios``: scenario names defined in the files; each
    adds a run per file that defines it (``"a+b"`` applies two together), after the file as
    written unless ``include_base=False``. ``overrides`` (``--set``) apply to every run, over any
    scenario. ``workers``: processes to solve in (default: the number of cores; 1 solves here).
    Raises :class:`~optimiser.errors.InstanceError` listing every problem in every input.
    """
    runs = build_runs(items, scenarios, overrides=overrides, include_base=include_base)
    options = {"time_limit": time_limit, "threads": threads, "backend": backend}
    results = solve_runs(runs, workers=workers, progress=progress, options=options)
    raws = {run.label: run.instance.raw for run in runs}
    files = {run.label: run.file for run in runs}
    return Comparison.from_results(results, raws=raws, files=files)
