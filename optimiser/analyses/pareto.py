"""The cost–outcome Pareto frontier, by the epsilon-constraint method.

    frontier = optimiser.pareto("instances/kent.yaml", "emergency_admissions", points=11)

The outcome is measured as its **total over the planning years** (the sum of its yearly values,
undiscounted), written ``L`` below; cost is the model's own objective, the **discounted total
cost** (the instance is solved in ``min_cost`` mode whatever its ``objective`` says).

1. *The cheapest plan*: minimise cost (``C0``), then, holding cost at ``C0``, make the outcome as
   good as it can be: ``L0`` (so the first point is not dominated by another cheapest plan).
2. *The best achievable outcome*: minimise ``L`` (a lower-is-better outcome) or maximise it
   (higher-is-better) subject to every constraint of the instance (budgets, shift rules,
   capacities, targets, ...): ``L*``.
3. For ``points`` levels evenly spaced from ``L0`` to ``L*`` (both included), minimise cost subject
   to ``L <= level`` (``>=`` for a higher-is-better outcome).

The level is one extra row of the programme, a labelled block ``pareto_level`` added with
:meth:`formulations.lp.LinearProgram.add_constraints` on the outcome's value terms
(:func:`formulations.outcomes.outcome_value_terms`) before the model is passed to HiGHS; from one
point to the next only that row's bound changes and HiGHS re-solves warm. Each point is an
ordinary :class:`~optimiser.solving.results.Result` (:func:`optimiser.solving.results.extract`), so its plan is
read like any other: the table has, per point, the level, the outcome achieved, the costs, spend
by sector (over the horizon and per year), sector shares, and

* ``marginal_cost``: (cost of this point - cost of the previous one) / (outcome improvement
  between them), in currency per outcome unit: the average price of each unit of outcome bought
  between the two points (discounted cost per unit of the outcome's horizon total);
* ``shadow_price``: the dual of the level row at the point, as the cost of one more unit of
  improvement (HiGHS's dual, signed so that it is >= 0): the slope of the frontier at the point
  (at a breakpoint, one of the two slopes either side of it).

The frontier is convex (a parametric LP; for an instance with whole-number choices it is the
frontier of the mixed-integer plans and need not be), so ``marginal_cost`` never falls as the
outcome improves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from . import execution
from ..errors import BudgetshiftError, InstanceError, Problem, SolverError
from ..output import htmlparts
from ..output.formatting import money_scale, sector_colour, words
from .plans import as_instance, meta, plan_record, solver_options, table_of
from ..solving.highs import SolverOptions, Status, build_lp, load, run_highs
from ..solving.results import extract

LEVEL_ROW = "pareto_level"
COST_ROW = "pareto_cost"


def min_cost_instance(inst):
    """``inst`` in ``min_cost`` mode (the frontier's cost is the model's discounted cost)."""
    if inst.model.objective.mode == "min_cost":
        return inst
    return inst.with_overrides({"objective.mode": "min_cost", "objective.weights": None})


def check_outcome(inst, outcome: str) -> str:
    """The outcome's direction; an unknown name is an error listing the known ones."""
    known = list(inst.outcomes["outcome"]) if len(inst.outcomes) else []
    if outcome not in known:
        expected = ("one of the instance's outcomes: " + ", ".join(known)) if known else \
            "an outcome defined under 'outcomes' (this instance defines none)"
        raise InstanceError([Problem(inst.source, "--outcome", expected, repr(outcome))])
    direction = inst.outcomes.set_index("outcome")["direction"][outcome]
    terms = inst.outcome_terms
    if not (terms["outcome"] == outcome).any():
        raise InstanceError([Problem(inst.source, f"outcomes[{outcome}].terms",
                                     "at least one term on a pathway flow (the frontier needs an outcome the plan "
                                     "can move)", "none that reach a pathway")])
    return str(direction)


def outcome_vector(lp, inst, outcome: str) -> np.ndarray:
    """``v`` with ``v @ x`` = the outcome's total over the planning years."""
    from formulations.outcomes import outcome_value_terms

    t = outcome_value_terms(lp, inst)
    t = t[t["outcome"] == outcome]
    v = np.zeros(lp.n_cols)
    np.add.at(v, t["col"].to_numpy(dtype=np.int64), t["coef"].to_numpy(dtype=float))
    return v


