"""The Python API, the Pyomo path, atomic writing, determinism and the verifier's teeth."""

from __future__ import annotations

import json

import pandas as pd
import pyomo.environ as pyo
import numpy as np
import pytest

import optimiser
from optimiser import Status
from optimiser.output.files import read_result
from optimiser.solving.verify import verify_tables

from .conftest import ROOT

TINY = ROOT / "instances" / "tiny" / "two_services.yaml"


@pytest.fixture(scope="module")
def tiny_result():
    return optimiser.solve(optimiser.load(TINY))


def test_pyomo_path_gives_the_same_plan(tiny_result):
    via_pyomo = optimiser.solve(optimiser.load(TINY), backend="pyomo")
    assert via_pyomo.status is Status.OPTIMAL
    assert via_pyomo.objective == pytest.approx(tiny_result.objective, rel=1e-9)
    pd.testing.assert_series_equal(via_pyomo.allocation["activity"], tiny_result.allocation["activity"],
                                   rtol=1e-7, atol=1e-6)
    # duals agree between the paths (row by row, in planner labels)
    a = tiny_result.constraints.set_index(["constraint", "keys"])["dual"]
    b = via_pyomo.constraints.set_index(["constraint", "keys"])["dual"]
    pd.testing.assert_series_equal(a, b, rtol=1e-6, atol=1e-8)


def test_a_caller_can_add_a_constraint_to_the_pyomo_model():
    """Capping the clinic at 100 visits a year sends 20 more patients to the ward (1,000 vs 100):
    92,000 + 20 x 900 = 110,000 a year, 220,000 over two years."""
    inst = optimiser.load(TINY)
    m = optimiser.build_model(inst)
    assert set(m.activity.keys()) == {(s, y) for s in ("clinic", "ward") for y in (2026, 2027)}
    assert m.pooled_budget[2026].upper == pytest.approx(1_000_000)
    m.clinic_cap = pyo.Constraint([2026, 2027], rule=lambda m, y: m.activity["clinic", y] <= 100)
    r = optimiser.solve_model(m, inst)
    assert r.status is Status.OPTIMAL
    assert r.objective == pytest.approx(220_000, rel=1e-9)
    assert r.verify().ok


def test_write_is_atomic_and_complete_and_reread_verifies(tiny_result, tmp_path):
    out = tmp_path / "plan"
    tiny_result.write(out)
    files = {p.name for p in out.iterdir()}
    assert {"allocation.csv", "sector_shares.csv", "flows.csv", "outcomes.csv", "summary.json"} <= files
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no partial folders left
    tables, summary = read_result(out)
    assert summary["status"] == "optimal"
    assert verify_tables(tables, summary).ok
    with pytest.raises(optimiser.BudgetshiftError):
        tiny_result.write(out)  # refuses to clobber without overwrite
    tiny_result.write(out, overwrite=True)


def test_failed_write_leaves_nothing(tiny_result, tmp_path, monkeypatch):
    import optimiser.output.files as output

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(output, "to_json", boom)
    with pytest.raises(OSError):
        tiny_result.write(tmp_path / "plan")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_same_input_gives_the_same_files(tmp_path):
    for k in (1, 2):
        optimiser.solve(optimiser.load(TINY)).write(tmp_path / f"run{k}")
    for f in (tmp_path / "run1").iterdir():
        assert f.read_bytes() == (tmp_path / "run2" / f.name).read_bytes(), f.name


def test_verifier_catches_tampered_tables(tiny_result):
    t = {k: v.copy() for k, v in tiny_result.tables.items()}
    t["flows"].loc[0, "flow"] += 5  # breaks need at the source and conservation
    check = verify_tables(t, tiny_result.summary)
    assert not check.ok
    names = {v.check for v in check.violations}
    assert "source need" in names
    t = {k: v.copy() for k, v in tiny_result.tables.items()}
    t["allocation"].loc[0, "activity"] *= 0.5
    t["allocation"].loc[0, "spend"] *= 0.5
    names = {v.check for v in verify_tables(t, tiny_result.summary).violations}
    assert "activity covers flows" in names
    s = dict(tiny_result.summary, objective=tiny_result.objective * 0.9)
    assert "objective" in {v.check for v in verify_tables(tiny_result.tables, s).violations}


def test_result_json_has_the_documented_keys(tiny_result):
    doc = json.loads(optimiser.output.files.to_json(tiny_result.to_dict()))
    assert doc["status"] == "optimal"
    assert doc["objective"] == pytest.approx(184_000)
    assert set(doc["allocation"][0]) >= {"service", "sector", "year", "spend", "activity"}
    assert set(doc["sector_shares"][0]) >= {"sector", "year", "share"}
    assert set(doc["outcomes"][0]) >= {"outcome", "year", "value", "at_most", "at_least"}
    assert doc["flows"]


