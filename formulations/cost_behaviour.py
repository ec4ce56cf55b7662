"""Cost behaviour and contract form: what the commissioner pays for a service, and when avoided
activity becomes cash.

A service's *spend* (:func:`formulations.budget.spend_terms`) is the commissioner's cash payment
for it, by its contract form:

    activity:    pay[i, t] = price[i, t] * activity[i, t]                 (price: default the unit cost)
    block:       pay[i, t] = block_value[i, t] + step_cost[i, t] * (paid[i, t] - N0_i)   (with steps)
                 pay[i, t] = block_value[i, t]                                            (without)
    capitation:  pay[i, t] = per_head[i, t] * population covered[t]

The provider's own cost (variable x activity + step cost x steps paid for + fixed) is what the
*system* saves; it is reported (:mod:`optimiser.solving.cash`) but priced in the objective only through
the block payment. Steps enter the programme as whole numbers only under a block contract, the one
form where they move the commissioner's cash; under an activity or capitation contract the
provider's steps follow from its activity (steps in use = ceil(activity / capacity)) and are
computed in the results with the same closure-lag rule.

Notation: N[i, t] steps in use (integer), P[i, t] steps paid for, N0_i the base-year steps,
c_i the activity one step carries, L_i the closure lag in years.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .lp import LinearProgram, terms

KEYS = ["service", "year"]


def block_step_services(inst) -> pd.Index:
    """Services under a block contract whose provider cost has steps (the mixed-integer ones)."""
    svc = inst.services
    return svc.index[(svc["contract"] == "block") & svc["step_capacity"].notna()]


def _rows(inst, services) -> pd.DataFrame:
    sy = inst.service_years
    return sy[sy["service"].isin(services)].reset_index(drop=True)


def add_contract_variables(lp: LinearProgram, inst) -> None:
    """pay[i, t] for services under a block or capitation contract (fixed at the block value or the
    capitated amount unless the block has steps); N[i, t] in {0, 1, ...} steps in use and
    P[i, t] >= 0 steps paid for, for block services with steps."""
    svc = inst.services
    paid = svc.index[svc["contract"].isin(["block", "capitation"])]
    if not len(paid):
        return
    sy = _rows(inst, paid)
    form = sy["service"].map(svc["contract"]).to_numpy()
    stepped = sy["service"].isin(block_step_services(inst)).to_numpy()
    value = np.where(form == "capitation", sy["capitation_value"], sy["block_value"])
    lp.add_variables("contract_payment", sy[KEYS], lower=np.where(stepped, -np.inf, value),
                     upper=np.where(stepped, np.inf, value), unit="currency",
                     description="the commissioner's payment under a block or capitation contract")
    steps = _rows(inst, block_step_services(inst))
    if len(steps):
        lp.add_variables("steps_in_use", steps[KEYS], integer=True, unit="steps",
                         description="whole steps of capacity (wards, teams) in use")
        lp.add_variables("steps_paid", steps[KEYS], unit="steps",
                         description="steps paid for: in use now or within the closure lag")


def add_step_capacity(lp: LinearProgram, inst) -> None:
    """Block services with steps:  activity[i, t] <= c_i * N[i, t]."""
    if "steps_in_use" not in lp.variables:
        return
    n = lp.variables["steps_in_use"]
    rows = n.index
    cap = rows["service"].map(inst.services["step_capacity"]).to_numpy()
    lp.add_constraints("step_capacity", rows, [terms(rows, lp.variables["activity"].lookup(rows), 1.0),
                                                terms(rows, n.cols, -cap)],
                       upper=0.0, description="activity <= activity per step x steps in use", unit="units",
                       dual_unit="currency per unit of step capacity")


def add_step_closure_lag(lp: LinearProgram, inst) -> None:
    """Block services with steps: a step is paid for until L_i years after the last year it was in use:

        P[i, t] >= N[i, s]   for every s with t - L_i <= s <= t, s > base year
        P[i, t] >= N0_i      when t - L_i <= base year (the base-year steps are still paid for)

    (one row per (service, year, in_use_year); the base-year row has in_use_year = base year).
    With L_i = 0 a step's cost stops the year it is no longer needed."""
    if "steps_paid" not in lp.variables:
        return
    p, n = lp.variables["steps_paid"], lp.variables["steps_in_use"]
    idx = p.index.assign(col=p.cols)
    lag = idx["service"].map(inst.services["closure_lag"]).astype(int).to_numpy()
    base = inst.base_year
    rows, parts_p, parts_n, lower = [], [], [], []
    for k in range(int(lag.max()) + 1):
        s_year = idx["year"].to_numpy() - k
        take = (k <= lag) & (s_year > base)
        if take.any():
            r = idx[take].assign(in_use_year=s_year[take])
            rows.append(r)
    later = pd.concat(rows, ignore_index=True) if rows else idx.iloc[0:0].assign(in_use_year=0)
    keys = ["service", "year", "in_use_year"]
    n_cols = n.lookup(later.rename(columns={"year": "_y", "in_use_year": "year"}), on=KEYS)
    parts_p.append(terms(later[keys], later["col"], 1.0))
    parts_n.append(terms(later[keys], n_cols, -1.0))
    lower.append(np.zeros(len(later)))
    early = idx[idx["year"].to_numpy() - lag <= base].assign(in_use_year=base)
    parts_p.append(terms(early[keys], early["col"], 1.0))
    lower.append(early["service"].map(inst.services["baseline_steps"]).to_numpy(dtype=float))
    index = pd.concat([later[keys], early[keys]], ignore_index=True)
    lp.add_constraints("step_closure_lag", index, parts_p + parts_n, lower=np.concatenate(lower),
                       description="steps paid for >= steps in use in any year within the closure lag",
                       unit="steps", dual_unit="currency per step kept open one more year")


