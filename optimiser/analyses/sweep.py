"""Parameter sweeps: the same plan solved over a grid of values of one or more fields.

    table = optimiser.sweep("instances/kent.yaml", vary={"shift_policies[0].increase_pp": "0:0.3:0.05"})
    table = optimiser.sweep(inst, vary={"targets[0].at_most": [60, 80, 100],
                                        "services[ward].unit_cost": [900, 1000]}, workers=4)

Every point of the grid (the product of the values, the first field varying slowest) is the
instance with those overrides applied, checked and solved like any variant; the answer is one
tidy table, one row per point (:func:`plan_record` lists the columns): the varied values,
status, costs, spend by sector and sector shares per year, outcomes, the key shadow prices and,
for a point with no plan, the smallest relaxation that would make one possible (from
:func:`optimiser.explain`) in one text column. An infeasible point is an answer, not a failure; a
point whose overrides make the instance invalid has status ``invalid`` and the problems in
``message``; a point whose solve fails twice has status ``failed``.

Points are solved warm in this process by default (one :class:`~optimiser.solving.session.Session`:
only the changed numbers are pushed into HiGHS between points, and with
:meth:`~optimiser.solving.session.Session.solve_many` the next point is built while HiGHS solves), in
``workers`` local processes,
or on Dask (``backend="dask"``); see :mod:`optimiser.execution` for the backends, retries and
checkpoints (``checkpoint=FILE, resume=True`` continues an interrupted sweep).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from formulations.families import BLOCKS, sweep_duals

from . import execution
from ..output import htmlparts
from ..output.formatting import money_scale, money_unit, run_colour, sector_colour, words
from ..errors import InstanceError, Problem

#: the constraint blocks whose shadow prices a point's record carries (summed over the years), in
#: the record's order: the registry's ``Block.sweep_dual`` (formulations/families.py)
KEY_DUALS = sweep_duals()


# ============================================================================ the grid

def parse_values(text: str, where: str = "--vary") -> list:
    """``"60:100:10"`` -> ``[60, 70, 80, 90, 100]`` (the stop included when the steps reach it);
    ``"0.1,0.2,0.5"`` -> ``[0.1, 0.2, 0.5]``; one value -> a list of one. Values are read
    exactly (decimal arithmetic), and are whole numbers when start and step are."""
    import yaml

    text = str(text).strip()
    if ":" in text and not text.startswith(("[", "{")):
        parts = [p.strip() for p in text.split(":")]
        if len(parts) != 3 or not all(parts):
            raise InstanceError([Problem(where, text, "START:STOP:STEP (three numbers, e.g. 60:100:10)",
                                         repr(text))])
        try:
            start, stop, step = (Decimal(p) for p in parts)
        except InvalidOperation:
            raise InstanceError([Problem(where, text, "START:STOP:STEP with numbers, e.g. 60:100:10",
                                         repr(text))]) from None
        if not all(d.is_finite() for d in (start, stop, step)):
            raise InstanceError([Problem(where, text, "START:STOP:STEP with finite numbers (not nan or inf)",
                                         repr(text))])
        if step == 0 or (stop - start) * step < 0:
            raise InstanceError([Problem(where, text, "a STEP that leads from START to STOP (not zero, with "
                                         "the sign of STOP - START)", f"step {parts[2]}")])
        n = int((stop - start) / step) + 1
        if n > 1_000_000:
            raise InstanceError([Problem(where, text, "at most a million values", f"{n} values")])
        whole = start == start.to_integral_value() and step == step.to_integral_value()
        values = [start + k * step for k in range(n)]
        return [int(v) if whole else float(v) for v in values]
    if "," in text and not text.startswith(("[", "{")):
        items = [t.strip() for t in text.split(",")]
    else:
        items = [text]
    out = []
    for item in items:
        try:
            out.append(yaml.safe_load(item))
        except yaml.YAMLError:
            out.append(item)
    if isinstance(out[0], list) and len(out) == 1:
        return list(out[0])
    return out


def parse_vary(items: Iterable[str]) -> dict[str, list]:
    """``["a.b=1:3:1", "c=0.1,0.2"]`` -> ``{"a.b": [1, 2, 3], "c": [0.1, 0.2]}``."""
    vary: dict[str, list] = {}
    problems = []
    for item in items:
        path, eq, spec = str(item).partition("=")
        path = path.strip()
        if not eq or not path or not spec.strip():
            problems.append(Problem("--vary", str(item), "PATH=START:STOP:STEP or PATH=V1,V2,...", repr(item)))
            continue
        if path in vary:
            problems.append(Problem("--vary", path, "each field varied once", "it is given twice"))
            continue
        try:
            vary[path] = parse_values(spec, where=f"--vary {path}")
        except InstanceError as exc:
            problems += exc.problems
    if problems:
        raise InstanceError(problems)
    return vary


def _values(values: Any, path: str) -> list:
    if isinstance(values, str):
        return parse_values(values, where=f"vary {path}")
    if isinstance(values, (int, float, np.number)):
        return [values]
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def grid(vary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every combination of the values of ``vary`` (the first field varying slowest)."""
    paths = list(vary)
    lists = [_values(vary[p], p) for p in paths]
    for p, v in zip(paths, lists):
        if not v:
            raise InstanceError([Problem("vary", p, "at least one value", "none")])
    return [dict(zip(paths, combo)) for combo in itertools.product(*lists)]


