"""Prevention effects: a concave piecewise-linear response of incidence to a prevention
service's activity (or spend) some years earlier, and a floor under incidence."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .lp import LinearProgram, terms
from .variables import effect_years


def add_prevention_response(lp: LinearProgram, inst) -> None:
    """For every effect k with driver year t - lag_k in the horizon, and each linear piece j of its
    concave curve g_k(x) = min_j (alpha_j + beta_j x):

        reduction[k, t] <= alpha_j + beta_j * x[k, t - lag_k]

    with x = activity of the effect's service (or unit_cost x activity for a spend driver).
    Because g_k is concave this hypograph is exact whenever lowering incidence never hurts the
    objective (it never does in min-cost mode); the verifier checks reduction = g_k(x).
    The flat piece beyond the last point is the variable's upper bound.
    """
    red = lp.variables.get("reduction")
    if red is None or not len(red):
        return
    ey = effect_years(inst).merge(inst.effects[["effect", "service", "driver"]], on="effect")
    ey["red_col"] = red.lookup(ey, on=["effect", "year"])
    a = lp.variables["activity"]
    ey["act_col"] = a.lookup(ey.rename(columns={"driver_year": "_y"}).assign(year=lambda d: d["_y"]),
                             on=["service", "year"])
    cost = inst.service_years.set_index(["service", "year"])["unit_cost"]
    ey["scale"] = np.where(ey["driver"] == "spend",
                           cost.reindex(pd.MultiIndex.from_arrays([ey["service"], ey["driver_year"]])).to_numpy(),
                           1.0)
    pieces = []
    for k, curve in inst.curves.items():
        for j, (alpha, beta) in enumerate(curve.pieces()[:-1]):
            pieces.append({"effect": k, "piece": j, "alpha": alpha, "beta": beta})
    pieces = pd.DataFrame(pieces, columns=["effect", "piece", "alpha", "beta"])
    rows = ey.merge(pieces, on="effect")
    keys = ["effect", "year", "piece"]
    own = terms(rows[keys], rows["red_col"], 1.0)
    drv = terms(rows[keys], rows["act_col"], -rows["beta"] * rows["scale"])
    lp.add_constraints("prevention_response", rows[keys], [own, drv], upper=rows["alpha"].to_numpy(),
                       description="reduction <= piece j of the response curve at the lagged driver",
                       unit="fraction")


def add_incidence_floor(lp: LinearProgram, inst) -> None:
    """At every source n, segment s, year t with prevention effects K(n, s):

        sum_{k in K} (reduction[k, t] - g_k(x_k^base)) <= 1 - max_{k in K} floor_k

    so incidence never falls below the highest floor of the effects acting on it.
    Rows that could never bind (the curves' maxima already respect the floor) are left out.
    """
    red = lp.variables.get("reduction")
    if red is None or not len(red):
        return
    t = inst.effect_targets.merge(red.index.assign(col=red.cols), on="effect")
    t = t.merge(inst.effects[["effect", "floor", "baseline_reduction"]], on="effect")
    t["ymax"] = [max(inst.curves[k].y) for k in t["effect"]]
    keys = ["pathway", "node", "segment", "year"]
    # baseline terms of all effects on a source, including those whose driver is not yet a decision
    g = inst.effect_targets.merge(inst.effects[["effect", "floor", "baseline_reduction"]], on="effect")
    g = g.groupby(["pathway", "node", "segment"], as_index=False).agg(floor=("floor", "max"))
    agg = t.groupby(keys, as_index=False).agg(most=("ymax", "sum"), base=("baseline_reduction", "sum"))
    agg = agg.merge(g, on=["pathway", "node", "segment"])
    agg["limit"] = 1.0 - agg["floor"] + agg["base"]
    agg = agg[agg["most"] > agg["limit"] + 1e-12]
    if agg.empty:
        return
    sel = t.merge(agg[keys], on=keys)
    lp.add_constraints("incidence_floor", agg[keys], terms(sel[keys], sel["col"], 1.0),
                       upper=agg["limit"].to_numpy(), description="incidence >= floor x baseline",
                       unit="fraction")
