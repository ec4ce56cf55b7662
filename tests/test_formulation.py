"""Tiny instances whose optimal plans are worked out by hand in each docstring.

Every solved plan is also recomputed from its tables by the verifier (see conftest.solve_data).
"""

from __future__ import annotations

import math

import pytest

from optimiser import Status

from .conftest import base_instance, solve_data, treatment_instance

REL = 1e-7


def crisis_pathway(clinic_share, ward_share, incidence=0.02):
    return [{
        "name": "crisis",
        "nodes": [
            {"name": "need", "kind": "source", "incidence": incidence},
            {"name": "clinic_visit", "kind": "care", "service": "clinic"},
            {"name": "admission", "kind": "care", "service": "ward"},
            {"name": "home", "kind": "sink"},
        ],
        "edges": [
            {"from": "need", "to": "clinic_visit", "share": clinic_share},
            {"from": "need", "to": "admission", "share": ward_share},
            {"from": "clinic_visit", "to": "home", "share": 1},
            {"from": "admission", "to": "home", "share": 1},
        ],
    }]


def two_services(clinic_cost, ward_cost, target=None, clinic_share=(0.2, 0.6), ward_share=(0.4, 0.8)):
    data = base_instance(
        sectors=["community", "acute"],
        services=[
            {"name": "clinic", "sector": "community", "unit_cost": clinic_cost, "baseline_activity": 100},
            {"name": "ward", "sector": "acute", "unit_cost": ward_cost, "baseline_activity": 100},
        ],
        pathways=crisis_pathway(*[list(x) if isinstance(x, tuple) else x for x in (clinic_share, ward_share)]),
        outcomes=[{"name": "admissions", "terms": [{"pathway": "crisis", "node": "admission"}]}],
    )
    if target is not None:
        data["targets"] = [{"outcome": "admissions", "years": "all", "at_most": target}]
    return data


def alloc(result, service, year=2026):
    a = result.allocation
    return float(a[(a["service"] == service) & (a["year"] == year)]["activity"].iloc[0])


def test_cheaper_community_route_is_bounded_by_its_edge_share():
    """Need = 0.02 x 10,000 = 200. Clinic (100) is cheaper than the ward (1,000), so as many
    patients as the edge allows go to the clinic: 60% = 120, the other 80 are admitted.
    Cost = 120 x 100 + 80 x 1,000 = 92,000."""
    r = solve_data(two_services(100, 1000))
    assert r.status is Status.OPTIMAL
    assert r.objective == pytest.approx(92_000, rel=REL)
    assert alloc(r, "clinic") == pytest.approx(120)
    assert alloc(r, "ward") == pytest.approx(80)


def test_binding_target_forces_the_dearer_route_and_its_dual_is_the_cost_difference():
    """Clinic 1,500 is dearer than the ward 1,000: unconstrained, 80% are admitted (160) and
    cost = 160 x 1,000 + 40 x 1,500 = 220,000. A target of at most 100 admissions moves 60
    patients to the clinic: cost = 100 x 1,000 + 100 x 1,500 = 250,000, and each admission fewer
    costs 1,500 - 1,000 = 500: the target's dual is -500 per admission (relaxing it by one saves 500)."""
    free = solve_data(two_services(1500, 1000))
    assert free.objective == pytest.approx(220_000, rel=REL)
    r = solve_data(two_services(1500, 1000, target=100))
    assert r.objective == pytest.approx(250_000, rel=REL)
    assert alloc(r, "ward") == pytest.approx(100)
    assert alloc(r, "clinic") == pytest.approx(100)
    cons = r.constraints
    target = cons[cons["constraint"] == "outcome_target"].iloc[0]
    assert bool(target["binding"])
    assert float(target["dual"]) == pytest.approx(-500, rel=1e-6)
    out = r.outcomes.iloc[0]
    assert out["value"] == pytest.approx(100) and bool(out["met"])


