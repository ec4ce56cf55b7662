"""Cost behaviour, contract forms, transition costs and the transformation fund, against figures
worked out by hand (each test's docstring gives the derivation).

The ward used throughout: 1,000 bed days per ward (a *step*), £2m a ward a year, 3 wards in the
base year (3,000 bed days at an average £2,000), activity forced down to 1,900 bed days a year
(non-pathway demand 1,900, capacity 1,900), no variable or fixed cost, no discounting.
"""

from __future__ import annotations


import numpy as np
import pytest

import optimiser

from .crosscheck import solve_verified
from optimiser.errors import InstanceError

from .conftest import ROOT

NEW_TABLES = ("cash_release", "transition", "transformation_fund", "cash_flow")


def ward_instance(contract=None, lag=1, years=2, steps=True, **ward) -> dict:
    svc = {"name": "ward", "sector": "acute", "unit": "bed day", "unit_cost": 2000, "baseline_activity": 3000,
           "non_pathway_activity": 1900, "capacity": {"max": 1900}}
    if steps:
        svc["cost_behaviour"] = {"steps": {"capacity": 1000, "cost": 2_000_000, "closure_lag": lag}}
    if contract is not None:
        svc["contract"] = contract
    svc.update(ward)
    return {"format_version": 1, "name": "ward", "horizon": {"base_year": 2025, "years": years, "discount_rate": 0.0},
            "budget": {"pooled": 10_000_000}, "sectors": ["acute"], "services": [svc],
            "segments": [{"name": "a", "population": 1000}, {"name": "b", "population": 500}]}


def solve(data: dict):
    return solve_verified(data)


def by_year(result, table: str, column: str, **where) -> list[float]:
    t = result.tables[table]
    for k, v in where.items():
        t = t[t[k] == v]
    return t.sort_values("year")[column].round(6).tolist()


def test_block_contract_releases_cash_a_year_after_a_ward_closes():
    """Block contract (block value = £2,000 x 3,000 = £6m), closure lag 1.

    Activity 1,900 needs ceil(1,900 / 1,000) = 2 wards in 2026 and 2027. Steps paid for:
    2026: max(base-year 3, 2) = 3 (the closed ward is still paid for, the lag being 1 year);
    2027: max(2 in 2026, 2 in 2027) = 2. Block payment = 6m + 2m x (paid - 3): 6m, then 4m.
    Cash released to the commissioner: 0, then £2m. Activity avoided 1,100 a year, notional value
    1,100 x £2,000 = £2.2m a year. The provider's cost = 2m x wards paid: 6m, 4m, so the system
    releases 0, then £2m; double running in 2026 = 2m x (3 paid - 2 in use) = £2m.
    Objective 6m + 4m = £10m. Whole wards make it mixed-integer."""
    r = solve(ward_instance({"form": "block"}))
    assert r.summary["mixed_integer"]
    assert r.objective == pytest.approx(10_000_000)
    assert by_year(r, "cash_release", "steps_in_use") == [2, 2]
    assert by_year(r, "cash_release", "steps_paid") == [3, 2]
    assert by_year(r, "cash_release", "payment") == [6_000_000, 4_000_000]
    assert by_year(r, "cash_release", "commissioner_cash_released") == [0, 2_000_000]
    assert by_year(r, "cash_release", "activity_avoided") == [1100, 1100]
    assert by_year(r, "cash_release", "notional_value") == [2_200_000, 2_200_000]
    assert by_year(r, "cash_release", "system_cash_released") == [0, 2_000_000]
    assert by_year(r, "cash_release", "double_running") == [2_000_000, 0]
    assert by_year(r, "allocation", "spend") == [6_000_000, 4_000_000]


def test_activity_contract_releases_price_times_activity_at_once():
    """Activity contract at the unit cost (£2,000 a bed day): the commissioner pays 2,000 x 1,900 =
    £3.8m a year and so releases 2,000 x 1,100 = £2.2m at once, in both years. The provider bears
    its own cost behaviour: it still pays for 3 wards in 2026 (6m) and 2 in 2027 (4m), so the system
    releases 0, then £2m. No whole-number choice enters the model (the provider's wards follow
    its activity): an LP. Objective 3.8m x 2 = £7.6m."""
    r = solve(ward_instance({"form": "activity"}))
    assert not r.summary["mixed_integer"]
    assert r.objective == pytest.approx(7_600_000)
    assert by_year(r, "cash_release", "commissioner_cash_released") == [2_200_000, 2_200_000]
    assert by_year(r, "cash_release", "steps_in_use") == [2, 2]
    assert by_year(r, "cash_release", "steps_paid") == [3, 2]
    assert by_year(r, "cash_release", "provider_cost") == [6_000_000, 4_000_000]
    assert by_year(r, "cash_release", "system_cash_released") == [0, 2_000_000]


