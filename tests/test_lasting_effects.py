"""Lasting prevention effects (ramp, persistence, duration), the terminal value beyond the horizon,
and attribution of services' non-pathway spend to segments: hand-derived figures on tiny instances
(the derivation in each docstring) and a cross-check against the independent reference
(tests/reference_mip.py) on random instances (tests/random_lasting_instances.py)."""

from __future__ import annotations

import copy
import functools

import numpy as np
import pytest

import optimiser
from optimiser import InstanceError

from .conftest import solve_data
from .crosscheck import assert_agrees_and_verifies, cases, solve_ours
from .random_lasting_instances import random_lasting_instance
from .reference_mip import is_concave, reference_solve


def clinic_instance(effect=None, horizon=None, clinic=None):
    """Base 2025, two planning years, no discounting. Need = 0.1 x 1,000 = 100 patients a year, each
    admitted once to a ward at 100 a patient. A clinic at 25 a unit (baseline 0, so the baseline
    reduction g0 = 0) cuts need by g(x) = 0.2 x / 100 up to 100 units (20% at 100 units, flat
    beyond), lag 0. One unit therefore buys 0.002 of the year's need = 0.2 patients = 20 of ward cost
    in the year it acts in full."""
    e = {"name": "clinic_cuts_need", "service": "clinic", "pathway": "p", "sources": ["need"], "lag": 0,
         "response": [[0, 0], [100, 0.2]]}
    e.update(effect or {})
    svc = {"name": "clinic", "sector": "prevention", "unit_cost": 25, "baseline_activity": 0}
    svc.update(clinic or {})
    h = {"base_year": 2025, "years": 2, "discount_rate": 0.0}
    h.update(horizon or {})
    return {"format_version": 1, "name": "hand", "horizon": h, "budget": {"pooled": 1e6},
            "sectors": ["prevention", "acute"],
            "services": [svc, {"name": "ward", "sector": "acute", "unit_cost": 100, "baseline_activity": 100}],
            "segments": [{"name": "all", "population": 1000}],
            "pathways": [{"name": "p", "nodes": [{"name": "need", "kind": "source", "incidence": 0.1},
                                                 {"name": "admit", "kind": "care", "service": "ward"},
                                                 {"name": "home", "kind": "sink"}],
                          "edges": [{"from": "need", "to": "admit", "share": 1},
                                    {"from": "admit", "to": "home", "share": 1}]}],
            "prevention_effects": [e]}


def activity(result, service, year):
    a = result.allocation
    return float(a[(a["service"] == service) & (a["year"] == year)]["activity"].iloc[0])


def reduction(result, year):
    p = result.prevention
    return float(p[p["year"] == year]["reduction"].iloc[0])


def test_one_year_pulse_is_not_worth_funding():
    """Pulse (today's model): a unit costs 25 and saves 20 of ward cost in the year it acts, nothing
    after: no clinic. Cost = 100 patients x 100 x 2 years = 20,000."""
    r = solve_data(clinic_instance())
    assert r.objective == pytest.approx(20000.0)
    assert activity(r, "clinic", 2026) == pytest.approx(0.0, abs=1e-4)


def test_persistence_funds_prevention_whose_benefit_lasts():
    """persistence 0.5, no ramp: p(0) = 1, p(1) = 0.5, p(2) = 0.25. A unit in 2026 saves 20 in 2026
    and 0.5 x 20 = 10 in 2027: 30 > 25, so 100 units (the curve is flat beyond). A unit in 2027 saves
    only 20 within the horizon: 0 units. Reductions: 2026 = 0.2; 2027 = 0.5 x 0.2 = 0.1. Need 80 and
    90. Cost = 100 x 25 + 80 x 100 + 90 x 100 = 19,500."""
    r = solve_data(clinic_instance({"persistence": 0.5}))
    assert r.objective == pytest.approx(19500.0)
    assert activity(r, "clinic", 2026) == pytest.approx(100.0, rel=1e-6)
    assert activity(r, "clinic", 2027) == pytest.approx(0.0, abs=1e-4)
    assert reduction(r, 2026) == pytest.approx(0.2)
    assert reduction(r, 2027) == pytest.approx(0.1, abs=1e-6)
    assert "terminal_value" not in r.summary