def test_target_tighter_than_the_edge_share_allows_is_infeasible():
    """At least 40% of 200 must be admitted (80): a target of at most 79 cannot be met."""
    r = solve_data(two_services(100, 1000, target=79))
    assert r.status is Status.INFEASIBLE
    assert not r.has_plan


def prevention_instance(baseline=0.0, floor=0.0, lag=1, years=2):
    return base_instance(
        horizon={"base_year": 2025, "years": years, "discount_rate": 0.0},
        sectors=["prevention", "acute"],
        services=[
            {"name": "falls_prog", "sector": "prevention", "unit_cost": 50, "baseline_activity": baseline},
            {"name": "ward", "sector": "acute", "unit_cost": 800, "baseline_activity": 100},
        ],
        pathways=[{
            "name": "falls",
            "nodes": [
                {"name": "fall", "kind": "source", "incidence": 0.01},
                {"name": "admission", "kind": "care", "service": "ward"},
                {"name": "home", "kind": "sink"},
            ],
            "edges": [{"from": "fall", "to": "admission", "share": 1},
                      {"from": "admission", "to": "home", "share": 1}],
        }],
        prevention_effects=[{
            "name": "strength_and_balance", "service": "falls_prog", "pathway": "falls",
            "sources": ["fall"], "lag": lag, "floor": floor,
            "response": [[0, 0], [100, 0.2], [300, 0.3]],
        }],
    )


def test_prevention_with_one_year_lag_pays_back_on_its_steep_piece_only():
    """100 falls a year (0.01 x 10,000), each admitted at 800. The programme (50 a unit) cuts
    next year's falls by g(x): 0.002 per unit up to 100 units, then 0.0005 per unit.
    A unit on the first piece saves 0.002 x 100 x 800 = 160 > 50: fund it; on the second
    0.0005 x 100 x 800 = 40 < 50: do not. Activity in the final year pays back after the
    horizon, so none. Plan: 100 units in 2026 (5,000); 100 admissions in 2026 (80,000),
    80 in 2027 (64,000). Cost 149,000."""
    r = solve_data(prevention_instance())
    assert r.objective == pytest.approx(149_000, rel=REL)
    assert alloc(r, "falls_prog", 2026) == pytest.approx(100)
    assert alloc(r, "falls_prog", 2027) == pytest.approx(0, abs=1e-6)
    assert alloc(r, "ward", 2027) == pytest.approx(80)
    need = r.need.set_index("year")["need"]
    assert need[2026] == pytest.approx(100) and need[2027] == pytest.approx(80)


def test_prevention_is_measured_against_the_baseline_level():
    """With 50 units already delivered in the base year, base incidence already includes
    g(50) = 0.1. 2026 sees the baseline (lag 1): 100 admissions. Funding 100 units in 2026
    gives g(100) - g(50) = 0.1 more: 90 admissions in 2027. Cost 5,000 + 80,000 + 72,000 = 157,000."""
    r = solve_data(prevention_instance(baseline=50))
    assert r.objective == pytest.approx(157_000, rel=REL)
    assert alloc(r, "ward", 2027) == pytest.approx(90)


def test_incidence_floor_caps_the_reduction():
    """A floor of 0.9 allows at most a 10% cut: 50 units (g(50) = 0.1) in 2026, 90 admissions in
    2027. Cost 2,500 + 80,000 + 72,000 = 154,500."""
    r = solve_data(prevention_instance(floor=0.9))
    assert r.objective == pytest.approx(154_500, rel=REL)
    assert alloc(r, "falls_prog", 2026) == pytest.approx(50)


def test_prevention_with_no_lag_acts_in_the_same_year():
    """Lag 0: each year's programme cuts that year's falls. Both years: 100 units (5,000) and
    80 admissions (64,000): 138,000."""
    r = solve_data(prevention_instance(lag=0))
    assert r.objective == pytest.approx(138_000, rel=REL)