@pytest.mark.parametrize("lag, years, paid, released", [
    (0, 2, [2, 2], [2_000_000, 2_000_000]),            # no lag: paid = in use
    (2, 3, [3, 3, 2], [0, 0, 2_000_000]),              # 2026: max(3 base, 2); 2027: max(3 base, 2, 2); 2028: 2
])
def test_closure_lag_sets_when_the_block_falls(lag, years, paid, released):
    """Block contract, 2 wards needed from 2026: with closure lag L the third ward is paid for in
    every year t with t - L <= 2025 (the base year, 3 wards). Lag 0: paid 2 from 2026, £2m
    released each year. Lag 2 over 3 years: paid 3, 3, 2; released 0, 0, £2m."""
    r = solve(ward_instance({"form": "block"}, lag=lag, years=years))
    assert by_year(r, "cash_release", "steps_paid") == paid
    assert by_year(r, "cash_release", "commissioner_cash_released") == released


def test_block_without_steps_never_releases_cash():
    """A block of £5m with no stated steps: the payment does not fall with activity, so the
    commissioner releases nothing (baseline payment = block = payment), though 1,100 bed days a
    year (notional £2.2m) are avoided. The provider (no stated cost behaviour: every bed day costs
    the unit cost) saves 1,100 x 2,000 = £2.2m a year."""
    r = solve(ward_instance({"form": "block", "block_value": 5_000_000}, steps=False))
    assert r.objective == pytest.approx(10_000_000)
    assert by_year(r, "cash_release", "commissioner_cash_released") == [0, 0]
    assert by_year(r, "cash_release", "notional_value") == [2_200_000, 2_200_000]
    assert by_year(r, "cash_release", "system_cash_released") == [2_200_000, 2_200_000]


@pytest.mark.parametrize("segments, paid", [(["a"], 100_000), (None, 150_000)])
def test_capitation_pays_per_head_whatever_the_activity(segments, paid):
    """Capitation at £100 a head: segment a has 1,000 people, b 500. Covering a only: £100,000 a
    year; covering everyone (no segments given): £150,000. Activity changes release nothing."""
    contract = {"form": "capitation", "per_head": 100}
    if segments:
        contract["segments"] = segments
    r = solve(ward_instance(contract, steps=False))
    assert by_year(r, "cash_release", "payment") == [paid, paid]
    assert by_year(r, "cash_release", "commissioner_cash_released") == [0, 0]
    assert r.objective == pytest.approx(2 * paid)


def transition_instance(budget=None, fund=True) -> dict:
    data = {
        "format_version": 1, "name": "transition", "horizon": {"base_year": 2025, "years": 2, "discount_rate": 0.0},
        "budget": budget or {"holders": [{"name": "nhs", "sectors": ["acute"], "budget": 200_000},
                                         {"name": "council", "sectors": ["prevention"], "budget": 20_000}]},
        "sectors": ["prevention", "acute"],
        "services": [
            {"name": "programme", "sector": "prevention", "unit_cost": 100, "baseline_activity": 0,
             "capacity": {"min": 50, "max": 50}, "transition": {"setup_cost": 40}},
            {"name": "ward", "sector": "acute", "unit_cost": 1000, "baseline_activity": 100,
             "non_pathway_activity": {2026: 95, 2027: 90}, "capacity": {"max": {2026: 95, 2027: 90}}}],
        "segments": [{"name": "all", "population": 1000}],
    }
    if fund:
        data["transformation_fund"] = {"per_year": 1500, "years": [2026]}
    return data


