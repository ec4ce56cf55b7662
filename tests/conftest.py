"""Shared helpers: small instances written as Python mappings, solved through the public API."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

import optimiser

ROOT = Path(__file__).resolve().parents[1]


def base_instance(**sections) -> dict:
    """A minimal valid instance (one year, no pathways) with ``sections`` replaced."""
    data = {
        "format_version": 1,
        "name": "test",
        "horizon": {"base_year": 2025, "years": 1, "discount_rate": 0.0},
        "budget": {"pooled": 1e9},
        "sectors": ["prevention", "community", "acute"],
        "services": [
            {"name": "prev", "sector": "prevention", "unit_cost": 1, "baseline_activity": 100},
            {"name": "acute", "sector": "acute", "unit_cost": 1, "baseline_activity": 900},
        ],
        "segments": [{"name": "all", "population": 10000}],
    }
    data.update(copy.deepcopy(sections))
    return data


def treatment_instance(budget):
    """Need of 100 a year; treating a patient costs 100 and makes them recover; maximise recoveries."""
    return base_instance(
        budget={"pooled": budget},
        sectors=["community"],
        services=[{"name": "treat", "sector": "community", "unit_cost": 100, "baseline_activity": 0}],
        pathways=[{
            "name": "p",
            "nodes": [{"name": "need", "kind": "source", "incidence": 0.01},
                      {"name": "treatment", "kind": "care", "service": "treat"},
                      {"name": "recovered", "kind": "sink"}, {"name": "untreated", "kind": "sink"}],
            "edges": [{"from": "need", "to": "treatment", "share": [0, 1]},
                      {"from": "need", "to": "untreated", "share": [0, 1]},
                      {"from": "treatment", "to": "recovered", "share": 1}],
        }],
        outcomes=[{"name": "recovered", "direction": "higher_is_better",
                   "terms": [{"pathway": "p", "node": "recovered"}]}],
        objective={"mode": "max_outcome", "weights": {"recovered": 1.0}},
    )


def solve_data(data: dict, **kwargs):
    inst = optimiser.load_data(copy.deepcopy(data), file="test.yaml")
    result = optimiser.solve(inst, **kwargs)
    if result.has_plan:
        check = result.verify()
        assert check.ok, str(check)
    return result


def pytest_xdist_auto_num_workers(config):
    """``-n auto`` (pyproject's addopts) runs the suite on every core, a file at a time per worker;
    a run of one file (``pytest tests/test_x.py``, or tests in it) is plain, with no workers to
    start, since its tests would all go to one worker anyway."""
    files = {str(a).split("::")[0] for a in config.args}
    if len(files) == 1 and Path(next(iter(files))).suffix == ".py":
        return 0
    return None


@pytest.fixture
def root() -> Path:
    return ROOT
