"""Explaining plans: binding constraints in plain words and, for infeasible instances, the
smallest relaxation (worked out by hand in each docstring) and the conflicting constraints."""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner

import optimiser
from optimiser import Status
from optimiser.cli.main import EXIT_INVALID, EXIT_OK, EXIT_USAGE, main
from optimiser.analyses.explain import explain

from .conftest import ROOT, base_instance, solve_data
from .test_formulation import shift_instance, two_services

TINY = str(ROOT / "instances" / "tiny" / "two_services.yaml")
KENT = str(ROOT / "instances" / "kent.yaml")


def explain_data(data, **kwargs):
    return explain(optimiser.load_data(copy.deepcopy(data), file="test.yaml"), **kwargs)


def rows(ex, scope, **match):
    r = ex.relaxation[ex.relaxation["scope"] == scope]
    for k, v in match.items():
        r = r[r[k] == v]
    return r


def test_optimal_plan_lists_binding_constraints_in_planner_words():
    """two_services(1500, 1000, target 100): the target binds (dual -500 per admission, see
    test_duals); the clinic's 60% edge share does not."""
    ex = explain_data(two_services(1500, 1000, target=100))
    assert ex.status is Status.OPTIMAL
    assert list(ex.binding["constraint"]) == ["outcome_target"]
    text = "\n".join(ex.lines())
    assert "the 2026 admissions target (at most 100 admissions) binds: each admission fewer costs £500" in text
    assert ex.relaxation.empty and ex.conflict.empty
    doc = ex.to_dict()
    assert doc["status"] == "optimal" and doc["shadow_prices"][0]["marginal"] == pytest.approx(-500)


def test_target_below_what_the_edge_share_allows_must_rise_by_one():
    """200 patients, at least 40% admitted (80); a target of at most 79 in each of 2 years must
    rise by 1 (1/79 = 1.27%) in each year. No other family can help (no budget, capacity, shift
    or stability bound is involved), and the conflict is: need 200, clinic at most 60%, target 79."""
    data = two_services(100, 1000, target=79)
    data["horizon"]["years"] = 2
    ex = explain_data(data)
    assert ex.status is Status.INFEASIBLE
    together = rows(ex, "together")
    assert list(together["year"]) == [2026, 2027]
    assert list(together["family"]) == ["targets", "targets"]
    assert together["change"].tolist() == pytest.approx([1.0, 1.0], rel=1e-6)
    assert together["relaxed_bound"].tolist() == pytest.approx([80.0, 80.0], rel=1e-6)
    assert together["relative"].iloc[0] == pytest.approx(1 / 79, rel=1e-6)
    assert together["words"].iloc[0] == \
        "the 2026 admissions target must rise by 1 admission (1.3%), from at most 79 to 80"
    assert ex.summary["relaxation_alone"]["budget"] == "impossible"
    assert set(ex.relaxation["scope"]) == {"together", "targets alone"}
    c = ex.conflict
    assert set(c["constraint"]) == {"outcome_target", "source_incidence", "edge_share_max"}
    assert c["year"].nunique() == 1
    words = " ".join(c["words"])
    assert "admissions target (at most 79" in words and "at most 60% of patients at need go to clinic_visit" in words
    assert "[" not in words and "=" not in words  # planner terms, never model indices
    # the relaxed target has a plan; anything tighter has none
    assert solve_data(two_services(100, 1000, target=80)).status is Status.OPTIMAL
    assert solve_data(two_services(100, 1000, target=79.99)).status is Status.INFEASIBLE


def test_budget_too_small_by_a_known_amount():
    """Acute demand is 900 at 1 a unit; a budget of 850 must rise by 50 (50/850 = 5.9%)."""
    data = base_instance(budget={"pooled": 850}, services=[
        {"name": "prev", "sector": "prevention", "unit_cost": 1, "baseline_activity": 100},
        {"name": "acute", "sector": "acute", "unit_cost": 1, "baseline_activity": 900,
         "non_pathway_activity": 900}])
    ex = explain_data(data)
    r = rows(ex, "together")
    assert list(r["family"]) == ["budget"]
    assert r["change"].iloc[0] == pytest.approx(50, rel=1e-7)
    assert "the 2026 pooled budget must rise by £50.00 (5.9%), from £850 to £900" in r["words"].iloc[0]
    assert ex.summary["relaxed_plan_objective"] == pytest.approx(900)
    held = explain_data(data, weights={"budget": "off"}, conflict=False)
    assert held.summary["relaxation_status"] == "impossible"
    assert "No plan exists even when" in held.summary["relaxation_summary"][0]