def test_setup_costs_fund_and_cash_flow_per_holder():
    """The programme grows 0 -> 50 units in 2026 and stays at 50: set-up 40 x 50 = £2,000 in 2026,
    0 in 2027. The fund (£1,500, 2026 only) pays £1,500 of it; the council's budget bears £500.
    The ward falls 100 -> 95 -> 90 admissions at £1,000: the NHS saves £5,000, then £10,000.

    Cash flow (invested / saved / net / cumulative):
      council: 5,000 + 2,000 - 1,500 = 5,500 / 0 / -5,500 / -5,500; 5,000 / 0 / -5,000 / -10,500:
               payback not within the plan;
      nhs:     0 / 5,000 / 5,000 / 5,000; 0 / 10,000 / 10,000 / 15,000: no net investment;
      fund:    1,500 / 0; 0 / 0 (cumulative -1,500);
      system:  7,000 / 5,000 / -2,000 / -2,000; 5,000 / 10,000 / 5,000 / 3,000: payback 2027.
    Objective = spend (95,000 + 5,000 + 90,000 + 5,000) + set-up 2,000 = £197,000."""
    r = solve(transition_instance())
    assert r.objective == pytest.approx(197_000)
    assert r.summary["transition_cost"] == pytest.approx(2000)
    assert r.summary["transformation_fund_paid"] == pytest.approx(1500)
    assert by_year(r, "transition", "setup_cost") == [2000, 0]
    assert by_year(r, "transition", "fund_paid") == [1500, 0]
    assert by_year(r, "transition", "budget_bears") == [500, 0]
    flow = r.tables["cash_flow"].set_index(["holder", "year"])
    expect = {("council", 2026): (5500, 0, -5500), ("council", 2027): (5000, 0, -10500),
              ("nhs", 2026): (0, 5000, 5000), ("nhs", 2027): (0, 10000, 15000),
              ("transformation fund", 2026): (1500, 0, -1500), ("transformation fund", 2027): (0, 0, -1500),
              ("system", 2026): (7000, 5000, -2000), ("system", 2027): (5000, 10000, 3000)}
    for key, (inv, saved, cum) in expect.items():
        row = flow.loc[key]
        assert (row["invested"], row["saved"], row["cumulative_net"]) == pytest.approx((inv, saved, cum), abs=1e-6), key
    payback = r.tables["cash_flow"].drop_duplicates("holder").set_index("holder")["payback"].to_dict()
    assert payback == {"council": "not within the plan", "nhs": "no net investment",
                       "transformation fund": "not within the plan", "system": "2027"}
    assert flow.loc[("system", 2026), "payback_year"] == 2027


def test_the_fund_lifts_the_budget_limit_for_transition_costs_only():
    """A pooled budget of £100,500 in 2026: spend 95,000 + 5,000 = £100,000 plus set-up £2,000
    needs £102,000, so without the fund there is no plan; the fund's £1,500 leaves £100,500 for the
    budget: feasible, with the budget binding. The fund cannot pay recurrent spend: with a budget of
    £99,000 (spend alone above it) there is no plan even with the fund."""
    budget = {"pooled": {2026: 100_500, 2027: 100_000}}
    r = solve(transition_instance(budget=budget))
    b = r.tables["budget"].set_index("year")
    assert b.loc[2026, "headroom"] == pytest.approx(0, abs=1e-6)
    no_fund = optimiser.solve(optimiser.load_data(transition_instance(budget=budget, fund=False), file="t.yaml"))
    assert no_fund.status.value == "infeasible"
    short = optimiser.solve(optimiser.load_data(transition_instance(budget={"pooled": 99_000}), file="t.yaml"))
    assert short.status.value == "infeasible"


def test_verifier_recomputes_the_cash_tables():
    """Tampering with a reported figure is caught by the check that recomputes it."""
    r = solve(transition_instance())
    block = solve(ward_instance({"form": "block"}))
    cases = [(block, "cash_release", "commissioner_cash_released", "cash released to the commissioner"),
             (block, "cash_release", "steps_paid", "spend = unit cost x activity + fixed"),
             (r, "transition", "setup_cost", "set-up cost"),
             (r, "cash_flow", "invested", "invested"),
             (r, "cash_flow", "payback_year", "payback year")]
    for result, table, column, check in cases:
        tables = {k: v.copy() for k, v in result.tables.items()}
        t = tables[table]
        t.loc[t.index[0], column] = (0 if np.isnan(t[column].iat[0]) else t[column].iat[0]) + 1000
        found = {v.check for v in optimiser.solving.verify.verify_tables(tables, result.summary).violations}
        assert check in found, (table, column, found)


