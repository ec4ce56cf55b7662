"""Numbers, money, names, outcomes and colours as a planner reads them (optimiser/output/formatting.py), and
the structure of the reports built with them: every expected string below is written out by hand."""

from __future__ import annotations

import math
import re

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from optimiser.output import formatting as fm
from optimiser.output import htmlparts

from .conftest import ROOT

GOLDEN_KENT = ROOT / "instances" / "kent.yaml"


# ============================================================================ money and numbers

@pytest.mark.parametrize("value, expected", [
    (28_059_983_611, "£28.06bn"), (-4_300_000, "-£4.30m"), (655_000, "£655.00k"), (-655_000, "-£655.00k"),
    (999.4, "£999"), (1_000, "£1.00k"), (999_999, "£1.00m"), (999_994, "£999.99k"), (1_000_000, "£1.00m"), (1e9, "£1.00bn"),
    (0, "£0"), (0.0, "£0"), (-0.0, "£0"), (-0.3, "£0"), (612.35, "£612"), (float("nan"), "-"), (None, "-"),
])
def test_money(value, expected):
    assert fm.money(value) == expected


@pytest.mark.parametrize("value, expected", [
    (3_410_000, "+£3.41m"), (-4_300_000, "-£4.30m"), (0, "£0"), (0.2, "£0"), (float("nan"), "-"),
])
def test_money_signed_is_for_differences(value, expected):
    assert fm.money(value, signed=True) == expected


@pytest.mark.parametrize("value, expected", [
    (0.76, "£0.76"), (0.0123, "£0.0123"), (12.345, "£12.35"), (150, "£150"), (-0.5, "-£0.5"), (0, "£0"),
])
def test_money_precise_keeps_pence(value, expected):
    assert fm.money(value, precise=True) == expected


def test_money_in_other_currencies():
    assert fm.money(2_400_000, "EUR") == "€2.40m"
    assert fm.money(-2_400_000, "NOK") == "-2.40m NOK"  # no symbol: the code after the figure


@pytest.mark.parametrize("value, kwargs, expected", [
    (26_800, {}, "26,800"), (-35_649.4, {}, "-35,649"), (37.3, {}, "37.3"), (0.0523, {}, "0.0523"),
    (0, {}, "0"), (-0.0, {}, "0"), (float("nan"), {}, "-"), (None, {}, "-"),
    (89.5, {"signed": True}, "+89.5"), (-26.3, {"signed": True}, "-26.3"), (0, {"signed": True}, "0"),
    (12.345, {"precise": True}, "12.35"), (1.5, {"precise": True}, "1.5"), (2.0, {"precise": True}, "2"),
])
def test_number(value, kwargs, expected):
    assert fm.number(value, **kwargs) == expected


def test_percent_and_points():
    assert fm.percent(0.0252) == "2.5%"
    assert fm.points(0.004) == "+0.40 pp" and fm.points(-0.004) == "-0.40 pp" and fm.points(0) == "+0.00 pp"
    assert fm.percent(float("nan")) == "-" and fm.points(None) == "-"


@pytest.mark.parametrize("values, expected", [
    ([11.2e9, 3e9], (1e9, "£bn")), ([-4.3e6, 1e5], (1e6, "£m")), ([999.0], (1.0, "£")),
    ([2500, float("nan")], (1e3, "£k")), ([], (1.0, "£")), ([float("nan")], (1.0, "£")),
])
def test_money_scale(values, expected):
    assert fm.money_scale(values, "GBP") == expected


def test_money_scale_without_a_symbol():
    assert fm.money_scale([5e9], "NOK") == (1e9, "NOK bn")


# ============================================================================ names and outcomes

@pytest.mark.parametrize("name, expected", [
    ("emergency_admission", "Emergency admission"), ("nhs_icb", "NHS ICB"), ("ae_attendance", "A&E attendance"),
    ("qalys", "QALYs"), ("cvd_diabetes", "CVD diabetes"), ("need", "Need"), ("already in words", "already in words"),
])
def test_words(name, expected):
    assert fm.words(name) == expected


def test_a_negative_qaly_change_is_shown_as_qalys_lost():
    view = fm.OutcomeView("qalys", "QALYs", "higher_is_better", [-35_649.4, -37_347.0])
    assert view.as_loss and view.label == "QALYs lost" and view.better == "lower is better"
    assert view.value(-35_649.4) == 35_649.4
    assert view.targets(-40_000, float("nan"))[0] != view.targets(-40_000, float("nan"))[0]  # NaN: no target
    assert view.targets(-40_000, float("nan"))[1] == 40_000  # "at least -40,000" = "at most 40,000 lost"
    assert "qalys" in view.note and "positive" in view.note


