"""The objective: least discounted cost (default), or most weighted outcome within the budget."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .budget import spend_terms
from .lp import LinearProgram
from .outcomes import outcome_value_terms, outcome_weights


def cost_terms(lp: LinearProgram, inst):
    """Spend plus the whole transition (set-up) cost, per service and year: the cost a plan is
    judged by."""
    import pandas as pd

    from .transition import transition_terms

    t = spend_terms(lp, inst)
    if "setup_cost" not in lp.variables:
        return t
    return pd.concat([t, transition_terms(lp, inst, with_fund=False)], ignore_index=True)


def set_min_discounted_cost(lp: LinearProgram, inst) -> None:
    """minimise sum_t d_t sum_i (spend[i, t] + setup[i, t]),  d_t = (1 + r)^-(t - base_year)

    (spend as in :func:`formulations.budget.spend_terms`, e.g. unit_cost[i, t] * activity[i, t];
    setup the one-off transition costs, whoever pays them, :mod:`formulations.transition`)."""
    t = cost_terms(lp, inst)
    d = inst.discount.reindex(t["year"]).to_numpy()
    lp.sense = "min"
    lp.add_objective_terms(t["col"].to_numpy(), t["coef"].to_numpy() * d)
    lp.objective_description = "total discounted cost"


def set_max_weighted_outcome(lp: LinearProgram, inst) -> None:
    """maximise sum_o w_o * sign_o * sum_t d_t * value[o, t]  (d_t = 1 if outcomes are not discounted).

    Many plans reach the best outcome (money that buys no outcome could go anywhere), so the solve
    then minimises discounted cost among them (the first of ``lp.tiebreaks``).
    """
    w = outcome_weights(inst)
    t = outcome_value_terms(lp, inst).merge(w, on=["outcome", "year"])
    lp.sense = "max"
    lp.add_objective_terms(t["col"].to_numpy(), (t["coef"] * t["weight"]).to_numpy())
    lp.objective_description = "weighted outcome"
    c = cost_terms(lp, inst)
    cost = np.zeros(lp.n_cols)
    np.add.at(cost, c["col"].to_numpy(), c["coef"].to_numpy() * inst.discount.reindex(c["year"]).to_numpy())
    lp.tiebreaks.append(("least discounted cost among the best plans", cost))


def set_objective(lp: LinearProgram, inst) -> None:
    """Set the objective from ``objective.mode``: ``min_cost`` -> :func:`set_min_discounted_cost`;
    ``max_outcome`` -> :func:`set_max_weighted_outcome` (then the cheapest of the best plans)."""
    if inst.model.objective.mode == "max_outcome":
        set_max_weighted_outcome(lp, inst)
    else:
        set_min_discounted_cost(lp, inst)


def terminal_value_terms(lp: LinearProgram, inst) -> pd.DataFrame:
    """(effect, year, col, coef, constant) of the terminal value, the value of the cases the plan's
    prevention avoids in the years u after the horizon (horizon.terminal_value.years of them):

        TV = sum_{u} d_u sum_k sum_{(p,n,s) in targets(k)} D_{p,n,s,t_H} v_{k,p,n} (reduction[k, u] - g0_k)

    with d_u = (1 + r)^-(u - b), D_{p,n,s,t_H} the final year's baseline need (incidence x
    population), v the value per case avoided (the effect's value_per_case, or the pathway's care
    cost per case at final-year unit costs: optimiser.input.instance.pathway_case_costs). ``coef`` is the
    weight on reduction[k, u]; ``constant`` = -coef x g0_k (summed, TV's constant term)."""
    cols = ["effect", "year", "col", "coef", "constant"]
    red = lp.variables.get("reduction")
    if not inst.terminal_years or red is None or inst.case_values.empty:
        return pd.DataFrame(columns=cols)
    from .pathway_flows import source_rows

    need = source_rows(inst)
    need = need[need["year"] == inst.final_year][["pathway", "node", "segment", "need"]]
    t = inst.effect_targets.merge(need, on=["pathway", "node", "segment"]).merge(
        inst.case_values[["effect", "pathway", "node", "value_per_case"]], on=["effect", "pathway", "node"])
    w = t.assign(w=t["need"] * t["value_per_case"]).groupby("effect", as_index=False)["w"].sum()
    r = red.index.assign(col=red.cols)
    r = r[r["year"].isin(inst.terminal_years)].merge(w, on="effect")
    rate = inst.model.horizon.discount_rate
    r["coef"] = r["w"] * (1.0 + rate) ** -(r["year"] - inst.base_year).astype(float)
    g0 = r["effect"].map(inst.effects.set_index("effect")["baseline_reduction"]).to_numpy(dtype=float)
    r["constant"] = -r["coef"] * g0
    return r[cols].reset_index(drop=True)


def add_terminal_value(lp: LinearProgram, inst) -> None:
    """With horizon.terminal_value, the objective counts the plan's prevention benefits beyond the
    horizon (:func:`terminal_value_terms`, TV):

        min_cost:     minimise  sum_t d_t spend_t  -  TV
        max_outcome:  the cost tie-break becomes the least discounted cost net of TV.

    TV is linear in the reductions: the coefficients go on the columns, its constant term into the
    objective offset."""
    t = terminal_value_terms(lp, inst)
    if t.empty:
        return
    if lp.sense == "min":
        lp.add_objective_terms(t["col"].to_numpy(), -t["coef"].to_numpy())
        lp.objective_offset -= float(t["constant"].sum())
        lp.objective_description = "total discounted cost less the terminal value of prevention"
        return
    for i, (label, vec) in enumerate(lp.tiebreaks):
        if label.startswith("least discounted cost"):
            vec = np.pad(np.asarray(vec, dtype=float), (0, lp.n_cols - len(vec)))
            np.add.at(vec, t["col"].to_numpy(), -t["coef"].to_numpy())
            lp.tiebreaks[i] = ("least discounted cost net of the terminal value among the best plans", vec)


def prefer_full_prevention_effect(lp: LinearProgram, inst) -> None:
    """Among optimal plans, take the one whose prevention reductions are largest:

        maximise sum_{k, t} reduction[k, t]   subject to   objective = its optimum

    The response constraint only says reduction <= g(x). When a lower reduction costs nothing
    (nothing downstream depends on it) the first solve may return any value below the curve;
    this stage lifts each reduction to its curve (or to the incidence floor), so the reported
    need is what the funded prevention actually implies. Where a lower reduction *improves* the
    objective (a plan rewarded for more patients), it stays below the curve and the verifier says so.
    """
    red = lp.variables.get("reduction")
    if red is None or not len(red):
        return
    vec = np.zeros(lp.n_cols)
    vec[red.cols] = -1.0
    if "cohort_response" in lp.variables:  # lasting effects: each cohort's effect on its curve too
        vec[lp.variables["cohort_response"].cols] = -1.0
    lp.tiebreaks.append(("largest prevention effect among the optimal plans", vec))