def test_terminal_value_keeps_prevention_in_the_final_year():
    """As above with horizon.terminal_value years 1 (2028). Value per case (computed): one admission
    at 100 = 100. A unit in 2027 now saves 20 in 2027 and, in 2028, 0.5 x 0.002 x 100 cases x 100
    = 10 of terminal value: 30 > 25, so 100 units in 2027 too. Reduction 2027 = 0.2 + 0.5 x 0.2 = 0.3
    (need 70); 2028 = 0.5 x 0.2 + 0.25 x 0.2 = 0.15: 15 cases x 100 = 1,500 of terminal value.
    Discounted cost = 2 x 2,500 + 8,000 + 7,000 = 20,000; objective = 20,000 - 1,500 = 18,500."""
    r = solve_data(clinic_instance({"persistence": 0.5}, {"terminal_value": {"years": 1}}))
    assert activity(r, "clinic", 2027) == pytest.approx(100.0, rel=1e-6)
    assert reduction(r, 2027) == pytest.approx(0.3)
    assert r.summary["discounted_cost"] == pytest.approx(20000.0)
    assert r.summary["terminal_value"] == pytest.approx(1500.0)
    assert r.objective == pytest.approx(18500.0)
    tv = r.terminal_value
    assert tv["year"].tolist() == [2028]
    assert tv["cases_avoided"].iloc[0] == pytest.approx(15.0)
    assert tv["value_per_case"].iloc[0] == pytest.approx(100.0)
    assert reference_solve(clinic_instance({"persistence": 0.5}, {"terminal_value": {"years": 1}})) \
        == ("optimal", pytest.approx(18500.0))


def test_given_value_per_case_and_discounting():
    """terminal_value years 2, value_per_case 40, discount rate 10%, the clinic fixed at 100 units
    (curve 0.2) both years (capacity min = max = 100), persistence 0.5. Reductions after the horizon:
    2028 = 0.5 x 0.2 (2027's cohort) + 0.25 x 0.2 (2026's) = 0.15; 2029 = 0.25 x 0.2 + 0.125 x 0.2
    = 0.075; cases (final-year need 100) 15 and 7.5; discount factors 1.1^-3 and 1.1^-4; value
    40 x (15 / 1.1^3 + 7.5 / 1.1^4) = 655.69...; objective = discounted cost - that."""
    r = solve_data(clinic_instance({"persistence": 0.5, "value_per_case": 40},
                                   {"terminal_value": {"years": 2}, "discount_rate": 0.1},
                                   {"capacity": {"min": 100, "max": 100}}))
    expected = 40 * (15 / 1.1 ** 3 + 7.5 / 1.1 ** 4)
    assert r.summary["terminal_value"] == pytest.approx(expected)
    assert r.objective == pytest.approx(r.summary["discounted_cost"] - expected)
    assert set(r.terminal_value["value_rule"]) == {"given"}


def test_ramp_and_duration_profile():
    """ramp [0.5, 1.0], duration 2, lag 1: p(0) = 0, p(1) = 0.5, p(2) = 1, p(3) = 0 (the effect stops
    2 years after it starts). Four planning years, clinic fixed at 100 units (curve 0.2) in 2026 and
    50 (0.1) from 2027. Reductions: 2026: none (no cohort acts yet: baseline, 0);
    2027 = 0.5 x 0.2 = 0.1; 2028 = 1 x 0.2 + 0.5 x 0.1 = 0.25; 2029 = 1 x 0.1 + 0.5 x 0.1 = 0.15."""
    r = solve_data(clinic_instance({"ramp": [0.5, 1.0], "duration": 2, "lag": 1}, {"years": 4},
                                   {"capacity": {"min": {2026: 100, 2027: 50, 2028: 50, 2029: 50},
                                                 "max": {2026: 100, 2027: 50, 2028: 50, 2029: 50}}}))
    prof = r.prevention_profiles
    assert prof[["years_after", "weight"]].values.tolist() == [[1, 0.5], [2, 1.0]]
    got = [reduction(r, y) for y in (2026, 2027, 2028, 2029)]
    assert got == pytest.approx([0.0, 0.1, 0.25, 0.15])


