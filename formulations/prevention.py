"""Prevention effects: a concave piecewise-linear response of incidence to a prevention
service's activity (or spend) some years earlier, and a floor under incidence."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .lp import LinearProgram, terms
from .variables import cohort_terms, cohort_years, effect_years, lasting_effect_years


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
    ey = effect_years(inst).merge(inst.effects[["effect", "service", "driver", "exact"]], on="effect")
    ey = ey[~ey["exact"].astype(bool)].reset_index(drop=True)  # exact curves: add_exact_prevention_response
    if ey.empty:
        return
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
    Rows that could never bind (the reductions' upper bounds, the curves' maxima for the one-year
    pulse, already respect the floor) are left out. Lasting effects' reductions beyond the horizon
    (terminal value) get their rows too: the floor holds in those years as well.
    """
    red = lp.variables.get("reduction")
    if red is None or not len(red):
        return
    t = inst.effect_targets.merge(red.index.assign(col=red.cols, ymax=red.upper), on="effect")
    t = t.merge(inst.effects[["effect", "floor", "baseline_reduction"]], on="effect")
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


def add_exact_prevention_response(lp: LinearProgram, inst) -> None:
    """Curves that are not concave (e.g. S-shaped uptake), or marked ``response_model: exact``, are
    modelled exactly with an SOS2-by-binaries (lambda) formulation over the curve's points
    (x_j, y_j), j = 0..n, extended flat to the driver's largest possible value:

        sum_j lam[k,t,j] = 1,   sum_j x_j lam[k,t,j] = x[k, t - lag_k],   reduction[k,t] = sum_j y_j lam[k,t,j]
        sum_j seg[k,t,j] = 1,   lam[k,t,j] <= seg[k,t,j-1] + seg[k,t,j]        (seg binary)

    so reduction = g_k(x) exactly, whatever the objective prefers.
    """
    red = lp.variables.get("reduction")
    if red is None or not len(red) or not inst.effects["exact"].any():
        return
    ey = effect_years(inst).merge(inst.effects[["effect", "service", "driver", "exact"]], on="effect")
    ey = ey[ey["exact"].astype(bool)].reset_index(drop=True)
    if ey.empty:
        return
    _exact_curves(lp, inst, ey, red, "year", "")


