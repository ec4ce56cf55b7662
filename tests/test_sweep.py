"""Parameter sweeps: a cost curve known by hand (with infeasible points and their relaxation),
the grid syntax, invalid and failed points, retries, checkpoints and resume, local workers,
and the CLI's outputs."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import pandas as pd
import pytest
from click.testing import CliRunner

import optimiser
from optimiser.analyses import execution
from optimiser.cli.main import EXIT_INVALID, EXIT_OK, EXIT_USAGE, main
from optimiser.errors import BudgetshiftError, InstanceError
from optimiser.analyses.sweep import SweepTask, grid, parse_values, parse_vary

from .conftest import ROOT

TINY = ROOT / "instances" / "tiny" / "two_services.yaml"
VARY = {"targets[0].at_most": "60:100:10", "services[clinic].unit_cost": [100, 1500]}


def hand_cost(at_most: float, clinic_cost: float) -> float | None:
    """Need is 0.02 x 10,000 = 200 patients a year, for two years (discount rate 0). At least 40%
    (80) and at most 80% (160) are admitted (ward, 1,000 each); the rest, between 20% and 60%, go
    to the clinic. Admissions must stay at most ``at_most`` a year, so below 80 no plan exists
    (infeasible: the target must rise to 80).

    * Clinic 100 (cheaper): as many as the edge allows go to the clinic (120) and 80 are admitted,
      whatever the target above 80: cost = 2 x (120 x 100 + 80 x 1,000) = 184,000.
    * Clinic 1,500 (dearer): admit as many as the target allows, A = min(at_most, 160):
      cost = 2 x (1,000 A + 1,500 (200 - A)) = 2 x (300,000 - 500 A): 520,000 at 80, 510,000 at
      90, 500,000 at 100 (the target binds; its price is -500 per admission a year).
    """
    if at_most < 80:
        return None
    if clinic_cost == 100:
        return 184_000.0
    a = min(at_most, 160)
    return 2 * (1000 * a + 1500 * (200 - a))


def test_sweep_cost_curve_matches_the_hand_derivation_including_infeasible_points():
    """See :func:`hand_cost` for the derivation of every point."""
    t = optimiser.sweep(TINY, vary=VARY)
    assert list(t["point"]) == list(range(10))
    assert list(t["targets[0].at_most"]) == [60, 60, 70, 70, 80, 80, 90, 90, 100, 100]
    assert list(t["services[clinic].unit_cost"]) == [100, 1500] * 5
    for r in t.to_dict("records"):
        expected = hand_cost(r["targets[0].at_most"], r["services[clinic].unit_cost"])
        if expected is None:
            assert r["status"] == "infeasible"
            assert pd.isna(r["discounted_cost"])
            gap = 80 - r["targets[0].at_most"]
            # the smallest relaxation, in words: each year's target must rise to 80
            assert f"must rise by {gap} admissions" in r["relaxation"] and "to 80" in r["relaxation"]
        else:
            assert r["status"] == "optimal"
            assert r["discounted_cost"] == pytest.approx(expected, rel=1e-9)
            assert r["total_cost"] == pytest.approx(expected, rel=1e-9)
            admitted = 80 if r["services[clinic].unit_cost"] == 100 else min(r["targets[0].at_most"], 160)
            assert r["outcome:admissions"] == pytest.approx(2 * admitted)
            assert r["spend:acute"] == pytest.approx(2 * 1000 * admitted)
            assert r["spend:prevention"] == pytest.approx(2 * r["services[clinic].unit_cost"] * (200 - admitted))
            share = r["services[clinic].unit_cost"] * (200 - admitted) / (expected / 2)
            assert r["share:prevention:2026"] == pytest.approx(share)
            binds = r["services[clinic].unit_cost"] == 1500
            assert r["dual:outcome_target:admissions"] == pytest.approx(-1000.0 if binds else 0.0, abs=1e-6)
    assert t.attrs["kind"] == "sweep" and t.attrs["vary"]["targets[0].at_most"] == [60, 70, 80, 90, 100]
    assert t.attrs["run"]["solved"] == 10 and t.attrs["run"]["failed"] == 0


def test_grid_syntax():
    assert parse_values("60:100:10") == [60, 70, 80, 90, 100]
    assert parse_values("0:1:0.25") == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert parse_values("0.1:0.3:0.1") == [0.1, 0.2, 0.3]  # exact: no 0.30000000000000004
    assert parse_values("10:0:-5") == [10, 5, 0]
    assert parse_values("0:10:4") == [0, 4, 8]  # the stop only when a step reaches it
    assert parse_values("1,2.5,x") == [1, 2.5, "x"]
    assert parse_values("7") == [7]
    assert parse_vary(["a.b=1:2:1", "c[0]=3"]) == {"a.b": [1, 2], "c[0]": [3]}
    assert grid({"a": [1, 2], "b": [3, 4]}) == [{"a": 1, "b": 3}, {"a": 1, "b": 4}, {"a": 2, "b": 3},
                                                {"a": 2, "b": 4}]
    with pytest.raises(InstanceError) as exc:
        parse_vary(["a=1:2", "b=0:1:0", "c", "d=1:0:1"])
    assert len(exc.value.problems) == 4


def test_an_unknown_path_fails_before_any_solve_and_a_bad_value_is_a_point_s_answer():
    with pytest.raises(InstanceError) as exc:
        optimiser.sweep(TINY, vary={"services[surgery].unit_cost": [1, 2]})
    assert "no item 'surgery'" in str(exc.value)
    with pytest.raises(InstanceError) as exc:
        optimiser.sweep(TINY, vary={"services[ward].unit_costs": [1, 2]})
    assert "unit_costs" in str(exc.value)
    t = optimiser.sweep(TINY, vary={"services[ward].unit_cost": [1000, -5]})
    assert list(t["status"]) == ["optimal", "invalid"]
    assert "services[1]" in t["message"].iloc[1] and ">= 0" in t["message"].iloc[1]


@dataclass
class Flaky:
    """A task that fails, or kills its worker process, on chosen points."""

    kind: str = "flaky"
    fingerprint: str = "flaky-1"

    def setup(self):
        return {"calls": 0}

    def run(self, state, spec):
        state["calls"] += 1
        if spec.get("crash"):
            os._exit(3)
        if spec.get("fail") == "always" or (spec.get("fail") == "once" and not os.environ.get("FLAKY_ONCE")):
            if spec.get("fail") == "once":
                os.environ["FLAKY_ONCE"] = "1"
            raise RuntimeError(f"boom at {spec['x']}")
        return {"status": "optimal", "value": spec["x"] * 2}


def _points(specs):
    return [execution.Point(i, execution.point_key(s), s) for i, s in enumerate(specs)]


def test_a_failing_point_is_retried_once_then_reported_and_the_others_go_on(monkeypatch):
    monkeypatch.delenv("FLAKY_ONCE", raising=False)
    pts = _points([{"x": 1}, {"x": 2, "fail": "always"}, {"x": 3, "fail": "once"}, {"x": 4}])
    records, stats = execution.run(Flaky(), pts)
    assert [r["status"] for r in records] == ["optimal", "failed", "optimal", "optimal"]
    assert "boom at 2" in records[1]["message"] and records[1]["attempts"] == 2
    assert records[2]["value"] == 6
    assert stats.retried == 2 and stats.failed == 1 and stats.solved == 3


@dataclass
class FlakyInOnePass(Flaky):
    """The same task, able to solve its points in one pass (as SweepTask does with solve_many)."""

    kind: str = "flaky-pass"
    fingerprint: str = "flaky-pass-1"

    def run_many(self, state, specs):
        state["passes"] = state.get("passes", 0) + 1
        for spec in specs:
            yield self.run(state, spec)


def test_a_point_failing_in_a_one_pass_run_is_retried_and_the_others_go_on(monkeypatch):
    """The pass ends at the failing point; it and the points after it go one by one, with the same
    retries, records and counts as a task without the pass."""
    monkeypatch.delenv("FLAKY_ONCE", raising=False)
    pts = _points([{"x": 1}, {"x": 2, "fail": "always"}, {"x": 3, "fail": "once"}, {"x": 4}])
    records, stats = execution.run(FlakyInOnePass(), pts)
    assert [r["status"] for r in records] == ["optimal", "failed", "optimal", "optimal"]
    assert "boom at 2" in records[1]["message"] and records[1]["attempts"] == 2
    assert [r.get("value") for r in records] == [2, None, 6, 8]
    assert stats.retried == 2 and stats.failed == 1 and stats.solved == 3
    task = FlakyInOnePass(fingerprint="flaky-pass-2")
    records, stats = execution.run(task, _points([{"x": k} for k in range(5)]))
    assert [r["value"] for r in records] == [0, 2, 4, 6, 8] and stats.retried == 0
    state = execution._take_state(task)
    assert state["passes"] == 1 and state["calls"] == 5  # one pass, the state kept warm for the next run


@pytest.mark.slow
def test_a_lost_worker_process_is_retried_in_a_new_pool_and_never_loses_the_other_points():
    pts = _points([{"x": 1}, {"x": 2, "crash": True}, {"x": 3}, {"x": 4}, {"x": 5, "fail": "always"}])
    records, stats = execution.run(Flaky(), pts, workers=2)
    by_x = {p.spec["x"]: r for p, r in zip(pts, records)}
    assert by_x[2]["status"] == "failed"
    assert by_x[5]["status"] == "failed" and "boom at 5" in by_x[5]["message"]
    assert [by_x[x]["value"] for x in (1, 3, 4)] == [2, 6, 8]


@pytest.mark.slow
def test_an_interrupted_sweep_resumes_without_redoing_finished_points(tmp_path, monkeypatch):
    ck = tmp_path / "sweep.jsonl"
    fresh = optimiser.sweep(TINY, vary=VARY)
    calls = []
    real_append = execution.Checkpoint.append

    def append_then_stop(self, key, record):
        real_append(self, key, record)
        if sum(1 for _ in open(self.path)) - 1 >= 4:
            raise KeyboardInterrupt

    monkeypatch.setattr(execution.Checkpoint, "append", append_then_stop)
    with pytest.raises(KeyboardInterrupt):
        optimiser.sweep(TINY, vary=VARY, checkpoint=ck)
    monkeypatch.setattr(execution.Checkpoint, "append", real_append)
    assert len(ck.read_text().splitlines()) == 1 + 4
    with pytest.raises(BudgetshiftError, match="already exists"):
        optimiser.sweep(TINY, vary=VARY, checkpoint=ck)  # not without resume

    real_run = SweepTask.run

    def counting_run(self, session, spec):
        calls.append(dict(spec["overrides"]))
        return real_run(self, session, spec)

    real_many = SweepTask.run_many

    def counting_many(self, session, specs):  # in this process the points are solved in one pass
        calls.extend(dict(spec["overrides"]) for spec in specs)
        return real_many(self, session, specs)

    monkeypatch.setattr(SweepTask, "run", counting_run)
    monkeypatch.setattr(SweepTask, "run_many", counting_many)
    resumed = optimiser.sweep(TINY, vary=VARY, checkpoint=ck, resume=True)
    assert len(calls) == 6  # only the points not in the checkpoint
    assert resumed.attrs["run"]["resumed"] == 4 and resumed.attrs["run"]["solved"] == 6
    pd.testing.assert_frame_equal(resumed, fresh)
    assert len(ck.read_text().splitlines()) == 1 + 10
    # a wider grid reuses every point already solved
    calls.clear()
    wider = optimiser.sweep(TINY, vary={**VARY, "targets[0].at_most": "60:110:10"}, checkpoint=ck, resume=True)
    assert len(wider) == 12 and len(calls) == 2
    # a checkpoint of another instance is refused
    with pytest.raises(BudgetshiftError, match="belongs to another run"):
        optimiser.sweep(TINY, vary=VARY, overrides={"horizon.discount_rate": 0.03}, checkpoint=ck, resume=True)


@pytest.mark.slow
def test_local_worker_processes_give_the_in_process_table():
    a = optimiser.sweep(TINY, vary=VARY)
    b = optimiser.sweep(TINY, vary=VARY, workers=2)
    assert b.attrs["run"]["backend"] == "local processes"
    pd.testing.assert_frame_equal(a, b)


def test_cli_writes_every_output_atomically_and_prints_json(tmp_path):
    out = tmp_path / "sw"
    args = ["sweep", str(TINY), "--vary", "targets[0].at_most=70:90:10", "--out", str(out), "--json"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == EXIT_OK, res.output
    doc = json.loads(res.stdout)
    assert [p["status"] for p in doc["points"]] == ["infeasible", "optimal", "optimal"]
    assert doc["statuses"] == {"infeasible": 1, "optimal": 2}
    # the marker by which --overwrite knows a folder budgetshift wrote, then the outputs
    assert sorted(os.listdir(out)) == [".budgetshift-result", "points.csv", "report.html", "summary.json",
                                       "sweep.xlsx"]
    table = pd.read_csv(out / "points.csv")
    assert list(table["discounted_cost"].fillna(-1)) == [-1, 184000, 184000]
    html = (out / "report.html").read_text()
    assert "plotly" in html and "<script src=" not in html  # self-contained
    assert not any(p.name.startswith(".sw") for p in tmp_path.iterdir())  # checkpoint removed once written
    again = CliRunner().invoke(main, args)
    assert again.exit_code == EXIT_USAGE and "already exists" in again.stderr  # checked before solving
    bad = CliRunner().invoke(main, ["sweep", str(TINY), "--vary", "targets[9].at_most=1:2:1"])
    assert bad.exit_code == EXIT_INVALID and "targets" in bad.stderr