def test_time_limit_option_is_accepted(tiny_result):
    r = optimiser.solve(optimiser.load(TINY), time_limit=10, threads=1)
    assert r.objective == pytest.approx(tiny_result.objective)


@pytest.mark.slow
def test_verifier_catches_broken_flows_inside_a_pathway():
    """Tampering in the middle of a pathway (not at a source) breaks conservation, the nodes table or
    the edge shares, and each is named; a flow naming a node the nodes table lacks is caught too."""
    r = optimiser.solve(optimiser.load(ROOT / "instances" / "kent.yaml"))
    assert r.verify().ok
    flows, nodes = r.tables["flows"], r.tables["nodes"]
    care = set(map(tuple, nodes.loc[nodes["kind"] == "care", ["pathway", "node"]].drop_duplicates().to_numpy()))
    fixed = flows[(flows["share_min"] == flows["share_max"]) & (flows["flow"] > 1)
                  & np.array([(p, f) in care for p, f in zip(flows["pathway"], flows["from"])])]
    groups = [g for _, g in fixed.groupby(["pathway", "from", "segment", "year"]) if len(g) >= 2]
    a, b = groups[0].index[:2]
    assert tuple(flows.loc[a, ["pathway", "from", "segment", "year"]]) == tuple(flows.loc[b, ["pathway", "from", "segment", "year"]])

    def violated(change) -> set[str]:
        t = {k: v.copy() for k, v in r.tables.items()}
        change(t)
        return {v.check for v in verify_tables(t, r.summary).violations}

    # more patients leave a care node than arrive
    assert "flow conservation" in violated(lambda t: t["flows"].__setitem__("flow", t["flows"]["flow"] + 5 * (t["flows"].index == a)))
    # patients moved between two edges of one node: the node's total is kept, its fixed shares are not
    def swap(t):
        f = t["flows"]
        f.loc[a, "flow"] -= 1.0
        f.loc[b, "flow"] += 1.0
    assert {"edge share min", "edge share max"} <= violated(swap)
    # a flow into a node the nodes table does not have: its patients vanish from the node they reached
    arriving = flows.index[(flows["flow"] > 1) & np.array([(p, n) in care for p, n in zip(flows["pathway"], flows["to"])])][0]
    assert "flow conservation" in violated(lambda t: t["flows"].__setitem__(
        "to", t["flows"]["to"].where(t["flows"].index != arriving, "no_such_node")))


def test_tiebreak_costs_cover_every_column():
    """A tie-break vector made before later variables (Kent's holders add theirs after the prevention
    tie-break) is padded with zeros: HiGHS is handed one cost per column, never memory past the end."""
    from optimiser.solving.highs import build_lp

    lp = build_lp(optimiser.load(ROOT / "instances" / "kent.yaml"))
    assert any(len(vec) < lp.n_cols for _, vec in lp.tiebreaks)
    for (label, vec), (label2, full) in zip(lp.tiebreaks, lp.tiebreak_costs()):
        assert label == label2 and len(full) == lp.n_cols
        assert np.array_equal(full[:len(vec)], vec) and not full[len(vec):].any()


def test_verifier_does_not_pair_rows_that_name_unknown_nodes():
    """A source renamed one way in the flows table and another way in the need table names no node
    of the nodes table in either: its need must not be checked against those flows by position."""
    from .conftest import treatment_instance

    d = treatment_instance(20000)
    p = d["pathways"][0]
    p["nodes"] = [n for n in p["nodes"] if n["name"] != "untreated"]
    p["edges"] = [e for e in p["edges"] if e["to"] != "untreated"]
    r = optimiser.solve(optimiser.load_data(d, file="t"))
    assert r.verify().ok
    t = {k: v.copy() for k, v in r.tables.items()}
    f, n = t["flows"], t["need"]
    f.loc[f["from"] == "need", "from"] = "ghostA"
    n.loc[n["node"] == "need", "node"] = "ghostB"
    assert "source need" in {v.check for v in verify_tables(t, r.summary).violations}


def test_new_highs_leaves_stdout_alone_once_the_banner_is_silenced():
    """HiGHS prints its banner once per process: only the first construction redirects the process's
    stdout (a redirect from a helper thread could swallow, or keep, another thread's output)."""
    import os

    from formulations.lp import new_highs

    new_highs()

    def no_redirect(*args):
        raise AssertionError("stdout redirected again")

    real = os.dup2
    os.dup2 = no_redirect  # by hand, not monkeypatch: pytest's own capture needs dup2 at teardown
    try:
        assert new_highs() is not None and new_highs(threads=1) is not None
    finally:
        os.dup2 = real