def _exact_curves(lp: LinearProgram, inst, ey: pd.DataFrame, red, key: str, prefix: str) -> None:
    """The lambda formulation of :func:`add_exact_prevention_response` for the rows of ``ey``
    (effect, ``key`` year, driver_year, service, driver), equating the variables of block ``red``
    keyed (effect, ``key``) with the curve; blocks named ``prefix`` + curve_*."""
    sy = inst.service_years.set_index(["service", "year"])
    lam_rows, seg_rows = [], []
    for r in ey.itertuples(index=False):
        curve = inst.curves[r.effect]
        scale = sy.loc[(r.service, r.driver_year), "unit_cost"] if r.driver == "spend" else 1.0
        x_max = sy.loc[(r.service, r.driver_year), "activity_bound"] * scale
        xs, ys = list(curve.x), list(curve.y)
        if np.isfinite(x_max) and x_max > xs[-1]:
            xs.append(float(x_max))
            ys.append(ys[-1])
        elif not np.isfinite(x_max):
            raise ValueError(f"prevention effect {r.effect}: service {r.service} needs capacity.max "
                             "or a unit cost to bound its exact response curve")
        year = getattr(r, key)
        for j, (x, y) in enumerate(zip(xs, ys)):
            lam_rows.append({"effect": r.effect, key: year, "point": j, "x": x, "y": y,
                             "service": r.service, "driver_year": r.driver_year, "scale": scale,
                             "n": len(xs)})
        for j in range(len(xs) - 1):
            seg_rows.append({"effect": r.effect, key: year, "segment": j})
    lam = pd.DataFrame(lam_rows)
    seg = pd.DataFrame(seg_rows)
    lb = lp.add_variables(prefix + "curve_weight", lam[["effect", key, "point"]], lower=0.0, upper=1.0,
                          description="weight of each curve point (lambda)")
    sb = lp.add_variables(prefix + "curve_segment", seg[["effect", key, "segment"]], lower=0.0, upper=1.0,
                          integer=True, description="1 for the curve piece the driver lies on")
    lam["col"] = lb.cols
    seg["col"] = sb.cols
    keys = ["effect", key]
    rows = ey[keys]
    lp.add_constraints(prefix + "curve_weights_sum", rows, terms(lam[keys], lam["col"], 1.0), lower=1.0, upper=1.0,
                       description="sum of curve point weights = 1")
    drv = ey.assign(year_=ey[key]).rename(columns={key: "y0"})
    act_cols = lp.variables["activity"].lookup(
        drv.rename(columns={"driver_year": "year"})[["service", "year"]], on=["service", "year"])
    scale = [lam[(lam["effect"] == e) & (lam[key] == y)]["scale"].iloc[0] for e, y in zip(ey["effect"], ey[key])]
    lp.add_constraints(prefix + "curve_driver", rows, [terms(lam[keys], lam["col"], lam["x"]),
                                                       terms(rows, act_cols, -np.asarray(scale, dtype=float))],
                       lower=0.0, upper=0.0, description="driver = sum of curve point x weights")
    lp.add_constraints(prefix + "curve_reduction", rows, [terms(rows, red.lookup(rows, on=keys), 1.0),
                                                          terms(lam[keys], lam["col"], -lam["y"])],
                       lower=0.0, upper=0.0, description="reduction = sum of curve point y weights")
    lp.add_constraints(prefix + "curve_segment_sum", rows, terms(seg[keys], seg["col"], 1.0), lower=1.0, upper=1.0,
                       description="the driver lies on exactly one piece")
    adj = []
    for j_off in (0, 1):  # lam_j <= seg_{j-1} + seg_j
        s2 = seg.assign(point=seg["segment"] + j_off)
        adj.append(s2)
    adj = pd.concat(adj, ignore_index=True).merge(lam[keys + ["point"]], on=keys + ["point"])
    akeys = keys + ["point"]
    lp.add_constraints(prefix + "curve_adjacent", lam[akeys], [terms(lam[akeys], lam["col"], 1.0),
                                                               terms(adj[akeys], adj["col"], -1.0)],
                       upper=0.0, description="only the two points of the chosen piece carry weight")


def _cohort_rows(lp: LinearProgram, inst, exact: bool) -> pd.DataFrame:
    """The lasting effects' cohorts (effect, cohort_year, driver_year, service, driver) whose curve is
    (``exact``) or is not modelled exactly."""
    cy = cohort_years(inst)
    if cy.empty or "cohort_response" not in lp.variables:
        return cy
    cy = cy.merge(inst.effects[["effect", "service", "driver", "exact"]], on="effect", sort=False)
    return cy[cy["exact"].astype(bool) == exact].reset_index(drop=True)


