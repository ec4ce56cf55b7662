"""Places, ring fences, capitation and equity, against figures worked out by hand.

instances/tiny/two_places.yaml: one year, no discounting. East has 100 patients, west 200; each
goes to its place's clinic (east 2,000, west 2,500) or to the shared ward (1,000), with between 20%
and 60% at the clinic. Sending one more patient to the clinic costs 1,000 more in east and 1,500
more in west. At least cost: east 20 clinic + 80 ward = 120,000, west 40 + 160 = 260,000; 380,000.
Attributable spend per place = its own clinic + its people's ward use; per head over 1,000 people.
"""

from __future__ import annotations

import copy

import pytest

import optimiser
from optimiser.input.reading import read_yaml

from .conftest import ROOT

TINY = ROOT / "instances" / "tiny" / "two_places.yaml"


def solve(**sections):
    data = read_yaml(TINY)
    data.update(copy.deepcopy(sections))
    r = optimiser.solve(optimiser.load_data(data, file="two_places.yaml"))
    if r.has_plan:
        check = r.verify()
        assert check.ok, str(check)
    return r


def clinic(r, place):
    return float(r.allocation.set_index("service").loc[f"clinic_{place}", "activity"])


def test_least_cost_plan_by_place():
    r = solve()
    assert r.objective == pytest.approx(380_000)
    a = r.attributable_spend.set_index("scope")
    assert a.loc["place: east", "spend_per_head"] == pytest.approx(120)
    assert a.loc["place: west", "spend_per_head"] == pytest.approx(260)
    assert a.loc["segment: west_adults", "spend"] == pytest.approx(260_000)
    o = r.place_outcomes.set_index("place")
    assert o.loc["east", "per_1000"] == pytest.approx(80) and o.loc["west", "per_1000"] == pytest.approx(160)


def test_ring_fence_at_most_on_west_acute_care():
    # west's ward use at most 140,000: at most 140 admissions, so 60 at the clinic (+20 x 1,500)
    r = solve(ring_fences=[{"name": "west_acute", "segments": ["west_adults"], "sectors": ["acute"],
                            "at_most": 140_000}])
    assert r.objective == pytest.approx(410_000)
    assert clinic(r, "west") == pytest.approx(60)
    lim = r.spend_limits.iloc[0]
    assert lim["spend"] == pytest.approx(140_000) and bool(lim["binding"])


def test_ring_fence_at_least_on_east_community_care():
    # east's clinic use at least 60,000: 30 visits (+10 x 1,000)
    r = solve(ring_fences=[{"name": "east_community", "segments": ["east_adults"], "sectors": ["community"],
                            "at_least": 60_000}])
    assert r.objective == pytest.approx(390_000)
    assert clinic(r, "east") == pytest.approx(30)


def test_capitation_moves_the_admissions_cut_to_the_dearer_place():
    target = [{"outcome": "admissions", "years": "all", "at_most": 200}]
    # 40 fewer admissions: cheapest all in east (+40,000) = 420,000
    assert solve(targets=target).objective == pytest.approx(420_000)
    # east capped at 130 a head = 130,000: only 10 in east (+10,000), 30 in west (+45,000)
    r = solve(targets=target, capitation=[{"name": "east_cap", "segments": ["east_adults"], "per_head": 130}])
    assert r.objective == pytest.approx(435_000)
    assert clinic(r, "east") == pytest.approx(30) and clinic(r, "west") == pytest.approx(70)
    lim = r.spend_limits.set_index("scope").loc["capitation: east_cap"]
    assert lim["at_most"] == pytest.approx(130_000) and lim["spend"] == pytest.approx(130_000)


def test_capitation_by_place():
    both = ["east_adults", "west_adults"]
    r = solve(capitation=[{"name": "adults", "segments": both, "per_head": 310, "by_place": True}])
    caps = r.spend_limits.set_index("place")["at_most"]
    assert caps.to_dict() == {"east": pytest.approx(310_000), "west": pytest.approx(310_000)}
    assert r.objective == pytest.approx(380_000)
    # 130 a head cannot pay for west's 260 a head at least cost: no plan
    tight = solve(capitation=[{"name": "adults", "segments": both, "per_head": 130, "by_place": True}])
    assert tight.status == optimiser.Status.INFEASIBLE


