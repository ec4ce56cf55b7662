"""Return on investment and who saves in cash (issue 13, items 1 and 5; review P1.2), and the cash
flow's separation of programme investment from demand growth (review P3), against figures worked
out by hand (each test's docstring gives the derivation)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import yaml

import optimiser

from .crosscheck import assert_tampering_caught
from optimiser.solving.cash import FUND_COLUMNS, TRANSITION_COLUMNS, cash_flow
from optimiser.output.files import read_result
from optimiser.solving.returns import programme_cash_released
from optimiser.solving.verify import verify_tables

from .conftest import ROOT


def _act(rows) -> pd.DataFrame:
    """Activity avoided per (programme, service) in 2026: rows of (programme, service, activity avoided,
    unit cost)."""
    return pd.DataFrame([{"programme": p, "year": 2026, "service": s, "activity_avoided": a,
                          "spend_avoided": a * c} for p, s, a, c in rows])


def _cash(rows) -> pd.DataFrame:
    """cash_release rows for 2026: (service, contract, price, baseline activity, activity avoided,
    commissioner cash released)."""
    return pd.DataFrame([{"service": s, "year": 2026, "contract": f, "price": p, "baseline_activity": b,
                          "activity_avoided": a, "commissioner_cash_released": c} for s, f, p, b, a, c in rows])


def test_activity_contract_releases_its_price_per_unit_avoided():
    """An activity contract at £2,000 per admission (unit cost £3,500): a programme avoiding 10
    admissions releases 10 x £2,000 = £20,000 in cash (its notional figure is 10 x £3,500 =
    £35,000). This holds whatever else happens at the ward: with the ward's activity growing by 5
    overall (other changes added 15), the payment is still £20,000 below what it would have been.
    Without a cash_release table (no contracts anywhere) every service is paid per unit at unit
    cost and cash = notional (£35,000)."""
    act = _act([("checks", "ward", 10.0, 3500.0)])
    grew = _cash([("ward", "activity", 2000.0, 1000.0, -5.0, -10_000.0)])
    assert programme_cash_released(act, grew) == pytest.approx([20_000.0])
    fell = _cash([("ward", "activity", 2000.0, 1000.0, 10.0, 20_000.0)])
    assert programme_cash_released(act, fell) == pytest.approx([20_000.0])
    assert programme_cash_released(act, None) == pytest.approx([35_000.0])


def test_block_cash_is_split_pro_rata_between_two_programmes():
    """A ward on a block with steps: its activity fell by 1,000 bed days and one ward closed, the
    block falling by £200,000 (C). Programme P avoided 300 bed days, Q 100: the rest of the fall
    (600) came from other changes (a shift to the community). Pro rata to the service's activity
    avoided: P gets 200,000 x 300/1,000 = £60,000, Q 200,000 x 100/1,000 = £20,000.

    If instead other changes *added* activity, so the ward fell by only 200 while P and Q avoided
    400 between them, the denominator is the programmes' own 400 (never more than C between them):
    P 200,000 x 300/400 = £150,000, Q £50,000 (sum £200,000 = C).

    Where the ward's activity did not fall (A = 0) nothing is given to programmes; a capitation
    payment releases nothing (C = 0); a block without steps releases nothing (C = 0)."""
    act = _act([("P", "ward", 300.0, 250.0), ("Q", "ward", 100.0, 250.0)])
    fall = _cash([("ward", "block", np.nan, 3000.0, 1000.0, 200_000.0)])
    assert programme_cash_released(act, fall) == pytest.approx([60_000.0, 20_000.0])
    small = _cash([("ward", "block", np.nan, 3000.0, 200.0, 200_000.0)])
    assert programme_cash_released(act, small) == pytest.approx([150_000.0, 50_000.0])
    flat = _cash([("ward", "block", np.nan, 3000.0, 0.0, 200_000.0)])
    assert programme_cash_released(act, flat) == pytest.approx([0.0, 0.0])
    cap = _cash([("ward", "capitation", np.nan, 3000.0, 400.0, 0.0)])
    assert programme_cash_released(act, cap) == pytest.approx([0.0, 0.0])


def _block_ward() -> dict:
    """instances/tiny/lasting_effects.yaml with the ward on a block of £15m a year (the review's
    example) and the ring fences at 0 (a block's attribution is another fix)."""
    data = yaml.safe_load((ROOT / "instances" / "tiny" / "lasting_effects.yaml").read_text())
    ward = next(s for s in data["services"] if s["name"] == "ward")
    ward["contract"] = {"form": "block", "block_value": 15_000_000}
    for r in data["ring_fences"]:
        r["at_least"] = 0
    return data


@pytest.fixture(scope="module")
def block_ward():
    result = optimiser.solve(optimiser.load_data(copy.deepcopy(_block_ward()), file="block_ward.yaml"))
    assert result.status.value == "optimal", result.message
    assert result.verify().ok, str(result.verify())
    return result


def test_block_ward_releases_no_cash_while_notional_savings_are_positive(block_ward):
    """The review's example: the ward is paid £15m a year whatever its activity (a block without
    steps), so its payment never falls below the baseline payment (£15m): commissioner cash
    released = 0 every year, and health checks' cash released at the ward is 0 although the
    admissions they avoid are worth 3,500 each at unit cost. Rehab has no contract: paid per course
    at its unit cost of £1,500, each course avoided releases £1,500. So the programme's cash
    released = 1,500 x rehab courses avoided, and savings_by_holder's cash for the pooled budget is
    that, not the notional figure (which adds 3,500 x admissions avoided)."""
    t = block_ward.tables
    assert (t["cash_release"].query("service == 'ward'")["commissioner_cash_released"] == 0).all()
    sav = t["programme_savings"]
    ward = sav[(sav["service"] == "ward") & (sav["period"] == "total")].iloc[0]
    rehab = sav[(sav["service"] == "rehab") & (sav["period"] == "total")].iloc[0]
    assert ward["spend_avoided"] == pytest.approx(3500 * ward["activity_avoided"])
    assert ward["spend_avoided"] > 100_000 and ward["cash_released"] == 0
    assert rehab["cash_released"] == pytest.approx(1500 * rehab["activity_avoided"])
    ret = t["programme_returns"].set_index("period")
    assert ret.at["total", "cash_released"] == pytest.approx(1500 * rehab["activity_avoided"])
    assert ret.at["total", "downstream_spend_avoided"] == pytest.approx(
        3500 * ward["activity_avoided"] + 1500 * rehab["activity_avoided"])
    # extra payment against the baseline payment: health checks are paid per check at £30, so the
    # baseline payment is 20,000 x 30 = £600,000 a year and the extra payment is spend - 600,000
    yearly = ret.drop(index="total")
    assert (yearly["baseline_payment"] == 600_000).all()
    assert yearly["extra_payment"].to_numpy() == pytest.approx((yearly["spend"] - 600_000).to_numpy())
    assert ret.at["total", "cash_return_per_pound"] == pytest.approx(
        ret.at["total", "cash_released"] / ret.at["total", "extra_payment"])
    h = t["savings_by_holder"]
    pooled = h[(h["programme"] == "health_checks") & (h["period"] == "total")].iloc[0]
    assert pooled["cash_released"] == pytest.approx(1500 * rehab["activity_avoided"])
    assert pooled["savings"] == pytest.approx(ret.at["total", "downstream_spend_avoided"])


def test_terminal_value_per_programme_and_the_return_including_it(block_ward):
    """The terminal value is its own column on the total row (blank on the yearly rows): the
    terminal_value table's discounted values summed over health checks' one effect; the return
    including it = (discounted activity avoided at unit cost + terminal value) / discounted extra
    spend. Health checks is the only programme, so its terminal value is the summary's."""
    t = block_ward.tables
    ret = t["programme_returns"].set_index("period")
    tv = float(t["terminal_value"]["value"].sum())
    assert tv == pytest.approx(block_ward.summary["terminal_value"])
    assert ret.at["total", "discounted_terminal_value"] == pytest.approx(tv)
    assert ret.drop(index="total")["discounted_terminal_value"].isna().all()
    assert ret.at["total", "discounted_return_with_terminal_value"] == pytest.approx(
        (ret.at["total", "discounted_spend_avoided"] + tv) / ret.at["total", "discounted_extra_spend"])


def test_verifier_recomputes_the_cash_columns_and_catches_tampering(block_ward, tmp_path):
    block_ward.write(tmp_path / "out")
    tables, summary = read_result(tmp_path / "out")
    assert verify_tables(tables, summary).ok
    tamper = [("programme_returns", "cash_released", 1.1), ("programme_returns", "extra_payment", 1.1),
              ("programme_returns", "discounted_terminal_value", 1.1),
              ("programme_returns", "discounted_return_with_terminal_value", 1.1),
              ("programme_savings", "cash_released", 1.1), ("savings_by_holder", "cash_released", 1.1),
              ("savings_by_holder", "net_cash_saving", 1.1)]
    assert_tampering_caught(tables, summary, tamper)
    # cash said to be released at the block ward (which releases none) is caught
    t = {k: v.copy() for k, v in tables.items()}
    t["programme_savings"].loc[t["programme_savings"]["service"] == "ward", "cash_released"] = 1000.0
    assert not verify_tables(t, summary).ok


def test_payback_counts_programme_investment_not_demand_growth():
    """One holder, three years, two services. 'checks' (a prevention programme) is paid £300 above
    its baseline payment in 2026 and at baseline after. The ward (care, not a programme, no
    transition cost) grows with demand in 2026 (£100 above baseline) and then releases cash: £200
    below baseline in 2027, £150 in 2028.

        invested = 300, 0, 0 (the ward's £100 is demand growth, its own column)
        saved    = 0, 200, 150;  net -300, 200, 150;  cumulative -300, -100, +50  -> payback 2028.

    Counting any payment rise as investment (the old rule) gives cumulative -400, -200, -50: no
    payback within the plan."""
    rows = []
    for y, chk, ward in ((2026, 400.0, 1100.0), (2027, 100.0, 800.0), (2028, 100.0, 850.0)):
        rows += [{"service": "checks", "holder": "nhs", "year": y, "payment": chk, "baseline_payment": 100.0},
                 {"service": "ward", "holder": "nhs", "year": y, "payment": ward, "baseline_payment": 1000.0}]
    cr = pd.DataFrame(rows)
    none_tr, none_fund = pd.DataFrame(columns=TRANSITION_COLUMNS), pd.DataFrame(columns=FUND_COLUMNS)
    flow = cash_flow(cr, none_tr, none_fund, {"checks"}).set_index(["holder", "year"])
    nhs = flow.loc["nhs"]
    assert nhs["demand_growth"].tolist() == pytest.approx([100.0, 0.0, 0.0])
    assert nhs["invested"].tolist() == pytest.approx([300.0, 0.0, 0.0])
    assert nhs["saved"].tolist() == pytest.approx([0.0, 200.0, 150.0])
    assert nhs["cumulative_net"].tolist() == pytest.approx([-300.0, -100.0, 50.0])
    assert nhs["payback"].iat[0] == "2028" and nhs["payback_year"].iat[0] == 2028
    old = cash_flow(cr, none_tr, none_fund, {"checks", "ward"}).set_index(["holder", "year"]).loc["nhs"]
    assert old["cumulative_net"].tolist() == pytest.approx([-400.0, -200.0, -50.0])
    assert old["payback"].iat[0] == "not within the plan"


def test_compare_and_report_show_the_cash_flow(tmp_path):
    """compare has a cash_flow table with an instance level (per holder per year, payback year)
    and the report a cash section: the shipped cash_release instance's system pays back in 2027
    (its own hand-worked figures: tests/test_cash.py and the instance's header)."""
    path = str(ROOT / "instances" / "tiny" / "cash_release.yaml")
    cmp = optimiser.compare([path])
    flow = cmp.cash_flow.reset_index()
    assert list(flow.columns[:6]) == ["instance", "holder", "year", "quantity", "unit", "value"]
    pay = flow[(flow["holder"] == "system") & (flow["quantity"] == "payback year")]
    assert pay["value"].tolist() == [2027.0]
    assert "cash_flow" in cmp.tables()
    from optimiser.output.report import report_html

    page = report_html(cmp)
    assert "Cash flow per holder" in page and "system 2027" in page