def check_paths(inst, paths: Sequence[str], first: Mapping[str, Any]) -> None:
    """Fail early (every problem at once) on a varied path the file does not have, or that names
    a field the format does not know; a *value* that makes a point invalid is that point's answer."""
    from ..input.loading import apply_overrides

    try:
        apply_overrides(dict(inst.raw), dict(first), source="--vary")
    except InstanceError as exc:
        raise InstanceError(exc.problems) from None
    try:
        inst.with_overrides(dict(first))
    except InstanceError as exc:
        bad = [p for p in exc.problems if p.expected.startswith("a field the format knows")]
        if bad:
            raise InstanceError(bad) from None


# ============================================================================ one point's answer

def _sum(series: pd.Series):
    v = pd.to_numeric(series, errors="coerce").sum(min_count=1)
    return None if pd.isna(v) else float(v)


def plan_record(result, *, explain: bool = True) -> dict[str, Any]:
    """One solve as one flat record (a row of a sweep, Pareto or uncertainty table):

    * ``status``, ``message`` (the status in words), ``objective``, ``total_cost`` and
      ``discounted_cost`` (the sum over the planning years of spend, undiscounted and discounted);
    * ``spend:<sector>``: spend over the planning years; ``share:<sector>:<year>``: the sector's
      share of that year's spend;
    * ``outcome:<name>``: the outcome's total over the planning years; ``outcome:<name>:<year>``;
    * ``dual:pooled_budget``, ``dual:outcome_target:<outcome>``, ``dual:shift_share:<policy>``,
      ``dual:shift_transfer:<policy>``: shadow prices summed over the years, i.e. the change in the
      objective when the bound moves by one unit in every year (HiGHS's sign: per unit increase
      of the bound);
    * ``relaxation`` (infeasible points, with ``explain``): the smallest relaxation of targets,
      budget, shift rules, capacities and stability limits that gives a plan, in words.
    """
    from ..solving.solve import Status

    s = result.summary
    rec: dict[str, Any] = {"status": result.status.value, "message": result.message,
                           "objective": result.objective, "total_cost": s.get("total_cost"),
                           "discounted_cost": s.get("discounted_cost")}
    if result.has_plan:
        sh = result.tables["sector_shares"]
        sh = sh[~sh["is_base_year"].astype(bool)]
        for sector, g in sh.groupby("sector", sort=False):
            rec[f"spend:{sector}"] = float(g["spend"].sum())
        for r in sh.itertuples(index=False):
            rec[f"share:{r.sector}:{int(r.year)}"] = float(r.share)
        out = result.tables["outcomes"]
        for name, g in out.groupby("outcome", sort=False):
            rec[f"outcome:{name}"] = float(g["value"].sum())
        for r in out.itertuples(index=False):
            rec[f"outcome:{r.outcome}:{int(r.year)}"] = float(r.value)
        cons = result.tables["constraints"]
        lp = result.lp
        for name in KEY_DUALS:
            rows = cons[cons["constraint"] == name]
            if not len(rows):
                continue
            if BLOCKS[name].keys == ("year",):  # one row a year (the pooled budget): one figure
                rec[f"dual:{name}"] = _sum(rows["dual"])
                continue
            if lp is not None and name in lp.constraints and len(lp.constraints[name]) == len(rows):
                items = lp.constraints[name].index.iloc[:, 0].astype(str).to_numpy()
            else:
                items = rows["keys"].astype(str).str.split(", ").str[0].to_numpy()
            for item, d in rows["dual"].groupby(items, sort=False):
                rec[f"dual:{name}:{item}"] = _sum(d)
    if result.status is Status.INFEASIBLE and explain and result.lp is not None:
        rec["relaxation"] = relaxation_words(result)
    return rec


