"""The cost–outcome Pareto frontier on tiny instances whose breakpoints are known by hand."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import optimiser
from optimiser.cli.main import EXIT_INVALID, EXIT_OK, main
from optimiser.errors import InstanceError
from optimiser.analyses.pareto import plan_table

from .conftest import base_instance


def three_routes(direction: str = "lower_is_better") -> dict:
    """200 patients of need a year (0.02 x 10,000), for two years at a discount rate of 0. Each is
    admitted (ward, 1,000; at least 40% must be) or seen in a clinic (1,200; at most 30%) or a hub
    (1,800; at most 30%). With no target, the cheapest plan admits everyone: 200 a year.

    Avoiding an admission costs 200 at the clinic (1,200 - 1,000) and 800 at the hub, so the
    frontier of cost against admissions (the total over the two years, L) has two pieces:

    * from L = 400 (cost 400,000) to L = 280: the clinic takes 120 patients over the two years
      (60 a year, its 30%) at 200 each: cost(L) = 400,000 + 200 (400 - L), so 424,000 at 280;
    * from L = 280 to L = 160 (the 40% floor, 80 a year): the hub takes 120 at 800 each:
      cost(L) = 424,000 + 800 (280 - L), so 520,000 at 160.

    The breakpoint is at L = 280; the marginal cost is 200 per admission avoided before it and
    800 after it."""
    data = base_instance(
        horizon={"base_year": 2025, "years": 2, "discount_rate": 0.0},
        sectors=["community", "acute"],
        services=[
            {"name": "clinic", "sector": "community", "unit_cost": 1200, "baseline_activity": 0},
            {"name": "hub", "sector": "community", "unit_cost": 1800, "baseline_activity": 0},
            {"name": "ward", "sector": "acute", "unit_cost": 1000, "baseline_activity": 200},
        ],
        segments=[{"name": "adults", "population": 10_000}],
        pathways=[{
            "name": "crisis",
            "nodes": [{"name": "need", "kind": "source", "incidence": 0.02},
                      {"name": "clinic_visit", "kind": "care", "service": "clinic"},
                      {"name": "hub_visit", "kind": "care", "service": "hub"},
                      {"name": "admission", "kind": "care", "service": "ward"},
                      {"name": "home", "kind": "sink"}],
            "edges": [{"from": "need", "to": "clinic_visit", "share": [0, 0.3]},
                      {"from": "need", "to": "hub_visit", "share": [0, 0.3]},
                      {"from": "need", "to": "admission", "share": [0.4, 1]},
                      {"from": "clinic_visit", "to": "home", "share": 1},
                      {"from": "hub_visit", "to": "home", "share": 1},
                      {"from": "admission", "to": "home", "share": 1}],
        }],
        outcomes=[{"name": "admissions", "terms": [{"pathway": "crisis", "node": "admission"}]},
                  {"name": "seen_outside_hospital", "direction": "higher_is_better",
                   "terms": [{"pathway": "crisis", "node": "clinic_visit"},
                             {"pathway": "crisis", "node": "hub_visit"}]}],
    )
    return data


def hand_cost(level: float) -> float:
    """See :func:`three_routes`."""
    return 400_000 + 200 * (400 - level) if level >= 280 else 424_000 + 800 * (280 - level)


def load(data):
    return optimiser.load_data(copy.deepcopy(data), file="three_routes.yaml")


def test_frontier_matches_the_hand_derivation_and_is_monotone():
    f = optimiser.pareto(load(three_routes()), "admissions", points=5)
    assert list(f["status"]) == ["optimal"] * 5
    assert list(f["level"]) == pytest.approx([400, 340, 280, 220, 160])
    assert list(f["outcome_total"]) == pytest.approx([400, 340, 280, 220, 160], rel=1e-7)
    assert list(f["discounted_cost"]) == pytest.approx([hand_cost(v) for v in (400, 340, 280, 220, 160)], rel=1e-8)
    assert f["marginal_cost"].isna().iloc[0]
    assert list(f["marginal_cost"].iloc[1:]) == pytest.approx([200, 200, 800, 800], rel=1e-6)
    # monotone: less of the outcome (better) never costs less; marginal cost never falls (convex)
    assert (np.diff(f["discounted_cost"]) >= -1e-6).all() and (np.diff(f["outcome_total"]) < 0).all()
    assert (np.diff(f["marginal_cost"].iloc[1:]) >= -1e-6).all()
    # the slope at the points strictly inside each piece is that piece's marginal cost
    assert f["shadow_price"].iloc[1] == pytest.approx(200) and f["shadow_price"].iloc[3] == pytest.approx(800)
    # the plan at each point: community spend is what the diverted patients cost
    assert list(f["spend:community"]) == pytest.approx([0, 60 * 1200, 120 * 1200, 120 * 1200 + 60 * 1800,
                                                        120 * 1200 + 120 * 1800], abs=0.05)
    assert list(f["spend:acute"]) == pytest.approx([1000 * v for v in (400, 340, 280, 220, 160)], abs=0.05)
    plans = plan_table(f)
    assert set(plans.columns) == {"point", "level", "sector", "year", "spend"}
    by_point = plans.groupby("point")["spend"].sum()
    assert list(by_point) == pytest.approx(list(f["total_cost"]))
    assert f.attrs["cheapest_cost"] == pytest.approx(400_000) and f.attrs["best_level"] == pytest.approx(160)


def test_three_points_land_on_the_breakpoint():
    f = optimiser.pareto(load(three_routes()), "admissions", points=3)
    assert list(f["outcome_total"]) == pytest.approx([400, 280, 160], rel=1e-7)
    assert list(f["discounted_cost"]) == pytest.approx([400_000, 424_000, 520_000], rel=1e-8)
    assert list(f["marginal_cost"].iloc[1:]) == pytest.approx([200, 800], rel=1e-6)


def test_a_higher_is_better_outcome_and_a_max_outcome_instance():
    """Patients seen outside hospital = 400 - admissions over the two years: the same frontier
    read the other way (from 0 to 240), whatever the file's objective mode."""
    data = three_routes()
    data["objective"] = {"mode": "max_outcome", "weights": {"admissions": 1}}
    f = optimiser.pareto(load(data), "seen_outside_hospital", points=3)
    assert list(f["outcome_total"]) == pytest.approx([0, 120, 240], rel=1e-7, abs=1e-5)
    assert list(f["discounted_cost"]) == pytest.approx([400_000, 424_000, 520_000], rel=1e-8)
    assert list(f["marginal_cost"].iloc[1:]) == pytest.approx([200, 800], rel=1e-6)
    assert f.attrs["direction"] == "higher_is_better"