def test_other_outcomes_keep_their_sign():
    gained = fm.OutcomeView("qalys", "QALYs", "higher_is_better", [120.0, -3.0])  # mixed: not a loss
    assert not gained.as_loss and gained.label == "QALYs" and gained.value(-3.0) == -3.0 and gained.note == ""
    adm = fm.OutcomeView("emergency_admissions", "admissions", "lower_is_better", [26_800])
    assert adm.label == "Emergency admissions" and adm.better == "lower is better"
    beds = fm.OutcomeView("falls", "bed days", "lower_is_better", [5.0])
    assert beds.label == "Falls (bed days)"


def test_present_outcomes_flips_a_loss_and_its_targets_but_not_the_record():
    tidy = pd.DataFrame({"outcome": ["qalys", "qalys", "deaths"], "year": [2026, 2026, 2026],
                         "quantity": ["value", "target (at least)", "value"], "unit": ["QALYs", "QALYs", "deaths"],
                         "value": [-100.0, -120.0, 7.0], "difference": [-4.0, 0.0, 1.0],
                         "difference_pct": [-4.0, 0.0, 16.0]}, index=pd.Index(["b", "b", "b"], name="instance"))
    views = {"qalys": fm.OutcomeView("qalys", "QALYs", "higher_is_better", [-100.0, -120.0]),
             "deaths": fm.OutcomeView("deaths", "deaths", "lower_is_better", [7.0])}
    shown = fm.present_outcomes(tidy, views)
    assert shown["outcome"].tolist() == ["QALYs lost", "QALYs lost", "Deaths"]
    assert shown["quantity"].tolist() == ["value", "target (at most)", "value"]
    assert shown["value"].tolist() == [100.0, 120.0, 7.0]
    assert shown["difference"].tolist() == [4.0, 0.0, 1.0]  # 4 more QALYs lost
    assert tidy["value"].tolist() == [-100.0, -120.0, 7.0]  # the table itself keeps the model's signs


# ============================================================================ colours and HTML cells

def test_a_sector_has_one_colour_whatever_its_place():
    assert fm.sector_colour("prevention") == "#2ca02c"
    assert fm.sector_colour("housing") == fm.sector_colour("housing")
    assert fm.sector_colour("housing") in fm.EXTRA


@pytest.mark.parametrize("value, header, expected", [
    (-27_207_931.0, "Δ run (GBP)", ("-27,207,931", "diff-neg")), (23_284.0, "Δ run (GBP)", ("+23,284", "diff-pos")),
    (0.0, "Δ run (GBP)", ("0", "")), (-0.1, "Δ% run (%)", ("-0.10%", "diff-neg")), (2026, "Year", ("2026", "")),
    (0.0252, "Share (fraction)", ("2.52%", "")), (0.004, "Δ run (fraction)", ("+0.40 pp", "diff-pos")),
    (float("nan"), "x", ("–", "")), (12.3456, "x", ("12.35", "")), (-0.0, "x", ("0", "")), (True, "x", ("yes", "")),
    ("a<b", "x", ("a&lt;b", "")),
])
def test_html_cell(value, header, expected):
    assert htmlparts.cell(value, header) == expected


def test_wide_tables_scroll_sideways():
    html = htmlparts.table(pd.DataFrame({f"column {i}": [1.0] for i in range(40)}))
    assert html.startswith('<div class="table">')
    assert re.search(r"div\.table \{[^}]*overflow-x: auto", htmlparts.CSS)


# ============================================================================ report structure

def _shares(order):
    rows = []
    for year in (2025, 2026):
        for k, s in enumerate(order):
            rows.append({"sector": s, "year": year, "spend": 100.0 * (k + 1), "share": (k + 1) / 6})
    return pd.DataFrame(rows)