def test_floor_caps_a_year_without_cutting_the_cohorts():
    """persistence 0.5, floor 0.75 (at most a 25% cut), clinic fixed at 100 units both years: the
    cohorts deliver 0.2 in 2026 and 0.2 + 0.1 = 0.3 in 2027, capped at 0.25 by the floor; both
    cohort responses stay on the curve (0.2). Need 80 and 75; cost = 2 x 2,500 + 8,000 + 7,500 = 20,500."""
    r = solve_data(clinic_instance({"persistence": 0.5, "floor": 0.75}, None,
                                   {"capacity": {"min": 100, "max": 100}}))
    assert reduction(r, 2027) == pytest.approx(0.25)
    assert r.prevention_cohorts["response"].tolist() == pytest.approx([0.2, 0.2])
    p = r.prevention
    assert float(p[p["year"] == 2027]["curve_value"].iloc[0]) == pytest.approx(0.3)
    assert r.objective == pytest.approx(20500.0)


def test_exact_s_shaped_lasting_curve():
    """An S-shaped (convex here) curve [[0, 0], [50, 0.02], [100, 0.2]] is modelled exactly (MIP),
    also for a lasting effect, whatever the objective prefers. Clinic fixed at 50 then 100 units,
    persistence 0.5: cohorts 0.02 and 0.2; reductions 2026 = 0.02, 2027 = 0.2 + 0.5 x 0.02 = 0.21.
    With max_outcome rewarding patients (more admissions is 'better'), the exact curve still holds."""
    d = clinic_instance({"persistence": 0.5, "response": [[0, 0], [50, 0.02], [100, 0.2]]}, None,
                        {"capacity": {"min": {2026: 50, 2027: 100}, "max": {2026: 50, 2027: 100}}})
    d["outcomes"] = [{"name": "admitted", "direction": "higher_is_better", "terms": [{"pathway": "p", "node": "admit"}]}]
    d["objective"] = {"mode": "max_outcome", "weights": {"admitted": 1.0}}
    r = solve_data(d)
    assert r.summary["mixed_integer"]
    assert [reduction(r, 2026), reduction(r, 2027)] == pytest.approx([0.02, 0.21])


def test_explicit_pulse_keeps_the_old_construction():
    """ramp [1.0] and no persistence is the one-year pulse: the same programme, column for column and
    row for row, as no lasting fields at all."""
    a = optimiser.build_lp(optimiser.load_data(clinic_instance({"lag": 1}), file="a"))
    b = optimiser.build_lp(optimiser.load_data(clinic_instance({"lag": 1, "ramp": [1.0]}), file="b"))
    assert list(a.constraints) == list(b.constraints) and list(a.variables) == list(b.variables)
    assert (a.matrix() != b.matrix()).nnz == 0
    assert np.array_equal(a.objective, b.objective)