def test_an_unknown_outcome_is_an_instance_error():
    with pytest.raises(InstanceError) as exc:
        optimiser.pareto(load(three_routes()), "bed_days")
    assert "--outcome" in str(exc.value) and "admissions, seen_outside_hospital" in str(exc.value)


@pytest.mark.slow
def test_cli_pareto_json_and_outputs(tmp_path):
    import yaml

    path = tmp_path / "three.yaml"
    path.write_text(yaml.safe_dump(three_routes(), sort_keys=False))
    out = tmp_path / "front"
    res = CliRunner().invoke(main, ["pareto", str(path), "--outcome", "admissions", "--points", "3", "--json",
                                    "--out", str(out)])
    assert res.exit_code == EXIT_OK, res.output
    doc = json.loads(res.stdout)
    assert [p["discounted_cost"] for p in doc["frontier"]] == pytest.approx([400_000, 424_000, 520_000])
    assert {"point", "sector", "year", "spend"} <= set(doc["plans"][0])
    assert (out / "frontier.csv").exists() and (out / "plans.csv").exists() and (out / "report.html").exists()
    assert pd.read_csv(out / "frontier.csv")["marginal_cost"].iloc[2] == pytest.approx(800)
    bad = CliRunner().invoke(main, ["pareto", str(path), "--outcome", "nope"])
    assert bad.exit_code == EXIT_INVALID