def add_block_payment(lp: LinearProgram, inst) -> None:
    """Block services with steps: the block is renegotiated by the cost of the steps paid for:

        pay[i, t] - step_cost[i, t] * P[i, t] = block_value[i, t] - step_cost[i, t] * N0_i

    so avoided activity releases cash to the commissioner only once a whole step is closed and its
    closure lag has run (and a step added raises the block by its cost)."""
    if "steps_paid" not in lp.variables:
        return
    p = lp.variables["steps_paid"]
    rows = p.index.merge(inst.service_years, on=KEYS, how="left")
    n0 = rows["service"].map(inst.services["baseline_steps"]).to_numpy(dtype=float)
    rhs = rows["block_value"].to_numpy() - rows["step_cost"].to_numpy() * n0
    pay = lp.variables["contract_payment"].lookup(rows)
    lp.add_constraints("block_payment", rows[KEYS], [terms(rows[KEYS], pay, 1.0),
                                                     terms(rows[KEYS], p.cols, -rows["step_cost"].to_numpy())],
                       lower=rhs, upper=rhs, unit="currency",
                       description="block payment = block value + step cost x (steps paid for - base-year steps)",
                       dual_unit="cost per unit of block payment")


def provider_activity_costs(inst) -> pd.DataFrame:
    """(service, year, coef): the provider's cost per unit of activity of services paid by block or
    capitation (variable cost with a cost behaviour, else the unit cost)."""
    svc = inst.services
    sy = _rows(inst, svc.index[svc["contract"].isin(["block", "capitation"])])
    has_cb = sy["service"].map(svc["cost_behaviour"]).astype(bool).to_numpy()
    return sy[KEYS].assign(coef=np.where(has_cb, sy["variable_cost"].fillna(0.0), sy["unit_cost"]))


def prefer_least_provider_cost(lp: LinearProgram, inst) -> None:
    """Among optimal plans, the one whose block- and capitation-paid services cost their providers
    least:  minimise sum_t d_t sum_{i block or capitation} v[i, t] * activity[i, t].

    Activity under a block or capitation contract costs the commissioner nothing at the margin, so
    many plans share the optimum; this stage picks the one that does not deliver activity nobody
    needs (v: the variable cost, or the unit cost without a stated cost behaviour)."""
    c = provider_activity_costs(inst)
    if not len(c):
        return
    vec = np.zeros(lp.n_cols)
    cols = lp.variables["activity"].lookup(c)
    vec[cols] = c["coef"].to_numpy() * inst.discount.reindex(c["year"]).to_numpy()
    lp.tiebreaks.append(("least provider cost of block and capitation services among the optimal plans", vec))