def relaxation_words(result) -> str:
    """The smallest relaxation that makes an infeasible plan possible, in one line of words."""
    from .explain import explain as explain_api

    try:
        ex = explain_api(result, alone=False, conflict=False)
    except Exception as exc:  # noqa: BLE001 - a diagnosis must not fail the point
        return f"(no relaxation: {type(exc).__name__}: {exc})"
    t = ex.relaxation
    t = t[t["scope"] == "together"] if len(t) else t
    if len(t):
        return "; ".join(str(w) for w in t["words"])
    return " ".join(ex.summary.get("relaxation_summary", [])) or "no relaxation found"


def invalid_record(exc: InstanceError) -> dict[str, Any]:
    return {"status": "invalid", "message": "; ".join(str(p) for p in exc.problems)}


# ============================================================================ the task

def warm_session(payload: dict, options: dict):
    """A Session on the instance a task's payload describes (one per worker: later points are warm).
    A point keeps one record, so its result leaves out the return-on-investment tables."""
    from ..solving.session import Session

    return Session(execution.rebuild(payload), returns=False, **options)


def solve_point(session, spec: Mapping[str, Any]):
    """(result, None) for a point's overrides, or (None, invalid record) when they make the instance invalid."""
    try:
        return session.solve(dict(spec["overrides"])), None
    except InstanceError as exc:
        return None, invalid_record(exc)


@dataclass
class SweepTask:
    """Solve the instance of ``payload`` with a point's overrides (warm in one Session)."""

    payload: dict
    options: dict = field(default_factory=dict)
    explain: bool = True
    kind: str = "sweep"
    fingerprint: str = ""

    def __post_init__(self):
        if not self.fingerprint:
            self.fingerprint = execution.fingerprint(self.kind, self.payload["raw"], self.options, self.explain)

    def setup(self):
        return warm_session(self.payload, self.options)

    def run(self, session, spec: Mapping[str, Any]) -> dict[str, Any]:
        result, invalid = solve_point(session, spec)
        return invalid if result is None else plan_record(result, explain=self.explain)

    def run_many(self, session, specs: Sequence[Mapping[str, Any]]):
        """The records of ``specs`` in order, solved by :meth:`Session.solve_many` (the same plans
        as :meth:`run` point by point; validation, building and extraction overlap HiGHS)."""
        for answer in session.solve_many((dict(spec["overrides"]) for spec in specs), invalid="yield"):
            yield invalid_record(answer) if isinstance(answer, InstanceError) else \
                plan_record(answer, explain=self.explain)


def as_instance(instance, overrides=None, scenarios=None):
    """An Instance from an Instance or a file path (with ``overrides``/``scenarios`` applied)."""
    from ..input.instance import Instance
    from ..input.loading import load

    if isinstance(instance, Instance):
        original = instance
        if overrides:
            instance = instance.with_overrides(overrides)
        if scenarios:
            from ..input.scenarios import apply

            instance = apply(instance, list(scenarios))
        if instance is not original:
            from .uncertainty import carry

            instance = carry(original, instance)
        return instance
    return load(instance, overrides=overrides, scenarios=scenarios)


def _solver_options(time_limit, threads) -> dict:
    return {k: v for k, v in (("time_limit", time_limit), ("threads", threads)) if v is not None}


def table_of(records: list[dict[str, Any]], front: pd.DataFrame) -> pd.DataFrame:
    """``front`` (one row per point: its number and values) joined with the records' columns in
    the order they first appear."""
    body = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    body.index = front.index
    return pd.concat([front, body], axis=1)


