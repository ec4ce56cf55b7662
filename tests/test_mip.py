"""Mixed-integer choices on tiny instances whose optima are derived by hand in each docstring.
Every plan is also recomputed by the verifier (integrality, opening logic, minimum scales, teams)."""

from __future__ import annotations

import pytest

from optimiser import Status

from .conftest import base_instance, solve_data

REL = 1e-7


def hub_instance(target=None, years=1, opening_cost=60_000, limit=None, hubs=1):
    services = [{"name": "ward", "sector": "acute", "unit_cost": 1000, "baseline_activity": 100}]
    nodes = [{"name": "crisis", "kind": "source", "incidence": 0.01},
             {"name": "admission", "kind": "care", "service": "ward"},
             {"name": "home", "kind": "sink"}]
    edges = [{"from": "admission", "to": "home", "share": 1}]
    share = 0.5 if hubs == 1 else 0.25
    for h in range(hubs):
        name = f"hub{h}"
        services.append({"name": name, "sector": "community", "unit_cost": 200, "baseline_activity": 0,
                         "capacity": {"max": 1000}, "opening": {"opening_cost": opening_cost}})
        nodes.append({"name": f"{name}_visit", "kind": "care", "service": name})
        edges += [{"from": "crisis", "to": f"{name}_visit", "share": [0, share]},
                  {"from": f"{name}_visit", "to": "home", "share": 1}]
    edges.append({"from": "crisis", "to": "admission", "share": [1 - share * hubs, 1]})
    data = base_instance(
        horizon={"base_year": 2025, "years": years, "discount_rate": 0.0},
        sectors=["community", "acute"], services=services,
        pathways=[{"name": "frailty", "nodes": nodes, "edges": edges}],
        outcomes=[{"name": "admissions", "terms": [{"pathway": "frailty", "node": "admission"}]}],
    )
    if target is not None:
        data["targets"] = [{"outcome": "admissions", "years": "all", "at_most": target}]
    if limit is not None:
        data["limits"] = {"max_openings_per_year": limit}
    return data


def row(result, service, year=2026):
    a = result.allocation
    return a[(a["service"] == service) & (a["year"] == year)].iloc[0]


def test_site_not_worth_opening_without_a_tight_target():
    """100 frailty crises. Admission costs 1,000; a hub (200 a patient) may take up to half, but
    opening it costs 60,000 and saves only 50 x 800 = 40,000 in a one-year plan: stay shut.
    Cost 100,000."""
    r = solve_data(hub_instance())
    assert r.objective == pytest.approx(100_000, rel=REL)
    assert row(r, "hub0")["open"] == 0 and row(r, "hub0")["activity"] == pytest.approx(0, abs=1e-6)


def test_site_opened_when_the_target_is_tight():
    """At most 60 admissions forces 40 or more through the hub, so it opens; once open, the cheapest
    plan sends it the most it may take (50): 50 x 1,000 + 50 x 200 + 60,000 = 120,000."""
    r = solve_data(hub_instance(target=60))
    assert r.status is Status.OPTIMAL
    assert r.objective == pytest.approx(120_000, rel=REL)
    hub = row(r, "hub0")
    assert hub["open"] == 1 and hub["opened"] == 1 and hub["activity"] == pytest.approx(50)
    assert hub["spend"] == pytest.approx(50 * 200 + 60_000)
    assert r.summary["mixed_integer"] and "fixed" in r.summary["mip"]["duals"]


def test_site_worth_opening_over_a_longer_horizon_opens_in_the_first_year():
    """Over two years the hub saves 2 x 40,000 = 80,000 > 60,000: open in 2026, keep open.
    Cost = 2 x (50,000 + 10,000) + 60,000 = 180,000."""
    r = solve_data(hub_instance(years=2))
    assert r.objective == pytest.approx(180_000, rel=REL)
    assert row(r, "hub0", 2026)["opened"] == 1 and row(r, "hub0", 2027)["opened"] == 0
    assert row(r, "hub0", 2027)["open"] == 1


def test_at_most_one_opening_a_year():
    """Two hubs, each taking up to a quarter (25 patients, saving 25 x 800 = 20,000 a year) for an
    opening cost of 15,000. Over two years each is worth opening at once (saves 40,000), but only
    one may open a year: one in 2026 and the other in 2027 (then saving 20,000 > 15,000).
    Cost: 2026: 75 x 1,000 + 25 x 200 + 15,000 = 95,000; 2027: 50 x 1,000 + 50 x 200 + 15,000 = 75,000."""
    r = solve_data(hub_instance(years=2, opening_cost=15_000, limit=1, hubs=2))
    assert r.objective == pytest.approx(170_000, rel=REL)
    opened = r.allocation.groupby("year")["opened"].sum()
    assert opened[2026] == 1 and opened[2027] == 1
    free = solve_data(hub_instance(years=2, opening_cost=15_000, hubs=2))
    assert free.objective == pytest.approx(2 * (50_000 + 10_000) + 30_000, rel=REL)