def test_no_new_fields_no_new_tables_and_the_same_programme():
    """Without contracts, cost behaviour or transition costs nothing changes: no new tables, and an
    activity contract at the unit cost gives the very same programme (matrix, bounds, costs)."""
    path = ROOT / "instances" / "tiny" / "two_services.yaml"
    inst = optimiser.load(path)
    r = optimiser.solve(inst)
    assert not set(NEW_TABLES) & set(r.tables)
    with_contract = optimiser.load(path, overrides={f"services[{s.name}].contract": {"form": "activity"}
                                                    for s in inst.model.services})
    a, b = optimiser.build_lp(inst), optimiser.build_lp(with_contract)
    assert (a.matrix() != b.matrix()).nnz == 0
    assert np.array_equal(a.objective, b.objective)
    assert all(np.array_equal(x, y) for x, y in zip(a.row_bounds() + a.col_bounds(), b.row_bounds() + b.col_bounds()))


def test_shipped_example_solves_and_verifies():
    """instances/tiny/cash_release.yaml: 375 frailty crises a year; rapid response may take up to
    40% (150); 8 bed days an admission, 2 visits a crisis at home. The ward (block £750k at 3 wards
    of 1,000 bed days, £200k each, lag 1, max shrink 35%: at least 1,950 bed days) can drop to 2
    wards only at <= 2,000 bed days, i.e. <= 250 admissions, i.e. >= 125 crises at home = 250 visits
    (rapid response may double from 150 to 300). Closing the ward in 2026 stops its cost in 2027:
    the block falls by £200k from 2027 (0 released in 2026). One ward more would need 250 crises
    at home (> 150): no. Set-up: (250 - 150) x £50 = £5,000 in 2026, within the fund's £10,000."""
    r = optimiser.solve(optimiser.load(ROOT / "instances" / "tiny" / "cash_release.yaml"))
    assert r.verify().ok
    assert by_year(r, "cash_release", "commissioner_cash_released", service="ward") == [0, 200_000, 200_000]
    assert r.summary["transformation_fund_paid"] == pytest.approx(5000, rel=1e-6)


@pytest.mark.parametrize("change, path, expected", [
    ({"services[ward].contract.price": 100}, "services[0] (ward).contract.price", "no price with form block"),
    ({"services[ward].cost_behaviour.steps.baseline_steps": 2}, "services[0] (ward).cost_behaviour.steps.baseline_steps",
     "enough steps to carry the baseline activity 3000"),
    ({"services[gp_care].contract.segments": ["kids"]}, "services[2] (gp_care).contract.segments", "segments defined"),
    ({"transformation_fund.years": [2030]}, "transformation_fund.years", "planning years 2026-2028"),
    ({"services[rapid_response].transition": None}, "transformation_fund", "transition costs only"),
])
def test_bad_input_names_the_field(change, path, expected):
    with pytest.raises(InstanceError) as err:
        optimiser.load(ROOT / "instances" / "tiny" / "cash_release.yaml", overrides=change)
    problems = [(p.path, p.expected) for p in err.value.problems]
    assert any(p == path and expected in e for p, e in problems), problems


def test_duals_of_the_closure_lag_and_setup_rows():
    """Duals (of the LP with the whole wards fixed, for the block): in the block example the 2026
    row 'steps paid >= base-year steps' (3) binds; one step fewer to carry saves one ward's cost,
    £2m, so its dual is 2,000,000 (currency per step). In the transition example the 2026 set-up
    row (set-up >= 40 x growth) binds with the programme's activity fixed: one more unit of
    required set-up costs exactly £1 of objective: dual 1."""
    block = solve(ward_instance({"form": "block"}))
    c = block.tables["constraints"]
    lag = c[(c["constraint"] == "step_closure_lag") & (c["keys"] == "ward, 2026, 2025")]
    assert len(lag) == 1 and bool(lag["binding"].iat[0])
    assert abs(lag["dual"].iat[0]) == pytest.approx(2_000_000)
    tr = solve(transition_instance())
    c = tr.tables["constraints"]
    setup = c[(c["constraint"] == "setup_cost_of_growth") & (c["keys"] == "programme, 2026")]
    assert abs(setup["dual"].iat[0]) == pytest.approx(1.0)


