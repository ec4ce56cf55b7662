"""Equity across places: spend per head, or an outcome rate, kept within a ratio or a gap."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .lp import LinearProgram
from .outcomes import outcome_value_terms
from .ring_fences import attributable_spend_terms

#: outcome rates are per this many people
RATE_PER = 1000.0


def place_measure_terms(lp: LinearProgram, inst) -> pd.DataFrame:
    """(name, year, place, col, coef): each compared place's measure, linear in the plan:

        spend_per_head[p, t] = spend[place p, t] / population[p, t]
        outcome_rate[p, t]   = 1000 * sum_{s in p} value[o, s, t] / population[p, t]

    (spend[place p, t] as in :func:`formulations.ring_fences.attributable_spend_terms`: the place's
    own services whole, plus its people's pathway use of shared services)."""
    eq = inst.equity
    parts = []
    spend = eq[eq["measure"] == "spend_per_head"]
    if len(spend):
        t = attributable_spend_terms(lp, inst, spend["scope"].unique())
        t = spend[["name", "year", "place", "scope", "population"]].merge(t, on=["scope", "year"])
        parts.append(t.assign(coef=t["coef"] / t["population"]))
    rate = eq[eq["measure"] == "outcome_rate"]
    if len(rate):
        v = outcome_value_terms(lp, inst).merge(inst.segments, on="segment")
        t = rate[["name", "year", "place", "outcome", "population"]].merge(v, on=["outcome", "place", "year"])
        parts.append(t.assign(coef=RATE_PER * t["coef"] / t["population"]))
    if not parts:
        return pd.DataFrame(columns=["name", "year", "place", "col", "coef"])
    return pd.concat(parts, ignore_index=True)[["name", "year", "place", "col", "coef"]]


def add_equity(lp: LinearProgram, inst) -> None:
    """For every equity rule e and year t, with highest[e, t] and lowest[e, t] free variables:

        lowest[e, t] <= measure[p, t] <= highest[e, t]        for every compared place p
        highest[e, t] - max_ratio_e * lowest[e, t] <= 0        (with max_ratio)
        highest[e, t] - lowest[e, t] <= max_gap_e              (with max_gap)
    """
    eq = inst.equity
    if eq.empty:
        return
    rules = eq.drop_duplicates(["name", "year"])[["name", "year", "max_ratio", "max_gap"]].reset_index(drop=True)
    hi = lp.add_variables("equity_highest", rules[["name", "year"]], lower=-np.inf,
                          description="highest measure across the places", unit="measure")
    lo = lp.add_variables("equity_lowest", rules[["name", "year"]], lower=-np.inf,
                          description="lowest measure across the places", unit="measure")
    m = place_measure_terms(lp, inst)
    places = eq[["name", "year", "place"]]
    for side, block, row_name in (("highest", hi, "equity_upper"), ("lowest", lo, "equity_lower")):
        # equity_upper: measure - highest <= 0 ;  equity_lower: measure - lowest >= 0
        bound = block.index.assign(col=block.cols, coef=-1.0).merge(places, on=["name", "year"])
        lp.add_constraints(row_name, places, [m, bound],
                           lower=0.0 if side == "lowest" else -np.inf, upper=np.inf if side == "lowest" else 0.0,
                           description=f"each place's measure {'<=' if side == 'highest' else '>='} the {side}",
                           unit="measure", dual_unit="cost per unit of the measure")
    ratio = rules[rules["max_ratio"].notna()]
    if len(ratio):
        r = ratio[["name", "year"]]
        h = hi.index.assign(col=hi.cols, coef=1.0).merge(r, on=["name", "year"])
        lw = lo.index.assign(col=lo.cols).merge(ratio, on=["name", "year"])
        lw = lw.assign(coef=-lw["max_ratio"])[["name", "year", "col", "coef"]]
        lp.add_constraints("equity_ratio", r, [h, lw], upper=0.0,
                           description="highest <= max_ratio x lowest", unit="measure",
                           dual_unit="cost per unit of the ratio rule")
    gap = rules[rules["max_gap"].notna()]
    if len(gap):
        g = gap[["name", "year"]]
        h = hi.index.assign(col=hi.cols, coef=1.0).merge(g, on=["name", "year"])
        lw = lo.index.assign(col=lo.cols, coef=-1.0).merge(g, on=["name", "year"])
        lp.add_constraints("equity_gap", g, [h, lw], upper=gap["max_gap"].to_numpy(),
                           description="highest - lowest <= max_gap", unit="measure",
                           dual_unit="cost per unit of the gap")
