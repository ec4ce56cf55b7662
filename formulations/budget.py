"""The pooled budget."""

from __future__ import annotations

import pandas as pd

from .lp import LinearProgram


def spend_terms(lp: LinearProgram, inst) -> pd.DataFrame:
    """(service, sector, year, col, coef): spend[i, t] = unit_cost[i, t] * activity[i, t]."""
    a = lp.variables["activity"]
    t = a.index.assign(col=a.cols).merge(inst.service_years[["service", "year", "unit_cost"]],
                                          on=["service", "year"])
    t = t.merge(inst.services["sector"].reset_index(), on="service")
    return t.rename(columns={"unit_cost": "coef"})[["service", "sector", "year", "col", "coef"]]


def add_pooled_budget(lp: LinearProgram, inst) -> None:
    """For every planning year t:  sum_i unit_cost[i, t] * activity[i, t] <= budget[t]."""
    rows = pd.DataFrame({"year": list(inst.years)})
    lp.add_constraints("pooled_budget", rows, spend_terms(lp, inst)[["year", "col", "coef"]],
                       upper=inst.budget.reindex(inst.years).to_numpy(),
                       description="total spend <= pooled budget", unit="currency",
                       dual_unit="cost per extra unit of budget")
