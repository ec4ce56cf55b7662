"""Transition costs and bridging finance: one-off set-up costs of growing a service, and a
time-limited transformation fund outside the recurrent budget that may pay for them.

    setup[i, t]  >= e_i[t] * (activity[i, t] - activity[i, t-1]),  setup >= 0,
                    activity[i, base] = baseline_i                 (e: set-up cost per unit of growth)
    fund[i, t]   <= setup[i, t]                                    (the fund pays for transition costs only)
    sum_i fund[i, t] <= F[t]  in the fund's years (0 in others);   sum_{i, t} fund[i, t] <= F_total

Double running (old capacity paid for while the new service grows) follows from semi-fixed steps
and their closure lag (:mod:`formulations.cost_behaviour`); it is reported, not added twice.

Budgets count ``setup - fund`` (what the recurrent budget bears); the objective counts the whole
set-up cost, whoever pays it (the fund is real money: it only lifts the budget limit); the shift
share counts recurrent payments only (:func:`formulations.budget.spend_terms`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .lp import LinearProgram, terms

KEYS = ["service", "year"]


def setup_services(inst) -> pd.Index:
    svc = inst.model.services
    return pd.Index([s.name for s in svc if s.transition is not None])


def fund_years(inst) -> list[int]:
    f = inst.model.transformation_fund
    if f is None:
        return []
    return list(inst.years) if f.years == "all" else [y for y in inst.years if y in set(f.years)]


def add_transition_variables(lp: LinearProgram, inst) -> None:
    """setup[i, t] >= 0 for services with ``transition``; fund[i, t] >= 0 (0 outside the fund's
    years) when there is a ``transformation_fund``."""
    names = setup_services(inst)
    if not len(names):
        return
    sy = inst.service_years
    rows = sy[sy["service"].isin(names)].reset_index(drop=True)[KEYS]
    lp.add_variables("setup_cost", rows, unit="currency", description="one-off set-up cost of growth")
    if inst.model.transformation_fund is not None:
        open_years = set(fund_years(inst))
        lp.add_variables("transformation_fund_paid", rows, upper=np.where(rows["year"].isin(open_years), np.inf, 0.0),
                         unit="currency", description="set-up cost paid by the transformation fund")


def add_setup_costs(lp: LinearProgram, inst) -> None:
    """setup[i, t] - e_i[t] * activity[i, t] + e_i[t] * activity[i, t-1] >= 0
    (>= -e_i[t] * baseline_i in the first planning year)."""
    if "setup_cost" not in lp.variables:
        return
    s = lp.variables["setup_cost"]
    rows = s.index.merge(inst.service_years[KEYS + ["setup_cost"]], on=KEYS, how="left")
    e = rows["setup_cost"].to_numpy()
    a = lp.variables["activity"]
    parts = [terms(rows[KEYS], s.cols, 1.0), terms(rows[KEYS], a.lookup(rows), -e)]
    later = (rows["year"] > inst.base_year + 1).to_numpy()
    prev = rows[later].assign(year=rows.loc[later, "year"] - 1)
    parts.append(terms(rows.loc[later, KEYS], a.lookup(prev), e[later]))
    base = rows["service"].map(inst.services["baseline_activity"]).to_numpy()
    lp.add_constraints("setup_cost_of_growth", rows[KEYS], parts, lower=np.where(later, 0.0, -e * base),
                       description="set-up cost >= cost per unit x growth over last year", unit="currency",
                       dual_unit="currency of objective per unit of set-up cost")


def add_fund_pays_transition_only(lp: LinearProgram, inst) -> None:
    """fund[i, t] - setup[i, t] <= 0: the transformation fund pays for transition costs only."""
    if "transformation_fund_paid" not in lp.variables:
        return
    f, s = lp.variables["transformation_fund_paid"], lp.variables["setup_cost"]
    rows = f.index
    lp.add_constraints("fund_pays_transition_only", rows, [terms(rows, f.cols, 1.0), terms(rows, s.cols, -1.0)],
                       upper=0.0, description="paid by the transformation fund <= the set-up cost", unit="currency",
                       dual_unit="(no price: a bound)")


def add_transformation_fund(lp: LinearProgram, inst) -> None:
    """sum_i fund[i, t] <= F[t] for each year of the fund (``per_year``), and
    sum_{i, t} fund[i, t] <= F_total (``total``)."""
    fund = inst.model.transformation_fund
    if fund is None or "transformation_fund_paid" not in lp.variables:
        return
    f = lp.variables["transformation_fund_paid"]
    t = f.index.assign(col=f.cols, coef=1.0)
    if fund.per_year is not None:
        years = fund_years(inst)
        limit = inst.transformation_fund_per_year()
        rows = pd.DataFrame({"year": years})
        lp.add_constraints("transformation_fund_year", rows, t[t["year"].isin(years)][["year", "col", "coef"]],
                           upper=np.array([limit[y] for y in years], dtype=float),
                           description="paid by the transformation fund in the year <= what it has for the year",
                           unit="currency", dual_unit="cost per extra unit in the fund for the year")
    if fund.total is not None:
        lp.add_constraints("transformation_fund_total", pd.DataFrame({"fund": [fund.name]}),
                           t.assign(fund=fund.name)[["fund", "col", "coef"]], upper=float(fund.total),
                           description="paid by the transformation fund over the plan <= its total",
                           unit="currency", dual_unit="cost per extra unit in the fund")


def transition_terms(lp: LinearProgram, inst, with_fund: bool = True) -> pd.DataFrame:
    """(service, sector, year, col, coef) of the transition cost the recurrent budget bears:
    setup[i, t] - fund[i, t] (``with_fund=False``: the whole set-up cost, for the objective)."""
    cols = ["service", "sector", "year", "col", "coef"]
    if "setup_cost" not in lp.variables:
        return pd.DataFrame(columns=cols)
    s = lp.variables["setup_cost"]
    parts = [s.index.assign(col=s.cols, coef=1.0)]
    if with_fund and "transformation_fund_paid" in lp.variables:
        f = lp.variables["transformation_fund_paid"]
        parts.append(f.index.assign(col=f.cols, coef=-1.0))
    t = pd.concat(parts, ignore_index=True)
    t["sector"] = t["service"].map(inst.services["sector"])
    return t[cols]


def prefer_fund_first(lp: LinearProgram, inst) -> None:
    """Among optimal plans, the one that uses the transformation fund most (a fund not spent within
    its years is lost; what it pays, the recurrent budget does not):

        minimise sum_{i, t} (2 setup[i, t] - fund[i, t])

    (the set-up term keeps set-up costs at their least: the optimum is held only to within a
    tolerance, and the fund alone would otherwise pay for set-up costs raised within it)."""
    if "transformation_fund_paid" not in lp.variables:
        return
    vec = np.zeros(lp.n_cols)
    vec[lp.variables["transformation_fund_paid"].cols] = -1.0
    vec[lp.variables["setup_cost"].cols] = 2.0
    lp.tiebreaks.append(("most transition cost met by the transformation fund among the optimal plans", vec))
