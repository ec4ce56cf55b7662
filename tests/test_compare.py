"""Side-by-side comparison: the input differences and the differences in results agree with
separate solves; workers do not change the answer; the CLI writes and prints it."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

import optimiser
from optimiser.cli.main import EXIT_INVALID, EXIT_OK, main

from .conftest import ROOT

TINY = ROOT / "instances" / "tiny" / "two_services.yaml"


def budget_instance(budget: float) -> dict:
    """200,000 patients a year choose between a clinic (£1,500 each, up to 60% of them) and an
    admission (£1,000, at least 40%). The objective is the fewest admissions within the budget, so
    the budget binds: every clinic patient costs £500 more than an admission, and each extra £5m
    buys 10,000 fewer admissions a year. (Spend = 200m + 500 x clinic patients.)"""
    data = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    data["segments"][0]["population"] = 10_000_000
    data["services"][0]["unit_cost"] = 1500
    data["budget"]["pooled"] = budget
    data["targets"] = []
    data["objective"] = {"mode": "max_outcome", "weights": {"admissions": 1}}
    return data


def write(path, data):
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def budget_pair(tmp_path_factory):
    d = tmp_path_factory.mktemp("budget")
    a = write(d / "plan.yaml", budget_instance(250e6))
    b = write(d / "plan_plus_5m.yaml", budget_instance(255e6))
    return a, b, optimiser.compare([a, b], workers=1)


def test_budget_plus_5m_shows_exactly_that_input_difference(budget_pair):
    a, b, cmp = budget_pair
    assert cmp.labels == ["plan", "plan_plus_5m"]
    diff = cmp.input_differences
    assert list(diff.index) == ["budget.pooled"]
    assert diff.loc["budget.pooled"].tolist() == ["250000000", "255000000"]
    table = cmp.side_by_side("input_differences")
    assert table.to_dict("records") == [{"Field": "budget.pooled", "plan": "250000000",
                                         "plan_plus_5m": "255000000"}]


def test_budget_plus_5m_differences_match_separate_solves(budget_pair):
    a, b, cmp = budget_pair
    ra, rb = optimiser.solve(optimiser.load(a)), optimiser.solve(optimiser.load(b))
    assert ra.verify().ok and rb.verify().ok
    # what the docstring predicts: +£5m spend and 10,000 fewer admissions every year
    years = [2026, 2027]
    spend_a = ra.budget.set_index("year")["spend"]
    spend_b = rb.budget.set_index("year")["spend"]
    assert (spend_b - spend_a).tolist() == pytest.approx([5e6] * 2, rel=1e-6)
    adm = lambda r: r.outcomes.set_index("year")["value"]  # noqa: E731
    assert (adm(rb) - adm(ra)).tolist() == pytest.approx([-10_000] * 2, rel=1e-6)

    # totals: the difference column is the difference of the separate solves
    totals = cmp.side_by_side("totals").set_index("Quantity")
    d = totals["Δ plan_plus_5m (GBP)"]
    assert d["total cost"] == pytest.approx(rb.summary["total_cost"] - ra.summary["total_cost"], rel=1e-9)
    assert d["total cost"] == pytest.approx(10e6, rel=1e-6)
    assert totals.loc["total cost", "Δ% plan_plus_5m (%)"] == pytest.approx(
        100 * (rb.summary["total_cost"] / ra.summary["total_cost"] - 1), rel=1e-9)

    # spend by sector and year
    sbs = cmp.side_by_side("spend_by_sector").set_index(["Sector", "Year"])
    sa = ra.sector_shares.set_index(["sector", "year"])["spend"]
    sb = rb.sector_shares.set_index(["sector", "year"])["spend"]
    expected = (sb - sa).rename_axis(["Sector", "Year"])
    got = sbs["Δ plan_plus_5m (GBP)"].reindex(expected.index)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-9, atol=1e-3)
    # prevention (the clinic) takes the extra £5m: 10,000 more clinic patients x £1,500 = £15m,
    # acute 10,000 fewer x £1,000
    assert got.loc[("prevention", 2026)] == pytest.approx(15e6, rel=1e-6)
    assert got.loc[("acute", 2026)] == pytest.approx(-10e6, rel=1e-6)

    # outcomes, tidy: the difference is against the first run
    out = cmp.outcomes.loc["plan_plus_5m"]
    out = out[out["quantity"] == "value"].set_index("year")
    assert out.loc[years, "difference"].tolist() == pytest.approx((adm(rb) - adm(ra)).tolist(), rel=1e-9)
    assert out.loc[years, "difference_pct"].tolist() == pytest.approx(
        (100 * (adm(rb) - adm(ra)) / adm(ra)).tolist(), rel=1e-9)

    # the budget binds in both; its shadow price is reported for both runs
    sp = cmp.shadow_prices
    assert set(sp.loc[sp["constraint"] == "pooled_budget"].index) == {"plan", "plan_plus_5m"}
    binding = cmp.side_by_side("binding").set_index("Constraint")
    assert binding.loc["pooled_budget", "plan (rows)"] == 2


def test_tidy_tables_read_one_run_like_many(budget_pair):
    a, _, cmp = budget_pair
    single = optimiser.compare(a, workers=1)
    ra = optimiser.solve(optimiser.load(a))
    for c in (cmp, single):
        alloc = c.table("allocation")
        assert alloc.index.name == "instance"
        pd.testing.assert_frame_equal(alloc.loc[["plan"]].reset_index(drop=True), ra.allocation)
    assert single.labels == ["plan"] and list(single.input_differences.index) == []
    assert list(single.spend_by_sector.columns) == list(cmp.spend_by_sector.columns)
    assert single.runs.loc["plan", "status"] == "optimal"


@pytest.mark.slow
def test_workers_give_the_same_answer_in_the_same_order(tmp_path):
    data = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    data["scenarios"] = {"tight": {"overrides": {"targets[0].at_most": 130}},
                         "cheap": {"overrides": {"services[ward].unit_cost": 900}},
                         "impossible": {"overrides": {"targets[0].at_most": 10}}}
    path = write(tmp_path / "t.yaml", data)
    order = ["impossible", "cheap", "tight"]
    serial = optimiser.compare(path, scenarios=order, workers=1)
    parallel = optimiser.compare(path, scenarios=order, workers=2)
    assert serial.labels == parallel.labels == ["t", "t+impossible", "t+cheap", "t+tight"]
    for name in serial.tables():
        pd.testing.assert_frame_equal(serial.side_by_side(name), parallel.side_by_side(name))
    for label in serial.labels:
        for name, df in serial.tables_by_run[label].items():
            pd.testing.assert_frame_equal(df, parallel.tables_by_run[label][name])
    assert serial.runs["status"].tolist() == ["optimal", "infeasible", "optimal", "optimal"]
    # an infeasible run stays in the comparison, with no figures, and its input difference shown
    assert np.isnan(serial.runs.loc["t+impossible", "total_cost"])
    assert serial.input_differences.loc["targets[0].at_most"].tolist() == ["150", "10", "150", "130"]
    assert serial.runs.loc["t+cheap", "scenarios"] == "cheap"


@pytest.mark.slow
def test_files_and_scenarios_mix(tmp_path):
    data = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    a = write(tmp_path / "a.yaml", {**data, "scenarios": {"cheap": {"overrides": {"services[ward].unit_cost": 900}},
                                                         "tight": {"overrides": {"targets[0].at_most": 140}}}})
    b = write(tmp_path / "b.yaml", {**data, "name": "other place"})
    cmp = optimiser.compare([a, b], scenarios=["cheap+tight"], workers=1)
    assert cmp.labels == ["a", "a+cheap+tight", "b"]
    assert cmp.summaries["a+cheap+tight"]["scenarios"] == ["cheap", "tight"]
    assert set(cmp.input_differences.index) == {"name", "services[ward].unit_cost", "targets[0].at_most"}
    no_base = optimiser.compare([a], scenarios=["cheap"], include_base=False, workers=1)
    assert no_base.labels == ["a+cheap"]
    # Instance objects work too, with labels from a mapping
    inst = optimiser.load(a)
    cmp2 = optimiser.compare({"here": inst, "there": inst.with_overrides({"services[ward].unit_cost": 900})},
                             workers=1)
    assert cmp2.labels == ["here", "there"]
    assert list(cmp2.input_differences.index) == ["services[ward].unit_cost"]
    with pytest.raises(optimiser.InstanceError, match="found 'nope'"):
        optimiser.compare([a, b], scenarios=["nope"])


@pytest.mark.slow
def test_cli_compare_out_json_and_errors(tmp_path, budget_pair):
    a, b, _ = budget_pair
    runner = CliRunner()
    out = tmp_path / "cmp"
    r = runner.invoke(main, ["compare", str(a), str(b), "--out", str(out), "--workers", "1"])
    assert r.exit_code == EXIT_OK, r.output
    assert "budget.pooled" in r.stdout and "Spend by sector" in r.stdout
    for name in optimiser.compare.__globals__["TABLES"]:
        assert (out / f"{name}.csv").is_file(), name
    assert (out / "comparison.xlsx").is_file()
    doc = json.loads((out / "comparison.json").read_text())
    assert [run["instance"] for run in doc["runs"]] == ["plan", "plan_plus_5m"]
    assert (out / "runs" / "plan" / "allocation.csv").is_file()
    tables, summary = optimiser.read_result(out / "runs" / "plan_plus_5m")
    assert optimiser.verify_tables(tables, summary).ok
    # the folder reads back as the same comparison
    again = optimiser.Comparison.from_folder(out)
    assert again.labels == ["plan", "plan_plus_5m"]
    pd.testing.assert_frame_equal(again.side_by_side("input_differences"),
                                  pd.read_csv(out / "input_differences.csv", dtype=str))
    # an existing folder is not replaced without --overwrite, and is left as it was
    r = runner.invoke(main, ["compare", str(a), "--out", str(out), "--workers", "1"])
    assert r.exit_code != EXIT_OK and "--overwrite" in r.output
    assert (out / "runs" / "plan_plus_5m").is_dir()

    r = runner.invoke(main, ["compare", str(a), str(b), "--json", "--workers", "1"])
    assert r.exit_code == EXIT_OK
    doc = json.loads(r.stdout)
    assert doc["instances"] == ["plan", "plan_plus_5m"]
    assert doc["input_differences"] == [{"field": "budget.pooled",
                                         "values": {"plan": "250000000", "plan_plus_5m": "255000000"}}]
    tot = {(row["instance"], row["quantity"]): row for row in doc["totals"]}
    assert tot[("plan_plus_5m", "total cost")]["difference"] == pytest.approx(10e6, rel=1e-6)

    bad = write(tmp_path / "bad.yaml", {**budget_instance(1e6), "horizon": {"base_year": 2025, "yeers": 2}})
    r = runner.invoke(main, ["compare", str(a), str(bad)])
    assert r.exit_code == EXIT_INVALID and "Traceback" not in r.output
    assert f"{bad}: horizon.yeers" in r.output
    r = runner.invoke(main, ["compare", str(a), "--scenario", "nope"])
    assert r.exit_code == EXIT_INVALID and "--scenario" in r.output


def test_cli_compare_exits_0_with_an_infeasible_run():
    r = CliRunner().invoke(main, ["compare", str(TINY), str(TINY), "--set", "targets[0].at_most=10",
                                  "--workers", "1"])
    assert r.exit_code == EXIT_OK, r.output
    assert "infeasible" in r.stdout


def test_flatten_names_list_items_like_set_paths():
    from optimiser.analyses.compare import flatten

    flat = flatten(copy.deepcopy(budget_instance(1.0)))
    assert flat["services[ward].unit_cost"] == 1000
    assert flat["pathways[crisis].edges[0].share"] == [0.2, 0.6]
    assert flat["sectors"] == ["prevention", "acute"]