@pytest.mark.parametrize("rule, cost", [
    ({"measure": "spend_per_head", "max_ratio": 2}, 390_000),       # east up to 130 a head
    ({"measure": "spend_per_head", "max_gap": 100}, 420_000),       # east up to 160 a head
    ({"measure": "outcome_rate", "outcome": "admissions", "max_gap": 60}, 410_000),     # west down to 140
    ({"measure": "outcome_rate", "outcome": "admissions", "max_ratio": 1.5}, 440_000),  # west down to 120
])
def test_equity_rules(rule, cost):
    r = solve(equity=[{"name": "fair", **rule}])
    assert r.objective == pytest.approx(cost)
    s = r.equity_summary.iloc[0]
    assert bool(s["met"])


def test_verifier_catches_an_equity_breach_in_the_tables():
    r = solve(equity=[{"name": "fair", "measure": "spend_per_head", "max_ratio": 2}])
    t = {k: v.copy() for k, v in r.tables.items()}
    # shift 20,000 of east's clinic spend away: east falls to 110 a head, 260/110 > 2
    al = t["allocation"]
    row = al["service"] == "clinic_east"
    al.loc[row, "activity"] -= 10
    al.loc[row, "spend"] -= 20_000
    t["equity"].loc[t["equity"]["place"] == "east", "value"] -= 20
    check = optimiser.verify_tables(t, r.summary)
    assert not check.ok
    assert {"equity ratio", "attributable spend"} <= {v.check for v in check.violations}


def test_bad_places_and_scopes_name_the_field():
    data = read_yaml(TINY)
    data["segments"][0]["place"] = "north"
    data["ring_fences"] = [{"name": "rf", "segments": ["nobody"]}]
    data["capitation"] = [{"name": "cap", "services": ["ward"], "per_head": 10, "by_place": True}]
    data["equity"] = [{"name": "eq", "measure": "outcome_rate", "max_ratio": 1.2}]
    with pytest.raises(optimiser.InstanceError) as exc:
        optimiser.load_data(data, file="places.yaml")
    text = str(exc.value)
    for expected in ("segments[0] (east_adults).place", "'north'", "ring_fences[0] (rf).segments", "'nobody'",
                     "at least one of 'at_least' or 'at_most'", "capitation[0] (cap)",
                     "segments or places whose population", "services with a place", "equity[0] (eq).outcome",
                     "places (east)"):
        assert expected in text, expected


def test_equity_needs_people_in_every_compared_place():
    data = read_yaml(TINY)
    data["segments"][1]["population"] = 0
    data["equity"] = [{"name": "fair", "measure": "spend_per_head", "max_ratio": 2}]
    with pytest.raises(optimiser.InstanceError, match=r"equity\[0\] \(fair\).places: expected places with people.*"
                                                      r"no population in 'west' in \[2026\]"):
        optimiser.load_data(data, file="two_places.yaml")


@pytest.mark.slow
def test_pyomo_model_carries_the_new_families_and_agrees():
    data = read_yaml(TINY)
    data["equity"] = [{"name": "fair", "measure": "outcome_rate", "outcome": "admissions", "max_ratio": 1.5}]
    data["ring_fences"] = [{"name": "west_acute", "segments": ["west_adults"], "sectors": ["acute"], "at_most": 150_000}]
    data["capitation"] = [{"name": "east_cap", "segments": ["east_adults"], "per_head": 500}]
    inst = optimiser.load_data(data)
    model = optimiser.build_model(inst)
    for name in ("equity_upper", "equity_lower", "equity_ratio", "ring_fence", "capitation", "equity_highest"):
        assert hasattr(model, name), name
    fast, pyomo = optimiser.solve(inst), optimiser.solve(inst, backend="pyomo")
    assert fast.objective == pytest.approx(440_000) and pyomo.objective == pytest.approx(440_000)
    assert pyomo.verify().ok


