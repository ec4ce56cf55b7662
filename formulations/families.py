"""The registry of constraint families: everything the code knows about one family, in one record.

A *family* is one build step: the function that adds its variables and rows to the
:class:`~formulations.lp.LinearProgram`, the blocks it adds (their keys, unit and dual unit), and
what the rest of budgetshift does with them — which relaxation group the elastic programme relaxes
them in (:mod:`formulations.elastic`), which planner group :mod:`optimiser.analyses.explain` files them under
and which of its functions prices them, whether their shadow prices are *key* (shown by default in
comparisons and sweeps), the residual checks of :mod:`optimiser.solving.verify` that recompute them from a
written plan, the section of docs/formulation.md that states their maths, and the hand-derived
tests that pin their numbers down. :data:`formulations.build.STEPS` is read off :data:`FAMILIES` in
order, so the order here *is* the build order (and the matrix's row and column order).

To add a family, write its build function (its maths in its docstring), then add one
:class:`Family` record to :data:`FAMILIES` at the place in the build order where it belongs;
``tests/test_registry.py`` says what is still missing (a docs section, a test, a verifier check,
a block the record does not claim). See docs/formulation.md, "Adding a constraint family".

This module is the mathematics side: it imports nothing from :mod:`optimiser` (functions there are
named by string, as the verifier's checks are).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import (activity, budget, cost_behaviour, discrete, equity, objective, outcomes, pathway_flows, prevention,
               ring_fences, shift_policy, stability, transition, variables)

#: The relaxation groups of the elastic programme (:mod:`formulations.elastic`), in the order they
#: are reported and weighted (``--weight FAMILY=W``).
RELAX_GROUPS = ("targets", "budget", "shift", "capacity", "stability")


@dataclass(frozen=True)
class Block:
    """One block a family adds: ``name[keys]``, a constraint block (``variable=False``) or a
    variable block.

    * ``unit`` / ``dual_unit``: as the builder states them on the block (a test checks they agree);
    * ``group``: the planner's word for what it is, in explain's binding and conflict tables
      (``None``: the block's own name);
    * ``relax``: its relaxation group in :data:`RELAX_GROUPS` (``None``: never relaxed); for a
      variable block the group relaxes its column bounds; ``relax_scale`` is what a relative slack
      of 1.0 means: ``"bound"`` (the bound's size), ``"required share"`` (the required share x
      base-year spend) or ``"first year"`` (the service's first-year bound);
    * ``key_dual``: the place of its shadow price among the *key* ones (compare's
      ``shadow_prices`` table, in this order; ``None``: not key); ``dual_in_terminal``: also shown
      in compare's terminal table; ``sweep_dual``: the place of its per-item dual, summed over the
      years, in a sweep point's record (``None``: not recorded);
    * ``planner_rule``: a rule the planner set (a budget, target, policy, limit), named on the
      terminal's ``binding:`` line when it binds;
    * ``rows_label``: how explain counts many of its rows in a conflict ("12 <rows_label> rows").
    """

    name: str
    keys: tuple[str, ...]
    unit: str = ""
    dual_unit: str = ""
    variable: bool = False
    group: str | None = None
    relax: str | None = None
    relax_scale: str = "bound"
    key_dual: int | None = None
    dual_in_terminal: bool = False
    sweep_dual: int | None = None
    planner_rule: bool = False
    rows_label: str | None = None


def var(name: str, keys: tuple[str, ...], unit: str = "", **kw) -> Block:
    return Block(name, keys, unit, variable=True, **kw)


@dataclass(frozen=True)
class Family:
    """One build step and what everyone else needs to know about it (see module doc).

    * ``label``: the step's name in build timings (``stats.build_steps_seconds``);
    * ``build``: ``build(lp, inst) -> None``, adds the blocks (or nothing when the instance has none);
    * ``blocks``: every block it may add;
    * ``docs``: the heading in docs/formulation.md whose section states its maths (the section must
      name ``build``'s dotted name);
    * ``checks``: names of the residual checks in optimiser/solving/verify.py (``c.leq("<name>", ...)``)
      that recompute it from a written plan;
    * ``tests``: pytest node ids of tests whose numbers were worked out by hand (or by the
      independent reference formulation) for it;
    * ``prices``: the function of optimiser/analyses/explain.py that gives its shadow prices in planner
      units (``None``: its duals are not priced: a definition, or a variable step).
    """

    label: str
    build: Callable
    blocks: tuple[Block, ...] = ()
    docs: str = ""
    checks: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()
    prices: str | None = None

    @property
    def builder(self) -> str:
        """The build function's dotted name, e.g. ``formulations.budget.add_pooled_budget``."""
        return f"{self.build.__module__}.{self.build.__name__}"


_F = "tests/test_formulation.py::"
_MIP = "tests/test_mip.py::"
_DUALS = "tests/test_duals.py::"
_POOL = "tests/test_pooling.py::"
_PLACES = "tests/test_places.py::"
_SHARE = ("pathway", "from", "to", "segment", "year")
_NODE = ("pathway", "node", "segment", "year")
_SY = ("service", "year")
_CASH = "tests/test_cash.py::"
_LAST = "tests/test_lasting_effects.py::"

#: Every family, in build order.
FAMILIES: tuple[Family, ...] = (
    Family("variables: activity", variables.add_activity,
           (var("activity", _SY, "units", group="capacity", relax="capacity", rows_label="non-negative activity"),),
           docs="Variables", checks=("capacity max", "capacity min"),
           tests=(_F + "test_units_per_patient_and_population_growth",
                  _DUALS + "test_capacity_price_is_the_reduced_cost_of_activity_at_its_bound"),
           prices="_capacity"),
    Family("variables: flow", variables.add_flows,
           (var("flow", _SHARE, "patients", group="pathways", rows_label="non-negative patient flows"),),
           docs="Variables", checks=("flow conservation",),
           tests=(_F + "test_readmission_loop_is_conserved",)),
    Family("variables: prevention reduction", variables.add_prevention,
           (var("reduction", ("effect", "year"), "fraction", group="prevention",
                rows_label="prevention reduction bounds"),),
           docs="Variables", checks=("prevention response",),
           tests=(_F + "test_prevention_is_measured_against_the_baseline_level",)),
    Family("variables: prevention cohort response", variables.add_cohort_responses,
           (var("cohort_response", ("effect", "cohort_year"), "fraction", group="prevention",
                rows_label="prevention cohort response bounds"),),
           docs="Lasting prevention effects", checks=("cohort response", "cohort driver"),
           tests=(_LAST + "test_persistence_funds_prevention_whose_benefit_lasts",
                  _LAST + "test_ramp_and_duration_profile")),
    Family("variables: open, on, teams", discrete.add_discrete_variables,
           (var("open", _SY), var("on", _SY), var("teams", _SY, "teams")),
           docs="Mixed-integer choices", checks=("open stays open", "max teams"),
           tests=(_MIP + "test_site_opened_when_the_target_is_tight", _MIP + "test_whole_teams")),
    Family("variables: pooled fund draws", budget.add_fund_draws,
           (var("fund_draw", ("holder", "year"), "currency"),),
           docs="Budget holders and pooling", checks=("holder draw", "pool draws"),
           tests=(_POOL + "test_each_arrangement_costs_what_the_hand_calculation_says",)),
    Family("variables: contract payments, steps", cost_behaviour.add_contract_variables,
           (var("contract_payment", _SY, "currency"), var("steps_in_use", _SY, "steps"),
            var("steps_paid", _SY, "steps")),
           docs="Cost behaviour and contract form", checks=("payment", "integrality of steps", "closure lag"),
           tests=(_CASH + "test_block_contract_releases_cash_a_year_after_a_ward_closes",
                  _CASH + "test_activity_contract_releases_price_times_activity_at_once")),
    Family("variables: set-up costs, transformation fund", transition.add_transition_variables,
           (var("setup_cost", _SY, "currency"), var("transformation_fund_paid", _SY, "currency")),
           docs="Transition costs and the cash-flow view", checks=("set-up cost", "fund paid"),
           tests=(_CASH + "test_setup_costs_fund_and_cash_flow_per_holder",)),
    Family("source incidence", pathway_flows.add_source_incidence,
           (Block("source_incidence", _NODE, "patients", "currency per patient of need", group="pathways",
                  rows_label="need at sources"),),
           docs="Source incidence", checks=("source need", "need after prevention"),
           tests=(_F + "test_units_per_patient_and_population_growth",)),
    Family("flow conservation", pathway_flows.add_flow_conservation,
           (Block("flow_conservation", _NODE, "patients", group="pathways",
                  rows_label="patient conservation at care nodes"),),
           docs="Flow conservation", checks=("flow conservation",),
           tests=(_F + "test_readmission_loop_is_conserved",)),
    Family("edge shares", pathway_flows.add_edge_shares,
           (Block("edge_share_min", _SHARE, "patients", group="pathways", rows_label="minimum edge shares"),
            Block("edge_share_max", _SHARE, "patients", group="pathways", rows_label="maximum edge shares"),
            Block("edge_share_fixed", _SHARE, "patients", group="pathways", rows_label="fixed edge shares")),
           docs="Edge shares", checks=("edge share min", "edge share max"),
           tests=(_F + "test_cheaper_community_route_is_bounded_by_its_edge_share",
                  _DUALS + "test_edge_share_price_per_point"),
           prices="_edge_shares"),
    Family("activity covers flows", activity.add_activity_covers_flows,
           (Block("activity_covers_flows", _SY, "units", "currency per unit of activity", group="demand",
                  rows_label="activity covering patients"),),
           docs="Activity covers flows", checks=("activity covers flows",),
           tests=(_F + "test_units_per_patient_and_population_growth",
                  _F + "test_transfer_policy_cannot_cut_fixed_demand")),
    Family("prevention response", prevention.add_prevention_response,
           (Block("prevention_response", ("effect", "year", "piece"), "fraction", group="prevention",
                  rows_label="prevention response curves"),),
           docs="Prevention response", checks=("prevention response", "prevention driver"),
           tests=(_F + "test_prevention_with_one_year_lag_pays_back_on_its_steep_piece_only",
                  _F + "test_prevention_with_no_lag_acts_in_the_same_year")),
    Family("prevention response: exact curves", prevention.add_exact_prevention_response,
           (var("curve_weight", ("effect", "year", "point")), var("curve_segment", ("effect", "year", "segment")),
            Block("curve_driver", ("effect", "year")), Block("curve_weights_sum", ("effect", "year")),
            Block("curve_reduction", ("effect", "year")), Block("curve_segment_sum", ("effect", "year")),
            Block("curve_adjacent", ("effect", "year", "point"))),
           docs="Mixed-integer choices", checks=("prevention response",),
           tests=(_MIP + "test_s_shaped_response_is_exact_where_a_linear_relaxation_would_overstate_it",
                  _MIP + "test_s_shaped_responses_split_the_budget_unevenly")),
    Family("prevention cohort response", prevention.add_cohort_response,
           (Block("prevention_cohort_response", ("effect", "cohort_year", "piece"), "fraction", group="prevention",
                  rows_label="prevention cohort response curves"),),
           docs="Lasting prevention effects", checks=("cohort response", "cohort driver"),
           tests=(_LAST + "test_persistence_funds_prevention_whose_benefit_lasts",
                  _LAST + "test_one_year_pulse_is_not_worth_funding")),
    Family("prevention cohort response: exact curves", prevention.add_exact_cohort_response,
           (var("cohort_curve_weight", ("effect", "cohort_year", "point")),
            var("cohort_curve_segment", ("effect", "cohort_year", "segment")),
            Block("cohort_curve_driver", ("effect", "cohort_year")),
            Block("cohort_curve_weights_sum", ("effect", "cohort_year")),
            Block("cohort_curve_reduction", ("effect", "cohort_year")),
            Block("cohort_curve_segment_sum", ("effect", "cohort_year")),
            Block("cohort_curve_adjacent", ("effect", "cohort_year", "point"))),
           docs="Lasting prevention effects", checks=("cohort response", "prevention effect realised"),
           tests=(_LAST + "test_exact_s_shaped_lasting_curve",)),
    Family("prevention persistence", prevention.add_prevention_persistence,
           (Block("prevention_persistence", ("effect", "year"), "fraction", group="prevention",
                  rows_label="prevention persistence"),),
           docs="Lasting prevention effects", checks=("prevention response", "terminal value reduction"),
           tests=(_LAST + "test_ramp_and_duration_profile",
                  _LAST + "test_floor_caps_a_year_without_cutting_the_cohorts")),
    Family("incidence floor", prevention.add_incidence_floor,
           (Block("incidence_floor", _NODE, "fraction", group="prevention", key_dual=5, dual_in_terminal=True,
                  planner_rule=True, rows_label="incidence floors"),),
           docs="Incidence floor", checks=("incidence floor",),
           tests=(_F + "test_incidence_floor_caps_the_reduction",), prices="_floors"),
    Family("opening new services or sites", discrete.add_opening,
           (Block("activity_only_when_open", _SY, "units"), Block("open_stays_open", _SY),
            Block("minimum_when_open", _SY, "units")),
           docs="Mixed-integer choices", checks=("activity only when open", "open stays open", "earliest opening"),
           tests=(_MIP + "test_site_opened_when_the_target_is_tight",
                  _MIP + "test_site_not_worth_opening_without_a_tight_target")),
    Family("minimum viable scale", discrete.add_minimum_scale,
           (Block("minimum_scale_low", _SY, "units"), Block("minimum_scale_high", _SY, "units")),
           docs="Mixed-integer choices", checks=("capacity min",),
           tests=(_MIP + "test_minimum_scale_that_still_pays",
                  _MIP + "test_minimum_scale_that_makes_the_programme_not_worth_funding")),
    Family("whole teams", discrete.add_teams,
           (Block("team_capacity", _SY, "units", "currency per unit of team capacity"),),
           docs="Mixed-integer choices", checks=("team capacity", "max teams"),
           tests=(_MIP + "test_whole_teams",)),
    Family("openings per year", discrete.add_openings_limit,
           (Block("openings_per_year", ("year",), "openings"),),
           docs="Mixed-integer choices", checks=("openings per year",),
           tests=(_MIP + "test_at_most_one_opening_a_year",)),
    Family("step capacity", cost_behaviour.add_step_capacity,
           (Block("step_capacity", _SY, "units", "currency per unit of step capacity", group="capacity",
                  rows_label="activity within steps in use"),),
           docs="Cost behaviour and contract form", checks=("step capacity", "integrality of steps"),
           tests=(_CASH + "test_block_contract_releases_cash_a_year_after_a_ward_closes",
                  _CASH + "test_block_activity_is_the_least_the_demand_needs")),
    Family("step closure lag", cost_behaviour.add_step_closure_lag,
           (Block("step_closure_lag", ("service", "year", "in_use_year"), "steps",
                  "currency per step kept open one more year", group="contracts", planner_rule=True,
                  rows_label="step closure lags"),),
           docs="Cost behaviour and contract form", checks=("closure lag", "provider's closure lag", "double running"),
           tests=(_CASH + "test_closure_lag_sets_when_the_block_falls",
                  _CASH + "test_duals_of_the_closure_lag_and_setup_rows")),
    Family("block payment", cost_behaviour.add_block_payment,
           (Block("block_payment", _SY, "currency", "cost per unit of block payment", group="contracts",
                  rows_label="block payments"),),
           docs="Cost behaviour and contract form", checks=("payment", "baseline payment"),
           tests=(_CASH + "test_block_contract_releases_cash_a_year_after_a_ward_closes",
                  _CASH + "test_block_without_steps_never_releases_cash")),
    Family("set-up cost of growth", transition.add_setup_costs,
           (Block("setup_cost_of_growth", _SY, "currency", "currency of objective per unit of set-up cost",
                  group="transition", rows_label="set-up costs of growth"),),
           docs="Transition costs and the cash-flow view", checks=("growth", "set-up cost"),
           tests=(_CASH + "test_setup_costs_fund_and_cash_flow_per_holder",
                  _CASH + "test_duals_of_the_closure_lag_and_setup_rows")),
    Family("transformation fund pays transition only", transition.add_fund_pays_transition_only,
           (Block("fund_pays_transition_only", _SY, "currency", "(no price: a bound)", group="transition"),),
           docs="Transition costs and the cash-flow view", checks=("fund pays transition only",),
           tests=(_CASH + "test_the_fund_lifts_the_budget_limit_for_transition_costs_only",)),
    Family("transformation fund limits", transition.add_transformation_fund,
           (Block("transformation_fund_year", ("year",), "currency", "cost per extra unit in the fund for the year",
                  group="budget", planner_rule=True),
            Block("transformation_fund_total", ("fund",), "currency", "cost per extra unit in the fund",
                  group="budget", planner_rule=True)),
           docs="Transition costs and the cash-flow view", checks=("fund per year", "fund total", "fund cumulative"),
           tests=(_CASH + "test_setup_costs_fund_and_cash_flow_per_holder",
                  _CASH + "test_the_fund_lifts_the_budget_limit_for_transition_costs_only")),
    Family("pooled budget", budget.add_pooled_budget,
           (Block("pooled_budget", ("year",), "currency", "cost per extra unit of budget", group="budget",
                  relax="budget", key_dual=1, dual_in_terminal=True, sweep_dual=1, planner_rule=True),),
           docs="Pooled budget", checks=("pooled budget",),
           tests=(_DUALS + "test_budget_price_when_prevention_is_held_back_by_the_budget",
                  "tests/test_explain.py::test_budget_too_small_by_a_known_amount"),
           prices="_budget"),
    Family("holder budgets", budget.add_holder_budgets,
           (Block("holder_budget", ("holder", "year"), "currency", "cost per extra unit of the holder's budget",
                  group="budget", relax="budget", planner_rule=True),),
           docs="Budget holders and pooling", checks=("holder within its budget", "holder budgets sum to the pool"),
           tests=(_POOL + "test_each_arrangement_costs_what_the_hand_calculation_says",
                  _POOL + "test_shadow_price_of_the_council_budget_when_siloed"),
           prices="_holder_limits"),
    Family("pooled funds", budget.add_pooled_funds,
           (Block("pooled_fund", ("pooled_fund", "year"), "currency", "cost per extra unit in the pooled fund",
                  group="budget", relax="budget", planner_rule=True),),
           docs="Budget holders and pooling", checks=("pool draws", "holder pool contribution"),
           tests=(_POOL + "test_value_of_pooling_and_transfers",), prices="_holder_limits"),
    Family("ring-fenced budgets", ring_fences.add_ring_fences,
           (Block("ring_fence", ("scope", "year"), "currency", "cost per extra unit of the limit", group="budget",
                  relax="budget", planner_rule=True),),
           docs="Spend attributable to a group", checks=("ring fence / capitation at most", "ring fence at least"),
           tests=(_PLACES + "test_ring_fence_at_most_on_west_acute_care",
                  _PLACES + "test_ring_fence_at_least_on_east_community_care"),
           prices="_holder_limits"),
    Family("capitation", ring_fences.add_capitation,
           (Block("capitation", ("scope", "year"), "currency", "cost per extra unit of the limit", group="budget",
                  relax="budget", planner_rule=True),),
           docs="Spend attributable to a group", checks=("capitated amount", "ring fence / capitation at most"),
           tests=(_PLACES + "test_capitation_moves_the_admissions_cut_to_the_dearer_place",
                  _PLACES + "test_capitation_by_place"),
           prices="_holder_limits"),
    Family("equity across places", equity.add_equity,
           (var("equity_highest", ("name", "year"), "measure"), var("equity_lowest", ("name", "year"), "measure"),
            Block("equity_upper", ("name", "year", "place"), "measure", "cost per unit of the measure",
                  group="equity"),
            Block("equity_lower", ("name", "year", "place"), "measure", "cost per unit of the measure",
                  group="equity"),
            Block("equity_ratio", ("name", "year"), "measure", "cost per unit of the ratio rule", group="equity",
                  planner_rule=True),
            Block("equity_gap", ("name", "year"), "measure", "cost per unit of the gap", group="equity",
                  planner_rule=True)),
           docs="Equity across places", checks=("equity ratio", "equity gap", "equity measure"),
           tests=(_PLACES + "test_equity_rules",)),
    Family("shift policy: share", shift_policy.add_share_shift,
           (Block("shift_share", ("policy", "year"), "currency", "cost per unit of the share rule", group="shift",
                  relax="shift", relax_scale="required share", key_dual=2, dual_in_terminal=True, sweep_dual=3,
                  planner_rule=True),),
           docs="Shift policy: share", checks=("shift share",),
           tests=(_F + "test_share_shift_follows_a_linear_trajectory", _F + "test_share_shift_final_year_only",
                  _DUALS + "test_share_price_per_point_is_dual_times_total_spend"),
           prices="_shares"),
    Family("shift policy: transfer", shift_policy.add_transfer_shift,
           (Block("shift_transfer", ("policy", "side", "year"), "currency", "cost per unit of the transfer",
                  group="shift", relax="shift", key_dual=3, dual_in_terminal=True, sweep_dual=4,
                  planner_rule=True),),
           docs="Shift policy: transfer", checks=("shift transfer out", "shift transfer in"),
           tests=(_F + "test_transfer_policy_moves_the_amount_along_its_trajectory",
                  _DUALS + "test_transfer_price_is_dual_to_minus_dual_from"),
           prices="_transfers"),
    Family("stability: growth", stability.add_growth_limits,
           (Block("growth_limit", _SY, "units", "currency per unit of extra growth", group="stability",
                  relax="stability", relax_scale="first year", key_dual=6, planner_rule=True),),
           docs="Stability: growth", checks=("growth limit",),
           tests=(_F + "test_growth_limit_can_make_the_shift_infeasible_and_looser_limit_restores_it",
                  _DUALS + "test_growth_limit_price_per_point"),
           prices="_stability"),
    Family("stability: shrink", stability.add_shrink_limits,
           (Block("shrink_limit", _SY, "units", "currency per unit of extra shrinkage", group="stability",
                  relax="stability", relax_scale="first year", key_dual=7, planner_rule=True),),
           docs="Stability: shrink", checks=("shrink limit",),
           tests=(_F + "test_shrink_limit_keeps_acute_activity_up", _DUALS + "test_shrink_limit_price_per_point"),
           prices="_stability"),
    Family("outcome targets", outcomes.add_outcome_targets,
           (Block("outcome_target", ("outcome", "year"), "outcome units", "currency per outcome unit",
                  group="targets", relax="targets", key_dual=4, dual_in_terminal=True, sweep_dual=2,
                  planner_rule=True),),
           docs="Outcome targets", checks=("target at most", "target at least"),
           tests=(_F + "test_binding_target_forces_the_dearer_route_and_its_dual_is_the_cost_difference",
                  _DUALS + "test_target_price_is_the_cost_of_one_admission_fewer"),
           prices="_targets"),
    Family("objective", objective.set_objective, (),
           docs="Objective", checks=("objective", "discounted cost"),
           tests=(_F + "test_share_shift_is_discounted", _F + "test_max_outcome_within_budget")),
    Family("objective: terminal value", objective.add_terminal_value, (),
           docs="Objective", checks=("terminal value", "terminal value total", "value per case"),
           tests=(_LAST + "test_terminal_value_keeps_prevention_in_the_final_year",
                  _LAST + "test_given_value_per_case_and_discounting")),
    Family("tie-break: full prevention effect", objective.prefer_full_prevention_effect, (),
           docs="Objective", checks=("prevention effect realised",),
           tests=(_F + "test_free_prevention_effect_is_lifted_to_its_curve",)),
    Family("tie-break: least money moved between holders", budget.prefer_least_transfers,
           (var("holder_overspend", ("holder", "year"), "currency"),
            Block("holder_overspend_def", ("holder", "year"), "currency", "(tie-break only)")),
           docs="Budget holders and pooling", checks=("transfers",),
           tests=(_POOL + "test_value_of_pooling_and_transfers",)),
    Family("tie-break: transformation fund first", transition.prefer_fund_first, (),
           docs="Transition costs and the cash-flow view", checks=("fund paid", "budget bears"),
           tests=(_CASH + "test_setup_costs_fund_and_cash_flow_per_holder",)),
    Family("tie-break: least provider cost under block contracts", cost_behaviour.prefer_least_provider_cost, (),
           docs="Cost behaviour and contract form", checks=("provider cost",),
           tests=(_CASH + "test_block_activity_is_the_least_the_demand_needs",)),
)

#: Every block by name.
BLOCKS: dict[str, Block] = {b.name: b for f in FAMILIES for b in f.blocks}

#: The family that adds each block.
FAMILY_OF_BLOCK: dict[str, Family] = {b.name: f for f in FAMILIES for b in f.blocks}


def group_of(name: str) -> str:
    """The planner group of block ``name`` (its own name when it has none or is unknown)."""
    b = BLOCKS.get(name)
    return b.group if b is not None and b.group else name


def relaxable_rows() -> dict[str, str]:
    """Constraint blocks whose bounds the elastic programme may relax, and their group."""
    return {b.name: b.relax for b in BLOCKS.values() if b.relax and not b.variable}


def relaxable_columns() -> dict[str, str]:
    """Variable blocks whose bounds the elastic programme may relax, and their group."""
    return {b.name: b.relax for b in BLOCKS.values() if b.relax and b.variable}


def key_duals() -> tuple[str, ...]:
    """Constraint blocks whose shadow prices are key, in the order they are shown."""
    return tuple(sorted((b.name for b in BLOCKS.values() if b.key_dual), key=lambda n: BLOCKS[n].key_dual))


def terminal_duals() -> tuple[str, ...]:
    """The key duals that compare also shows in the terminal."""
    return tuple(n for n in key_duals() if BLOCKS[n].dual_in_terminal)


def sweep_duals() -> tuple[str, ...]:
    """Constraint blocks whose duals a sweep point records, in the record's order."""
    return tuple(sorted((b.name for b in BLOCKS.values() if b.sweep_dual), key=lambda n: BLOCKS[n].sweep_dual))


def planner_rules() -> tuple[str, ...]:
    """Constraint blocks that are rules the planner set, in build order."""
    return tuple(b.name for b in BLOCKS.values() if b.planner_rule)


def rows_labels() -> dict[str, str]:
    """How explain counts many rows of each block in a conflict."""
    return {b.name: b.rows_label for b in BLOCKS.values() if b.rows_label}


#: The build steps, in order: ``(label, build function)``.
STEPS = tuple((f.label, f.build) for f in FAMILIES)
