"""Uncertain inputs: the file section and its checks, seeded reproducible samples, the central
plan held fixed against samples worked out by hand, the summaries, and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

import optimiser
from optimiser.cli.main import EXIT_INVALID, EXIT_OK, main
from optimiser.errors import InstanceError
from optimiser.analyses.uncertainty import central_summary, draw, quantiles
from optimiser.input.uncertainty_section import Distribution, instance_distributions

from .conftest import ROOT

TINY = ROOT / "instances" / "tiny" / "two_services.yaml"


def tiny_data(**uncertainty) -> dict:
    data = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    if uncertainty:
        data["uncertainty"] = uncertainty
    return data


def load(data, **kw):
    return optimiser.load_data(data, file="tiny.yaml", **kw)


SECTION = {"pathways[0].nodes[need].incidence": {"triangular": [0.018, 0.02, 0.024]},
           "services[ward].unit_cost": {"uniform": [900, 1100]},
           "services[clinic].unit_cost": {"normal": {"mean": 100, "sd": 20, "low": 80, "high": 130}}}


def test_the_section_is_kept_on_the_instance_and_changes_nothing_in_a_plain_solve():
    inst = load(tiny_data(**SECTION))
    d = instance_distributions(inst)
    assert list(d) == list(SECTION)
    assert d["services[ward].unit_cost"] == Distribution("uniform", low=900, high=1100)
    assert "uncertainty" not in inst.raw
    assert optimiser.solve(inst).objective == pytest.approx(184_000)


def test_every_problem_of_the_section_is_reported_at_once():
    bad = {
        "services[surgery].unit_cost": {"uniform": [1, 2]},           # no such service
        "services[ward].unit_costs": {"uniform": [1, 2]},             # no such field
        "services[ward]": {"uniform": [1, 2]},                        # a section, not a number
        "services[ward].sector": {"uniform": [1, 2]},                 # text, not a number
        "budget.pooled": {"triangular": [3, 1, 2]},                   # not in order
        "horizon.discount_rate": {"beta": [1, 2]},                    # unknown distribution
        "services[clinic].unit_cost": {"normal": {"mean": 1, "sd": 0, "hi": 3}},  # sd, and 'hi'
        "segments[0].population": {"uniform": [1, "x"]},
    }
    with pytest.raises(InstanceError) as exc:
        load(tiny_data(**bad))
    text = str(exc.value)
    paths = [p.path for p in exc.value.problems]
    assert all(p.file == "tiny.yaml" for p in exc.value.problems)
    for path in ("uncertainty.services[surgery].unit_cost", "uncertainty.services[ward].unit_costs",
                 "uncertainty.services[ward]", "uncertainty.services[ward].sector",
                 "uncertainty.budget.pooled.triangular", "uncertainty.horizon.discount_rate",
                 "uncertainty.services[clinic].unit_cost.normal.hi", "uncertainty.segments[0].population.uniform"):
        assert path in paths, (path, text)
    assert "no item 'surgery'" in text and "no field 'unit_costs'" in text and "triangular" in text
    with pytest.raises(InstanceError, match="uncertainty: expected a mapping"):
        load(tiny_data() | {"uncertainty": [1, 2]})


def test_draws_are_seeded_reproducible_and_within_their_bounds():
    dists = instance_distributions(load(tiny_data(**SECTION)))
    a, b = draw(dists, 400, seed=7), draw(dists, 400, seed=7)
    assert a == b
    assert draw(dists, 5, seed=7) == a[:5]  # sample i does not depend on how many are drawn
    assert draw(dists, 5, seed=8) != a[:5]
    arr = pd.DataFrame(a)
    tri = arr["pathways[0].nodes[need].incidence"]
    assert tri.between(0.018, 0.024).all() and tri.mean() == pytest.approx((0.018 + 0.02 + 0.024) / 3, rel=0.02)
    assert arr["services[ward].unit_cost"].between(900, 1100).all()
    norm = arr["services[clinic].unit_cost"]
    assert norm.between(80, 130).all()
    assert norm.mean() == pytest.approx(dists["services[clinic].unit_cost"].expectation(), rel=0.03)


@pytest.mark.slow
def test_same_seed_same_table_and_workers_do_not_change_it():
    inst = load(tiny_data(**SECTION))
    a = optimiser.uncertainty(inst, samples=6, seed=3)
    b = optimiser.uncertainty(inst, samples=6, seed=3)
    pd.testing.assert_frame_equal(a, b)
    c = optimiser.uncertainty(inst, samples=6, seed=3, workers=2)
    pd.testing.assert_frame_equal(a, c)
    assert not a["discounted_cost"].equals(optimiser.uncertainty(inst, samples=6, seed=4)["discounted_cost"])
    # each sample is the instance with the sampled values, solved on its own
    r = a.iloc[2]
    alone = optimiser.solve(inst.with_overrides({p: r[p] for p in SECTION}))
    assert r["discounted_cost"] == pytest.approx(alone.objective, rel=1e-9)


def one(inst, path, value, **kw):
    return optimiser.uncertainty(inst, samples=1, seed=0, distributions={path: {"uniform": [value, value]}},
                                 **kw).iloc[0]


def test_the_central_plan_held_fixed_against_samples_worked_out_by_hand():
    """The central plan (the file's values) treats 200 patients a year: 120 in the clinic (100
    each), 80 admitted (1,000 each), 92,000 a year, 184,000 in all.

    * Incidence 0.019 (190 patients): the plan carries them (clinic 114, ward 76 fit in its
      activity) and meets everything, but still pays for its activity: 184,000, against the
      sample's own best plan 2 x (114 x 100 + 76 x 1,000) = 174,800: a regret of 9,200.
    * Incidence 0.021 (210 patients): at least 84 must be admitted and at most 126 seen in the
      clinic, so the plan's 200 units cannot carry them: it is short of activity. The least
      (relative) extra activity is 6 clinic visits (5%) and 4 admissions (5%) a year, which costs
      2 x (6 x 100 + 4 x 1,000) = 9,200 (with it the plan is the sample's best plan; no regret is
      reported for a plan that had to be topped up).
    * A pooled budget of 90,000 a year: the plan's 92,000 misses it by 2,000 a year (4,000 in
      all); no plan fits the budget (the sample is infeasible).
    * A target of at most 70 admissions a year: the plan's 80 misses it by 10 a year (20 in all);
      no plan can admit fewer than 80 (infeasible).
    """
    inst = load(tiny_data())
    low = one(inst, "pathways[0].nodes[need].incidence", 0.019)
    assert low["status"] == "optimal" and low["discounted_cost"] == pytest.approx(174_800)
    assert low["central_status"] == "meets" and low["central_discounted_cost"] == pytest.approx(184_000)
    assert low["central_regret"] == pytest.approx(9_200) and low["central_excess:admissions"] == 0

    high = one(inst, "pathways[0].nodes[need].incidence", 0.021)
    assert high["central_status"] == "short of activity"
    assert high["central_extra_activity_cost"] == pytest.approx(9_200, rel=1e-6)
    assert pd.isna(high["central_regret"])  # a topped-up plan is not the plan kept to
    assert "clinic 2026: 6 more units" in high["central_misses"] and "ward 2027: 4 more units" in high["central_misses"]

    budget = one(inst, "budget.pooled", 90_000)
    assert budget["status"] == "infeasible"
    assert budget["central_status"] == "misses" and budget["central_budget_overrun"] == pytest.approx(4_000)
    assert "budget 2026: 2,000 over" in budget["central_misses"]

    target = one(inst, "targets[0].at_most", 70)
    assert target["status"] == "infeasible"
    assert target["central_status"] == "misses" and target["central_excess:admissions"] == pytest.approx(20)
    assert pd.isna(target["central_regret"])


@pytest.mark.slow
def test_summaries_count_the_misses_and_give_quantiles():
    inst = load(tiny_data(**{"targets[0].at_most": {"uniform": [70, 90]}}))
    t = optimiser.uncertainty(inst, samples=20, seed=1)
    at_most = t["targets[0].at_most"]
    assert ((t["status"] == "infeasible") == (at_most < 80)).all()
    cs = central_summary(t).set_index("check")
    missed = int((at_most < 80).sum())
    assert cs.loc["target: admissions", "missed"] == missed > 0
    assert cs.loc["target: admissions", "max"] == pytest.approx(2 * (80 - at_most.min()))
    assert cs.loc["plan status: misses", "missed_share"] == pytest.approx(missed / 20)
    q = quantiles(t).set_index("quantity")
    assert q.loc["discounted_cost", "samples"] == 20 - missed
    assert q.loc["discounted_cost", "q50"] == pytest.approx(184_000)
    assert q.loc["central_discounted_cost", "samples"] == 20


@pytest.mark.slow
def test_cli_uncertainty(tmp_path):
    path = tmp_path / "u.yaml"
    path.write_text(yaml.safe_dump(tiny_data(**SECTION), sort_keys=False))
    out = tmp_path / "unc"
    res = CliRunner().invoke(main, ["uncertainty", str(path), "--samples", "4", "--seed", "2", "--json", "--out",
                                    str(out)])
    assert res.exit_code == EXIT_OK, res.output
    doc = json.loads(res.stdout)
    assert len(doc["samples"]) == 4 and doc["seed"] == 2 and doc["quantiles"][0]["quantity"] == "discounted_cost"
    assert {"samples.csv", "quantiles.csv", "central.csv", "uncertainty.xlsx", "report.html",
            "summary.json"} <= {p.name for p in out.iterdir()}
    again = CliRunner().invoke(main, ["uncertainty", str(path), "--samples", "4", "--seed", "2", "--json"])
    assert json.loads(again.stdout)["samples"] == doc["samples"]
    none = CliRunner().invoke(main, ["uncertainty", str(TINY), "--samples", "2"])
    assert none.exit_code == EXIT_INVALID and "uncertainty" in none.stderr
    np.testing.assert_allclose([s["services[ward].unit_cost"] for s in doc["samples"]],
                               [d["services[ward].unit_cost"] for d in draw(
                                   instance_distributions(optimiser.load(path)), 4, 2)])


@pytest.mark.slow
def test_overrides_keep_the_section_and_the_central_plan_may_be_the_mean():
    """Only the ward's cost is uncertain (900 to 1,300; mean 1,100). The clinic (100) stays the
    cheaper route, so the central plan (at the mean) is the file's plan, 120 clinic visits and 80
    admissions a year, and in a sample where the ward costs c it costs 2 x (12,000 + 80 c): the
    sample's own best plan, so it meets everything at no regret."""
    inst = load(tiny_data(**{"services[ward].unit_cost": {"uniform": [900, 1300]}}))
    t = optimiser.uncertainty(inst, samples=3, seed=0, overrides={"targets[0].at_most": 100}, central="mean")
    assert t.attrs["overrides"] == {"targets[0].at_most": 100} and t.attrs["central"] == "mean"
    c = t["services[ward].unit_cost"]
    assert c.between(900, 1300).all()
    assert list(t["central_discounted_cost"]) == pytest.approx(list(2 * (12_000 + 80 * c)))
    assert list(t["central_status"]) == ["meets"] * 3 and list(t["central_regret"]) == [0.0] * 3
