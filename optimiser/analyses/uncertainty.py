"""Uncertain inputs: distributions on instance fields, sampled plans, and how the central plan fares.

An instance file may carry an ``uncertainty`` section: a mapping of field path (written like a
``--set`` path) to a distribution::

    uncertainty:
      prevention_effects[0].response[1][1]: {triangular: [0.15, 0.2, 0.3]}   # low, mode, high
      services[ward].unit_cost.value: {uniform: [1600, 1900]}               # low, high
      pathways[0].nodes[0].incidence: {normal: {mean: 0.02, sd: 0.002, low: 0.015, high: 0.025}}

``normal`` is truncated to ``[low, high]`` when they are given (each is optional). Every path must
name a number that is in the file (after scenarios and ``--set``): an unknown path, a path to a
section or to text, or a malformed distribution is reported like any other problem of the file
(file, field path, expected, found), all at once. The section is taken out of the file before the
schema sees the rest and kept on the instance (``instance.extra["uncertainty"]``, path ->
:class:`Distribution`); it changes nothing in a plain solve, which uses the file's own values.

:func:`uncertainty` draws ``samples`` sets of values (sample ``i`` from
``numpy.random.default_rng([seed, i])``, the paths in the order the file lists them: the same seed
gives the same samples, on any backend and in any order of solving, and sample ``i`` does not
depend on how many samples are drawn), solves each sample as a variant of the instance and
returns one row per sample:

* the sampled values (a column per path), the status, costs and outcomes of the sample's own
  optimal plan (the columns of :func:`optimiser.analyses.plans.plan_record`);
* how the **central plan** fares under the sample. The central plan is the optimal plan of the
  instance as written (``central="file"``, the default: the planner's point estimates) or with
  every uncertain field at its distribution's mean (``central="mean"``). Its activity per service
  and year is held fixed in the sample's programme, and the smallest relaxation of the sample's
  targets, budget, shift rules and stability limits that lets that activity work is found by the
  elastic programme of :mod:`formulations.elastic`; when no such relaxation exists because the
  activity cannot carry the sample's patients, the activity itself may rise, at a weight of
  1,000 per unit of relative change (so it rises only when nothing else helps). Columns:
  ``central_status`` (``meets`` every target and rule; ``misses`` some; ``short of activity``:
  the plan cannot carry the sample's need; ``impossible``), ``central_discounted_cost`` (the
  fixed plan's discounted cost at the sample's prices, including any extra activity),
  ``central_regret`` (that minus the sample's own optimal cost, when the plan meets everything
  in the sample: what keeping to it costs), ``central_excess:<outcome>``
  (by how much the plan misses the outcome's targets, summed over the years, in the outcome's
  unit), ``central_budget_overrun`` (summed over the years), ``central_shift_shortfall:<policy>``
  (the largest shortfall in a year: percentage points for a share rule, money for a transfer),
  ``central_extra_activity_cost`` (discounted cost of the extra activity needed) and
  ``central_misses`` (all of it in words).

:func:`quantiles` and :func:`central_summary` turn that table into the distribution of cost and
outcomes (mean, standard deviation and quantiles) and into how often the central plan misses
each target, rule or budget, and by how much.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from . import execution
from ..errors import InstanceError, Problem
from ..input.uncertainty_section import SECTION, Distribution, check_paths, instance_distributions, parse_distribution
from ..output import htmlparts
from ..output.formatting import money_scale, run_colour
from ..solving.highs import build_lp
from ..solving.solve import solve
from .plans import as_instance, meta, plan_record, solve_point, solver_options, table_of, warm_session

ACTIVITY_WEIGHT = 1000.0  # the fixed plan's activity moves only when nothing else can help


# ============================================================================ distributions


# ============================================================================ the file section


def draw(dists: Mapping[str, Distribution], samples: int, seed: int) -> list[dict[str, float]]:
    """``samples`` sets of overrides: sample ``i`` from ``default_rng([seed, i])``, one uniform
    number per path in the order given."""
    out = []
    for i in range(int(samples)):
        rng = np.random.default_rng([int(seed), i])
        out.append({path: float(d.draw(rng)) for path, d in dists.items()})
    return out


# ============================================================================ the central plan, fixed

def _words_number(v: float) -> str:
    a = abs(v)
    return f"{v:,.0f}" if a >= 100 else f"{v:,.3g}"


def evaluate_fixed(inst, central: Mapping[tuple[str, int], float], weights: Mapping[str, float] | None = None,
                   options: Mapping[str, Any] | None = None, lp=None) -> dict[str, Any]:
    """How the plan with activity ``central[(service, year)]`` fares under ``inst`` (see the
    module docstring): the record's ``central_*`` columns. ``lp``: ``inst``'s programme if already
    built (it is not changed: the fixed activity goes into a copy)."""
    import copy
    import dataclasses

    from formulations.elastic import ElasticModel, relaxable_bounds
    from formulations.families import RELAX_GROUPS

    lp = copy.copy(lp if lp is not None else build_lp(inst))
    act = lp.variables["activity"]
    keys = list(zip(act.index["service"], act.index["year"].astype(int)))
    fixed = np.array([float(central.get(k, 0.0)) for k in keys])
    lp.variables = {**lp.variables, "activity": dataclasses.replace(act, lower=fixed.copy(), upper=fixed.copy())}
    rb = relaxable_bounds(lp, inst)
    rb = rb[~((rb["family"] == "capacity") & (rb["side"] == "lower"))]
    w = {**dict.fromkeys(RELAX_GROUPS, 1.0), "capacity": ACTIVITY_WEIGHT, **dict(weights or {})}
    opts = dict(options or {})
    sol = ElasticModel(lp, rb).solve(w, time_limit=opts.get("time_limit"), threads=opts.get("threads"))
    rec: dict[str, Any] = {}
    outcomes_with_targets = list(dict.fromkeys(inst.targets["outcome"])) if len(inst.targets) else []
    if sol.status in ("impossible", "error"):
        rec["central_status"] = sol.status
        rec["central_misses"] = ("no plan carries the sample's patients with this activity even when targets, "
                                 "budget, rules and activity may move" if sol.status == "impossible"
                                 else f"the check failed: {sol.message}")
        return rec
    rel = sol.relaxation
    rec["central_discounted_cost"] = float(sol.objective) if inst.model.objective.mode == "min_cost" else \
        float(_discounted_spend(lp, inst, sol.x))
    words = []
    units = inst.outcomes.set_index("outcome")["unit"].to_dict() if len(inst.outcomes) else {}
    for o in outcomes_with_targets:
        rec[f"central_excess:{o}"] = 0.0
    rec["central_budget_overrun"] = 0.0
    for p in inst.model.shift_policies:
        rec[f"central_shift_shortfall:{p.name}"] = 0.0
    rec["central_extra_activity_cost"] = 0.0
    spend_by_year = {}
    if "pooled_budget" in lp.constraints:
        b = lp.constraints["pooled_budget"]
        spend_by_year = dict(zip(b.index["year"].astype(int), sol.row_activity[b.start:b.start + len(b)]))
    moved_activity = False
    for r in rel.itertuples(index=False):
        slack = float(r.slack)
        if r.kind == "col":
            svc, year = keys[int(r.pos)]
            cost = float(inst.service_years.set_index(["service", "year"]).loc[(svc, year), "unit_cost"]) * \
                float(inst.discount[year])
            rec["central_extra_activity_cost"] += slack * cost
            words.append(f"{svc} {year}: {_words_number(slack)} more units needed")
            moved_activity = True
            continue
        key = lp.constraints[r.constraint].index.iloc[int(r.pos)]
        year = int(key["year"]) if "year" in key else None
        if r.constraint == "outcome_target":
            o = key["outcome"]
            rec[f"central_excess:{o}"] = rec.get(f"central_excess:{o}", 0.0) + slack
            side = "over" if r.side == "upper" else "under"
            words.append(f"{o} {year}: {_words_number(slack)} {units.get(o) or ''} {side} target".replace("  ", " "))
        elif r.constraint == "pooled_budget":
            rec["central_budget_overrun"] += slack
            words.append(f"budget {year}: {_words_number(slack)} over")
        elif r.constraint == "shift_share":
            total = float(spend_by_year.get(year, np.nan))
            pp = 100 * slack / total if total else np.nan
            k = f"central_shift_shortfall:{key['policy']}"
            rec[k] = max(rec.get(k, 0.0), pp)
            words.append(f"{key['policy']} {year}: {pp:.2f} points short")
        elif r.constraint == "shift_transfer":
            k = f"central_shift_shortfall:{key['policy']}"
            rec[k] = max(rec.get(k, 0.0), slack)
            words.append(f"{key['policy']} {year}: transfer {_words_number(slack)} short")
        else:
            words.append(f"{r.constraint} {key.get('service', '')} {year}: {_words_number(slack)} beyond its limit")
    rec["central_status"] = "meets" if sol.status == "feasible" else \
        ("short of activity" if moved_activity else "misses")
    rec["central_misses"] = "; ".join(words)
    return rec


def _discounted_spend(lp, inst, x) -> float:
    from formulations.objective import cost_terms

    t = cost_terms(lp, inst)  # spend, plus set-up costs where the instance has them
    d = inst.discount.reindex(t["year"]).to_numpy()
    return float((t["coef"].to_numpy() * d * x[t["col"].to_numpy()]).sum())


# ============================================================================ the task

@dataclass
class UncertaintyTask:
    """Solve a sample (warm in one Session) and check the central plan against it."""

    payload: dict
    central: list = field(default_factory=list)  # [[service, year, activity], ...]; empty: no check
    options: dict = field(default_factory=dict)
    kind: str = "uncertainty"
    fingerprint: str = ""

    def __post_init__(self):
        if not self.fingerprint:
            self.fingerprint = execution.fingerprint(self.kind, self.payload["raw"], self.central, self.options)

    def setup(self):
        return warm_session(self.payload, self.options)

    def run(self, session, spec: Mapping[str, Any]) -> dict[str, Any]:
        result, invalid = solve_point(session, spec)
        if result is None:
            return invalid
        rec = plan_record(result, explain=False)
        if self.central:
            fixed = {(s, int(y)): float(a) for s, y, a in self.central}
            rec.update(evaluate_fixed(result.instance, fixed, options=self.options, lp=result.lp))
            rec["central_regret"] = None
            # regret is what keeping to a plan that works costs; a plan that misses or is topped up
            # is not comparable with the sample's own plan
            if rec.get("central_status") == "meets" and rec.get("discounted_cost") is not None:
                regret = rec["central_discounted_cost"] - rec["discounted_cost"]
                # solver noise (the two plans are solved separately) is not regret
                rec["central_regret"] = 0.0 if abs(regret) <= 1e-7 * max(1.0, abs(rec["discounted_cost"])) else regret
        return rec


def central_instance(inst, dists: Mapping[str, Distribution], central: str = "file"):
    if central == "file":
        return inst
    if central == "mean":
        return inst.with_overrides({p: d.expectation() for p, d in dists.items()})
    raise ValueError(f"central must be 'file' or 'mean', not {central!r}")


def uncertainty(instance, *, samples: int = 100, seed: int = 0, distributions: Mapping[str, Any] | None = None,
                central: str = "file", overrides=None, scenarios=None, backend: str = "local",
                workers: int | None = None, scheduler: str | None = None, client=None,
                checkpoint: str | Path | None = None, resume: bool = False, progress: bool = False,
                time_limit: float | None = None, threads: int | None = None,
                check_central: bool = True) -> pd.DataFrame:
    """Solve ``samples`` draws of the instance's uncertain fields and check the central plan
    against each (see the module docstring); one row per sample. ``distributions`` (path ->
    Distribution or its mapping form) replaces the file's ``uncertainty`` section."""

    inst = as_instance(instance, overrides, scenarios)
    dists = instance_distributions(inst)
    if distributions is not None:
        dists, problems = {}, []
        for path, body in distributions.items():
            if isinstance(body, Distribution):
                dists[path] = body
                continue
            d, p = parse_distribution(body, "distributions", f"{SECTION}.{path}")
            problems += p
            if d is not None:
                dists[path] = d
        problems += check_paths(dists, dict(inst.raw), inst.source)
        if problems:
            raise InstanceError(problems)
    if not dists:
        raise InstanceError([Problem(inst.source, SECTION, "an 'uncertainty' section with at least one field "
                                     "path -> distribution (see docs/many-plans.md)", "none")])
    if int(samples) < 1:
        raise ValueError("samples must be at least 1")
    options = solver_options(time_limit, threads)
    central_rows: list = []
    central_status = None
    if check_central:
        base = solve(central_instance(inst, dists, central), **options)
        central_status = base.status.value
        if base.has_plan and base.status.is_ok:
            a = base.tables["allocation"]
            central_rows = [[s, int(y), float(v)] for s, y, v in zip(a["service"], a["year"], a["activity"])]
    draws = draw(dists, samples, seed)
    task = UncertaintyTask(execution.instance_payload(inst), central_rows, options)
    pts = [execution.Point(i, execution.point_key({"sample": i, "overrides": d}), {"overrides": d})
           for i, d in enumerate(draws)]
    records, stats = execution.run(task, pts, backend=backend, workers=workers, scheduler=scheduler, client=client,
                                   checkpoint=checkpoint, resume=resume, progress=progress, label="samples")

    front = pd.DataFrame([{"sample": i, **d} for i, d in enumerate(draws)])
    table = table_of(records, front)
    table.attrs.update(meta(inst, "uncertainty", stats, samples=int(samples), seed=int(seed), central=central,
                            central_plan_status=central_status,
                            distributions={p: d.to_dict() for p, d in dists.items()}))
    return table


