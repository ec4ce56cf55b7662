"""Stability: how fast each service's activity may grow or shrink from one year to the next."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .lp import LinearProgram, terms


def _limits(lp: LinearProgram, inst, column: str) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    a = lp.variables["activity"]
    act = a.index.assign(col=a.cols)
    svc = inst.services[[column, "baseline_activity"]].reset_index()
    rows = act.merge(svc[svc[column].notna()], on="service")
    prev = act.rename(columns={"col": "prev_col"}).assign(year=lambda d: d["year"] + 1)
    rows = rows.merge(prev, on=["service", "year"], how="left")
    return rows, rows[["service", "year"]], rows["prev_col"].isna().to_numpy()


def add_growth_limits(lp: LinearProgram, inst) -> None:
    """activity[i, t] <= (1 + max_growth_i) * activity[i, t-1] + U[i, t] * opened[i, t], with
    activity[i, base] = baseline_i (the last term only for a new service, in the year it opens)."""
    rows, idx, first = _limits(lp, inst, "max_growth")
    if rows.empty:
        return
    factor = 1.0 + rows["max_growth"].to_numpy()
    later = rows[~first]
    parts = [terms(idx, rows["col"], 1.0),
             terms(later[["service", "year"]], later["prev_col"].astype(np.int64), -factor[~first])]
    if "open" in lp.variables:
        # a service opening in year t may start at any level: - U[i, t] * opened[i, t] on the left
        from .discrete import openings_terms

        o = openings_terms(lp).merge(idx, on=["service", "year"])
        bound = inst.service_years.set_index(["service", "year"])["activity_bound"]
        o["coef"] = -o["coef"] * bound.reindex(pd.MultiIndex.from_frame(o[["service", "year"]])).to_numpy()
        parts.append(o[["service", "year", "col", "coef"]])
    upper = np.where(first, factor * rows["baseline_activity"].to_numpy(), 0.0)
    lp.add_constraints("growth_limit", idx, parts, upper=upper,
                       description="activity <= (1 + max growth) x last year's", unit="units",
                       dual_unit="currency per unit of extra growth")


def add_shrink_limits(lp: LinearProgram, inst) -> None:
    """activity[i, t] >= (1 - max_shrink_i) * activity[i, t-1], with activity[i, base] = baseline_i."""
    rows, idx, first = _limits(lp, inst, "max_shrink")
    if rows.empty:
        return
    factor = 1.0 - rows["max_shrink"].to_numpy()
    later = rows[~first]
    parts = [terms(idx, rows["col"], 1.0),
             terms(later[["service", "year"]], later["prev_col"].astype(np.int64), -factor[~first])]
    lower = np.where(first, factor * rows["baseline_activity"].to_numpy(), 0.0)
    lp.add_constraints("shrink_limit", idx, parts, lower=lower,
                       description="activity >= (1 - max shrink) x last year's", unit="units",
                       dual_unit="currency per unit of extra shrinkage")
