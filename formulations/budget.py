"""Budgets: the pooled budget, and budget holders' own budgets and pooled funds when the plan is
solved siloed or partially pooled."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .lp import LinearProgram


def spend_terms(lp: LinearProgram, inst) -> pd.DataFrame:
    """(service, sector, year, col, coef) of spend per service and year: the commissioner's recurrent
    cash payment for the service, which the budgets, the shift policies and the objective all count.

        spend[i, t] = unit_cost[i, t] * activity[i, t]                        (no contract given)
                    | price[i, t] * activity[i, t]                            (activity contract)
                    | pay[i, t]                                               (block or capitation contract;
                                                                               formulations.cost_behaviour)
                      + cost_per_team[i, t] * teams[i, t]                     (services in teams)
                      + running_cost[i, t] * open[i, t] + opening_cost_i * opened[i, t]   (new sites)

    The provider's own cost behaviour (variable, steps, fixed) is not spend: it decides what the
    system saves (reported), and moves spend only through a block renegotiation. One-off
    transition costs are not spend either (:func:`formulations.transition.transition_terms`).
    """
    from .discrete import openings_terms

    keys = ["service", "year"]
    sy = inst.service_years
    a = lp.variables["activity"]
    if "contract" in inst.services and inst.services["contract_given"].any():
        form = sy["service"].map(inst.services["contract"])
        per_unit = sy[keys].assign(unit_cost=np.where(form == "activity", sy["price"], 0.0))
        per_unit = per_unit[(form == "activity").to_numpy()]
        parts = [a.index.assign(col=a.cols).merge(per_unit, on=keys).rename(columns={"unit_cost": "coef"})]
        if "contract_payment" in lp.variables:
            b = lp.variables["contract_payment"]
            parts.append(b.index.assign(col=b.cols, coef=1.0))
    else:
        parts = [a.index.assign(col=a.cols).merge(sy[keys + ["unit_cost"]], on=keys).rename(
            columns={"unit_cost": "coef"})]
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


def budget_terms(lp: LinearProgram, inst) -> pd.DataFrame:
    """(service, sector, year, col, coef) of what a year's budget pays: spend (:func:`spend_terms`)
    plus the transition costs the transformation fund does not meet
    (:func:`formulations.transition.transition_terms`; none without set-up costs)."""
    from .transition import transition_terms

    t = spend_terms(lp, inst)
    if "setup_cost" not in lp.variables:
        return t
    return pd.concat([t, transition_terms(lp, inst)], ignore_index=True)


def add_pooled_budget(lp: LinearProgram, inst) -> None:
    """For every planning year t:  sum_i spend[i, t] + sum_i (setup[i, t] - fund[i, t]) <= budget[t]

    (``budget.pooled``, or the sum of the holders' budgets when holders are given; under a siloed
    or partial arrangement it is implied by the holders' rows, and kept so that every plan reports
    the same budget row)."""
    rows = pd.DataFrame({"year": list(inst.years)})
    lp.add_constraints("pooled_budget", rows, budget_terms(lp, inst)[["year", "col", "coef"]],
                       upper=inst.budget.reindex(inst.years).to_numpy(),
                       description="total spend <= pooled budget", unit="currency",
                       dual_unit="cost per extra unit of budget")


def fund_members(inst):
    """The holders that draw on a pooled fund under the ``partial`` arrangement (none otherwise)."""
    if inst.arrangement != "partial":
        return inst.holders.iloc[0:0]
    return inst.holders[inst.holders["pooled_fund"].notna()]


def add_fund_draws(lp: LinearProgram, inst) -> None:
    """draw[h, t] >= 0: money holder h's services receive from its pooled fund in year t
    (``partial`` arrangement only)."""
    members = fund_members(inst)
    if not len(members):
        return
    idx = members[["holder"]].merge(pd.DataFrame({"year": list(inst.years)}), how="cross")
    lp.add_variables("fund_draw", idx, description="money drawn from the holder's pooled fund", unit="currency")


def add_holder_budgets(lp: LinearProgram, inst) -> None:
    """Siloed or partial arrangement, for every holder h and year t:

        sum_{i held by h} spend[i, t] - draw[h, t] <= (1 - c_h) * B[h, t]

    where B[h, t] is h's budget and c_h the share of it h pays into its pooled fund (partial only;
    c_h = 0 and no draw when siloed). Savings in one holder's services cannot pay for another's
    beyond what the pooled funds carry."""
    if inst.arrangement == "pooled" or inst.holder_budgets.empty:
        return
    hb = inst.holder_budgets
    share = inst.holders.set_index("holder")["pooled_share"] if inst.arrangement == "partial" else \
        pd.Series(0.0, index=inst.holders["holder"])
    kept = (1.0 - hb["holder"].map(share).to_numpy()) * hb["budget"].to_numpy()
    rows = hb[["holder", "year"]]
    t = budget_terms(lp, inst)
    t["holder"] = t["service"].map(inst.services["holder"])
    parts = [t[["holder", "year", "col", "coef"]]]
    if "fund_draw" in lp.variables:
        d = lp.variables["fund_draw"]
        parts.append(d.index.assign(col=d.cols, coef=-1.0))
    lp.add_constraints("holder_budget", rows, parts, upper=kept,
                       description="holder's spend <= the budget it keeps + what it draws from its pooled fund",
                       unit="currency", dual_unit="cost per extra unit of the holder's budget")


def add_pooled_funds(lp: LinearProgram, inst) -> None:
    """Partial arrangement, for every pooled fund f and year t:

        sum_{h in f} draw[h, t] <= sum_{h in f} c_h * B[h, t]."""
    if "fund_draw" not in lp.variables:
        return
    members = fund_members(inst)
    hb = inst.holder_budgets.merge(members, on="holder")
    hb["paid_in"] = hb["pooled_share"] * hb["budget"]
    fund = hb.groupby(["pooled_fund", "year"], as_index=False)["paid_in"].sum()
    d = lp.variables["fund_draw"]
    t = d.index.assign(col=d.cols, coef=1.0)
    t["pooled_fund"] = t["holder"].map(members.set_index("holder")["pooled_fund"])
    lp.add_constraints("pooled_fund", fund[["pooled_fund", "year"]], t[["pooled_fund", "year", "col", "coef"]],
                       upper=fund["paid_in"].to_numpy(), description="draws on a pooled fund <= what is paid in",
                       unit="currency", dual_unit="cost per extra unit in the pooled fund")


def prefer_least_transfers(lp: LinearProgram, inst) -> None:
    """Among optimal plans, the one that moves least money between holders:

        pooled:   minimise sum_{h, t} over[h, t],  over[h, t] >= sum_{i held by h} spend[i, t] - B[h, t], over >= 0
        partial:  minimise sum_{h, t} draw[h, t]

    Many plans often cost the same and differ only in which holder's services carry the spend;
    this stage (after the objective and the earlier tie-breaks) makes the transfers a plan reports
    the least it needs, the same whichever optimal plan HiGHS met first."""
    if inst.holder_budgets.empty or inst.arrangement == "siloed":
        return
    vec = np.zeros(lp.n_cols)
    if inst.arrangement == "partial":
        if "fund_draw" not in lp.variables:
            return
        vec = np.zeros(lp.n_cols)
        vec[lp.variables["fund_draw"].cols] = 1.0
        lp.tiebreaks.append(("least drawn from the pooled funds among the optimal plans", vec))
        return
    hb = inst.holder_budgets
    over = lp.add_variables("holder_overspend", hb[["holder", "year"]], description="spend beyond the holder's own "
                            "budget, paid from the pool", unit="currency")
    t = budget_terms(lp, inst)
    t["holder"] = t["service"].map(inst.services["holder"])
    parts = [t[["holder", "year", "col", "coef"]], over.index.assign(col=over.cols, coef=-1.0)]
    lp.add_constraints("holder_overspend_def", hb[["holder", "year"]], parts, upper=hb["budget"].to_numpy(),
                       description="holder's spend - what others pay for it <= its own budget", unit="currency",
                       dual_unit="(tie-break only)")
    vec = np.zeros(lp.n_cols)
    vec[over.cols] = 1.0
    lp.tiebreaks.append(("least money moved between holders among the optimal plans", vec))