# ============================================================================ summaries

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def quantiles(table: pd.DataFrame) -> pd.DataFrame:
    """The distribution of the optimal plans' costs and outcome totals and of the central plan's
    cost and regret over the samples: one row per quantity (count of samples with a value, mean,
    sd, min, the 5/25/50/75/95% quantiles, max)."""
    cols = ["discounted_cost", "total_cost",
            *[c for c in table.columns if str(c).startswith("outcome:") and str(c).count(":") == 1],
            "central_discounted_cost", "central_regret"]
    rows = []
    for c in cols:
        if c not in table:
            continue
        v = pd.to_numeric(table[c], errors="coerce").dropna()
        row = {"quantity": c, "samples": int(len(v)), "mean": v.mean() if len(v) else np.nan,
               "sd": v.std(ddof=1) if len(v) > 1 else np.nan, "min": v.min() if len(v) else np.nan}
        for q in QUANTILES:
            row[f"q{int(round(q * 100)):02d}"] = float(v.quantile(q)) if len(v) else np.nan
        row["max"] = v.max() if len(v) else np.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=["quantity", "samples", "mean", "sd", "min",
                                       *[f"q{int(round(q * 100)):02d}" for q in QUANTILES], "max"])


def central_summary(table: pd.DataFrame) -> pd.DataFrame:
    """How often the central plan misses each target, rule or budget over the samples, and by
    how much: one row per check (samples checked, misses, share of samples, mean excess when
    missed, largest excess, unit)."""
    if "central_status" not in table:
        return pd.DataFrame(columns=["check", "samples", "missed", "missed_share", "mean_when_missed", "max", "unit"])
    checked = table[table["central_status"].notna()]
    n = len(checked)
    rows = []
    status = checked["central_status"]
    for label in ("misses", "short of activity", "impossible"):
        k = int((status == label).sum())
        rows.append({"check": f"plan status: {label}", "samples": n, "missed": k,
                     "missed_share": k / n if n else np.nan, "mean_when_missed": np.nan, "max": np.nan,
                     "unit": "samples"})
    cur = table.attrs.get("currency", "GBP")
    for c in checked.columns:
        c = str(c)
        if c.startswith("central_excess:"):
            name, unit = f"target: {c.split(':', 1)[1]}", "outcome units"
        elif c == "central_budget_overrun":
            name, unit = "pooled budget", cur
        elif c.startswith("central_shift_shortfall:"):
            name, unit = f"shift rule: {c.split(':', 1)[1]}", "percentage points (share) or money (transfer)"
        elif c == "central_extra_activity_cost":
            name, unit = "activity (extra needed, discounted cost)", cur
        else:
            continue
        v = pd.to_numeric(checked[c], errors="coerce").fillna(0.0)
        miss = v[v > 1e-9]
        rows.append({"check": name, "samples": n, "missed": int(len(miss)),
                     "missed_share": len(miss) / n if n else np.nan,
                     "mean_when_missed": float(miss.mean()) if len(miss) else 0.0,
                     "max": float(v.max()) if len(v) else np.nan, "unit": unit})
    return pd.DataFrame(rows, columns=["check", "samples", "missed", "missed_share", "mean_when_missed", "max", "unit"])