def test_free_prevention_effect_is_lifted_to_its_curve():
    """The programme is held at 100 units a year (capacity min = max = 100) and admissions cost
    nothing, so every reduction between 0 and g(100) = 0.2 costs the same: 50 x 100 x 2 = 10,000.
    The tie-break ``prefer_full_prevention_effect`` takes the largest: 2027's falls are cut by
    g(100) - g(0) = 0.2 of 100 (lag 1), 80; 2026 follows the base year's 0 units: 100."""
    data = prevention_instance()
    data["services"][0]["capacity"] = {"min": 100, "max": 100}
    data["services"][1]["unit_cost"] = 0
    r = solve_data(data)
    assert r.objective == pytest.approx(10_000, rel=REL)
    need = r.need.set_index("year")["need"]
    assert need[2026] == pytest.approx(100) and need[2027] == pytest.approx(80)


def shift_instance(increase_pp=5.0, trajectory="linear", years=2, rate=0.0, max_growth=None):
    prev = {"name": "prev", "sector": "prevention", "unit_cost": 1, "baseline_activity": 100}
    if max_growth is not None:
        prev["max_growth"] = max_growth
    return base_instance(
        horizon={"base_year": 2025, "years": years, "discount_rate": rate},
        services=[prev, {"name": "acute", "sector": "acute", "unit_cost": 1, "baseline_activity": 900,
                         "non_pathway_activity": 900}],
        shift_policies=[{"kind": "share", "name": "kent_shift", "sectors": ["prevention"],
                         "increase_pp": increase_pp, "trajectory": trajectory}],
    )


def test_share_shift_follows_a_linear_trajectory():
    """Base share 100 / 1,000 = 10%. +5 points over 2 years: 12.5% in 2026, 15% in 2027.
    Acute spend is fixed at 900, so prevention p must satisfy p / (p + 900) >= s: p = 900 s / (1 - s):
    128.5714... and 158.8235... Cost = 1,800 + 900/7 + 2,700/17."""
    r = solve_data(shift_instance())
    assert r.objective == pytest.approx(1800 + 900 * 0.125 / 0.875 + 900 * 0.15 / 0.85, rel=REL)
    shift = r.shift.set_index("year")
    assert shift.loc[2026, "required"] == pytest.approx(0.125)
    assert shift.loc[2027, "achieved"] == pytest.approx(0.15)


def test_share_shift_is_discounted():
    """The same plan at a 10% discount rate: 2026 weighs 1/1.1, 2027 1/1.21."""
    r = solve_data(shift_instance(rate=0.1))
    p1, p2 = 900 * 0.125 / 0.875, 900 * 0.15 / 0.85
    assert r.objective == pytest.approx((900 + p1) / 1.1 + (900 + p2) / 1.21, rel=REL)
    assert r.summary["total_cost"] == pytest.approx(1800 + p1 + p2, rel=REL)


def test_share_shift_final_year_only():
    """Only 2027 must reach 15%; 2026 needs no prevention at all: cost 900 + 900 + 2,700/17."""
    r = solve_data(shift_instance(trajectory="final_year"))
    assert r.objective == pytest.approx(1800 + 900 * 0.15 / 0.85, rel=REL)
    assert alloc(r, "prev", 2026) == pytest.approx(0, abs=1e-6)


def test_growth_limit_can_make_the_shift_infeasible_and_looser_limit_restores_it():
    """Prevention may grow 20% a year: at most 120 then 144, but 2027 needs 158.8: infeasible.
    At 30% (130, then 169) the trajectory is reachable and the cost is that of the free plan."""
    assert solve_data(shift_instance(max_growth=0.2)).status is Status.INFEASIBLE
    r = solve_data(shift_instance(max_growth=0.3))
    assert r.objective == pytest.approx(1800 + 900 * 0.125 / 0.875 + 900 * 0.15 / 0.85, rel=REL)