def programme_instance(minimum_scale=None):
    prog = {"name": "falls_prog", "sector": "prevention", "unit_cost": 50, "baseline_activity": 0,
            "capacity": {"max": 10_000}}
    if minimum_scale is not None:
        prog["minimum_scale"] = minimum_scale
    return base_instance(
        horizon={"base_year": 2025, "years": 2, "discount_rate": 0.0},
        sectors=["prevention", "acute"],
        services=[prog, {"name": "ward", "sector": "acute", "unit_cost": 800, "baseline_activity": 100}],
        pathways=[{"name": "falls",
                   "nodes": [{"name": "fall", "kind": "source", "incidence": 0.01},
                             {"name": "admission", "kind": "care", "service": "ward"},
                             {"name": "home", "kind": "sink"}],
                   "edges": [{"from": "fall", "to": "admission", "share": 1},
                             {"from": "admission", "to": "home", "share": 1}]}],
        prevention_effects=[{"name": "strength_and_balance", "service": "falls_prog", "pathway": "falls",
                             "sources": ["fall"], "lag": 1, "response": [[0, 0], [100, 0.2], [300, 0.3]]}],
    )


def test_minimum_scale_that_still_pays():
    """Without a minimum the programme runs at 100 units (149,000; see test_formulation). With a
    minimum of 450 units, 450 units (22,500) cut 2027 falls by 30% (the curve is flat beyond 300):
    80,000 + 22,500 + 70 x 800 = 158,500 < 160,000 (no programme): fund it at its minimum."""
    assert solve_data(programme_instance()).objective == pytest.approx(149_000, rel=REL)
    r = solve_data(programme_instance(minimum_scale=450))
    assert r.objective == pytest.approx(158_500, rel=REL)
    assert row(r, "falls_prog", 2026)["activity"] == pytest.approx(450)
    assert row(r, "falls_prog", 2027)["activity"] == pytest.approx(0, abs=1e-6)


def test_minimum_scale_that_makes_the_programme_not_worth_funding():
    """A minimum of 500 units costs 25,000 for at most 30 fewer admissions (24,000): not funded.
    Cost 2 x 100 x 800 = 160,000."""
    r = solve_data(programme_instance(minimum_scale=500))
    assert r.objective == pytest.approx(160_000, rel=REL)
    assert row(r, "falls_prog", 2026)["activity"] == pytest.approx(0, abs=1e-6)


def s_curve_instance():
    prog = [{"name": f"prog_{k}", "sector": "prevention", "unit_cost": 50, "baseline_activity": 0,
             "capacity": {"max": 1000}} for k in ("a", "b")]
    pathways, effects = [], []
    for k, top in (("a", 0.2), ("b", 0.19)):
        pathways.append({"name": f"p_{k}",
                         "nodes": [{"name": "need", "kind": "source", "incidence": 0.01},
                                   {"name": "admission", "kind": "care", "service": "ward"},
                                   {"name": "home", "kind": "sink"}],
                         "edges": [{"from": "need", "to": "admission", "share": 1},
                                   {"from": "admission", "to": "home", "share": 1}]})
        effects.append({"name": f"effect_{k}", "service": f"prog_{k}", "pathway": f"p_{k}", "sources": ["need"],
                        "lag": 1, "response": [[0, 0], [100, 0.02], [200, top], [300, top + 0.02]]})
    return base_instance(
        horizon={"base_year": 2025, "years": 2, "discount_rate": 0.0},
        budget={"pooled": 170_000},
        sectors=["prevention", "acute"],
        services=prog + [{"name": "ward", "sector": "acute", "unit_cost": 800, "baseline_activity": 200}],
        pathways=pathways, prevention_effects=effects,
    )