def add_level_row(lp, inst, outcome: str, direction: str = "lower_is_better") -> np.ndarray:
    """Append the labelled row ``pareto_level[outcome]`` = the outcome's horizon total (free
    bounds until a level is set) and return its coefficient vector.

    A level on the horizon total often leaves the years free to share it at no difference in
    cost (with no discounting, an admission avoided in 2027 costs what one in 2028 does). So that
    the plan reported at a point is one plan, whatever the order in which points are solved (warm
    in one process, or spread over workers), a tie-break among the least-cost plans is added:
    improve the outcome as early as possible (weight ``T - k`` on year ``k`` of ``T``)."""
    from formulations.lp import terms
    from formulations.outcomes import outcome_value_terms

    v = outcome_vector(lp, inst, outcome)
    t = outcome_value_terms(lp, inst)
    t = t[t["outcome"] == outcome]
    rank = {y: len(inst.years) - k for k, y in enumerate(inst.years)}
    early = np.zeros(lp.n_cols)
    np.add.at(early, t["col"].to_numpy(dtype=np.int64),
              t["coef"].to_numpy(dtype=float) * t["year"].map(rank).to_numpy(dtype=float))
    lp.tiebreaks.append(("the outcome improved as early as possible among the least-cost plans",
                         early if direction == "lower_is_better" else -early))
    nz = np.flatnonzero(v)
    index = pd.DataFrame({"outcome": [outcome]})
    unit = str(inst.outcomes.set_index("outcome")["unit"].get(outcome) or "outcome units")
    lp.add_constraints(LEVEL_ROW, index, terms(pd.DataFrame({"outcome": [outcome] * len(nz)}), nz, v[nz]),
                       description="the outcome's total over the planning years at the frontier level",
                       unit=unit, dual_unit="currency per outcome unit")
    return v


def _set_level(model, lp, level: float, direction: str) -> None:
    """Hold the outcome's horizon total at ``level`` (at most, or at least for a higher-is-better
    outcome), in ``lp`` and in the HiGHS model loaded with it (a :class:`formulations.loaded.Loaded`)."""
    row = lp.constraints[LEVEL_ROW].start
    lo, hi = (-np.inf, level) if direction == "lower_is_better" else (level, np.inf)
    lp.constraints[LEVEL_ROW].lower[:] = lo
    lp.constraints[LEVEL_ROW].upper[:] = hi
    model.change_to(model.numbers.with_row_bounds([row], lo, hi))


# ============================================================================ the ends of the frontier

@dataclass
class Ends:
    cheapest_cost: float
    cheapest_level: float
    best_level: float


def frontier_ends(inst, outcome: str, direction: str, options: Mapping[str, Any]) -> Ends:
    """Steps 1 and 2 of the module docstring (in this process)."""
    import highspy

    from formulations.lp import terms

    opts = SolverOptions(**dict(options))
    lp = build_lp(inst)
    v = add_level_row(lp, inst, outcome, direction)
    cost = lp.objective.copy()
    nz = np.flatnonzero(cost)
    lp.add_constraints(COST_ROW, pd.DataFrame({"row": ["cost"]}),
                       terms(pd.DataFrame({"row": ["cost"] * len(nz)}), nz, cost[nz]),
                       description="discounted cost held at the cheapest plan's")
    model = load(lp, opts)
    h = model.h
    raw = run_highs(lp, opts, model=model)
    if raw.status is not Status.OPTIMAL:
        raise _no_frontier(inst, raw.status, "the cheapest plan")
    c0 = float(raw.objective)
    sense = "min" if direction == "lower_is_better" else "max"

    def optimise_outcome() -> float:
        model.change_to(model.numbers.with_objective(v, sense))  # the outcome is the objective now
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            status = h.modelStatusToString(h.getModelStatus())
            raise SolverError(f"the best achievable {outcome} could not be found: HiGHS says {status.lower()}")
        return float(h.getInfo().objective_function_value)

    l_cheap = float(v @ raw.x)
    best = optimise_outcome()
    model.change_to(model.numbers.with_row_bounds([lp.constraints[COST_ROW].start], -np.inf,
                                                  c0 + 1e-9 * max(1.0, abs(c0))))
    l_best_cheap = optimise_outcome()
    # the cheapest plan's outcome, unless another cheapest plan is clearly better (not just by
    # what the 1e-9 of slack on the cost row buys)
    better = (l_cheap - l_best_cheap) if direction == "lower_is_better" else (l_best_cheap - l_cheap)
    l0 = l_best_cheap if better > 1e-6 * max(1.0, abs(l_cheap), abs(best - l_cheap)) else l_cheap
    if (direction == "lower_is_better" and best > l0) or (direction != "lower_is_better" and best < l0):
        best = l0  # solver noise: no trade-off
    return Ends(c0, l0, best)