def test_shrink_limit_keeps_acute_activity_up():
    """Acute demand falls from 900 to 500, but activity may fall at most 10% a year:
    900 x 0.9 = 810 in 2026, 729 in 2027. Prevention activity has no demand: 0. Cost 1,539."""
    data = base_instance(
        horizon={"base_year": 2025, "years": 2, "discount_rate": 0.0},
        services=[
            {"name": "prev", "sector": "prevention", "unit_cost": 1, "baseline_activity": 100},
            {"name": "acute", "sector": "acute", "unit_cost": 1, "baseline_activity": 900,
             "non_pathway_activity": 500, "max_shrink": 0.1},
        ])
    r = solve_data(data)
    assert r.objective == pytest.approx(810 + 729, rel=REL)


def test_transfer_policy_moves_the_amount_along_its_trajectory():
    """Move 100 from acute to prevention by 2027 (50 by 2026). Acute demand is 800, under its
    base spend of 900 less the transfer; prevention must reach 100 + 50 then 100 + 100.
    Cost = 800 + 150 + 800 + 200 = 1,950."""
    data = base_instance(
        horizon={"base_year": 2025, "years": 2, "discount_rate": 0.0},
        services=[
            {"name": "prev", "sector": "prevention", "unit_cost": 1, "baseline_activity": 100},
            {"name": "acute", "sector": "acute", "unit_cost": 1, "baseline_activity": 900,
             "non_pathway_activity": 800},
        ],
        shift_policies=[{"kind": "transfer", "name": "move", "from_sector": "acute",
                         "to_sector": "prevention", "amount": 100}])
    r = solve_data(data)
    assert r.objective == pytest.approx(1950, rel=REL)
    assert alloc(r, "prev", 2026) == pytest.approx(150)


def test_transfer_policy_cannot_cut_fixed_demand():
    """Acute demand stays at 900, so its spend cannot fall by 50: infeasible."""
    data = base_instance(
        horizon={"base_year": 2025, "years": 2, "discount_rate": 0.0},
        services=[
            {"name": "prev", "sector": "prevention", "unit_cost": 1, "baseline_activity": 100},
            {"name": "acute", "sector": "acute", "unit_cost": 1, "baseline_activity": 900,
             "non_pathway_activity": 900},
        ],
        shift_policies=[{"kind": "transfer", "name": "move", "from_sector": "acute",
                         "to_sector": "prevention", "amount": 100}])
    assert solve_data(data).status is Status.INFEASIBLE


def test_readmission_loop_is_conserved():
    """100 admissions of new need; 10% of those discharged come back through a community check
    (cost 10) into admission again. Admissions X = 100 + 0.1 X = 1000/9. Cost = 1,000 X + 10 x 0.1 X
    = 1,001 x 1000/9 = 111,222.2..."""
    data = base_instance(
        sectors=["community", "acute"],
        services=[
            {"name": "check", "sector": "community", "unit_cost": 10, "baseline_activity": 10},
            {"name": "ward", "sector": "acute", "unit_cost": 1000, "baseline_activity": 100},
        ],
        pathways=[{
            "name": "loop",
            "nodes": [
                {"name": "need", "kind": "source", "incidence": 0.01},
                {"name": "admission", "kind": "care", "service": "ward"},
                {"name": "readmit", "kind": "care", "service": "check"},
                {"name": "home", "kind": "sink"},
            ],
            "edges": [
                {"from": "need", "to": "admission", "share": 1},
                {"from": "admission", "to": "home", "share": 0.9},
                {"from": "admission", "to": "readmit", "share": 0.1},
                {"from": "readmit", "to": "admission", "share": 1},
            ],
        }],
        outcomes=[{"name": "admissions", "terms": [{"pathway": "loop", "node": "admission"}]}],
    )
    r = solve_data(data)
    assert r.objective == pytest.approx(1001 * 1000 / 9, rel=REL)
    assert r.outcomes.iloc[0]["value"] == pytest.approx(1000 / 9, rel=REL)


