"""The pooled budget."""

from __future__ import annotations

import pandas as pd

from .lp import LinearProgram


def spend_terms(lp: LinearProgram, inst) -> pd.DataFrame:
    """(service, sector, year, col, coef) of spend per service and year:

        spend[i, t] = unit_cost[i, t] * activity[i, t]
                      + cost_per_team[i, t] * teams[i, t]                     (services in teams)
                      + running_cost[i, t] * open[i, t] + opening_cost_i * opened[i, t]   (new sites)
    """
    from .discrete import openings_terms

    keys = ["service", "year"]
    sy = inst.service_years
    a = lp.variables["activity"]
    parts = [a.index.assign(col=a.cols).merge(sy[keys + ["unit_cost"]], on=keys).rename(columns={"unit_cost": "coef"})]
    if "teams" in lp.variables:
        b = lp.variables["teams"]
        parts.append(b.index.assign(col=b.cols).merge(sy[keys + ["team_cost"]], on=keys).rename(
            columns={"team_cost": "coef"}))
    if "open" in lp.variables:
        b = lp.variables["open"]
        parts.append(b.index.assign(col=b.cols).merge(sy[keys + ["running_cost"]], on=keys).rename(
            columns={"running_cost": "coef"}))
        o = openings_terms(lp)
        o["coef"] = o["coef"] * o["service"].map(inst.services["opening_cost"]).to_numpy()
        parts.append(o)
    t = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    t = t[t["coef"] != 0] if len(parts) > 1 else t
    t = t.merge(inst.services["sector"].reset_index(), on="service")
    return t[["service", "sector", "year", "col", "coef"]]


def add_pooled_budget(lp: LinearProgram, inst) -> None:
    """For every planning year t:  sum_i unit_cost[i, t] * activity[i, t] <= budget[t]."""
    rows = pd.DataFrame({"year": list(inst.years)})
    lp.add_constraints("pooled_budget", rows, spend_terms(lp, inst)[["year", "col", "coef"]],
                       upper=inst.budget.reindex(inst.years).to_numpy(),
                       description="total spend <= pooled budget", unit="currency",
                       dual_unit="cost per extra unit of budget")