def _no_frontier(inst, status, what: str):
    return BudgetshiftError(f"no frontier for {inst.name}: {what} is {status.value} ("
                            f"{status.explain(False)}); solve or explain the instance first")


# ============================================================================ the task

@dataclass
class ParetoTask:
    """Minimise cost with the outcome's horizon total held at a point's level (warm: one HiGHS
    model per worker, only the level row's bound changes)."""

    payload: dict
    outcome: str
    direction: str
    options: dict = field(default_factory=dict)
    kind: str = "pareto"
    fingerprint: str = ""

    def __post_init__(self):
        if not self.fingerprint:
            self.fingerprint = execution.fingerprint(self.kind, self.payload["raw"], self.outcome, self.options)

    def setup(self):
        inst = execution.rebuild(self.payload)
        lp = build_lp(inst)
        add_level_row(lp, inst, self.outcome, self.direction)
        opts = SolverOptions(**self.options)
        return {"inst": inst, "lp": lp, "model": load(lp, opts), "options": opts}

    def run(self, state, spec: Mapping[str, Any]) -> dict[str, Any]:
        lp, model = state["lp"], state["model"]
        level = float(spec["level"])
        _set_level(model, lp, level, self.direction)
        raw = run_highs(lp, state["options"], model=model)
        result = extract(state["inst"], lp, raw, backend="highs (pareto)", returns=False)
        rec = {"outcome_total": None, **plan_record(result, explain=False)}
        if result.has_plan:
            rec["outcome_total"] = rec.get(f"outcome:{self.outcome}")
        cons = result.tables["constraints"]
        row = cons[cons["constraint"] == LEVEL_ROW]
        dual = float(row["dual"].iloc[0]) if len(row) and pd.notna(row["dual"].iloc[0]) else None
        rec["shadow_price"] = None if dual is None else (-dual if self.direction == "lower_is_better" else dual) + 0.0
        # the sector spend per year is the plan; keep it beside the shares
        if result.has_plan:
            alloc = result.tables["allocation"]
            by = alloc.groupby(["sector", "year"], sort=False)["spend"].sum()
            for (sector, year), value in by.items():
                rec[f"spend:{sector}:{int(year)}"] = float(value)
        return rec


def pareto(instance, outcome: str, *, points: int = 11, overrides=None, scenarios=None, backend: str = "local",
           workers: int | None = None, scheduler: str | None = None, client=None,
           checkpoint: str | Path | None = None, resume: bool = False, progress: bool = False,
           time_limit: float | None = None, threads: int | None = None) -> pd.DataFrame:
    """The cost–outcome frontier of ``outcome`` at ``points`` levels (see the module docstring):
    one row per point, from the cheapest plan to the best achievable outcome."""
    if int(points) < 2:
        raise ValueError("points must be at least 2 (the two ends of the frontier)")
    inst = min_cost_instance(as_instance(instance, overrides, scenarios))
    direction = check_outcome(inst, outcome)
    options = solver_options(time_limit, threads)
    ends = frontier_ends(inst, outcome, direction, options)
    if abs(ends.best_level - ends.cheapest_level) <= 1e-9 * max(1.0, abs(ends.cheapest_level)):
        levels = [ends.cheapest_level]
    else:
        levels = list(np.linspace(ends.cheapest_level, ends.best_level, int(points)))
        levels[-1] = ends.best_level
    task = ParetoTask(execution.instance_payload(inst), outcome, direction, options)
    pts = [execution.Point(i, execution.point_key({"level": repr(float(lv))}), {"level": float(lv)})
           for i, lv in enumerate(levels)]
    records, stats = execution.run(task, pts, backend=backend, workers=workers, scheduler=scheduler, client=client,
                                   checkpoint=checkpoint, resume=resume, progress=progress, label="frontier")
    front = pd.DataFrame({"point": range(len(levels)), "level": [float(v) for v in levels]})
    table = table_of(records, front)
    cost = pd.to_numeric(table["discounted_cost"], errors="coerce")
    got = pd.to_numeric(table["outcome_total"], errors="coerce")
    gain = (got.shift(1) - got) if direction == "lower_is_better" else (got - got.shift(1))
    with np.errstate(divide="ignore", invalid="ignore"):
        marginal = (cost - cost.shift(1)) / gain
    table.insert(table.columns.get_loc("outcome_total") + 1, "marginal_cost",
                 marginal.where(gain.abs() > 1e-9 * max(1.0, float(got.abs().max() or 1.0))))
    unit = str(inst.outcomes.set_index("outcome")["unit"].get(outcome) or "")
    table.attrs.update(meta(inst, "pareto", stats, outcome=outcome, outcome_unit=unit, direction=direction,
                            measure="total over the planning years (undiscounted)",
                            cost="discounted total cost (the min_cost objective)",
                            cheapest_cost=ends.cheapest_cost, cheapest_level=ends.cheapest_level,
                            best_level=ends.best_level))
    return table


