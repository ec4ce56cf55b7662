"""The default instance, instances/kent.yaml, checked against figures worked out independently of
the model: its scope totals, its base-year consistency, that no service can pad the share rule,
that its plan agrees with the independent reference formulation, and that the documented
infeasible scenarios are infeasible by the amounts docs/kent-instance.md states.

The base-year pathway use is recomputed here by plain propagation (a linear solve per pathway at
the base-year edge shares), sharing no code with ``optimiser`` or ``formulations``.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

import optimiser
from optimiser import Status

from .reference_mip import reference_solve

ROOT = Path(__file__).resolve().parents[1]
KENT = ROOT / "instances" / "kent.yaml"

# base-year shares of the edges written as [min, max] (the comments beside them in kent.yaml)
BASE_SHARES = {
    "falls_frailty": {("urgent_call", "rapid_response"): 0.20, ("urgent_call", "ae_frailty"): 0.70,
                      ("ae_frailty", "frailty_admission"): 0.45, ("ae_frailty", "frailty_virtual_ward"): 0.0},
    "copd": {("copd_exacerbation", "copd_ae"): 0.33, ("copd_exacerbation", "community_resp_team"): 0.07,
             ("copd_ae", "copd_admission"): 0.70, ("copd_ae", "copd_virtual_ward"): 0.0,
             ("copd_admission", "copd_nurse_follow_up"): 0.69,
             ("copd_admission", "pulmonary_rehab_course"): 0.10},
}


@pytest.fixture(scope="module")
def raw():
    data = yaml.safe_load(KENT.read_text(encoding="utf-8"))
    data.pop("scenarios")
    data.pop("uncertainty")
    return data


def _number(v):
    return float(v["value"]) if isinstance(v, dict) else float(v)


def base_pathway_use(data) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Activity per service the pathways use in the base year, and patients per node: arrivals
    a = need + S a at each node, with S[to, from] the base-year share, solved as (I - S) a = need."""
    pop = {s["name"]: _number(s["population"]) for s in data["segments"]}
    use: dict[str, float] = {}
    nodes_out = {}
    for p in data["pathways"]:
        names = [n["name"] for n in p["nodes"]]
        k = {n: i for i, n in enumerate(names)}
        m = np.eye(len(names))
        for e in p["edges"]:
            share = e["share"]
            if isinstance(share, list):
                share = BASE_SHARES[p["name"]][(e["from"], e["to"])]
            m[k[e["to"]], k[e["from"]]] -= share
        need = np.zeros(len(names))
        segs = p.get("segments") or list(pop)
        for n in p["nodes"]:
            if n["kind"] == "source":
                need[k[n["name"]]] = sum(n["incidence"].get(s, 0.0) * pop[s] for s in segs)
        arrivals = np.linalg.solve(m, need)
        nodes_out[p["name"]] = dict(zip(names, arrivals))
        for n in p["nodes"]:
            if n["kind"] == "care":
                use[n["service"]] = use.get(n["service"], 0.0) + arrivals[k[n["name"]]] * n.get("units_per_patient", 1)
    return use, nodes_out


def test_base_year_shares_sum_to_one(raw):
    """Every non-sink node's base-year shares (fixed, or the stated base value of a range) sum to 1."""
    for p in raw["pathways"]:
        for n in p["nodes"]:
            if n["kind"] == "sink":
                continue
            total = sum(BASE_SHARES[p["name"]][(e["from"], e["to"])] if isinstance(e["share"], list) else e["share"]
                        for e in p["edges"] if e["from"] == n["name"])
            assert total == pytest.approx(1.0), (p["name"], n["name"])


def test_non_pathway_activity_is_baseline_less_base_year_pathway_use(raw):
    """For each service on a pathway: baseline - base-year pathway use = the written non-pathway
    value, to the rounding used in the file (at most 50 units, or 0.01% of the baseline).
    E.g. emergency admissions: 6,875 fracture + 9,200 frailty + 7,770 CVD + 6,630 COPD = 30,475
    on the pathways, so 200,000 - 30,475 = 169,525 (written 169,520)."""
    use, nodes = base_pathway_use(raw)
    assert nodes["falls_frailty"]["fall"] == pytest.approx(0.30 * 352_000 + 0.55 * 58_000)  # 137,500 falls
    assert use["emergency_admission"] == pytest.approx(6_875 + 9_200 + 7_770 + 6_630, abs=1.0)
    services = {s["name"]: s for s in raw["services"]}
    for name, used in use.items():
        s = services[name]
        written = _number(s["non_pathway_activity"])
        assert abs(s["baseline_activity"] - used - written) <= max(50.0, 1e-4 * s["baseline_activity"]), name