@pytest.mark.parametrize("contract, acute_cash", [({"form": "activity"}, 800_000), ({"form": "block"}, 1_000_000)])
def test_the_shift_share_counts_cash_paid(contract, acute_cash):
    """A ward (1,000 bed days at £1,000 in the base year, forced down to 800) and a prevention
    programme (100 units at £100). Base share of prevention s0 = 10,000 / 1,010,000 = 1/101; a
    share policy of +1 point in one year needs s = 1/101 + 1/100 of spend. The share counts the
    commissioner's cash: under an activity contract the ward costs 800 x 1,000 = £800,000, under a
    block (£1m, no steps) still £1m. Prevention spend P must satisfy P / (P + ward) >= s, so the
    cheapest plan has P = s / (1 - s) x ward: £16,244 under the activity contract, £20,305 under
    the block (the block's avoided activity releases no cash to shift)."""
    s = 1 / 101 + 1 / 100
    data = {
        "format_version": 1, "name": "share", "horizon": {"base_year": 2025, "years": 1, "discount_rate": 0.0},
        "budget": {"pooled": 2_000_000}, "sectors": ["prevention", "acute"],
        "services": [
            {"name": "programme", "sector": "prevention", "unit_cost": 100, "baseline_activity": 100},
            {"name": "ward", "sector": "acute", "unit_cost": 1000, "baseline_activity": 1000,
             "non_pathway_activity": 800, "capacity": {"max": 800}, "contract": contract}],
        "segments": [{"name": "all", "population": 1000}],
        "shift_policies": [{"kind": "share", "name": "upstream", "sectors": ["prevention"], "increase_pp": 1}],
    }
    r = solve(data)
    prevention = by_year(r, "allocation", "spend", service="programme")[0]
    assert prevention == pytest.approx(s / (1 - s) * acute_cash, rel=1e-6)
    assert r.objective == pytest.approx(acute_cash + s / (1 - s) * acute_cash, rel=1e-9)


def test_siloed_holder_bears_its_own_setup_costs():
    """Siloed, the council (budget £20,000 a year) pays the programme (£5,000 a year) and its
    set-up (£2,000 in 2026) less the fund's £1,500: £5,500 <= £20,000, a plan. With a council budget
    of £5,400 the 2026 bill of £5,500 is over it (no plan); with £5,500 it just fits, and the
    verifier finds the council's budget exactly used in 2026 (a tampered spend above it is caught)."""
    def with_council(amount):
        data = transition_instance()
        data["budget"]["holders"][1]["budget"] = amount
        data["budget"]["arrangement"] = "siloed"
        return data
    assert optimiser.solve(optimiser.load_data(with_council(5_400), file="t.yaml")).status.value == "infeasible"
    r = solve(with_council(5_500))
    tables = {k: v.copy() for k, v in r.tables.items()}
    h = tables["holders"]
    h.loc[(h["holder"] == "council") & (h["year"] == 2026), "budget"] = 5_400
    found = {v.check for v in optimiser.solving.verify.verify_tables(tables, r.summary).violations}
    assert "holder within its budget with transition costs" in found


def test_cash_tables_written_and_verified_from_csv(tmp_path):
    """The four tables are written with the others, and the plan verifies from the CSV files alone."""
    from optimiser.output.files import read_result

    r = optimiser.solve(optimiser.load(ROOT / "instances" / "tiny" / "cash_release.yaml"))
    r.write(tmp_path / "out")
    tables, summary = read_result(tmp_path / "out")
    assert set(NEW_TABLES) <= set(tables)
    check = optimiser.solving.verify.verify_tables(tables, summary)
    assert check.ok, str(check)
    assert "cash flow" in check.checks_run and "steps and closure lags" in check.checks_run


def test_block_activity_is_the_least_the_demand_needs():
    """Under a block without steps activity costs the commissioner nothing, so any activity from
    the 1,900 bed days needed up to no limit is equally cheap (£5m a year); the tie-break on the
    provider's cost (here £2,000 a bed day, no stated cost behaviour) picks 1,900."""
    r = solve(ward_instance({"form": "block", "block_value": 5_000_000}, steps=False, capacity={}))
    assert by_year(r, "allocation", "activity") == [1900, 1900]