def add_cohort_response(lp: LinearProgram, inst) -> None:
    """For every lasting effect k (ramp, persistence, duration, or a terminal value), planning-year
    cohort tau and linear piece j of its concave curve g_k(x) = min_j (alpha_j + beta_j x):

        cohort_response[k, tau] <= alpha_j + beta_j * kappa_{k,tau} * activity[i_k, tau]

    the full effect that year tau's activity (or spend, kappa = unit cost) buys: the hypograph of
    the curve, as :func:`add_prevention_response` for the one-year pulse; the flat piece beyond the
    last point is the variable's upper bound. How the effect spreads over the years after tau is
    :func:`add_prevention_persistence`.
    """
    cy = _cohort_rows(lp, inst, exact=False)
    if cy.empty:
        return
    cy["col"] = lp.variables["cohort_response"].lookup(cy, on=["effect", "cohort_year"])
    cy["act_col"] = lp.variables["activity"].lookup(cy.assign(year=cy["driver_year"]), on=["service", "year"])
    cost = inst.service_years.set_index(["service", "year"])["unit_cost"]
    cy["scale"] = np.where(cy["driver"] == "spend",
                           cost.reindex(pd.MultiIndex.from_arrays([cy["service"], cy["driver_year"]])).to_numpy(),
                           1.0)
    pieces = pd.DataFrame([{"effect": k, "piece": j, "alpha": a, "beta": b}
                           for k, curve in inst.curves.items() for j, (a, b) in enumerate(curve.pieces()[:-1])],
                          columns=["effect", "piece", "alpha", "beta"])
    rows = cy.merge(pieces, on="effect", sort=False)
    keys = ["effect", "cohort_year", "piece"]
    lp.add_constraints("prevention_cohort_response", rows[keys],
                       [terms(rows[keys], rows["col"], 1.0), terms(rows[keys], rows["act_col"], -rows["beta"] * rows["scale"])],
                       upper=rows["alpha"].to_numpy(),
                       description="a cohort's full effect <= piece j of the response curve at its year's driver",
                       unit="fraction")


def add_exact_cohort_response(lp: LinearProgram, inst) -> None:
    """Lasting effects whose curve is not concave, or marked ``response_model: exact``: the lambda
    formulation of :func:`add_exact_prevention_response` on the cohorts,

        cohort_response[k, tau] = g_k(kappa_{k,tau} activity[i_k, tau])   exactly,

    in blocks cohort_curve_weight, cohort_curve_segment (binary), cohort_curve_weights_sum,
    cohort_curve_driver, cohort_curve_reduction, cohort_curve_segment_sum, cohort_curve_adjacent,
    keyed (effect, cohort_year[, point or segment]).
    """
    cy = _cohort_rows(lp, inst, exact=True)
    if cy.empty:
        return
    _exact_curves(lp, inst, cy, lp.variables["cohort_response"], "cohort_year", "cohort_")


def add_prevention_persistence(lp: LinearProgram, inst) -> None:
    """For every lasting effect k and year t that planning-year cohorts act in (beyond the horizon
    too, with a terminal value), with profile p_k (0 before the lag, the ramp's fractions, then the
    last fraction x persistence^(years after the ramp), 0 after the duration):

        reduction[k, t] - sum_{tau in T} p_k(t - tau) cohort_response[k, tau]  <=  g0_k (1 - S_{k,t})

    (= for an exact curve), S_{k,t} = sum_{tau in T} p_k(t - tau). That is, the reduction is at most
    the baseline g0_k plus each planning cohort's change on the baseline, weighted by how much of
    its effect acts in year t:  reduction <= g0_k + sum_tau p_k(t - tau) (cohort_response - g0_k).
    Cohorts before the horizon are at the baseline and already in the baseline incidence, so they
    add nothing. The inequality lets the incidence floor cut a year's reduction without cutting the
    cohorts behind it (the tie-break lifts it back to the sum where nothing stops it); with an
    exact curve the reduction is exactly what the cohorts deliver.
    """
    ct = cohort_terms(inst)
    if ct.empty or "cohort_response" not in lp.variables:
        return
    ly = lasting_effect_years(inst).merge(inst.effects[["effect", "baseline_reduction", "exact"]],
                                          on="effect", sort=False)
    keys = ["effect", "year"]
    red = lp.variables["reduction"]
    own = terms(ly[keys], red.lookup(ly, on=keys), 1.0)
    coh = terms(ct[keys], lp.variables["cohort_response"].lookup(ct, on=["effect", "cohort_year"]), -ct["weight"])
    rhs = (ly["baseline_reduction"] * (1.0 - ly["reach"])).to_numpy(dtype=float)
    exact = ly["exact"].astype(bool).to_numpy()
    lp.add_constraints("prevention_persistence", ly[keys], [own, coh], lower=np.where(exact, rhs, -np.inf),
                       upper=rhs, description="reduction <= baseline + what the planning cohorts add, "
                       "by the effect's profile over the years", unit="fraction")
