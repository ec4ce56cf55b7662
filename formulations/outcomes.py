"""Outcomes (emergency admissions, bed days, QALYs, deaths, ...) as linear weights on pathway
flows, and the targets on them."""

from __future__ import annotations

import pandas as pd

from .lp import LinearProgram
from .pathway_flows import throughput_terms


def outcome_value_terms(lp: LinearProgram, inst) -> pd.DataFrame:
    """(outcome, segment, year, col, coef): value[o, t] = sum over o's terms of weight x patients,
    where a node term counts patients passing through the node and an edge term patients on the edge
    (``segment`` says whose patients, for outcomes by place)."""
    ot = inst.outcome_terms
    if ot.empty:
        return pd.DataFrame(columns=["outcome", "segment", "year", "col", "coef"])
    parts = []
    nodes = ot[ot["on"] == "node"]
    if len(nodes):
        thr = throughput_terms(lp, inst)
        t = nodes[["outcome", "pathway", "node", "segment", "weight"]].merge(
            thr, on=["pathway", "node", "segment"])
        parts.append(t.assign(coef=t["weight"] * t["coef"])[["outcome", "segment", "year", "col", "coef"]])
    edges = ot[ot["on"] == "edge"]
    if len(edges):
        f = lp.variables["flow"]
        fl = f.index.assign(col=f.cols)
        t = edges[["outcome", "pathway", "from", "to", "segment", "weight"]].merge(
            fl, on=["pathway", "from", "to", "segment"])
        parts.append(t.assign(coef=t["weight"])[["outcome", "segment", "year", "col", "coef"]])
    return pd.concat(parts, ignore_index=True)


def add_outcome_targets(lp: LinearProgram, inst) -> None:
    """For every outcome o and year t with a target:  at_least[o, t] <= value[o, t] <= at_most[o, t]."""
    tg = inst.targets
    if tg.empty:
        return
    rows = tg[["outcome", "year"]]
    vt = outcome_value_terms(lp, inst).merge(rows, on=["outcome", "year"])
    lp.add_constraints("outcome_target", rows, vt, lower=tg["at_least"].to_numpy(),
                       upper=tg["at_most"].to_numpy(), description="outcome within its target",
                       unit="outcome units", dual_unit="currency per outcome unit")


def outcome_weights(inst) -> pd.DataFrame:
    """(outcome, year, weight) of the max_outcome objective: weight_o x sign_o x discount_t, with
    sign -1 for lower-is-better outcomes (fewer admissions is a gain)."""
    obj = inst.model.objective
    rows = []
    direction = inst.outcomes.set_index("outcome")["direction"]
    for o, w in (obj.weights or {}).items():
        sign = 1.0 if direction[o] == "higher_is_better" else -1.0
        for y in inst.years:
            d = inst.discount[y] if obj.discount_outcomes else 1.0
            rows.append({"outcome": o, "year": y, "weight": w * sign * d})
    return pd.DataFrame(rows, columns=["outcome", "year", "weight"])