def report_html(table: pd.DataFrame) -> str:
    """Histograms of the optimal plans' cost and of the central plan's cost, the miss rates of
    the central plan, and the summary tables."""
    import plotly.graph_objects as go

    a = table.attrs
    cur = a.get("currency", "GBP")
    costs = [table[c] for c in ("discounted_cost", "central_discounted_cost") if c in table]
    div, unit = money_scale(pd.concat(costs) if costs else [], cur)
    fig = go.Figure()
    if "discounted_cost" in table:
        fig.add_trace(go.Histogram(x=table["discounted_cost"] / div, name="each sample's own optimal plan",
                                   opacity=0.65, marker_color=run_colour(0)))
    if "central_discounted_cost" in table:
        fig.add_trace(go.Histogram(x=table["central_discounted_cost"] / div, name="the central plan", opacity=0.65,
                                   marker_color=run_colour(1)))
    fig.update_layout(barmode="overlay", title="Discounted cost over the samples",
                      xaxis_title=f"discounted cost ({unit})", yaxis_title="samples", xaxis_tickformat=",.3~f")
    figures = [("The cost of the best plan for each sample, and of the central plan held fixed.", fig)]
    cs = central_summary(table)
    if len(cs):
        fig2 = go.Figure(go.Bar(x=cs["check"], y=cs["missed_share"]))
        fig2.update_layout(title="How often the central plan misses", yaxis_tickformat=".0%",
                           yaxis_title="share of samples")
        figures.append(("Share of samples in which the central plan misses each check.", fig2))
    lines = [f"instance: {a.get('instance')} ({a.get('source')})",
             f"{a.get('samples')} samples, seed {a.get('seed')}; central plan: {a.get('central')} "
             f"({a.get('central_plan_status')})",
             "uncertain: " + "; ".join(f"{p} ~ {next(iter(d))} {next(iter(d.values()))}"
                                       for p, d in (a.get("distributions") or {}).items())]
    return htmlparts.page(f"Uncertainty: {a.get('instance', '')}", lines, figures,
                          [("Distribution of cost and outcomes", htmlparts.table(quantiles(table))),
                           ("The central plan across the samples", htmlparts.table(cs)),
                           ("Samples", htmlparts.table(table))])


__all__ = ["central_summary", "draw", "evaluate_fixed", "quantiles", "uncertainty"]