def test_places_spends_add_up_when_one_place_uses_anothers_service():
    """West's patients use east's clinic: that spend is east's (its own service, counted whole),
    not west's too. Least cost: east 20 clinic (40,000) + 80 ward; west 40 at east's clinic (80,000)
    + 160 ward. East = 40,000 + 80,000 + 80,000 = 200,000; west = its people's ward use 160,000."""
    data = read_yaml(TINY)
    data["pathways"][1]["nodes"][1]["service"] = "clinic_east"
    r = optimiser.solve(optimiser.load_data(data))
    a = r.attributable_spend.set_index("scope")["spend"]
    assert a["place: east"] == pytest.approx(200_000) and a["place: west"] == pytest.approx(160_000)
    assert a["place: east"] + a["place: west"] == pytest.approx(r.allocation["spend"].sum())
    assert r.verify().ok


def test_more_bad_rules_are_caught():
    data = read_yaml(TINY)
    data["equity"] = [{"name": "dup", "measure": "spend_per_head", "places": ["east", "west", "east"], "max_ratio": 2}]
    data["capitation"] = [{"name": "cap", "segments": ["east_adults"], "services": ["clinic_west"], "per_head": 500,
                           "by_place": True}]
    data["outcomes"].append({"name": "good", "terms": [{"pathway": "crisis_east", "node": "home", "weight": -1}]})
    data["equity"].append({"name": "neg", "measure": "outcome_rate", "outcome": "good", "max_ratio": 1.2})
    with pytest.raises(optimiser.InstanceError) as exc:
        optimiser.load_data(data, file="rules.yaml")
    text = str(exc.value)
    assert "equity[0] (dup).places: expected each place named once; found ['east'] more than once" in text
    assert "capitation[0] (cap).services" in text and "['clinic_west'] in places with none of them" in text
    assert "equity[1] (neg).max_ratio" in text and "negative weights" in text


def test_a_ring_fence_for_some_years_needs_amounts_only_for_those():
    # two years, no discounting: 380,000 in 2026; at least 60,000 of east's community care in 2027
    # only (30 clinic visits, +10,000): 390,000 in 2027
    r = solve(horizon={"base_year": 2025, "years": 2, "discount_rate": 0.0},
              ring_fences=[{"name": "east_community", "segments": ["east_adults"], "sectors": ["community"],
                            "at_least": {2027: 60_000}, "years": [2027]}])
    assert r.objective == pytest.approx(770_000)
    assert list(r.spend_limits["year"]) == [2027]


@pytest.mark.parametrize("tamper, check", [
    (lambda t: t["attributable_spend"].__setitem__("spend", float("nan")), "attributable spend"),
    (lambda t: t.pop("equity_summary"), "tables present"),
    (lambda t: t.pop("equity"), "tables present"),
    (lambda t: t["population"].__setitem__("place", None), "equity measure"),
])
def test_verifier_does_not_pass_missing_figures(tamper, check):
    r = solve(equity=[{"name": "fair", "measure": "spend_per_head", "max_ratio": 3}])
    t = {k: v.copy() for k, v in r.tables.items()}
    tamper(t)
    out = optimiser.verify_tables(t, r.summary)
    assert not out.ok and check in {v.check for v in out.violations}, str(out)


def test_attributable_spend_terms_price_a_ring_fence_at_the_unit_cost_of_its_segment_use():
    # west's acute spend, by hand: the ward's 1,000 per admission of a west patient (one term per
    # flow into it); with the ward at 1,500 the same terms cost 1,500
    from formulations.ring_fences import attributable_spend_terms
    from optimiser.solving.highs import build_lp

    data = read_yaml(TINY)
    data["ring_fences"] = [{"name": "west_acute", "segments": ["west_adults"], "sectors": ["acute"],
                            "at_most": 140_000}]
    inst = optimiser.load_data(copy.deepcopy(data), file="two_places.yaml")
    lp = build_lp(inst)
    scope = inst.spend_limits["scope"].iloc[0]
    first = attributable_spend_terms(lp, inst, [scope])
    assert len(first) and first["coef"].tolist() == [pytest.approx(1_000.0)] * len(first)
    ward = next(s for s in data["services"] if s["name"] == "ward")
    ward["unit_cost"] = 1_500
    dearer = optimiser.load_data(data, file="two_places.yaml")
    assert attributable_spend_terms(build_lp(dearer), dearer, [scope])["coef"].tolist() == \
        [pytest.approx(1_500.0)] * len(first)