def test_the_same_sector_has_the_same_colour_in_two_reports(monkeypatch):

    from optimiser.output import report

    from optimiser.analyses import sweep

    def colours(fig):
        return {t.name: (t.marker.color if t.type == "bar" else t.line.color) for t in fig.data}

    a = colours(report.fig_spend({"sector_shares": _shares(["housing", "prevention", "acute"])},
                                 {"base_year": 2025, "currency": "GBP"}))
    b = colours(report.fig_spend({"sector_shares": _shares(["acute", "prevention", "housing"])},
                                 {"base_year": 2025, "currency": "GBP"}))
    assert a["Housing"] == b["Housing"] and a["Prevention"] == b["Prevention"] == "#2ca02c"
    # ... and in a sweep report
    pages = []
    monkeypatch.setattr(htmlparts, "page", lambda title, lines, figures, tables: pages.append(figures) or "")
    table = pd.DataFrame({"point": [0, 1], "x": [1, 2], "status": ["optimal", "optimal"],
                          "discounted_cost": [2.1e9, 2.2e9], "share:prevention:2026": [0.1, 0.2],
                          "share:housing:2026": [0.9, 0.8]})
    table.attrs.update(vary={"x": [1, 2]}, years=[2026], currency="GBP", discount_rate=0.035)
    sweep.report_html(table)
    cost, shares = (fig for _, fig in pages[0])
    s = colours(shares)
    assert s["Housing"] == a["Housing"] and s["Prevention"] == a["Prevention"]
    # the sweep's cost axis is in £bn, not plotly's "2.1B"
    assert cost.layout.yaxis.title.text == "discounted cost (£bn, 3.5% a year)"
    assert list(cost.data[0].y) == pytest.approx([2.1, 2.2])


@pytest.fixture(scope="module")
def kent_tables(tmp_path_factory):
    from click.testing import CliRunner

    from optimiser.cli.main import main
    from optimiser.output.files import read_result

    out = tmp_path_factory.mktemp("kent") / "k"
    r = CliRunner().invoke(main, ["solve", str(GOLDEN_KENT), "--out", str(out)])
    assert r.exit_code == 0, r.output
    return read_result(out), r.output


@pytest.mark.slow
def test_kent_terminal_says_qalys_lost(kent_tables):
    (tables, _), text = kent_tables
    q = tables["outcomes"][tables["outcomes"]["outcome"] == "qalys"].sort_values("year")
    assert (q["value"] < 0).all()  # the record keeps the model's sign ...
    first = f"{-q['value'].iloc[0]:,.0f}"  # ... the terminal shows the loss, positive
    assert re.search(rf"QALYs lost\s+│ {q['year'].iloc[0]} │\s+{first} ", text)
    assert "│ qalys " not in text and f"-{first}" not in text
    assert "QALYs lost = minus the outcome 'qalys'" in text


@pytest.mark.slow
def test_kent_report_structure(kent_tables):
    from optimiser.output import report

    (tables, summary), _ = kent_tables
    fig = report.fig_outcomes(tables, summary)
    panels = [k for k in fig.layout if k.startswith("yaxis")]
    assert len(panels) == 4 and all(fig.layout[k].title.text for k in panels)  # every panel has a y title
    assert fig.layout.xaxis4.title.text == "year"
    titles = [a.text for a in fig.layout.annotations]
    assert "QALYs lost (lower is better)" in titles and not any("qalys" in t for t in titles)
    # the title sits above the first panel's title: a top margin taller than the title
    assert fig.layout.margin.t >= 100
    for pathway in ("falls_frailty", "cvd_diabetes", "copd"):
        s = report.fig_flows(tables, summary, pathway, 2030).data[0]
        labels = [x for x in s.node.label if x]
        assert labels and not any(re.search(r"[a-z]_[a-z]", x) for x in labels), labels
        g = nx.DiGraph(list(zip(s.link.source, s.link.target)))
        assert nx.is_directed_acyclic_graph(g), f"{pathway}: a loop would draw as a band curling back"
    s = report.fig_flows(tables, summary, "falls_frailty", 2030).data[0]
    assert any(x.startswith("readmitted to frailty admission") for x in s.node.customdata)


def test_comparison_is_drawn_as_the_difference_from_the_first_run():
    from optimiser.output import report

    class Cmp:
        labels = ["base", "variant"]
        currency = "GBP"
        runs = pd.DataFrame({"total_cost": [28.06e9, 28.03e9], "discounted_cost": [25.31e9, 25.29e9]},
                            index=["base", "variant"])
        outcomes = pd.DataFrame()

        def table(self, name):
            return pd.DataFrame()

    figs = {i: f for i, _, f in report._comparison_figures(Cmp())}
    bars = figs["cmp-costs"].data
    assert [b.name for b in bars] == ["variant"]  # the first run is the zero line
    assert list(bars[0].y) == pytest.approx([-30.0, -20.0])  # £m: 28.03bn - 28.06bn, 25.29bn - 25.31bn
    assert figs["cmp-costs"].layout.yaxis.title.text == "difference from base (£m)"
    assert list(bars[0].text) == ["-0.1%", "-0.1%"]
    assert not math.isnan(np.float64(bars[0].y[0]))