# --------------------------------------------------------------------------------- attribution
def age_instance(attribution=None, fence=None):
    """Two segments, 40-55 (3,000 people) and 85+ (1,000). NHS health checks (prevention, 10 a check,
    baseline 100) have no pathway; a ward (100 an admission) carries a pathway for the 85+ only
    (need 0.05 x 1,000 = 50 a year) plus 20 admissions a year of non-pathway demand. One year."""
    svc = {"name": "health_checks", "sector": "prevention", "unit_cost": 10, "baseline_activity": 100}
    if attribution is not None:
        svc["attribution"] = attribution
    d = {"format_version": 1, "name": "ages", "horizon": {"base_year": 2025, "years": 1, "discount_rate": 0.0},
         "budget": {"pooled": 1e6}, "sectors": ["prevention", "acute"],
         "services": [svc, {"name": "ward", "sector": "acute", "unit_cost": 100, "baseline_activity": 70,
                            "non_pathway_activity": 20,
                            "attribution": {"shares": {"40-55": 0.25, "85+": 0.75}}}],
         "segments": [{"name": "40-55", "population": 3000}, {"name": "85+", "population": 1000}],
         "pathways": [{"name": "frailty", "segments": ["85+"],
                       "nodes": [{"name": "crisis", "kind": "source", "incidence": 0.05},
                                 {"name": "admit", "kind": "care", "service": "ward"},
                                 {"name": "home", "kind": "sink"}],
                       "edges": [{"from": "crisis", "to": "admit", "share": 1},
                                 {"from": "admit", "to": "home", "share": 1}]}]}
    if fence is not None:
        d["ring_fences"] = [fence]
    return d


PREVENTION_40_55 = {"name": "prevention_40_55", "segments": ["40-55"], "sectors": ["prevention"], "at_least": 1500}


def test_prevention_ring_fence_for_40_55_needs_attribution():
    """Without attribution nothing of prevention is attributable to 40-55: a positive ring fence is
    infeasible (today's behaviour)."""
    r = optimiser.solve(optimiser.load_data(age_instance(fence=PREVENTION_40_55), file="x"))
    assert r.status.value == "infeasible"


def test_prevention_ring_fence_by_population_binds():
    """Health checks attributed by population over both segments: 40-55 has 3,000 / 4,000 = 0.75.
    The ring fence 0.75 x 10 x checks >= 1,500 needs 200 checks (cost 2,000); nothing else wants
    checks, so exactly 200. Ward: 50 pathway + 20 other = 70 admissions, 7,000. Objective 9,000.
    Attributable to 40-55 (every sector): 1,500 of checks + 0.25 x (7,000 - 50 x 100) = 500 of the
    ward's non-pathway spend = 2,000. To 85+: 500 of checks + 5,000 of pathway care + 0.75 x 2,000
    = 7,000. The two add up to all spend (9,000)."""
    r = solve_data(age_instance({"by_population": "all"}, PREVENTION_40_55))
    assert r.objective == pytest.approx(9000.0)
    assert activity(r, "health_checks", 2026) == pytest.approx(200.0)
    a = r.attributable_spend.set_index("scope")
    assert a.loc["ring fence: prevention_40_55", "spend"] == pytest.approx(1500.0)
    assert a.loc["segment: 40-55", "spend"] == pytest.approx(2000.0)
    assert a.loc["segment: 40-55", "attributed_spend"] == pytest.approx(2000.0)
    assert a.loc["segment: 85+", "spend"] == pytest.approx(7000.0)
    assert a.loc["segment: 85+", "attributed_spend"] == pytest.approx(2000.0)
    lim = r.spend_limits
    assert bool(lim["binding"].iloc[0])
    assert reference_solve(age_instance({"by_population": "all"}, PREVENTION_40_55)) == \
        ("optimal", pytest.approx(9000.0))


def test_care_for_the_over_85s_counts_attributed_spend():
    """A cap on care for the 85+ of 6,400: pathway care 5,000 + 0.75 x the ward's other spend
    (20 x 100 = 2,000) = 6,500 > 6,400 with the health checks attributed to 40-55 only (shares):
    infeasible, by 100. Raised to 6,500 it binds exactly."""
    fence = {"name": "care_85", "segments": ["85+"], "at_most": 6400}
    r = optimiser.solve(optimiser.load_data(age_instance({"shares": {"40-55": 1.0}}, fence), file="x"))
    assert r.status.value == "infeasible"
    fence["at_most"] = 6500
    r = solve_data(age_instance({"shares": {"40-55": 1.0}}, fence))
    assert r.spend_limits["spend"].iloc[0] == pytest.approx(6500.0)