def test_s_shaped_responses_split_the_budget_unevenly():
    """Two programmes (50 a unit) with S-shaped curves: 2% at 100 units, 20% (a) or 19% (b) at 200,
    2 points more at 300. Each pathway has 100 admissions a year at 800. 2026's budget (170,000)
    leaves 10,000 for prevention after 160,000 of admissions: 200 units in all.
    Options: (200, 0) cuts 2027 admissions by 20: 170,000 + 180 x 800 = 314,000; (0, 200): 314,800;
    (100, 100): 4 fewer: 326,800. The optimum is the uneven split, programme a at 200 units."""
    r = solve_data(s_curve_instance())
    assert r.status is Status.OPTIMAL
    assert r.objective == pytest.approx(314_000, rel=REL)
    assert row(r, "prog_a", 2026)["activity"] == pytest.approx(200)
    assert row(r, "prog_b", 2026)["activity"] == pytest.approx(0, abs=1e-6)
    prev = r.prevention.set_index(["effect", "year"])
    assert prev.loc[("effect_a", 2027), "reduction"] == pytest.approx(0.2)


def test_s_shaped_response_is_exact_where_a_linear_relaxation_would_overstate_it():
    """Without the budget limit each programme is worth 200 units: each saves 20 (a) or 19 (b)
    admissions (16,000 / 15,200) for 10,000. Cost = 180,000 + 161 x 800 = 308,800. Units between
    the curve's points would be worth less than a straight line suggests; the curve is read exactly."""
    data = s_curve_instance()
    data["budget"] = {"pooled": 1e9}
    r = solve_data(data)
    assert r.objective == pytest.approx(308_800, rel=REL)


def test_whole_teams():
    """250 patients need a multidisciplinary team visit; a team sees 100 a year and costs 50,000 plus
    10 a visit: 3 teams. Cost 150,000 + 2,500 = 152,500."""
    data = base_instance(
        segments=[{"name": "all", "population": 25_000}],
        sectors=["community"],
        services=[{"name": "mdt", "sector": "community", "unit_cost": 10, "baseline_activity": 0,
                   "teams": {"activity_per_team": 100, "cost_per_team": 50_000}}],
        pathways=[{"name": "p", "nodes": [{"name": "s", "kind": "source", "incidence": 0.01},
                                          {"name": "visit", "kind": "care", "service": "mdt"},
                                          {"name": "out", "kind": "sink"}],
                   "edges": [{"from": "s", "to": "visit", "share": 1}, {"from": "visit", "to": "out", "share": 1}]}],
    )
    r = solve_data(data)
    assert r.objective == pytest.approx(152_500, rel=REL)
    assert row(r, "mdt")["teams"] == 3
    data["services"][0]["teams"]["max_teams"] = 2
    assert solve_data(data).status is Status.INFEASIBLE


def test_pyomo_path_solves_the_same_mip():
    a = solve_data(hub_instance(target=60))
    b = solve_data(hub_instance(target=60), backend="pyomo")
    assert b.objective == pytest.approx(a.objective, rel=1e-9)


def test_mip_gap_option_and_bound_are_reported():
    r = solve_data(s_curve_instance(), mip_gap=0.0)
    assert r.summary["mip"]["gap"] == pytest.approx(0.0, abs=1e-9)
    assert r.summary["mip"]["best_bound"] == pytest.approx(314_000, rel=1e-6)


def test_verifier_respects_opening_logic():
    """A site that never opens has no minimum activity; one that opens may start at any level
    (its growth limit applies from the year after). Both plans must verify."""
    data = hub_instance()
    data["services"][1]["capacity"]["min"] = 10
    r = solve_data(data)  # stays shut: 100,000
    assert r.objective == pytest.approx(100_000, rel=REL) and row(r, "hub0")["open"] == 0
    data = hub_instance(target=60)
    data["services"][1]["max_growth"] = 0.1
    r = solve_data(data)  # opens at 50 patients although growth is limited to 10%
    assert r.objective == pytest.approx(120_000, rel=REL) and row(r, "hub0")["activity"] == pytest.approx(50)


def test_spend_driver_reads_unit_cost_times_activity():
    """With a spend-driven curve, the driver is unit cost x activity, not the team costs: a team of
    the programme (1,000 a year, 100 units) adds fixed spend but no extra effect. 100 units =
    5,000 of driver -> 20% in 2027: 5,000 + 1,000 (team) + 80,000 + 64,000 = 150,000, and the
    final-year team is not needed (no activity)."""
    data = programme_instance()
    data["services"][0]["teams"] = {"activity_per_team": 100, "cost_per_team": 1000}
    eff = data["prevention_effects"][0]
    eff["driver"] = "spend"
    eff["response"] = [[0, 0], [5000, 0.2], [15000, 0.3]]
    r = solve_data(data)
    assert r.objective == pytest.approx(150_000, rel=REL)
