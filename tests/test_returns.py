"""Return on investment of prevention programmes and who saves, against figures worked out by hand.

The instance (``returns_instance``): base year 2025, two planning years, discount rate 10%
(discount factors 1/1.1 and 1/1.21). One segment of 1,000 people; one source ``need`` with
incidence 0.1, so baseline need = 0.1 x 1,000 = 100 cases a year. Fixed shares:

    need -> admission (ward, 1 unit)                     1
    admission -> home 0.7, -> care (care_home, 2 units) 0.2, -> readmission (ward, 1 unit) 0.1
    readmission -> home 1;  care -> home 1

Per case entering at ``need`` (visits along the plan's shares): admission 1, readmission 0.1,
care 0.2. So per case: ward activity 1 + 0.1 = 1.1 units x £1,000 = £1,100; care_home activity
0.2 x 2 = 0.4 units x £500 = £200; downstream spend £1,300 a case. Outcomes: admissions
(admission + readmission) 1.1 a case; QALYs (higher is better, -2 at care) -0.4 a case, so 0.4
QALYs gained per case avoided.

Two prevention programmes, both held by the council (sector prevention); the ward is the NHS's
(acute), the care home the council's (social_care):

* ``coaching``: £100 a unit, base-year activity 10 (base spend £1,000), capacity 50, curve
  (0, 0) (10, 0.1) (60, 0.35): each unit beyond 10 avoids 0.005 x 100 = 0.5 cases worth £650 for
  £100, so min cost buys all 50. Net reduction = g(50) - g(10) = 0.3 - 0.1 = 0.2; cases avoided
  = 100 x 0.2 = 20 a year; extra spend = 5,000 - 1,000 = £4,000 a year.
* ``leaflets``: £20 a unit, no base-year activity, fixed at 100 units (£2,000), curve (0, 0)
  (100, 0.05): net reduction 0.05; cases avoided 5 a year; extra spend £2,000.

Both act on one source: incidence falls by 0.2 + 0.05 = 0.25 (need 75); each programme gets its
own net reduction's share (20 and 5 cases), which add up to the 25 avoided.

coaching, each year: admissions avoided 20 x 1.1 = 22; QALYs gained 20 x 0.4 = 8; downstream
spend avoided 20 x 1,300 = £26,000 (NHS 22,000 = 84.6%, council 4,000 = 15.4%); net cost 4,000 -
26,000 = -£22,000 (it saves money); return per £1 = 26,000 / 4,000 = 6.5; £ per admission avoided
= 4,000 / 22 = 181.82 (net -1,000); £ per QALY gained = 4,000 / 8 = 500 (net -2,750).
leaflets, each year: admissions avoided 5.5; £ per admission 2,000 / 5.5 = 363.64; spend avoided
£6,500 (NHS 5,500, council 1,000); return per £1 = 3.25.
Over the plan (both years alike): coaching's extra spend 8,000, discounted 4,000 x (1/1.1 +
1/1.21) = 6,942.15; spend avoided 52,000, discounted 45,123.97; ratios as in each year.
All programmes, each year: the council invests 6,000; the NHS saves 27,500, the council 5,000.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import optimiser

from .crosscheck import assert_tampering_caught
from optimiser.input.loading import load_data
from optimiser.output.terminal import print_result
from optimiser.analyses.compare import Comparison
from optimiser.output.files import read_result
from optimiser.solving.verify import verify_tables

D1, D2 = 1 / 1.1, 1 / 1.21

RETURNS_INSTANCE = {
    "format_version": 1,
    "name": "returns by hand",
    "horizon": {"base_year": 2025, "years": 2, "discount_rate": 0.1},
    "budget": {"holders": [{"name": "nhs", "sectors": ["acute"], "budget": 1_000_000},
                           {"name": "council", "sectors": ["prevention", "social_care"], "budget": 500_000}],
               "arrangement": "pooled"},
    "sectors": ["prevention", "social_care", "acute"],
    "services": [
        {"name": "coaching", "sector": "prevention", "unit_cost": 100, "baseline_activity": 10,
         "capacity": {"max": 50}},
        {"name": "leaflets", "sector": "prevention", "unit_cost": 20, "baseline_activity": 0,
         "capacity": {"min": 100, "max": 100}},
        {"name": "care_home", "sector": "social_care", "unit_cost": 500, "baseline_activity": 20},
        {"name": "ward", "sector": "acute", "unit_cost": 1000, "baseline_activity": 110},
    ],
    "segments": [{"name": "adults", "population": 1000}],
    "pathways": [{
        "name": "crisis",
        "nodes": [{"name": "need", "kind": "source", "incidence": 0.1},
                  {"name": "admission", "kind": "care", "service": "ward"},
                  {"name": "readmission", "kind": "care", "service": "ward"},
                  {"name": "care", "kind": "care", "service": "care_home", "units_per_patient": 2},
                  {"name": "home", "kind": "sink"}],
        "edges": [{"from": "need", "to": "admission", "share": 1},
                  {"from": "admission", "to": "home", "share": 0.7},
                  {"from": "admission", "to": "care", "share": 0.2},
                  {"from": "admission", "to": "readmission", "share": 0.1},
                  {"from": "readmission", "to": "home", "share": 1},
                  {"from": "care", "to": "home", "share": 1}]}],
    "prevention_effects": [
        {"name": "coaching_cuts_crises", "service": "coaching", "pathway": "crisis", "sources": ["need"], "lag": 0,
         "response": [[0, 0], [10, 0.1], [60, 0.35]]},
        {"name": "leaflets_cut_crises", "service": "leaflets", "pathway": "crisis", "sources": ["need"], "lag": 0,
         "response": [[0, 0], [100, 0.05]]}],
    "outcomes": [
        {"name": "admissions", "unit": "admissions",
         "terms": [{"pathway": "crisis", "node": "admission"}, {"pathway": "crisis", "node": "readmission"}]},
        {"name": "qalys", "unit": "QALYs", "direction": "higher_is_better",
         "terms": [{"pathway": "crisis", "node": "care", "weight": -2}]}],
}


def returns_instance(**overrides):
    return load_data(copy.deepcopy(RETURNS_INSTANCE), overrides=overrides or None)


@pytest.fixture(scope="module")
def solved():
    r = optimiser.solve(returns_instance())
    assert r.status == optimiser.Status.OPTIMAL
    return r


def _row(df, **keys):
    m = np.ones(len(df), dtype=bool)
    for k, v in keys.items():
        m &= (df[k].astype(str) == str(v)).to_numpy()
    assert m.sum() == 1, (keys, m.sum())
    return df[m].iloc[0]


def test_cases_avoided_split_between_effects_on_one_source(solved):
    """Each effect's cases = baseline need x its own net reduction; together the source's cases avoided."""
    c = solved.tables["programme_cases"]
    for y in (2026, 2027):
        a = _row(c, programme="coaching", year=y)
        b = _row(c, programme="leaflets", year=y)
        assert a["baseline_need"] == pytest.approx(100)
        assert a["net_reduction"] == pytest.approx(0.2, abs=1e-9)
        assert a["cases_avoided"] == pytest.approx(20, abs=1e-6)
        assert b["cases_avoided"] == pytest.approx(5, abs=1e-6)
        need = _row(solved.need, year=y)
        assert need["baseline_need"] - need["need"] == pytest.approx(a["cases_avoided"] + b["cases_avoided"])


def test_per_case_consequences_follow_the_plans_paths(solved):
    """Per case at need: ward 1.1 units (£1,100), care_home 0.4 units (£200), 1.1 admissions, -0.4 QALYs."""
    cc = solved.tables["case_consequences"]
    for y in (2026, 2027):
        ward = _row(cc, year=y, kind="activity", item="ward")
        care = _row(cc, year=y, kind="activity", item="care_home")
        assert ward["per_case"] == pytest.approx(1.1) and ward["spend_per_case"] == pytest.approx(1100)
        assert care["per_case"] == pytest.approx(0.4) and care["spend_per_case"] == pytest.approx(200)
        assert _row(cc, year=y, kind="outcome", item="admissions")["per_case"] == pytest.approx(1.1)
        assert _row(cc, year=y, kind="outcome", item="qalys")["per_case"] == pytest.approx(-0.4)


def test_returns_cost_per_outcome_and_discounting_by_hand(solved):
    ret = solved.tables["programme_returns"]
    for y, d in ((2026, D1), (2027, D2)):
        r = _row(ret, programme="coaching", period=y)
        assert r["paid_by"] == "council"
        assert r["spend"] == pytest.approx(5000) and r["base_spend"] == pytest.approx(1000)
        assert r["extra_spend"] == pytest.approx(4000)
        assert r["cases_avoided"] == pytest.approx(20)
        assert r["downstream_spend_avoided"] == pytest.approx(26000)
        assert r["net_cost"] == pytest.approx(-22000)
        assert r["return_per_pound"] == pytest.approx(6.5)
        assert r["discount_factor"] == pytest.approx(d)
        assert r["discounted_net_cost"] == pytest.approx(-22000 * d)
        assert _row(ret, programme="leaflets", period=y)["return_per_pound"] == pytest.approx(3.25)
    t = _row(ret, programme="coaching", period="total")
    assert t["extra_spend"] == pytest.approx(8000)
    assert t["discounted_extra_spend"] == pytest.approx(4000 * (D1 + D2))
    assert t["discounted_spend_avoided"] == pytest.approx(26000 * (D1 + D2))
    assert math.isnan(t["discount_factor"])
    assert t["discounted_return_per_pound"] == pytest.approx(6.5)

    po = solved.tables["programme_outcomes"]
    adm = _row(po, programme="coaching", period=2026, outcome="admissions")
    assert adm["measure"] == "admissions avoided"
    assert adm["improvement"] == pytest.approx(22)
    assert adm["cost_per_unit"] == pytest.approx(4000 / 22)
    assert adm["net_cost_per_unit"] == pytest.approx(-1000)
    q = _row(po, programme="coaching", period="total", outcome="qalys")
    assert q["measure"] == "qalys gained"
    assert q["improvement"] == pytest.approx(16)
    assert q["discounted_improvement"] == pytest.approx(8 * (D1 + D2))
    assert q["discounted_cost_per_unit"] == pytest.approx(500)
    assert q["discounted_net_cost_per_unit"] == pytest.approx(-22000 / 8)
    assert _row(po, programme="leaflets", period=2027, outcome="admissions")["cost_per_unit"] == \
        pytest.approx(2000 / 5.5)


def test_who_saves_against_who_pays(solved):
    sav = solved.tables["programme_savings"]
    assert _row(sav, programme="coaching", period=2026, service="ward")["spend_avoided"] == pytest.approx(22000)
    assert _row(sav, programme="coaching", period=2026, service="care_home")["activity_avoided"] == pytest.approx(8)
    h = solved.tables["savings_by_holder"]
    nhs = _row(h, programme="coaching", period=2026, holder="nhs")
    council = _row(h, programme="coaching", period=2026, holder="council")
    assert nhs["savings"] == pytest.approx(22000) and nhs["invested"] == 0
    assert nhs["share_of_savings"] == pytest.approx(22 / 26)
    assert council["savings"] == pytest.approx(4000) and council["invested"] == pytest.approx(4000)
    assert council["net_saving"] == pytest.approx(0)
    everyone = _row(h, programme="all programmes", period=2027, holder="council")
    assert everyone["invested"] == pytest.approx(6000) and everyone["savings"] == pytest.approx(5000)
    total = _row(h, programme="all programmes", period="total", holder="nhs")
    assert total["savings"] == pytest.approx(55000)
    assert total["discounted_savings"] == pytest.approx(27500 * (D1 + D2))
    assert total["share_of_savings"] == pytest.approx(27500 / 32500)


def test_a_programme_cut_below_its_base_year_adds_cases_and_says_so():
    """coaching capped at 5 units: extra spend 500 - 1,000 = -£500; net reduction g(5) - g(10) =
    0.05 - 0.1 = -0.05: 5 cases added a year; no cost per admission (it saves spend and loses health)."""
    from rich.console import Console

    r = optimiser.solve(returns_instance(**{"services[coaching].capacity.max": 5}))
    row = _row(r.tables["programme_returns"], programme="coaching", period=2026)
    assert row["extra_spend"] == pytest.approx(-500)
    assert row["cases_avoided"] == pytest.approx(-5)
    adm = _row(r.tables["programme_outcomes"], programme="coaching", period=2026, outcome="admissions")
    assert adm["improvement"] == pytest.approx(-5.5) and math.isnan(adm["cost_per_unit"])
    assert r.verify().ok, str(r.verify())
    console = Console(width=200, record=True)
    print_result(r, console=console)
    text = console.export_text()
    assert "less (cut)" in text and "more (cut)" in text
    assert "QALYs" in text and "added (cut)" in text


def test_terminal_section_in_planner_words(solved):
    from rich.console import Console

    console = Console(width=200, record=True)
    print_result(solved, console=console)
    text = console.export_text()
    assert "Prevention programmes: investment and return" in text
    assert "QALYs gained" in text and "admissions avoided" in text
    assert "Who saves" in text and "£6.50" in text


def test_verifier_recomputes_every_figure_and_catches_tampering(solved, tmp_path):
    assert solved.verify().ok, str(solved.verify())
    solved.write(tmp_path / "out")
    tables, summary = read_result(tmp_path / "out")
    assert verify_tables(tables, summary).ok
    assert "programme returns" in verify_tables(tables, summary).checks_run
    tamper = [("programme_returns", "return_per_pound", 1.01), ("programme_returns", "discounted_net_cost", 1.01),
              ("programme_outcomes", "cost_per_unit", 0.9), ("programme_savings", "spend_avoided", 1.1),
              ("savings_by_holder", "share_of_savings", 0.5), ("case_consequences", "per_case", 1.2),
              ("programme_cases", "cases_avoided", 1.05)]
    assert_tampering_caught(tables, summary, tamper)
    # a row left out, or a ratio blanked, is caught too
    t = {k: v.copy() for k, v in tables.items()}
    t["savings_by_holder"] = t["savings_by_holder"].iloc[1:]
    assert not verify_tables(t, summary).ok
    t = {k: v.copy() for k, v in tables.items()}
    t["programme_returns"].loc[0, "return_per_pound"] = np.nan
    assert not verify_tables(t, summary).ok


def test_tables_without_prevention_or_holders(tmp_path):
    """No prevention effects: the tables exist and are empty. No holders: savings land on the
    pooled budget."""
    r = optimiser.solve(optimiser.load(optimiser.__path__[0] + "/../instances/tiny/two_services.yaml"))
    for name in ("programme_returns", "programme_outcomes", "programme_savings", "savings_by_holder",
                 "programme_cases", "case_consequences"):
        assert name in r.tables and r.tables[name].empty
    data = copy.deepcopy(RETURNS_INSTANCE)
    data["budget"] = {"pooled": 2_000_000}
    r = optimiser.solve(load_data(data))
    h = r.tables["savings_by_holder"]
    assert set(h["holder"]) == {"pooled budget"}
    assert _row(h, programme="coaching", period=2026, holder="pooled budget")["savings"] == pytest.approx(26000)
    assert r.verify().ok, str(r.verify())


def test_compare_side_by_side_has_an_instance_level():
    """coaching capped at 50 against 30: cases 2 x 20 = 40 against 2 x 10 = 20 (g(30) - g(10) = 0.1)."""
    a = optimiser.solve(returns_instance())
    b = optimiser.solve(returns_instance(**{"services[coaching].capacity.max": 30}))
    cmp = Comparison.from_results({"fifty": a, "thirty": b})
    pr = cmp.programme_returns
    assert pr.index.name == "instance" and set(pr.index) == {"fifty", "thirty"}
    flat = pr.reset_index()
    cases = flat[(flat["programme"] == "coaching") & (flat["quantity"] == "cases avoided")].set_index("instance")
    assert cases.loc["fifty", "value"] == pytest.approx(40)
    assert cases.loc["thirty", "value"] == pytest.approx(20)
    assert cases.loc["thirty", "difference"] == pytest.approx(-20)
    share = flat[(flat["programme"] == "coaching") & (flat["quantity"] == "share of savings to nhs")]
    assert share["value"].to_numpy() == pytest.approx([22 / 26, 22 / 26])
    wide = cmp.side_by_side("programme_returns")
    assert "fifty" in " ".join(wide.columns) and "Δ thirty" in " ".join(wide.columns)
    assert "programme_returns" in cmp.tables()


def test_report_has_the_returns_table_and_plot(solved):
    from optimiser.analyses.report_sources import report_html

    text = report_html({"hand": solved})
    assert "Prevention programmes: return on investment" in text
    assert 'data-plot="plot-hand-returns"' in text
    assert "Who saves" in text and "Cost per outcome" in text
    two = report_html({"hand": solved, "again": solved})
    assert "Prevention programmes over the whole plan" in two


def test_many_plan_loops_can_leave_the_return_tables_out():
    """Session(returns=False), as sweeps use it: the same plan, without the six return tables, and
    the verifier checks the rest."""
    plain = optimiser.Session(returns_instance(), returns=False).solve()
    full = optimiser.Session(returns_instance()).solve()
    assert plain.objective == pytest.approx(full.objective)
    assert "programme_returns" not in plain.tables and "programme_returns" in full.tables
    assert plain.verify().ok and full.verify().ok