SHIFT_2026 = 0.125 - 120 / 1020   # 20% growth: at most 120 units of prevention against 900 acute
SHIFT_2027 = 0.15 - 144 / 1044


def test_shift_blocked_by_a_growth_limit():
    """Prevention (base 100) may grow 20% a year: at most 120 then 144, against 900 of fixed acute
    spend; the rule asks 12.5% then 15% (base 10%, +5 points over 2 years).

    * shift alone: the required share must fall to 120/1020 and 144/1044, i.e. by
      12.5% - 11.76% = 0.74 and 15% - 13.79% = 1.21 points;
    * stability alone: 2026 growth must allow x with 1.2 x = 900 x 0.15/0.85 = 158.82 in 2027,
      x = 132.35: 12.35 units more (a 32.4% limit instead of 20%); 2027 needs nothing more;
    * largest increase with a plan: 2026 binds first: 10% + pp/200 <= 120/1020: pp = 3.529;
    * together, with weights of 1 per relative change (growth scale 120, share scale 125 and 150):
      per unit of 2026 activity above 120 the growth slack costs 1/120 while the 2027 share slack
      saves 1.02/150 < 1/120, and below 128.57 the 2026 share slack costs 0.875/125 more: so 2026
      activity is 128.57 (+8.57 units of growth) and the 2027 share falls to 1.2 x 128.57 /
      (900 + 1.2 x 128.57) = 14.63%."""
    ex = explain_data(shift_instance(max_growth=0.2))
    assert ex.status is Status.INFEASIBLE
    shift = rows(ex, "shift alone")
    assert (-shift["change"] / 100).tolist() == pytest.approx([SHIFT_2026, SHIFT_2027], rel=1e-6)
    stab = rows(ex, "stability alone")
    assert list(stab["year"]) == [2026]
    assert stab["relaxed_bound"].iloc[0] == pytest.approx(100 * (900 * 0.15 / 0.85 / 1.2 / 100 - 1), rel=1e-6)
    best = rows(ex, "shift policy alone")
    assert best["relaxed_bound"].iloc[0] == pytest.approx(200 * (120 / 1020 - 0.1), abs=2e-4)
    together = rows(ex, "together").set_index("constraint")
    assert together.loc["growth_limit", "relaxed_bound"] == pytest.approx(100 * (900 * 0.125 / 0.875 / 100 - 1),
                                                                          rel=1e-6)
    p26 = 900 * 0.125 / 0.875
    assert together.loc["shift_share", "relaxed_bound"] == pytest.approx(100 * 1.2 * p26 / (900 + 1.2 * p26),
                                                                         rel=1e-6)
    assert set(ex.conflict["constraint"]) == {"shift_share", "growth_limit", "activity_covers_flows"}
    # weights steer the choice: make stability dear and only the rule moves
    dear = explain_data(shift_instance(max_growth=0.2), weights={"stability": 10}, alone=False, conflict=False)
    assert set(rows(dear, "together")["family"]) == {"shift"}


def test_capacity_or_target_whichever_is_relatively_smaller():
    """Need 200, at least 40% admitted; at most 90 admitted means the clinic must see 110 but
    holds 100. Capacity +10 (10% of 100) or target +10 (11.1% of 90): with equal weights the
    capacity moves; alone, each does."""
    data = two_services(100, 1000, target=90)
    data["services"][0]["capacity"] = {"max": 100}
    ex = explain_data(data)
    t = rows(ex, "together")
    assert list(t["family"]) == ["capacity"] and t["change"].iloc[0] == pytest.approx(10, rel=1e-6)
    assert "the 2026 capacity of clinic must rise by 10 (10.0%), from 100 to 110" in t["words"].iloc[0]
    assert rows(ex, "targets alone")["change"].iloc[0] == pytest.approx(10, rel=1e-6)
    assert "clinic capacity: at most 100" in " ".join(ex.conflict["words"])


