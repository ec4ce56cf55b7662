"""Budget holders and the value of pooling, against figures worked out by hand.

instances/tiny/two_holders.yaml: one planning year, no discounting. 100 patients a year need an
admission (ward, 1,000 each, held by the NHS, budget 100,000). A prevention programme (100 a unit,
held by the council, budget 1,000) cuts need by 1% per unit up to 50 units: each unit saves 1
admission, i.e. 1,000 for 100, so any holder that can pay for it buys all 50.

* pooled: 50 units (5,000) + 50 admissions (50,000) = 55,000; the council spends 4,000 beyond its
  budget, paid by the NHS.
* siloed: the council can afford 10 units (1,000); 90 admissions (90,000); 91,000. Pooling is worth
  91,000 - 55,000 = 36,000.
* partial (the NHS pays 2% = 2,000 into a fund the council may draw on): 30 units (3,000), 70
  admissions; 73,000; worth 18,000; the NHS pays the council 2,000 through the fund.
* a council budget of 6,000 affords all 50 units siloed: pooling is worth exactly 0.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import optimiser
from optimiser.input.reading import read_yaml

from .conftest import ROOT

TINY = ROOT / "instances" / "tiny" / "two_holders.yaml"


def tiny(**overrides):
    return optimiser.load(TINY, overrides=overrides)


@pytest.mark.parametrize("arrangement, cost, units", [("pooled", 55_000, 50), ("siloed", 91_000, 10),
                                                       ("partial", 73_000, 30)])
def test_each_arrangement_costs_what_the_hand_calculation_says(arrangement, cost, units):
    r = optimiser.solve(tiny(**{"budget.arrangement": arrangement}))
    assert r.status == optimiser.Status.OPTIMAL
    assert r.objective == pytest.approx(cost, rel=1e-9)
    act = r.allocation.set_index("service")["activity"]
    assert act["programme"] == pytest.approx(units, abs=1e-6)
    assert act["ward"] == pytest.approx(100 - units, abs=1e-6)
    assert r.verify().ok, str(r.verify())


def test_value_of_pooling_and_transfers():
    p = optimiser.pooling(tiny())
    s = p.summary.set_index("arrangement")
    assert list(s.index) == ["siloed", "partial", "pooled"]
    assert s.loc["pooled", "value_of_pooling"] == pytest.approx(36_000)
    assert s.loc["partial", "value_of_pooling"] == pytest.approx(18_000)
    assert pd.isna(s.loc["siloed", "value_of_pooling"])
    v = p.value_by_year.set_index("arrangement")
    assert v.loc["pooled", "cost_saved"] == pytest.approx(36_000)
    t = p.transfers.set_index("arrangement")
    assert t.loc["pooled", "from_holder"] == "nhs" and t.loc["pooled", "to_holder"] == "council"
    assert t.loc["pooled", "amount"] == pytest.approx(4_000)
    assert t.loc["partial", "pool"] == "bcf" and t.loc["partial", "amount"] == pytest.approx(2_000)
    h = p.holders.set_index(["arrangement", "holder"])
    assert h.loc[("partial", "council"), "drawn"] == pytest.approx(2_000)
    assert h.loc[("partial", "nhs"), "kept"] == pytest.approx(98_000)
    assert h.loc[("siloed", "council"), "spend"] == pytest.approx(1_000)
    out = p.outcomes.set_index("arrangement")
    assert out.loc["pooled", "gained"] == pytest.approx(40)  # 90 -> 50 admissions


@pytest.mark.slow
def test_pooling_is_worth_exactly_zero_when_the_council_can_afford_the_programme():
    p = optimiser.pooling(tiny(**{"budget.holders.council.budget": 6_000}))
    s = p.summary.set_index("arrangement")
    assert s.loc["siloed", "objective"] == pytest.approx(55_000)
    assert s.loc["pooled", "value_of_pooling"] == pytest.approx(0.0, abs=1e-6)
    assert s.loc["partial", "value_of_pooling"] == pytest.approx(0.0, abs=1e-6)
    assert p.transfers.empty


@pytest.mark.slow
def test_siloed_without_a_plan_is_an_answer_with_the_money_it_lacks():
    # a target of at most 60 admissions needs 40 units (4,000): the council has 1,000
    data = read_yaml(TINY)
    data["targets"] = [{"outcome": "admissions", "years": "all", "at_most": 60}]
    p = optimiser.pooling(optimiser.load_data(data))
    s = p.summary.set_index("arrangement")
    assert s.loc["siloed", "status"] == "infeasible"
    assert s.loc["pooled", "status"] == "optimal"
    assert s.loc["pooled", "objective"] == pytest.approx(55_000)
    short = p.siloed_shortfall.set_index("holder")
    assert short.loc["council", "extra_needed"] == pytest.approx(3_000, rel=1e-6)
    assert any("pooling is what makes it possible" in n for n in p.notes)


def test_holder_budgets_sum_to_the_pool_and_the_verifier_catches_a_breach():
    r = optimiser.solve(tiny(**{"budget.arrangement": "siloed"}))
    assert r.budget["budget"].iloc[0] == pytest.approx(101_000)
    tables = {k: v.copy() for k, v in r.tables.items()}
    # pretend the council overspent: the verifier, reading the tables alone, must object
    tables["allocation"].loc[tables["allocation"]["service"] == "programme", ["activity", "spend"]] = [20, 2000]
    tables["holders"].loc[tables["holders"]["holder"] == "council", "spend"] = 2000
    check = optimiser.verify_tables(tables, r.summary)
    assert not check.ok
    assert any(v.check == "holder within its budget" for v in check.violations)


def test_bad_holders_are_reported_with_file_field_expected_found():
    data = read_yaml(TINY)
    bad = copy.deepcopy(data)
    bad["budget"]["holders"][1]["sectors"] = ["acute"]  # the acute sector held twice, prevention by none
    bad["budget"]["pooled_funds"][0]["contributions"] = {"nhs": 0.02, "parish": 0.1}
    bad["budget"]["pooled"] = 5
    with pytest.raises(optimiser.InstanceError) as exc:
        optimiser.load_data(bad, file="holders.yaml")
    text = str(exc.value)
    assert "holders.yaml" in text
    assert "each sector named by at most one holder" in text and "'acute'" in text
    assert "no holder for ['programme']" in text
    assert "'parish'" in text
    assert "no pooled total when budget holders are given" in text
    partial = copy.deepcopy(data)
    partial["budget"]["pooled_funds"] = []
    partial["budget"]["arrangement"] = "partial"
    with pytest.raises(optimiser.InstanceError, match="at least one fund"):
        optimiser.load_data(partial)
    no_holders = {**copy.deepcopy(data), "budget": {"pooled": 1000, "arrangement": "siloed"}}
    with pytest.raises(optimiser.InstanceError, match="siloed and partial arrangements need budget.holders"):
        optimiser.load_data(no_holders)


@pytest.mark.slow
def test_pooling_cli_table_json_and_files(tmp_path):
    out = tmp_path / "pool"
    exe = shutil.which("budgetshift") or str(Path(sys.executable).with_name("budgetshift"))
    run = subprocess.run([exe, "pooling", str(TINY), "--json", "--out", str(out)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    values = {r["arrangement"]: r["value_of_pooling"] for r in doc["pooling_summary"]}
    assert values == {"siloed": None, "partial": pytest.approx(18_000), "pooled": pytest.approx(36_000)}
    assert (out / "pooling_summary.csv").exists() and (out / "pooling.xlsx").exists()
    shown = subprocess.run([exe, "pooling", str(TINY)], capture_output=True,
                           text=True, timeout=120)
    assert shown.returncode == 0 and "value of pooling" in shown.stdout and "36.00k" in shown.stdout
    single = subprocess.run([exe, "pooling",
                             str(ROOT / "instances" / "tiny" / "two_services.yaml")],
                            capture_output=True, text=True, timeout=120)
    assert single.returncode == 3 and "budget.holders" in single.stderr and "Traceback" not in single.stderr


@pytest.mark.slow
def test_kent_pooling_is_worth_something():
    """Kent's holders kept apart have no plan: adult social care demand (care homes and other client
    groups growing 2-3% a year real, fees 1.5% a year real) outruns its own budget (2% a year real)
    from 2027, by about £33m in 2030, and the public health grant cannot fund the 2030 step of the
    shift (about £0.7m). Pooled, or partly pooled through the Better Care Fund, the plan exists; and
    without the shift rule adult social care is still short, so siloed stays infeasible."""
    kent = optimiser.load(ROOT / "instances" / "kent.yaml")
    p = optimiser.pooling(kent)
    s = p.summary.set_index("arrangement")
    assert s.loc["siloed", "status"] == "infeasible" and s.loc["pooled", "status"] == "optimal"
    assert s.loc["partial", "status"] == "optimal"
    short = p.siloed_shortfall.groupby("holder")["extra_needed"].sum()
    assert set(short.index) == {"councils_adult_social_care", "councils_public_health"}
    assert 5e7 < short["councils_adult_social_care"] < 8e7 and 0 < short["councils_public_health"] < 2e6
    for r in p.results.values():
        assert r.verify().ok
    no_shift = optimiser.pooling(optimiser.load(ROOT / "instances" / "kent.yaml", scenarios=["no_shift"]))
    v = no_shift.summary.set_index("arrangement")
    assert v.loc["siloed", "status"] == "infeasible" and v.loc["pooled", "status"] == "optimal"
    assert set(no_shift.siloed_shortfall["holder"]) == {"councils_adult_social_care"}


def test_shadow_price_of_the_council_budget_when_siloed():
    """One pound more for the council buys 0.01 units, which avoid 0.01 admissions (10 pounds):
    the plan costs 10 - 1 = 9 pounds less."""
    r = optimiser.solve(tiny(**{"budget.arrangement": "siloed"}))
    ex = optimiser.explain(r)
    row = ex.shadow_prices.set_index(["constraint", "item"]).loc[("holder_budget", "council")]
    assert bool(row["binding"])
    assert row["dual"] == pytest.approx(-9.0, rel=1e-9)
    nhs = ex.shadow_prices.set_index(["constraint", "item"]).loc[("holder_budget", "nhs")]
    assert not bool(nhs["binding"]) and nhs["dual"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.slow
def test_value_of_pooling_as_outcome_gained_when_maximising_outcomes():
    """max_outcome (fewest admissions within the budgets): pooled 50, partial 70, siloed 90 admissions,
    so pooling gains 40 admissions (20 partly); among the best plans the cheapest is taken."""
    inst = tiny(objective={"mode": "max_outcome", "weights": {"admissions": 1.0}})
    p = optimiser.pooling(inst)
    s = p.summary.set_index("arrangement")
    assert s.loc["pooled", "value_of_pooling"] == pytest.approx(40)
    assert s.loc["partial", "value_of_pooling"] == pytest.approx(20)
    assert s.loc["pooled", "total_cost"] == pytest.approx(55_000)
    g = p.outcomes.set_index("arrangement")["gained"]
    assert g["pooled"] == pytest.approx(40) and g["siloed"] == 0.0


@pytest.mark.slow
def test_pooling_html_report(tmp_path):
    from optimiser.analyses.pooling import report_html

    page = report_html(optimiser.pooling(tiny()))
    assert page.count('class="plotly-graph-div"') == 3
    assert "Value of pooling: two holders" in page and "Transfers between holders" in page


def test_a_holder_of_nothing_is_an_error():
    data = read_yaml(TINY)
    data["sectors"].append("mental_health")
    data["budget"]["holders"].append({"name": "trust", "sectors": ["mental_health"], "budget": 500})
    with pytest.raises(optimiser.InstanceError, match=r"budget.holders\[2\] \(trust\): expected a holder of at least "
                                                      r"one service"):
        optimiser.load_data(data)


@pytest.mark.slow
def test_a_mip_value_of_pooling_comes_with_the_interval_its_gap_allows():
    data = read_yaml(TINY)
    data["horizon"] = {"base_year": 2025, "years": 3, "discount_rate": 0.0}
    data["services"][0]["teams"] = {"activity_per_team": 7, "cost_per_team": 50}
    data["services"][1]["teams"] = {"activity_per_team": 13, "cost_per_team": 300}
    data["budget"]["holders"][0]["budget"] = 120_000
    exact = optimiser.pooling(optimiser.load_data(copy.deepcopy(data)))
    loose = optimiser.pooling(optimiser.load_data(copy.deepcopy(data)), mip_gap=0.2)
    e = exact.summary.set_index("arrangement")
    lo = loose.summary.set_index("arrangement")
    for arr in ("partial", "pooled"):
        assert e.loc[arr, "value_low"] == pytest.approx(e.loc[arr, "value_of_pooling"], rel=1e-3)
        assert lo.loc[arr, "value_low"] - 1e-6 <= e.loc[arr, "value_of_pooling"] <= lo.loc[arr, "value_high"] + 1e-6


@pytest.mark.slow
def test_max_outcome_value_by_year_adds_up_to_the_value_of_pooling():
    inst = tiny(objective={"mode": "max_outcome", "weights": {"admissions": 1.0}})
    p = optimiser.pooling(inst)
    v = p.value_by_year.groupby("arrangement")["weighted_outcome_gained"].sum()
    s = p.summary.set_index("arrangement")["value_of_pooling"]
    assert v["pooled"] == pytest.approx(s["pooled"]) and v["partial"] == pytest.approx(s["partial"])


@pytest.mark.parametrize("tamper, check", [
    (lambda t: t["holders"].__setitem__("spend", float("nan")), "holder figures"),
    (lambda t: t.pop("holders"), "tables present"),
    (lambda t: t["holder_transfers"].__setitem__("from_holder", "ghost"), "transfers within a pool"),
])
def test_verifier_does_not_pass_missing_or_stray_holder_figures(tamper, check):
    r = optimiser.solve(tiny())
    t = {k: v.copy() for k, v in r.tables.items()}
    tamper(t)
    out = optimiser.verify_tables(t, r.summary)
    assert not out.ok and check in {v.check for v in out.violations}, str(out)