def test_scope_totals_match_the_cited_budgets(raw):
    """Base-year spend (baseline x 2025/26 unit cost) by holder: the ICB's services ~£4.22bn (its
    ~£4.4bn 2025/26 allocation less the Better Care Fund transfer and running costs; £4.2bn in
    2024/25 as cited), adult social care ~£1.04bn, public health £110m (Kent £91.3m cited plus
    Medway ~£19m); each holder's budget is that spend plus about 1% headroom."""
    spend = {s["name"]: s["baseline_activity"] * _number(s["unit_cost"]) for s in raw["services"]}
    sector = {s["name"]: s["sector"] for s in raw["services"]}
    holders = {h["name"]: h for h in raw["budget"]["holders"]}
    held = {}
    for name in spend:
        h = next((h for h in holders.values() if name in (h.get("services") or [])), None) or \
            next(h for h in holders.values() if sector[name] in (h.get("sectors") or []))
        held[h["name"]] = held.get(h["name"], 0.0) + spend[name]
    assert held["nhs_icb"] == pytest.approx(4.216e9, rel=2e-3)
    assert held["councils_adult_social_care"] == pytest.approx(1.040e9, rel=2e-3)
    assert held["councils_public_health"] == pytest.approx(110.0e6, rel=2e-3)
    for name, total in held.items():
        budget = _number(holders[name]["budget"])
        assert 1.005 < budget / total < 1.02, name
    prevention = sum(v for k, v in spend.items() if sector[k] == "prevention")
    assert prevention / sum(spend.values()) == pytest.approx(0.0248, abs=5e-4)   # 2.5% in the base year
    assert sum(_number(s["population"]) for s in raw["segments"]) == 1_900_000


def test_no_service_can_pad_the_share_rule(raw):
    """Every prevention service either drives a prevention effect or is capped at its committed
    demand (capacity max = non-pathway activity every year), so money cannot be parked in a
    service with no modelled benefit to meet the share rule; every other service is on a pathway
    or is committed demand (min cost never buys more than demand outside prevention)."""
    drivers = {e["service"] for e in raw["prevention_effects"]}
    on_pathway = {n["service"] for p in raw["pathways"] for n in p["nodes"] if n["kind"] == "care"}
    for s in raw["services"]:
        if s["name"] in drivers or s["name"] in on_pathway:
            continue
        if s["sector"] == "prevention":
            assert _number(s["capacity"]["max"]) == _number(s["non_pathway_activity"]), s["name"]
        else:
            assert "committed" in s["description"] and "max_growth" not in s, s["name"]


def test_growth_caps_are_within_what_can_be_delivered(raw):
    """The caps a public-health commissioner would check: stop-smoking at most ~12% of the
    ~165,000 adult smokers a year (not 45%); flu doses at most 85% of the ~410,000 people 65+
    plus 55% of ~260,000 at-risk under-65s; prevention programmes grow at most 30% a year."""
    s = {x["name"]: x for x in raw["services"]}
    assert _number(s["stop_smoking"]["capacity"]["max"]) <= 0.125 * 165_000
    assert _number(s["flu_vaccination"]["capacity"]["max"]) <= 0.85 * 410_000 + 0.55 * 260_000
    for x in raw["services"]:
        if x["sector"] == "prevention" and "max_growth" in x:
            assert x["max_growth"] <= 0.30, x["name"]


def _reference_data(raw):
    """The raw file with the preset effect written as the curve the evidence library makes of it
    (docs/evidence.md: [[0, 0], [full_effect_at, reduction]]), which the reference reads."""
    data = copy.deepcopy(raw)
    for e in data["prevention_effects"]:
        if "preset" in e:
            e["response"] = [[0, 0], [e.pop("full_effect_at"), e.pop("reduction")]]
            e.pop("preset")
    return data


