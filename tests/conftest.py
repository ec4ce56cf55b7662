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


def solve_data(data: dict, **kwargs):
    inst = optimiser.load_data(copy.deepcopy(data), file="test.yaml")
    result = optimiser.solve(inst, **kwargs)
    if result.has_plan:
        check = result.verify()
        assert check.ok, str(check)
    return result


@pytest.fixture
def root() -> Path:
    return ROOT