def test_units_per_patient_and_population_growth():
    """Population 10,000 growing 10% a year; incidence 0.01: 110 patients in 2026, 121 in 2027,
    each using 7 bed days at 300 (unit cost growing 0%): cost = (110 + 121) x 7 x 300 = 485,100."""
    data = base_instance(
        horizon={"base_year": 2025, "years": 2, "discount_rate": 0.0},
        segments=[{"name": "all", "population": {"value": 10000, "growth": 0.1}}],
        sectors=["acute"],
        services=[{"name": "beds", "sector": "acute", "unit_cost": 300, "baseline_activity": 700}],
        pathways=[{
            "name": "p",
            "nodes": [{"name": "s", "kind": "source", "incidence": 0.01},
                      {"name": "stay", "kind": "care", "service": "beds", "units_per_patient": 7},
                      {"name": "out", "kind": "sink"}],
            "edges": [{"from": "s", "to": "stay", "share": 1}, {"from": "stay", "to": "out", "share": 1}],
        }])
    r = solve_data(data)
    assert r.objective == pytest.approx((110 + 121) * 7 * 300, rel=REL)


def test_max_outcome_within_budget():
    """Maximise patients recovered: treatment costs 100 a patient, the budget is 5,000 a year,
    need is 100: 50 are treated and recover. Objective 50; the budget binds."""
    data = treatment_instance(budget=5000)
    r = solve_data(data)
    assert r.status is Status.OPTIMAL
    assert r.objective == pytest.approx(50, rel=REL)
    b = r.constraints[r.constraints["constraint"] == "pooled_budget"].iloc[0]
    assert bool(b["binding"]) and float(b["dual"]) == pytest.approx(0.01, rel=1e-6)


def test_unbounded_plan_is_reported_as_such():
    """Free services and a loop whose share may be 100%: maximising passes through the loop
    has no limit."""
    data = base_instance(
        sectors=["acute"],
        services=[{"name": "ward", "sector": "acute", "unit_cost": 0, "baseline_activity": 0}],
        pathways=[{
            "name": "p",
            "nodes": [{"name": "need", "kind": "source", "incidence": 0.01},
                      {"name": "adm", "kind": "care", "service": "ward"},
                      {"name": "home", "kind": "sink"}],
            "edges": [{"from": "need", "to": "adm", "share": 1},
                      {"from": "adm", "to": "adm", "share": [0, 1]},
                      {"from": "adm", "to": "home", "share": [0, 1]}],
        }],
        outcomes=[{"name": "passes", "direction": "higher_is_better", "terms": [{"pathway": "p", "node": "adm"}]}],
        objective={"mode": "max_outcome", "weights": {"passes": 1.0}},
    )
    r = solve_data(data)
    assert r.status is Status.UNBOUNDED
    assert "unbounded" in r.message


def test_edge_outcome_weights_and_segment_filters():
    """Two segments (young 10,000 at 0.01, old 5,000 at 0.04): 100 and 200 patients. The outcome
    counts edge need -> admission for the old only, weight 2: 2 x 200 x 0.5 (fixed share) = 200."""
    data = two_services(100, 1000, clinic_share=0.5, ward_share=0.5)
    data["segments"] = [{"name": "young", "population": 10000}, {"name": "old", "population": 5000}]
    data["pathways"][0]["nodes"][0]["incidence"] = {"young": 0.01, "old": 0.04}
    data["outcomes"] = [{"name": "old_admissions", "terms": [
        {"pathway": "crisis", "edge": ["need", "admission"], "weight": 2, "segments": ["old"]}]}]
    r = solve_data(data)
    assert r.outcomes.iloc[0]["value"] == pytest.approx(200)
    assert r.objective == pytest.approx(150 * 100 + 150 * 1000, rel=REL)
    assert math.isclose(r.summary["discounted_cost"], r.objective, rel_tol=1e-9)


def test_max_outcome_takes_the_cheapest_of_the_best_plans():
    """Maximise recoveries with a budget of 50,000 while only 100 patients exist: all 100 are treated
    (objective 100) for 10,000 a year; the rest of the budget is not spent on idle activity."""
    data = treatment_instance(budget=50000)
    for backend in ("highs", "pyomo"):
        r = solve_data(data, backend=backend)
        assert r.objective == pytest.approx(100, rel=REL)
        assert r.summary["total_cost"] == pytest.approx(10_000, rel=1e-7)