@pytest.fixture(scope="module")
def plan():
    """The default plan, solved once for the tests that read it (a Kent solve is seconds)."""
    return optimiser.solve(optimiser.load(KENT))


def test_default_plan_agrees_with_the_independent_reference(raw, plan):
    """The default plan's objective equals the reference formulation's (tests/reference_mip.py)
    within 1e-6, and the plan verifies from its tables alone."""
    r = plan
    assert r.status is Status.OPTIMAL and r.verify().ok
    status, objective = reference_solve(_reference_data(raw))
    assert status == "optimal"
    assert r.objective == pytest.approx(objective, rel=1e-6)


@pytest.mark.slow  # further Kent solves (scenarios, reference, samples); the quick suite keeps the default plan
def test_largest_shift_is_about_a_fifth_of_a_point(raw):
    """The agreed 5 points has no plan; the largest increase with one is ~0.231 points (explain
    says 0.23; the CLI solves 0.231 and not 0.232), up from ~0.2235 before lasting effects, the
    terminal value and the contract forms were switched on: the programmes' growth limits, not
    the money, bind. The reference agrees on both sides of it: 0.23 has a plan, 0.235 none."""
    data = _reference_data(raw)
    for pp, want in ((0.23, "optimal"), (0.235, "infeasible"), (5.0, "infeasible")):
        d = copy.deepcopy(data)
        d["shift_policies"][0]["increase_pp"] = pp
        assert reference_solve(d)[0] == want, pp
    assert optimiser.solve(optimiser.load(KENT, scenarios=["agreed_5pp"])).status is Status.INFEASIBLE


@pytest.mark.slow  # further Kent solves (scenarios, reference, samples); the quick suite keeps the default plan
def test_acute_cannot_fund_prevention(raw):
    """A transfer out of acute has no plan: acute demand outside the pathways (planned and other
    acute £938m growing 1% a year, non-pathway emergency admissions 169,520 growing 1.2%, ...)
    alone lifts acute spend above its base year every year, so acute cannot fall by the £6m
    (2026) to £30m (2030) the transfer asks. By hand, the 2030 floor of the committed part:
    938,000 x 1.01^5 x £1,000 = £985.9m against £938.0m in the base year (+£47.9m)."""
    inst = optimiser.load(KENT, scenarios=["acute_funds_prevention"])
    assert optimiser.solve(inst).status is Status.INFEASIBLE
    r = optimiser.solve(optimiser.load(KENT))
    a = r.allocation
    acute = a[a["sector"] == "acute"].groupby("year")["spend"].sum()
    base = sum(s["baseline_activity"] * _number(s["unit_cost"]) for s in raw["services"] if s["sector"] == "acute")
    assert base == pytest.approx(2.110e9, rel=2e-3)
    assert (acute > base).all()
    committed = a[(a["service"] == "planned_and_other_acute") & (a["year"] == 2030)]["spend"].iloc[0]
    assert committed == pytest.approx(938_000 * 1.01 ** 5 * 1000, rel=1e-9)


@pytest.mark.slow  # further Kent solves (scenarios, reference, samples); the quick suite keeps the default plan
def test_uncertainty_section_names_numbers_in_the_file():
    """Every path in the uncertainty section is a number of the file, so `budgetshift uncertainty
    instances/kent.yaml` runs; one seeded sample solves."""
    inst = optimiser.load(KENT)
    assert len(inst.extra["uncertainty"]) == 4
    table = optimiser.uncertainty(inst, samples=2, seed=1)
    assert list(table["status"]) == ["optimal", "optimal"]


def _attributed_base_year(raw, segment, sector):
    """Base-year spend of a sector's services attributed to one segment by the shares written in
    the file (baseline activity x unit cost x share), with no pathway use: the prevention services
    are on no pathway."""
    total = 0.0
    for s in raw["services"]:
        if s["sector"] != sector:
            continue
        shares = s.get("attribution", {}).get("shares", {})
        total += s["baseline_activity"] * _number(s["unit_cost"]) * shares.get(segment, 0.0)
    return total