def test_unknown_relaxation_family_is_an_error():
    with pytest.raises(ValueError, match="unknown relaxation family 'money'"):
        explain_data(two_services(100, 1000, target=79), weights={"money": 1})


@pytest.fixture(scope="module")
def kent_tight():
    """Kent with the 2028 admissions target cut from 26,400 to 25,000."""
    return explain(optimiser.load(KENT, overrides={"targets[2].at_most": 25_000}))


@pytest.mark.slow
def test_kent_tightened_target_relaxation_is_minimal(kent_tight):
    """The smallest relaxation lifts the 2028 target alone (by about 618 admissions, 2.5%), to the
    fewest 2028 admissions any plan reaches: the same 25,618.5 that maximising the outcome finds
    (an independent route); the relaxed value has a plan and 5 admissions less has none."""
    ex = kent_tight
    t = rows(ex, "together")
    assert list(t["constraint"]) == ["outcome_target"] and list(t["year"]) == [2028]
    relaxed = float(t["relaxed_bound"].iloc[0])
    assert 25_000 < relaxed < 26_400
    inst = optimiser.load(KENT)
    best = optimiser.solve(inst.with_overrides({"objective": {"mode": "max_outcome",
                                                              "weights": {"emergency_admissions": 1.0}}}))
    o = best.outcomes.set_index(["outcome", "year"])["value"]
    assert relaxed == pytest.approx(o["emergency_admissions", 2028], rel=1e-6)
    assert optimiser.solve(inst.with_overrides({"targets[2].at_most": relaxed + 0.01})).status is Status.OPTIMAL
    assert optimiser.solve(inst.with_overrides({"targets[2].at_most": relaxed - 5})).status is Status.INFEASIBLE
    c = ex.conflict
    # HiGHS's conflict set of the continuous relaxation (Kent is a MIP: ward steps); irreducible
    # ("IIS") or not depends on how far HiGHS's reduction gets within its time limit
    assert ex.summary["conflict_source"].startswith(("HiGHS IIS", "HiGHS infeasible subset"))
    assert ex.summary["conflict_source"].endswith("of the continuous relaxation")
    assert ((c["constraint"] == "outcome_target") & (c["year"] == 2028)).any()
    assert not c["words"].str.contains(r"\[|=").any()


def test_cli_explains_an_optimal_plan():
    r = CliRunner().invoke(main, ["explain", TINY, "--set", "targets[0].at_most=100",
                                  "--set", "services[clinic].unit_cost=1500", "--set", "services[ward].unit_cost=1000"])
    assert r.exit_code == EXIT_OK, r.output
    assert "each admission fewer costs £500" in r.output


def test_cli_explains_an_infeasible_plan_with_exit_0_and_json():
    r = CliRunner().invoke(main, ["explain", TINY, "--set", "targets[0].at_most=79"])
    assert r.exit_code == EXIT_OK, r.output
    assert "must rise by 1 admission" in r.output and "Conflicting constraints" in r.output
    r = CliRunner().invoke(main, ["explain", TINY, "--set", "targets[0].at_most=79", "--json",
                                  "--weight", "capacity=off", "--no-conflict"])
    assert r.exit_code == EXIT_OK
    doc = json.loads(r.stdout)
    assert doc["status"] == "infeasible" and doc["weights"]["capacity"] is None
    assert doc["relaxation"][0]["change"] == pytest.approx(1.0) and doc["conflict"] == []


def test_cli_bad_input_exit_codes():
    r = CliRunner().invoke(main, ["explain", TINY, "--set", "horizon.typo=1"])
    assert r.exit_code == EXIT_INVALID and "horizon.typo" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(main, ["explain", TINY, "--weight", "budget=-1"])
    assert r.exit_code == EXIT_USAGE and "--weight" in r.output
