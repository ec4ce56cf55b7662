"""The objective: least discounted cost (default), or most weighted outcome within the budget."""

from __future__ import annotations

import numpy as np

from .budget import spend_terms
from .lp import LinearProgram
from .outcomes import outcome_value_terms, outcome_weights


def set_min_discounted_cost(lp: LinearProgram, inst) -> None:
    """minimise sum_t d_t sum_i unit_cost[i, t] * activity[i, t],  d_t = (1 + r)^-(t - base_year)."""
    t = spend_terms(lp, inst)
    d = inst.discount.reindex(t["year"]).to_numpy()
    lp.sense = "min"
    lp.add_objective_terms(t["col"].to_numpy(), t["coef"].to_numpy() * d)
    lp.objective_description = "total discounted cost"


def set_max_weighted_outcome(lp: LinearProgram, inst) -> None:
    """maximise sum_o w_o * sign_o * sum_t d_t * value[o, t]  (d_t = 1 if outcomes are not discounted).

    Many plans reach the best outcome (money that buys no outcome could go anywhere), so the solve
    then minimises discounted cost among them: ``lp.tiebreak`` holds that second objective.
    """
    w = outcome_weights(inst)
    t = outcome_value_terms(lp, inst).merge(w, on=["outcome", "year"])
    lp.sense = "max"
    lp.add_objective_terms(t["col"].to_numpy(), (t["coef"] * t["weight"]).to_numpy())
    lp.objective_description = "weighted outcome"
    c = spend_terms(lp, inst)
    cost = np.zeros(lp.n_cols)
    np.add.at(cost, c["col"].to_numpy(), c["coef"].to_numpy() * inst.discount.reindex(c["year"]).to_numpy())
    lp.tiebreak = cost


def set_objective(lp: LinearProgram, inst) -> None:
    if inst.model.objective.mode == "max_outcome":
        set_max_weighted_outcome(lp, inst)
    else:
        set_min_discounted_cost(lp, inst)