def test_prevention_for_40_55_year_olds_is_a_floor_that_binds(raw, plan):
    """The single prevention budget for 40-55 year olds. By hand, base year, by the file's shares:
    health checks 55,000 x £40 x 0.50 = £1.10m; diabetes prevention 7,000 x £270 x 0.25 = £0.4725m;
    stop smoking 9,000 x £300 x 0.30 = £0.81m; flu 410,000 x £25 x 0.10 = £1.025m; drug and
    alcohol 8,500 x £3,000 x 0.40 = £10.2m; other public health 43,600 x £1,000 x 0.20 = £8.72m;
    falls and telecare 0: £22.3275m, the floor's stated base value (£22.33m). Grown 2% a year the
    floor is £22.78m in 2026 and £24.65m in 2030; the plan meets it, at equality in at least one
    year (it binds), and 3% a year has no plan."""
    assert _attributed_base_year(raw, "40-55", "prevention") == pytest.approx(22_327_500)
    fence = next(f for f in raw["ring_fences"] if f["name"] == "prevention_40_55")
    assert fence["at_least"] == {"value": 22330000, "growth": 0.02}
    r = plan
    t = r.tables["attributable_spend"]
    got = t[t["scope"] == "ring fence: prevention_40_55"].set_index("year")["spend"]
    floor = {y: 22_330_000 * 1.02 ** (y - 2025) for y in range(2026, 2031)}
    assert all(got[y] >= floor[y] - 1 for y in floor)
    assert min(got[y] - floor[y] for y in floor) < 1e3
    inst = optimiser.load(KENT, scenarios=["prevention_40_55_3pc"])
    assert optimiser.solve(inst).status is Status.INFEASIBLE


@pytest.mark.slow  # further Kent solves (scenarios, reference, samples); the quick suite keeps the default plan
def test_over_85s_single_budget_has_no_plan():
    """Capping all care for the over-85s at £950m x 1.02^(t-2025) (£969m in 2026, about 1% below
    the default plan's own £981.3m) while their number grows 3% a year has no plan; the cap binds
    close to what their committed care needs: at £975m x 1.02^(t-2025) a plan exists."""
    inst = optimiser.load(KENT, scenarios=["over_85s_single_budget"])
    assert optimiser.solve(inst).status is Status.INFEASIBLE
    looser = optimiser.load(KENT, scenarios=["over_85s_single_budget"],
                            overrides={"ring_fences[care_over_85s].at_most.value": 975_000_000})
    assert optimiser.solve(looser).status is Status.OPTIMAL


def test_ward_cash_is_released_only_when_a_ward_closes(plan):
    """Emergency admissions are paid by block, a ward (2,100 admissions, £4.112m a year) at a
    time, closed a year after it is no longer needed. From the plan's activity alone: wards in use
    N_t = ceil(activity / 2,100), base year ceil(200,000 / 2,100) = 96; wards paid for P_t =
    max(N_t, N_{t-1}) (N_2025 = 96); payment = block value (200,000 x £3,916 = £783.2m) + £4.112m
    x (P_t - 96). The plan's spend on emergency admissions is exactly that, every year."""
    import math
    r = plan
    a = r.allocation[r.allocation["service"] == "emergency_admission"].set_index("year")
    n_prev = math.ceil(200_000 / 2_100)
    assert n_prev == 96
    for y in range(2026, 2031):
        n = math.ceil(a.loc[y, "activity"] / 2_100 - 1e-6)
        p = max(n, n_prev)
        assert a.loc[y, "spend"] == pytest.approx(783_200_000 + 4_112_000 * (p - 96), abs=1.0), y
        n_prev = n


def test_health_checks_are_not_cut_in_the_last_year(plan):
    """The issue's symptom is gone on Kent: NHS Health Checks are not cut in 2030 although their
    effect starts two years after the check, and the 5 years of benefits after the plan are
    reported on their own line, positive. This is a check of the shipped plan, not of the
    mechanism: on today's Kent the binding share rule keeps the checks up even without the
    terminal value; that the terminal value alone keeps final-year prevention is derived by hand
    in tests/test_lasting_effects.py::test_terminal_value_keeps_prevention_in_the_final_year."""
    r = plan
    a = r.allocation[r.allocation["service"] == "nhs_health_check"].set_index("year")["activity"]
    assert a[2030] >= a[2029] - 1e-6
    assert r.summary["terminal_value_years"] == 5
    assert r.summary["terminal_value"] > 0
