"""Parameter sweeps: the same plan solved over a grid of values of one or more fields.

    table = optimiser.sweep("instances/kent.yaml", vary={"shift_policies[0].increase_pp": "0:0.3:0.05"})
    table = optimiser.sweep(inst, vary={"targets[0].at_most": [60, 80, 100],
                                        "services[ward].unit_cost": [900, 1000]}, workers=4)

Every point of the grid (the product of the values, the first field varying slowest) is the
instance with those overrides applied, checked and solved like any variant; the answer is one
tidy table, one row per point (:func:`plan_record` lists the columns): the varied values,
status, costs, spend by sector and sector shares per year, outcomes, the key shadow prices and,
for a point with no plan, the smallest relaxation that would make one possible (from
:func:`optimiser.analyses.explain`) in one text column. An infeasible point is an answer, not a failure; a
point whose overrides make the instance invalid has status ``invalid`` and the problems in
``message``; a point whose solve fails twice has status ``failed``.

Points are solved warm in this process by default (one :class:`~optimiser.solving.session.Session`:
only the changed numbers are pushed into HiGHS between points, and with
:meth:`~optimiser.solving.session.Session.solve_many` the next point is built while HiGHS solves), in
``workers`` local processes,
or on Dask (``backend="dask"``); see :mod:`optimiser.analyses.execution` for the backends, retries and
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

from . import execution
from .plans import (as_instance, invalid_record, meta, plan_record, solve_point, solver_options, status_counts, table_of,
                    warm_session)
from ..output import htmlparts
from ..output.formatting import money_scale, money_unit, run_colour, sector_colour, words
from ..errors import InstanceError, Problem
from ..input.paths import apply_overrides


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


# ============================================================================ the task


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
    task = SweepTask(execution.instance_payload(inst), solver_options(time_limit, threads), explain)
    pts = [execution.Point(i, execution.point_key(p), {"overrides": p}) for i, p in enumerate(points)]
    records, stats = execution.run(task, pts, backend=backend, workers=workers, scheduler=scheduler, client=client,
                                   checkpoint=checkpoint, resume=resume, progress=progress, label="sweep")
    front = pd.DataFrame([{"point": i, **p} for i, p in enumerate(points)])
    table = table_of(records, front)
    table.attrs.update(meta(inst, "sweep", stats, vary={p: _values(vary[p], p) for p in paths}))
    return table


# ============================================================================ outputs


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