# --------------------------------------------------------------------------------- validation
def problems_of(data):
    with pytest.raises(InstanceError) as exc:
        optimiser.load_data(copy.deepcopy(data), file="plan.yaml")
    return [str(p) for p in exc.value.problems]


@pytest.mark.parametrize("change, path, words", [
    (lambda d: d["prevention_effects"][0].update(ramp=[0.5, 0.8]), "ramp", "last fraction of 1"),
    (lambda d: d["prevention_effects"][0].update(ramp=[1.0, 0.5, 1.0]), "ramp", "never fall"),
    (lambda d: d["prevention_effects"][0].update(ramp=[0.5, 1.0], duration=1), "duration", "ramp years"),
    (lambda d: d["prevention_effects"][0].update(value_per_case=10), "value_per_case", "terminal_value"),
    (lambda d: d["prevention_effects"][0].update(persistence=1.5), "persistence", ""),
    (lambda d: d["services"][0].update(attribution={"shares": {"all": 0.7}}), "attribution.shares", "sum"),
    (lambda d: d["services"][0].update(attribution={"shares": {"nobody": 1.0}}), "attribution.shares", "segments"),
    (lambda d: d["services"][0].update(attribution={"by_population": []}), "by_population", "at least one"),
    (lambda d: d["services"][0].update(attribution={}), "attribution", "exactly one"),
    (lambda d: d["horizon"].update(terminal_value={"years": 0}), "terminal_value.years", ""),
])
def test_bad_lasting_and_attribution_fields(change, path, words):
    d = clinic_instance()
    change(d)
    found = [p for p in problems_of(d) if path in p]
    assert found, problems_of(d)
    assert words in found[0] and "plan.yaml" in found[0]


# --------------------------------------------------------------------------------- cross-check
SEEDS = range(30)


@functools.lru_cache(maxsize=None)
def _solved(seed: int):
    data = random_lasting_instance(seed)
    return data, solve_ours(data, f"lasting-{seed}"), reference_solve(copy.deepcopy(data))


@pytest.mark.parametrize("seed", cases(SEEDS))
def test_lasting_agrees_with_the_reference_and_its_plan_verifies(seed):
    """The same status and objective as the independent reference; and, where there is a plan, the
    verifier finds nothing wrong with it (one test per seed, so no seed skips)."""
    data, result, (status, objective) = _solved(seed)
    assert_agrees_and_verifies(f"seed {seed}", data, result, status, objective)


@pytest.mark.slow
def test_lasting_seeds_cover_the_features():
    """The random family exercises every new field on optimal plans."""
    seen = {"terminal_value": 0, "ramp": 0, "persistence": 0, "duration": 0, "ring fence": 0, "exact": 0}
    for seed in SEEDS:
        data, _, (status, _) = _solved(seed)
        if status != "optimal":
            continue
        effects = data["prevention_effects"]
        seen["terminal_value"] += "terminal_value" in data["horizon"]
        seen["ramp"] += any(len(e.get("ramp") or []) > 1 for e in effects)
        seen["persistence"] += any(e.get("persistence") for e in effects)
        seen["duration"] += any(e.get("duration") for e in effects)
        seen["ring fence"] += bool(data.get("ring_fences"))
        seen["exact"] += any(not is_concave(e["response"]) for e in effects)
    assert all(v > 0 for v in seen.values()), seen


