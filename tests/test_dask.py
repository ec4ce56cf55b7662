"""Many plans on Dask distributed: a real local cluster (scheduler and worker processes on
127.0.0.1) gives exactly the tables of the in-process run, reached through a client or by the
scheduler's address; a failing point is reported and the others carry on; the CLI starts and
stops a cluster of its own."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

import optimiser
from optimiser.analyses import execution
from optimiser.cli.main import EXIT_OK, main

from .conftest import ROOT
from .test_pareto import load as load_three_routes, three_routes
from .test_sweep import VARY, Flaky, _points
from .test_uncertainty import SECTION, load as load_tiny, tiny_data

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow  # a real local cluster of worker processes: seconds a test

TINY = ROOT / "instances" / "tiny" / "two_services.yaml"


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=":0") as c, distributed.Client(c) as client:
        client.wait_for_workers(2, timeout=60)
        yield c, client


def test_a_sweep_on_dask_equals_the_in_process_sweep(cluster):
    _, client = cluster
    here = optimiser.sweep(TINY, vary=VARY)
    there = optimiser.sweep(TINY, vary=VARY, backend="dask", client=client)
    assert there.attrs["run"]["backend"] == "dask" and there.attrs["run"]["workers"] == 2
    pd.testing.assert_frame_equal(here, there)


def test_uncertainty_and_pareto_on_a_cluster_reached_by_its_address(cluster):
    c, _ = cluster
    inst = load_tiny(tiny_data(**SECTION))
    here = optimiser.uncertainty(inst, samples=6, seed=5)
    there = optimiser.uncertainty(inst, samples=6, seed=5, backend="dask", scheduler=c.scheduler_address)
    assert there.attrs["run"]["scheduler"] == c.scheduler_address
    pd.testing.assert_frame_equal(here, there)
    three = load_three_routes(three_routes())
    pd.testing.assert_frame_equal(optimiser.pareto(three, "admissions", points=4),
                                  optimiser.pareto(three, "admissions", points=4, backend="dask",
                                                   scheduler=c.scheduler_address))


def test_a_failing_point_on_dask_is_reported_and_the_others_carry_on(cluster, tmp_path):
    _, client = cluster
    pts = _points([{"x": 1}, {"x": 2, "fail": "always"}, {"x": 3}])
    ck = tmp_path / "ck.jsonl"
    records, stats = execution.run(Flaky(fingerprint="flaky-dask"), pts, backend="dask", client=client,
                                   checkpoint=ck)
    assert [r["status"] for r in records] == ["optimal", "failed", "optimal"]
    assert "boom at 2" in records[1]["message"] and stats.failed == 1
    # the failed point is tried again on resume; the finished ones are not
    records, stats = execution.run(Flaky(fingerprint="flaky-dask"), pts, backend="dask", client=client,
                                   checkpoint=ck, resume=True)
    assert stats.resumed == 2 and stats.failed == 1 and stats.solved == 0


def test_cli_starts_a_local_cluster_of_its_own():
    res = CliRunner().invoke(main, ["sweep", str(TINY), "--vary", "targets[0].at_most=70:90:10", "--backend", "dask",
                                    "--workers", "2", "--json"])
    assert res.exit_code == EXIT_OK, res.output
    doc = json.loads(res.stdout)
    assert doc["run"]["backend"] == "dask" and doc["run"]["scheduler"].startswith("tcp://127.0.0.1:")
    assert [p["status"] for p in doc["points"]] == ["infeasible", "optimal", "optimal"]