def sweep(instance, vary: Mapping[str, Any], *, overrides=None, scenarios=None, backend: str = "local",
          workers: int | None = None, scheduler: str | None = None, client=None,
          checkpoint: str | Path | None = None, resume: bool = False, progress: bool = False,
          time_limit: float | None = None, threads: int | None = None, explain: bool = True) -> pd.DataFrame:
    """Solve ``instance`` (an Instance or a file) at every point of the grid ``vary`` =
    ``{path: values}`` (values: a list, or ``"start:stop:step"``) and return one row per point
    (see the module docstring; columns in :func:`plan_record`). ``table.attrs`` records the
    instance, the varied paths and how the run went."""
    inst = as_instance(instance, overrides, scenarios)
    if not vary:
        raise InstanceError([Problem("vary", "(none)", "at least one field to vary", "none")])
    points = grid(vary)
    paths = list(vary)
    check_paths(inst, paths, points[0])
    task = SweepTask(execution.instance_payload(inst), _solver_options(time_limit, threads), explain)
    pts = [execution.Point(i, execution.point_key(p), {"overrides": p}) for i, p in enumerate(points)]
    records, stats = execution.run(task, pts, backend=backend, workers=workers, scheduler=scheduler, client=client,
                                   checkpoint=checkpoint, resume=resume, progress=progress, label="sweep")
    front = pd.DataFrame([{"point": i, **p} for i, p in enumerate(points)])
    table = table_of(records, front)
    table.attrs.update(meta(inst, "sweep", stats, vary={p: _values(vary[p], p) for p in paths}))
    return table


def meta(inst, kind: str, stats, **more) -> dict[str, Any]:
    """What a many-plans table was made from (kept in ``table.attrs`` and written as summary.json)."""
    extra = inst.extra or {}
    out = {"kind": kind, "instance": inst.name, "source": inst.source, "overrides": dict(inst.overrides),
           "scenarios": list(extra.get("scenarios", ())), "currency": inst.model.currency,
           "base_year": inst.base_year, "years": list(inst.years), "discount_rate": inst.model.horizon.discount_rate}
    out.update(more)
    out["run"] = stats.to_dict()
    return out


def status_counts(table: pd.DataFrame) -> dict[str, int]:
    return {str(k): int(v) for k, v in table["status"].value_counts(sort=False).items()}


# ============================================================================ outputs

def write(table: pd.DataFrame, directory: str | Path, *, tables: Mapping[str, pd.DataFrame] | None = None,
          html: str | None = None, overwrite: bool = False, name: str | None = None) -> Path:
    """Write a many-plans table (and ``tables``) as CSV, one Excel workbook, ``summary.json`` (the
    table's attrs) and, given ``html``, ``report.html`` into ``directory``, atomically."""
    from ..output.excel import write_workbook
    from ..output.files import write_tables_atomically

    kind = table.attrs.get("kind", "plans")
    name = name or ("points" if kind == "sweep" else "frontier" if kind == "pareto" else "samples")
    all_tables = {name: table, **dict(tables or {})}
    doc = dict(table.attrs)
    doc["tables"] = {k: f"{k}.csv" for k in all_tables}
    doc["workbook"] = f"{kind}.xlsx"
    if html is not None:
        doc["report"] = "report.html"
    doc["statuses"] = status_counts(table) if "status" in table else {}

    def extra(folder: Path) -> None:
        write_workbook(folder / f"{kind}.xlsx", all_tables, headers={k: [str(c) for c in v.columns]
                                                                     for k, v in all_tables.items()},
                       about={k: v for k, v in doc.items() if not isinstance(v, (dict, list))},
                       currency=table.attrs.get("currency", "GBP"), title=f"budgetshift {kind}")
        if html is not None:
            (folder / "report.html").write_text(html, encoding="utf-8")

    return write_tables_atomically(directory, all_tables, {"summary": doc}, overwrite=overwrite, extra=extra)


def document(table: pd.DataFrame, tables: Mapping[str, pd.DataFrame] | None = None, name: str = "points") -> dict:
    """The JSON document of ``--json``: the table's attrs, then every table as records."""
    from ..output.files import records

    doc = dict(table.attrs)
    doc["statuses"] = status_counts(table) if "status" in table else {}
    doc[name] = records(table)
    for k, v in (tables or {}).items():
        doc[k] = records(v)
    return doc


def write_html(text: str, path: str | Path) -> Path:
    """Write an HTML page atomically."""
    import os
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path.resolve()


