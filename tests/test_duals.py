"""Shadow prices in planner units, checked against hand derivations and finite differences.

Every price is ``marginal``: the change in the objective (discounted cost in min_cost mode) per
one unit increase of the planner's quantity (an at-most target, a pound of budget, a percentage
point of required share or of a growth limit, a unit of capacity). A finite difference re-solves
the instance with that quantity moved by a small step ``h`` either way; for a linear programme the
dual lies between the left and right difference quotients, and equals both away from breakpoints.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import optimiser
from optimiser import Status
from optimiser.analyses.explain import explain, reduced_costs, shadow_prices
from optimiser.solving.highs import run_highs

from .conftest import ROOT, base_instance, solve_data, treatment_instance
from .test_formulation import prevention_instance, shift_instance, two_services


def price(ex, constraint, item=None, year=None, **extra):
    sp = ex.shadow_prices
    m = sp["constraint"] == constraint
    if item is not None:
        m &= sp["item"] == item
    m &= sp["year"].isna() if year is None else (sp["year"] == year)
    for k, v in extra.items():
        m &= sp[k] == v
    rows = sp[m]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def objective(data, path, value):
    inst = optimiser.load_data(copy.deepcopy(data), file="t.yaml").with_overrides({path: value})
    r = optimiser.solve(inst)
    assert r.status is Status.OPTIMAL
    return r.objective


def assert_finite_difference(data, path, value, h, marginal, rel=1e-6, z0=None):
    """(z(v + h) - z) / h and (z - z(v - h)) / h bracket the dual and, here, equal it."""
    z0 = objective(data, path, value) if z0 is None else z0
    up = (objective(data, path, value + h) - z0) / h
    down = (z0 - objective(data, path, value - h)) / h
    assert up == pytest.approx(marginal, rel=rel, abs=1e-9)
    assert down == pytest.approx(marginal, rel=rel, abs=1e-9)


def test_target_price_is_the_cost_of_one_admission_fewer():
    """Clinic 1,500 a patient, ward 1,000; at most 100 of 200 patients admitted: each admission
    fewer moves one patient to the clinic, costing 500. The at-most target's price is -500 per
    admission (raising it saves 500), and in words each admission fewer costs £500."""
    data = two_services(1500, 1000, target=100)
    ex = explain(solve_data(data))
    p = price(ex, "outcome_target", "admissions", 2026)
    assert p["binding"] and p["bound_type"] == "at_most"
    assert p["marginal"] == pytest.approx(-500, rel=1e-9)
    assert "each admission fewer costs £500 (discounted)" in p["words"]
    assert_finite_difference(data, "targets[0].at_most", 100, 1.0, -500)


def test_budget_price_when_prevention_is_held_back_by_the_budget():
    """prevention_instance: falls programme at 50 a unit cuts next year's 100 falls (each an
    800 admission) by 0.002 a unit on its first 100 units. 2026 spend is 80,000 on admissions
    plus the programme; a 2026 budget of 82,500 allows 50 units. One more pound buys 1/50 unit,
    which saves 0.002 x 100 x 800 / 50 = 3.2 in 2027 for 1 spent: the budget's price is -2.2 per
    pound (each £1 more saves £2.20)."""
    data = prevention_instance()
    data["budget"] = {"pooled": {2026: 82_500, 2027: 1e9}}
    r = solve_data(data)
    assert r.objective == pytest.approx(2_500 + 80_000 + 72_000, rel=1e-9)
    ex = explain(r)
    p = price(ex, "pooled_budget", "pooled budget", 2026)
    assert p["binding"] and p["marginal"] == pytest.approx(-2.2, rel=1e-9)
    assert "each £1.00 more saves £2.20 (discounted)" in p["words"]
    assert not price(ex, "pooled_budget", "pooled budget", 2027)["binding"]
    z0 = r.objective
    for h in (100.0, -100.0):
        d = copy.deepcopy(data)
        d["budget"]["pooled"][2026] += h
        assert (solve_data(d).objective - z0) / h == pytest.approx(-2.2, rel=1e-9)


@pytest.mark.slow
def test_budget_price_in_max_outcome_mode_is_outcome_per_pound():
    """Treatment at 100 a patient, budget 5,000, 100 patients: 50 recover; one more pound treats
    1/100 patient more: 0.01 recoveries per pound, in weighted-outcome units."""
    data = treatment_instance(budget=5000)
    ex = explain(solve_data(data))
    p = price(ex, "pooled_budget", "pooled budget", 2026)
    assert p["marginal"] == pytest.approx(0.01, rel=1e-9)
    assert "gains 0.01 of weighted outcome" in p["words"]
    assert ex.summary["objective_unit"] == "weighted outcome (discounted)"
    assert_finite_difference(data, "budget.pooled", 5000, 100.0, 0.01)


def test_share_price_per_point_is_dual_times_total_spend():
    """Final-year rule only: prevention p must be at least s of p + 900, so p = 900 s / (1 - s)
    and cost = 1,800 + p. d cost / d s = 900 / (1 - s)^2; per point at s = 15%: 9 / 0.85^2 =
    12.4567. The row's dual is 1 / (1 - s) per pound of required excess and total spend is
    900 / (1 - s): dual x total spend x 0.01 gives the same 12.4567."""
    data = shift_instance(trajectory="final_year")
    ex = explain(solve_data(data))
    per_point = 9 / 0.85 ** 2
    p = price(ex, "shift_share", "kent_shift", 2027)
    assert p["dual"] == pytest.approx(1 / 0.85, rel=1e-9)
    assert p["marginal"] == pytest.approx(per_point, rel=1e-9)
    assert price(ex, "shift_share", "kent_shift", None)["marginal"] == pytest.approx(per_point, rel=1e-9)
    assert_finite_difference(data, "shift_policies[0].increase_pp", 5.0, 1e-3, per_point, rel=1e-4)


def test_share_price_of_the_whole_policy_weights_each_year_by_its_trajectory_fraction():
    """Linear trajectory over two years: s_1 = 10% + pp / 200, s_2 = 10% + pp / 100, so
    d cost / d pp = 900 / (1 - s_1)^2 / 200 + 900 / (1 - s_2)^2 / 100 = 5.8776 + 12.4567."""
    data = shift_instance()
    ex = explain(solve_data(data))
    y1, y2 = 900 / 0.875 ** 2 / 100, 900 / 0.85 ** 2 / 100
    assert price(ex, "shift_share", "kent_shift", 2026)["marginal"] == pytest.approx(y1, rel=1e-9)
    whole = price(ex, "shift_share", "kent_shift", None)
    assert whole["marginal"] == pytest.approx(y1 / 2 + y2, rel=1e-9)
    assert_finite_difference(data, "shift_policies[0].increase_pp", 5.0, 1e-3, y1 / 2 + y2, rel=1e-4)


def test_capacity_price_is_the_reduced_cost_of_activity_at_its_bound():
    """The clinic (100) is cheaper than the ward (1,000) but holds at most 100 patients: each
    unit more capacity moves a patient from the ward: -900 per unit. HiGHS's own col_dual and
    c - A^T y agree."""
    data = two_services(100, 1000)
    data["services"][0]["capacity"] = {"max": 100}
    r = solve_data(data)
    ex = explain(r)
    p = price(ex, "capacity", "clinic", 2026)
    assert p["binding"] and p["marginal"] == pytest.approx(-900, rel=1e-9)
    assert "each unit more capacity saves £900 (discounted)" in p["words"]
    raw = run_highs(r.lp)
    assert np.allclose(reduced_costs(r.lp, raw.row_dual), raw.col_dual, atol=1e-9)
    again = shadow_prices(r, col_dual=raw.col_dual)
    assert float(again[(again["constraint"] == "capacity")]["marginal"].iloc[0]) == pytest.approx(-900)
    assert_finite_difference(data, "services[clinic].capacity.max", 100, 1.0, -900)


def test_growth_limit_price_per_point():
    """prevention_instance with 50 units in the base year and at most 50% growth: 75 units in
    2026 where 100 would pay. One more unit saves 160 - 50 = 110; one point more growth is 0.5
    unit: -55 per point (2027's row does not bind)."""
    data = prevention_instance(baseline=50)
    data["services"][0]["max_growth"] = 0.5
    r = solve_data(data)
    assert r.objective == pytest.approx(3_750 + 80_000 + 76_000, rel=1e-9)
    ex = explain(r)
    assert price(ex, "growth_limit", "falls_prog", 2026)["marginal"] == pytest.approx(-55, rel=1e-9)
    whole = price(ex, "growth_limit", "falls_prog", None)
    assert whole["marginal"] == pytest.approx(-55, rel=1e-9)
    assert_finite_difference(data, "services[falls_prog].max_growth", 0.5, 1e-3, -55 * 100)


def test_shrink_limit_price_per_point():
    """test_shrink_limit_keeps_acute_activity_up: cost = 900 (1 - h) + 900 (1 - h)^2, so
    d cost / d h = -900 - 1,800 x 0.9 = -2,520: -25.2 per point of allowed shrinkage."""
    data = base_instance(
        horizon={"base_year": 2025, "years": 2, "discount_rate": 0.0},
        services=[
            {"name": "prev", "sector": "prevention", "unit_cost": 1, "baseline_activity": 100},
            {"name": "acute", "sector": "acute", "unit_cost": 1, "baseline_activity": 900,
             "non_pathway_activity": 500, "max_shrink": 0.1},
        ])
    ex = explain(solve_data(data))
    whole = price(ex, "shrink_limit", "acute", None)
    assert whole["marginal"] == pytest.approx(-25.2, rel=1e-9)
    assert_finite_difference(data, "services[acute].max_shrink", 0.1, 1e-4, -2520, rel=1e-3)


def test_transfer_price_is_dual_to_minus_dual_from():
    """Move X from acute to prevention: prevention must reach 100 + X/2 then 100 + X, acute
    demand (700) is under its limit (900 - X): d cost / d X = 1/2 + 1 = 1.5."""
    data = base_instance(
        horizon={"base_year": 2025, "years": 2, "discount_rate": 0.0},
        services=[
            {"name": "prev", "sector": "prevention", "unit_cost": 1, "baseline_activity": 100},
            {"name": "acute", "sector": "acute", "unit_cost": 1, "baseline_activity": 900,
             "non_pathway_activity": 700},
        ],
        shift_policies=[{"kind": "transfer", "name": "move", "from_sector": "acute",
                         "to_sector": "prevention", "amount": 100}])
    ex = explain(solve_data(data))
    assert price(ex, "shift_transfer", "move", 2027)["marginal"] == pytest.approx(1.0, rel=1e-9)
    assert price(ex, "shift_transfer", "move", None)["marginal"] == pytest.approx(1.5, rel=1e-9)
    assert_finite_difference(data, "shift_policies[0].amount", 100, 1.0, 1.5)


def test_edge_share_price_per_point():
    """Clinic share at most 60% of 200 patients binds (the ward's own minimum, 30%, does not):
    one point more moves 2 patients from the ward (1,000) to the clinic (100): -1,800 per point."""
    data = two_services(100, 1000, ward_share=(0.3, 0.8))
    ex = explain(solve_data(data))
    p = price(ex, "edge_share_max", "crisis: need -> clinic_visit", 2026)
    assert p["marginal"] == pytest.approx(-1800, rel=1e-9)
    assert "at most 60% of need patients may go to clinic_visit" in p["words"]
    z0 = solve_data(data).objective
    for h in (0.01, -0.01):
        d = copy.deepcopy(data)
        d["pathways"][0]["edges"][0]["share"] = [0.2, 0.6 + h]
        assert (solve_data(d).objective - z0) / (100 * h) == pytest.approx(-1800, rel=1e-9)


def test_pyomo_path_gives_the_same_prices():
    data = two_services(1500, 1000, target=100)
    a = explain(solve_data(data)).shadow_prices
    b = explain(solve_data(data, backend="pyomo")).shadow_prices
    assert list(a["constraint"]) == list(b["constraint"])
    assert np.allclose(a["marginal"].astype(float), b["marginal"].astype(float), atol=1e-6)


@pytest.fixture(scope="module")
def kent():
    inst = optimiser.load(ROOT / "instances" / "kent.yaml")
    return inst, explain(inst)


def _kent_fd(inst, path, value, h):
    z = [optimiser.solve(inst.with_overrides({path: v})).objective for v in (value - h, value, value + h)]
    return (z[2] - z[1]) / h, (z[1] - z[0]) / h


@pytest.mark.parametrize("what, path, value, h, scale, rel", [
    (("outcome_target", "emergency_admissions", 2030), "targets[4].at_most", 26_400, 10.0, 1.0, 1e-4),
    (("shift_share", "kent_prevention_shift", None), "shift_policies[0].increase_pp", 0.2, 0.001, 1.0, 2e-3),
    (("growth_limit", "falls_prevention", None), "services[falls_prevention].max_growth", 0.3, 0.001, 100.0, 1e-4),
])
@pytest.mark.slow
def test_kent_prices_match_finite_differences(kent, what, path, value, h, scale, rel):
    """On the Kent instance: the 2030 admissions target, the whole 0.2-point shift and the falls
    programme's growth limit. The price lies between the one-sided quotients and central
    differences agree to 1e-4 (the share and growth prices move with the plan, so one-sided
    quotients differ slightly, by second-order terms). The shift's one-sided quotients are
    £90.74m and £91.29m a point around its price of £91.17m (a MIP since the wards are on block
    contracts: the price is that of the LP with the wards fixed, and a 0.001-point step moves
    lasting cohorts in every later year), so its central difference agrees to 2e-3."""
    inst, ex = kent
    p = price(ex, *what)
    up, down = _kent_fd(inst, path, value, h)
    slack = 1e-6 * abs(p["marginal"] * scale)
    assert min(up, down) - slack <= p["marginal"] * scale <= max(up, down) + slack
    assert (up + down) / 2 == pytest.approx(p["marginal"] * scale, rel=rel)


@pytest.mark.slow
def test_kent_capacity_price_matches_finite_difference(kent):
    """Telecare and home adaptations are at their 30,000-package cap in 2030: one package more
    saves about £432 (discounted; with lasting effects and the terminal value its crises avoided
    count for 2031-2035 too), one package fewer costs about £528: the cap sits at a kink, where
    every value between the two one-sided quotients is a valid shadow price (the dual is
    degenerate, and which one HiGHS reports depends on its final basis), so the price must lie
    between them, and be a saving."""
    inst, ex = kent
    p = price(ex, "capacity", "telecare_home_adaptations", 2030)
    assert p["marginal"] < 0
    cap = {y: 30_000 for y in inst.years}
    z = []
    for h in (-100, 0, 100):
        c = dict(cap)
        c[2030] += h
        z.append(optimiser.solve(inst.with_overrides({"services[telecare_home_adaptations].capacity.max": c})).objective)
    up, down = (z[2] - z[1]) / 100, (z[1] - z[0]) / 100
    assert down < up < 0                                  # a kink: the two sides differ
    assert down - 1e-6 <= p["marginal"] <= up + 1e-6
