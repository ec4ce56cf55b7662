"""Build the budget-shift linear programme from a validated instance, step by step.

Every step is one function with its maths in its docstring; :data:`STEPS` lists them in order
and :func:`build` logs the time each took (``lp.step_seconds``; ``build_steps_seconds`` in a result's
``stats``), so anyone can see where build time goes.
"""

from __future__ import annotations

import logging
import time

from . import (activity, budget, cost_behaviour, discrete, equity, objective, outcomes, pathway_flows, prevention,
               ring_fences, shift_policy, stability, transition, variables)
from .lp import LinearProgram

log = logging.getLogger(__name__)

STEPS = (
    ("variables: activity", variables.add_activity),
    ("variables: flow", variables.add_flows),
    ("variables: prevention reduction", variables.add_prevention),
    ("variables: prevention cohort response", variables.add_cohort_responses),
    ("variables: open, on, teams", discrete.add_discrete_variables),
    ("variables: pooled fund draws", budget.add_fund_draws),
    ("variables: contract payments, steps", cost_behaviour.add_contract_variables),
    ("variables: set-up costs, transformation fund", transition.add_transition_variables),
    ("source incidence", pathway_flows.add_source_incidence),
    ("flow conservation", pathway_flows.add_flow_conservation),
    ("edge shares", pathway_flows.add_edge_shares),
    ("activity covers flows", activity.add_activity_covers_flows),
    ("prevention response", prevention.add_prevention_response),
    ("prevention response: exact curves", prevention.add_exact_prevention_response),
    ("prevention cohort response", prevention.add_cohort_response),
    ("prevention cohort response: exact curves", prevention.add_exact_cohort_response),
    ("prevention persistence", prevention.add_prevention_persistence),
    ("incidence floor", prevention.add_incidence_floor),
    ("opening new services or sites", discrete.add_opening),
    ("minimum viable scale", discrete.add_minimum_scale),
    ("whole teams", discrete.add_teams),
    ("openings per year", discrete.add_openings_limit),
    ("step capacity", cost_behaviour.add_step_capacity),
    ("step closure lag", cost_behaviour.add_step_closure_lag),
    ("block payment", cost_behaviour.add_block_payment),
    ("set-up cost of growth", transition.add_setup_costs),
    ("transformation fund pays transition only", transition.add_fund_pays_transition_only),
    ("transformation fund limits", transition.add_transformation_fund),
    ("pooled budget", budget.add_pooled_budget),
    ("holder budgets", budget.add_holder_budgets),
    ("pooled funds", budget.add_pooled_funds),
    ("ring-fenced budgets", ring_fences.add_ring_fences),
    ("capitation", ring_fences.add_capitation),
    ("equity across places", equity.add_equity),
    ("shift policy: share", shift_policy.add_share_shift),
    ("shift policy: transfer", shift_policy.add_transfer_shift),
    ("stability: growth", stability.add_growth_limits),
    ("stability: shrink", stability.add_shrink_limits),
    ("outcome targets", outcomes.add_outcome_targets),
    ("objective", objective.set_objective),
    ("objective: terminal value", objective.add_terminal_value),
    ("tie-break: full prevention effect", objective.prefer_full_prevention_effect),
    ("tie-break: least money moved between holders", budget.prefer_least_transfers),
    ("tie-break: transformation fund first", transition.prefer_fund_first),
    ("tie-break: least provider cost under block contracts", cost_behaviour.prefer_least_provider_cost),
)


def build(inst) -> LinearProgram:
    """The programme for ``inst``; ``lp.step_seconds`` records each step's time."""
    lp = LinearProgram(name=inst.name)
    timings = {}
    for label, step in STEPS:
        t0 = time.perf_counter()
        step(lp, inst)
        timings[label] = time.perf_counter() - t0
        log.debug("build step %-32s %.4fs", label, timings[label])
    lp.step_seconds = timings
    return lp
