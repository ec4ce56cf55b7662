#!/usr/bin/env python
"""The same programme written in linopy (labelled arrays), for the comparison in scripts/bench.py.

It is built from the same validated :class:`~optimiser.input.instance.Instance` as budgetshift's own
programme, but independently of :mod:`formulations` (nothing of the labelled-block builder is
used), and solved by HiGHS through linopy's direct highspy interface. Its optimal cost doubles as
a cross-check of ours.

Covered: the linear families that generated instances use, i.e. every linear programme in
``min_cost`` mode whose shift policies are ``share`` policies and whose outcome terms count
patients through nodes:

    activity, flow and prevention-reduction variables (bounds as in formulations.variables);
    source incidence, flow conservation, edge shares (fixed, min, max), activity covers flows,
    prevention response (concave curves), incidence floor, pooled budget, share shift, growth
    and shrink limits, outcome targets; least discounted cost.

Not covered (an instance using them is refused): integer choices (openings, minimum scales,
teams, exact curves), transfer shift policies, outcome terms on edges, ``max_outcome`` mode.
The tie-break stage (largest prevention effect among the optima) changes the plan, not the
optimal cost, and is not repeated here.

    python scripts/bench_linopy.py /tmp/budgetshift-bench/gen_places_100000_0_csv.yaml

Needs the ``bench`` extra: ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]


def _check_covered(inst) -> None:
    m = inst.model
    why = []
    if inst.is_mip:
        why.append("integer choices")
    if any(p.kind != "share" for p in m.shift_policies):
        why.append("transfer shift policies")
    if (inst.outcome_terms["on"] != "node").any():
        why.append("outcome terms on edges")
    if m.objective.mode != "min_cost":
        why.append(f"objective mode {m.objective.mode}")
    if why:
        raise ValueError("the linopy comparison model does not cover " + ", ".join(why))


def build_linopy(inst):
    """The budget-shift programme of ``inst`` as a :class:`linopy.Model` (families listed above)."""
    import linopy

    _check_covered(inst)
    m = linopy.Model()
    years = pd.Index(list(inst.years), name="year")
    sy = inst.service_years
    service = pd.Index(inst.services.index, name="service")

    def grid(column: str) -> xr.DataArray:
        return xr.DataArray(sy.pivot(index="service", columns="year", values=column).reindex(
            index=service, columns=years).to_numpy(), coords=[service, years])

    # ------------------------------------------------------------------ variables
    activity = m.add_variables(lower=grid("capacity_min"), upper=grid("capacity_max"), name="activity")

    # arcs: one per (pathway edge, segment on the pathway); flow[arc, year]
    arcs = inst.edges.merge(inst.pathway_segments, on="pathway").reset_index(drop=True)
    arc = pd.RangeIndex(len(arcs), name="arc")
    flow = m.add_variables(lower=0.0, coords=[arc, years], name="flow")

    # node-segments (pathway, node, segment), numbered; each arc leaves one and enters one
    ns = inst.nodes.merge(inst.pathway_segments, on="pathway").reset_index(drop=True)
    ns_id = pd.Series(np.arange(len(ns)), index=pd.MultiIndex.from_frame(ns[["pathway", "node", "segment"]]))
    out_id = ns_id.reindex(pd.MultiIndex.from_frame(arcs[["pathway", "from", "segment"]])).to_numpy()
    in_id = ns_id.reindex(pd.MultiIndex.from_frame(arcs[["pathway", "to", "segment"]])).to_numpy()
    all_ns = pd.RangeIndex(len(ns), name="ns")
    out_sum = flow.groupby(xr.DataArray(out_id, coords=[arc], name="ns")).sum().reindex(ns=all_ns)
    in_sum = flow.groupby(xr.DataArray(in_id, coords=[arc], name="ns")).sum().reindex(ns=all_ns)

    effects = inst.effects.set_index("effect")
    effect = pd.Index(effects.index, name="effect")
    lag = xr.DataArray(effects["lag"].to_numpy(), coords=[effect])
    year_da = xr.DataArray(years.to_numpy(), coords=[years])
    decided = (year_da - lag) > inst.base_year  # the driver year is a planning year
    ymax = xr.DataArray([max(inst.curves[k].y) for k in effect], coords=[effect])
    reduction = m.add_variables(lower=0.0, upper=ymax.broadcast_like(decided), mask=decided, name="reduction")

    # ------------------------------------------------------------------ source incidence
    pop = inst.population.rename("population").reset_index()
    src = inst.incidence.reset_index(drop=True)
    src_dim = pd.RangeIndex(len(src), name="src")
    need = xr.DataArray(src["incidence"].to_numpy()[:, None] * pop.pivot(
        index="segment", columns="year", values="population").reindex(index=src["segment"], columns=years).to_numpy(),
        coords=[src_dim, years])
    src_ns = xr.DataArray(ns_id.reindex(pd.MultiIndex.from_frame(src[["pathway", "node", "segment"]])).to_numpy(),
                          coords=[src_dim])
    lhs = out_sum.sel(ns=src_ns)
    rhs = need.copy()
    tg = inst.effect_targets.merge(src.reset_index()[["index", "pathway", "node", "segment"]],
                                   on=["pathway", "node", "segment"])
    if len(tg):
        t_dim = pd.RangeIndex(len(tg), name="tgt")
        t_eff = xr.DataArray(tg["effect"].to_numpy(), coords=[t_dim])
        t_src = xr.DataArray(tg["index"].to_numpy(), coords=[t_dim], name="src")
        t_need = need.sel(src=t_src)
        lhs = lhs + (reduction.sel(effect=t_eff) * t_need).groupby(t_src).sum().reindex(src=src_dim)
        base = xr.DataArray(effects["baseline_reduction"].to_numpy(), coords=[effect])
        extra = (base.sel(effect=t_eff) * decided.sel(effect=t_eff) * t_need).groupby(t_src).sum()
        rhs = rhs + extra.reindex(src=src_dim, fill_value=0.0)
    m.add_constraints(lhs == rhs, name="source_incidence")

    # ------------------------------------------------------------------ flow conservation
    care = ns.index[ns["kind"] == "care"]
    care_ns = xr.DataArray(care.to_numpy(), dims="care")
    m.add_constraints(in_sum.sel(ns=care_ns) - out_sum.sel(ns=care_ns) == 0, name="flow_conservation")

    # ------------------------------------------------------------------ edge shares
    lo, hi = arcs["share_min"].to_numpy(), arcs["share_max"].to_numpy()
    n_out = np.bincount(out_id, minlength=len(ns))[out_id]
    for name, chosen, bound, sign in (
        ("edge_share_fixed", (lo == hi) & ~((n_out == 1) & (lo == 1.0)), lo, "=="),
        ("edge_share_min", (lo < hi) & (lo > 0), lo, ">="),
        ("edge_share_max", (lo < hi) & (hi < 1), hi, "<="),
    ):
        idx = np.flatnonzero(chosen)
        if not len(idx):
            continue
        sel = xr.DataArray(idx, dims=name)
        expr = flow.sel(arc=sel) - xr.DataArray(bound[idx], dims=name) * out_sum.sel(
            ns=xr.DataArray(out_id[idx], dims=name))
        m.add_constraints(expr, sign, 0, name=name)

    # ------------------------------------------------------------------ activity covers flows
    # patients through a care node: those arriving at it, times the node's units per patient
    into_care = np.flatnonzero(ns["kind"].to_numpy()[in_id] == "care")
    c_dim = xr.DataArray(into_care, dims="use")
    units = xr.DataArray(ns["units_per_patient"].to_numpy()[in_id[into_care]], dims="use")
    svc_of = xr.DataArray(ns["service"].to_numpy()[in_id[into_care]], dims="use", name="service")
    use = (flow.sel(arc=c_dim) * units).groupby(svc_of).sum().reindex(service=service)
    m.add_constraints(activity - use >= grid("non_pathway_activity"), name="activity_covers_flows")

    # ------------------------------------------------------------------ prevention response
    unit_cost = grid("unit_cost")
    n_pieces = {k: len(inst.curves[k].pieces()) - 1 for k in effect}  # the flat piece is the upper bound
    for lag_value in sorted(set(effects["lag"])):
        for j in range(max(n_pieces.values(), default=0)):
            have = [k for k in effect if effects.at[k, "lag"] == lag_value and n_pieces[k] > j]
            if not have:
                continue
            k_dim = pd.Index(have, name="effect")
            alpha = xr.DataArray([inst.curves[k].pieces()[j][0] for k in have], coords=[k_dim])
            beta = xr.DataArray([inst.curves[k].pieces()[j][1] for k in have], coords=[k_dim])
            svc = xr.DataArray(effects.loc[have, "service"].to_numpy(), coords=[k_dim])
            spend_driver = xr.DataArray((effects.loc[have, "driver"] == "spend").to_numpy(), coords=[k_dim])
            # x[k, t - lag]: the service's activity (or spend) lag years earlier
            scale = xr.where(spend_driver, unit_cost.shift(year=lag_value).sel(service=svc), 1.0)
            lagged = activity.shift(year=lag_value).sel(service=svc)
            m.add_constraints(reduction.sel(effect=k_dim) - beta * scale * lagged <= alpha,
                              name=f"prevention_response_lag{lag_value}_piece{j}", mask=decided.sel(effect=k_dim))

    # ------------------------------------------------------------------ incidence floor
    if len(tg):
        floors = inst.effect_targets.merge(inst.effects[["effect", "floor"]], on="effect").groupby(
            ["pathway", "node", "segment"])["floor"].max()
        limit = 1.0 - xr.DataArray(floors.reindex(pd.MultiIndex.from_frame(src[["pathway", "node", "segment"]]))
                                   .to_numpy(), coords=[src_dim]) + extra.reindex(src=src_dim, fill_value=0.0) / need
        most = (ymax.sel(effect=t_eff) * decided.sel(effect=t_eff)).groupby(t_src).sum().reindex(
            src=src_dim, fill_value=0.0)
        summed = (1.0 * reduction.sel(effect=t_eff)).groupby(t_src).sum().reindex(src=src_dim)
        m.add_constraints(summed <= limit, name="incidence_floor", mask=most > limit + 1e-12)

    # ------------------------------------------------------------------ budget and shift
    cost = grid("unit_cost")
    spend = cost * activity
    m.add_constraints(spend.sum("service") <= xr.DataArray(inst.budget.reindex(years).to_numpy(), coords=[years]),
                      name="pooled_budget")
    from formulations.shift_policy import share_trajectory  # the trajectory's numbers, not the model

    sector = xr.DataArray(inst.services["sector"].to_numpy(), coords=[service])
    for p in inst.model.shift_policies:
        tr = share_trajectory(inst, p).set_index("year")["required_share"]
        t_years = pd.Index(tr.index, name="year")
        share = xr.DataArray(tr.to_numpy(), coords=[t_years])
        in_group = sector.isin(p.sectors).astype(float)
        m.add_constraints(((in_group - share) * spend.sel(year=t_years)).sum("service") >= 0,
                          name=f"shift_share_{p.name}")

    # ------------------------------------------------------------------ growth and shrink
    base = xr.DataArray(inst.services["baseline_activity"].to_numpy(), coords=[service])
    first = year_da == years[0]
    for column, sign, name in (("max_growth", 1.0, "growth_limit"), ("max_shrink", -1.0, "shrink_limit")):
        limit = xr.DataArray(inst.services[column].to_numpy(), coords=[service])
        factor = 1.0 + sign * limit
        has = limit.notnull()
        later = activity - factor * activity.shift(year=1)
        if sign > 0:
            m.add_constraints(later <= 0, name=name, mask=has & ~first)
            m.add_constraints(activity.sel(year=years[0]) <= factor * base, name=name + "_first", mask=has)
        else:
            m.add_constraints(later >= 0, name=name, mask=has & ~first)
            m.add_constraints(activity.sel(year=years[0]) >= factor * base, name=name + "_first", mask=has)

    # ------------------------------------------------------------------ outcome targets
    if len(inst.targets):
        ot = inst.outcome_terms.merge(ns.reset_index()[["index", "pathway", "node", "segment", "kind"]],
                                      on=["pathway", "node", "segment"])
        # patients through a node: leaving it at a source, arriving at it elsewhere
        parts = []
        for kinds, ids, summed in (("source", ot["kind"] == "source", out_sum), ("other", ot["kind"] != "source", in_sum)):
            o = ot[ids].reset_index(drop=True)
            if len(o):
                o_dim = pd.RangeIndex(len(o), name=f"term_{kinds}")
                w = xr.DataArray(o["weight"].to_numpy(), coords=[o_dim])
                grp = xr.DataArray(o["outcome"].to_numpy(), coords=[o_dim], name="outcome")
                parts.append((w * summed.sel(ns=xr.DataArray(o["index"].to_numpy(), coords=[o_dim]))).groupby(grp).sum())
        outcome = pd.Index(inst.outcomes["outcome"], name="outcome")
        value = sum(p.reindex(outcome=outcome) for p in parts)
        tg_ = inst.targets.pivot(index="outcome", columns="year")
        at_least = xr.DataArray(tg_["at_least"].reindex(index=outcome, columns=years).to_numpy(), coords=[outcome, years])
        at_most = xr.DataArray(tg_["at_most"].reindex(index=outcome, columns=years).to_numpy(), coords=[outcome, years])
        m.add_constraints(value >= at_least, name="outcome_target_min", mask=np.isfinite(at_least))
        m.add_constraints(value <= at_most, name="outcome_target_max", mask=np.isfinite(at_most))

    # ------------------------------------------------------------------ objective
    discount = xr.DataArray(inst.discount.reindex(years).to_numpy(), coords=[years])
    m.add_objective((discount * spend).sum())
    return m


def measure(path: str) -> dict:
    """In this (fresh) process: load, build in linopy, solve with HiGHS (direct), read the solution."""
    sys.path.insert(0, str(ROOT))
    import warnings

    import optimiser

    warnings.filterwarnings("ignore", module="linopy")
    t = {}
    t0 = time.perf_counter()
    inst = optimiser.load(path)
    t["load_validate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    m = build_linopy(inst)
    t["build"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    status, condition = m.solve(solver_name="highs", io_api="direct", output_flag=False, random_seed=0)
    wall = time.perf_counter() - t0
    highs = float(m.solver_model.getRunTime())
    t["highs"] = highs
    t["translate_solve_extract"] = wall - highs
    total = sum(t.values())
    return {"variables": int(m.nvars), "constraints": int(m.ncons), "status": f"{status}/{condition}",
            "objective": float(m.objective.value), "seconds": t, "total_seconds": total,
            "ratio_total_to_highs": total / highs if highs > 0 else None,
            "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1])))