def cost_label(table: pd.DataFrame, unit: str | None = None) -> str:
    """The cost axis in words: ``discounted cost (£bn, 3.5% a year)``, in ``unit`` when given."""
    a = table.attrs
    rate = a.get("discount_rate") or 0
    unit = unit or money_unit(a.get("currency", "GBP"))
    return f"discounted cost ({unit}, {rate:.1%} a year)" if rate else f"total cost ({unit})"


def report_html(table: pd.DataFrame) -> str:
    """The sweep report: the cost against the first varied value (a line per combination of the
    other varied values; points with no plan marked on the axis, with their relaxation), and the
    table of points. Money on the axes in the instance's currency, scaled (£bn, £m)."""
    import plotly.graph_objects as go

    a = table.attrs
    paths = list(a.get("vary", {})) or [c for c in table.columns[1:2]]
    x = paths[0]
    others = paths[1:]
    fig = go.Figure()
    cost = table["discounted_cost"] if "discounted_cost" in table else pd.Series(np.nan, index=table.index)
    div, unit = money_scale(cost, a.get("currency", "GBP"))
    ok = table[cost.notna()]
    floor = float(cost[cost.notna()].min()) / div if len(ok) else 0.0
    groups = table.groupby(others, sort=False) if others else [((), table)]
    for k, (key, g) in enumerate(groups):
        key = key if isinstance(key, tuple) else (key,)
        name = ", ".join(f"{p}={v}" for p, v in zip(others, key)) or "cost"
        y = g["discounted_cost"] / div if "discounted_cost" in g else None
        fig.add_trace(go.Scatter(x=g[x], y=y, mode="lines+markers", name=name, line=dict(color=run_colour(k)),
                                 hovertemplate=f"{x}=%{{x}}<br>%{{y:,.3f}} {unit}<extra>{name}</extra>"))
    bad = table[table["status"] != "optimal"]
    if len(bad):
        text = [f"{r['status']}: {r.get('relaxation') or r.get('message') or ''}" for r in bad.to_dict("records")]
        fig.add_trace(go.Scatter(x=bad[x], y=[floor] * len(bad), mode="markers", name="no plan",
                                 marker=dict(symbol="x", size=11, color="#b42318"), hovertext=text,
                                 hoverinfo="text+x"))
    label = cost_label(table, unit)
    fig.update_layout(title=f"{label} against {x}", xaxis_title=x, yaxis_title=label,
                      yaxis=dict(tickformat=",.3~f"))
    figures = [(f"Cost of the least-cost plan at each value of {x}" + (f", a line per value of {', '.join(others)}"
                                                                      if others else "")
                + "; an x marks a point with no plan (hover for the smallest relaxation).", fig)]
    final = a.get("years", [""])[-1]
    shares = [c for c in table.columns if str(c).startswith("share:") and str(c).endswith(f":{final}")]
    if shares and not others:
        fig2 = go.Figure()
        for c in shares:
            sector = c.split(":")[1]
            fig2.add_trace(go.Scatter(x=table[x], y=table[c], mode="lines+markers", name=words(sector),
                                      line=dict(color=sector_colour(sector))))
        fig2.update_layout(title=f"Sector shares of spend in {final}", xaxis_title=x, yaxis_title="share of spend",
                           yaxis_tickformat=".1%")
        figures.append((f"Each sector's share of spend in the final year against {x}.", fig2))
    main = ["point", *paths, "status", "discounted_cost", "total_cost",
            *[c for c in table.columns if str(c).startswith("spend:")],
            *[c for c in table.columns if str(c).startswith("outcome:") and str(c).count(":") == 1],
            *[c for c in table.columns if str(c).startswith("dual:")], "relaxation", "message"]
    lines = [f"instance: {a.get('instance')} ({a.get('source')})",
             "varied: " + "; ".join(f"{p} over {len(v)} values" for p, v in a.get("vary", {}).items()),
             f"{len(table)} points: " + ", ".join(f"{v} {k}" for k, v in status_counts(table).items()),
             f"money in {a.get('currency', 'GBP')}"]
    return htmlparts.page(f"Sweep: {a.get('instance', '')}", lines, figures,
                          [("Points", htmlparts.table(table, keys=1, columns=main))])