def plan_table(frontier: pd.DataFrame) -> pd.DataFrame:
    """The plan at each point, tidy: point, level, sector, year, spend."""
    cols = [c for c in frontier.columns if str(c).startswith("spend:") and str(c).count(":") == 2]
    if not cols:
        return pd.DataFrame(columns=["point", "level", "sector", "year", "spend"])
    long = frontier[["point", "level", *cols]].melt(id_vars=["point", "level"], var_name="key", value_name="spend")
    parts = long["key"].str.split(":", expand=True)
    long["sector"], long["year"] = parts[1], parts[2].astype(int)
    return long[["point", "level", "sector", "year", "spend"]].sort_values(["point", "year", "sector"],
                                                                              kind="stable").reset_index(drop=True)


def report_html(frontier: pd.DataFrame) -> str:
    """The frontier (cost against the outcome's total, with the marginal cost on hover), the
    spend by sector at each point, and the table."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    a = frontier.attrs
    o, unit, cur = a.get("outcome", ""), a.get("outcome_unit", ""), a.get("currency", "GBP")
    ok = frontier[frontier["status"] == "optimal"]
    div, money_u = money_scale(ok["discounted_cost"], cur)
    fig = go.Figure(go.Scatter(
        x=ok["outcome_total"], y=ok["discounted_cost"] / div, mode="lines+markers", name="frontier",
        hovertext=[f"point {p}: marginal cost {m:,.2f} {cur} per {unit or 'unit'}" if pd.notna(m) else f"point {p}"
                   for p, m in zip(ok["point"], ok["marginal_cost"])]))
    fig.update_layout(title=f"Least discounted cost for each level of {words(o)}",
                      xaxis_title=f"{words(o)}, total over the planning years" + (f" ({unit})" if unit else ""),
                      yaxis_title=f"discounted cost ({money_u})", yaxis_tickformat=",.3~f", xaxis_tickformat=",.4~r")
    if a.get("direction") == "lower_is_better":
        fig.update_xaxes(autorange="reversed")
    sectors = [c for c in ok.columns if str(c).startswith("spend:") and str(c).count(":") == 1]
    fig2 = make_subplots()
    div2, money_u2 = money_scale(ok[sectors].sum(axis=1) if sectors else [], cur)
    for c in sectors:
        sector = c.split(":", 1)[1]
        fig2.add_trace(go.Bar(x=ok["point"], y=ok[c] / div2, name=words(sector), marker_color=sector_colour(sector)))
    fig2.update_layout(barmode="stack", title="Spend by sector over the planning years at each point",
                       xaxis_title="point (0 = the cheapest plan)", yaxis_title=f"spend ({money_u2})",
                       yaxis_tickformat=",.3~f")
    lines = [f"instance: {a.get('instance')} ({a.get('source')})",
             f"outcome: {o} ({a.get('direction', '').replace('_', ' ')}), measured as its {a.get('measure')}",
             f"cost: {a.get('cost')}",
             f"{len(frontier)} points from the cheapest plan ({a.get('cheapest_level', float('nan')):,.4g}) to the "
             f"best achievable ({a.get('best_level', float('nan')):,.4g})"]
    cols = ["point", "level", "status", "outcome_total", "marginal_cost", "shadow_price", "discounted_cost",
            "total_cost", *sectors]
    return htmlparts.page(f"Pareto frontier: {a.get('instance', '')}, cost against {o}", lines,
                     [("Each point is the least-cost plan that reaches the outcome level; the frontier's slope is "
                       "the marginal cost of the outcome.", fig),
                      ("Where the money goes as the outcome improves.", fig2)],
                     [("Points", htmlparts.table(frontier, columns=cols))])