def test_shipped_example_keeps_prevention_to_the_end_with_a_terminal_value(root):
    """instances/tiny/lasting_effects.yaml: with the terminal value the plan grows health checks
    through 2029 and keeps more than the ring-fenced 26,000 in 2030; without it (benefits after 2030
    not counted) checks stay at the ring fence every year, which then binds. Both plans verify,
    and the protected budget for the over-85s (their pathway care plus 70% of other admissions)
    binds every year."""
    inst = optimiser.load(root / "instances" / "tiny" / "lasting_effects.yaml")
    with_tv = optimiser.solve(inst)
    without = optimiser.solve(inst.with_overrides({"horizon.terminal_value": None}))
    assert with_tv.verify().ok and without.verify().ok
    checks = lambda r: r.allocation[r.allocation["service"] == "health_checks"]["activity"].to_numpy()  # noqa: E731
    assert checks(with_tv)[-1] > 26000 * 1.2 and checks(with_tv)[-2] > 26000 * 2
    assert checks(without) == pytest.approx([26000.0] * 5, rel=1e-5)
    assert with_tv.summary["terminal_value"] > 0
    fences = without.spend_limits
    assert fences[fences["name"] == "prevention for 40-55 year olds"]["binding"].iloc[-3:].all()
    assert with_tv.spend_limits[with_tv.spend_limits["name"] == "care for the over-85s"]["binding"].all()


def test_terminal_value_needs_a_pathway_a_case_can_leave():
    """Valued at its care cost, a case must end: A -> B fixed 1, B -> A at least 1 of [1, 1] and
    B -> home [0, 0.5] puts every edge at its minimum (lambda = 0), so nobody leaves the loop. The
    error names the pathway's edges and the way out (a value_per_case)."""
    d = clinic_instance(horizon={"terminal_value": {"years": 1}})
    d["services"].append({"name": "rehab", "sector": "acute", "unit_cost": 10, "baseline_activity": 0})
    d["pathways"][0]["nodes"].append({"name": "rehab_visit", "kind": "care", "service": "rehab"})
    d["pathways"][0]["edges"] = [{"from": "need", "to": "admit", "share": 1},
                                 {"from": "admit", "to": "rehab_visit", "share": 1},
                                 {"from": "rehab_visit", "to": "admit", "share": [1, 1]},
                                 {"from": "rehab_visit", "to": "home", "share": [0, 0.5]}]
    found = [p for p in problems_of(d) if "pathways[0] (p).edges" in p]
    assert found and "value_per_case" in found[0]
    d["prevention_effects"][0]["value_per_case"] = 100
    optimiser.load_data(copy.deepcopy(d), file="plan.yaml")


def test_attribution_with_places_counts_no_money_twice():
    """Places A (segment a, 1,000 people) and B (segment b, 3,000). A shared helpline (10 a call, 100
    calls of non-pathway demand: 1,000) attributed by population: a 250, b 750. A clinic located in
    A (10 a visit, 50 visits: 500) attributed half and half. Place A counts its own clinic whole (500)
    and a's share of the helpline (250): 750; place B counts b's share of the helpline (750) and none
    of A's clinic (located elsewhere): 750; together all 1,500 of spend. The segments (not places)
    count the clinic's shares too: a = 250 + 250 = 500, b = 750 + 250 = 1,000."""
    d = {"format_version": 1, "name": "places", "horizon": {"base_year": 2025, "years": 1, "discount_rate": 0.0},
         "budget": {"pooled": 1e6}, "sectors": ["community"],
         "places": [{"name": "A"}, {"name": "B"}],
         "services": [{"name": "helpline", "sector": "community", "unit_cost": 10, "baseline_activity": 100,
                       "non_pathway_activity": 100, "attribution": {"by_population": "all"}},
                      {"name": "clinic_A", "sector": "community", "unit_cost": 10, "baseline_activity": 50,
                       "non_pathway_activity": 50, "place": "A",
                       "attribution": {"shares": {"a": 0.5, "b": 0.5}}}],
         "segments": [{"name": "a", "population": 1000, "place": "A"},
                      {"name": "b", "population": 3000, "place": "B"}],
         "equity": [{"name": "fair", "measure": "spend_per_head", "max_ratio": 4}]}
    r = solve_data(d)
    a = r.attributable_spend.set_index("scope")["spend"]
    assert [a["place: A"], a["place: B"], a["segment: a"], a["segment: b"]] == pytest.approx([750, 750, 500, 1000])
    assert reference_solve(copy.deepcopy(d)) == ("optimal", pytest.approx(1500.0))
